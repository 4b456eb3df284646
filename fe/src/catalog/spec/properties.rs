//! Table properties of CREATE TABLE (keys lower-cased, values trimmed): the replication
//! number, storage medium and policy they set, and the bucket count rule.

use std::collections::BTreeMap;

use super::invalid;
use crate::catalog::types::StorageMedium;
use crate::catalog::CatalogError;

const DEFAULT_BUCKETS: u32 = 10;

/// What the table keeps of its properties.
pub(super) struct TableProperties {
    /// As stored and shown: `replication_allocation` folded into `replication_num`.
    pub properties: BTreeMap<String, String>,
    pub replication_num: u16,
    pub storage_medium: StorageMedium,
    /// Empty: none.
    pub storage_policy: String,
}

pub(super) fn table_properties(given: &BTreeMap<String, String>) -> Result<TableProperties, CatalogError> {
    let mut properties: BTreeMap<String, String> =
        given.iter().map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let replication_num = replication_num(&properties)?;
    properties.remove("replication_allocation");
    properties.insert("replication_num".into(), replication_num.to_string());
    let storage_medium = match properties.get("storage_medium") {
        Some(m) => StorageMedium::parse(m).ok_or_else(|| invalid(format!("Invalid storage medium: {m}")))?,
        None => StorageMedium::Hdd,
    };
    let storage_policy = properties.get("storage_policy").cloned().unwrap_or_default();
    crate::catalog::binlog::BinlogConfig::from_properties(&properties)?;
    Ok(TableProperties { properties, replication_num, storage_medium, storage_policy })
}

pub(super) fn check_buckets(b: Option<u32>) -> Result<u32, CatalogError> {
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

