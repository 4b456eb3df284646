// The C++ BE's side of the agent protocol, on Apache Thrift's C++ library.
//
//   cpp_peer be <records.jsonl> <http_port> <brpc_port> <buffered|framed> <storage_root>
//     A "BE": TThreadedServer BackendService and HeartbeatService on two kernel-picked
//     ports (printed as "<Service> listening on 127.0.0.1:<port>"), until stdin closes.
//     Every heartbeat (TMasterInfo) and every agent task (TAgentTaskRequest) is recorded
//     field by field as one JSON line {"method":..., "request":...} in the records file
//     (optional fields only when set). Tasks run on a thread of their own, as on the BE's
//     worker pools, and are acknowledged as the C++ BE does: a finishTask to the master FE
//     of the last heartbeat, through a TBufferedTransport + TBinaryProtocol client (the
//     BE's FE client cache). What the peer sends is recorded as {"method":"finishTask"},
//     the FE's answer as {"method":"finishTask.reply"}. Task types are dispatched in
//     TASK_HANDLERS:
//       CREATE            keep the tablet, answer with its TTabletInfo
//       DROP              forget the tablet
//       MAKE_SNAPSHOT     write <storage_root>/snapshot/<time>.<seq>.<timeout>/<tablet>/<schema_hash>/
//                         (<tablet>.hdr and one segment file); answer snapshot_path and,
//                         when list_files, snapshot_files
//       UPLOAD            put each file of each snapshot dir of src_dest_map under its s3://
//                         dest as <file>.<md5>; answer tablet_files (S3 repositories only,
//                         as a C++ BE takes no LOCAL ones).
//                         While <storage_root>/short_uploads holds a count N > 0, an
//                         UPLOAD answers each tablet's list without its last file and
//                         counts N down (a BE whose upload went wrong)
//       RELEASE_SNAPSHOT  delete the snapshot dir
//
//   cpp_peer call <fe_host:port> <buffered|framed> <user> <password> <backend_id>
//                 <backend_host> <be_port> <http_port> [<db>]
//     The C++ BE's FE client: finishTask, report, getMasterToken, getBackendMeta,
//     getSnapshot, restoreSnapshot (and getMeta of <db> when given) against an FE; prints
//     one JSON line per call:
//     {"method":..., "result":...} or {"method":..., "error":...}.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>

#include "BackendService.h"
#include "FrontendService.h"
#include "HeartbeatService.h"
#include "peer_common.h"

using namespace apache::thrift;
using namespace apache::thrift::protocol;
using namespace apache::thrift::server;
using namespace apache::thrift::transport;
using namespace doris;
using peer::jbool;
using peer::jlist;
using peer::jnum;
using peer::jstr;
using peer::Obj;

