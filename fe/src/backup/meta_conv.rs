//! Between the catalog's tables and the backup meta: a table as `TableMeta` (what BACKUP
//! saves and what RESTORE compares against), and a `TableMeta` as a CREATE TABLE spec (what
//! RESTORE creates when the target table is missing).

use std::collections::BTreeMap;

use crate::backup::meta::{
    BoundValue, ColumnMeta, DistributionMeta, IndexMeta, PartitionEntry, PartitionItem,
    PartitionMeta, TableMeta, TableProperties,
};
use crate::catalog::hidden::{self, HiddenDefaults};
use crate::catalog::table::{Distribution, OlapTable, PartitionKind};
use crate::catalog::types::{KeysType, StorageMedium};
use crate::catalog::{
    ColumnSpec, CreateTableSpec, DistributionSpec, PartitionBounds, PartitionSpec, RangeValues,
};
use crate::error::{FeError, Result};

/// The meta of `t`, limited to `partitions` when given (names, case-insensitive).
pub fn table_meta(t: &OlapTable, partitions: Option<&[String]>) -> TableMeta {
    let keep = |name: &str| {
        partitions.is_none_or(|ps| ps.is_empty() || ps.iter().any(|p| p.eq_ignore_ascii_case(name)))
    };
    let parts = t
        .partitions
        .iter()
        .filter(|p| keep(&p.name))
        .map(|p| PartitionEntry {
            name: p.name.clone(),
            id: p.id,
            visible_version: p.visible_version,
            item: match t.partition_kind {
                PartitionKind::Unpartitioned => None,
                PartitionKind::Range => p.range.as_ref().map(|(lo, hi)| PartitionItem::Range {
                    lower: lo.iter().cloned().map(BoundValue::Value).collect(),
                    upper: hi.iter().cloned().map(BoundValue::Value).collect(),
                }),
                PartitionKind::List => Some(PartitionItem::List(p.list_values.clone())),
            },
            replication_num: (p.replication_num != t.replication_num).then_some(p.replication_num),
        })
        .collect();
    let (kind, columns, buckets) = match &t.distribution {
        Distribution::Hash { columns, buckets } => ("HASH", columns.clone(), *buckets),
        Distribution::Random { buckets } => ("RANDOM", Vec::new(), *buckets),
    };
    let mut other = t.properties.clone();
    for k in [
        "replication_num",
        "replication_allocation",
        "storage_medium",
        "storage_policy",
    ] {
        other.remove(k);
    }
    TableMeta {
        name: t.name.clone(),
        id: t.id,
        keys_type: t.keys_type.upstream_name().to_string(),
        comment: t.comment.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| ColumnMeta {
                name: c.name.clone(),
                data_type: c.data_type.to_sql(),
                nullable: c.nullable,
                is_key: c.is_key,
                aggregation: c.aggregation.map(|a| a.sql().to_string()),
                default_value: c.default_value.clone(),
                comment: c.comment.clone(),
                auto_increment: c.auto_increment,
            })
            .collect(),
        auto_increment_ceiling: t.auto_increment_ceiling,
        hidden_columns: t.hidden_columns.iter().map(|c| c.name.clone()).collect(),
        partition: PartitionMeta {
            kind: match t.partition_kind {
                PartitionKind::Unpartitioned => "UNPARTITIONED",
                PartitionKind::Range => "RANGE",
                PartitionKind::List => "LIST",
            }
            .to_string(),
            columns: t.partition_columns.clone(),
            partitions: parts,
        },
        distribution: DistributionMeta {
            kind: kind.to_string(),
            columns,
            buckets,
        },
        properties: TableProperties {
            replication_num: t.replication_num,
            storage_medium: Some(t.storage_medium.name().to_string()),
            storage_policy: (!t.storage_policy.is_empty()).then(|| t.storage_policy.clone()),
            other,
        },
        indexes: vec![IndexMeta {
            id: t.base_index_id,
            name: t.name.clone(),
            schema_hash: t.schema_hash,
        }],
    }
}

fn keys_type(s: &str) -> Result<KeysType> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "DUP_KEYS" => KeysType::Duplicate,
        "UNIQUE_KEYS" => KeysType::Unique,
        "AGG_KEYS" => KeysType::Aggregate,
        other => {
            return Err(FeError::InvalidArgument(format!(
                "backup meta: unknown keys type {other}"
            )))
        }
    })
}

fn bound(v: &[BoundValue]) -> Option<Vec<String>> {
    v.iter()
        .map(|b| match b {
            BoundValue::Value(s) => Some(s.clone()),
            BoundValue::MaxValue => None,
        })
        .collect()
}

