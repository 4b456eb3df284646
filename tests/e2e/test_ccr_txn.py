"""End-to-end: the target-side transactions the CCR syncer drives (beginTxn, commitTxn,
rollbackTxn over thriftpy2) and SHOW TRANSACTION on `doris-rs local`: upstream's error
texts the syncer matches ("transaction [N] not found", "is already aborted", "is already
COMMITTED"), label reuse, a transaction of another database, refusals for a wrong password
and unknown tables, and a commit naming tablets that are not the transaction's.
"""

from ccr_support import Cluster, fe_thrift, status_code_name
from test_local_cluster import clusters, pick_base  # noqa: F401 (fixture)


def msg(status):
    return " ".join(status.error_msgs or [])


def test_begin_commit_rollback_texts(clusters, tmp_path):
    lc = clusters(tmp_path / "c", pick_base(1), 1)
    c = Cluster(lc, lc.start())
    c.query("CREATE DATABASE tgt")
    c.query("CREATE DATABASE other")
    for db in ("tgt", "other"):
        c.query(f'CREATE TABLE {db}.t (k INT, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 '
                'PROPERTIES ("replication_num" = "1")')
    dbs = {r["DbName"]: r["DbId"] for r in c.dicts("SHOW PROC '/dbs/'")}
    tables = {r["TableName"]: int(r["TableId"]) for r in c.dicts(f"SHOW PROC '/dbs/{dbs['tgt']}/'")}
    tid = tables["t"]
    other_tid = int(c.dicts(f"SHOW PROC '/dbs/{dbs['other']}/'")[0]["TableId"])
    ft = fe_thrift()
    fe = c.frontend()
    try:
        def begin(label, table_ids, db="tgt", passwd=""):
            return fe.beginTxn(ft.TBeginTxnRequest(user="root", passwd=passwd, db=db, table_ids=table_ids, label=label,
                                                   user_ip="10.0.0.9"))

        def rollback(txn_id, db="tgt"):
            return fe.rollbackTxn(ft.TRollbackTxnRequest(user="root", passwd="", db=db, txn_id=txn_id, reason="test"))

        def commit(txn_id, infos, db="tgt"):
            return fe.commitTxn(ft.TCommitTxnRequest(user="root", passwd="", db=db, txn_id=txn_id, commit_infos=infos))

        r = begin("ccr_1", [tid])
        assert status_code_name(r.status) == "OK", r
        txn = r.txn_id
        assert r.db_id == int(dbs["tgt"])
        # The label is taken while the transaction runs.
        again = begin("ccr_1", [tid])
        assert status_code_name(again.status) == "LABEL_ALREADY_EXISTS" and again.job_status == "RUNNING"
        [row] = c.dicts(f"SHOW TRANSACTION FROM tgt WHERE id = {txn}")
        assert row["TransactionStatus"] == "PREPARE" and row["Label"] == "ccr_1"
        # The client's address, as upstream records it (not the request's user_ip).
        assert row["Coordinator"] == "BE: 127.0.0.1" and row["LoadJobSourceType"] == "BACKEND_STREAMING"
        assert row["CommitTime"] == "\\N" and row["TimeoutMs"] == str(259200 * 1000)
        # Rolled back once, then upstream's "is already aborted".
        assert status_code_name(rollback(txn).status) == "OK"
        r = rollback(txn)
        assert status_code_name(r.status) != "OK" and f"transaction [{txn}] is already aborted" in msg(r.status), r
        r = commit(txn, [])
        assert "is already aborted" in msg(r.status), r
        [row] = c.dicts("SHOW TRANSACTION FROM tgt WHERE label = 'ccr_1'")
        assert row["TransactionStatus"] == "ABORTED" and row["Reason"] == "test"
        # Unknown transactions, in the syncer's words.
        for r in (rollback(987654321), commit(987654321, [])):
            assert "transaction [987654321] not found" in msg(r.status), r
        # A transaction of another database is not this one's.
        r = begin("ccr_2", [other_tid], db="other")
        assert status_code_name(r.status) == "OK"
        foreign = r.txn_id
        r = commit(foreign, [])
        assert status_code_name(r.status) != "OK" and "does not belong to database tgt" in msg(r.status), r
        assert "not found" in msg(rollback(foreign).status)
        [row] = c.dicts(f"SHOW TRANSACTION FROM other WHERE id = {foreign}")
        assert row["TransactionStatus"] == "PREPARE", "nothing half-applied"
        # A commit naming a tablet that is not of the transaction's tables is refused whole.
        [tablet] = c.dicts("SHOW TABLETS FROM other.t")
        r = commit(foreign, [ft.Types.TTabletCommitInfo(tabletId=int(tablet["TabletId"]) + 100000, backendId=1)], db="other")
        assert status_code_name(r.status) != "OK" and "is not a tablet of its tables" in msg(r.status), r
        # A commit that wrote no tablet makes nothing visible but finishes.
        r = commit(foreign, [], db="other")
        assert status_code_name(r.status) == "OK", "a commit writing nothing makes nothing visible"
        [row] = c.dicts(f"SHOW TRANSACTION FROM other WHERE id = {foreign}")
        assert row["TransactionStatus"] == "VISIBLE" and row["CommitTime"] != "\\N"
        r = rollback(foreign, db="other")
        assert f"transaction [{foreign}] is already VISIBLE, could not abort" in msg(r.status), r
        # Refusals: a wrong password, an unknown table, no label.
        assert "Access denied" in msg(begin("ccr_3", [tid], passwd="wrong").status)
        assert "unknown table, tableId=424242" in msg(begin("ccr_3", [424242]).status)
        assert "unknown table" in msg(begin("ccr_3", [other_tid]).status), "a table of another database"
        assert "label is not set" in msg(begin("", [tid]).status)
    finally:
        fe.close()
    # SHOW TRANSACTION of an unknown id: upstream's error.
    try:
        c.query("SHOW TRANSACTION FROM tgt WHERE id = 5")
        raise AssertionError("expected an error")
    except Exception as e:  # noqa: BLE001
        assert "transaction with id 5 does not exist" in str(e)
