//! Reads of a table (what `SELECT COUNT(*) | * | col, ... FROM t [PARTITION (..)]
//! [ORDER BY ..] [LIMIT n]` asks): every tablet of the chosen partitions is read on one
//! alive replica at the partition's visible version (the BE's scan endpoint), then ordered
//! and cut here. The answer is typed columns and their cells; rows for a client are the
//! executor's (`executor/query.rs`).

use std::cmp::Ordering;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::Value as Json;

use super::http::TOKEN_HEADER;
use crate::catalog::types::DataType;
use crate::catalog::OlapTable;
use crate::context::FeContext;
use crate::error::FeError;

const SCAN_PARALLELISM: usize = 8;

/// A read of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRequest {
    pub table: String,
    /// Empty means all partitions.
    pub partitions: Vec<String>,
    pub columns: ScanColumns,
    /// (column, descending), most significant first.
    pub order_by: Vec<(String, bool)>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanColumns {
    /// Only the number of rows.
    Count,
    /// Every column, in table order.
    All,
    Named(Vec<String>),
}

/// A column of a scan's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedColumn {
    pub name: String,
    pub data_type: DataType,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScanResult {
    /// [`ScanColumns::Count`]'s answer (the limit is not applied to it).
    Count(i64),
    /// Cells as the BEs send them (JSON), one per column, typed by their column.
    Rows { columns: Vec<ScannedColumn>, rows: Vec<Vec<Json>> },
}

#[derive(Deserialize)]
struct ScanAnswer {
    num_rows: i64,
    #[serde(default)]
    columns: Vec<String>,
    #[serde(default)]
    rows: Vec<Vec<Json>>,
}

/// Order of two cells of a column of type `t` (NULL first).
fn cmp_cells(t: &DataType, a: &Json, b: &Json) -> Ordering {
    match (a, b) {
        (Json::Null, Json::Null) => Ordering::Equal,
        (Json::Null, _) => Ordering::Less,
        (_, Json::Null) => Ordering::Greater,
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0)),
        },
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::String(x), Json::String(y)) => match t {
            // Fixed scale per column: the digits without the point compare as integers.
            DataType::Decimal { .. } | DataType::LargeInt => {
                let n = |s: &str| s.replace('.', "").parse::<i128>().ok();
                match (n(x), n(y)) {
                    (Some(i), Some(j)) => i.cmp(&j),
                    _ => x.cmp(y),
                }
            }
            _ => x.as_bytes().cmp(y.as_bytes()),
        },
        _ => Ordering::Equal,
    }
}

/// One tablet to read: where, and at which version.
struct TabletRead {
    tablet_id: i64,
    version: i64,
    /// (host, http_port) of the alive replicas, tried in order.
    replicas: Vec<(String, i32)>,
}

fn plan_reads(ctx: &FeContext, table: &OlapTable, partitions: &[String]) -> Result<Vec<TabletRead>, FeError> {
    for p in partitions {
        if table.partition(p).is_none() {
            return Err(FeError::NotFound(format!("Partition '{p}' of table '{}'", table.name)));
        }
    }
    let mut reads = Vec::new();
    for p in &table.partitions {
        if !partitions.is_empty() && !partitions.iter().any(|n| n.eq_ignore_ascii_case(&p.name)) {
            continue;
        }
        for t in &p.index.tablets {
            let mut replicas: Vec<(String, i32)> = t
                .replicas
                .iter()
                .filter_map(|r| ctx.backends.get(r.backend_id))
                .filter(|b| b.alive && b.http_port > 0)
                .map(|b| (b.host.clone(), b.http_port))
                .collect();
            if replicas.is_empty() {
                return Err(FeError::Internal(format!("tablet {} has no alive replica", t.id)));
            }
            // Spread reads over the replicas.
            let n = replicas.len();
            replicas.rotate_left((t.id as usize) % n);
            reads.push(TabletRead { tablet_id: t.id, version: p.visible_version, replicas });
        }
    }
    Ok(reads)
}

/// The scan's `schema` parameter: the table's columns now, with the default a segment
/// written before a column was added reads for it (light schema change).
fn scan_schema(table: &OlapTable) -> String {
    let cols: Vec<(String, String, Option<String>)> = table
        .columns
        .iter()
        .map(|c| {
            // CURRENT_TIMESTAMP is filled by loads; older rows read NULL, as upstream.
            let default = c.default_value.clone().filter(|d| !d.eq_ignore_ascii_case("CURRENT_TIMESTAMP"));
            (c.name.clone(), c.data_type.to_sql(), default)
        })
        .collect();
    serde_json::to_string(&cols).expect("columns serialize")
}

