//! The binlog settings of a database or table (upstream's `binlog.*` properties): whether
//! binlogs are kept for it and how long (seconds, bytes, count) before they are collected.
//! They live in the owner's property map as given; this reads, checks and prints them.

use std::collections::BTreeMap;

use super::CatalogError;

pub const BINLOG_ENABLE: &str = "binlog.enable";
pub const BINLOG_TTL_SECONDS: &str = "binlog.ttl_seconds";
pub const BINLOG_MAX_BYTES: &str = "binlog.max_bytes";
pub const BINLOG_MAX_HISTORY_NUMS: &str = "binlog.max_history_nums";

/// The keys, in the order upstream prints them.
pub const BINLOG_KEYS: [&str; 4] = [BINLOG_ENABLE, BINLOG_TTL_SECONDS, BINLOG_MAX_BYTES, BINLOG_MAX_HISTORY_NUMS];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinlogConfig {
    pub enable: bool,
    pub ttl_seconds: i64,
    pub max_bytes: i64,
    pub max_history_nums: i64,
}

/// Upstream's defaults: off, a day, no byte or count limit.
impl Default for BinlogConfig {
    fn default() -> Self {
        BinlogConfig { enable: false, ttl_seconds: 86_400, max_bytes: i64::MAX, max_history_nums: i64::MAX }
    }
}

/// Whether a property key is one of the binlog settings' (or claims to be).
pub fn is_binlog_key(key: &str) -> bool {
    key.starts_with("binlog.")
}

impl BinlogConfig {
    /// The settings of a property map: defaults overridden by its `binlog.*` keys. A value
    /// that does not parse, or a `binlog.*` key we do not know, is refused naming it.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, CatalogError> {
        let mut c = BinlogConfig::default();
        for (k, v) in props.iter().filter(|(k, _)| is_binlog_key(k)) {
            let int = || {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| CatalogError::Invalid(format!("Invalid {k} value: {v}, expect a long number")))
            };
            match k.as_str() {
                BINLOG_ENABLE => {
                    c.enable = match v.trim().to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(CatalogError::Invalid(format!("Invalid {k} value: {v}, expect true or false"))),
                    }
                }
                BINLOG_TTL_SECONDS => c.ttl_seconds = int()?,
                BINLOG_MAX_BYTES => c.max_bytes = int()?,
                BINLOG_MAX_HISTORY_NUMS => c.max_history_nums = int()?,
                _ => return Err(CatalogError::Invalid(format!("Unknown binlog property: {k}"))),
            }
        }
        Ok(c)
    }

    /// The four settings as properties, in upstream's order.
    pub fn to_properties(&self) -> [(&'static str, String); 4] {
        [
            (BINLOG_ENABLE, self.enable.to_string()),
            (BINLOG_TTL_SECONDS, self.ttl_seconds.to_string()),
            (BINLOG_MAX_BYTES, self.max_bytes.to_string()),
            (BINLOG_MAX_HISTORY_NUMS, self.max_history_nums.to_string()),
        ]
    }
}

/// `props` with `changes` applied, as ALTER ... SET does: only binlog settings may be
/// changed, and the result must hold valid ones. Keys are lower-cased like CREATE's.
pub fn apply_binlog_changes(
    props: &BTreeMap<String, String>,
    changes: &[(String, String)],
) -> Result<BTreeMap<String, String>, CatalogError> {
    let mut out = props.clone();
    for (k, v) in changes {
        let k = k.trim().to_ascii_lowercase();
        if !is_binlog_key(&k) {
            return Err(CatalogError::Invalid(format!(
                "Unsupported property for ALTER ... SET in doris-rs: {k} (only binlog.* can be changed)"
            )));
        }
        out.insert(k, v.trim().to_string());
    }
    BinlogConfig::from_properties(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(BinlogConfig::from_properties(&props(&[("replication_num", "1")])).unwrap(), BinlogConfig::default());
        let c = BinlogConfig::from_properties(&props(&[("binlog.enable", "TRUE"), ("binlog.ttl_seconds", "3600")])).unwrap();
        assert!(c.enable);
        assert_eq!((c.ttl_seconds, c.max_bytes, c.max_history_nums), (3600, i64::MAX, i64::MAX));
        assert_eq!(
            c.to_properties().map(|(k, _)| k),
            ["binlog.enable", "binlog.ttl_seconds", "binlog.max_bytes", "binlog.max_history_nums"]
        );
        assert_eq!(c.to_properties()[2].1, "9223372036854775807");
    }

    #[test]
    fn bad_values_and_unknown_keys_are_named() {
        let e = BinlogConfig::from_properties(&props(&[("binlog.enable", "yes")])).unwrap_err();
        assert!(e.to_string().contains("binlog.enable"), "{e}");
        let e = BinlogConfig::from_properties(&props(&[("binlog.max_bytes", "1k")])).unwrap_err();
        assert!(e.to_string().contains("binlog.max_bytes"), "{e}");
        let e = BinlogConfig::from_properties(&props(&[("binlog.nope", "1")])).unwrap_err();
        assert!(e.to_string().contains("binlog.nope"), "{e}");
    }

    #[test]
    fn alter_changes_only_binlog_settings() {
        let base = props(&[("replication_num", "1")]);
        let out = apply_binlog_changes(&base, &[("Binlog.Enable".into(), "true".into())]).unwrap();
        assert_eq!(out.get("binlog.enable").map(String::as_str), Some("true"));
        assert!(apply_binlog_changes(&base, &[("replication_num".into(), "3".into())]).is_err());
        assert!(apply_binlog_changes(&base, &[("binlog.ttl_seconds".into(), "x".into())]).is_err());
    }
}
