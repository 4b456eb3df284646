#!/usr/bin/env python3
"""Write thrift/*.thrift from the wire contract's facts and the list below.

Our IDL declares what doris-rs reads or writes and nothing else. To serve more of the
protocol, add the struct (and the fields we use) to DECLARE, re-run this script, then
`gen/regen.sh`. Types that declared fields refer to are pulled in with their required
fields; enums always carry every upstream value.

usage: python3 tools/idl_from_contract.py [--contract ../shared/wire/doris-contract.json]
"""
import argparse, json, os, re

# struct -> "*" (every upstream field) or the list of optional fields we use
# (required fields are always declared).
DECLARE = {
    # coverage.json plus the request/response shapes of the methods we serve
    "TStatus": "*", "TNetworkAddress": "*", "TBackend": "*", "TUniqueId": "*",
    "TResourceInfo": "*", "TColumnType": "*",
    "TAgentTaskRequest": ["priority", "create_tablet_req", "drop_tablet_req", "resource_info",
                          "clone_req",
                          "upload_req", "download_req", "snapshot_req", "release_snapshot_req",
                          "publish_version_req", "move_dir_req", "push_cooldown_conf",
                          "push_storage_policy_req", "recv_time", "push_req"],
    # REALTIME_PUSH with push_type DELETE: a DELETE's predicate as a rowset of the txn.
    "TPushReq": ["delete_conditions", "need_decompress", "transaction_id", "partition_id",
                 "is_schema_changing", "columns_desc"],
    "TCondition": [],
    "TAgentResult": "*", "TSnapshotRequest": "*", "TReleaseSnapshotRequest": "*",
    "TUploadReq": "*", "TDownloadReq": "*", "TRemoteTabletSnapshot": "*", "TMoveDirReq": "*",
    "TCooldownConf": "*", "TPushCooldownConfReq": "*", "TDropTabletReq": "*",
    "TPublishVersionRequest": "*", "TPartitionVersionInfo": "*",
    # CLONE: a lagging replica catches up from a healthy one.
    "TCloneReq": "*",
    "TPushStoragePolicyReq": "*", "TStoragePolicy": "*", "TStorageResource": "*",
    "TS3StorageParam": "*",
    # CREATE as the Java FE fills it (CreateReplicaTask.toThrift): the table's model,
    # storage and binlog settings, and the hidden columns' indexes in the schema.
    "TCreateTabletReq": ["version", "storage_medium", "in_restore_mode", "table_id",
                         "partition_id", "replica_id", "storage_policy_id", "storage_format",
                         "tablet_type", "compression_type", "enable_unique_key_merge_on_write",
                         "binlog_config", "compaction_policy"],
    "TTabletSchema": ["bloom_filter_fpp", "is_in_memory", "delete_sign_idx", "sequence_col_idx",
                      "disable_auto_compaction", "version_col_idx", "store_row_column"],
    "TColumn": ["aggregation_type", "is_key", "is_allow_null", "default_value",
                "is_bloom_filter_column", "visible", "children_column", "col_unique_id",
                "is_auto_increment"],
    "TBinlogConfig": "*",
    "TMasterInfo": "*", "THeartbeatResult": "*", "TBackendInfo": "*", "TFrontendInfo": "*",
    "TFinishTaskRequest": "*", "TMasterResult": "*", "TReportRequest": "*", "TTabletInfo": "*",
    "TTablet": "*", "TDisk": "*",
    "TSnapshotLoaderReportRequest": "*",
    "TGetSnapshotRequest": "*", "TGetSnapshotResult": "*", "TTableRef": "*",
    "TRestoreSnapshotRequest": "*", "TRestoreSnapshotResult": "*",
    "TGetMasterTokenRequest": "*", "TGetMasterTokenResult": "*",
    "TGetBackendMetaRequest": "*", "TGetBackendMetaResult": "*",
    "TGetMetaRequest": "*", "TGetMetaDB": "*", "TGetMetaTable": ["id", "name", "in_trash"],
    "TGetMetaResult": "*", "TGetMetaDBMeta": "*", "TGetMetaTableMeta": "*",
    "TGetMetaPartitionMeta": "*", "TGetMetaIndexMeta": "*", "TGetMetaTabletMeta": "*",
    "TGetMetaReplicaMeta": "*",
    "TLoadTxnBeginRequest": ["cluster", "user_ip", "timestamp", "auth_code", "timeout",
                             "request_id", "token", "auth_code_uuid", "table_id", "backend_id"],
    "TLoadTxnBeginResult": "*",
    "TLoadTxnCommitRequest": ["cluster", "user_ip", "commitInfos", "auth_code",
                              "thrift_rpc_timeout_ms", "token", "db_id", "tbls", "table_id",
                              "auth_code_uuid", "receiveBytes", "backendId"],
    "TLoadTxnCommitResult": "*", "TTabletCommitInfo": "*",
    "TLoadTxnRollbackRequest": ["cluster", "user_ip", "reason", "auth_code", "token", "db_id",
                                "tbls", "auth_code_uuid", "label"],
    "TLoadTxnRollbackResult": "*",
    "TConfirmUnusedRemoteFilesRequest": "*", "TConfirmUnusedRemoteFilesResult": "*",
    "TTabletCooldownInfo": "*",
    "TTabletStat": "*", "TTabletStatResult": "*",
    "TLoadTxn2PCRequest": "*", "TLoadTxn2PCResult": "*",
    "TAutoIncrementRangeRequest": "*", "TAutoIncrementRangeResult": "*",
    # CCR incremental sync (coverage-incremental.json): binlogs, target-side transactions,
    # ingest of a source BE's rowsets.
    "TGetBinlogRequest": "*", "TGetBinlogResult": "*", "TBinlog": "*", "TGetBinlogLagResult": "*",
    "TBeginTxnRequest": "*", "TBeginTxnResult": "*", "TCommitTxnRequest": "*",
    "TCommitTxnResult": "*", "TRollbackTxnRequest": "*", "TRollbackTxnResult": "*",
    "TIngestBinlogRequest": "*", "TIngestBinlogResult": "*",
    "TQueryIngestBinlogRequest": "*", "TQueryIngestBinlogResult": "*",
}

