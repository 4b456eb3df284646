"""Apache Thrift's own Python library against our transport, both ways.

Stubs are generated at test time with the thrift compiler from thrift/*.thrift. Requests are
built fully populated by thriftpy2 (interop_values) and carried over as bytes, so the same
generic values reach our server through a second, independent implementation.
"""

import importlib
import socket
import subprocess
import sys
import threading
import types

import pytest
from thrift.protocol import TBinaryProtocol
from thrift.server import TServer
from thrift.Thrift import TApplicationException, TMessageType
from thrift.transport import TSocket, TTransport

import interop_rules as rules
import interop_values as iv
from interop_procs import CALL_METHODS, run_call

TIMEOUT_MS = 120_000
TRANSPORTS = {"buffered": TTransport.TBufferedTransport, "framed": TTransport.TFramedTransport}
FACTORIES = {"buffered": TTransport.TBufferedTransportFactory, "framed": TTransport.TFramedTransportFactory}
SERVICE_FILES = {"FrontendService": rules.FE_RULES, "HeartbeatService": rules.HB_RULES, "BackendService": rules.BE_RULES}


class Stubs:
    def __init__(self, out_dir):
        sys.path.insert(0, str(out_dir))
        classes = {}
        for f in iv.IDL_FILES:
            mod = importlib.import_module(f"{f}.ttypes")
            classes.update({k: v for k, v in vars(mod).items() if isinstance(v, type) and k.startswith("T")})
        self.ns = types.SimpleNamespace(**classes)
        self.services = {name: importlib.import_module(f"{name}.{name}") for name in SERVICE_FILES}


@pytest.fixture(scope="module")
def stubs(tmp_path_factory, repo_root):
    out = tmp_path_factory.mktemp("apache-stubs")
    for f in iv.IDL_FILES:
        subprocess.run(
            ["thrift", "--gen", "py", "-out", str(out), "-I", "thrift", f"thrift/{f}.thrift"],
            cwd=repo_root,
            check=True,
            capture_output=True,
        )
    return Stubs(out)


def proto_of(trans, strict=True):
    return TBinaryProtocol.TBinaryProtocol(trans, strictRead=strict, strictWrite=strict)


def a_encode(obj) -> bytes:
    buf = TTransport.TMemoryBuffer()
    obj.write(TBinaryProtocol.TBinaryProtocol(buf))
    return buf.getvalue()


def a_decode(cls, data: bytes):
    obj = cls()
    obj.read(TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(data)))
    return obj


def to_apache(stubs, value):
    """A thriftpy2 value as the same value in Apache Thrift's classes, through its bytes."""
    if isinstance(value, list):
        return [to_apache(stubs, v) for v in value]
    if hasattr(value, "thrift_spec"):
        return a_decode(getattr(stubs.ns, type(value).__name__), iv.encode(value))
    return value


def expected(stubs, rule, *args):
    reply = rule(stubs.ns, *args)
    return a_decode(type(reply), a_encode(reply))


def connect(addr, framing, strict=True):
    sock = TSocket.TSocket(addr[0], addr[1])
    sock.setTimeout(TIMEOUT_MS)
    trans = TRANSPORTS[framing](sock)
    trans.open()
    return trans, proto_of(trans, strict)


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "non-strict"])
@pytest.mark.parametrize("framing", TRANSPORTS)
def test_every_method_of_our_server(rust_server, stubs, framing, strict):
    py = {"FrontendService": iv.load("FrontendService").FrontendService,
          "HeartbeatService": iv.load("HeartbeatService").HeartbeatService,
          "BackendService": iv.load("BackendService").BackendService}
    for name, table in SERVICE_FILES.items():
        trans, proto = connect(rust_server.addrs[name], framing, strict)
        client = stubs.services[name].Client(proto)
        try:
            for seed, method in enumerate(py[name].thrift_services):
                args = iv.method_args(py[name], method, seed_base=100 * seed + 7)
                if method == "restoreSnapshot":
                    args[0].meta = rules.BIG_META
                args = [to_apache(stubs, a) for a in args]
                got = getattr(client, method)(*args)
                assert got == expected(stubs, table[method], *args), method
        finally:
            trans.close()


