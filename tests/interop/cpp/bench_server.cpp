// A trivial FrontendService on Apache Thrift's C++ TThreadedServer, following the
// convention of `doris-rs bench rpc --addr` (devtools/src/bench/rpc.rs):
//   getSnapshot:     label_name = decimal reply size -> status OK, meta of that many bytes
//   restoreSnapshot: meta payload, its length in label_name -> status OK (else INVALID_ARGUMENT)
//
//   cpp_bench_server <max-bytes> [buffered|framed]
//
// Prints "FrontendService listening on 127.0.0.1:<port>" once listening; runs until stdin
// closes or it is killed. The reply buffer is built (and touched) once at start, as ours is.

#include <iostream>
#include <string>
#include <thread>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>

#include "FrontendService.h"
#include "peer_common.h"

using namespace apache::thrift;
using namespace apache::thrift::protocol;
using namespace apache::thrift::server;
using namespace doris;

static std::string META;

static size_t wanted(const std::string& label) {
  try {
    size_t used = 0;
    long long n = std::stoll(label, &used);
    if (n >= 0 && used == label.size()) return static_cast<size_t>(n);
  } catch (...) {
  }
  throw TApplicationException("bench: label_name must be a byte count, got " + label);
}

class Bench : public FrontendServiceIf {
 public:
  void getSnapshot(TGetSnapshotResult& r, const TGetSnapshotRequest& req) override {
    size_t n = wanted(req.label_name);
    if (n > META.size())
      throw TApplicationException("bench: " + std::to_string(n) + " bytes asked, the server holds " +
                                  std::to_string(META.size()));
    r.__isset.status = true;
    r.status.status_code = TStatusCode::OK;
    r.__set_meta(META.substr(0, n));
  }

  void restoreSnapshot(TRestoreSnapshotResult& r, const TRestoreSnapshotRequest& req) override {
    size_t n = wanted(req.label_name);
    size_t got = req.__isset.meta ? req.meta.size() : 0;
    r.__isset.status = true;
    if (got == n) {
      r.status.status_code = TStatusCode::OK;
    } else {
      r.status.status_code = TStatusCode::INVALID_ARGUMENT;
      r.status.__set_error_msgs(
          {"bench: meta of " + std::to_string(got) + " bytes, label says " + std::to_string(n)});
    }
  }

  [[noreturn]] static void no(const char* m) {
    throw TApplicationException(TApplicationException::UNKNOWN_METHOD,
                                std::string("bench server does not serve ") + m);
  }
  void getMasterToken(TGetMasterTokenResult&, const TGetMasterTokenRequest&) override { no("getMasterToken"); }
  void getBackendMeta(TGetBackendMetaResult&, const TGetBackendMetaRequest&) override { no("getBackendMeta"); }
  void getMeta(TGetMetaResult&, const TGetMetaRequest&) override { no("getMeta"); }
  void finishTask(TMasterResult&, const TFinishTaskRequest&) override { no("finishTask"); }
  void report(TMasterResult&, const TReportRequest&) override { no("report"); }
  void snapshotLoaderReport(TStatus&, const TSnapshotLoaderReportRequest&) override { no("snapshotLoaderReport"); }
  void loadTxnBegin(TLoadTxnBeginResult&, const TLoadTxnBeginRequest&) override { no("loadTxnBegin"); }
  void loadTxnCommit(TLoadTxnCommitResult&, const TLoadTxnCommitRequest&) override { no("loadTxnCommit"); }
  void loadTxnRollback(TLoadTxnRollbackResult&, const TLoadTxnRollbackRequest&) override { no("loadTxnRollback"); }
  void confirmUnusedRemoteFiles(TConfirmUnusedRemoteFilesResult&, const TConfirmUnusedRemoteFilesRequest&) override {
    no("confirmUnusedRemoteFiles");
  }
  void getBinlog(TGetBinlogResult&, const TGetBinlogRequest&) override { no("getBinlog"); }
  void getBinlogLag(TGetBinlogLagResult&, const TGetBinlogRequest&) override { no("getBinlogLag"); }
  void beginTxn(TBeginTxnResult&, const TBeginTxnRequest&) override { no("beginTxn"); }
  void commitTxn(TCommitTxnResult&, const TCommitTxnRequest&) override { no("commitTxn"); }
  void rollbackTxn(TRollbackTxnResult&, const TRollbackTxnRequest&) override { no("rollbackTxn"); }
  void loadTxnPreCommit(TLoadTxnCommitResult&, const TLoadTxnCommitRequest&) override { no("loadTxnPreCommit"); }
  void loadTxn2PC(TLoadTxn2PCResult&, const TLoadTxn2PCRequest&) override { no("loadTxn2PC"); }
  void getAutoIncrementRange(TAutoIncrementRangeResult&, const TAutoIncrementRangeRequest&) override {
    no("getAutoIncrementRange");
  }
};

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: cpp_bench_server <max-bytes> [buffered|framed]\n";
    return 2;
  }
  size_t max = std::stoull(argv[1]);
  bool framed = argc > 2 && std::string(argv[2]) == "framed";
  META.resize(max);
  for (size_t i = 0; i < max; i++) META[i] = static_cast<char>(i % 251 + 1);

  auto sock = std::make_shared<peer::ListenOnce>("127.0.0.1", 0);
  int port = sock->boundPort();
  TThreadedServer server(std::make_shared<FrontendServiceProcessor>(std::make_shared<Bench>()), sock,
                         peer::factory(framed), std::make_shared<TBinaryProtocolFactory>(0, 0, true, true));
  std::thread serving([&] { server.serve(); });
  std::cout << "FrontendService listening on 127.0.0.1:" << port << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  server.stop();
  serving.join();
  return 0;
}