METHODS = {
    "BackendService": ["submit_tasks", "make_snapshot", "release_snapshot", "get_tablet_stat",
                       "ingest_binlog", "query_ingest_binlog"],
    "HeartbeatService": ["heartbeat"],
    "FrontendService": ["getSnapshot", "restoreSnapshot", "getMasterToken", "getBackendMeta",
                        "getMeta", "finishTask", "report", "snapshotLoaderReport",
                        "loadTxnBegin", "loadTxnCommit", "loadTxnPreCommit", "loadTxn2PC",
                        "loadTxnRollback",
                        "confirmUnusedRemoteFiles", "getBinlog", "getBinlogLag", "beginTxn",
                        "commitTxn", "rollbackTxn", "getAutoIncrementRange"],
}

# Structs upstream declares in a module we do not write, and the module we put them in.
MODULE_OF = {"TCondition": "AgentService"}

# Comments written above a struct ("TName") or one of its fields ("TName.field").
COMMENTS = {
    "TCondition": "A DELETE's condition (upstream declares it in PaloInternalService.thrift).",
    "TPushReq": "REALTIME_PUSH with push_type DELETE: a DELETE's predicate written as a rowset of the\n"
                "transaction (the only push doris-rs sends or serves).",
    "TColumn.children_column": "ARRAY: one child `item`; MAP: `key`, `value`; STRUCT: its fields (name, type,\n"
                               "nullability), each nesting further as upstream's Column.toThrift writes them.",
}

# Module order: a module may include only the ones before it.
MODULES = ["Types", "Status", "Descriptors", "PlanNodes", "AgentService", "MasterService",
           "BackendService", "HeartbeatService", "FrontendService"]
