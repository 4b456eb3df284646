// A trivial FrontendService on Apache Thrift's Java TThreadPoolServer, following the
// convention of `doris-rs bench rpc --addr` (devtools/src/bench/rpc.rs):
//   getSnapshot:     label_name = decimal reply size -> status OK, meta of that many bytes
//   restoreSnapshot: meta payload, its length in label_name -> status OK (else INVALID_ARGUMENT)
//
//   java JavaBenchServer <max-bytes> [buffered|framed]
//
// Prints "FrontendService listening on 127.0.0.1:<port>" once serving; runs until killed
// or stdin closes. The reply buffer is built (and touched) once at start, as ours is.

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.apache.doris.thrift.*;
import org.apache.thrift.TApplicationException;
import org.apache.thrift.TConfiguration;
import org.apache.thrift.TException;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TEndpointTransport;
import org.apache.thrift.transport.TServerSocket;
import org.apache.thrift.transport.TTransport;
import org.apache.thrift.transport.TTransportException;
import org.apache.thrift.transport.TTransportFactory;
import org.apache.thrift.transport.layered.TFramedTransport;

public class JavaBenchServer {
    static byte[] meta;

    static long wanted(String label) throws TException {
        try {
            return Long.parseLong(label == null ? "" : label.trim());
        } catch (NumberFormatException e) {
            throw new TApplicationException("bench: label_name must be a byte count, got " + label);
        }
    }

    static class Bench implements FrontendService.Iface {
        public TGetSnapshotResult getSnapshot(TGetSnapshotRequest r) throws TException {
            long n = wanted(r.getLabel_name());
            if (n > meta.length) throw new TApplicationException("bench: " + n + " bytes asked, the server holds " + meta.length);
            TGetSnapshotResult res = new TGetSnapshotResult();
            res.setStatus(new TStatus(TStatusCode.OK));
            res.setMeta(ByteBuffer.wrap(meta, 0, (int) n));
            return res;
        }

        public TRestoreSnapshotResult restoreSnapshot(TRestoreSnapshotRequest r) throws TException {
            long n = wanted(r.getLabel_name());
            long got = r.isSetMeta() ? r.bufferForMeta().remaining() : 0;
            TRestoreSnapshotResult res = new TRestoreSnapshotResult();
            if (got == n) {
                res.setStatus(new TStatus(TStatusCode.OK));
            } else {
                TStatus s = new TStatus(TStatusCode.INVALID_ARGUMENT);
                s.addToError_msgs("bench: meta of " + got + " bytes, label says " + n);
                res.setStatus(s);
            }
            return res;
        }

        TException no(String m) {
            return new TApplicationException(TApplicationException.UNKNOWN_METHOD, "bench server does not serve " + m);
        }

        public TGetMasterTokenResult getMasterToken(TGetMasterTokenRequest r) throws TException { throw no("getMasterToken"); }
        public TGetBackendMetaResult getBackendMeta(TGetBackendMetaRequest r) throws TException { throw no("getBackendMeta"); }
        public TGetMetaResult getMeta(TGetMetaRequest r) throws TException { throw no("getMeta"); }
        public TMasterResult finishTask(TFinishTaskRequest r) throws TException { throw no("finishTask"); }
        public TMasterResult report(TReportRequest r) throws TException { throw no("report"); }
        public TStatus snapshotLoaderReport(TSnapshotLoaderReportRequest r) throws TException { throw no("snapshotLoaderReport"); }
        public TLoadTxnBeginResult loadTxnBegin(TLoadTxnBeginRequest r) throws TException { throw no("loadTxnBegin"); }
        public TLoadTxnCommitResult loadTxnCommit(TLoadTxnCommitRequest r) throws TException { throw no("loadTxnCommit"); }
        public TLoadTxnRollbackResult loadTxnRollback(TLoadTxnRollbackRequest r) throws TException { throw no("loadTxnRollback"); }
        public TConfirmUnusedRemoteFilesResult confirmUnusedRemoteFiles(TConfirmUnusedRemoteFilesRequest r) throws TException { throw no("confirmUnusedRemoteFiles"); }
        public TGetBinlogResult getBinlog(TGetBinlogRequest r) throws TException { throw no("getBinlog"); }
        public TGetBinlogLagResult getBinlogLag(TGetBinlogRequest r) throws TException { throw no("getBinlogLag"); }
        public TBeginTxnResult beginTxn(TBeginTxnRequest r) throws TException { throw no("beginTxn"); }
        public TCommitTxnResult commitTxn(TCommitTxnRequest r) throws TException { throw no("commitTxn"); }
        public TRollbackTxnResult rollbackTxn(TRollbackTxnRequest r) throws TException { throw no("rollbackTxn"); }
        public TLoadTxnCommitResult loadTxnPreCommit(TLoadTxnCommitRequest r) throws TException { throw no("loadTxnPreCommit"); }
        public TLoadTxn2PCResult loadTxn2PC(TLoadTxn2PCRequest r) throws TException { throw no("loadTxn2PC"); }
        public TAutoIncrementRangeResult getAutoIncrementRange(TAutoIncrementRangeRequest r) throws TException { throw no("getAutoIncrementRange"); }
    }

    /** Lifts the library's 100 MB message limit (and 16 MB frame limit) per connection. */
    static class Unlimited extends TTransportFactory {
        final boolean framed;

        Unlimited(boolean framed) {
            this.framed = framed;
        }

        @Override
        public TTransport getTransport(TTransport base) throws TTransportException {
            TConfiguration c = base.getConfiguration();
            c.setMaxMessageSize(Integer.MAX_VALUE);
            c.setMaxFrameSize(Integer.MAX_VALUE);
            if (base instanceof TEndpointTransport) ((TEndpointTransport) base).updateKnownMessageSize(0);
            return framed ? new TFramedTransport(base, Integer.MAX_VALUE) : base;
        }
    }

    public static void main(String[] args) throws Exception {
        int max = Integer.parseInt(args[0]);
        boolean framed = args.length > 1 && args[1].equals("framed");
        meta = new byte[max];
        for (int i = 0; i < max; i++) meta[i] = (byte) (i % 251 + 1);

        TServerSocket socket = new TServerSocket(new java.net.InetSocketAddress("127.0.0.1", 0));
        int port = socket.getServerSocket().getLocalPort();
        TThreadPoolServer.Args sargs = new TThreadPoolServer.Args(socket)
                .processor(new FrontendService.Processor<>(new Bench()))
                .protocolFactory(new TBinaryProtocol.Factory(true, true))
                .transportFactory(new Unlimited(framed))
                .minWorkerThreads(4)
                .maxWorkerThreads(256);
        TServer server = new TThreadPoolServer(sargs);
        Thread serving = new Thread(server::serve, "frontend-service");
        serving.setDaemon(true);
        serving.start();
        while (!server.isServing()) Thread.onSpinWait();
        System.out.println("FrontendService listening on 127.0.0.1:" + port);
        System.out.flush();
        // Until stdin closes (the driver went away) or we are killed.
        while (System.in.read() >= 0) {
        }
        server.stop();
    }
}
