//! What CREATE TABLE asks for, independent of the SQL front end, and its validation into
//! an [`OlapTable`] with fresh ids and replicas placed on backends.

use std::collections::BTreeMap;

use super::placement::place_replicas;
use super::table::*;
use super::types::{AggType, DataType, KeysType, StorageMedium};
use super::CatalogError;

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
}

const DEFAULT_BUCKETS: u32 = 10;

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
    if spec.columns.is_empty() {
        return Err(invalid("Table should contain at least one column"));
    }
    let mut columns: Vec<Column> = Vec::new();
    for (i, c) in spec.columns.iter().enumerate() {
        if columns.iter().any(|x: &Column| x.name.eq_ignore_ascii_case(&c.name)) {
            return Err(invalid(format!("Duplicate column name '{}'", c.name)));
        }
        let data_type = DataType::parse(&c.type_text).map_err(|e| invalid(e.0))?;
        let aggregation = match &c.aggregation {
            Some(a) => Some(AggType::parse(a).ok_or_else(|| invalid(format!("Unknown aggregation type `{a}`")))?),
            None => None,
        };
        columns.push(Column {
            name: c.name.clone(),
            data_type,
            is_key: false,
            nullable: c.nullable.unwrap_or(true),
            aggregation,
            default_value: c.default_value.clone(),
            comment: c.comment.clone(),
            unique_id: i as i32,
        });
    }

    let (keys_type, key_names) = match &spec.keys {
        Some((k, names)) => (*k, names.clone()),
        None => {
            // Upstream: leading columns up to 3 / 36 bytes, ending at a string column.
            let mut names = Vec::new();
            for c in &columns {
                if c.aggregation.is_some() || matches!(c.data_type, DataType::Float | DataType::Double | DataType::Json)
                {
                    break;
                }
                names.push(c.name.clone());
                if names.len() == 3 || c.data_type.is_string_like() {
                    break;
                }
            }
            if names.is_empty() {
                return Err(invalid("Cannot pick default key columns; please specify DUPLICATE KEY(...)"));
            }
            (KeysType::Duplicate, names)
        }
    };
    if key_names.is_empty() {
        return Err(invalid("Key columns should not be empty"));
    }
    // Key columns must be the leading columns, in order.
    for (i, k) in key_names.iter().enumerate() {
        let c = columns.get_mut(i).ok_or_else(|| invalid(format!("Key column[{k}] doesn't exist.")))?;
        if !c.name.eq_ignore_ascii_case(k) {
            if spec.columns.iter().any(|x| x.name.eq_ignore_ascii_case(k)) {
                return Err(invalid(format!("Key columns should be a ordered prefix of the schema. KeyColumns[{i}] (starts from zero) is {k}, but corresponding column is {} in the previous columns declaration.", c.name)));
            }
            return Err(invalid(format!("Key column[{k}] doesn't exist.")));
        }
        if c.aggregation.is_some() {
            return Err(invalid(format!("Key column {} should not specify aggregate type.", c.name)));
        }
        if matches!(c.data_type, DataType::Float | DataType::Double | DataType::Json | DataType::String) {
            return Err(invalid(format!(
                "{} type should not be used in key column[{}].",
                c.data_type.to_sql(),
                c.name
            )));
        }
        c.is_key = true;
    }
    for c in columns.iter_mut().filter(|c| !c.is_key) {
        match keys_type {
            KeysType::Aggregate => {
                if c.aggregation.is_none() {
                    return Err(invalid(format!(
                        "The column[{}] must specify aggregate type in AGGREGATE KEY model",
                        c.name
                    )));
                }
            }
            KeysType::Unique => {
                if c.aggregation.is_some() {
                    return Err(invalid(format!(
                        "Value column {} should not specify aggregate type in UNIQUE KEY model",
                        c.name
                    )));
                }
                c.aggregation = Some(AggType::Replace);
            }
            KeysType::Duplicate => {
                if c.aggregation.is_some() {
                    return Err(invalid(format!(
                        "Value column {} should not specify aggregate type in DUPLICATE KEY model",
                        c.name
                    )));
                }
            }
        }
    }

    // Properties.
    let mut properties: BTreeMap<String, String> =
        spec.properties.iter().map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let replication_num = replication_num(&properties)?;
    properties.remove("replication_allocation");
    properties.insert("replication_num".into(), replication_num.to_string());
    let storage_medium = match properties.get("storage_medium") {
        Some(m) => StorageMedium::parse(m).ok_or_else(|| invalid(format!("Invalid storage medium: {m}")))?,
        None => StorageMedium::Hdd,
    };
    let storage_policy = properties.get("storage_policy").cloned().unwrap_or_default();

    // Distribution.
    let distribution = match &spec.distribution {
        None => return Err(invalid("Create olap table should contain distribution desc")),
        Some(DistributionSpec::Hash { columns: dcols, buckets }) => {
            if dcols.is_empty() {
                return Err(invalid("Distribution column should not be empty"));
            }
            let mut names = Vec::new();
            for d in dcols {
                let c = columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(d))
                    .ok_or_else(|| invalid(format!("Distribution column[{d}] is not found")))?;
                if keys_type != KeysType::Duplicate && !c.is_key {
                    return Err(invalid(format!("Distribution column[{d}] is not key column")));
                }
                if matches!(c.data_type, DataType::Float | DataType::Double) {
                    return Err(invalid(format!("Distribution column[{d}] can not be float or double")));
                }
                names.push(c.name.clone());
            }
            Distribution::Hash { columns: names, buckets: check_buckets(*buckets)? }
        }
        Some(DistributionSpec::Random { buckets }) => {
            if keys_type != KeysType::Duplicate {
                return Err(invalid("Random distribution for non-duplicate table is unsupported"));
            }
            Distribution::Random { buckets: check_buckets(*buckets)? }
        }
    };

    // Partitions.
    struct PartDraft {
        name: String,
        range: Option<(Vec<String>, Vec<String>)>,
        list: Vec<Vec<String>>,
    }
    let (partition_kind, partition_columns, drafts) = match &spec.partition {
        PartitionSpec::None => (
            PartitionKind::Unpartitioned,
            Vec::new(),
            vec![PartDraft { name: spec.name.clone(), range: None, list: Vec::new() }],
        ),
        PartitionSpec::Range { columns: pcols, partitions } => {
            let (names, types) = partition_columns_of(&columns, pcols)?;
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
            let (names, types) = partition_columns_of(&columns, pcols)?;
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
        restore_lock: None,
    })
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