#define OPT(o, s, f, conv) \
  if ((s).__isset.f) (o).raw(#f, conv((s).f))

// ---------------------------------------------------------------- JSON of what we receive

static std::string j(const TNetworkAddress& a) { return Obj().str("hostname", a.hostname).num("port", a.port).json(); }

static std::string j(const TStatus& s) {
  Obj o;
  o.num("status_code", s.status_code);
  OPT(o, s, error_msgs, [](auto& v) { return jlist(v, jstr); });
  return o.json();
}

static std::string j(const TColumnType& t) {
  Obj o;
  o.num("type", t.type);
  OPT(o, t, len, jnum);
  OPT(o, t, index_len, jnum);
  OPT(o, t, precision, jnum);
  OPT(o, t, scale, jnum);
  OPT(o, t, variant_max_subcolumns_count, jnum);
  return o.json();
}

static std::string j(const TColumn& c) {
  Obj o;
  o.str("column_name", c.column_name).raw("column_type", j(c.column_type));
  OPT(o, c, aggregation_type, jnum);
  OPT(o, c, is_key, jbool);
  OPT(o, c, is_allow_null, jbool);
  OPT(o, c, default_value, jstr);
  OPT(o, c, is_bloom_filter_column, jbool);
  OPT(o, c, visible, jbool);
  OPT(o, c, col_unique_id, jnum);
  OPT(o, c, is_auto_increment, jbool);
  return o.json();
}

static std::string j(const TTabletSchema& s) {
  Obj o;
  o.num("short_key_column_count", s.short_key_column_count)
      .num("schema_hash", s.schema_hash)
      .num("keys_type", s.keys_type)
      .num("storage_type", s.storage_type)
      .raw("columns", jlist(s.columns, [](const TColumn& c) { return j(c); }));
  OPT(o, s, bloom_filter_fpp, [](double d) { std::ostringstream t; t << d; return t.str(); });
  OPT(o, s, is_in_memory, jbool);
  OPT(o, s, delete_sign_idx, jnum);
  OPT(o, s, sequence_col_idx, jnum);
  OPT(o, s, disable_auto_compaction, jbool);
  OPT(o, s, version_col_idx, jnum);
  OPT(o, s, store_row_column, jbool);
  return o.json();
}

static std::string j(const TBinlogConfig& b) {
  Obj o;
  OPT(o, b, enable, jbool);
  OPT(o, b, ttl_seconds, jnum);
  OPT(o, b, max_bytes, jnum);
  OPT(o, b, max_history_nums, jnum);
  return o.json();
}

static std::string j(const TCreateTabletReq& r) {
  Obj o;
  o.num("tablet_id", r.tablet_id).raw("tablet_schema", j(r.tablet_schema));
  OPT(o, r, version, jnum);
  OPT(o, r, storage_medium, jnum);
  OPT(o, r, in_restore_mode, jbool);
  OPT(o, r, table_id, jnum);
  OPT(o, r, partition_id, jnum);
  OPT(o, r, storage_format, jnum);
  OPT(o, r, tablet_type, jnum);
  OPT(o, r, compression_type, jnum);
  OPT(o, r, replica_id, jnum);
  OPT(o, r, enable_unique_key_merge_on_write, jbool);
  OPT(o, r, storage_policy_id, jnum);
  OPT(o, r, binlog_config, [](const TBinlogConfig& b) { return j(b); });
  OPT(o, r, compaction_policy, jstr);
  return o.json();
}

static std::string j(const TDropTabletReq& r) {
  Obj o;
  o.num("tablet_id", r.tablet_id);
  OPT(o, r, schema_hash, jnum);
  OPT(o, r, replica_id, jnum);
  OPT(o, r, is_drop_table_or_partition, jbool);
  return o.json();
}

static std::string jmap(const std::map<std::string, std::string>& m) {
  Obj o;
  for (auto& [k, v] : m) o.str(k, v);
  return o.json();
}

static std::string j(const TSnapshotRequest& r) {
  Obj o;
  o.num("tablet_id", r.tablet_id).num("schema_hash", r.schema_hash);
  OPT(o, r, version, jnum);
  OPT(o, r, version_hash, jnum);
  OPT(o, r, timeout, jnum);
  OPT(o, r, missing_version, [](auto& v) { return jlist(v, jnum); });
  OPT(o, r, list_files, jbool);
  OPT(o, r, allow_incremental_clone, jbool);
  OPT(o, r, preferred_snapshot_version, jnum);
  OPT(o, r, is_copy_tablet_task, jbool);
  OPT(o, r, start_version, jnum);
  OPT(o, r, end_version, jnum);
  OPT(o, r, is_copy_binlog, jbool);
  OPT(o, r, ref_tablet_id, jnum);
  return o.json();
}

static std::string j(const TUploadReq& r) {
  Obj o;
  o.num("job_id", r.job_id).raw("src_dest_map", jmap(r.src_dest_map)).raw("broker_addr", j(r.broker_addr));
  OPT(o, r, broker_prop, jmap);
  OPT(o, r, storage_backend, jnum);
  OPT(o, r, location, jstr);
  return o.json();
}

static std::string j(const TAgentTaskRequest& t) {
  Obj o;
  o.num("protocol_version", t.protocol_version).num("task_type", t.task_type).num("signature", t.signature);
  OPT(o, t, priority, jnum);
  OPT(o, t, recv_time, jnum);
  if (t.__isset.create_tablet_req) o.raw("create_tablet_req", j(t.create_tablet_req));
  if (t.__isset.drop_tablet_req) o.raw("drop_tablet_req", j(t.drop_tablet_req));
  if (t.__isset.snapshot_req) o.raw("snapshot_req", j(t.snapshot_req));
  if (t.__isset.upload_req) o.raw("upload_req", j(t.upload_req));
  if (t.__isset.release_snapshot_req)
    o.raw("release_snapshot_req", Obj().str("snapshot_path", t.release_snapshot_req.snapshot_path).json());
  // Members not recorded field by field: their presence is.
  for (auto [name, set] : {std::pair{"download_req", t.__isset.download_req},
                           std::pair{"publish_version_req", t.__isset.publish_version_req},
                           std::pair{"move_dir_req", t.__isset.move_dir_req},
                           std::pair{"push_cooldown_conf", t.__isset.push_cooldown_conf},
                           std::pair{"push_storage_policy_req", t.__isset.push_storage_policy_req},
                           std::pair{"resource_info", t.__isset.resource_info}}) {
    if (set) o.raw(name, "{}");
  }
  return o.json();
}

static std::string j(const TMasterInfo& m) {
  Obj o;
  o.raw("network_address", j(m.network_address)).num("cluster_id", m.cluster_id).num("epoch", m.epoch);
  OPT(o, m, token, jstr);
  OPT(o, m, backend_ip, jstr);
  OPT(o, m, http_port, jnum);
  OPT(o, m, heartbeat_flags, jnum);
  OPT(o, m, backend_id, jnum);
  OPT(o, m, frontend_infos, [](auto& v) {
    return jlist(v, [](const TFrontendInfo& f) {
      Obj i;
      if (f.__isset.coordinator_address) i.raw("coordinator_address", j(f.coordinator_address));
      OPT(i, f, process_uuid, jnum);
      return i.json();
    });
  });
  OPT(o, m, meta_service_endpoint, jstr);
  OPT(o, m, cloud_unique_id, jstr);
  OPT(o, m, tablet_report_inactive_duration_ms, jnum);
  return o.json();
}

static std::string j(const TBackend& b) {
  Obj o;
  o.str("host", b.host).num("be_port", b.be_port).num("http_port", b.http_port);
  OPT(o, b, brpc_port, jnum);
  OPT(o, b, is_alive, jbool);
  OPT(o, b, id, jnum);
  return o.json();
}

// ---------------------------------------------------------------- the BE

class Records {
 public:
  explicit Records(const std::string& path) : out_(path, std::ios::app) {}
  void add(const std::string& method, const std::string& request) {
    std::lock_guard<std::mutex> g(mu_);
    out_ << "{\"method\":" << peer::quote(method) << ",\"request\":" << request << "}\n";
    out_.flush();
  }

 private:
  std::mutex mu_;
  std::ofstream out_;
};

struct BeState {
  Records* records;
  int be_port = 0;
  int http_port = 0;
  int brpc_port = 0;
  int64_t start_ms = 0;
  std::string storage_root;
  std::atomic<int64_t> snapshot_seq{0};
  std::mutex mu;
  // From the last heartbeat.
  TNetworkAddress master;
  bool has_master = false;
  std::string backend_ip = "127.0.0.1";
  int64_t backend_id = -1;
  std::map<int64_t, TTabletInfo> tablets;

  TBackend backend() {
    std::lock_guard<std::mutex> g(mu);
    TBackend b;
    b.host = backend_ip;
    b.be_port = be_port;
    b.http_port = http_port;
    b.__set_brpc_port(brpc_port);
    if (backend_id >= 0) b.__set_id(backend_id);
    return b;
  }
};

static int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// finishTask to the master, as the C++ BE's FE client cache does (buffered, binary).
static std::string j(const TFinishTaskRequest& f) {
  Obj o;
  o.raw("backend", j(f.backend)).num("task_type", f.task_type).num("signature", f.signature);
  o.raw("task_status", j(f.task_status));
  OPT(o, f, report_version, jnum);
  OPT(o, f, finish_tablet_infos, [](auto& v) { return jnum(v.size()); });
  OPT(o, f, snapshot_path, jstr);
  OPT(o, f, snapshot_files, [](auto& v) { return jlist(v, jstr); });
  OPT(o, f, tablet_files, [](auto& m) {
    Obj t;
    for (auto& [id, files] : m) t.raw(std::to_string(id), jlist(files, jstr));
    return t.json();
  });
  return o.json();
}

static void send_finish(BeState* st, TFinishTaskRequest req) {
  st->records->add("finishTask", j(req));
  TNetworkAddress m;
  {
    std::lock_guard<std::mutex> g(st->mu);
    m = st->master;
  }
  try {
    auto sock = std::make_shared<TSocket>(m.hostname, m.port);
    sock->setConnTimeout(5000);
    sock->setRecvTimeout(30000);
    auto trans = std::make_shared<TBufferedTransport>(sock);
    FrontendServiceClient client(std::make_shared<TBinaryProtocol>(trans));
    trans->open();
    TMasterResult r;
    client.finishTask(r, req);
    trans->close();
    st->records->add("finishTask.reply", Obj()
                                             .num("task_type", req.task_type)
                                             .num("signature", req.signature)
                                             .raw("status", j(r.status))
                                             .json());
  } catch (const std::exception& e) {
    st->records->add("finishTask.reply", Obj()
                                             .num("task_type", req.task_type)
                                             .num("signature", req.signature)
                                             .str("error", e.what())
                                             .json());
  }
}

static TFinishTaskRequest finish_of(BeState* st, const TAgentTaskRequest& t) {
  TFinishTaskRequest f;
  f.backend = st->backend();
  f.task_type = t.task_type;
  f.signature = t.signature;
  f.task_status.status_code = TStatusCode::OK;
  return f;
}

// CREATE: keep the tablet, answer with its TTabletInfo (as the BE's create worker).
static void create_tablet(BeState* st, const TAgentTaskRequest& t, TFinishTaskRequest& f) {
  const TCreateTabletReq& c = t.create_tablet_req;
  TTabletInfo i;
  i.tablet_id = c.tablet_id;
  i.schema_hash = c.tablet_schema.schema_hash;
  i.version = c.__isset.version ? c.version : 1;
  i.version_hash = 0;
  i.row_count = 0;
  i.data_size = 0;
  i.__set_storage_medium(c.__isset.storage_medium ? c.storage_medium : TStorageMedium::HDD);
  i.__set_total_version_count(1);
  i.__set_path_hash(4242);
  i.__set_used(true);
  if (c.__isset.partition_id) i.__set_partition_id(c.partition_id);
  if (c.__isset.replica_id) i.__set_replica_id(c.replica_id);
  i.__set_remote_data_size(0);
  i.__set_visible_version_count(1);
  {
    std::lock_guard<std::mutex> g(st->mu);
    st->tablets[c.tablet_id] = i;
  }
  f.__set_finish_tablet_infos({i});
  f.__set_report_version(now_ms());
}

static void drop_tablet(BeState* st, const TAgentTaskRequest& t, TFinishTaskRequest&) {
  std::lock_guard<std::mutex> g(st->mu);
  st->tablets.erase(t.drop_tablet_req.tablet_id);
}

namespace fs = std::filesystem;

// A task that cannot be done: its finishTask carries the status and the reason.
struct TaskFailure {
  TStatusCode::type code;
  std::string msg;
};

static std::string md5_hex_of_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw TaskFailure{TStatusCode::IO_ERROR, "cannot open " + p.string()};
  peer::Md5 md5;
  char buf[64 * 1024];
  while (in) {
    in.read(buf, sizeof buf);
    if (in.gcount() > 0) md5.update(buf, static_cast<size_t>(in.gcount()));
  }
  return md5.hex();
}