PRIMS = {"bool", "byte", "i8", "i16", "i32", "i64", "double", "string", "binary", "void",
         "list", "set", "map"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--contract", default="../shared/wire/doris-contract.json")
    ap.add_argument("--out", default="thrift")
    a = ap.parse_args()
    c = json.load(open(a.contract))
    S, E, T = c["structs"], c["enums"], c["typedefs"]

    fields = {}  # struct -> set of field ids
    enums, typedefs = set(), set()

    def names(decl):
        return [n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", decl) if n not in PRIMS]

    def need(t):
        if t in E:
            enums.add(t)
        elif t in T:
            typedefs.add(t)
            for n in names(T[t]["type"].replace("struct ", "")):
                need(n)
        elif t in S:
            add(t, DECLARE.get(t, []))
        else:
            raise SystemExit("unknown type " + t)

    def add(name, spec):
        s = S[name]
        have = fields.setdefault(name, set())
        for f in s["fields"]:
            if f["id"] in have:
                continue
            if f["req"] == "required" or spec == "*" or f["name"] in spec:
                have.add(f["id"])
                for n in names(f["decl"]):
                    need(n)

    for n, spec in DECLARE.items():
        add(n, spec)
    for svc, ms in METHODS.items():
        for m in ms:
            sig = c["services"][svc]["methods"][m]
            for x in sig["args"] + sig["throws"] + [{"type": sig["returns"]}]:
                for n in names(x["type"].replace("struct ", "")):
                    need(n)

    def module_of(t):
        if t in MODULE_OF:
            return MODULE_OF[t]
        for kind in ("structs", "enums", "typedefs"):
            if t in c[kind]:
                return c[kind][t]["module"]
        return None

    out = {m: {"enums": [], "typedefs": [], "structs": [], "services": []} for m in MODULES}
    for t in sorted(typedefs):
        out[T[t]["module"]]["typedefs"].append(t)
    for t in sorted(enums):
        out[E[t]["module"]]["enums"].append(t)
    for t in sorted(fields):
        out[module_of(t)]["structs"].append(t)
    for svc in METHODS:
        out[c["services"][svc]["module"]]["services"].append(svc)

    def qual(decl, mod, deps):
        def rep(m):
            n = m.group(0)
            if n in PRIMS:
                return n
            om = module_of(n)
            if om is None or om == mod:
                return n
            deps.add(om)
            return om + "." + n
        return re.sub(r"[A-Za-z_][A-Za-z0-9_]*", rep, decl)

    def default(f, mod, deps):
        d = f["default"]
        decl = f["decl"]
        if decl in E:
            vname = [k for k, v in E[decl]["values"].items() if v == d][0]
            return qual(decl, mod, deps) + "." + vname
        if f["type"] == "bool":
            return "true" if d else "false"
        if isinstance(d, str):
            return json.dumps(d)
        return str(d)

    def comment(key, indent):
        return "".join("%s// %s\n" % (indent, line) for line in COMMENTS.get(key, "").splitlines())

    os.makedirs(a.out, exist_ok=True)
    for mod in MODULES:
        o = out[mod]
        deps, body = set(), []
        for t in o["typedefs"]:
            body.append("typedef %s %s\n" % (qual(T[t]["type"].replace("struct ", ""), mod, deps), t))
        for t in o["enums"]:
            vals = sorted(E[t]["values"].items(), key=lambda kv: kv[1])
            body.append("enum %s {\n%s}\n" % (t, "".join("  %s = %d,\n" % kv for kv in vals)))
        for t in o["structs"]:
            s = S[t]
            lines = []
            for f in s["fields"]:
                if f["id"] not in fields[t]:
                    continue
                req = "" if f["req"] == "req_out" else f["req"] + " "
                dflt = " = " + default(f, mod, deps) if "default" in f else ""
                lines.append(comment(t + "." + f["name"], "  "))
                lines.append("  %d: %s%s %s%s\n" % (f["id"], req, qual(f["decl"], mod, deps), f["name"], dflt))
            body.append("%s%s %s {\n%s}\n" % (comment(t, ""), s["kind"], t, "".join(lines)))
        for svc in o["services"]:
            ms = []
            for m in METHODS[svc]:
                sig = c["services"][svc]["methods"][m]
                args = ", ".join("%d: %s %s" % (x["id"], qual(x["type"].replace("struct ", ""), mod, deps), x["name"])
                                 for x in sig["args"])
                ret = qual(sig["returns"].replace("struct ", ""), mod, deps)
                ms.append("  %s%s %s(%s)\n" % ("oneway " if sig["oneway"] else "", ret, m, args))
            body.append("service %s {\n%s}\n" % (svc, "".join(ms)))
        head = ["// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.\n",
                "// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.\n\n",
                "namespace cpp doris\n", "namespace java org.apache.doris.thrift\n\n"]
        head += ['include "%s.thrift"\n' % d for d in MODULES if d in deps]
        with open(os.path.join(a.out, mod + ".thrift"), "w") as fh:
            fh.write("".join(head) + "\n" + "\n".join(body))


if __name__ == "__main__":
    main()