/// `buckets` new tablets of `replication_num` replicas each, placed round-robin from
/// `cursor` over `alive_backends`.
fn place_tablets(
    buckets: u32,
    replication_num: u16,
    medium: StorageMedium,
    alive_backends: &[i64],
    next_id: &mut impl FnMut() -> Result<i64, CatalogError>,
    cursor: &mut usize,
) -> Result<Vec<Tablet>, CatalogError> {
    let mut tablets = Vec::new();
    for _ in 0..buckets {
        let tablet_id = next_id()?;
        let backends = place_replicas(alive_backends, replication_num as usize, medium, cursor)?;
        let mut replicas = Vec::new();
        for backend_id in backends {
            replicas.push(Replica {
                id: next_id()?,
                backend_id,
                version: 1,
                row_count: 0,
                data_size: 0,
                remote_data_size: 0,
                version_count: 1,
                path_hash: 0,
                state: ReplicaState::Normal,
                last_report_ms: 0,
                cooldown_term: 0,
            });
        }
        tablets.push(Tablet { id: tablet_id, replicas, cooldown_replica_id: 0, cooldown_term: 0 });
    }
    Ok(tablets)
}

/// The bounds of one partition added to an existing table.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionBounds {
    /// `[lower, upper)`; each key as in `VALUES [(...), (...))`, `MAXVALUE` allowed; an
    /// empty lower key is the columns' smallest values.
    Range(Vec<String>, Vec<String>),
    /// The partition's value tuples.
    List(Vec<Vec<String>>),
}

