//! Table providers: OLAP tables read from the BEs, and the FE's own text tables
//! (`frontends()`).
//!
//! An OLAP table's scan reads every tablet of the partitions the query can touch on one
//! alive replica at the partition's visible version: the BE's `/api/_internal/scan`
//! answers the projected columns as an Arrow IPC stream (an empty projection, as
//! `COUNT(*)` asks, answers only row counts), leaving out rows that fail the simple
//! comparisons pushed down to it ([`super::prune`]). Tablets are read concurrently;
//! DataFusion filters, aggregates, sorts and cuts what they return.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::catalog::types::DataType;
use crate::catalog::OlapTable;
use crate::context::Ctx;
use crate::error::FeError;
use crate::load::http::TOKEN_HEADER;

/// Tablets read at once by one scan.
const SCAN_PARALLELISM: usize = 8;

/// Separates a table name from the partitions a `PARTITION (...)` clause chose, in the
/// name the rewrite hands the planner ([`super::rewrite`]); no table name contains it.
pub(super) const PARTITION_MARK: char = '\u{1}';

/// The Arrow type a column is read as; the BE builds the same (`be/src/load/arrow_ipc.rs`).
pub(super) fn arrow_type(t: &DataType) -> ArrowType {
    match t {
        DataType::Boolean => ArrowType::Boolean,
        DataType::TinyInt => ArrowType::Int8,
        DataType::SmallInt => ArrowType::Int16,
        DataType::Int => ArrowType::Int32,
        DataType::BigInt => ArrowType::Int64,
        DataType::LargeInt => ArrowType::Decimal128(38, 0),
        DataType::Float => ArrowType::Float32,
        DataType::Double => ArrowType::Float64,
        DataType::Decimal { precision, scale } => ArrowType::Decimal128(*precision, *scale as i8),
        DataType::Date => ArrowType::Date32,
        DataType::DateTime { .. } => ArrowType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Char(_) | DataType::Varchar(_) | DataType::String | DataType::Json => ArrowType::Utf8,
        // As the BE builds them: elements, values and fields nullable, map keys not.
        DataType::Array(e) => ArrowType::List(Arc::new(Field::new("item", arrow_type(e), true))),
        DataType::Map(k, v) => {
            let entries = vec![Field::new("key", arrow_type(k), false), Field::new("value", arrow_type(v), true)];
            ArrowType::Map(Arc::new(Field::new("entries", ArrowType::Struct(entries.into()), false)), false)
        }
        DataType::Struct(fields) => {
            ArrowType::Struct(fields.iter().map(|(n, t)| Field::new(n, arrow_type(t), true)).collect())
        }
    }
}

/// Metadata key on a DATETIME field: its scale, so results show that many fraction digits.
pub const DATETIME_SCALE: &str = "doris.datetime_scale";
/// Metadata key on a LARGEINT field (a Decimal128 of scale 0 in Arrow, whose 39-digit
/// values exceed its 38-digit precision): results show the whole integer, as text.
pub const LARGEINT: &str = "doris.largeint";

fn field(c: &crate::catalog::table::Column) -> Field {
    let f = Field::new(&c.name, arrow_type(&c.data_type), true);
    let meta = |k: &str, v: String| f.clone().with_metadata([(k.to_string(), v)].into_iter().collect());
    match c.data_type {
        DataType::DateTime { scale } => meta(DATETIME_SCALE, scale.to_string()),
        DataType::LargeInt => meta(LARGEINT, "true".into()),
        _ => f,
    }
}

pub(super) struct OlapTableProvider {
    ctx: Ctx,
    /// The catalog's table as the query found it, shared (copied only to show hidden columns).
    table: Arc<OlapTable>,
    /// Partitions named by `PARTITION (...)`; empty means all.
    partitions: Vec<String>,
    schema: SchemaRef,
    /// `show_hidden_columns`: the hidden columns are the last columns, and the BEs keep the
    /// rows whose delete sign is set (upstream adds `__DORIS_DELETE_SIGN__ = 0` otherwise).
    show_hidden: bool,
}

impl std::fmt::Debug for OlapTableProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OlapTable({})", self.table.name)
    }
}