/// A CREATE TABLE spec that recreates `m` as `name` in `db` with `replication_num`
/// replicas. Partitions keep their names and bounds; ids are new.
pub fn create_spec(
    m: &TableMeta,
    db: &str,
    name: &str,
    replication_num: u16,
) -> Result<CreateTableSpec> {
    let kt = keys_type(&m.keys_type)?;
    let keys: Vec<String> = m
        .columns
        .iter()
        .filter(|c| c.is_key)
        .map(|c| c.name.clone())
        .collect();
    let partition = match m.partition.kind.to_ascii_uppercase().as_str() {
        "UNPARTITIONED" => PartitionSpec::None,
        "RANGE" => {
            let mut parts = Vec::new();
            for p in &m.partition.partitions {
                let Some(PartitionItem::Range { lower, upper }) = &p.item else {
                    return Err(FeError::InvalidArgument(format!(
                        "backup meta: partition {} has no range",
                        p.name
                    )));
                };
                let v = match (lower.is_empty(), bound(lower), bound(upper)) {
                    (true, _, up) => RangeValues::LessThan(up),
                    (false, Some(lo), Some(up)) => RangeValues::Fixed(lo, up),
                    (false, _, up) => RangeValues::LessThan(up),
                };
                parts.push((p.name.clone(), v));
            }
            PartitionSpec::Range {
                columns: m.partition.columns.clone(),
                partitions: parts,
            }
        }
        "LIST" => {
            let mut parts = Vec::new();
            for p in &m.partition.partitions {
                let Some(PartitionItem::List(values)) = &p.item else {
                    return Err(FeError::InvalidArgument(format!(
                        "backup meta: partition {} has no values",
                        p.name
                    )));
                };
                parts.push((p.name.clone(), values.clone()));
            }
            PartitionSpec::List {
                columns: m.partition.columns.clone(),
                partitions: parts,
            }
        }
        other => {
            return Err(FeError::InvalidArgument(format!(
                "backup meta: unknown partition kind {other}"
            )))
        }
    };
    let distribution = match m.distribution.kind.to_ascii_uppercase().as_str() {
        "RANDOM" => DistributionSpec::Random {
            buckets: Some(m.distribution.buckets),
        },
        _ => DistributionSpec::Hash {
            columns: m.distribution.columns.clone(),
            buckets: Some(m.distribution.buckets),
        },
    };
    let mut properties: BTreeMap<String, String> = m.properties.other.clone();
    properties.insert("replication_num".into(), replication_num.to_string());
    if let Some(medium) = m
        .properties
        .storage_medium
        .as_deref()
        .and_then(StorageMedium::parse)
    {
        properties.insert("storage_medium".into(), medium.name().to_ascii_lowercase());
    }
    Ok(CreateTableSpec {
        db: db.to_string(),
        name: name.to_string(),
        if_not_exists: false,
        columns: m
            .columns
            .iter()
            .map(|c| ColumnSpec {
                name: c.name.clone(),
                type_text: c.data_type.clone(),
                nullable: Some(c.nullable),
                // The meta records UNIQUE KEY value columns as REPLACE (what the catalog
                // keeps); CREATE TABLE takes an aggregation on AGGREGATE KEY tables only.
                aggregation: match kt {
                    KeysType::Aggregate => c.aggregation.clone(),
                    KeysType::Unique | KeysType::Duplicate => None,
                },
                default_value: c.default_value.clone(),
                comment: c.comment.clone(),
                auto_increment: c.auto_increment,
            })
            .collect(),
        keys: Some((kt, keys)),
        partition,
        distribution: Some(distribution),
        properties,
        comment: m.comment.clone(),
        // A restored table goes on above every value the backed-up one handed out.
        auto_increment_ceiling: m.auto_increment_ceiling,
        // The backed-up table's hidden columns again; fe.conf decides for an older meta.
        hidden: (!m.hidden_columns.is_empty()).then(|| HiddenDefaults {
            batch_delete: m.hidden_columns.iter().any(|n| n == hidden::DELETE_SIGN),
            version_column: m.hidden_columns.iter().any(|n| n == hidden::VERSION_COL),
        }),
    })
}

