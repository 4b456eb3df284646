//! `[ADMIN] SHOW FRONTEND CONFIG [LIKE 'p']`: the FE's effective fe.conf values with
//! upstream's columns (Key, Value, Type, IsMutable, MasterOnly, Comment), sorted by key.
//! Only keys doris-rs reads are listed (a key upstream has and we do not matches nothing
//! rather than reporting a value we do not honour); passwords never are.

use super::format::like;
use crate::config::FeConfig;
use crate::mysql::{QueryOutput, Value};

pub const CONFIG_TITLES: &[&str] = &["Key", "Value", "Type", "IsMutable", "MasterOnly", "Comment"];

pub fn show_frontend_config(config: &FeConfig, pattern: Option<&str>) -> QueryOutput {
    let mut rows: Vec<(String, Vec<Value>)> = config
        .shown()
        .into_iter()
        .filter(|s| pattern.is_none_or(|p| like(s.key.name, p)))
        .filter_map(|s| {
            let k = s.key;
            // Nothing is changeable at run time: ADMIN SET FRONTEND CONFIG is not supported.
            let row =
                vec![k.name.into(), s.value?.into(), s.java_type.into(), "false".into(), "false".into(), k.doc.into()];
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
        let QueryOutput::Rows { rows, .. } = show_frontend_config(&c, None) else { panic!() };
        let shown = rows.len();
        assert_eq!(shown, crate::config::KEYS.iter().filter(|k| !k.secret).count());
        let QueryOutput::Rows { rows, .. } = show_frontend_config(&c, Some("%PASSWORD%")) else { panic!() };
        assert!(rows.is_empty());
        let QueryOutput::Rows { rows, .. } = show_frontend_config(&c, Some("%_port")) else { panic!() };
        let keys: Vec<_> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(keys, vec![Value::from("http_port"), "query_port".into(), "rpc_port".into()]);
    }
}

#[cfg(test)]
mod binlog_tests {
    use super::*;

    /// What the CCR syncer checks at job start: one row, `Value` parses as a boolean.
    #[test]
    fn enable_feature_binlog_is_shown_as_the_syncer_reads_it() {
        let mut c = FeConfig::default();
        let row = |c: &FeConfig| {
            let QueryOutput::Rows { rows, .. } = show_frontend_config(c, Some("%enable_feature_binlog%")) else {
                panic!()
            };
            assert_eq!(rows.len(), 1);
            rows[0].clone()
        };
        assert_eq!(row(&c)[1], Value::from("false"));
        assert_eq!(row(&c)[2], Value::from("boolean"));
        c.set("enable_feature_binlog", "true").unwrap();
        assert_eq!(row(&c)[0], Value::from("enable_feature_binlog"));
        assert_eq!(row(&c)[1], Value::from("true"));
    }
}