static void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw TaskFailure{TStatusCode::IO_ERROR, "cannot write " + p.string()};
}

static std::vector<std::string> sorted_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// MAKE_SNAPSHOT: the BE's snapshot layout, <root>/snapshot/<yyyyMMddHHmmss>.<seq>.<timeout>/
// <tablet_id>/<schema_hash>/, holding the tablet header and one segment of the version.
static void make_snapshot(BeState* st, const TAgentTaskRequest& t, TFinishTaskRequest& f) {
  const TSnapshotRequest& r = t.snapshot_req;
  TTabletInfo info;
  {
    std::lock_guard<std::mutex> g(st->mu);
    auto it = st->tablets.find(r.tablet_id);
    if (it == st->tablets.end())
      throw TaskFailure{TStatusCode::NOT_FOUND, "tablet " + std::to_string(r.tablet_id) + " not found"};
    info = it->second;
  }
  int64_t version = r.__isset.version ? r.version : info.version;
  if (version > info.version)
    throw TaskFailure{TStatusCode::INVALID_ARGUMENT, "tablet " + std::to_string(r.tablet_id) + " has no version " +
                                                         std::to_string(version)};
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", std::localtime(&now));
  int64_t timeout = r.__isset.timeout ? r.timeout : 86400;
  std::string path = st->storage_root + "/snapshot/" + stamp + "." + std::to_string(++st->snapshot_seq) + "." +
                     std::to_string(timeout);
  fs::path dir = fs::path(path) / std::to_string(r.tablet_id) / std::to_string(r.schema_hash);
  fs::create_directories(dir);
  std::string id = std::to_string(r.tablet_id);
  write_file(dir / (id + ".hdr"), Obj()
                                      .num("tablet_id", r.tablet_id)
                                      .num("schema_hash", r.schema_hash)
                                      .num("version", version)
                                      .json());
  std::string segment;
  for (int64_t i = 0; i < 1000; i++) segment += "cpp_peer tablet " + id + " row " + std::to_string(i) + "\n";
  write_file(dir / ("0200000000000000" + id + "_0.dat"), segment);
  f.__set_snapshot_path(path);
  if (r.__isset.list_files && r.list_files) f.__set_snapshot_files(sorted_names(dir));
}

