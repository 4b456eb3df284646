//! `[ADMIN] SHOW FRONTEND CONFIG [LIKE 'p']`: the FE's effective fe.conf values with
//! upstream's columns (Key, Value, Type, IsMutable, MasterOnly, Comment), sorted by key.
//! Only keys doris-rs reads are listed: a key upstream has and we do not (for example
//! `enable_feature_binlog`) matches nothing rather than reporting a value we do not honour.

use super::format::like;
use crate::config::{FeConfig, KEYS};
use crate::mysql::{QueryOutput, Value};

pub const CONFIG_TITLES: &[&str] = &["Key", "Value", "Type", "IsMutable", "MasterOnly", "Comment"];

/// The current value of `key` and its type as upstream spells Java field types; `None` for
/// keys never shown (passwords) and for keys this function does not know.
fn value_of(c: &FeConfig, key: &str) -> Option<(String, &'static str)> {
    if SECRET_KEYS.contains(&key) {
        return None;
    }
    Some(match key {
        "rpc_port" => (c.rpc_port.to_string(), "int"),
        "query_port" => (c.query_port.to_string(), "int"),
        "http_port" => (c.http_port.to_string(), "int"),
        "meta_dir" => (c.meta_dir.display().to_string(), "String"),
        "priority_networks" => (c.priority_networks.clone(), "String"),
        "cluster_id" => (c.cluster_id.map(|i| i.to_string()).unwrap_or_default(), "int"),
        "heartbeat_interval_second" => (c.heartbeat_interval_second.to_string(), "double"),
        "max_backend_down_time_second" => (c.max_backend_down_time_second.to_string(), "long"),
        "max_create_table_timeout_second" => (c.max_create_table_timeout_second.to_string(), "long"),
        "backup_job_default_timeout_ms" => (c.backup_job_default_timeout_ms.to_string(), "long"),
        "local_snapshot_ttl_second" => (c.local_snapshot_ttl_second.to_string(), "long"),
        "max_backup_restore_job_num_per_db" => (c.max_backup_restore_job_num_per_db.to_string(), "int"),
        "max_backup_tablets_per_job" => (c.max_backup_tablets_per_job.to_string(), "int"),
        "enable_table_level_backup_concurrency" => {
            (c.enable_table_level_backup_concurrency.to_string(), "boolean")
        }
        "max_backup_restore_concurrent_num_per_db" => {
            (c.max_backup_restore_concurrent_num_per_db.to_string(), "int")
        }
        "backup_pending_job_timeout_ms" => (c.backup_pending_job_timeout_ms.to_string(), "long"),
        "thrift_max_message_size" => (c.thrift_max_message_size.to_string(), "long"),
        _ => return None,
    })
}

/// Keys whose values never leave the process.
const SECRET_KEYS: &[&str] = &["root_password", "admin_password"];

pub fn show_frontend_config(config: &FeConfig, pattern: Option<&str>) -> QueryOutput {
    let mut rows: Vec<(String, Vec<Value>)> = KEYS
        .iter()
        .filter(|k| pattern.is_none_or(|p| like(k.name, p)))
        .filter_map(|k| {
            let (value, ty) = value_of(config, k.name)?;
            // Nothing is changeable at run time: ADMIN SET FRONTEND CONFIG is not supported.
            let row = vec![k.name.into(), value.into(), ty.into(), "false".into(), "false".into(), k.doc.into()];
            Some((k.name.to_string(), row))
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    QueryOutput::text_rows(CONFIG_TITLES, rows.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_but_the_secrets_is_shown() {
        let c = FeConfig::default();
        for k in KEYS {
            assert_eq!(value_of(&c, k.name).is_some(), !SECRET_KEYS.contains(&k.name), "{}", k.name);
        }
        let QueryOutput::Rows { rows, .. } = show_frontend_config(&c, Some("%PASSWORD%")) else { panic!() };
        assert!(rows.is_empty());
        let QueryOutput::Rows { rows, .. } = show_frontend_config(&c, Some("%_port")) else { panic!() };
        let keys: Vec<_> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(keys, vec![Value::from("http_port"), "query_port".into(), "rpc_port".into()]);
    }
}
