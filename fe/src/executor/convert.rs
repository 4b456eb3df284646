//! CREATE TABLE's AST into the catalog's [`CreateTableSpec`].

use std::collections::BTreeMap;

use crate::catalog::types::{DataType, KeysType};
use crate::catalog::{ColumnSpec, CreateTableSpec, DistributionSpec, PartitionSpec, RangeValues};
use crate::error::FeError;
use crate::sql;

pub fn data_type(t: &sql::DataType) -> DataType {
    match *t {
        sql::DataType::Array(ref e) => DataType::Array(Box::new(data_type(e))),
        sql::DataType::Map(ref k, ref v) => DataType::Map(Box::new(data_type(k)), Box::new(data_type(v))),
        sql::DataType::Struct(ref fields) => {
            DataType::Struct(fields.iter().map(|(n, t)| (n.clone(), data_type(t))).collect())
        }
        sql::DataType::Boolean => DataType::Boolean,
        sql::DataType::TinyInt => DataType::TinyInt,
        sql::DataType::SmallInt => DataType::SmallInt,
        sql::DataType::Int => DataType::Int,
        sql::DataType::BigInt => DataType::BigInt,
        sql::DataType::LargeInt => DataType::LargeInt,
        sql::DataType::Float => DataType::Float,
        sql::DataType::Double => DataType::Double,
        // DECIMAL is DECIMALV3 in current Doris.
        sql::DataType::Decimal { precision, scale } | sql::DataType::DecimalV3 { precision, scale } => {
            DataType::Decimal { precision, scale }
        }
        sql::DataType::Date | sql::DataType::DateV2 => DataType::Date,
        sql::DataType::DateTime => DataType::DateTime { scale: 0 },
        sql::DataType::DateTimeV2 { scale } => DataType::DateTime { scale },
        sql::DataType::Char(n) => DataType::Char(n),
        sql::DataType::Varchar(n) => DataType::Varchar(n),
        sql::DataType::String => DataType::String,
        sql::DataType::Json => DataType::Json,
    }
}

fn value(v: &sql::PartitionValue) -> String {
    match v {
        sql::PartitionValue::Value(s) => s.clone(),
        sql::PartitionValue::MaxValue => "MAXVALUE".into(),
    }
}

pub fn create_table_spec(db: String, ct: sql::CreateTable) -> Result<CreateTableSpec, FeError> {
    if let Some(engine) = &ct.engine {
        if !engine.eq_ignore_ascii_case("olap") {
            return Err(FeError::not_supported(format!("ENGINE = {engine}: doris-rs serves OLAP tables only")));
        }
    }
    let columns = ct.columns.iter().map(column_spec).collect();
    let keys = match &ct.keys {
        Some(k) => Some((
            match k.keys_type {
                sql::KeysType::Duplicate => KeysType::Duplicate,
                sql::KeysType::Unique => KeysType::Unique,
                sql::KeysType::Aggregate => KeysType::Aggregate,
            },
            k.columns.clone(),
        )),
        None => {
            // Older syntax marks key columns inline with KEY.
            let marked: Vec<String> = ct.columns.iter().filter(|c| c.is_key).map(|c| c.name.clone()).collect();
            (!marked.is_empty()).then_some((KeysType::Duplicate, marked))
        }
    };
    let partition = match ct.partition {
        None => PartitionSpec::None,
        Some(sql::PartitionDesc::Range { columns, partitions }) => PartitionSpec::Range {
            columns,
            partitions: partitions
                .into_iter()
                .map(|p| {
                    let v = match p.bound {
                        sql::RangeBound::LessThan(vals) if vals == [sql::PartitionValue::MaxValue] => {
                            RangeValues::LessThan(None)
                        }
                        sql::RangeBound::LessThan(vals) => {
                            RangeValues::LessThan(Some(vals.iter().map(value).collect()))
                        }
                        sql::RangeBound::Fixed { lower, upper } => {
                            RangeValues::Fixed(lower.iter().map(value).collect(), upper.iter().map(value).collect())
                        }
                    };
                    (p.name, v)
                })
                .collect(),
        },
        Some(sql::PartitionDesc::List { columns, partitions }) => {
            PartitionSpec::List { columns, partitions: partitions.into_iter().map(|p| (p.name, p.values)).collect() }
        }
    };
    let distribution = Some(match ct.distribution.kind {
        sql::DistributionKind::Hash(cols) => DistributionSpec::Hash { columns: cols, buckets: ct.distribution.buckets },
        sql::DistributionKind::Random => DistributionSpec::Random { buckets: ct.distribution.buckets },
    });
    let properties: BTreeMap<String, String> = ct.properties.into_iter().collect();
    Ok(CreateTableSpec {
        db,
        name: ct.name.table,
        if_not_exists: ct.if_not_exists,
        columns,
        keys,
        partition,
        distribution,
        properties,
        comment: ct.comment.unwrap_or_default(),
        auto_increment_ceiling: None,
        hidden: None,
    })
}