// Whether this UPLOAD answers short: <storage_root>/short_uploads counts them down.
static bool take_short_upload(BeState* st) {
  std::lock_guard<std::mutex> g(st->mu);
  fs::path counter = fs::path(st->storage_root) / "short_uploads";
  std::ifstream in(counter);
  int n = 0;
  if (!(in >> n) || n <= 0) return false;
  in.close();
  std::ofstream(counter, std::ios::trunc) << (n - 1);
  return true;
}

// S3 as this stand-in speaks it: one path-style PUT per object, over a plain socket, with
// an Authorization header that names the access key but carries no real signature. A real
// C++ BE signs its requests (SigV4, through the AWS SDK); moto, the S3 server the tests
// run, checks no signatures but refuses anonymous overwrites (an UPLOAD sent again).
struct S3Endpoint {
  std::string host;
  int port = 80;
};

static S3Endpoint s3_endpoint(const std::map<std::string, std::string>& props) {
  auto it = props.find("AWS_ENDPOINT");
  if (it == props.end()) throw TaskFailure{TStatusCode::INVALID_ARGUMENT, "broker_prop has no AWS_ENDPOINT"};
  std::string e = it->second;
  for (std::string scheme : {"http://", "https://"})
    if (e.rfind(scheme, 0) == 0) e = e.substr(scheme.size());
  e = e.substr(0, e.find('/'));
  S3Endpoint ep;
  auto colon = e.rfind(':');
  ep.host = e.substr(0, colon);
  if (colon != std::string::npos) ep.port = std::stoi(e.substr(colon + 1));
  return ep;
}

