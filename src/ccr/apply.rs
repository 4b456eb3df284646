//! Applying one source binlog to the target, as the CCR syncer does:
//!
//! - UPSERT: `beginTxn` on the target over the tables the record names, for each target
//!   replica BackendService `ingest_binlog` (the target BE pulls the version's rowset from a
//!   source BE), `query_ingest_binlog` until done, then `commitTxn` with the replicas
//!   written (`rollbackTxn` on failure). Partitions pair by their `range` string, indexes by
//!   name (the base index has the table's), tablets by ascending id within a partition.
//! - ADD_PARTITION / DROP_PARTITION / TRUNCATE_TABLE: the record's `sql` / `rawSql`
//!   replayed on the target table (ADD with the record's distribution, as the syncer
//!   builds it); CREATE_TABLE / DROP_TABLE in db sync.
//!
//! Each step is safe to repeat after a crash: an UPSERT's label is derived from its commit
//! seq (a finished one is found by it), a DDL is checked against the target first.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use doris_thrift::backend_service::{TIngestBinlogRequest, TIngestBinlogStatus, TQueryIngestBinlogRequest};
use doris_thrift::frontend_service::{
    TBeginTxnRequest, TBinlog, TCommitTxnRequest, TGetMetaDB, TGetMetaRequest, TGetMetaTable, TGetMetaTableMeta,
    TRollbackTxnRequest,
};
use doris_thrift::services::{BackendServiceClient, FrontendServiceClient};
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::{ClientOptions, ClientPool};
use doris_thrift::types::{TTabletCommitInfo, TUniqueId};
use futures::stream::{self, StreamExt};
use mysql_async::prelude::Queryable;
use serde::Deserialize;

use super::conn::{check, ident, show};

/// How many ingest_binlog calls run at once.
const INGEST_PARALLEL: usize = 16;

/// Upstream's binlog type numbers (TBinlogType).
pub mod kind {
    pub const UPSERT: i32 = 0;
    pub const ADD_PARTITION: i32 = 1;
    pub const CREATE_TABLE: i32 = 2;
    pub const DROP_PARTITION: i32 = 3;
    pub const DROP_TABLE: i32 = 4;
    pub const MODIFY_COLUMNS: i32 = 6;
    pub const DUMMY: i32 = 7;
    pub const TRUNCATE_TABLE: i32 = 13;
    pub const RENAME_TABLE: i32 = 14;

    pub fn name(k: i32) -> &'static str {
        match k {
            UPSERT => "UPSERT",
            ADD_PARTITION => "ADD_PARTITION",
            CREATE_TABLE => "CREATE_TABLE",
            DROP_PARTITION => "DROP_PARTITION",
            DROP_TABLE => "DROP_TABLE",
            MODIFY_COLUMNS => "MODIFY_TABLE_ADD_OR_DROP_COLUMNS",
            DUMMY => "DUMMY",
            TRUNCATE_TABLE => "TRUNCATE_TABLE",
            RENAME_TABLE => "RENAME_TABLE",
            _ => "other",
        }
    }
}

/// A BE as SHOW BACKENDS lists it.
#[derive(Debug, Clone)]
pub struct Be {
    pub host: String,
    pub be_port: u16,
    pub http_port: u16,
}

/// Both clusters, as the sync talks to them.
pub struct Env {
    pub user: String,
    pub password: String,
    pub src_db: String,
    pub dst_db: String,
    pub src: mysql_async::Conn,
    pub dst: mysql_async::Conn,
    pub src_fe: FrontendServiceClient,
    pub dst_fe: FrontendServiceClient,
    pub pool: ClientPool,
}