/// ALTER TABLE ADD PARTITION's statement as the domain's request: the bounds, and the
/// partition properties it honours (`version_info`, `replication_num`).
pub fn add_partition_request(db: String, a: sql::AddPartitionStmt) -> Result<crate::tables::AddPartition, FeError> {
    if a.temporary {
        return Err(FeError::NotSupported("temporary partitions".into()));
    }
    let (name, bounds, properties) = match a.partition {
        sql::NewPartitionDef::Range(p) => {
            let bounds = match p.bound {
                sql::RangeBound::LessThan(vals) => crate::catalog::PartitionBounds::LessThan(vals.iter().map(value).collect()),
                sql::RangeBound::Fixed { lower, upper } => {
                    crate::catalog::PartitionBounds::Range(lower.iter().map(value).collect(), upper.iter().map(value).collect())
                }
            };
            (p.name, bounds, p.properties)
        }
        sql::NewPartitionDef::List(p) => (p.name, crate::catalog::PartitionBounds::List(p.values), p.properties),
    };
    let mut version_info = None;
    let mut replication_num = None;
    for (k, v) in &properties {
        let bad = || FeError::InvalidArgument(format!("invalid value of \"{k}\": {v}"));
        match k.to_ascii_lowercase().as_str() {
            "version_info" => version_info = Some(v.trim().parse::<i64>().map_err(|_| bad())?),
            "replication_num" => replication_num = Some(v.trim().parse::<u16>().map_err(|_| bad())?),
            // Accepted as upstream does; this FE keeps no per-partition setting for them.
            "storage_medium" | "in_memory" | "replication_allocation" | "storage_cooldown_time" => {}
            _ => return Err(FeError::InvalidArgument(format!("Unknown properties: {{{k}={v}}}"))),
        }
    }
    let (hash_columns, buckets) = match a.distribution {
        Some(sql::Distribution { kind: sql::DistributionKind::Hash(cols), buckets }) => (Some(cols), buckets),
        Some(sql::Distribution { kind: sql::DistributionKind::Random, buckets }) => (None, buckets),
        None => (None, None),
    };
    Ok(crate::tables::AddPartition {
        db,
        table: a.table.table,
        name,
        if_not_exists: a.if_not_exists,
        bounds,
        buckets,
        hash_columns,
        replication_num,
        version_info,
    })
}

/// A column definition of CREATE TABLE or ADD COLUMN as the catalog's spec.
pub fn column_spec(c: &sql::ColumnDef) -> ColumnSpec {
    ColumnSpec {
        name: c.name.clone(),
        type_text: data_type(&c.data_type).to_sql(),
        nullable: Some(c.nullable),
        aggregation: c.aggregation.map(|a| a.as_str().to_string()),
        default_value: match &c.default {
            None | Some(sql::DefaultValue::Null) => None,
            Some(sql::DefaultValue::CurrentTimestamp) => Some("CURRENT_TIMESTAMP".into()),
            Some(sql::DefaultValue::Value(v)) => Some(v.clone()),
        },
        comment: c.comment.clone().unwrap_or_default(),
        auto_increment: c.auto_increment,
    }
}

/// ADD/DROP COLUMN as the domain's schema change (a KEY column is a heavy change: refused).
pub fn schema_change(change: sql::ColumnChange) -> Result<crate::catalog::spec::alter::SchemaChange, FeError> {
    use crate::catalog::spec::alter::{ColumnPosition, SchemaChange};
    Ok(match change {
        sql::ColumnChange::Add { columns, position } => {
            if let Some(k) = columns.iter().find(|c| c.is_key) {
                return Err(FeError::NotSupported(format!("adding key column {} (a heavy schema change)", k.name)));
            }
            SchemaChange::Add {
                columns: columns.iter().map(column_spec).collect(),
                position: match position {
                    sql::ColumnPosition::Last => ColumnPosition::Last,
                    sql::ColumnPosition::First => ColumnPosition::First,
                    sql::ColumnPosition::After(c) => ColumnPosition::After(c),
                },
            }
        }
        sql::ColumnChange::Drop { name } => SchemaChange::Drop { name },
    })
}