static void s3_put(const S3Endpoint& ep, const std::string& access_key, const std::string& s3_url,
                   const std::string& body) {
  const std::string scheme = "s3://";
  if (s3_url.rfind(scheme, 0) != 0) throw TaskFailure{TStatusCode::INVALID_ARGUMENT, "not an s3:// path: " + s3_url};
  std::string req = "PUT /" + s3_url.substr(scheme.size()) + " HTTP/1.1\r\nHost: " + ep.host + ":" +
                    std::to_string(ep.port) +
                    "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" + access_key +
                    "/19700101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=unsigned" +
                    "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body;
  TSocket sock(ep.host, ep.port);
  sock.open();
  sock.write(reinterpret_cast<const uint8_t*>(req.data()), req.size());
  std::string resp;
  uint8_t buf[4096];
  while (uint32_t n = sock.read(buf, sizeof buf)) resp.append(reinterpret_cast<char*>(buf), n);
  sock.close();
  if (resp.rfind("HTTP/1.1 200", 0) != 0)
    throw TaskFailure{TStatusCode::INTERNAL_ERROR, "PUT " + s3_url + ": " + resp.substr(0, resp.find('\r')) + " " +
                                                       resp.substr(resp.find("\r\n\r\n") == std::string::npos ? resp.size() : resp.find("\r\n\r\n") + 4, 400)};
}

static std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// UPLOAD: src is <snapshot_path>/<tablet_id>/<schema_hash>, dest an s3:// prefix.
static void upload(BeState* st, const TAgentTaskRequest& t, TFinishTaskRequest& f) {
  const TUploadReq& r = t.upload_req;
  // A C++ BE's snapshot loader knows S3, HDFS and brokers; LOCAL is none of them.
  if (!r.__isset.storage_backend || r.storage_backend != TStorageBackendType::S3)
    throw TaskFailure{TStatusCode::NOT_IMPLEMENTED_ERROR, "cpp_peer uploads to S3 repositories only"};
  S3Endpoint ep = s3_endpoint(r.broker_prop);
  auto key = r.broker_prop.find("AWS_ACCESS_KEY");
  const std::string access_key = key == r.broker_prop.end() ? "anonymous" : key->second;
  std::map<int64_t, std::vector<std::string>> tablet_files;
  for (auto& [src, dest] : r.src_dest_map) {
    fs::path src_dir(src);
    int64_t tablet_id = std::stoll(src_dir.parent_path().filename().string());
    auto& names = tablet_files[tablet_id];
    for (auto& name : sorted_names(src_dir)) {
      std::string remote = name + "." + md5_hex_of_file(src_dir / name);
      s3_put(ep, access_key, dest + "/" + remote, read_file(src_dir / name));
      names.push_back(remote);
    }
  }
  if (take_short_upload(st)) {
    for (auto& [_, names] : tablet_files)
      if (!names.empty()) names.pop_back();
  }
  f.__set_tablet_files(tablet_files);
}

static void release_snapshot_dir(BeState* st, const TAgentTaskRequest& t, TFinishTaskRequest&) {
  const std::string& path = t.release_snapshot_req.snapshot_path;
  // Only ever delete inside our own snapshot dir.
  if (path.rfind(st->storage_root + "/snapshot/", 0) != 0)
    throw TaskFailure{TStatusCode::INVALID_ARGUMENT, "not a snapshot of this BE: " + path};
  fs::remove_all(path);
}

// Task type -> what the BE does before its finishTask. Types missing here are recorded
// and acknowledged with NOT_IMPLEMENTED_ERROR.
static const std::map<int, std::function<void(BeState*, const TAgentTaskRequest&, TFinishTaskRequest&)>>
    TASK_HANDLERS = {
        {TTaskType::CREATE, create_tablet},
        {TTaskType::DROP, drop_tablet},
        {TTaskType::MAKE_SNAPSHOT, make_snapshot},
        {TTaskType::UPLOAD, upload},
        {TTaskType::RELEASE_SNAPSHOT, release_snapshot_dir},
};

// One task on a worker thread: do it, then report it to the master.
static void run_task(BeState* st, TAgentTaskRequest t) {
  TFinishTaskRequest f = finish_of(st, t);
  auto h = TASK_HANDLERS.find(t.task_type);
  try {
    if (h == TASK_HANDLERS.end())
      throw TaskFailure{TStatusCode::NOT_IMPLEMENTED_ERROR,
                        "task type " + std::to_string(t.task_type) + " is not implemented by cpp_peer"};
    h->second(st, t, f);
  } catch (const TaskFailure& e) {
    f.task_status.status_code = e.code;
    f.task_status.__set_error_msgs({e.msg});
  } catch (const std::exception& e) {
    f.task_status.status_code = TStatusCode::INTERNAL_ERROR;
    f.task_status.__set_error_msgs({e.what()});
  }
  send_finish(st, f);
}