/// What applying an entry did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Done; a line saying what.
    Done(String),
    /// Nothing to do for this sync (another table's, before its full-sync point, a kind
    /// the syncer ignores, or already applied).
    Skipped(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Upsert {
    table_records: BTreeMap<String, TableRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableRecord {
    partition_records: Vec<PartitionRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartitionRecord {
    partition_id: i64,
    range: String,
    version: i64,
}

impl Env {
    async fn table_meta(fe: &FrontendServiceClient, user: &str, pw: &str, db: &str, t: TGetMetaTable) -> Result<TGetMetaTableMeta, String> {
        let db = TGetMetaDB::new(None, db.to_string(), None, vec![Box::new(t)]);
        let req = TGetMetaRequest::new(None, user.to_string(), pw.to_string(), None, None, db);
        let r = fe.get_meta(&req).await.map_err(|e| format!("getMeta: {e}"))?;
        check("getMeta", Some(&r.status))?;
        let mut tables = r.db_meta.and_then(|d| d.tables).unwrap_or_default();
        tables.pop().map(|b| *b).ok_or_else(|| "getMeta: no table in the answer".to_string())
    }

    /// The source table with id `id`, with its partitions (None once it is gone).
    pub async fn src_table(&self, id: i64) -> Result<Option<TGetMetaTableMeta>, String> {
        let t = TGetMetaTable::new(id, None, None);
        match Self::table_meta(&self.src_fe, &self.user, &self.password, &self.src_db, t).await {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.contains("Unknown table") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The target table named `name`, with its partitions.
    pub async fn dst_table(&self, name: &str) -> Result<TGetMetaTableMeta, String> {
        let t = TGetMetaTable::new(None, name.to_string(), None);
        Self::table_meta(&self.dst_fe, &self.user, &self.password, &self.dst_db, t).await
    }

    async fn backends(conn: &mut mysql_async::Conn) -> Result<HashMap<i64, Be>, String> {
        let mut out = HashMap::new();
        for row in show(conn, "SHOW BACKENDS").await? {
            let id = row.get("BackendId").and_then(|v| v.parse().ok()).ok_or("SHOW BACKENDS: no BackendId")?;
            let port = |k: &str| row.get(k).and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
            out.insert(id, Be { host: row.get("Host").cloned().unwrap_or_default(), be_port: port("BePort"), http_port: port("HttpPort") });
        }
        Ok(out)
    }
}

/// Whether a source table named `table_name` is followed: `only` lists the source tables
/// followed (empty: all).
pub fn follows(only: &[String], table_name: &str) -> bool {
    only.is_empty() || only.iter().any(|t| t == table_name)
}

/// Apply entry `b`. `table_seqs` are the followed tables' full-sync points; `targets` maps
/// each followed source table id to its target table, and is kept up to date here
/// (CREATE_TABLE, DROP_TABLE, RENAME_TABLE).
pub async fn apply(
    env: &mut Env,
    only: &[String],
    table_seqs: &BTreeMap<i64, i64>,
    targets: &mut BTreeMap<i64, String>,
    b: &TBinlog,
) -> Result<Applied, String> {
    let seq = b.commit_seq.unwrap_or_default();
    let k = b.type_.map(|t| t.0).unwrap_or(-1);
    let data = b.data.clone().unwrap_or_default();
    let table_id = b.table_ids.as_ref().and_then(|t| t.first().copied());
    // Entries a table's full sync already includes.
    if let Some(t) = table_id {
        if table_seqs.get(&t).is_some_and(|s| seq <= *s) {
            return Ok(Applied::Skipped(format!("table {t} already has it")));
        }
    }
    match k {
        kind::UPSERT => upsert(env, table_seqs, targets, seq, &data).await,
        kind::ADD_PARTITION | kind::DROP_PARTITION | kind::TRUNCATE_TABLE => {
            let Some(name) = table_id.and_then(|t| targets.get(&t)).cloned() else {
                return Ok(Applied::Skipped("its table is not followed".into()));
            };
            partition_ddl(env, k, &name, &data).await
        }
        kind::CREATE_TABLE | kind::DROP_TABLE => table_ddl(env, only, targets, k, &data).await,
        kind::RENAME_TABLE => rename_table(env, only, targets, &data).await,
        kind::MODIFY_COLUMNS => {
            let Some(name) = table_id.and_then(|t| targets.get(&t)).cloned() else {
                return Ok(Applied::Skipped("its table is not followed".into()));
            };
            modify_columns(env, &name, &data).await
        }
        _ => Ok(Applied::Skipped(format!("type {k} is not replayed"))),
    }
}

async fn upsert(
    env: &mut Env,
    table_seqs: &BTreeMap<i64, i64>,
    targets: &BTreeMap<i64, String>,
    seq: i64,
    data: &str,
) -> Result<Applied, String> {
    let rec: Upsert = serde_json::from_str(data).map_err(|e| format!("UPSERT record: {e}"))?;
    // (source table, target table, what the load made visible)
    let mut tables = Vec::new();
    for (tid, tr) in rec.table_records {
        let tid: i64 = tid.parse().map_err(|_| format!("UPSERT record: table id {tid:?}"))?;
        if table_seqs.get(&tid).is_some_and(|s| seq <= *s) {
            continue;
        }
        let Some(target) = targets.get(&tid) else { continue };
        // Gone on the source since: its DROP_TABLE follows in the log.
        let Some(src) = env.src_table(tid).await? else { continue };
        let dst = env.dst_table(target).await?;
        tables.push((src, dst, tr));
    }
    if tables.is_empty() {
        return Ok(Applied::Skipped("no followed table in it".into()));
    }
    let label = format!("ccrs_{}_{seq}", env.src_db);
    let table_ids: Vec<i64> = tables.iter().filter_map(|(_, d, _)| d.id).collect();
    let txn_id = match begin(env, &label, &table_ids).await? {
        Some(id) => id,
        None => return Ok(Applied::Skipped(format!("already applied under label {label}"))),
    };
    match ingest_and_commit(env, txn_id, &tables).await {
        Ok(rows) => Ok(Applied::Done(format!("txn {txn_id}: {rows} replicas ingested, committed"))),
        Err(e) => {
            let req = rollback_request(env, txn_id, &e);
            if let Ok(r) = env.dst_fe.rollback_txn(&req).await {
                if let Err(re) = check("rollbackTxn", r.status.as_ref()) {
                    // Committed after all (the syncer's "is already COMMITTED"): it is applied.
                    if re.contains("is already COMMITTED") || re.contains("is already VISIBLE") {
                        return Ok(Applied::Done(format!("txn {txn_id} committed")));
                    }
                }
            }
            Err(e)
        }
    }
}

fn rollback_request(env: &Env, txn_id: i64, reason: &str) -> TRollbackTxnRequest {
    TRollbackTxnRequest::new(None, env.user.clone(), env.password.clone(), env.dst_db.clone(), None, txn_id, reason.to_string(), None, None, None, None)
}

/// beginTxn under `label`; None when a transaction of that label already finished (the
/// entry was applied before a restart). One still running is rolled back and begun anew.
async fn begin(env: &mut Env, label: &str, table_ids: &[i64]) -> Result<Option<i64>, String> {
    for _ in 0..2 {
        let req = TBeginTxnRequest::new(
            None,
            env.user.clone(),
            env.password.clone(),
            env.dst_db.clone(),
            table_ids.to_vec(),
            None,
            label.to_string(),
            None,
            None,
            None,
            None,
            None,
            None,
        );
        let r = env.dst_fe.begin_txn(&req).await.map_err(|e| format!("beginTxn: {e}"))?;
        match r.status.as_ref().map(|s| s.status_code) {
            Some(TStatusCode::OK) => return r.txn_id.map(Some).ok_or_else(|| "beginTxn: no txn_id".to_string()),
            Some(TStatusCode::LABEL_ALREADY_EXISTS) if r.job_status.as_deref() == Some("FINISHED") => return Ok(None),
            Some(TStatusCode::LABEL_ALREADY_EXISTS) => {
                let stmt = format!("SHOW TRANSACTION FROM {} WHERE label = '{label}'", ident(&env.dst_db));
                let rows = show(&mut env.dst, &stmt).await?;
                let id: i64 = rows.first().and_then(|r| r.get("TransactionId")).and_then(|v| v.parse().ok()).ok_or("no txn id")?;
                let req = rollback_request(env, id, "ccr-sync restarted");
                let r = env.dst_fe.rollback_txn(&req).await.map_err(|e| format!("rollbackTxn: {e}"))?;
                check("rollbackTxn", r.status.as_ref())?;
            }
            _ => check("beginTxn", r.status.as_ref()).map(|_| ())?,
        }
    }
    Err(format!("beginTxn: label {label} stays taken"))
}

/// Ingest every target replica of the record's partitions, then commit; the number of
/// replicas ingested.
async fn ingest_and_commit(env: &mut Env, txn_id: i64, tables: &[(TGetMetaTableMeta, TGetMetaTableMeta, TableRecord)]) -> Result<usize, String> {
    let src_bes = Env::backends(&mut env.src).await?;
    let dst_bes = Env::backends(&mut env.dst).await?;
    let mut calls = Vec::new();
    for (src, dst, tr) in tables {
        for pr in &tr.partition_records {
            let Some(sp) = src.partitions.iter().flatten().find(|p| p.id == Some(pr.partition_id)) else {
                // Dropped on the source since; its DROP_PARTITION follows in the log.
                continue;
            };
            let dp = dst
                .partitions
                .iter()
                .flatten()
                .find(|p| p.range.as_deref() == Some(pr.range.as_str()))
                .ok_or_else(|| format!("no partition of target table {:?} has range {}", dst.name, pr.range))?;
            let (si, di) = (base_index(sp, src)?, base_index(dp, dst)?);
            let mut st: Vec<_> = si.tablets.iter().flatten().collect();
            let mut dt: Vec<_> = di.tablets.iter().flatten().collect();
            st.sort_by_key(|t| t.id);
            dt.sort_by_key(|t| t.id);
            if st.len() != dt.len() {
                return Err(format!("partition {:?}: {} source tablets, {} target tablets", dp.name, st.len(), dt.len()));
            }
            for (s, d) in st.iter().zip(&dt) {
                let remote = s
                    .replicas
                    .iter()
                    .flatten()
                    .find_map(|r| src_bes.get(&r.backend_id.unwrap_or_default()))
                    .ok_or_else(|| format!("source tablet {:?} has no replica on a known backend", s.id))?;
                for r in d.replicas.iter().flatten() {
                    let be_id = r.backend_id.unwrap_or_default();
                    let be = dst_bes.get(&be_id).ok_or_else(|| format!("target backend {be_id} is not in SHOW BACKENDS"))?;
                    calls.push((
                        be_id,
                        format!("{}:{}", be.host, be.be_port),
                        TIngestBinlogRequest {
                            txn_id: Some(txn_id),
                            remote_tablet_id: s.id,
                            binlog_version: Some(pr.version),
                            remote_host: Some(remote.host.clone()),
                            remote_port: Some(remote.http_port.to_string()),
                            partition_id: dp.id,
                            local_tablet_id: d.id,
                            load_id: Some(TUniqueId { hi: -1, lo: -1 }),
                        },
                    ));
                }
            }
        }
    }
    let pool = env.pool.clone();
    let results: Vec<Result<TTabletCommitInfo, String>> = stream::iter(calls)
        .map(|(be_id, addr, req)| {
            let client = BackendServiceClient::new(pool.channel(addr, ClientOptions::default()));
            async move { ingest_one(&client, be_id, req).await }
        })
        .buffer_unordered(INGEST_PARALLEL)
        .collect()
        .await;
    let infos: Vec<TTabletCommitInfo> = results.into_iter().collect::<Result<_, _>>()?;
    let n = infos.len();
    let req = TCommitTxnRequest::new(
        None,
        env.user.clone(),
        env.password.clone(),
        env.dst_db.clone(),
        None,
        txn_id,
        infos,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    );
    let r = env.dst_fe.commit_txn(&req).await.map_err(|e| format!("commitTxn: {e}"))?;
    if r.status.as_ref().map(|s| s.status_code) == Some(TStatusCode::PUBLISH_TIMEOUT) {
        wait_visible(env, txn_id).await?;
    } else {
        check("commitTxn", r.status.as_ref())?;
    }
    Ok(n)
}

fn base_index<'a>(
    p: &'a doris_thrift::frontend_service::TGetMetaPartitionMeta,
    t: &TGetMetaTableMeta,
) -> Result<&'a doris_thrift::frontend_service::TGetMetaIndexMeta, String> {
    let indexes = p.indexes.as_deref().unwrap_or_default();
    indexes
        .iter()
        .find(|i| i.name == t.name)
        .or(indexes.first())
        .ok_or_else(|| format!("partition {:?} of {:?} has no index", p.name, t.name))
}

/// One ingest_binlog, then query_ingest_binlog until it is done.
async fn ingest_one(client: &BackendServiceClient, be_id: i64, req: TIngestBinlogRequest) -> Result<TTabletCommitInfo, String> {
    let tablet = req.local_tablet_id.unwrap_or_default();
    let r = client.ingest_binlog(&req).await.map_err(|e| format!("ingest_binlog on backend {be_id}: {e}"))?;
    check(&format!("ingest_binlog of tablet {tablet} on backend {be_id}"), r.status.as_ref())?;
    if r.is_async == Some(true) {
        let q = TQueryIngestBinlogRequest {
            txn_id: req.txn_id,
            partition_id: req.partition_id,
            tablet_id: req.local_tablet_id,
            load_id: req.load_id.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(3600);
        loop {
            let r = client.query_ingest_binlog(&q).await.map_err(|e| format!("query_ingest_binlog on backend {be_id}: {e}"))?;
            match r.status {
                Some(TIngestBinlogStatus::OK) => break,
                Some(TIngestBinlogStatus::DOING) | Some(TIngestBinlogStatus::UNKNOWN) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                other => {
                    return Err(format!(
                        "ingest of tablet {tablet} on backend {be_id}: {other:?} {}",
                        r.err_msg.unwrap_or_default()
                    ))
                }
            }
        }
    }
    Ok(TTabletCommitInfo { tablet_id: tablet, backend_id: be_id, invalid_dict_cols: None })
}

/// After PUBLISH_TIMEOUT: poll SHOW TRANSACTION until VISIBLE, as the syncer does.
async fn wait_visible(env: &mut Env, txn_id: i64) -> Result<(), String> {
    let stmt = format!("SHOW TRANSACTION FROM {} WHERE id = {txn_id}", ident(&env.dst_db));
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let rows = show(&mut env.dst, &stmt).await?;
        match rows.first().and_then(|r| r.get("TransactionStatus")).map(String::as_str) {
            Some("VISIBLE") => return Ok(()),
            Some("ABORTED") => return Err(format!("transaction {txn_id} was aborted")),
            _ if Instant::now() > deadline => return Err(format!("transaction {txn_id} not visible within an hour")),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartitionDdl {
    #[serde(default)]
    sql: String,
    #[serde(default)]
    is_temp_partition: bool,
    #[serde(default)]
    partition: Option<PartitionJson>,
    #[serde(default)]
    raw_sql: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartitionJson {
    name: Option<String>,
    distribution_info: Option<DistributionJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DistributionJson {
    #[serde(rename = "type")]
    kind: String,
    bucket_num: u32,
    #[serde(default)]
    distribution_columns: Vec<NamedColumn>,
}

#[derive(Deserialize)]
struct NamedColumn {
    name: String,
}

/// The syncer's ADD PARTITION statement: `ALTER TABLE <t> <sql>` without its `;`, with a
/// `DISTRIBUTED BY ... BUCKETS n` built from the record when the sql has none.
pub fn add_partition_sql(table: &str, sql: &str, d: Option<(&str, u32, Vec<String>)>) -> String {
    let mut s = format!("ALTER TABLE {} {}", ident(table), sql.trim_end().trim_end_matches(';'));
    let upper = s.to_ascii_uppercase();
    if upper.contains("BUCKETS") && !upper.contains("BUCKETS AUTO") {
        return s;
    }
    if let Some(i) = upper.rfind("BUCKETS AUTO") {
        s.truncate(i);
    }
    if let Some((kind, buckets, cols)) = d {
        if !s.to_ascii_uppercase().contains("DISTRIBUTED BY") {
            if kind == "HASH" {
                s.push_str(&format!(" DISTRIBUTED BY HASH(`{}`)", cols.join("`,`")));
            } else {
                s.push_str(" DISTRIBUTED BY RANDOM");
            }
        }
        s.push_str(&format!(" BUCKETS {buckets}"));
    }
    s
}

async fn partition_ddl(env: &mut Env, k: i32, table: &str, data: &str) -> Result<Applied, String> {
    let rec: PartitionDdl = serde_json::from_str(data).map_err(|e| format!("{} record: {e}", kind::name(k)))?;
    if rec.is_temp_partition {
        return Ok(Applied::Skipped("temporary partitions are not synced".into()));
    }
    let dst = env.dst_table(table).await?;
    let has = |name: &str| dst.partitions.iter().flatten().any(|p| p.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)));
    let stmt = match k {
        kind::ADD_PARTITION => {
            let p = rec.partition.as_ref();
            if p.and_then(|p| p.name.as_deref()).is_some_and(has) {
                return Ok(Applied::Skipped("the target has the partition".into()));
            }
            let d = p.and_then(|p| p.distribution_info.as_ref()).map(|d| {
                (d.kind.as_str(), d.bucket_num, d.distribution_columns.iter().map(|c| c.name.clone()).collect())
            });
            add_partition_sql(table, &rec.sql, d)
        }
        kind::DROP_PARTITION => format!("ALTER TABLE {} {}", ident(table), rec.sql),
        _ => format!("TRUNCATE TABLE {} {}", ident(table), rec.raw_sql).trim_end().to_string(),
    };
    run_on_target(env, &stmt).await?;
    Ok(Applied::Done(stmt))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableDdl {
    table_id: i64,
    #[serde(default)]
    sql: String,
    #[serde(default)]
    table_name: String,
}

async fn target_has(env: &mut Env, table: &str) -> Result<bool, String> {
    let stmt = format!("SHOW TABLES FROM {} LIKE '{table}'", ident(&env.dst_db));
    Ok(!show(&mut env.dst, &stmt).await?.is_empty())
}

/// CREATE_TABLE and DROP_TABLE (db sync): the new table is followed when its name is;
/// a dropped one is dropped on the target under the name it is kept in.
async fn table_ddl(env: &mut Env, only: &[String], targets: &mut BTreeMap<i64, String>, k: i32, data: &str) -> Result<Applied, String> {
    let rec: TableDdl = serde_json::from_str(data).map_err(|e| format!("{} record: {e}", kind::name(k)))?;
    if k == kind::CREATE_TABLE {
        if only.len() == 1 || !follows(only, &rec.table_name) {
            return Ok(Applied::Skipped(format!("table {} is not followed", rec.table_name)));
        }
        let done = if target_has(env, &rec.table_name).await? {
            Applied::Skipped(format!("the target has table {}", rec.table_name))
        } else {
            run_on_target(env, &rec.sql).await?;
            Applied::Done(format!("CREATE_TABLE {}", rec.table_name))
        };
        targets.insert(rec.table_id, rec.table_name);
        return Ok(done);
    }
    let Some(target) = targets.get(&rec.table_id).cloned() else {
        return Ok(Applied::Skipped(format!("table {} is not followed", rec.table_name)));
    };
    let done = if target_has(env, &target).await? {
        run_on_target(env, &format!("DROP TABLE {}", ident(&target))).await?;
        Applied::Done(format!("DROP_TABLE {target}"))
    } else {
        Applied::Skipped(format!("the target has no table {target}"))
    };
    targets.remove(&rec.table_id);
    Ok(done)
}

#[derive(Deserialize)]
struct RenameTable {
    #[serde(rename = "tb")]
    table_id: i64,
    #[serde(rename = "nT")]
    new: String,
}

/// RENAME_TABLE, as the syncer: db sync only (a table sync's target keeps its name; the
/// syncer asks to rebuild such a job).
async fn rename_table(env: &mut Env, only: &[String], targets: &mut BTreeMap<i64, String>, data: &str) -> Result<Applied, String> {
    let rec: RenameTable = serde_json::from_str(data).map_err(|e| format!("RENAME_TABLE record: {e}"))?;
    if only.len() == 1 {
        return Err("rename table is not supported when table sync, consider rebuilding this job instead".into());
    }
    let Some(target) = targets.get(&rec.table_id).cloned() else {
        return Ok(Applied::Skipped(format!("table {} is not followed", rec.table_id)));
    };
    if target == rec.new || (!target_has(env, &target).await? && target_has(env, &rec.new).await?) {
        // Renamed before a restart cut the follower short of saving its place.
        targets.insert(rec.table_id, rec.new.clone());
        return Ok(Applied::Skipped(format!("the target table is {} already", rec.new)));
    }
    let stmt = format!("ALTER TABLE {} RENAME {}", ident(&target), ident(&rec.new));
    run_on_target(env, &stmt).await?;
    targets.insert(rec.table_id, rec.new);
    Ok(Applied::Done(stmt))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModifyColumns {
    raw_sql: String,
}

/// The syncer's replay of a light schema change: the record's statement with the source
/// database dropped from the table name and the target table's name put in.
pub fn modify_columns_sql(raw_sql: &str, src_db: &str, target: &str) -> String {
    let s = raw_sql.replacen(&format!("`default_cluster:{src_db}`."), "", 1).replacen(&format!("`{src_db}`."), "", 1);
    // `ALTER TABLE `t` <change>`: the name is the first quoted identifier.
    match (s.find('`'), s.get(s.find('`').map_or(0, |i| i + 1)..).and_then(|r| r.find('`'))) {
        (Some(i), Some(j)) => format!("{}{}{}", &s[..i], ident(target), &s[i + 1 + j + 1..]),
        _ => s,
    }
}

async fn modify_columns(env: &mut Env, target: &str, data: &str) -> Result<Applied, String> {
    let rec: ModifyColumns = serde_json::from_str(data).map_err(|e| format!("MODIFY_TABLE_ADD_OR_DROP_COLUMNS record: {e}"))?;
    let stmt = modify_columns_sql(&rec.raw_sql, &env.src_db, target);
    match run_on_target(env, &stmt).await {
        Ok(()) => Ok(Applied::Done(stmt)),
        // Applied before a restart cut the follower short of saving its place.
        Err(e) if e.contains("already exists in base table") || e.contains("Column does not exists") => {
            Ok(Applied::Skipped(format!("already applied: {e}")))
        }
        Err(e) => Err(e),
    }
}

async fn run_on_target(env: &mut Env, stmt: &str) -> Result<(), String> {
    env.dst.query_drop(format!("USE {}", ident(&env.dst_db))).await.map_err(|e| format!("USE: {e}"))?;
    env.dst.query_drop(stmt).await.map_err(|e| format!("target: {stmt}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_schema_change_statement_names_the_target_table() {
        let raw = "ALTER TABLE `src`.`t` ADD COLUMN `c` INT NULL DEFAULT \"5\" AFTER `v`";
        assert_eq!(modify_columns_sql(raw, "src", "t_copy"), "ALTER TABLE `t_copy` ADD COLUMN `c` INT NULL DEFAULT \"5\" AFTER `v`");
        assert_eq!(modify_columns_sql("ALTER TABLE `default_cluster:src`.`t` DROP COLUMN `c`", "src", "t"), "ALTER TABLE `t` DROP COLUMN `c`");
    }

    /// The syncer's rules for the replayed ADD PARTITION.
    #[test]
    fn add_partition_statement_as_the_syncer_builds_it() {
        let sql = "ADD PARTITION `p3` VALUES [(\"20\"), (\"30\")) (\"version_info\" = \"4\");";
        assert_eq!(
            add_partition_sql("t", sql, Some(("HASH", 3, vec!["k".into(), "v".into()]))),
            "ALTER TABLE `t` ADD PARTITION `p3` VALUES [(\"20\"), (\"30\")) (\"version_info\" = \"4\") DISTRIBUTED BY HASH(`k`,`v`) BUCKETS 3"
        );
        assert!(add_partition_sql("t", sql, Some(("RANDOM", 2, vec![]))).ends_with(" DISTRIBUTED BY RANDOM BUCKETS 2"));
        let with = "ADD PARTITION p VALUES LESS THAN (\"5\") DISTRIBUTED BY HASH(k) BUCKETS 4";
        assert_eq!(add_partition_sql("t", with, Some(("HASH", 9, vec![]))), format!("ALTER TABLE `t` {with}"));
        let auto = "ADD PARTITION p VALUES LESS THAN (\"5\") DISTRIBUTED BY HASH(k) BUCKETS AUTO";
        assert!(add_partition_sql("t", auto, Some(("HASH", 9, vec!["k".into()]))).ends_with("HASH(k)  BUCKETS 9"));
    }
}
