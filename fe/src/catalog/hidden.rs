//! Upstream's hidden columns of a UNIQUE KEY table, and the CREATE TABLE properties that
//! ask for them: the delete sign (batch delete, on by default), the version column (on by
//! default) and the sequence column (`function_column.sequence_col` maps it to a value
//! column, `function_column.sequence_type` gives it a type of its own). They are part of
//! the tablets' schema but nothing user-facing shows them unless `show_hidden_columns`.

use std::collections::BTreeMap;

use doris_thrift::agent_service::TTabletSchema;
use doris_thrift::descriptors::TColumn;
use doris_thrift::types::{TAggregationType, TStorageType};
use thrift::OrderedFloat;

use super::table::{Column, OlapTable};
use super::types::{AggType, DataType, KeysType};
use super::CatalogError;

pub const DELETE_SIGN: &str = "__DORIS_DELETE_SIGN__";
pub const SEQUENCE_COL: &str = "__DORIS_SEQUENCE_COL__";
pub const VERSION_COL: &str = "__DORIS_VERSION_COL__";

pub const MERGE_ON_WRITE: &str = "enable_unique_key_merge_on_write";
pub const SEQUENCE_COL_PROP: &str = "function_column.sequence_col";
pub const SEQUENCE_TYPE_PROP: &str = "function_column.sequence_type";
/// Accepted and stored (SHOW CREATE TABLE prints it); sent as the columns'
/// `is_bloom_filter_column`.
pub const BLOOM_FILTER_COLUMNS: &str = "bloom_filter_columns";
pub const BLOOM_FILTER_FPP: &str = "bloom_filter_fpp";

/// Whether a column name is one of upstream's hidden ones (`__DORIS_..._`).
pub fn is_hidden_name(name: &str) -> bool {
    name.starts_with("__DORIS_") && name.ends_with("__")
}

/// A user's column may not take a hidden column's prefix.
pub fn check_column_name(name: &str) -> Result<(), CatalogError> {
    if name.starts_with("__DORIS_") {
        return Err(invalid(format!(
            "Incorrect column name '{name}'. Column name must not start with '__DORIS_' (upstream's hidden columns)"
        )));
    }
    Ok(())
}

/// The fe.conf switches upstream reads when it makes a UNIQUE KEY table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HiddenDefaults {
    /// `enable_batch_delete_by_default`: a delete sign column.
    pub batch_delete: bool,
    /// `enable_hidden_version_column_by_default`: a version column.
    pub version_column: bool,
}

impl Default for HiddenDefaults {
    /// Upstream's defaults: both on.
    fn default() -> Self {
        HiddenDefaults { batch_delete: true, version_column: true }
    }
}

fn invalid(msg: impl Into<String>) -> CatalogError {
    CatalogError::Invalid(msg.into())
}

/// Whether the table is merge-on-write, from its (normalised) properties: given on a
/// UNIQUE table only, `true` when a UNIQUE table leaves it out (upstream's default since
/// 2.1). The property is written back so the table keeps and shows it.
pub fn merge_on_write(props: &mut BTreeMap<String, String>, keys: KeysType) -> Result<bool, CatalogError> {
    let given = props.get(MERGE_ON_WRITE).cloned();
    if given.is_some() && keys != KeysType::Unique {
        return Err(invalid(format!("{MERGE_ON_WRITE} property only support unique key table")));
    }
    if keys != KeysType::Unique {
        return Ok(false);
    }
    let on = match given.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(invalid(format!("{MERGE_ON_WRITE} must be `true` or `false`"))),
    };
    props.insert(MERGE_ON_WRITE.into(), on.to_string());
    Ok(on)
}

/// Integer and date types: what a sequence column may be.
fn sequence_type_ok(t: &DataType) -> bool {
    matches!(
        t,
        DataType::TinyInt
            | DataType::SmallInt
            | DataType::Int
            | DataType::BigInt
            | DataType::LargeInt
            | DataType::Date
            | DataType::DateTime { .. }
    )
}