class Backend : public BackendServiceIf {
 public:
  explicit Backend(BeState* st) : st_(st) {}

  void submit_tasks(TAgentResult& r, const std::vector<TAgentTaskRequest>& tasks) override {
    for (const auto& t : tasks) {
      st_->records->add("submit_tasks", j(t));
      // After submit_tasks returns, as the BE's worker pools do.
      std::thread(run_task, st_, t).detach();
    }
    r.status.status_code = TStatusCode::OK;
  }

  void make_snapshot(TAgentResult& r, const TSnapshotRequest& s) override {
    st_->records->add("make_snapshot", Obj().num("tablet_id", s.tablet_id).num("schema_hash", s.schema_hash).json());
    r.status.status_code = TStatusCode::NOT_IMPLEMENTED_ERROR;
  }

  void release_snapshot(TAgentResult& r, const std::string& path) override {
    st_->records->add("release_snapshot", jstr(path));
    r.status.status_code = TStatusCode::NOT_IMPLEMENTED_ERROR;
  }

  // CCR ingest is not part of what this stand-in plays.
  void ingest_binlog(TIngestBinlogResult&, const TIngestBinlogRequest&) override {
    throw TApplicationException(TApplicationException::UNKNOWN_METHOD, "stand-in BE does not ingest binlogs");
  }
  void query_ingest_binlog(TQueryIngestBinlogResult&, const TQueryIngestBinlogRequest&) override {
    throw TApplicationException(TApplicationException::UNKNOWN_METHOD, "stand-in BE does not ingest binlogs");
  }

  void get_tablet_stat(TTabletStatResult& r) override {
    std::lock_guard<std::mutex> g(st_->mu);
    for (auto& [id, i] : st_->tablets) {
      TTabletStat s;
      s.tablet_id = id;
      s.__set_data_size(0);
      s.__set_row_count(0);
      s.__set_visible_version(i.version);
      r.tablets_stats[id] = s;
    }
  }

 private:
  BeState* st_;
};

class Heartbeat : public HeartbeatServiceIf {
 public:
  explicit Heartbeat(BeState* st) : st_(st) {}

  void heartbeat(THeartbeatResult& r, const TMasterInfo& m) override {
    st_->records->add("heartbeat", j(m));
    {
      std::lock_guard<std::mutex> g(st_->mu);
      st_->master = m.network_address;
      st_->has_master = true;
      if (m.__isset.backend_ip) st_->backend_ip = m.backend_ip;
      if (m.__isset.backend_id) st_->backend_id = m.backend_id;
    }
    r.status.status_code = TStatusCode::OK;
    r.backend_info.be_port = st_->be_port;
    r.backend_info.http_port = st_->http_port;
    r.backend_info.__set_be_rpc_port(-1);
    r.backend_info.__set_brpc_port(st_->brpc_port);
    r.backend_info.__set_version("cpp-be-peer-1.0");
    r.backend_info.__set_be_start_time(st_->start_ms);
    r.backend_info.__set_be_node_role("mix");
    r.backend_info.__set_is_shutdown(false);
    r.backend_info.__set_be_mem(8LL << 30);
  }

 private:
  BeState* st_;
};

static int run_be(int argc, char** argv) {
  if (argc < 7) {
    std::cerr << "usage: cpp_peer be <records.jsonl> <http_port> <brpc_port> <buffered|framed> <storage_root>\n";
    return 2;
  }
  Records records(argv[2]);
  BeState st;
  st.records = &records;
  st.http_port = std::stoi(argv[3]);
  st.brpc_port = std::stoi(argv[4]);
  st.start_ms = now_ms();
  bool framed = std::string(argv[5]) == "framed";
  st.storage_root = fs::absolute(argv[6]).lexically_normal().string();
  while (st.storage_root.size() > 1 && st.storage_root.back() == '/') st.storage_root.pop_back();
  fs::create_directories(st.storage_root);

  auto be_sock = std::make_shared<peer::ListenOnce>("127.0.0.1", 0);
  auto hb_sock = std::make_shared<peer::ListenOnce>("127.0.0.1", 0);
  st.be_port = be_sock->boundPort();
  int hb_port = hb_sock->boundPort();
  auto proto = std::make_shared<TBinaryProtocolFactory>(0, 0, true, true);
  TThreadedServer be_server(std::make_shared<BackendServiceProcessor>(std::make_shared<Backend>(&st)), be_sock,
                            peer::factory(framed), proto);
  TThreadedServer hb_server(std::make_shared<HeartbeatServiceProcessor>(std::make_shared<Heartbeat>(&st)), hb_sock,
                            peer::factory(framed), proto);
  std::thread t1([&] { be_server.serve(); });
  std::thread t2([&] { hb_server.serve(); });
  std::cout << "BackendService listening on 127.0.0.1:" << st.be_port << std::endl;
  std::cout << "HeartbeatService listening on 127.0.0.1:" << hb_port << std::endl;
  // Until the driver closes stdin.
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  be_server.stop();
  hb_server.stop();
  t1.join();
  t2.join();
  return 0;
}