@pytest.mark.parametrize("framing", TRANSPORTS)
def test_panic_then_unknown_method_on_one_connection(rust_server, stubs, framing):
    ns = stubs.ns
    trans, proto = connect(rust_server.addrs["FrontendService"], framing)
    client = stubs.services["FrontendService"].Client(proto)
    try:
        with pytest.raises(TApplicationException) as e:
            client.getMasterToken(iv.mk(ns.TGetMasterTokenRequest, user=rules.PANIC_USER))
        assert e.value.type == TApplicationException.INTERNAL_ERROR

        proto.writeMessageBegin("noSuchMethod", TMessageType.CALL, 77)
        proto.writeStructBegin("args")
        proto.writeFieldStop()
        proto.writeStructEnd()
        proto.writeMessageEnd()
        trans.flush()
        name, mtype, seq = proto.readMessageBegin()
        assert (name, mtype, seq) == ("noSuchMethod", TMessageType.EXCEPTION, 77)
        exc = TApplicationException()
        exc.read(proto)
        proto.readMessageEnd()
        assert exc.type == TApplicationException.UNKNOWN_METHOD

        req = iv.mk(ns.TGetMasterTokenRequest, cluster="c", user="syncer")
        assert client.getMasterToken(req) == expected(stubs, rules.get_master_token, req)
    finally:
        trans.close()
    # And a new connection.
    trans, proto = connect(rust_server.addrs["FrontendService"], framing)
    try:
        req = iv.mk(ns.TGetMasterTokenRequest, user="again")
        got = stubs.services["FrontendService"].Client(proto).getMasterToken(req)
        assert got == expected(stubs, rules.get_master_token, req)
    finally:
        trans.close()


class _Stop(BaseException):
    """Ends a server's accept loop; the thrift servers only catch Exception."""


def _serve(srv):
    try:
        srv.serve()
    except _Stop:
        pass


class ApacheServers:
    """One Apache Thrift server per service on free ports, in daemon threads."""

    def __init__(self, stubs, handler, server_cls, framing, strict):
        self.closed = False
        self.addrs, self.threads = {}, []
        pfactory = TBinaryProtocol.TBinaryProtocolFactory(strictRead=strict, strictWrite=strict)
        for name in SERVICE_FILES:
            st = TSocket.TServerSocket(host="127.0.0.1", port=0)
            st.listen()
            self.addrs[name] = st.handle.getsockname()[:2]
            st.listen = lambda: None  # serve() would listen again
            accept = st.accept

            def guarded_accept(accept=accept):
                client = accept()
                if self.closed:
                    client.close()
                    raise _Stop()
                client.setTimeout(TIMEOUT_MS)
                return client

            st.accept = guarded_accept
            processor = stubs.services[name].Processor(handler)
            srv = server_cls(processor, st, FACTORIES[framing](), pfactory)
            t = threading.Thread(target=_serve, args=(srv,), daemon=True)
            t.start()
            self.threads.append((t, st))

    def close(self):
        self.closed = True
        for (t, st), addr in zip(self.threads, self.addrs.values()):
            # Wake the accept loop so it sees `closed`.
            socket.create_connection(addr).close()
            t.join(timeout=30)
            st.close()


SERVER_KINDS = [
    ("threaded", "buffered", True),
    ("threaded", "framed", True),
    ("simple", "buffered", False),
    ("simple", "framed", False),
]


@pytest.mark.parametrize("kind,framing,strict", SERVER_KINDS, ids=["-".join(map(str, k)) for k in SERVER_KINDS])
def test_our_client_against_apache_servers(doris_rs_bin, stubs, kind, framing, strict):
    server_cls = TServer.TThreadedServer if kind == "threaded" else TServer.TSimpleServer
    handler = rules.FixtureHandler(stubs.ns)
    servers = ApacheServers(stubs, handler, server_cls, framing, strict)
    try:
        a = servers.addrs
        rc, lines, err = run_call(
            doris_rs_bin,
            a["FrontendService"],
            a["HeartbeatService"],
            a["BackendService"],
            framed=framing == "framed",
        )
    finally:
        servers.close()
    assert handler.failures == []
    assert rc == 0, "\n".join(lines) + err
    assert lines == [f"ok {m}" for m in CALL_METHODS]
    assert handler.calls == CALL_METHODS
