//! The write plan of one load, as the FE's `GET /api/_internal/load_plan` answers it:
//! schema, partitions with their values, distribution and every tablet's replicas with
//! their BE's http address. Routing a row to its tablet happens here.

use std::collections::HashMap;

use doris_thrift::types::TTabletCommitInfo;
use serde::{Deserialize, Serialize};

use super::csv::LoadColumn;
use super::hash;
use super::types::{Cell, ColKind};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanColumn {
    pub name: String,
    /// The SQL type text (`int`, `varchar(32)`, `decimal(10,2)`, ...).
    #[serde(rename = "type")]
    pub type_: String,
    pub nullable: bool,
    pub default_value: Option<String>,
    /// An AUTO_INCREMENT column: values a load leaves out (or NULL) are filled.
    #[serde(default)]
    pub auto_increment: bool,
    #[serde(default)]
    pub unique_id: i32,
    /// One of upstream's hidden columns, after the visible ones ([`super::hidden`]).
    #[serde(default)]
    pub hidden: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanReplica {
    pub backend_id: i64,
    pub host: String,
    pub http_port: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanTablet {
    pub id: i64,
    /// The replicas to write (the FE leaves out those on dead BEs and lagging ones).
    pub replicas: Vec<PlanReplica>,
    /// How many must be written for the load to commit (upstream's
    /// `loadRequiredReplicaNum`); 0 (an FE that does not say): all of them.
    #[serde(default)]
    pub load_required_replica_num: usize,
}

impl PlanTablet {
    pub fn required(&self) -> usize {
        match self.load_required_replica_num {
            0 => self.replicas.len(),
            n => n.min(self.replicas.len()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanPartition {
    pub id: i64,
    pub name: String,
    /// RANGE: [lower, upper) keys, one per partition column.
    pub range: Option<(Vec<String>, Vec<String>)>,
    /// LIST: the value tuples.
    pub list_values: Vec<Vec<String>>,
    /// Tablets in bucket order.
    pub tablets: Vec<PlanTablet>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadPlan {
    pub txn_id: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub columns: Vec<PlanColumn>,
    /// Upstream's KeysType name (`UNIQUE_KEYS`, ...); empty from an FE that sends none.
    #[serde(default)]
    pub keys_type: String,
    /// The value column a UNIQUE table's sequence column takes its values from.
    #[serde(default)]
    pub sequence_map_col: Option<String>,
    #[serde(default)]
    pub merge_on_write: bool,
    /// "UNPARTITIONED", "RANGE" or "LIST".
    pub partition_kind: String,
    pub partition_columns: Vec<String>,
    /// Empty for RANDOM distribution.
    pub distribution_columns: Vec<String>,
    pub partitions: Vec<PlanPartition>,
}

enum Bounds {
    All,
    Range(Vec<Cell>, Vec<Cell>),
    List(Vec<Vec<Cell>>),
}

/// A plan made ready for routing rows.
pub struct Router {
    pub columns: Vec<LoadColumn>,
    /// The AUTO_INCREMENT column: (index, unique id). The parsers see it nullable (a
    /// missing value is NULL) until [`Router::fill_auto_increment`] fills it.
    pub auto_increment: Option<(usize, i32)>,
    part_idx: Vec<usize>,
    dist_idx: Vec<(usize, ColKind)>,
    bounds: Vec<Bounds>,
    buckets: Vec<u32>,
}

fn col_index(cols: &[LoadColumn], name: &str) -> Result<usize, String> {
    cols.iter().position(|c| c.name.eq_ignore_ascii_case(name)).ok_or_else(|| format!("unknown column {name} in the plan"))
}

fn tuple_cmp(a: &[&Cell], b: &[Cell]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = x.cmp_same(y);
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

impl Router {
    pub fn new(plan: &LoadPlan) -> Result<Router, String> {
        let columns = plan
            .columns
            .iter()
            .map(|c| {
                Ok(LoadColumn {
                    name: c.name.clone(),
                    kind: ColKind::parse(&c.type_)?,
                    nullable: c.nullable || c.auto_increment,
                    default_value: c.default_value.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let part_idx = plan.partition_columns.iter().map(|n| col_index(&columns, n)).collect::<Result<Vec<_>, _>>()?;
        let dist_idx = plan
            .distribution_columns
            .iter()
            .map(|n| col_index(&columns, n).map(|i| (i, columns[i].kind)))
            .collect::<Result<Vec<_>, _>>()?;
        let parse_keys = |keys: &[String]| -> Result<Vec<Cell>, String> {
            keys.iter()
                .zip(&part_idx)
                .map(|(k, i)| columns[*i].kind.parse_text(k).or_else(|_| Ok(Cell::Str(k.clone()))))
                .collect()
        };
        let mut bounds = Vec::new();
        for p in &plan.partitions {
            bounds.push(match plan.partition_kind.as_str() {
                "RANGE" => {
                    let (lo, hi) = p.range.clone().ok_or_else(|| format!("partition {} has no range", p.name))?;
                    Bounds::Range(parse_keys(&lo)?, parse_keys(&hi)?)
                }
                "LIST" => Bounds::List(p.list_values.iter().map(|v| parse_keys(v)).collect::<Result<_, _>>()?),
                _ => Bounds::All,
            });
        }
        let buckets = plan.partitions.iter().map(|p| p.tablets.len() as u32).collect();
        let auto_increment = plan.columns.iter().position(|c| c.auto_increment).map(|i| (i, plan.columns[i].unique_id));
        Ok(Router { columns, auto_increment, part_idx, dist_idx, bounds, buckets })
    }

    /// How many rows need an AUTO_INCREMENT value (theirs is NULL).
    pub fn auto_increment_wanted(&self, rows: &[Vec<Cell>]) -> usize {
        self.auto_increment.map_or(0, |(i, _)| rows.iter().filter(|r| matches!(r[i], Cell::Null)).count())
    }

    /// Give the rows whose AUTO_INCREMENT value is NULL `start`, `start + 1`, ... in row
    /// order, and make the column NOT NULL again for the segments.
    pub fn fill_auto_increment(&mut self, rows: &mut [Vec<Cell>], start: i64) {
        let Some((i, _)) = self.auto_increment else { return };
        let mut next = start;
        for r in rows.iter_mut().filter(|r| matches!(r[i], Cell::Null)) {
            r[i] = Cell::Int(next);
            next += 1;
        }
        self.columns[i].nullable = false;
    }

    /// The partition (index in the plan) holding a row, if any.
    pub fn partition_of(&self, row: &[Cell]) -> Option<usize> {
        let key: Vec<&Cell> = self.part_idx.iter().map(|i| &row[*i]).collect();
        self.bounds.iter().position(|b| match b {
            Bounds::All => true,
            Bounds::Range(lo, hi) => {
                tuple_cmp(&key, lo) != std::cmp::Ordering::Less && tuple_cmp(&key, hi) == std::cmp::Ordering::Less
            }
            Bounds::List(values) => values.iter().any(|v| tuple_cmp(&key, v) == std::cmp::Ordering::Equal),
        })
    }

    /// The bucket (tablet index) of a row in partition `p`.
    pub fn bucket_of(&self, p: usize, row: &[Cell], ordinal: u64) -> usize {
        hash::bucket_of(row, &self.dist_idx, self.buckets[p], ordinal)
    }
}

/// The message of an FE's refusal (`{"status": "FAILED", "msg": ...}`, e.g. upstream's
/// "tablet N alive replica num ..."), or the body as text.
pub fn fe_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("msg").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

/// The outcome of a load's replica writes (`(tablet id, backend id, result)`): the commit
/// infos of the replicas written, and the replicas that failed, when each tablet has at
/// least its `required` replicas written (upstream's sink drops failed replicas as long as
/// a quorum of each tablet succeeded); else the first tablet short of it, with its errors.
pub fn quorum_written(
    results: Vec<(i64, i64, Result<TTabletCommitInfo, String>)>,
    required: &HashMap<i64, usize>,
) -> Result<(Vec<TTabletCommitInfo>, Vec<(i64, i64)>), String> {
    let mut ok: Vec<TTabletCommitInfo> = Vec::new();
    let mut failed: Vec<(i64, i64)> = Vec::new();
    let mut errors: HashMap<i64, Vec<String>> = HashMap::new();
    let mut written: HashMap<i64, usize> = HashMap::new();
    for (tablet_id, backend_id, r) in results {
        match r {
            Ok(c) => {
                *written.entry(tablet_id).or_default() += 1;
                ok.push(c);
            }
            Err(e) => {
                failed.push((tablet_id, backend_id));
                errors.entry(tablet_id).or_default().push(e);
            }
        }
    }
    let mut short: Vec<(i64, usize, usize)> = required
        .iter()
        .map(|(t, n)| (*t, written.get(t).copied().unwrap_or(0), *n))
        .filter(|(_, have, n)| have < n)
        .collect();
    short.sort_unstable();
    if let Some((tablet_id, have, n)) = short.first() {
        let why = errors.get(tablet_id).map(|e| e.join("; ")).unwrap_or_default();
        return Err(format!(
            "tablet {tablet_id}: {have} replica(s) written < load required replica num {n}: {why}"
        ));
    }
    ok.sort_by_key(|c| (c.tablet_id, c.backend_id));
    failed.sort_unstable();
    Ok((ok, failed))
}

#[cfg(test)]
mod quorum_tests {
    use super::*;

    fn ok(t: i64, b: i64) -> (i64, i64, Result<TTabletCommitInfo, String>) {
        (t, b, Ok(TTabletCommitInfo::new(t, b, None)))
    }

    fn err(t: i64, b: i64) -> (i64, i64, Result<TTabletCommitInfo, String>) {
        (t, b, Err(format!("writing tablet {t} on backend {b}: error sending request")))
    }

    #[test]
    fn a_failed_replica_is_dropped_while_each_tablet_has_a_quorum() {
        let required: HashMap<i64, usize> = [(1, 2), (2, 2)].into_iter().collect();
        let (infos, failed) = quorum_written(vec![ok(1, 10), ok(1, 11), err(1, 12), ok(2, 10), ok(2, 11), ok(2, 12)], &required).unwrap();
        let got: Vec<(i64, i64)> = infos.iter().map(|c| (c.tablet_id, c.backend_id)).collect();
        assert_eq!(got, vec![(1, 10), (1, 11), (2, 10), (2, 11), (2, 12)]);
        assert_eq!(failed, vec![(1, 12)]);
    }

    #[test]
    fn a_tablet_short_of_its_quorum_fails_the_load_with_its_errors() {
        let required: HashMap<i64, usize> = [(1, 2), (2, 2)].into_iter().collect();
        let e = quorum_written(vec![ok(1, 10), ok(1, 11), ok(2, 10), err(2, 11), err(2, 12)], &required).unwrap_err();
        assert!(e.starts_with("tablet 2: 1 replica(s) written < load required replica num 2: writing tablet 2 on backend 1"), "{e}");
    }
}