// ---------------------------------------------------------------- the FE client

static std::string j(const TGetMetaReplicaMeta& r) {
  Obj o;
  OPT(o, r, id, jnum);
  OPT(o, r, backend_id, jnum);
  OPT(o, r, version, jnum);
  return o.json();
}

static std::string j(const TGetMetaTabletMeta& t) {
  Obj o;
  OPT(o, t, id, jnum);
  OPT(o, t, replicas, [](auto& v) { return jlist(v, [](const TGetMetaReplicaMeta& r) { return j(r); }); });
  return o.json();
}

static std::string j(const TGetMetaIndexMeta& i) {
  Obj o;
  OPT(o, i, id, jnum);
  OPT(o, i, name, jstr);
  OPT(o, i, tablets, [](auto& v) { return jlist(v, [](const TGetMetaTabletMeta& t) { return j(t); }); });
  return o.json();
}

static std::string j(const TGetMetaPartitionMeta& p) {
  Obj o;
  OPT(o, p, id, jnum);
  OPT(o, p, name, jstr);
  OPT(o, p, key, jstr);
  OPT(o, p, range, jstr);
  OPT(o, p, visible_version, jnum);
  OPT(o, p, is_temp, jbool);
  OPT(o, p, indexes, [](auto& v) { return jlist(v, [](const TGetMetaIndexMeta& i) { return j(i); }); });
  return o.json();
}

static std::string j(const TGetMetaTableMeta& t) {
  Obj o;
  OPT(o, t, id, jnum);
  OPT(o, t, name, jstr);
  OPT(o, t, in_trash, jbool);
  OPT(o, t, partitions, [](auto& v) { return jlist(v, [](const TGetMetaPartitionMeta& p) { return j(p); }); });
  return o.json();
}

static std::string j(const TGetMetaDBMeta& d) {
  Obj o;
  OPT(o, d, id, jnum);
  OPT(o, d, name, jstr);
  OPT(o, d, tables, [](auto& v) { return jlist(v, [](const TGetMetaTableMeta& t) { return j(t); }); });
  return o.json();
}

static std::string j_result(const TMasterResult& r) { return Obj().raw("status", j(r.status)).json(); }