/// The sequence column the properties ask for: its type and the value column it maps to
/// (None for `sequence_type`). Upstream's checks and texts; a mapped column's name is
/// written back as the table spells it.
pub fn sequence(
    props: &mut BTreeMap<String, String>,
    keys: KeysType,
    columns: &[Column],
) -> Result<Option<(DataType, Option<String>)>, CatalogError> {
    let map_col = props.get(SEQUENCE_COL_PROP).cloned();
    let type_text = props.get(SEQUENCE_TYPE_PROP).cloned();
    if (map_col.is_some() || type_text.is_some()) && keys != KeysType::Unique {
        return Err(invalid("sequence column only support UNIQUE_KEYS"));
    }
    let mapped = match &map_col {
        None => None,
        Some(name) => {
            let c = columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| invalid(format!("The specified sequence column[{name}] not exists")))?;
            if !sequence_type_ok(&c.data_type) {
                return Err(invalid("Sequence type only support integer types and date types"));
            }
            props.insert(SEQUENCE_COL_PROP.into(), c.name.clone());
            Some((c.data_type.clone(), Some(c.name.clone())))
        }
    };
    match (mapped, type_text) {
        (Some(_), Some(_)) => Err(invalid("The sequence_col and sequence_type cannot be set at the same time")),
        (Some(m), None) => Ok(Some(m)),
        (None, Some(text)) => {
            let t = DataType::parse(&text)
                .ok()
                .filter(sequence_type_ok)
                .ok_or_else(|| invalid("sequence type only support integer types and date types"))?;
            props.insert(SEQUENCE_TYPE_PROP.into(), text.to_ascii_lowercase());
            Ok(Some((t, None)))
        }
        (None, None) => Ok(None),
    }
}

/// `bloom_filter_columns`: each must be a column of the table (upstream: "Bloom filter
/// index column does not exist in table"), not a float, double, boolean or complex one.
pub fn bloom_filter_columns(props: &mut BTreeMap<String, String>, columns: &[Column]) -> Result<Vec<String>, CatalogError> {
    let Some(text) = props.get(BLOOM_FILTER_COLUMNS).cloned() else { return Ok(Vec::new()) };
    let mut out: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let c = columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
            invalid(format!("Bloom filter index column does not exist in table. invalid column: {name}"))
        })?;
        if matches!(c.data_type, DataType::Float | DataType::Double | DataType::Boolean) || c.data_type.is_complex() {
            return Err(invalid(format!("{} is not supported in bloom filter index. invalid column: {name}", c.data_type.upper_name())));
        }
        if out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            return Err(invalid(format!("Reduplicated bloom filter column: {name}")));
        }
        out.push(c.name.clone());
    }
    props.insert(BLOOM_FILTER_COLUMNS.into(), out.join(", "));
    if let Some(fpp) = props.get(BLOOM_FILTER_FPP) {
        match fpp.parse::<f64>() {
            Ok(f) if (0.0001..=0.05).contains(&f) => {}
            _ => return Err(invalid("Bloom filter fpp should in [0.0001, 0.05]")),
        }
    }
    Ok(out)
}

