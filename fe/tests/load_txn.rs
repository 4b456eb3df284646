//! Load transactions and labels: a label is taken until its transaction is aborted, and
//! records survive a reopen of the store.

use doris_fe::load::txn::{TxnRecord, TxnState, TxnStore};

fn rec(txn_id: i64, db_id: i64, label: &str) -> TxnRecord {
    TxnRecord {
        txn_id,
        db_id,
        table_id: 7,
        label: label.into(),
        state: TxnState::Prepare,
        create_ms: 0,
        finish_ms: None,
        reason: None,
        partition_versions: vec![],
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
