//! Thrift schema -> `TabletSchema`, with upstream's enum names as the stored strings.

use doris_thrift::agent_service::TTabletSchema;
use doris_thrift::descriptors::TColumn;
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

/// One column (and its children, for ARRAY/MAP/STRUCT); `position` is its unique id when
/// the FE sends none.
fn column_meta(c: &TColumn, position: i32) -> Result<ColumnMeta> {
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
        _ => position,
    };
    let children = c
        .children_column
        .iter()
        .flatten()
        .enumerate()
        .map(|(j, child)| column_meta(child, j as i32))
        .collect::<Result<Vec<_>>>()?;
    let wanted = match type_name {
        "ARRAY" => Some(1),
        "MAP" => Some(2),
        "STRUCT" => None,
        _ => Some(0),
    };
    if wanted.is_some_and(|n| n != children.len()) || (type_name == "STRUCT" && children.is_empty()) {
        return Err(BeError::InvalidArgument(format!(
            "column {}: a {type_name} column with {} children",
            c.column_name,
            children.len()
        )));
    }
    Ok(ColumnMeta {
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
        children,
        visible: c.visible.unwrap_or(true),
    })
}

/// Convert the FE's schema; unknown enum values are refused rather than stored as numbers.
pub fn from_thrift(s: &TTabletSchema) -> Result<TabletSchema> {
    let keys_type = keys_type_name(s.keys_type)
        .ok_or_else(|| BeError::InvalidArgument(format!("unknown keys_type {}", s.keys_type.0)))?;
    if s.columns.is_empty() {
        return Err(BeError::InvalidArgument("tablet schema has no columns".into()));
    }
    let columns = s.columns.iter().enumerate().map(|(i, c)| column_meta(c, i as i32)).collect::<Result<Vec<_>>>()?;
    // The hidden columns' indexes must point at a column: a bad one is refused, not stored.
    let idx = |what: &str, i: Option<i32>| -> Result<i32> {
        match i.unwrap_or(-1) {
            i if i < 0 => Ok(-1),
            i if (i as usize) < columns.len() => Ok(i),
            i => Err(BeError::InvalidArgument(format!("{what} {i} is past the {} columns", columns.len()))),
        }
    };
    let mut t = TabletSchema::plain(keys_type, s.short_key_column_count, Vec::new());
    t.delete_sign_idx = idx("delete_sign_idx", s.delete_sign_idx)?;
    t.sequence_col_idx = idx("sequence_col_idx", s.sequence_col_idx)?;
    t.version_col_idx = idx("version_col_idx", s.version_col_idx)?;
    t.columns = columns;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use doris_thrift::descriptors::TColumn;
    use doris_thrift::types::{TColumnType, TStorageType};

    #[test]
    fn complex_columns_keep_their_children() {
        let t = |t| TColumnType::new(t, None, None, None, None, None);
        let child = |name: &str, ty, children: Option<Vec<Box<TColumn>>>| {
            Box::new(TColumn::new(name.to_string(), t(ty), None, None, true, None, None, None, children, None, None))
        };
        // MAP<VARCHAR, ARRAY<INT>> as upstream's Column.toThrift sends it.
        let arr = child("value", TPrimitiveType::ARRAY, Some(vec![child("item", TPrimitiveType::INT, None)]));
        let m = TColumn::new(
            "m".to_string(),
            t(TPrimitiveType::MAP),
            TAggregationType::NONE,
            false,
            true,
            None, None, None,
            Some(vec![child("key", TPrimitiveType::VARCHAR, None), arr]),
            3, None);
        let k = TColumn::new("k".to_string(), t(TPrimitiveType::INT), None, true, false, None, None, None, None, None, None);
        let s = TTabletSchema::new(1, 7, TKeysType::DUP_KEYS, TStorageType::COLUMN, vec![k, m.clone()], None, None, None, None, None, None, None);
        let got = from_thrift(&s).unwrap();
        let m_meta = &got.columns[1];
        assert_eq!((m_meta.type_name.as_str(), m_meta.unique_id, m_meta.children.len()), ("MAP", 3, 2));
        assert_eq!(m_meta.children[1].type_name, "ARRAY");
        assert_eq!(m_meta.children[1].children[0].name, "item");
        // Stored as JSON; scalar columns keep no `children` member.
        let json = serde_json::to_string(&got).unwrap();
        assert_eq!(json.matches("\"children\"").count(), 2, "{json}");
        assert_eq!(serde_json::from_str::<TabletSchema>(&json).unwrap(), got);
        let mut bad = m;
        bad.children_column = None;
        let s = TTabletSchema::new(1, 7, TKeysType::DUP_KEYS, TStorageType::COLUMN, vec![bad], None, None, None, None, None, None, None);
        assert!(matches!(from_thrift(&s), Err(BeError::InvalidArgument(_))));
    }

    #[test]
    fn storage_schema_uses_upstream_names() {
        let col = |name: &str, t, key, agg| {
            TColumn::new(name.to_string(), TColumnType::new(t, None, None, None, None, None), agg, key, None, None, None, None, None, -1, None)
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
            ], None, None, None, None, None, None, None);
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
