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
            let check = |vals: &[String]| -> Result<Vec<String>, CatalogError> {
                if vals.is_empty() || vals.len() > types.len() {
                    return Err(invalid(format!(
                        "partition key count {} does not match the {} partition columns",
                        vals.len(),
                        types.len()
                    )));
                }
                let mut out = Vec::new();
                for (i, t) in types.iter().enumerate() {
                    match vals.get(i) {
                        Some(v) if v.eq_ignore_ascii_case("MAXVALUE") => out.push(maxs[i].clone()),
                        Some(v) => out.push(t.check_literal(v).map_err(|e| invalid(e.0))?),
                        // Missing trailing keys are the column's minimum, as upstream pads.
                        None => out.push(mins[i].clone()),
                    }
                }
                Ok(out)
            };
            let cmp = |a: &[String], b: &[String]| -> std::cmp::Ordering {
                for (i, t) in types.iter().enumerate() {
                    let o = t.compare(&a[i], &b[i]);
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            };
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
                    if tup.len() != types.len() {
                        return Err(invalid(format!(
                            "partition item's size {} is not equal to partition column's size {}",
                            tup.len(),
                            types.len()
                        )));
                    }
                    let v: Vec<String> = types
                        .iter()
                        .zip(tup)
                        .map(|(t, x)| t.check_literal(x).map_err(|e| invalid(e.0)))
                        .collect::<Result<_, _>>()?;
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
        let mut tablets = Vec::new();
        let partition_id = next_id()?;
        for _ in 0..buckets {
            let tablet_id = next_id()?;
            let backends = place_replicas(alive_backends, replication_num as usize, storage_medium, &mut rr)?;
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
    })
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
}