static int run_call(int argc, char** argv) {
  if (argc < 10) {
    std::cerr << "usage: cpp_peer call <fe_host:port> <buffered|framed> <user> <password> <backend_id> "
                 "<backend_host> <be_port> <http_port> [<db>]\n";
    return 2;
  }
  std::string addr = argv[2];
  auto colon = addr.rfind(':');
  std::string host = addr.substr(0, colon);
  int port = std::stoi(addr.substr(colon + 1));
  bool framed = std::string(argv[3]) == "framed";
  std::string user = argv[4], password = argv[5];
  int64_t backend_id = std::stoll(argv[6]);
  TBackend backend;
  backend.host = argv[7];
  backend.be_port = std::stoi(argv[8]);
  backend.http_port = std::stoi(argv[9]);
  backend.__set_id(backend_id);

  auto sock = std::make_shared<TSocket>(host, port);
  sock->setConnTimeout(10000);
  sock->setRecvTimeout(60000);
  std::shared_ptr<TTransport> trans;
  if (framed)
    trans = std::make_shared<TFramedTransport>(sock);
  else
    trans = std::make_shared<TBufferedTransport>(sock);
  FrontendServiceClient client(std::make_shared<TBinaryProtocol>(trans));
  trans->open();

  int failures = 0;
  auto call = [&](const char* method, const std::function<std::string()>& f) {
    try {
      std::cout << Obj().str("method", method).raw("result", f()).json() << std::endl;
    } catch (const std::exception& e) {
      failures++;
      std::cout << Obj().str("method", method).str("error", e.what()).json() << std::endl;
      // A broken connection would fail every later call: reconnect.
      try {
        trans->close();
        trans->open();
      } catch (...) {
      }
    }
  };

  call("finishTask", [&] {
    TFinishTaskRequest req;
    req.backend = backend;
    req.task_type = TTaskType::CREATE;
    req.signature = 987654321;
    req.task_status.status_code = TStatusCode::OK;
    TTabletInfo i;
    i.tablet_id = 123456;
    i.schema_hash = 368169781;
    i.version = 1;
    i.version_hash = 0;
    i.row_count = 0;
    i.data_size = 0;
    i.__set_storage_medium(TStorageMedium::HDD);
    req.__set_finish_tablet_infos({i});
    req.__set_report_version(1);
    TMasterResult r;
    client.finishTask(r, req);
    return j_result(r);
  });

  call("report", [&] {
    TReportRequest req;
    req.backend = backend;
    req.__set_report_version(now_ms());
    TDisk d;
    d.root_path = "/cpp-peer/storage";
    d.disk_total_capacity = 1000LL << 30;
    d.data_used_capacity = 7LL << 30;
    d.used = true;
    d.__set_disk_available_capacity(600LL << 30);
    d.__set_path_hash(4242);
    d.__set_storage_medium(TStorageMedium::SSD);
    d.__set_trash_used_capacity(0);
    d.__set_remote_used_capacity(0);
    req.__set_disks({{d.root_path, d}});
    req.__set_tasks({{TTaskType::CREATE, {}}});
    req.__set_num_cores(12);
    req.__set_pipeline_executor_size(12);
    TMasterResult r;
    client.report(r, req);
    return j_result(r);
  });

  call("getMasterToken", [&] {
    TGetMasterTokenRequest req;
    req.__set_cluster("default_cluster");
    req.__set_user(user);
    req.__set_password(password);
    TGetMasterTokenResult r;
    client.getMasterToken(r, req);
    Obj o;
    OPT(o, r, status, j);
    OPT(o, r, token, jstr);
    OPT(o, r, master_address, j);
    return o.json();
  });

  call("getBackendMeta", [&] {
    TGetBackendMetaRequest req;
    req.__set_cluster("default_cluster");
    req.__set_user(user);
    req.__set_passwd(password);
    req.__set_user_ip("127.0.0.1");
    req.__set_backend_id(backend_id);
    TGetBackendMetaResult r;
    client.getBackendMeta(r, req);
    Obj o;
    o.raw("status", j(r.status));
    OPT(o, r, backends, [](auto& v) { return jlist(v, [](const TBackend& b) { return j(b); }); });
    OPT(o, r, master_address, j);
    return o.json();
  });

  call("getSnapshot", [&] {
    TGetSnapshotRequest req;
    req.__set_cluster("default_cluster");
    req.__set_user(user);
    req.__set_passwd(password);
    req.__set_db("cpp_db");
    req.__set_table("t1");
    req.__set_label_name("cpp_label");
    req.__set_snapshot_name("cpp_snapshot");
    req.__set_snapshot_type(TSnapshotType::LOCAL);
    req.__set_enable_compress(false);
    TGetSnapshotResult r;
    client.getSnapshot(r, req);
    Obj o;
    OPT(o, r, status, j);
    OPT(o, r, meta, [](auto& v) { return jnum(v.size()); });
    OPT(o, r, job_info, [](auto& v) { return jnum(v.size()); });
    OPT(o, r, master_address, j);
    OPT(o, r, compressed, jbool);
    OPT(o, r, expiredAt, jnum);
    OPT(o, r, commit_seq, jnum);
    return o.json();
  });

  call("restoreSnapshot", [&] {
    TRestoreSnapshotRequest req;
    req.__set_cluster("default_cluster");
    req.__set_user(user);
    req.__set_passwd(password);
    req.__set_db("cpp_db");
    req.__set_table("t1");
    req.__set_label_name("cpp_restore_label");
    req.__set_repo_name("__keep_on_local__");
    TTableRef ref;
    ref.__set_table("t1");
    req.__set_table_refs({ref});
    req.__set_properties({{"reserve_replica", "true"}});
    req.__set_meta(std::string("{\"not\":\"a real snapshot\"}"));
    req.__set_job_info(std::string("{}"));
    req.__set_clean_tables(false);
    req.__set_clean_partitions(false);
    req.__set_atomic_restore(false);
    req.__set_compressed(false);
    TRestoreSnapshotResult r;
    client.restoreSnapshot(r, req);
    Obj o;
    OPT(o, r, status, j);
    OPT(o, r, master_address, j);
    return o.json();
  });

  if (argc > 10) {
    std::string db = argv[10];
    call("getMeta", [&] {
      TGetMetaRequest req;
      req.__set_cluster("default_cluster");
      req.__set_user(user);
      req.__set_passwd(password);
      req.__set_user_ip("127.0.0.1");
      TGetMetaDB d;
      d.__set_name(db);
      req.__set_db(d);
      TGetMetaResult r;
      client.getMeta(r, req);
      Obj o;
      o.raw("status", j(r.status));
      OPT(o, r, db_meta, j);
      OPT(o, r, master_address, j);
      return o.json();
    });
  }

  trans->close();
  return failures == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "be") return run_be(argc, argv);
  if (mode == "call") return run_call(argc, argv);
  std::cerr << "usage: cpp_peer be|call ...\n";
  return 2;
}
