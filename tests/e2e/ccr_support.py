"""Helpers for end-to-end CCR tests against `doris-rs local` clusters: the ports printed in
the banner, SQL over pymysql, stream load with curl, a FrontendService client (thriftpy2 on
our thrift/ IDL, buffered binary transport as the CCR syncer's kitex client uses), and where
a BE keeps tablets and snapshots under the cluster's --dir.
"""

import hashlib
import json
import pathlib
import re
import subprocess
import time

import pytest
import thriftpy2
from thriftpy2.rpc import make_client
from thriftpy2.transport import TBufferedTransportFactory

HOST = "127.0.0.1"
THRIFT_DIR = pathlib.Path(__file__).resolve().parent.parent.parent / "thrift"
# Generous for a loaded 2-core machine; polls return as soon as the state is reached.
JOB_TIMEOUT_S = 300
RPC_TIMEOUT_MS = 120_000

_fe_thrift = None


def fe_thrift():
    """FrontendService.thrift (and what it includes) as a thriftpy2 module."""
    global _fe_thrift
    if _fe_thrift is None:
        _fe_thrift = thriftpy2.load(
            str(THRIFT_DIR / "FrontendService.thrift"),
            module_name="ccr_FrontendService_thrift",
            include_dirs=[str(THRIFT_DIR)],
        )
    return _fe_thrift


def status_code_name(status):
    return fe_thrift().Status.TStatusCode._VALUES_TO_NAMES[status.status_code]


class Cluster:
    """A started LocalCluster with its banner's ports and helpers."""

    def __init__(self, lc, banner):
        self.lc = lc
        self.dir = pathlib.Path(lc.dir)
        fe = re.search(r"^  FE: .* rpc 127\.0\.0\.1:(\d+)  http 127\.0\.0\.1:(\d+)", banner, re.M)
        self.fe_rpc, self.fe_http = int(fe.group(1)), int(fe.group(2))
        self.be_heartbeat = [int(p) for p in re.findall(r"^  BE \d+: .* heartbeat 127\.0\.0\.1:(\d+)", banner, re.M)]
        assert len(self.be_heartbeat) == lc.bes, banner

    # --- SQL ---

    def query(self, sql):
        """Rows as tuples and the column names."""
        conn = self.lc.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall()), [d[0] for d in cur.description or ()]
        finally:
            conn.close()

    def rows(self, sql):
        return self.query(sql)[0]

    def dicts(self, sql):
        rows, names = self.query(sql)
        return [dict(zip(names, r)) for r in rows]

    def backends(self):
        return self.dicts("SHOW BACKENDS")

    def be_index(self):
        """BackendId -> BE number i of `doris-rs local` (its dir is <dir>/be<i>)."""
        return {int(b["BackendId"]): self.be_heartbeat.index(int(b["HeartbeatPort"])) for b in self.backends()}

    def wait_job(self, sql, what):
        """Poll a SHOW BACKUP / SHOW RESTORE until its last row is FINISHED; fail on CANCELLED."""
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while True:
            shown = self.dicts(sql)
            if shown and shown[-1]["State"] == "FINISHED":
                return shown
            if shown and shown[-1]["State"] == "CANCELLED":
                pytest.fail(f"{what} was cancelled: {shown[-1]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what} not FINISHED within {JOB_TIMEOUT_S} s: {shown}")
            time.sleep(0.2)

    # --- stream load ---

    def stream_load(self, db, table, path, label):
        """curl --location-trusted -T through the FE (307 to a BE), as upstream's docs show it."""
        cmd = [
            "curl", "-sS", "--location-trusted", "-u", "root:", "-H", f"label:{label}",
            "-H", "column_separator:,", "-T", str(path), "-w", "\n%{http_code}",
            f"http://{HOST}:{self.fe_http}/api/{db}/{table}/_stream_load",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
        body, code = out.rsplit("\n", 1)
        assert int(code) == 200, out
        res = json.loads(body)
        assert res["Status"] == "Success", res
        return res

    # --- thrift ---

    def frontend(self):
        """A FrontendService client on the FE's rpc_port (close() it)."""
        return make_client(
            fe_thrift().FrontendService, HOST, self.fe_rpc,
            trans_factory=TBufferedTransportFactory(), timeout=RPC_TIMEOUT_MS,
        )

    def tablets_by_bucket(self, db, table):
        """getMeta, as the syncer reads it: (partition name, bucket) -> (tablet id, [backend ids])."""
        ft = fe_thrift()
        c = self.frontend()
        try:
            res = c.getMeta(ft.TGetMetaRequest(
                user="root", passwd="", db=ft.TGetMetaDB(name=db, tables=[ft.TGetMetaTable(name=table)])
            ))
        finally:
            c.close()
        assert res.status.status_code == 0, res.status
        [t] = res.db_meta.tables
        out = {}
        for p in t.partitions:
            [index] = p.indexes
            for bucket, tablet in enumerate(index.tablets):
                out[(p.name, bucket)] = (tablet.id, [r.backend_id for r in tablet.replicas])
        return out

    # --- disk ---

    def storage_root(self, be_index):
        return (self.dir / f"be{be_index}" / "storage").resolve()

    def tablet_dir(self, be_index, tablet_id):
        """<root>/data/<shard>/<tablet_id>/<schema_hash>/ on BE i."""
        found = list((self.storage_root(be_index) / "data").glob(f"*/{tablet_id}/*"))
        assert len(found) == 1, f"tablet {tablet_id} on BE {be_index}: {found}"
        return found[0]


def dat_files(directory):
    """name -> sha256 of the .dat (segment) files in a tablet or snapshot directory."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in pathlib.Path(directory).glob("*.dat")}
