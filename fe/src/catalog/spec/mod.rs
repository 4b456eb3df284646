//! What CREATE TABLE asks for, independent of the SQL front end, and its validation into
//! an [`OlapTable`] with fresh ids and replicas placed on backends: the schema
//! (`columns`), properties, distribution, partitions, and the tablets placed for them.

pub mod alter;
mod columns;
mod distribution;
mod partitions;
mod properties;
mod tablets;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use super::table::{MaterializedIndex, OlapTable, Partition};
pub use super::hidden::HiddenDefaults;
use super::hidden;
use super::types::KeysType;
use super::CatalogError;
use properties::TableProperties;
use tablets::place_tablets;

pub use partitions::{build_partition, fresh_partition, NewPartitionSpec, PartitionBounds};

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    pub name: String,
    /// SQL type text, e.g. `varchar(32)`.
    pub type_text: String,
    /// None: upstream's default (key columns NOT NULL is not implied; columns are nullable).
    pub nullable: Option<bool>,
    pub aggregation: Option<String>,
    pub default_value: Option<String>,
    pub comment: String,
    /// `AUTO_INCREMENT(start)`.
    pub auto_increment: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RangeValues {
    /// `VALUES LESS THAN (...)`; `None` = MAXVALUE.
    LessThan(Option<Vec<String>>),
    /// `VALUES [(lower), (upper))`.
    Fixed(Vec<String>, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PartitionSpec {
    None,
    Range { columns: Vec<String>, partitions: Vec<(String, RangeValues)> },
    List { columns: Vec<String>, partitions: Vec<(String, Vec<Vec<String>>)> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum DistributionSpec {
    Hash { columns: Vec<String>, buckets: Option<u32> },
    Random { buckets: Option<u32> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTableSpec {
    pub db: String,
    pub name: String,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnSpec>,
    /// None: DUPLICATE KEY on the leading columns, as upstream does.
    pub keys: Option<(KeysType, Vec<String>)>,
    pub partition: PartitionSpec,
    pub distribution: Option<DistributionSpec>,
    pub properties: BTreeMap<String, String>,
    pub comment: String,
    /// The AUTO_INCREMENT ceiling to start from (a restored table's); None for CREATE TABLE.
    pub auto_increment_ceiling: Option<i64>,
    /// Which hidden columns a UNIQUE KEY table gets; None: as fe.conf says (CREATE TABLE
    /// sets it from there, [`HiddenDefaults::default`] when nothing did).
    pub hidden: Option<HiddenDefaults>,
}

fn invalid(msg: impl Into<String>) -> CatalogError {
    CatalogError::Invalid(msg.into())
}

/// Build the table: schema checks, ids from `next_id`, replicas on `alive_backends`.
pub fn build_table(
    spec: &CreateTableSpec,
    db_id: i64,
    alive_backends: &[i64],
    mut next_id: impl FnMut() -> Result<i64, CatalogError>,
    now_ms: i64,
) -> Result<OlapTable, CatalogError> {
    let (columns, keys_type) = columns::schema(spec)?;
    let TableProperties { mut properties, replication_num, storage_medium, storage_policy } =
        properties::table_properties(&spec.properties)?;
    hidden::merge_on_write(&mut properties, keys_type)?;
    let sequence = hidden::sequence(&mut properties, keys_type, &columns)?;
    hidden::bloom_filter_columns(&mut properties, &columns)?;
    let next_unique_id = columns.iter().map(|c| c.unique_id).max().unwrap_or(-1) + 1;
    let defaults = spec.hidden.unwrap_or_default();
    let hidden_columns = hidden::hidden_columns(keys_type, defaults, sequence.as_ref(), next_unique_id);
    let distribution = distribution::distribution(spec.distribution.as_ref(), &columns, keys_type)?;
    let (partition_kind, partition_columns, drafts) = partitions::drafts(spec, &columns)?;

    let table_id = next_id()?;
    let base_index_id = next_id()?;
    let schema_hash = rand::Rng::gen_range(&mut rand::thread_rng(), 1..i32::MAX);
    let buckets = distribution.buckets();
    let mut rr = 0usize;
    let mut partitions = Vec::new();
    for d in drafts {
        let partition_id = next_id()?;
        let tablets = place_tablets(buckets, replication_num, storage_medium, alive_backends, &mut next_id, &mut rr)?;
        partitions.push(Partition {
            id: partition_id,
            name: d.name,
            visible_version: 1,
            visible_version_time_ms: now_ms,
            range: d.range,
            list_values: d.list,
            buckets,
            replication_num,
            storage_medium,
            index: MaterializedIndex { id: base_index_id, name: spec.name.clone(), schema_hash, tablets },
        });
    }

    Ok(OlapTable {
        id: table_id,
        db_id,
        name: spec.name.clone(),
        columns,
        keys_type,
        partition_kind,
        partition_columns,
        distribution,
        replication_num,
        storage_medium,
        storage_policy,
        properties,
        base_index_id,
        schema_hash,
        partitions,
        comment: spec.comment.clone(),
        create_time_ms: now_ms,
        restoring_partitions: Vec::new(),
        temp_partitions: Vec::new(),
        auto_increment_ceiling: spec.auto_increment_ceiling,
        restore_lock: None,
        dropped_columns: Vec::new(),
        hidden_columns,
    })
}