/// A partition to add to an existing RANGE or LIST table (a restore adding one the table
/// lacks).
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
        (PartitionKind::Range, PartitionBounds::Range(lo, hi)) => {
            let lo =
                if lo.is_empty() { types.iter().map(DataType::min_value).collect() } else { range_key(&types, lo)? };
            let hi = range_key(&types, hi)?;
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

fn check_buckets(b: Option<u32>) -> Result<u32, CatalogError> {
    match b {
        None => Ok(DEFAULT_BUCKETS),
        Some(0) => Err(invalid("Number of hash distribution should not be zero.")),
        Some(n) if n > 1024 => Err(invalid(format!("Number of hash distribution {n} exceeds the limit 1024"))),
        Some(n) => Ok(n),
    }
}

fn replication_num(props: &BTreeMap<String, String>) -> Result<u16, CatalogError> {
    if let Some(v) = props.get("replication_num") {
        return v
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=32767).contains(n))
            .ok_or_else(|| invalid(format!("Invalid replication number: {v}")));
    }
    if let Some(v) = props.get("replication_allocation") {
        // Only the default tag is served: "tag.location.default: 3".
        let n = v
            .split(',')
            .filter_map(|part| part.split_once(':'))
            .map(|(tag, n)| (tag.trim().to_string(), n.trim().parse::<u16>().ok()))
            .collect::<Vec<_>>();
        return match n.as_slice() {
            [(tag, Some(n))] if tag == "tag.location.default" && *n >= 1 => Ok(*n),
            _ => Err(invalid(format!(
                "Invalid replication allocation `{v}`: only \"tag.location.default: N\" is supported"
            ))),
        };
    }
    Ok(3)
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
        if !c.is_key {
            return Err(invalid(format!("The partition column could not be aggregated column: {}", c.name)));
        }
        if !c.data_type.partitionable() {
            return Err(invalid(format!("type[{}] cannot be a partition key.", c.data_type.to_sql())));
        }
        names.push(c.name.clone());
        types.push(c.data_type.clone());
    }
    Ok((names, types))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CreateTableSpec {
        let col = |n: &str, t: &str| ColumnSpec {
            name: n.into(),
            type_text: t.into(),
            nullable: None,
            aggregation: None,
            default_value: None,
            comment: String::new(),
        };
        CreateTableSpec {
            db: "db".into(),
            name: "t".into(),
            if_not_exists: false,
            columns: vec![col("k1", "int"), col("v", "varchar(10)")],
            keys: Some((KeysType::Duplicate, vec!["k1".into()])),
            partition: PartitionSpec::Range {
                columns: vec!["k1".into()],
                partitions: vec![
                    ("p1".into(), RangeValues::LessThan(Some(vec!["10".into()]))),
                    ("p2".into(), RangeValues::LessThan(Some(vec!["20".into()]))),
                    ("p3".into(), RangeValues::LessThan(None)),
                ],
            },
            distribution: Some(DistributionSpec::Hash { columns: vec!["k1".into()], buckets: Some(4) }),
            properties: [("replication_num".to_string(), "3".to_string())].into(),
            comment: String::new(),
        }
    }

    fn ids() -> impl FnMut() -> Result<i64, CatalogError> {
        let mut n = 100;
        move || {
            n += 1;
            Ok(n)
        }
    }

    #[test]
    fn replicas_spread_over_distinct_backends() {
        let t = build_table(&spec(), 1, &[11, 12, 13, 14], ids(), 0).unwrap();
        assert_eq!(t.partitions.len(), 3);
        let mut per_be = BTreeMap::new();
        for (_, tablet) in t.tablets() {
            let mut bes: Vec<i64> = tablet.replicas.iter().map(|r| r.backend_id).collect();
            bes.sort();
            bes.dedup();
            assert_eq!(bes.len(), 3, "three distinct backends per tablet");
            for b in bes {
                *per_be.entry(b).or_insert(0) += 1;
            }
        }
        // 12 tablets x 3 replicas over 4 backends: round-robin gives 9 each.
        assert_eq!(per_be.values().copied().collect::<Vec<_>>(), vec![9, 9, 9, 9]);
        let p1 = t.partition("p1").unwrap();
        assert_eq!(p1.range.as_ref().unwrap().0, vec!["-2147483648".to_string()]);
        assert_eq!(t.partition("p3").unwrap().range.as_ref().unwrap().1, vec!["2147483647".to_string()]);
        assert_eq!(t.describe_partition(p1), "[types: [INT]; keys: [-2147483648]; ..types: [INT]; keys: [10]; )");
    }

    #[test]
    fn too_few_backends_is_refused_with_upstream_text() {
        let e = build_table(&spec(), 1, &[11, 12], ids(), 0).unwrap_err();
        assert!(e.to_string().starts_with("Failed to find enough backend"), "{e}");
        assert!(e.to_string().contains("replication num: 3"), "{e}");
    }

    #[test]
    fn list_partitions_render_like_upstream() {
        let mut s = spec();
        s.partition = PartitionSpec::List {
            columns: vec!["k1".into()],
            partitions: vec![
                ("p1".into(), vec![vec!["1".into()], vec!["2".into()]]),
                ("p2".into(), vec![vec!["3".into()]]),
            ],
        };
        let t = build_table(&s, 1, &[1, 2, 3], ids(), 0).unwrap();
        let ddl = t.create_table_ddl();
        assert!(ddl.contains("PARTITION BY LIST(`k1`)"), "{ddl}");
        assert!(ddl.contains("PARTITION p1 VALUES IN (\"1\", \"2\")"), "{ddl}");
        assert_eq!(t.describe_partition(&t.partitions[1]), "[types: [INT]; keys: [3]; ]");
        s.partition = PartitionSpec::List {
            columns: vec!["k1".into()],
            partitions: vec![("p1".into(), vec![vec!["1".into()]]), ("p2".into(), vec![vec!["1".into()]])],
        };
        assert!(build_table(&s, 1, &[1, 2, 3], ids(), 0).unwrap_err().to_string().contains("duplicated"));
    }

    #[test]
    fn bad_schemas_are_refused() {
        let mut s = spec();
        s.keys = Some((KeysType::Duplicate, vec!["v".into()]));
        assert!(build_table(&s, 1, &[1, 2, 3], ids(), 0).unwrap_err().to_string().contains("ordered prefix"));
        let mut s = spec();
        s.partition = PartitionSpec::Range {
            columns: vec!["k1".into()],
            partitions: vec![
                ("p1".into(), RangeValues::Fixed(vec!["0".into()], vec!["10".into()])),
                ("p2".into(), RangeValues::Fixed(vec!["5".into()], vec!["20".into()])),
            ],
        };
        assert!(build_table(&s, 1, &[1, 2, 3], ids(), 0).unwrap_err().to_string().contains("intersected"));
        let mut s = spec();
        s.distribution = None;
        assert!(build_table(&s, 1, &[1, 2, 3], ids(), 0).is_err());
    }

    /// `spec()` without its MAXVALUE partition: p1 [min, 10), p2 [10, 20).
    fn two_ranges() -> OlapTable {
        let mut s = spec();
        if let PartitionSpec::Range { partitions, .. } = &mut s.partition {
            partitions.pop();
        }
        build_table(&s, 1, &[11, 12, 13], ids(), 0).unwrap()
    }

    fn new_range(name: &str, lo: &str, hi: &str) -> NewPartitionSpec {
        NewPartitionSpec {
            name: name.into(),
            bounds: PartitionBounds::Range(vec![lo.into()], vec![hi.into()]),
            buckets: 2,
            replication_num: 2,
        }
    }

    fn fresh_ids() -> impl FnMut() -> Result<i64, CatalogError> {
        let mut n = 5000;
        move || {
            n += 1;
            Ok(n)
        }
    }

    #[test]
    fn an_added_partition_gets_new_ids_and_the_tables_index() {
        let t = two_ranges();
        let p = build_partition(&t, &new_range("p3", "20", "30"), &[11, 12, 13], fresh_ids(), 7).unwrap();
        assert_eq!(p.name, "p3");
        assert_eq!(p.range, Some((vec!["20".to_string()], vec!["30".to_string()])));
        assert_eq!((p.buckets, p.replication_num, p.visible_version), (2, 2, 1));
        assert_eq!((p.index.id, p.index.schema_hash), (t.base_index_id, t.schema_hash));
        assert_eq!(p.index.tablets.len(), 2);
        let mut made = vec![p.id];
        for tablet in &p.index.tablets {
            made.push(tablet.id);
            let mut bes: Vec<i64> = tablet.replicas.iter().map(|r| r.backend_id).collect();
            bes.dedup();
            assert_eq!(bes.len(), 2, "two distinct backends per tablet: {bes:?}");
            made.extend(tablet.replicas.iter().map(|r| r.id));
        }
        assert!(made.iter().all(|id| *id > 5000), "ids come from next_id: {made:?}");
        let old: Vec<i64> = t.all_tablets().map(|(_, x)| x.id).collect();
        assert!(p.index.tablets.iter().all(|x| !old.contains(&x.id)));
        // An empty lower key starts at the column's smallest value; MAXVALUE is its largest.
        let mut s = spec();
        s.partition = PartitionSpec::Range {
            columns: vec!["k1".into()],
            partitions: vec![("p2".into(), RangeValues::Fixed(vec!["10".into()], vec!["20".into()]))],
        };
        let t2 = build_table(&s, 1, &[11, 12, 13], ids(), 0).unwrap();
        let spec_p1 =
            NewPartitionSpec { bounds: PartitionBounds::Range(vec![], vec!["10".into()]), ..new_range("p1", "", "") };
        let p1 = build_partition(&t2, &spec_p1, &[11, 12], fresh_ids(), 0).unwrap();
        assert_eq!(p1.range.unwrap().0, vec![i32::MIN.to_string()]);
        let p9 = build_partition(&t2, &new_range("p9", "20", "MAXVALUE"), &[11, 12], fresh_ids(), 0).unwrap();
        assert_eq!(p9.range.unwrap().1, vec![i32::MAX.to_string()]);
    }

    #[test]
    fn an_added_partition_must_not_meet_any_other() {
        let mut t = two_ranges();
        let err = |t: &OlapTable, spec: NewPartitionSpec| {
            build_partition(t, &spec, &[11, 12, 13], fresh_ids(), 0).unwrap_err().to_string()
        };
        assert_eq!(
            err(&t, new_range("p3", "15", "30")),
            "Partition p3 in table t has conflict partition item with existing items (partition p2)"
        );
        assert!(err(&t, new_range("p2", "20", "30")).contains("Duplicate partition name p2"));
        assert!(err(&t, new_range("p3", "30", "20")).contains("lower values must smaller"));
        assert!(err(&t, new_range("p3", "x", "30")).contains("Invalid value `x`"));
        // Touching bounds do not intersect: [20, 30) after [10, 20).
        let p3 = build_partition(&t, &new_range("p3", "20", "30"), &[11, 12, 13], fresh_ids(), 0).unwrap();
        // A restoring partition counts like a visible one.
        t.restoring_partitions.push(p3);
        assert!(err(&t, new_range("p4", "25", "40")).ends_with("(partition p3)"));
        assert!(err(&t, new_range("P3", "30", "40")).contains("Duplicate partition name"));
        // Not enough backends for the replicas: upstream's text.
        let two = NewPartitionSpec { replication_num: 4, ..new_range("p4", "30", "40") };
        assert!(err(&t, two).starts_with("Failed to find enough backend"));
    }

    #[test]
    fn an_added_list_partition_must_not_share_a_value() {
        let mut s = spec();
        s.partition = PartitionSpec::List {
            columns: vec!["k1".into()],
            partitions: vec![("p1".into(), vec![vec!["1".into()], vec!["2".into()]])],
        };
        let t = build_table(&s, 1, &[11, 12, 13], ids(), 0).unwrap();
        let list = |name: &str, vals: &[&str]| NewPartitionSpec {
            name: name.into(),
            bounds: PartitionBounds::List(vals.iter().map(|v| vec![v.to_string()]).collect()),
            buckets: 1,
            replication_num: 1,
        };
        let e = build_partition(&t, &list("p2", &["3", "02"]), &[11], fresh_ids(), 0).unwrap_err();
        assert!(e.to_string().ends_with("(partition p1)"), "{e}");
        let p = build_partition(&t, &list("p2", &["3", "4"]), &[11], fresh_ids(), 0).unwrap();
        assert_eq!(p.list_values, vec![vec!["3".to_string()], vec!["4".to_string()]]);
        assert!(p.range.is_none());
        // A range does not fit a LIST table, nor anything an unpartitioned one.
        assert!(build_partition(&t, &new_range("p3", "5", "6"), &[11, 12], fresh_ids(), 0).is_err());
        let mut u = spec();
        u.partition = PartitionSpec::None;
        let u = build_table(&u, 1, &[11, 12, 13], ids(), 0).unwrap();
        assert!(build_partition(&u, &list("p2", &["3"]), &[11], fresh_ids(), 0).is_err());
    }

    #[test]
    fn a_published_partition_takes_its_place_in_range_order() {
        let mut t = two_ranges();
        let p3 = build_partition(&t, &new_range("p3", "20", "30"), &[11, 12, 13], fresh_ids(), 0).unwrap();
        let p0 = build_partition(&t, &new_range("p0", "-20", "-10"), &[11, 12, 13], fresh_ids(), 0).unwrap_err();
        assert!(p0.to_string().contains("(partition p1)"), "p1 starts at the minimum: {p0}");
        let mut s = spec();
        s.partition = PartitionSpec::Range {
            columns: vec!["k1".into()],
            partitions: vec![("p2".into(), RangeValues::Fixed(vec!["10".into()], vec!["20".into()]))],
        };
        let mut gap = build_table(&s, 1, &[11, 12, 13], ids(), 0).unwrap();
        let p1 = build_partition(&gap, &new_range("p1", "0", "10"), &[11, 12, 13], fresh_ids(), 0).unwrap();
        let (p1_id, p3_id) = (p1.id, p3.id);
        gap.restoring_partitions.push(p1);
        let visible = |t: &OlapTable| t.partitions.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(visible(&gap), ["p2"]);
        assert_eq!(gap.tablets().count(), 4, "a restoring partition's tablets are not the table's visible ones");
        assert_eq!(gap.all_tablets().count(), 6);
        assert!(gap.publish_restoring_partition(p1_id));
        assert!(!gap.publish_restoring_partition(p1_id), "published once");
        assert_eq!(visible(&gap), ["p1", "p2"]);
        assert!(gap.restoring_partitions.is_empty());
        t.restoring_partitions.push(p3);
        assert!(t.publish_restoring_partition(p3_id));
        assert_eq!(visible(&t), ["p1", "p2", "p3"]);
        assert!(t.create_table_ddl().contains("PARTITION p3 VALUES [(\"20\"), (\"30\"))"));
    }
}
