// The Java FE's side of the agent protocol, on Apache Thrift's Java library: a
// FrontendService on TThreadPoolServer that records what BEs send (finishTask, report,
// snapshotLoaderReport), and a client set up as the FE's client pools (TSocket +
// TBinaryProtocol, strict; TFramedTransport on request) that heartbeats BEs and submits
// agent tasks.
//
//   java JavaFePeer <records.jsonl> [buffered|framed]
//
// Prints "FrontendService listening on 127.0.0.1:<port>" once serving, then reads
// commands on stdin, one per line: `<command> key=value ...`, and answers each with one
// JSON line {"cmd":..., "ok":true, "result":<reply>} or {"cmd":..., "ok":false,
// "error":...}. Replies and records are thrift structs as Java decoded them, written
// with TSimpleJSONProtocol (field names; enums as their values; unset optionals absent).
// Each record is one line {"method":..., "request":...} appended to the records file.
//
// Commands (every one takes addr=HOST:PORT and framed=0|1):
//   heartbeat   fe_port cluster_id epoch token backend_id backend_ip
//   create      sig tablet schema_hash replica partition table version [medium]
//   snapshot    sig tablet schema_hash list_files [version]
//   download    sig job local_tablet local_path remote_tablet remote_be_id remote_host
//               remote_port remote_path token
//   cooldown    sig tablet replica term
//   tablet_stat
//   quit

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.doris.thrift.*;
import org.apache.thrift.TBase;
import org.apache.thrift.TException;
import org.apache.thrift.TSerializer;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.protocol.TProtocol;
import org.apache.thrift.protocol.TSimpleJSONProtocol;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;
import org.apache.thrift.transport.TSocket;
import org.apache.thrift.transport.TTransport;
import org.apache.thrift.transport.TTransportFactory;
import org.apache.thrift.transport.layered.TFramedTransport;

public class JavaFePeer {
    static OutputStream records;