/// The hidden columns of a new table, in upstream's order (delete sign, version,
/// sequence), with unique ids from `next_unique_id` on. Their value columns aggregate
/// NONE on a merge-on-write table, REPLACE otherwise (the catalog keeps REPLACE, as for
/// the visible values of a UNIQUE table; the tablet schema says NONE when merge-on-write).
pub fn hidden_columns(
    keys: KeysType,
    defaults: HiddenDefaults,
    sequence: Option<&(DataType, Option<String>)>,
    next_unique_id: i32,
) -> Vec<Column> {
    if keys != KeysType::Unique {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut id = next_unique_id;
    let mut push = |name: &str, data_type: DataType, nullable: bool, default: Option<&str>, comment: &str| {
        out.push(Column {
            name: name.into(),
            data_type,
            is_key: false,
            nullable,
            aggregation: Some(AggType::Replace),
            default_value: default.map(str::to_string),
            comment: comment.into(),
            unique_id: id,
            auto_increment: None,
        });
        id += 1;
    };
    if defaults.batch_delete {
        push(DELETE_SIGN, DataType::TinyInt, false, Some("0"), "doris delete flag hidden column");
    }
    if defaults.version_column {
        push(VERSION_COL, DataType::BigInt, false, Some("0"), "doris version hidden column");
    }
    if let Some((t, _)) = sequence {
        push(SEQUENCE_COL, t.clone(), true, None, "sequence column hidden column");
    }
    out
}

/// Upstream's short key column count (`Env.calcShortKeyColumnCount`): leading key
/// columns, at most 3 and 36 bytes of index; a VARCHAR ends the prefix; a CHAR that
/// passes the 36 bytes still counts; a float, double, string or complex column ends it
/// before itself. At least 1 (a table whose first key cannot be a short key still gets 1,
/// where upstream refuses the CREATE; CREATE refuses those key types before this).
pub fn short_key_column_count(columns: &[Column]) -> i16 {
    const MAX_COLUMNS: usize = 3;
    const MAX_BYTES: i32 = 36;
    let mut count = 0i16;
    let mut bytes = 0i32;
    for c in columns.iter().filter(|c| c.is_key).take(MAX_COLUMNS) {
        bytes += index_size(&c.data_type);
        if bytes > MAX_BYTES {
            if matches!(c.data_type, DataType::Char(_) | DataType::Varchar(_)) {
                count += 1;
            }
            break;
        }
        if matches!(c.data_type, DataType::Float | DataType::Double | DataType::String | DataType::Json)
            || c.data_type.is_complex()
        {
            break;
        }
        count += 1;
        if matches!(c.data_type, DataType::Varchar(_)) {
            break;
        }
    }
    count.max(1)
}

/// Upstream's `getOlapColumnIndexSize`: bytes a key column takes in the short key index.
fn index_size(t: &DataType) -> i32 {
    match t {
        DataType::Boolean | DataType::TinyInt => 1,
        DataType::SmallInt => 2,
        DataType::Int | DataType::Float | DataType::Date => 4,
        DataType::BigInt | DataType::Double | DataType::DateTime { .. } => 8,
        DataType::LargeInt => 16,
        DataType::Decimal { precision, .. } => match precision {
            0..=9 => 4,
            10..=18 => 8,
            _ => 16,
        },
        DataType::Char(n) => *n as i32,
        DataType::Varchar(_) | DataType::String => 20,
        DataType::Json => 16,
        DataType::Array(_) | DataType::Map(..) | DataType::Struct(_) => 24,
    }
}

/// What the table's hidden columns and properties mean for its tablets and loads.
impl OlapTable {
    /// Every column of the tablets' schema: the visible ones, then the hidden ones.
    pub fn full_schema(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().chain(&self.hidden_columns)
    }

    pub fn hidden_column(&self, name: &str) -> Option<&Column> {
        self.hidden_columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Whether rows can be deleted by a load's delete sign (`merge_type` DELETE/MERGE).
    pub fn has_delete_sign(&self) -> bool {
        self.hidden_column(DELETE_SIGN).is_some()
    }

    pub fn has_sequence_col(&self) -> bool {
        self.hidden_column(SEQUENCE_COL).is_some()
    }

    /// The value column the sequence column takes its values from, if mapped.
    pub fn sequence_map_col(&self) -> Option<&str> {
        self.has_sequence_col().then(|| self.properties.get(SEQUENCE_COL_PROP).map(String::as_str)).flatten()
    }

    /// A UNIQUE table made merge-on-write (tables made before the property was kept are not).
    pub fn merge_on_write(&self) -> bool {
        self.keys_type == KeysType::Unique
            && self.properties.get(MERGE_ON_WRITE).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The `bloom_filter_columns` property as names.
    pub fn bloom_filter_columns(&self) -> Vec<&str> {
        self.properties
            .get(BLOOM_FILTER_COLUMNS)
            .map(|v| v.split(',').map(str::trim).filter(|n| !n.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Upstream's short key count (`short_key_column_count`).
    pub fn short_key_column_count(&self) -> i16 {
        short_key_column_count(&self.columns)
    }

    /// The tablets' schema as the Java FE's CreateReplicaTask fills it: every column,
    /// hidden ones last with their indexes; a merge-on-write table's value columns
    /// aggregate NONE; bloom filter columns marked, with the fpp.
    pub fn tablet_schema(&self) -> TTabletSchema {
        let mow = self.merge_on_write();
        let bloom = self.bloom_filter_columns();
        let columns: Vec<TColumn> = self
            .full_schema()
            .map(|c| {
                let mut t = c.to_thrift();
                if mow && !c.is_key {
                    t.aggregation_type = Some(TAggregationType::NONE);
                }
                if bloom.iter().any(|b| b.eq_ignore_ascii_case(&c.name)) {
                    t.is_bloom_filter_column = Some(true);
                }
                t
            })
            .collect();
        let idx = |name: &str| self.full_schema().position(|c| c.name == name).map_or(-1, |i| i as i32);
        let fpp = (!bloom.is_empty()).then(|| {
            let f = self.properties.get(BLOOM_FILTER_FPP).and_then(|v| v.parse().ok());
            // Upstream's default fpp.
            OrderedFloat(f.unwrap_or(0.05))
        });
        TTabletSchema::new(
            self.short_key_column_count(),
            self.schema_hash,
            self.keys_type.to_thrift(),
            TStorageType::COLUMN,
            columns,
            fpp,
            false,
            idx(DELETE_SIGN),
            idx(SEQUENCE_COL),
            false,
            idx(VERSION_COL),
            false,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, t: &str, key: bool) -> Column {
        Column {
            name: name.into(),
            data_type: DataType::parse(t).unwrap(),
            is_key: key,
            nullable: true,
            aggregation: None,
            default_value: None,
            comment: String::new(),
            unique_id: 0,
            auto_increment: None,
        }
    }

    #[test]
    fn short_keys_follow_upstreams_rule() {
        let n = |cols: &[(&str, bool)]| {
            let cols: Vec<Column> = cols.iter().enumerate().map(|(i, (t, k))| col(&format!("c{i}"), t, *k)).collect();
            short_key_column_count(&cols)
        };
        // At most 3 key columns.
        assert_eq!(n(&[("int", true), ("int", true), ("int", true), ("int", true)]), 3);
        // Only key columns count.
        assert_eq!(n(&[("int", true), ("int", false)]), 1);
        // A VARCHAR ends the prefix, itself included.
        assert_eq!(n(&[("varchar(10)", true), ("int", true), ("int", true)]), 1);
        assert_eq!(n(&[("int", true), ("varchar(10)", true), ("int", true)]), 2);
        // 36 bytes: LARGEINT(16) + LARGEINT(16) + INT(4) fits, + BIGINT(8) does not.
        assert_eq!(n(&[("largeint", true), ("largeint", true), ("int", true)]), 3);
        assert_eq!(n(&[("largeint", true), ("largeint", true), ("bigint", true)]), 2);
        // A CHAR crossing the limit is counted, an INT is not.
        assert_eq!(n(&[("bigint", true), ("char(40)", true)]), 2);
        // DATETIME 8 + DATE 4 + BIGINT 8.
        assert_eq!(n(&[("datetime", true), ("date", true), ("bigint", true)]), 3);
    }

    #[test]
    fn sequence_properties_and_refusals() {
        let cols = vec![col("k", "int", true), col("v", "varchar(8)", false), col("ts", "datetime", false)];
        let props = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let mut p = props(&[(SEQUENCE_COL_PROP, "TS")]);
        let got = sequence(&mut p, KeysType::Unique, &cols).unwrap().unwrap();
        assert_eq!(got, (DataType::DateTime { scale: 0 }, Some("ts".to_string())));
        assert_eq!(p[SEQUENCE_COL_PROP], "ts");
        let mut p = props(&[(SEQUENCE_TYPE_PROP, "BIGINT")]);
        assert_eq!(sequence(&mut p, KeysType::Unique, &cols).unwrap().unwrap(), (DataType::BigInt, None));
        assert_eq!(p[SEQUENCE_TYPE_PROP], "bigint");
        let refused = |pairs: &[(&str, &str)], keys| sequence(&mut props(pairs), keys, &cols).unwrap_err().to_string();
        assert!(refused(&[(SEQUENCE_TYPE_PROP, "int")], KeysType::Duplicate).contains("sequence column only support UNIQUE_KEYS"));
        assert!(refused(&[(SEQUENCE_COL_PROP, "nope")], KeysType::Unique).contains("The specified sequence column[nope] not exists"));
        assert!(refused(&[(SEQUENCE_COL_PROP, "v")], KeysType::Unique).contains("Sequence type only support integer types and date types"));
        assert!(refused(&[(SEQUENCE_TYPE_PROP, "double")], KeysType::Unique).contains("sequence type only support integer types and date types"));
        assert!(refused(&[(SEQUENCE_COL_PROP, "ts"), (SEQUENCE_TYPE_PROP, "int")], KeysType::Unique)
            .contains("The sequence_col and sequence_type cannot be set at the same time"));
        assert_eq!(sequence(&mut props(&[]), KeysType::Unique, &cols).unwrap(), None);
    }

    #[test]
    fn merge_on_write_defaults_and_refusals() {
        let mut p = BTreeMap::new();
        assert!(merge_on_write(&mut p, KeysType::Unique).unwrap());
        assert_eq!(p[MERGE_ON_WRITE], "true");
        let mut p = BTreeMap::from([(MERGE_ON_WRITE.to_string(), "FALSE".to_string())]);
        assert!(!merge_on_write(&mut p, KeysType::Unique).unwrap());
        assert_eq!(p[MERGE_ON_WRITE], "false");
        let mut p = BTreeMap::from([(MERGE_ON_WRITE.to_string(), "true".to_string())]);
        let e = merge_on_write(&mut p, KeysType::Duplicate).unwrap_err().to_string();
        assert!(e.contains("enable_unique_key_merge_on_write property only support unique key table"), "{e}");
        let mut p = BTreeMap::from([(MERGE_ON_WRITE.to_string(), "yes".to_string())]);
        assert!(merge_on_write(&mut p, KeysType::Unique).is_err());
        assert!(!merge_on_write(&mut BTreeMap::new(), KeysType::Aggregate).unwrap());
    }

    #[test]
    fn hidden_columns_in_upstreams_order() {
        let seq = (DataType::Int, None);
        let cols = hidden_columns(KeysType::Unique, HiddenDefaults::default(), Some(&seq), 3);
        let got: Vec<(&str, i32, bool)> = cols.iter().map(|c| (c.name.as_str(), c.unique_id, c.nullable)).collect();
        assert_eq!(got, vec![(DELETE_SIGN, 3, false), (VERSION_COL, 4, false), (SEQUENCE_COL, 5, true)]);
        assert_eq!(cols[0].data_type, DataType::TinyInt);
        assert_eq!(cols[0].default_value.as_deref(), Some("0"));
        let off = HiddenDefaults { batch_delete: false, version_column: false };
        assert!(hidden_columns(KeysType::Unique, off, None, 0).is_empty());
        assert!(hidden_columns(KeysType::Duplicate, HiddenDefaults::default(), None, 0).is_empty());
        assert!(is_hidden_name(DELETE_SIGN) && !is_hidden_name("k"));
    }

    #[test]
    fn bloom_filter_columns_checked() {
        let cols = vec![col("k", "int", true), col("v", "varchar(8)", false), col("d", "double", false)];
        let mut p = BTreeMap::from([(BLOOM_FILTER_COLUMNS.to_string(), "K, v".to_string())]);
        assert_eq!(bloom_filter_columns(&mut p, &cols).unwrap(), vec!["k", "v"]);
        assert_eq!(p[BLOOM_FILTER_COLUMNS], "k, v");
        let mut p = BTreeMap::from([(BLOOM_FILTER_COLUMNS.to_string(), "x".to_string())]);
        assert!(bloom_filter_columns(&mut p, &cols).unwrap_err().to_string().contains("does not exist"));
        let mut p = BTreeMap::from([(BLOOM_FILTER_COLUMNS.to_string(), "d".to_string())]);
        assert!(bloom_filter_columns(&mut p, &cols).is_err());
    }
}