impl OlapTableProvider {
    pub(super) fn new(ctx: Ctx, mut table: Arc<OlapTable>, partitions: Vec<String>, show_hidden: bool) -> Result<Self, FeError> {
        let show_hidden = show_hidden && !table.hidden_columns.is_empty();
        if show_hidden {
            let hidden = table.hidden_columns.clone();
            Arc::make_mut(&mut table).columns.extend(hidden);
        }
        for p in &partitions {
            if !table.partitions.iter().any(|q| q.name.eq_ignore_ascii_case(p)) {
                return Err(FeError::NotFound(format!("Partition '{p}' of table '{}'", table.name)));
            }
        }
        let schema = Arc::new(Schema::new(table.columns.iter().map(field).collect::<Vec<_>>()));
        Ok(OlapTableProvider { ctx, table, partitions, schema, show_hidden })
    }

    /// Each tablet to read with the version to read it at and its alive replicas'
    /// (host, http port), rotated so reads spread over replicas.
    /// `left`: the partitions the query's filters leave (None: all).
    fn plan_reads(&self, left: Option<&[String]>) -> Result<Vec<TabletRead>, FeError> {
        let mut reads = Vec::new();
        for p in &self.table.partitions {
            if !self.partitions.is_empty() && !self.partitions.iter().any(|n| n.eq_ignore_ascii_case(&p.name)) {
                continue;
            }
            if left.is_some_and(|left| !left.contains(&p.name)) {
                continue;
            }
            for t in &p.index.tablets {
                let mut replicas: Vec<(String, i32)> = t
                    .replicas
                    .iter()
                    // A lagging replica misses visible versions (a load it did not write).
                    .filter(|r| !r.is_lagging())
                    .filter_map(|r| self.ctx.backends.get(r.backend_id))
                    .filter(|b| b.alive && b.http_port > 0)
                    .map(|b| (b.host.clone(), b.http_port))
                    .collect();
                if replicas.is_empty() {
                    return Err(FeError::Internal(format!("tablet {} has no alive replica", t.id)));
                }
                let n = replicas.len();
                replicas.rotate_left((t.id as usize) % n);
                reads.push(TabletRead { tablet_id: t.id, version: p.visible_version, replicas });
            }
        }
        Ok(reads)
    }

    /// The scan's `schema` parameter: the projected columns as the table has them now, with
    /// the default a segment written before a column was added reads (light schema change).
    fn scan_schema(&self, indexes: &[usize]) -> String {
        let cols: Vec<(String, String, Option<String>)> = indexes
            .iter()
            .map(|&i| {
                let c = &self.table.columns[i];
                // CURRENT_TIMESTAMP is filled by loads; older rows read NULL, as upstream.
                let default = c.default_value.clone().filter(|d| !d.eq_ignore_ascii_case("CURRENT_TIMESTAMP"));
                (c.name.clone(), c.data_type.to_sql(), default)
            })
            .collect();
        serde_json::to_string(&cols).expect("columns serialize")
    }
}

struct TabletRead {
    tablet_id: i64,
    version: i64,
    replicas: Vec<(String, i32)>,
}

fn external(e: FeError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// One tablet's rows as `schema`'s batches, from the first replica that answers.
async fn read_tablet(
    http: &reqwest::Client,
    token: &str,
    r: &TabletRead,
    query_schema: &str,
    filter: Option<&str>,
    schema: &SchemaRef,
    keep_deleted: bool,
) -> Result<Vec<RecordBatch>, FeError> {
    let mut last = String::new();
    for (host, port) in &r.replicas {
        let url = format!("http://{host}:{port}/api/_internal/scan");
        let mut query = vec![
            ("tablet_id", r.tablet_id.to_string()),
            ("version", r.version.to_string()),
            ("schema", query_schema.to_string()),
        ];
        if let Some(f) = filter {
            query.push(("filter", f.to_string()));
        }
        if keep_deleted {
            query.push(("keep_deleted", "true".to_string()));
        }
        let url = reqwest::Url::parse_with_params(&url, &query).map_err(|e| FeError::Internal(format!("{url}: {e}")))?;
        match http.get(url).header(TOKEN_HEADER, token).timeout(Duration::from_secs(300)).send().await {
            Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                Ok(body) => match decode(body, schema) {
                    Ok(batches) => return Ok(batches),
                    Err(e) => last = format!("bad scan answer from {host}:{port}: {e}"),
                },
                Err(e) => last = format!("reading the scan of tablet {} from {host}:{port}: {e}", r.tablet_id),
            },
            Ok(resp) => {
                let st = resp.status();
                last = format!("{host}:{port} answered {st}: {}", resp.text().await.unwrap_or_default());
            }
            Err(e) => last = format!("{host}:{port}: {e}"),
        }
    }
    Err(FeError::Internal(format!("cannot read tablet {} at version {}: {last}", r.tablet_id, r.version)))
}

