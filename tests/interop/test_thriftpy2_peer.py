"""thriftpy2 against our transport, both ways.

(a) thriftpy2 clients call every method of our fixture server over buffered and framed
    transport and check the replies by the fixture rules (interop_rules.py).
(b) thriftpy2 servers follow the same rules and `doris-rs wire-peer call` checks them.
"""

import json
import socket
import subprocess
import threading

import pytest
from thriftpy2.protocol import TBinaryProtocol, TBinaryProtocolFactory
from thriftpy2.rpc import make_client
from thriftpy2.server import TThreadedServer
from thriftpy2.thrift import TApplicationException, TClient, TMessageType, TProcessor
from thriftpy2.transport import (
    TBufferedTransport,
    TBufferedTransportFactory,
    TFramedTransport,
    TFramedTransportFactory,
    TServerSocket,
    TSocket,
)

import interop_rules as rules
import interop_values as iv
from interop_procs import CALL_METHODS, run_call

NS = iv.namespace()
FE = iv.load("FrontendService").FrontendService
HB = iv.load("HeartbeatService").HeartbeatService
BE = iv.load("BackendService").BackendService
SERVICES = [
    ("FrontendService", FE, rules.FE_RULES),
    ("HeartbeatService", HB, rules.HB_RULES),
    ("BackendService", BE, rules.BE_RULES),
]
FACTORIES = {"buffered": TBufferedTransportFactory, "framed": TFramedTransportFactory}
TIMEOUT_MS = 120_000


def client(service, addr, framing):
    return make_client(service, addr[0], addr[1], trans_factory=FACTORIES[framing](), timeout=TIMEOUT_MS)


def expected(rule, *args):
    # Absent optional fields decode to their declared defaults on our side too.
    return iv.normalize(rule(NS, *args))


def test_rules_cover_every_method(shared_dir):
    coverage = json.loads((shared_dir / "wire" / "coverage.json").read_text())["methods"]
    for name, service, table in SERVICES:
        assert set(service.thrift_services) == set(table)
        assert set(coverage[name]) <= set(service.thrift_services), name


@pytest.mark.parametrize("framing", FACTORIES)
def test_every_method_of_our_server(rust_server, framing):
    for name, service, table in SERVICES:
        c = client(service, rust_server.addrs[name], framing)
        try:
            for seed, method in enumerate(service.thrift_services):
                args = iv.method_args(service, method, seed_base=100 * seed)
                if method == "restoreSnapshot":
                    args[0].meta = rules.BIG_META
                got = getattr(c, method)(*args)
                assert got == expected(table[method], *args), method
        finally:
            c.close()


@pytest.mark.parametrize("framing", FACTORIES)
def test_a_panicking_handler_is_internal_error(rust_server, framing):
    addr = rust_server.addrs["FrontendService"]
    c = client(FE, addr, framing)
    ok_req = iv.mk(NS.TGetMasterTokenRequest, cluster="c", user="syncer", password="pw")
    try:
        with pytest.raises(TApplicationException) as e:
            c.getMasterToken(iv.mk(NS.TGetMasterTokenRequest, user=rules.PANIC_USER))
        assert e.value.type == TApplicationException.INTERNAL_ERROR
        assert "getMasterToken" in e.value.message
        # The connection that saw the panic still works.
        assert c.getMasterToken(ok_req) == expected(rules.get_master_token, ok_req)
    finally:
        c.close()
    c = client(FE, addr, framing)
    try:
        assert c.getMasterToken(ok_req) == expected(rules.get_master_token, ok_req)
    finally:
        c.close()


@pytest.mark.parametrize("framing", FACTORIES)
def test_unknown_method_then_the_same_connection_works(rust_server, framing):
    sock = socket.create_connection(rust_server.addrs["FrontendService"], timeout=TIMEOUT_MS / 1000)
    wrap = TBufferedTransport if framing == "buffered" else TFramedTransport
    trans = wrap(TSocket(sock=sock))
    proto = TBinaryProtocol(trans)
    try:
        proto.write_message_begin("noSuchMethod", TMessageType.CALL, 5)
        trans.write(b"\x00")  # an empty args struct
        proto.write_message_end()
        trans.flush()
        name, mtype, seq = proto.read_message_begin()
        assert (name, mtype, seq) == ("noSuchMethod", TMessageType.EXCEPTION, 5)
        exc = TApplicationException()
        proto.read_struct(exc)
        proto.read_message_end()
        assert exc.type == TApplicationException.UNKNOWN_METHOD
        assert "noSuchMethod" in exc.message

        req = iv.method_args(FE, "getSnapshot")[0]
        got = TClient(FE, proto).getSnapshot(req)
        assert got == expected(rules.get_snapshot, req)
    finally:
        sock.close()


