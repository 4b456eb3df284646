//! Thrift schema -> `TabletSchema`, with upstream's enum names as the stored strings.

use doris_thrift::agent_service::TTabletSchema;
use doris_thrift::types::{TAggregationType, TKeysType, TPrimitiveType, TStorageMedium};

use super::tablet_meta::{ColumnMeta, TabletSchema};
use crate::error::{BeError, Result};

/// Upstream `TPrimitiveType` names, indexed by the enum value (gaps are unused values).
const PRIMITIVE_NAMES: &[(i32, &str)] = &[
    (0, "INVALID_TYPE"),
    (1, "NULL_TYPE"),
    (2, "BOOLEAN"),
    (3, "TINYINT"),
    (4, "SMALLINT"),
    (5, "INT"),
    (6, "BIGINT"),
    (7, "FLOAT"),
    (8, "DOUBLE"),
    (9, "DATE"),
    (10, "DATETIME"),
    (11, "BINARY"),
    (12, "DECIMAL_DEPRACTED"),
    (13, "CHAR"),
    (14, "LARGEINT"),
    (15, "VARCHAR"),
    (16, "HLL"),
    (17, "DECIMALV2"),
    (19, "BITMAP"),
    (20, "ARRAY"),
    (21, "MAP"),
    (22, "STRUCT"),
    (23, "STRING"),
    (24, "ALL"),
    (25, "QUANTILE_STATE"),
    (26, "DATEV2"),
    (27, "DATETIMEV2"),
    (28, "TIMEV2"),
    (29, "DECIMAL32"),
    (30, "DECIMAL64"),
    (31, "DECIMAL128I"),
    (32, "JSONB"),
    (33, "UNSUPPORTED"),
    (34, "VARIANT"),
    (35, "LAMBDA_FUNCTION"),
    (36, "AGG_STATE"),
    (37, "DECIMAL256"),
    (38, "IPV4"),
    (39, "IPV6"),
    (40, "UINT32"),
    (41, "UINT64"),
    (42, "FIXED_LENGTH_OBJECT"),
];

pub fn primitive_type_name(t: TPrimitiveType) -> Option<&'static str> {
    PRIMITIVE_NAMES.iter().find(|(v, _)| *v == t.0).map(|(_, n)| *n)
}

pub fn keys_type_name(t: TKeysType) -> Option<&'static str> {
    Some(match t {
        TKeysType::PRIMARY_KEYS => "PRIMARY_KEYS",
        TKeysType::DUP_KEYS => "DUP_KEYS",
        TKeysType::UNIQUE_KEYS => "UNIQUE_KEYS",
        TKeysType::AGG_KEYS => "AGG_KEYS",
        _ => return None,
    })
}

pub fn aggregation_name(t: TAggregationType) -> Option<&'static str> {
    Some(match t {
        TAggregationType::SUM => "SUM",
        TAggregationType::MAX => "MAX",
        TAggregationType::MIN => "MIN",
        TAggregationType::REPLACE => "REPLACE",
        TAggregationType::HLL_UNION => "HLL_UNION",
        TAggregationType::NONE => "NONE",
        TAggregationType::BITMAP_UNION => "BITMAP_UNION",
        TAggregationType::REPLACE_IF_NOT_NULL => "REPLACE_IF_NOT_NULL",
        TAggregationType::QUANTILE_UNION => "QUANTILE_UNION",
        _ => return None,
    })
}

pub fn storage_medium_name(m: TStorageMedium) -> &'static str {
    match m {
        TStorageMedium::SSD => "SSD",
        TStorageMedium::S3 => "S3",
        TStorageMedium::REMOTE_CACHE => "REMOTE_CACHE",
        _ => "HDD",
    }
}

pub fn storage_medium_from_name(name: &str) -> TStorageMedium {
    match name {
        "SSD" => TStorageMedium::SSD,
        "S3" => TStorageMedium::S3,
        "REMOTE_CACHE" => TStorageMedium::REMOTE_CACHE,
        _ => TStorageMedium::HDD,
    }
}

/// Convert the FE's schema; unknown enum values are refused rather than stored as numbers.
pub fn from_thrift(s: &TTabletSchema) -> Result<TabletSchema> {
    let keys_type = keys_type_name(s.keys_type)
        .ok_or_else(|| BeError::InvalidArgument(format!("unknown keys_type {}", s.keys_type.0)))?;
    if s.columns.is_empty() {
        return Err(BeError::InvalidArgument("tablet schema has no columns".into()));
    }
    let mut columns = Vec::with_capacity(s.columns.len());
    for (i, c) in s.columns.iter().enumerate() {
        let type_name = primitive_type_name(c.column_type.type_).ok_or_else(|| {
            BeError::InvalidArgument(format!("column {}: unknown primitive type {}", c.column_name, c.column_type.type_.0))
        })?;
        let is_key = c.is_key.unwrap_or(false);
        let aggregation = match c.aggregation_type {
            Some(a) => aggregation_name(a).ok_or_else(|| {
                BeError::InvalidArgument(format!("column {}: unknown aggregation type {}", c.column_name, a.0))
            })?,
            None => "NONE",
        };
        // The FE leaves col_unique_id unset (or -1) for tables created before light schema
        // change; upstream then falls back to the column's position.
        let unique_id = match c.col_unique_id {
            Some(id) if id >= 0 => id,
            _ => i as i32,
        };
        columns.push(ColumnMeta {
            name: c.column_name.clone(),
            type_name: type_name.to_string(),
            is_key,
            aggregation: aggregation.to_string(),
            nullable: c.is_allow_null.unwrap_or(false),
            default_value: c.default_value.clone(),
            unique_id,
            len: c.column_type.len,
            precision: c.column_type.precision,
            scale: c.column_type.scale,
        });
    }
    Ok(TabletSchema { keys_type: keys_type.to_string(), short_key_column_count: s.short_key_column_count, columns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use doris_thrift::descriptors::TColumn;
    use doris_thrift::types::{TColumnType, TStorageType};

    #[test]
    fn storage_schema_uses_upstream_names() {
        let col = |name: &str, t, key, agg| {
            TColumn::new(name.to_string(), TColumnType::new(t, None, None, None, None, None), agg, key, None, None, -1)
        };
        let s = TTabletSchema::new(
            1,
            7,
            TKeysType::UNIQUE_KEYS,
            TStorageType::COLUMN,
            vec![
                col("k", TPrimitiveType::BIGINT, true, None),
                col("d", TPrimitiveType::DATETIMEV2, false, Some(TAggregationType::REPLACE)),
                col("b", TPrimitiveType::BITMAP, false, Some(TAggregationType::BITMAP_UNION)),
            ],
        );
        let t = from_thrift(&s).unwrap();
        assert_eq!(t.keys_type, "UNIQUE_KEYS");
        let got: Vec<(&str, &str, bool, i32)> =
            t.columns.iter().map(|c| (c.type_name.as_str(), c.aggregation.as_str(), c.is_key, c.unique_id)).collect();
        assert_eq!(got, vec![("BIGINT", "NONE", true, 0), ("DATETIMEV2", "REPLACE", false, 1), ("BITMAP", "BITMAP_UNION", false, 2)]);
        let mut bad = s.clone();
        bad.keys_type = TKeysType(42);
        assert!(matches!(from_thrift(&bad), Err(BeError::InvalidArgument(_))));
        assert_eq!(storage_medium_from_name(storage_medium_name(TStorageMedium::SSD)), TStorageMedium::SSD);
    }
}
