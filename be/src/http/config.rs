//! `GET /api/show_config[?conf_item=key]`: be.conf as upstream BEs list it, a JSON array
//! of `[name, type, value, mutable]` rows (type as C++ spells it, booleans `true`/`false`,
//! nothing changeable at run time). With `conf_item`, only that key's row; none when the
//! key is not ours. The CCR syncer reads `enable_feature_binlog` here at job start.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;

use super::router::HttpState;
use crate::config::BeConfig;

pub async fn show(State(state): State<Arc<HttpState>>, Query(q): Query<HashMap<String, String>>) -> Json<Vec<[String; 4]>> {
    Json(rows(&state.ctx.config, q.get("conf_item").map(String::as_str)))
}

/// The rows of `config`, every key or only `item`.
pub fn rows(config: &BeConfig, item: Option<&str>) -> Vec<[String; 4]> {
    config
        .shown()
        .into_iter()
        .filter(|s| item.is_none_or(|i| s.key.name == i))
        .filter_map(|s| {
            let value = s.value?;
            Some([s.key.name.to_string(), s.cpp_type.to_string(), value, "false".to_string()])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_or_all_in_upstreams_shape() {
        let mut c = BeConfig::default();
        assert_eq!(
            rows(&c, Some("enable_feature_binlog")),
            [["enable_feature_binlog".to_string(), "bool".into(), "false".into(), "false".into()]]
        );
        c.set("enable_feature_binlog", "true").unwrap();
        assert_eq!(rows(&c, Some("enable_feature_binlog"))[0][2], "true");
        assert_eq!(rows(&c, Some("be_port"))[0], ["be_port".to_string(), "int32_t".into(), "9060".into(), "false".into()]);
        assert_eq!(rows(&c, Some("storage_root_path"))[0][1], "std::string");
        assert!(rows(&c, Some("no_such_key")).is_empty());
        assert_eq!(rows(&c, None).len(), crate::config::KEYS.len());
    }
}