class _Stop(BaseException):
    """Ends a server's accept loop; thriftpy2's server logs and swallows any Exception."""


def _serve(srv):
    try:
        srv.serve()
    except _Stop:
        pass


class PyServers:
    """thriftpy2 threaded servers on free ports, one per service."""

    def __init__(self, handler, framing):
        self.closed = False
        self.servers, self.addrs, self.threads = [], {}, []
        for name, service, _ in SERVICES:
            srv = TThreadedServer(
                TProcessor(service, handler),
                TServerSocket(host="127.0.0.1", port=0, client_timeout=TIMEOUT_MS),
                itrans_factory=FACTORIES[framing](),
                iprot_factory=TBinaryProtocolFactory(),
                daemon=True,
            )
            # Listen here to learn the port; serve() would listen again otherwise.
            srv.trans.listen()
            self.addrs[name] = srv.trans.sock.getsockname()[:2]
            srv.trans.listen = lambda: None
            accept = srv.trans.accept

            def guarded_accept(accept=accept):
                client = accept()
                if self.closed:
                    client.close()
                    raise _Stop()
                return client

            srv.trans.accept = guarded_accept
            t = threading.Thread(target=_serve, args=(srv,), daemon=True)
            t.start()
            self.servers.append(srv)
            self.threads.append(t)

    def close(self):
        self.closed = True
        for srv, t, addr in zip(self.servers, self.threads, self.addrs.values()):
            # Wake the accept loop so it sees `closed`.
            socket.create_connection(addr).close()
            t.join(timeout=30)
            srv.trans.close()


def call_all(doris_rs_bin, servers, framing):
    a = servers.addrs
    return run_call(
        doris_rs_bin,
        a["FrontendService"],
        a["HeartbeatService"],
        a["BackendService"],
        framed=framing == "framed",
    )


@pytest.mark.parametrize("framing", FACTORIES)
def test_our_client_against_thriftpy2_servers(doris_rs_bin, framing):
    handler = rules.FixtureHandler(NS)
    servers = PyServers(handler, framing)
    try:
        rc, lines, err = call_all(doris_rs_bin, servers, framing)
    finally:
        servers.close()
    assert handler.failures == []
    assert rc == 0, "\n".join(lines) + err
    assert lines == [f"ok {m}" for m in CALL_METHODS]
    assert handler.calls == CALL_METHODS


class WrongSnapshot(rules.FixtureHandler):
    def getSnapshot(self, request):
        reply = super().getSnapshot(request)
        reply.expiredAt += 1
        return reply


def test_our_client_notices_a_wrong_reply(doris_rs_bin):
    servers = PyServers(WrongSnapshot(NS), "buffered")
    try:
        rc, lines, _ = call_all(doris_rs_bin, servers, "buffered")
    finally:
        servers.close()
    assert rc != 0
    assert [l for l in lines if l.startswith("FAIL")] == [next(l for l in lines if l.startswith("FAIL getSnapshot"))]
    assert "ok finishTask" in lines and "ok get_tablet_stat" in lines


def test_serve_only_the_services_asked(doris_rs_bin):
    proc = subprocess.Popen(
        [str(doris_rs_bin), "wire-peer", "serve", "--services", "heartbeat"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("HeartbeatService listening on "), line
        host, port = line.split()[-1].rsplit(":", 1)
        c = client(HB, (host, int(port)), "framed")
        try:
            m = iv.method_args(HB, "heartbeat")[0]
            assert c.heartbeat(m) == expected(rules.heartbeat, m)
        finally:
            c.close()
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert rest == b"", "only the heartbeat service was asked for"


def test_serve_refuses_an_unknown_service(doris_rs_bin):
    proc = subprocess.run(
        [str(doris_rs_bin), "wire-peer", "serve", "--services", "be,nope"], capture_output=True, timeout=60
    )
    assert proc.returncode != 0
    assert b"nope" in proc.stderr
