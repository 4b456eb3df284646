//! Load transactions and labels: a label is taken until its transaction is aborted, and
//! records survive a reopen of the store, and PREPARE transactions past their timeout are
//! aborted (freeing their label).

use doris_fe::load::txn::{TxnRecord, TxnState, TxnStore, TIMEOUT_REASON};

fn rec(txn_id: i64, db_id: i64, label: &str) -> TxnRecord {
    TxnRecord {
        txn_id,
        db_id,
        table_ids: vec![7],
        label: label.into(),
        state: TxnState::Prepare,
        create_ms: 0,
        commit_ms: None,
        precommit_ms: None,
        published: Vec::new(),
        written: Vec::new(),
        finish_ms: None,
        reason: None,
        coordinator: "BE: 127.0.0.1".into(),
        partition_versions: vec![],
        timeout_s: 60,
    }
}

#[test]
fn labels_are_unique_per_database_until_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let st = TxnStore::open(dir.path()).unwrap();
    assert_eq!(st.begin(rec(1, 10, "l1")).unwrap().unwrap().txn_id, 1);
    // Same label, same database: refused with the holder.
    assert_eq!(st.begin(rec(2, 10, "l1")).unwrap().unwrap_err().txn_id, 1);
    // Another database may use it.
    assert!(st.begin(rec(3, 11, "l1")).unwrap().is_ok());
    // Visible still holds it; aborted frees it.
    st.update(1, |t| {
        t.state = TxnState::Visible;
        Ok(())
    })
    .unwrap();
    assert!(st.begin(rec(4, 10, "l1")).unwrap().is_err());
    st.update(3, |t| {
        t.state = TxnState::Aborted;
        Ok(())
    })
    .unwrap();
    assert_eq!(st.begin(rec(5, 11, "l1")).unwrap().unwrap().txn_id, 5);
    assert_eq!(st.by_label(11, "l1").unwrap().unwrap().txn_id, 5);
}

#[test]
fn records_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let st = TxnStore::open(dir.path()).unwrap();
        st.begin(rec(1, 10, "a")).unwrap().unwrap();
        st.update(1, |t| {
            t.state = TxnState::Committed;
            t.partition_versions = vec![(100, 3)];
            Ok(())
        })
        .unwrap();
    }
    let st = TxnStore::open(dir.path()).unwrap();
    let r = st.get(1).unwrap().unwrap();
    assert_eq!((r.state, r.partition_versions.clone()), (TxnState::Committed, vec![(100, 3)]));
    assert_eq!(st.in_state(TxnState::Committed).unwrap().len(), 1);
    assert!(st.update(99, |_| Ok(())).is_err());
}

#[test]
fn prepare_transactions_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let st = TxnStore::open(dir.path()).unwrap();
    // Created at 1000 ms with a 60 s timeout: due at 61000 ms.
    let mut r = rec(1, 10, "slow");
    r.create_ms = 1000;
    st.begin(r).unwrap().unwrap();
    let mut c = rec(2, 10, "committed");
    c.create_ms = 1000;
    st.begin(c).unwrap().unwrap();
    st.update(2, |t| {
        t.state = TxnState::Committed;
        Ok(())
    })
    .unwrap();
    assert!(st.abort_timed_out(60_999).unwrap().is_empty());
    assert_eq!(st.state_now(1, 60_999).unwrap().unwrap().state, TxnState::Prepare);
    // Only the PREPARE one is aborted; a committed load is never timed out.
    let aborted = st.abort_timed_out(61_000).unwrap();
    assert_eq!(aborted.iter().map(|t| t.txn_id).collect::<Vec<_>>(), vec![1]);
    let r = st.get(1).unwrap().unwrap();
    assert_eq!((r.state, r.reason.as_deref(), r.finish_ms), (TxnState::Aborted, Some(TIMEOUT_REASON), Some(61_000)));
    assert_eq!(st.get(2).unwrap().unwrap().state, TxnState::Committed);
    assert!(st.state_now(99, 61_000).unwrap().is_none());
}

#[test]
fn a_timed_out_label_holder_is_aborted_on_begin_and_on_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let st = TxnStore::open(dir.path()).unwrap();
    st.begin(rec(1, 10, "l")).unwrap().unwrap();
    // Within the timeout the label is taken...
    let mut again = rec(2, 10, "l");
    again.create_ms = 59_999;
    assert_eq!(st.begin(again).unwrap().unwrap_err().txn_id, 1);
    // ...past it the holder is aborted and the label reused.
    let mut later = rec(3, 10, "l");
    later.create_ms = 60_000;
    assert_eq!(st.begin(later).unwrap().unwrap().txn_id, 3);
    assert_eq!(st.get(1).unwrap().unwrap().reason.as_deref(), Some(TIMEOUT_REASON));
    // A lookup past the timeout answers ABORTED (and records it).
    assert_eq!(st.state_now(3, 120_000).unwrap().unwrap().state, TxnState::Aborted);
    assert_eq!(st.get(3).unwrap().unwrap().state, TxnState::Aborted);
    // Records written before timeouts existed read with upstream's default.
    let old = r#"{"txn_id":7,"db_id":1,"table_id":2,"label":"x","state":"Prepare","create_ms":0,"finish_ms":null,"reason":null,"partition_versions":[]}"#;
    let r: TxnRecord = serde_json::from_str(old).unwrap();
    assert_eq!(r.timeout_s, doris_fe::load::txn::DEFAULT_TIMEOUT_S);
    // A record of one table, from before transactions spanned several.
    assert_eq!(r.table_ids, vec![2]);
    assert!(r.writes(2) && !r.writes(7));
    let back: TxnRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn precommitted_transactions_keep_their_label_survive_a_reopen_and_time_out() {
    let dir = tempfile::tempdir().unwrap();
    {
        let st = TxnStore::open(dir.path()).unwrap();
        st.begin(rec(1, 10, "two_pc")).unwrap().unwrap();
        st.update(1, |t| {
            t.state = TxnState::Precommitted;
            t.precommit_ms = Some(30_000);
            t.written = vec![(5, 6), (7, 8)];
            Ok(())
        })
        .unwrap();
    }
    let st = TxnStore::open(dir.path()).unwrap();
    let r = st.get(1).unwrap().unwrap();
    assert_eq!((r.state, r.state.name(), r.written.clone()), (TxnState::Precommitted, "PRECOMMITTED", vec![(5, 6), (7, 8)]));
    // The label stays taken while it waits for the user's commit or abort.
    assert_eq!(st.begin(rec(2, 10, "two_pc")).unwrap().unwrap_err().txn_id, 1);
    // Its timeout counts from the pre-commit (30 s + 60 s), not from the begin.
    assert!(st.abort_timed_out(61_000).unwrap().is_empty());
    assert_eq!(st.state_now(1, 89_999).unwrap().unwrap().state, TxnState::Precommitted);
    let aborted = st.abort_timed_out(90_000).unwrap();
    assert_eq!(aborted.iter().map(|t| t.txn_id).collect::<Vec<_>>(), vec![1]);
    assert_eq!(st.get(1).unwrap().unwrap().reason.as_deref(), Some(TIMEOUT_REASON));
}
