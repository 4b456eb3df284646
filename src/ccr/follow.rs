//! `ccr-sync --follow`: a full sync, then the incremental sync the CCR syncer runs after
//! it: read the source's log with getBinlog from where the target stands, apply each entry
//! (`apply`), save the position (`progress`), and on BINLOG_TOO_OLD_COMMIT_SEQ or a DUMMY
//! start a new full sync. One table followed is the syncer's table sync (the table's log);
//! several or none, its db sync (the database's log).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use doris_thrift::frontend_service::{TBinlog, TGetBinlogRequest};
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::{ClientOptions, ClientPool};

use super::apply::{self, kind, Applied, Env};
use super::conn::mysql;
use super::full;
use super::progress::{Progress, Store};
use super::CcrSyncArgs;

/// Wait after a failed apply before trying the entry again (doubling up to the max).
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

pub async fn run(a: &CcrSyncArgs) -> Result<(), String> {
    let dst_db = a.dst_db.clone().unwrap_or_else(|| a.db.clone());
    let state = a.state.clone().unwrap_or_else(|| PathBuf::from(format!("ccr-sync-{}.redb", a.db)));
    let key = format!("{}/{} -> {}/{} [{}]", a.src, a.db, a.dst, dst_db, a.tables.join(","));
    let store = Store::open(&state, &key)?;
    let pool = ClientPool::new();
    let mut env = Env {
        user: a.user.clone(),
        password: a.password.clone(),
        src_db: a.db.clone(),
        dst_db: dst_db.clone(),
        src: mysql("source", &a.src, &a.user, &a.password).await?,
        dst: mysql("target", &a.dst, &a.user, &a.password).await?,
        src_fe: FrontendServiceClient::new(pool.channel(a.src_rpc.clone(), ClientOptions::default())),
        dst_fe: FrontendServiceClient::new(pool.channel(a.dst_rpc.clone(), ClientOptions::default())),
        pool,
    };
    // Table sync reads the table's log; db sync the database's.
    let table = (a.tables.len() == 1).then(|| a.tables[0].clone());
    let mut progress = match store.load()? {
        Some(mut p) => {
            println!("resuming at commit seq {} ({} applied, {} full syncs)", p.commit_seq, p.applied, p.full_syncs);
            if p.targets.is_empty() {
                // Kept by an older ccr-sync: the tables are kept under their source names.
                for id in p.table_seqs.keys() {
                    if let Some(t) = env.src_table(*id).await? {
                        p.targets.insert(*id, t.name.unwrap_or_default());
                    }
                }
            }
            p
        }
        None => new_full_sync(a, &store, Progress::default(), false).await?,
    };
    let started = Instant::now();
    let mut retry = RETRY_FIRST;
    loop {
        let (code, binlogs, msgs) = get_binlog(&env, table.as_deref(), progress.commit_seq).await?;
        match code {
            TStatusCode::OK | TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ => {
                let Some(b) = binlogs.into_iter().next() else {
                    return Err("getBinlog answered OK without a binlog".into());
                };
                if code == TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ || b.type_.map(|t| t.0) == Some(kind::DUMMY) {
                    println!("commit seq {} was collected on the source: new full sync", progress.commit_seq);
                    progress = new_full_sync(a, &store, progress, true).await?;
                    continue;
                }
                let seq = b.commit_seq.unwrap_or_default();
                match apply::apply(&mut env, &a.tables, &progress.table_seqs, &mut progress.targets, &b).await {
                    Ok(done) => {
                        retry = RETRY_FIRST;
                        progress.commit_seq = seq;
                        progress.applied += matches!(done, Applied::Done(_)) as u64;
                        store.save(&progress)?;
                        report(&env, table.as_deref(), &b, &done, progress.commit_seq).await;
                    }
                    Err(e) => {
                        eprintln!("commit seq {seq} ({}): {e}; retrying in {} s", type_name(&b), retry.as_secs());
                        tokio::time::sleep(retry).await;
                        retry = (retry * 2).min(RETRY_MAX);
                    }
                }
            }
            TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ => {
                if a.exit_when_caught_up {
                    println!(
                        "caught up at commit seq {} ({} applied, {} full syncs, {:.1} s)",
                        progress.commit_seq,
                        progress.applied,
                        progress.full_syncs,
                        started.elapsed().as_secs_f64()
                    );
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(a.poll_ms)).await;
            }
            other => return Err(format!("getBinlog: {other:?} {}", msgs.join("; "))),
        }
    }
}

fn type_name(b: &TBinlog) -> &'static str {
    kind::name(b.type_.map(|t| t.0).unwrap_or(-1))
}

/// What the syncer sends: the table by name (table sync) or none (db sync), nothing else
/// set (a generated Default would send `table_id = 0`).
fn binlog_request(env: &Env, table: Option<&str>, prev: i64) -> TGetBinlogRequest {
    TGetBinlogRequest::new(
        None,
        env.user.clone(),
        env.password.clone(),
        env.src_db.clone(),
        table.map(str::to_string),
        None,
        None,
        None,
        prev,
    )
}

async fn get_binlog(env: &Env, table: Option<&str>, prev: i64) -> Result<(TStatusCode, Vec<TBinlog>, Vec<String>), String> {
    let req = binlog_request(env, table, prev);
    let r = env.src_fe.get_binlog(&req).await.map_err(|e| format!("getBinlog: {e}"))?;
    let status = r.status.ok_or("getBinlog: the answer has no status")?;
    Ok((status.status_code, r.binlogs.unwrap_or_default(), status.error_msgs.unwrap_or_default()))
}

/// One line per entry: what was done and how far behind the target still is.
async fn report(env: &Env, table: Option<&str>, b: &TBinlog, done: &Applied, seq: i64) {
    let req = binlog_request(env, table, seq);
    let lag = match env.src_fe.get_binlog_lag(&req).await {
        Ok(r) => r.lag.map(|l| l.to_string()).unwrap_or_else(|| "?".into()),
        Err(_) => "?".into(),
    };
    match done {
        Applied::Done(what) => println!("commit seq {seq} {}: {what} (lag {lag})", type_name(b)),
        Applied::Skipped(why) => println!("commit seq {seq} {}: skipped, {why} (lag {lag})", type_name(b)),
    }
}

/// A full sync; incremental sync then goes on after the oldest point its snapshot
/// includes (entries of a table at or before its own point are skipped).
async fn new_full_sync(a: &CcrSyncArgs, store: &Store, mut p: Progress, replace: bool) -> Result<Progress, String> {
    let f = full::run(a, replace).await?;
    p.commit_seq = f.table_commit_seqs.values().copied().min().unwrap_or(p.commit_seq);
    p.table_seqs = f.table_commit_seqs;
    p.targets = f.tables;
    p.full_syncs += 1;
    store.save(&p)?;
    println!("full sync {} done; incremental sync from commit seq {}", f.label, p.commit_seq);
    Ok(p)
}