/// The bounds of the backed-up partition `p`, for adding it to an existing table.
pub fn partition_bounds(p: &PartitionEntry) -> Result<PartitionBounds> {
    let key = |v: &[BoundValue]| -> Vec<String> {
        v.iter()
            .map(|b| match b {
                BoundValue::Value(s) => s.clone(),
                BoundValue::MaxValue => "MAXVALUE".to_string(),
            })
            .collect()
    };
    match &p.item {
        Some(PartitionItem::Range { lower, upper }) => {
            Ok(PartitionBounds::Range(key(lower), key(upper)))
        }
        Some(PartitionItem::List(values)) => Ok(PartitionBounds::List(values.clone())),
        None => Err(FeError::InvalidArgument(format!(
            "backup meta: partition {} has no range or values",
            p.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::spec::build_table;

    /// A table of `keys` built the way CREATE TABLE builds it: `k` INT key, then `values`
    /// as (name, type, aggregation as written in the statement).
    fn table(keys: KeysType, values: &[(&str, &str, Option<&str>)]) -> OlapTable {
        let col = |n: &str, t: &str, agg: Option<&str>| ColumnSpec {
            name: n.into(),
            type_text: t.into(),
            nullable: Some(true),
            aggregation: agg.map(str::to_string),
            default_value: None,
            comment: String::new(),
            auto_increment: None,
        };
        let mut columns = vec![col("k", "int", None)];
        columns.extend(values.iter().map(|(n, t, a)| col(n, t, *a)));
        let spec = CreateTableSpec {
            db: "db".into(),
            name: "src".into(),
            if_not_exists: false,
            columns,
            keys: Some((keys, vec!["k".into()])),
            partition: PartitionSpec::None,
            distribution: Some(DistributionSpec::Hash {
                columns: vec!["k".into()],
                buckets: Some(2),
            }),
            properties: [("replication_num".to_string(), "1".to_string())].into(),
            comment: String::new(),
            auto_increment_ceiling: None,
            hidden: None,
        };
        let mut next = 100;
        build_table(
            &spec,
            1,
            &[10],
            || {
                next += 1;
                Ok(next)
            },
            0,
        )
        .unwrap()
    }

    /// An AUTO_INCREMENT column and the values its table handed out travel in the meta: a
    /// table restored from it has the column and goes on above those values; a schema
    /// without the column differs.
    #[test]
    fn auto_increment_survives_the_meta() {
        let mut src = table(KeysType::Duplicate, &[("v", "varchar(32)", None)]);
        src.columns.push(crate::catalog::table::Column {
            name: "id".into(),
            nullable: false,
            auto_increment: Some(10),
            unique_id: 2,
            ..src.columns[1].clone()
        });
        src.columns[2].data_type = crate::catalog::types::DataType::BigInt;
        src.auto_increment_ceiling = Some(500_000);
        let m = table_meta(&src, None);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"auto_increment\":10") && json.contains("\"auto_increment_ceiling\":500000"), "{json}");
        let back: TableMeta = serde_json::from_str(&json).unwrap();
        let spec = create_spec(&back, "db", "dst", 1).unwrap();
        assert_eq!(spec.columns.iter().map(|c| c.auto_increment).collect::<Vec<_>>(), vec![None, None, Some(10)]);
        assert_eq!(spec.auto_increment_ceiling, Some(500_000));
        let mut plain = m.clone();
        plain.columns[2].auto_increment = None;
        assert!(m.check_same_schema(&plain, "dst").is_err());
        // Metas of tables without one keep the signature they had.
        let without = table_meta(&table(KeysType::Duplicate, &[("v", "varchar(32)", None)]), None);
        assert!(!serde_json::to_string(&without).unwrap().contains("auto_increment"));
    }

    /// The spec made from a table's meta builds the same table under the new name, for
    /// every key model: UNIQUE KEY value columns (REPLACE in the meta) and DUPLICATE KEY
    /// ones carry no aggregation into the spec, AGGREGATE KEY ones keep theirs.
    #[test]
    fn create_spec_recreates_every_key_model() {
        let cases = [
            (
                KeysType::Unique,
                vec![("v", "varchar(32)", None), ("n", "bigint", None)],
            ),
            (KeysType::Duplicate, vec![("v", "varchar(32)", None)]),
            (
                KeysType::Duplicate,
                vec![
                    ("a", "array<array<int>>", None),
                    ("m", "map<varchar(8),decimal(10,2)>", None),
                    ("st", "struct<Aa:int,b:array<text>>", None),
                ],
            ),
            (
                KeysType::Aggregate,
                vec![
                    ("s", "bigint", Some("SUM")),
                    ("r", "varchar(16)", Some("REPLACE")),
                ],
            ),
        ];
        for (keys, values) in cases {
            let src = table(keys, &values);
            let spec = create_spec(&table_meta(&src, None), "db", "dst", 1).unwrap();
            let want: Vec<Option<String>> =
                spec.columns.iter().map(|c| c.aggregation.clone()).collect();
            match keys {
                KeysType::Aggregate => {
                    assert_eq!(want, vec![None, Some("SUM".into()), Some("REPLACE".into())])
                }
                _ => assert!(want.iter().all(Option::is_none), "{keys:?}: {want:?}"),
            }
            let dst = build_table(&spec, 1, &[10], || Ok(500), 0)
                .unwrap_or_else(|e| panic!("{keys:?}: the spec from the meta is refused: {e}"));
            assert_eq!(dst.columns, src.columns, "{keys:?}");
            assert_eq!(
                dst.create_table_ddl().replacen("`dst`", "`src`", 1),
                src.create_table_ddl(),
                "{keys:?}"
            );
        }
    }
}