/// An Arrow IPC stream as batches of `schema` (columns cast where the BE's type differs).
fn decode(body: bytes::Bytes, schema: &SchemaRef) -> Result<Vec<RecordBatch>, datafusion::arrow::error::ArrowError> {
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(body), None)?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        if batch.num_columns() != schema.fields().len() {
            return Err(datafusion::arrow::error::ArrowError::SchemaError(format!(
                "{} columns for {} asked",
                batch.num_columns(),
                schema.fields().len()
            )));
        }
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(a, f)| if a.data_type() == f.data_type() { Ok(a.clone()) } else { cast(a, f.data_type()) })
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        let opts = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        out.push(RecordBatch::try_new_with_options(schema.clone(), columns, &opts)?);
    }
    Ok(out)
}

#[async_trait]
impl TableProvider for OlapTableProvider {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Every filter is offered to [`super::prune`]; DataFusion still applies them all.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let indexes: Vec<usize> = projection.cloned().unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let schema = Arc::new(self.schema.project(&indexes)?);
        let pruned = super::prune::partitions_left(&self.table, filters);
        let reads = self.plan_reads(pruned.as_deref()).map_err(external)?;
        let query_schema = self.scan_schema(&indexes);
        let read: Vec<String> = indexes.iter().map(|&i| self.table.columns[i].name.clone()).collect();
        let filter = super::prune::pushdown(&self.table, filters, &read);
        let http = crate::system::be_http::client();
        let token = self.ctx.cluster.token.clone();
        let per_tablet: Vec<Vec<RecordBatch>> = stream::iter(reads)
            .map(|r| {
                let (token, query_schema, schema, filter) = (&token, &query_schema, &schema, &filter);
                let keep_deleted = self.show_hidden;
                async move { read_tablet(http, token, &r, query_schema, filter.as_deref(), schema, keep_deleted).await }
            })
            .buffer_unordered(SCAN_PARALLELISM)
            .try_collect()
            .await
            .map_err(external)?;
        let batches: Vec<RecordBatch> = per_tablet.into_iter().flatten().collect();
        Ok(MemorySourceConfig::try_new_exec(&[batches], schema, None)?)
    }
}

/// A table of text columns built from FE state.
#[derive(Debug, Clone, Default)]
pub struct TextTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl TextTable {
    fn provider(&self) -> DfResult<MemTable> {
        let schema = Arc::new(Schema::new(
            self.columns.iter().map(|c| Field::new(c, ArrowType::Utf8, true)).collect::<Vec<_>>(),
        ));
        let arrays: Vec<ArrayRef> = (0..self.columns.len())
            .map(|i| Arc::new(StringArray::from_iter(self.rows.iter().map(|r| r.get(i).cloned().flatten()))) as ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays)?;
        MemTable::try_new(schema, vec![vec![batch]])
    }
}

/// `name()` over a [`TextTable`] the FE builds when the query runs.
#[derive(Clone)]
pub(super) struct TextTableFunction {
    pub(super) name: String,
    pub(super) build: super::TableFunction,
}

impl std::fmt::Debug for TextTableFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}()", self.name)
    }
}

impl TableFunctionImpl for TextTableFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            // Upstream's text.
            return Err(external(FeError::InvalidArgument(format!(
                "{} table-valued-function does not support any params",
                self.name
            ))));
        }
        Ok(Arc::new((self.build)().provider()?))
    }
}
