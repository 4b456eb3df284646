//! Partitions: CREATE TABLE's RANGE / LIST partitions checked against the partition
//! columns and each other, and one partition added to an existing table (a restore).

use super::properties::check_buckets;
use super::tablets::place_tablets;
use super::{invalid, CreateTableSpec, PartitionSpec, RangeValues};
use crate::catalog::table::*;
use crate::catalog::types::DataType;
use crate::catalog::CatalogError;

/// One partition of CREATE TABLE before it has ids and tablets.
pub(super) struct PartDraft {
    pub name: String,
    pub range: Option<(Vec<String>, Vec<String>)>,
    pub list: Vec<Vec<String>>,
}

/// The partitioning of CREATE TABLE: its kind, partition columns and partitions (an
/// unpartitioned table has one, named after the table).
pub(super) fn drafts(
    spec: &CreateTableSpec,
    columns: &[Column],
) -> Result<(PartitionKind, Vec<String>, Vec<PartDraft>), CatalogError> {
    let (partition_kind, partition_columns, drafts) = match &spec.partition {
        PartitionSpec::None => (
            PartitionKind::Unpartitioned,
            Vec::new(),
            vec![PartDraft { name: spec.name.clone(), range: None, list: Vec::new() }],
        ),
        PartitionSpec::Range { columns: pcols, partitions } => {
            let (names, types) = partition_columns_of(columns, pcols)?;
            let mins: Vec<String> = types.iter().map(|t| t.min_value()).collect();
            let maxs: Vec<String> = types.iter().map(|t| t.max_value()).collect();
            let check = |vals: &[String]| range_key(&types, vals);
            let cmp = |a: &[String], b: &[String]| compare_keys(&types, a, b);
            let mut drafts: Vec<PartDraft> = Vec::new();
            let mut prev_upper = mins.clone();
            for (pname, vals) in partitions {
                let (lo, hi) = match vals {
                    RangeValues::LessThan(None) => (prev_upper.clone(), maxs.clone()),
                    RangeValues::LessThan(Some(v)) => (prev_upper.clone(), check(v)?),
                    RangeValues::Fixed(l, h) => (check(l)?, check(h)?),
                };
                if cmp(&lo, &hi) != std::cmp::Ordering::Less {
                    return Err(invalid(format!(
                        "The lower values must smaller than upper values in partition {pname}"
                    )));
                }
                for d in &drafts {
                    let (dlo, dhi) = d.range.as_ref().unwrap();
                    if cmp(&lo, dhi) == std::cmp::Ordering::Less && cmp(dlo, &hi) == std::cmp::Ordering::Less {
                        return Err(invalid(format!(
                            "Range of partition {pname} is intersected with range of partition {}",
                            d.name
                        )));
                    }
                }
                prev_upper = hi.clone();
                drafts.push(PartDraft { name: pname.clone(), range: Some((lo, hi)), list: Vec::new() });
            }
            (PartitionKind::Range, names, drafts)
        }
        PartitionSpec::List { columns: pcols, partitions } => {
            let (names, types) = partition_columns_of(columns, pcols)?;
            let mut drafts: Vec<PartDraft> = Vec::new();
            let mut seen: Vec<Vec<String>> = Vec::new();
            for (pname, tuples) in partitions {
                let mut list = Vec::new();
                for tup in tuples {
                    let v = list_key(&types, tup)?;
                    if seen.contains(&v) {
                        return Err(invalid(format!(
                            "The partition key[{}] is duplicated in partition {pname}",
                            v.join(", ")
                        )));
                    }
                    seen.push(v.clone());
                    list.push(v);
                }
                drafts.push(PartDraft { name: pname.clone(), range: None, list });
            }
            (PartitionKind::List, names, drafts)
        }
    };
    if drafts.is_empty() {
        return Err(invalid("Partition list should not be empty"));
    }
    for (i, d) in drafts.iter().enumerate() {
        if drafts[..i].iter().any(|x| x.name.eq_ignore_ascii_case(&d.name)) {
            return Err(invalid(format!("Duplicated partition name: {}", d.name)));
        }
    }
    Ok((partition_kind, partition_columns, drafts))
}

