//! A stream load's body, as the BE reads it: the request's headers (`LoadOptions`), the
//! hidden-column fill a UNIQUE table gets, the body parsed in its format with column
//! expressions and `where` ([`doris_be::load::body`]), then every row routed to its
//! partition and bucket. Two fixed tables: one of many types with RANGE partitions, one
//! UNIQUE with the hidden columns and a sequence column mapped to a value column.

use std::sync::OnceLock;

use doris_be::load::body::{self, BodySpec};
use doris_be::load::hidden;
use doris_be::load::options::LoadOptions;
use doris_be::load::plan::{LoadPlan, Router};

use crate::http::headers;

fn plans() -> &'static [LoadPlan; 2] {
    static PLANS: OnceLock<[LoadPlan; 2]> = OnceLock::new();
    PLANS.get_or_init(|| {
        let parse = |v: serde_json::Value| serde_json::from_value::<LoadPlan>(v).expect("fixed plan");
        let col = |name: &str, ty: &str, nullable: bool, id: i32| {
            serde_json::json!({"name": name, "type": ty, "nullable": nullable, "default_value": null, "unique_id": id})
        };
        let tablets = |base: i64, n: i64| {
            (0..n).map(|i| serde_json::json!({"id": base + i, "replicas": []})).collect::<Vec<_>>()
        };
        let wide = parse(serde_json::json!({
            "txn_id": 1, "db_id": 1, "table_id": 1, "keys_type": "DUP_KEYS",
            "columns": [
                col("k", "bigint", false, 0), col("d", "date", false, 1), col("dt", "datetime(3)", true, 2),
                col("v", "varchar(16)", true, 3), col("amt", "decimal(12,2)", true, 4), col("x", "double", true, 5),
                col("big", "largeint", true, 6), col("b", "boolean", true, 7), col("s", "string", true, 8),
                col("a", "array<int>", true, 9), col("m", "map<string,int>", true, 10),
                col("st", "struct<f1:int,f2:varchar(8)>", true, 11), col("j", "json", true, 12),
                {"name": "id", "type": "bigint", "nullable": false, "default_value": null, "unique_id": 13, "auto_increment": true},
                {"name": "c", "type": "char(4)", "nullable": false, "default_value": "ab", "unique_id": 14},
            ],
            "partition_kind": "RANGE", "partition_columns": ["d"], "distribution_columns": ["k", "v"],
            "partitions": [
                {"id": 10, "name": "p1", "range": [["0000-01-01"], ["2024-01-01"]], "list_values": [], "tablets": tablets(100, 3)},
                {"id": 11, "name": "p2", "range": [["2024-01-01"], ["9999-12-31"]], "list_values": [], "tablets": tablets(200, 2)},
            ],
        }));
        let hidden = |name: &str, ty: &str, id: i32| {
            serde_json::json!({"name": name, "type": ty, "nullable": false, "default_value": "0", "unique_id": id, "hidden": true})
        };
        let unique = parse(serde_json::json!({
            "txn_id": 2, "db_id": 1, "table_id": 2, "keys_type": "UNIQUE_KEYS", "merge_on_write": true,
            "sequence_map_col": "ver",
            "columns": [
                col("k", "int", false, 0), col("ver", "int", true, 1), col("v", "varchar(32)", true, 2),
                hidden("__DORIS_DELETE_SIGN__", "tinyint", 3), hidden("__DORIS_SEQUENCE_COL__", "int", 4),
                hidden("__DORIS_VERSION_COL__", "bigint", 5),
            ],
            "partition_kind": "LIST", "partition_columns": ["k"], "distribution_columns": [],
            "partitions": [
                {"id": 20, "name": "low", "range": null, "list_values": [["1"], ["2"], ["3"]], "tablets": tablets(300, 2)},
                {"id": 21, "name": "high", "range": null, "list_values": [["4"], ["5"]], "tablets": tablets(400, 1)},
            ],
        }));
        // A fixed plan that did not route would turn every input away unseen.
        for p in [&wide, &unique] {
            Router::new(p).expect("fixed plan routes");
        }
        [wide, unique]
    })
}

/// Input: a mode byte (bit 0 picks the table), `name: value` header lines, an empty line,
/// then the body.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let Ok(opts) = LoadOptions::from_headers(&headers(head)) else { return };
    let plan = &plans()[usize::from(mode & 1)];
    let Ok(mut router) = Router::new(plan) else { return };
    let Ok(fill) = hidden::plan(plan, &opts, "t") else { return };
    let derived: Vec<(String, String)> = fill.derived.iter().cloned().chain(opts.derived.iter().cloned()).collect();
    let spec = BodySpec { table: &router.columns, columns: &fill.file_columns, derived: &derived, filter: opts.filter.as_deref() };
    let Ok(parsed) = body::parse(body, &opts.format, &spec) else { return };
    let mut rows = parsed.rows;
    fill.finish(&mut rows);
    let wanted = router.auto_increment_wanted(&rows);
    router.fill_auto_increment(&mut rows, 1);
    assert!(wanted <= rows.len());
    for (ordinal, row) in rows.iter().enumerate() {
        if let Some(p) = router.partition_of(row) {
            let _ = router.bucket_of(p, row, ordinal as u64);
        }
    }
}
