//! Quorum bookkeeping of a publish: which replicas a committed transaction must publish on,
//! which backends still have to be asked, what a backend's PUBLISH_VERSION answer
//! published, and whether each tablet has a quorum (a majority of its replicas, upstream's
//! `loadRequiredReplicaNum`) at the new version. Pure functions over the catalog's tables,
//! so the rules are tested without servers.

use std::collections::BTreeSet;

use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::status::TStatusCode;

use super::commit::load_required_replica_num;
use super::txn::TxnRecord;
use crate::catalog::OlapTable;

/// One tablet a publish makes a version of visible.
#[derive(Debug, Clone, PartialEq)]
pub struct TabletTarget {
    pub partition_id: i64,
    pub version: i64,
    pub tablet_id: i64,
    /// Backends of its replicas.
    pub backends: Vec<i64>,
    /// Replicas that must have published before the version is visible.
    pub required: usize,
}

/// The tablets of the partitions `rec` gives versions to, in `tables`. Replicas on
/// backends `exists` says are gone from the cluster never publish: they are left out, and
/// the quorum is capped at the replicas left so a dropped BE cannot block a load for ever.
pub fn targets(tables: &[std::sync::Arc<OlapTable>], rec: &TxnRecord, exists: impl Fn(i64) -> bool) -> Vec<TabletTarget> {
    let mut out = Vec::new();
    for t in tables {
        for p in t.loadable_partitions() {
            let Some(&(_, version)) = rec.partition_versions.iter().find(|(id, _)| *id == p.id) else { continue };
            for tb in &p.index.tablets {
                let backends: Vec<i64> = tb.replicas.iter().map(|r| r.backend_id).filter(|b| exists(*b)).collect();
                let required = load_required_replica_num(tb.replicas.len()).min(backends.len());
                out.push(TabletTarget { partition_id: p.id, version, tablet_id: tb.id, backends, required });
            }
        }
    }
    out
}

/// The replicas that wrote: the commit's record, or every replica for a transaction
/// committed before commits recorded them.
pub fn written(rec: &TxnRecord, targets: &[TabletTarget]) -> BTreeSet<(i64, i64)> {
    if !rec.written.is_empty() {
        return rec.written.iter().copied().collect();
    }
    targets.iter().flat_map(|t| t.backends.iter().map(move |b| (t.tablet_id, *b))).collect()
}

/// Backends holding a written replica that has not published yet.
pub fn backends_to_ask(targets: &[TabletTarget], written: &BTreeSet<(i64, i64)>, done: &BTreeSet<(i64, i64)>) -> BTreeSet<i64> {
    targets
        .iter()
        .flat_map(|t| t.backends.iter().map(move |b| (t.tablet_id, *b)))
        .filter(|k| written.contains(k) && !done.contains(k))
        .map(|(_, b)| b)
        .collect()
}

/// The replicas backend `backend_id` published, given its answer: its written tablets
/// but those in `error_tablet_ids`. A failed answer without that list published nothing
/// (upstream's BE names the tablets it could not publish; an error without names, or no
/// answer, tells nothing was).
pub fn published_by(
    targets: &[TabletTarget],
    written: &BTreeSet<(i64, i64)>,
    backend_id: i64,
    answer: &Result<TFinishTaskRequest, String>,
) -> Vec<(i64, i64)> {
    let Ok(req) = answer else { return Vec::new() };
    let errors: BTreeSet<i64> = req.error_tablet_ids.iter().flatten().copied().collect();
    if req.task_status.status_code != TStatusCode::OK && errors.is_empty() {
        return Vec::new();
    }
    targets
        .iter()
        .filter(|t| t.backends.contains(&backend_id) && written.contains(&(t.tablet_id, backend_id)))
        .filter(|t| !errors.contains(&t.tablet_id))
        .map(|t| (t.tablet_id, backend_id))
        .collect()
}

/// A tablet short of its quorum: (tablet id, replicas published, replicas required).
pub fn short_of_quorum(targets: &[TabletTarget], done: &BTreeSet<(i64, i64)>) -> Option<(i64, usize, usize)> {
    targets.iter().find_map(|t| {
        let have = t.backends.iter().filter(|b| done.contains(&(t.tablet_id, **b))).count();
        (have < t.required).then_some((t.tablet_id, have, t.required))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use doris_thrift::status::TStatus;
    use doris_thrift::types::TTaskType;

    fn target(tablet_id: i64, backends: &[i64]) -> TabletTarget {
        TabletTarget {
            partition_id: 1,
            version: 2,
            tablet_id,
            backends: backends.to_vec(),
            required: load_required_replica_num(backends.len()),
        }
    }

    fn answer(code: TStatusCode, errors: Option<Vec<i64>>) -> Result<TFinishTaskRequest, String> {
        let be = doris_thrift::types::TBackend::new("127.0.0.1".to_string(), 9060, 8040, None, None, None);
        let status = TStatus { status_code: code, error_msgs: None };
        let n = || None;
        let mut r = TFinishTaskRequest::new(be, TTaskType::PUBLISH_VERSION, 1, status, n(), None, n(), n(), n(), None, None, None, None, None, n(), n(), None, None, None, None);
        r.error_tablet_ids = errors;
        Ok(r)
    }

    #[test]
    fn a_majority_is_required() {
        assert_eq!((1..=5).map(load_required_replica_num).collect::<Vec<_>>(), vec![1, 2, 2, 3, 3]);
    }

    #[test]
    fn a_partial_failure_publishes_the_other_tablets() {
        let ts = vec![target(10, &[1, 2, 3]), target(11, &[1, 2, 3])];
        let written: BTreeSet<_> = [(10, 1), (10, 2), (11, 1), (11, 2)].into_iter().collect();
        let got = published_by(&ts, &written, 1, &answer(TStatusCode::INTERNAL_ERROR, Some(vec![11])));
        assert_eq!(got, vec![(10, 1)]);
        // Backend 3 wrote nothing: asked for nothing, publishes nothing.
        assert!(published_by(&ts, &written, 3, &answer(TStatusCode::OK, None)).is_empty());
        // A failure naming no tablet, or no answer at all, published nothing.
        assert!(published_by(&ts, &written, 2, &answer(TStatusCode::INTERNAL_ERROR, None)).is_empty());
        assert!(published_by(&ts, &written, 2, &Err("down".into())).is_empty());
    }

    #[test]
    fn the_quorum_and_who_is_asked_again() {
        let ts = vec![target(10, &[1, 2, 3]), target(11, &[1, 2, 3])];
        let written: BTreeSet<_> = [(10, 1), (10, 2), (11, 1), (11, 2)].into_iter().collect();
        let mut done: BTreeSet<_> = [(10, 1), (10, 2), (11, 2)].into_iter().collect();
        assert_eq!(short_of_quorum(&ts, &done), Some((11, 1, 2)));
        // Only backend 1 still has a written replica to publish; 3 wrote nothing.
        assert_eq!(backends_to_ask(&ts, &written, &done), [1].into_iter().collect());
        done.insert((11, 1));
        assert_eq!(short_of_quorum(&ts, &done), None);
        assert!(backends_to_ask(&ts, &written, &done).is_empty());
    }
}