/// One RANGE key checked against the partition columns' types: `MAXVALUE` is the column's
/// largest value, missing trailing keys its smallest (as upstream pads).
fn range_key(types: &[DataType], vals: &[String]) -> Result<Vec<String>, CatalogError> {
    if vals.is_empty() || vals.len() > types.len() {
        return Err(invalid(format!(
            "partition key count {} does not match the {} partition columns",
            vals.len(),
            types.len()
        )));
    }
    types
        .iter()
        .enumerate()
        .map(|(i, t)| match vals.get(i) {
            Some(v) if v.eq_ignore_ascii_case("MAXVALUE") => Ok(t.max_value()),
            Some(v) => t.check_literal(v).map_err(|e| invalid(e.0)),
            None => Ok(t.min_value()),
        })
        .collect()
}

/// One LIST value tuple checked against the partition columns' types.
fn list_key(types: &[DataType], tup: &[String]) -> Result<Vec<String>, CatalogError> {
    if tup.len() != types.len() {
        return Err(invalid(format!(
            "partition item's size {} is not equal to partition column's size {}",
            tup.len(),
            types.len()
        )));
    }
    types.iter().zip(tup).map(|(t, x)| t.check_literal(x).map_err(|e| invalid(e.0))).collect()
}

fn partition_columns_of(columns: &[Column], pcols: &[String]) -> Result<(Vec<String>, Vec<DataType>), CatalogError> {
    if pcols.is_empty() {
        return Err(invalid("Partition column should not be empty"));
    }
    let mut names = Vec::new();
    let mut types = Vec::new();
    for p in pcols {
        let c = columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(p))
            .ok_or_else(|| invalid(format!("Partition column[{p}] does not exist in column list.")))?;
        // Upstream refuses aggregated value columns (AGGREGATE tables, and UNIQUE ones whose
        // values REPLACE); a DUPLICATE table may partition by a value column.
        if !c.is_key && c.aggregation.is_some() {
            return Err(invalid(format!("The partition column could not be aggregated column: {}", c.name)));
        }
        if let Some(why) = c.data_type.complex_refusal("partition", &c.name) {
            return Err(invalid(why));
        }
        if !c.data_type.partitionable() {
            return Err(invalid(format!("type[{}] cannot be a partition key.", c.data_type.to_sql())));
        }
        names.push(c.name.clone());
        types.push(c.data_type.clone());
    }
    Ok((names, types))
}

/// The bounds of one partition added to an existing table.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionBounds {
    /// `[lower, upper)`; each key as in `VALUES [(...), (...))`, `MAXVALUE` allowed; an
    /// empty lower key is the columns' smallest values.
    Range(Vec<String>, Vec<String>),
    /// `VALUES LESS THAN (...)` of ALTER TABLE ADD PARTITION: the lower bound is the highest
    /// upper bound of the table's partitions below it (the columns' smallest values when
    /// there is none), as upstream derives it.
    LessThan(Vec<String>),
    /// The partition's value tuples.
    List(Vec<Vec<String>>),
}

/// A partition to add to an existing RANGE or LIST table (ALTER TABLE ADD PARTITION, a
/// restore adding one the table lacks).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPartitionSpec {
    pub name: String,
    pub bounds: PartitionBounds,
    pub buckets: u32,
    pub replication_num: u16,
}