    static String json(TBase<?, ?> obj) {
        try {
            return new TSerializer(new TSimpleJSONProtocol.Factory()).toString(obj);
        } catch (TException e) {
            throw new RuntimeException(e);
        }
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static synchronized void record(String method, TBase<?, ?> request) {
        String line = "{\"method\":" + quote(method) + ",\"request\":" + json(request) + "}\n";
        try {
            records.write(line.getBytes(StandardCharsets.UTF_8));
            records.flush();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    static TStatus ok() {
        return new TStatus(TStatusCode.OK);
    }

    /** Records what a BE reports; everything else is not served by this FE. */
    static class RecordingFrontend implements FrontendService.Iface {
        public TMasterResult finishTask(TFinishTaskRequest r) {
            record("finishTask", r);
            return new TMasterResult(ok());
        }

        public TMasterResult report(TReportRequest r) {
            record("report", r);
            return new TMasterResult(ok());
        }

        public TStatus snapshotLoaderReport(TSnapshotLoaderReportRequest r) {
            record("snapshotLoaderReport", r);
            return ok();
        }

        TException notServed(String m) {
            return new TException(m + " is not served by the Java FE peer");
        }

        public TGetSnapshotResult getSnapshot(TGetSnapshotRequest r) throws TException { throw notServed("getSnapshot"); }
        public TRestoreSnapshotResult restoreSnapshot(TRestoreSnapshotRequest r) throws TException { throw notServed("restoreSnapshot"); }
        public TGetMasterTokenResult getMasterToken(TGetMasterTokenRequest r) throws TException { throw notServed("getMasterToken"); }
        public TGetBackendMetaResult getBackendMeta(TGetBackendMetaRequest r) throws TException { throw notServed("getBackendMeta"); }
        public TGetMetaResult getMeta(TGetMetaRequest r) throws TException { throw notServed("getMeta"); }
        public TLoadTxnBeginResult loadTxnBegin(TLoadTxnBeginRequest r) throws TException { throw notServed("loadTxnBegin"); }
        public TLoadTxnCommitResult loadTxnCommit(TLoadTxnCommitRequest r) throws TException { throw notServed("loadTxnCommit"); }
        public TLoadTxnRollbackResult loadTxnRollback(TLoadTxnRollbackRequest r) throws TException { throw notServed("loadTxnRollback"); }
        public TConfirmUnusedRemoteFilesResult confirmUnusedRemoteFiles(TConfirmUnusedRemoteFilesRequest r) throws TException { throw notServed("confirmUnusedRemoteFiles"); }
        public TGetBinlogResult getBinlog(TGetBinlogRequest r) throws TException { throw notServed("getBinlog"); }
        public TGetBinlogLagResult getBinlogLag(TGetBinlogRequest r) throws TException { throw notServed("getBinlogLag"); }
        public TBeginTxnResult beginTxn(TBeginTxnRequest r) throws TException { throw notServed("beginTxn"); }
        public TCommitTxnResult commitTxn(TCommitTxnRequest r) throws TException { throw notServed("commitTxn"); }
        public TRollbackTxnResult rollbackTxn(TRollbackTxnRequest r) throws TException { throw notServed("rollbackTxn"); }
        public TLoadTxnCommitResult loadTxnPreCommit(TLoadTxnCommitRequest r) throws TException { throw notServed("loadTxnPreCommit"); }
        public TLoadTxn2PCResult loadTxn2PC(TLoadTxn2PCRequest r) throws TException { throw notServed("loadTxn2PC"); }
        public TAutoIncrementRangeResult getAutoIncrementRange(TAutoIncrementRangeRequest r) throws TException { throw notServed("getAutoIncrementRange"); }
    }

    // ---- the client side, one cached connection per (address, framing), as the FE's pools.

    static final Map<String, TProtocol> conns = new HashMap<>();

    static TProtocol connect(Map<String, String> a) throws TException {
        String addr = a.get("addr");
        boolean framed = "1".equals(a.getOrDefault("framed", "0"));
        String key = addr + (framed ? "/framed" : "/buffered");
        TProtocol p = conns.get(key);
        if (p != null && p.getTransport().isOpen()) return p;
        int colon = addr.lastIndexOf(':');
        TSocket socket = new TSocket(addr.substring(0, colon), Integer.parseInt(addr.substring(colon + 1)), 60_000);
        TTransport t = framed ? new TFramedTransport(socket) : socket;
        t.open();
        p = new TBinaryProtocol(t, true, true);
        conns.put(key, p);
        return p;
    }

    static void drop(Map<String, String> a) {
        boolean framed = "1".equals(a.getOrDefault("framed", "0"));
        TProtocol p = conns.remove(a.get("addr") + (framed ? "/framed" : "/buffered"));
        if (p != null) p.getTransport().close();
    }

    static TAgentTaskRequest task(TTaskType type, Map<String, String> a) {
        TAgentTaskRequest t = new TAgentTaskRequest(TAgentServiceVersion.V1, type, Long.parseLong(a.get("sig")));
        t.setPriority(TPriority.NORMAL);
        t.setRecv_time(System.currentTimeMillis());
        return t;
    }

    static TColumn column(String name, TPrimitiveType type, boolean key) {
        TColumn c = new TColumn(name, new TColumnType(type));
        c.setIs_key(key);
        c.setIs_allow_null(!key);
        if (!key) c.setAggregation_type(TAggregationType.NONE);
        return c;
    }

    static TAgentTaskRequest createTask(Map<String, String> a) {
        List<TColumn> cols = new ArrayList<>();
        cols.add(column("k1", TPrimitiveType.INT, true));
        TColumn v = column("v1", TPrimitiveType.VARCHAR, false);
        v.getColumn_type().setLen(32);
        cols.add(v);
        TTabletSchema schema = new TTabletSchema((short) 1, Integer.parseInt(a.get("schema_hash")),
                TKeysType.DUP_KEYS, TStorageType.COLUMN, cols);
        TCreateTabletReq c = new TCreateTabletReq(Long.parseLong(a.get("tablet")), schema);
        c.setVersion(Long.parseLong(a.get("version")));
        c.setStorage_medium(TStorageMedium.valueOf(a.getOrDefault("medium", "HDD")));
        c.setIn_restore_mode(false);
        c.setTable_id(Long.parseLong(a.get("table")));
        c.setPartition_id(Long.parseLong(a.get("partition")));
        c.setReplica_id(Long.parseLong(a.get("replica")));
        TAgentTaskRequest t = task(TTaskType.CREATE, a);
        t.setCreate_tablet_req(c);
        return t;
    }

    static TAgentTaskRequest snapshotTask(Map<String, String> a) {
        TSnapshotRequest s = new TSnapshotRequest(Long.parseLong(a.get("tablet")), Integer.parseInt(a.get("schema_hash")));
        if (a.containsKey("version")) s.setVersion(Long.parseLong(a.get("version")));
        s.setList_files("1".equals(a.get("list_files")));
        s.setTimeout(3600);
        s.setPreferred_snapshot_version(2);
        TAgentTaskRequest t = task(TTaskType.MAKE_SNAPSHOT, a);
        t.setSnapshot_req(s);
        return t;
    }

    static TAgentTaskRequest downloadTask(Map<String, String> a) {
        TRemoteTabletSnapshot r = new TRemoteTabletSnapshot();
        r.setLocal_tablet_id(Long.parseLong(a.get("local_tablet")));
        r.setLocal_snapshot_path(a.get("local_path"));
        r.setRemote_tablet_id(Long.parseLong(a.get("remote_tablet")));
        r.setRemote_be_id(Long.parseLong(a.get("remote_be_id")));
        r.setRemote_be_addr(new TNetworkAddress(a.get("remote_host"), Integer.parseInt(a.get("remote_port"))));
        r.setRemote_snapshot_path(a.get("remote_path"));
        r.setRemote_token(a.get("token"));
        List<TRemoteTabletSnapshot> snaps = new ArrayList<>();
        snaps.add(r);
        // As the FE's restore job: no broker, no repository map.
        TDownloadReq d = new TDownloadReq(Long.parseLong(a.get("job")), new HashMap<>(), new TNetworkAddress("", 0));
        d.setRemote_tablet_snapshots(snaps);
        TAgentTaskRequest t = task(TTaskType.DOWNLOAD, a);
        t.setDownload_req(d);
        return t;
    }

    static TAgentTaskRequest cooldownTask(Map<String, String> a) {
        TCooldownConf c = new TCooldownConf(Long.parseLong(a.get("tablet")));
        c.setCooldown_replica_id(Long.parseLong(a.get("replica")));
        c.setCooldown_term(Long.parseLong(a.get("term")));
        List<TCooldownConf> confs = new ArrayList<>();
        confs.add(c);
        TAgentTaskRequest t = task(TTaskType.PUSH_COOLDOWN_CONF, a);
        t.setPush_cooldown_conf(new TPushCooldownConfReq(confs));
        return t;
    }

    static TAgentResult submit(Map<String, String> a, TAgentTaskRequest t) throws TException {
        List<TAgentTaskRequest> tasks = new ArrayList<>();
        tasks.add(t);
        return new BackendService.Client(connect(a)).submit_tasks(tasks);
    }

    static TBase<?, ?> run(String cmd, Map<String, String> a) throws TException {
        switch (cmd) {
            case "heartbeat": {
                TMasterInfo m = new TMasterInfo(new TNetworkAddress("127.0.0.1", Integer.parseInt(a.get("fe_port"))),
                        Integer.parseInt(a.get("cluster_id")), Long.parseLong(a.get("epoch")));
                m.setToken(a.get("token"));
                m.setBackend_ip(a.get("backend_ip"));
                m.setHttp_port(8030);
                m.setHeartbeat_flags(0);
                m.setBackend_id(Long.parseLong(a.get("backend_id")));
                return new HeartbeatService.Client(connect(a)).heartbeat(m);
            }
            case "create": return submit(a, createTask(a));
            case "snapshot": return submit(a, snapshotTask(a));
            case "download": return submit(a, downloadTask(a));
            case "cooldown": return submit(a, cooldownTask(a));
            case "tablet_stat": return new BackendService.Client(connect(a)).get_tablet_stat();
            default: throw new IllegalArgumentException("unknown command " + cmd);
        }
    }

    public static void main(String[] args) throws Exception {
        records = new FileOutputStream(args[0], true);
        boolean framed = args.length > 1 && args[1].equals("framed");
        PrintStream out = new PrintStream(System.out, true, "UTF-8");

        TServerSocket socket = new TServerSocket(new java.net.InetSocketAddress("127.0.0.1", 0));
        int port = socket.getServerSocket().getLocalPort();
        TThreadPoolServer.Args sargs = new TThreadPoolServer.Args(socket)
                .processor(new FrontendService.Processor<>(new RecordingFrontend()))
                .protocolFactory(new TBinaryProtocol.Factory(true, true))
                .transportFactory(framed ? new TFramedTransport.Factory() : new TTransportFactory())
                .minWorkerThreads(2)
                .maxWorkerThreads(64);
        TServer server = new TThreadPoolServer(sargs);
        Thread serving = new Thread(server::serve, "frontend-service");
        serving.setDaemon(true);
        serving.start();
        while (!server.isServing()) Thread.onSpinWait();
        out.println("FrontendService listening on 127.0.0.1:" + port);

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.trim().split("\\s+");
            if (words.length == 0 || words[0].isEmpty()) continue;
            String cmd = words[0];
            if (cmd.equals("quit")) break;
            Map<String, String> a = new HashMap<>();
            for (int i = 1; i < words.length; i++) {
                int eq = words[i].indexOf('=');
                a.put(words[i].substring(0, eq), words[i].substring(eq + 1));
            }
            try {
                TBase<?, ?> r = run(cmd, a);
                out.println("{\"cmd\":" + quote(cmd) + ",\"ok\":true,\"result\":" + json(r) + "}");
            } catch (Exception e) {
                drop(a);
                out.println("{\"cmd\":" + quote(cmd) + ",\"ok\":false,\"error\":" + quote(e.toString()) + "}");
            }
        }
        server.stop();
        records.close();
    }
}