async fn scan_tablet(
    http: &reqwest::Client,
    token: &str,
    r: &TabletRead,
    count_only: bool,
    schema: &str,
) -> Result<ScanAnswer, FeError> {
    let mut last = String::new();
    for (host, port) in &r.replicas {
        let url = format!("http://{host}:{port}/api/_internal/scan");
        let query = [
            ("tablet_id", r.tablet_id.to_string()),
            ("version", r.version.to_string()),
            ("count_only", count_only.to_string()),
            ("schema", schema.to_string()),
        ];
        let url = reqwest::Url::parse_with_params(&url, &query).map_err(|e| FeError::Internal(format!("{url}: {e}")))?;
        match http.get(url).header(TOKEN_HEADER, token).timeout(Duration::from_secs(300)).send().await {
            Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                Ok(b) => match serde_json::from_slice::<ScanAnswer>(&b) {
                    Ok(a) => return Ok(a),
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

/// Read table `req.table` of database `db`.
pub async fn scan(ctx: &FeContext, db: &str, req: &ScanRequest) -> Result<ScanResult, FeError> {
    let table = ctx.catalog.table(db, &req.table).map_err(FeError::from)?;
    let reads = plan_reads(ctx, &table, &req.partitions)?;
    let count_only = req.columns == ScanColumns::Count;
    let http = reqwest::Client::new();
    let token = ctx.cluster.token.clone();
    let schema = scan_schema(&table);
    let answers: Vec<Result<ScanAnswer, FeError>> = stream::iter(reads)
        .map(|r| {
            let (http, token, schema) = (http.clone(), token.clone(), &schema);
            async move { scan_tablet(&http, &token, &r, count_only, schema).await }
        })
        .buffer_unordered(SCAN_PARALLELISM)
        .collect()
        .await;
    let answers = answers.into_iter().collect::<Result<Vec<_>, _>>()?;
    if count_only {
        return Ok(ScanResult::Count(answers.iter().map(|a| a.num_rows).sum()));
    }
    // Output columns, and ORDER BY columns, as table column indexes.
    let idx_of = |name: &str| -> Result<usize, FeError> {
        table
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| FeError::UnknownColumn(name.to_string()))
    };
    let out_idx: Vec<usize> = match &req.columns {
        ScanColumns::Named(cols) => cols.iter().map(|c| idx_of(c)).collect::<Result<_, _>>()?,
        _ => (0..table.columns.len()).collect(),
    };
    let order: Vec<(usize, bool)> =
        req.order_by.iter().map(|(c, desc)| idx_of(c).map(|i| (i, *desc))).collect::<Result<_, _>>()?;
    // Rows in table column order, whatever order each segment kept.
    let mut rows: Vec<Vec<Json>> = Vec::new();
    for a in answers {
        let map: Vec<Option<usize>> =
            table.columns.iter().map(|c| a.columns.iter().position(|n| n.eq_ignore_ascii_case(&c.name))).collect();
        for r in a.rows {
            let mut r = r;
            rows.push(map.iter().map(|m| m.and_then(|i| r.get_mut(i).map(std::mem::take)).unwrap_or(Json::Null)).collect());
        }
    }
    if !order.is_empty() {
        let types: Vec<DataType> = table.columns.iter().map(|c| c.data_type.clone()).collect();
        rows.sort_by(|a, b| {
            for (i, desc) in &order {
                let o = cmp_cells(&types[*i], &a[*i], &b[*i]);
                if o != Ordering::Equal {
                    return if *desc { o.reverse() } else { o };
                }
            }
            Ordering::Equal
        });
    }
    if let Some(n) = req.limit {
        rows.truncate(n as usize);
    }
    let columns: Vec<ScannedColumn> = out_idx
        .iter()
        .map(|i| ScannedColumn { name: table.columns[*i].name.clone(), data_type: table.columns[*i].data_type.clone() })
        .collect();
    Ok(ScanResult::Rows { columns, rows: project(rows, &out_idx) })
}

/// Rows cut down to the columns `out_idx` names, in its order. Cells are moved, not copied
/// (a million-row scan must not hold two copies); only a column selected twice is cloned,
/// and `SELECT *` keeps the rows as they are.
fn project(rows: Vec<Vec<Json>>, out_idx: &[usize]) -> Vec<Vec<Json>> {
    let width = rows.first().map_or(0, Vec::len);
    if out_idx.iter().copied().eq(0..width) {
        return rows;
    }
    // Whether position k is the last use of its column: that one may take the cell.
    let last: Vec<bool> = (0..out_idx.len()).map(|k| !out_idx[k + 1..].contains(&out_idx[k])).collect();
    rows.into_iter()
        .map(|mut r| {
            out_idx
                .iter()
                .zip(&last)
                .map(|(&i, &last)| if last { std::mem::take(&mut r[i]) } else { r[i].clone() })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod projection_tests {
    use super::*;

    #[test]
    fn projection_moves_cells_and_repeats_columns() {
        let rows = vec![vec![Json::from(1), Json::from("a"), Json::from(2.5)]];
        assert_eq!(project(rows.clone(), &[0, 1, 2]), rows, "SELECT * keeps the rows");
        assert_eq!(project(rows.clone(), &[2, 0]), vec![vec![Json::from(2.5), Json::from(1)]]);
        assert_eq!(
            project(rows.clone(), &[1, 1, 0]),
            vec![vec![Json::from("a"), Json::from("a"), Json::from(1)]],
            "a column selected twice is in both places"
        );
        assert!(project(Vec::new(), &[0]).is_empty());
    }
}