/// Build a partition of `table` with fresh ids and replicas placed like CREATE TABLE's:
/// its bounds checked against the partition columns and against every partition the table
/// has (visible or restoring). The table itself is not changed.
pub fn build_partition(
    table: &OlapTable,
    spec: &NewPartitionSpec,
    alive_backends: &[i64],
    mut next_id: impl FnMut() -> Result<i64, CatalogError>,
    now_ms: i64,
) -> Result<Partition, CatalogError> {
    let types: Vec<DataType> = table
        .partition_columns
        .iter()
        .map(|c| {
            table
                .column(c)
                .map(|c| c.data_type.clone())
                .ok_or_else(|| invalid(format!("Partition column[{c}] does not exist in column list.")))
        })
        .collect::<Result<_, _>>()?;
    let (range, list_values) = match (&table.partition_kind, &spec.bounds) {
        (PartitionKind::Range, bounds @ (PartitionBounds::Range(_, _) | PartitionBounds::LessThan(_))) => {
            let (lo, hi) = match bounds {
                PartitionBounds::Range(lo, hi) => (lo.clone(), range_key(&types, hi)?),
                PartitionBounds::LessThan(hi) => (Vec::new(), range_key(&types, hi)?),
                PartitionBounds::List(_) => unreachable!("matched above"),
            };
            let lo = if !lo.is_empty() {
                range_key(&types, &lo)?
            } else if matches!(bounds, PartitionBounds::LessThan(_)) {
                let below = table
                    .partitions
                    .iter()
                    .chain(&table.restoring_partitions)
                    .filter_map(|p| p.range.as_ref().map(|(_, u)| u))
                    .filter(|u| compare_keys(&types, u, &hi) != std::cmp::Ordering::Greater)
                    .max_by(|a, b| compare_keys(&types, a, b));
                below.cloned().unwrap_or_else(|| types.iter().map(DataType::min_value).collect())
            } else {
                types.iter().map(DataType::min_value).collect()
            };
            if compare_keys(&types, &lo, &hi) != std::cmp::Ordering::Less {
                return Err(invalid(format!(
                    "The lower values must smaller than upper values in partition {}",
                    spec.name
                )));
            }
            (Some((lo, hi)), Vec::new())
        }
        (PartitionKind::List, PartitionBounds::List(tuples)) => {
            if tuples.is_empty() {
                return Err(invalid(format!("partition {} has no values", spec.name)));
            }
            (None, tuples.iter().map(|t| list_key(&types, t)).collect::<Result<_, _>>()?)
        }
        (kind, _) => {
            return Err(invalid(format!(
                "partition {} does not fit table {}, which is {kind:?} partitioned",
                spec.name, table.name
            )))
        }
    };
    check_buckets(Some(spec.buckets))?;
    let medium = table.storage_medium;
    let id = next_id()?;
    let mut rr = 0usize;
    let tablets = place_tablets(spec.buckets, spec.replication_num, medium, alive_backends, &mut next_id, &mut rr)?;
    let p = Partition {
        id,
        name: spec.name.clone(),
        visible_version: 1,
        visible_version_time_ms: now_ms,
        range,
        list_values,
        buckets: spec.buckets,
        replication_num: spec.replication_num,
        storage_medium: medium,
        index: MaterializedIndex {
            id: table.base_index_id,
            name: table.name.clone(),
            schema_hash: table.schema_hash,
            tablets,
        },
    };
    table.check_new_partition(&p)?;
    Ok(p)
}

/// A fresh, empty copy of partition `old` (TRUNCATE): the same name, bounds, buckets and
/// replication, new ids and replicas placed anew, at version 1.
pub fn fresh_partition(
    old: &Partition,
    alive_backends: &[i64],
    mut next_id: impl FnMut() -> Result<i64, CatalogError>,
    now_ms: i64,
) -> Result<Partition, CatalogError> {
    let id = next_id()?;
    let mut rr = 0usize;
    let tablets = place_tablets(old.buckets, old.replication_num, old.storage_medium, alive_backends, &mut next_id, &mut rr)?;
    Ok(Partition {
        id,
        visible_version: 1,
        visible_version_time_ms: now_ms,
        index: MaterializedIndex { tablets, ..old.index.clone() },
        ..old.clone()
    })
}
