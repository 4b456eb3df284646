//! `PUT /api/{db}/{table}/_stream_load` on the BE: the coordinator of one load.
//!
//! loadTxnBegin (the FE checks the password and the label) -> the FE's write plan -> parse
//! the CSV, route rows to partitions and buckets -> one segment per tablet written on every
//! replica -> loadTxnCommit with the tablets written (the FE publishes the new versions and
//! answers once they are visible). Any failure after begin rolls the transaction back, so
//! nothing of the load becomes visible.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use doris_thrift::frontend_service::{
    TAutoIncrementRangeRequest, TLoadTxnBeginRequest, TLoadTxnCommitRequest, TLoadTxnRollbackRequest,
};
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::types::TTabletCommitInfo;
use futures::stream::{self, StreamExt};
use tracing::{info, warn};

use super::body::{self, BodySpec};
use super::options::LoadOptions;
use super::{csv, error_log};
use super::plan::{quorum_written, LoadPlan, Router};
use super::segment;
use super::types::Cell;
use super::{caller, header, master_fe_client, TOKEN_HEADER};
use crate::context::BeContext;

/// Replica writes in flight at once.
const WRITE_PARALLELISM: usize = 8;

/// The answer, with upstream's keys in upstream's order.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub txn_id: i64,
    pub label: String,
    pub status: &'static str,
    pub existing_job_status: Option<String>,
    pub message: String,
    pub total: u64,
    pub loaded: u64,
    pub filtered: u64,
    pub unselected: u64,
    pub load_bytes: u64,
    pub load_ms: u64,
    pub begin_txn_ms: u64,
    pub read_data_ms: u64,
    pub write_data_ms: u64,
    pub commit_publish_ms: u64,
    /// Where the filtered rows can be read (upstream's last key).
    pub error_url: Option<String>,
    pub two_phase_commit: bool,
}

impl LoadResult {
    pub fn to_json(&self) -> String {
        let mut pairs: Vec<(&str, serde_json::Value)> = vec![
            ("TxnId", self.txn_id.into()),
            ("Label", self.label.clone().into()),
            ("Comment", "".into()),
            ("TwoPhaseCommit", if self.two_phase_commit { "true" } else { "false" }.into()),
            ("Status", self.status.into()),
        ];
        if let Some(s) = &self.existing_job_status {
            pairs.push(("ExistingJobStatus", s.clone().into()));
        }
        pairs.extend([
            ("Message", self.message.clone().into()),
            ("NumberTotalRows", self.total.into()),
            ("NumberLoadedRows", self.loaded.into()),
            ("NumberFilteredRows", self.filtered.into()),
            ("NumberUnselectedRows", self.unselected.into()),
            ("LoadBytes", self.load_bytes.into()),
            ("LoadTimeMs", self.load_ms.into()),
            ("BeginTxnTimeMs", self.begin_txn_ms.into()),
            ("StreamLoadPutTimeMs", 0.into()),
            ("ReadDataTimeMs", self.read_data_ms.into()),
            ("WriteDataTimeMs", self.write_data_ms.into()),
            ("ReceiveDataTimeMs", 0.into()),
            ("CommitAndPublishTimeMs", self.commit_publish_ms.into()),
        ]);
        if let Some(url) = &self.error_url {
            pairs.push(("ErrorURL", url.clone().into()));
        }
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("    \"{k}\": {}", serde_json::to_string(v).unwrap_or_else(|_| "null".into())))
            .collect();
        format!("{{\n{}\n}}\n", body.join(",\n"))
    }
}

/// `v` percent-encoded for a query string (all but unreserved characters).
fn query_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn status_msg(s: &TStatus) -> String {
    s.error_msgs.clone().unwrap_or_default().join("; ")
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

pub async fn handle(
    State(ctx): State<Arc<BeContext>>,
    Path((db, table)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let label = header(&headers, "label").unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut r = LoadResult { label: label.clone(), status: "Fail", load_bytes: body.len() as u64, ..Default::default() };
    let Some((user, passwd, token)) = caller(&headers) else {
        r.message = "no valid Basic authorization".into();
        return (StatusCode::UNAUTHORIZED, [("WWW-Authenticate", "Basic realm=\"doris\"")], r.to_json()).into_response();
    };
    let host = request_host(&headers);
    let load = Load { ctx: ctx.clone(), db, table, user, passwd, token, label, host };
    // Options are checked before a transaction is begun: a bad header costs no label.
    match LoadOptions::from_headers(&headers) {
        Ok(opts) => {
            r.two_phase_commit = opts.two_phase_commit;
            load.run(&headers, &opts, body, &mut r).await
        }
        Err(e) => r.message = e,
    }
    r.load_ms = ms(started);
    info!(label = %r.label, txn_id = r.txn_id, status = r.status, loaded = r.loaded, filtered = r.filtered, "stream load done");
    (StatusCode::OK, [("Content-Type", "application/json; charset=UTF-8")], r.to_json()).into_response()
}

struct Load {
    ctx: Arc<BeContext>,
    db: String,
    table: String,
    user: String,
    passwd: String,
    token: Option<String>,
    label: String,
    /// This BE's host as the client reached it (the `Host` header), for ErrorURL.
    host: Option<String>,
}

/// The host part of the request's `Host` header (`h`, `h:port`, `[v6]:port`).
fn request_host(h: &HeaderMap) -> Option<String> {
    let v = header(h, "host")?;
    let host = match v.strip_prefix('[') {
        Some(rest) => format!("[{}]", rest.split(']').next()?),
        None => v.split(':').next().unwrap_or_default().to_string(),
    };
    (!host.is_empty() && host != "[]").then_some(host)
}

impl Load {
    fn fe_client(&self, timeout: Duration) -> Result<FrontendServiceClient, String> {
        master_fe_client(&self.ctx, timeout)
    }

    async fn run(&self, headers: &HeaderMap, opts: &LoadOptions, body: Bytes, r: &mut LoadResult) {
        // 1. Begin: the FE checks the user and the label.
        let t = Instant::now();
        let begin = TLoadTxnBeginRequest {
            cluster: None,
            user: self.user.clone(),
            passwd: self.passwd.clone(),
            db: self.db.clone(),
            tbl: self.table.clone(),
            user_ip: None,
            label: self.label.clone(),
            timestamp: Some(chrono::Utc::now().timestamp_millis()),
            auth_code: None,
            timeout: header(headers, "timeout").and_then(|t| t.parse().ok()),
            request_id: None,
            token: self.token.clone(),
            auth_code_uuid: None,
            table_id: None,
            backend_id: self.ctx.master().backend_id,
        };
        let res = match self.fe_client(Duration::from_secs(30)) {
            Ok(c) => c.load_txn_begin(&begin).await.map_err(|e| format!("loadTxnBegin failed: {e}")),
            Err(e) => Err(e),
        };
        r.begin_txn_ms = ms(t);
        let res = match res {
            Ok(res) => res,
            Err(e) => {
                r.message = e;
                return;
            }
        };
        if res.status.status_code == TStatusCode::LABEL_ALREADY_EXISTS {
            r.status = "Label Already Exists";
            r.existing_job_status = Some(res.job_status.clone().unwrap_or_else(|| "FINISHED".into()));
            r.message = status_msg(&res.status);
            return;
        }
        if res.status.status_code != TStatusCode::OK {
            r.message = status_msg(&res.status);
            return;
        }
        let txn_id = res.txn_id.unwrap_or(-1);
        r.txn_id = txn_id;
        crate::storage::failpoint!("stream_load.after_begin");
        match self.load_in_txn(txn_id, opts, &body, r).await {
            Ok(()) => {}
            Err(e) => {
                r.status = "Fail";
                r.message = e.clone();
                self.rollback(txn_id, &e).await;
            }
        }
    }

    async fn rollback(&self, txn_id: i64, reason: &str) {
        let req = TLoadTxnRollbackRequest::new(
            None,
            self.user.clone(),
            self.passwd.clone(),
            self.db.clone(),
            self.table.clone(),
            None,
            txn_id,
            reason.chars().take(1024).collect::<String>(),
            None,
            self.token.clone(),
            None,
            None,
            None,
            self.label.clone(),
        );
        match self.fe_client(Duration::from_secs(30)) {
            Ok(c) => match c.load_txn_rollback(&req).await {
                Ok(res) if res.status.status_code == TStatusCode::OK => {}
                Ok(res) => warn!(txn_id, msg = %status_msg(&res.status), "loadTxnRollback refused"),
                Err(e) => warn!(txn_id, error = %e, "loadTxnRollback failed"),
            },
            Err(e) => warn!(txn_id, error = %e, "cannot roll back"),
        }
    }

    /// Best effort: drop the txn's pending rowsets on the replicas it was sent to, so a
    /// failed load leaves no files behind (unreachable replicas keep theirs).
    async fn abort_replicas(&self, txn_id: i64, targets: &[(i64, String, i32)]) {
        let token = self.ctx.token();
        let http = self.ctx.http.clone();
        stream::iter(targets.iter().cloned())
            .map(|(tablet_id, host, port)| {
                let (http, token) = (http.clone(), token.clone());
                async move {
                    let url = format!("http://{host}:{port}/api/_internal/load/abort?tablet_id={tablet_id}&txn_id={txn_id}");
                    if let Err(e) = http.post(url).header(TOKEN_HEADER, token).timeout(Duration::from_secs(10)).send().await {
                        warn!(txn_id, tablet_id, host = %host, error = %e, "cannot drop the pending rowset");
                    }
                }
            })
            .buffer_unordered(WRITE_PARALLELISM)
            .collect::<Vec<()>>()
            .await;
    }

    /// Keep the filtered rows in an error log; its URL, or None when it could not be
    /// written (the load goes on: the log is a convenience).
    async fn write_error_log(&self, errors: Vec<String>, filtered: u64) -> Option<String> {
        let (dir, hours) = (error_log::dir(&self.ctx), self.ctx.config.load_error_log_reserve_hours);
        let (db, label) = (self.db.clone(), self.label.clone());
        let written = tokio::task::spawn_blocking(move || error_log::write(&dir, hours, &db, &label, &errors, filtered)).await;
        match written {
            Ok(Ok(name)) => {
                let host = self.host.clone().unwrap_or_else(|| "127.0.0.1".into());
                Some(format!("http://{host}:{}/api/_load_error_log?file={name}", self.ctx.config.webserver_port))
            }
            Ok(Err(e)) => {
                warn!(label = %self.label, error = %e, "cannot write the load's error log");
                None
            }
            Err(e) => {
                warn!(label = %self.label, error = %e, "error log task failed");
                None
            }
        }
    }

    /// The plan of this load; upstream's `partitions` / `temporary_partitions` headers
    /// restrict it to those partitions.
    async fn fetch_plan(&self, txn_id: i64, opts: &LoadOptions) -> Result<LoadPlan, String> {
        let m = self.ctx.master();
        let fe = m.fe_addr.ok_or("no master FE known")?;
        let port = m.fe_http_port.ok_or("the master FE's http port is unknown")?;
        // Database and table names are identifiers ([A-Za-z0-9_-]): nothing to escape.
        let mut url = format!(
            "http://{}:{}/api/_internal/load_plan?db={}&table={}&txn_id={txn_id}",
            fe.hostname, port, self.db, self.table
        );
        for (name, v) in [("partitions", &opts.partitions), ("temporary_partitions", &opts.temporary_partitions)] {
            if let Some(v) = v {
                url.push_str(&format!("&{name}={}", query_escape(v)));
            }
        }
        let resp = self
            .ctx
            .http
            .get(url)
            .header(TOKEN_HEADER, m.token.clone())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| format!("cannot get the load plan from the FE: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| format!("reading the load plan: {e}"))?;
        if !status.is_success() {
            return Err(format!("the FE refused the load plan ({status}): {}", super::plan::fe_message(&bytes)));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("bad load plan: {e}"))
    }

    /// `length` AUTO_INCREMENT values of column `column_id` from the master FE: the first.
    async fn auto_increment_range(&self, plan: &LoadPlan, column_id: i32, length: usize) -> Result<i64, String> {
        let req = TAutoIncrementRangeRequest {
            db_id: Some(plan.db_id),
            table_id: Some(plan.table_id),
            column_id: Some(i64::from(column_id)),
            length: Some(length as i64),
            lower_bound: None,
        };
        let res = self
            .fe_client(Duration::from_secs(30))?
            .get_auto_increment_range(&req)
            .await
            .map_err(|e| format!("getAutoIncrementRange failed: {e}"))?;
        match &res.status {
            Some(s) if s.status_code == TStatusCode::OK => {}
            Some(s) => return Err(format!("getAutoIncrementRange refused: {}", status_msg(s))),
            None => return Err("getAutoIncrementRange answered no status".into()),
        }
        match (res.start, res.length) {
            (Some(start), Some(n)) if n >= length as i64 => Ok(start),
            _ => Err(format!("getAutoIncrementRange answered a range shorter than {length}")),
        }
    }

    async fn load_in_txn(&self, txn_id: i64, opts: &LoadOptions, body: &Bytes, r: &mut LoadResult) -> Result<(), String> {
        let plan = self.fetch_plan(txn_id, opts).await?;
        let mut router = Router::new(&plan)?;
        // The hidden columns' values (merge_type, sequence column): checked before parsing.
        let fill = super::hidden::plan(&plan, opts, &self.table)?;

        // 2. Parse and route.
        let t = Instant::now();
        let LoadOptions { derived, filter, max_filter_ratio, format, .. } = opts.clone();
        let columns = fill.file_columns.clone();
        let derived: Vec<(String, String)> = fill.derived.iter().cloned().chain(derived).collect();
        let table_cols = router.columns.clone();
        let body2 = body.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            let spec = BodySpec { table: &table_cols, columns: &columns, derived: &derived, filter: filter.as_deref() };
            body::parse(&body2, &format, &spec)
        })
        .await
        .map_err(|e| format!("parse task failed: {e}"))??;
        let mut filtered = parsed.filtered;
        let mut errors = parsed.errors;
        let total = parsed.total;
        let unselected = parsed.unselected;
        // AUTO_INCREMENT values for the rows that left the column out (or NULL), one range
        // from the FE for the batch.
        let mut rows = parsed.rows;
        fill.finish(&mut rows);
        let wanted = router.auto_increment_wanted(&rows);
        let start = match (wanted, router.auto_increment) {
            (0, _) | (_, None) => 0,
            (n, Some((_, column_id))) => self.auto_increment_range(&plan, column_id, n).await?,
        };
        router.fill_auto_increment(&mut rows, start);
        // rows per partition per bucket
        let mut routed: Vec<Vec<Vec<Vec<Cell>>>> =
            plan.partitions.iter().map(|p| vec![Vec::new(); p.tablets.len()]).collect();
        let mut touched = vec![false; plan.partitions.len()];
        for (ordinal, row) in rows.into_iter().enumerate() {
            match router.partition_of(&row) {
                Some(p) => {
                    let b = router.bucket_of(p, &row, ordinal as u64);
                    touched[p] = true;
                    routed[p][b].push(row);
                }
                None => {
                    filtered += 1;
                    if errors.len() < csv::MAX_ERROR_SAMPLES {
                        let src: Vec<String> =
                            row.iter().zip(&router.columns).map(|(c, col)| c.to_json(&col.kind).to_string()).collect();
                        errors.push(csv::reject("no partition for this tuple", &src.join(", ")));
                    }
                }
            }
        }
        r.total = total;
        r.filtered = filtered;
        r.unselected = unselected;
        r.loaded = total - filtered - unselected;
        r.read_data_ms = ms(t);
        if filtered > 0 {
            r.error_url = self.write_error_log(errors.clone(), filtered).await;
        }
        // Upstream's ratio: filtered rows over the rows selected (loaded + filtered).
        if filtered > 0 && filtered as f64 > (filtered + r.loaded) as f64 * max_filter_ratio {
            let first = errors.first().cloned().unwrap_or_default();
            return Err(format!("[DATA_QUALITY_ERROR]too many filtered rows; first error: {first}"));
        }

        // 3. One segment per tablet of every touched partition, on every replica.
        let t = Instant::now();
        let mut jobs = Vec::new();
        for (p, part) in plan.partitions.iter().enumerate() {
            if !touched[p] {
                continue;
            }
            for (b, tablet) in part.tablets.iter().enumerate() {
                let rows = std::mem::take(&mut routed[p][b]);
                jobs.push((part.id, tablet.clone(), rows));
            }
        }
        let columns = Arc::new(router.columns.clone());
        let token = self.ctx.token();
        let mut writes = Vec::new();
        let mut required: HashMap<i64, usize> = HashMap::new();
        for (partition_id, tablet, rows) in jobs {
            let n = rows.len() as i64;
            let cols = columns.clone();
            let bytes: Bytes = if rows.is_empty() {
                Bytes::new()
            } else {
                tokio::task::spawn_blocking(move || segment::write(&cols, &rows))
                    .await
                    .map_err(|e| format!("segment task failed: {e}"))?
                    .map_err(|e| format!("writing the segment of tablet {}: {e}", tablet.id))?
                    .into()
            };
            if tablet.replicas.is_empty() {
                return Err(format!("tablet {} has no replica", tablet.id));
            }
            required.insert(tablet.id, tablet.required());
            for rep in &tablet.replicas {
                writes.push((partition_id, tablet.id, n, rep.clone(), bytes.clone()));
            }
        }
        let replicas: Vec<(i64, i64, String, i32)> =
            writes.iter().map(|(_, tablet_id, _, rep, _)| (*tablet_id, rep.backend_id, rep.host.clone(), rep.http_port)).collect();
        let targets: Vec<(i64, String, i32)> = replicas.iter().map(|(t, _, h, p)| (*t, h.clone(), *p)).collect();
        let http = self.ctx.http.clone();
        let results: Vec<(i64, i64, Result<TTabletCommitInfo, String>)> = stream::iter(writes)
            .map(|(partition_id, tablet_id, n, rep, bytes)| {
                let http = http.clone();
                let token = token.clone();
                let backend_id = rep.backend_id;
                let write = async move {
                    let url = format!(
                        "http://{}:{}/api/_internal/load/rowset?tablet_id={tablet_id}&txn_id={txn_id}&partition_id={partition_id}&num_rows={n}",
                        rep.host, rep.http_port
                    );
                    let resp = http
                        .post(url)
                        .header(TOKEN_HEADER, token)
                        .timeout(Duration::from_secs(300))
                        .body(bytes)
                        .send()
                        .await
                        .map_err(|e| format!("writing tablet {tablet_id} on backend {}: {e}", rep.backend_id))?;
                    if !resp.status().is_success() {
                        let st = resp.status();
                        let text = resp.text().await.unwrap_or_default();
                        return Err(format!("writing tablet {tablet_id} on backend {} failed ({st}): {text}", rep.backend_id));
                    }
                    Ok(TTabletCommitInfo::new(tablet_id, rep.backend_id, None))
                };
                async move { (tablet_id, backend_id, write.await) }
            })
            .buffer_unordered(WRITE_PARALLELISM)
            .collect()
            .await;
        let commit_infos = match quorum_written(results, &required) {
            Ok((c, failed)) => {
                // Replicas that failed are left out of the commit (the FE marks them
                // lagging); what they may hold of this load is dropped.
                if !failed.is_empty() {
                    warn!(txn_id, failed = ?failed, "replica writes failed; committing with a quorum of each tablet");
                    let dropped: Vec<(i64, String, i32)> =
                        replicas.iter().filter(|(t, b, _, _)| failed.contains(&(*t, *b))).map(|(t, _, h, p)| (*t, h.clone(), *p)).collect();
                    self.abort_replicas(txn_id, &dropped).await;
                }
                c
            }
            Err(e) => {
                self.abort_replicas(txn_id, &targets).await;
                return Err(e);
            }
        };
        r.write_data_ms = ms(t);
        crate::storage::failpoint!("stream_load.after_write");

        // 4. Commit; the FE publishes and answers when the versions are visible.
        let t = Instant::now();
        let req = TLoadTxnCommitRequest {
            cluster: None,
            user: self.user.clone(),
            passwd: self.passwd.clone(),
            db: self.db.clone(),
            tbl: self.table.clone(),
            user_ip: None,
            txn_id,
            sync: true,
            commit_infos: Some(commit_infos),
            auth_code: None,
            thrift_rpc_timeout_ms: None,
            token: self.token.clone(),
            db_id: Some(plan.db_id),
            tbls: None,
            table_id: Some(plan.table_id),
            auth_code_uuid: None,
            receive_bytes: Some(body.len() as i64),
            backend_id: self.ctx.master().backend_id,
        };
        let client = self.fe_client(Duration::from_secs(180))?;
        let res = if opts.two_phase_commit {
            // The rowsets stay pending until the user's commit or abort (`_stream_load_2pc`).
            client.load_txn_pre_commit(&req).await.map_err(|e| format!("loadTxnPreCommit failed: {e}"))?
        } else {
            client.load_txn_commit(&req).await.map_err(|e| format!("loadTxnCommit failed: {e}"))?
        };
        r.commit_publish_ms = ms(t);
        if res.status.status_code == TStatusCode::PUBLISH_TIMEOUT {
            // Committed: the FE keeps publishing; the rows become visible later.
            r.status = "Publish Timeout";
            r.message = status_msg(&res.status);
            return Ok(());
        }
        if res.status.status_code != TStatusCode::OK {
            self.abort_replicas(txn_id, &targets).await;
            return Err(status_msg(&res.status));
        }
        r.status = "Success";
        r.message = "OK".into();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn host_of_the_request() {
        assert_eq!(request_host(&headers(&[("host", "10.0.0.5:8040")])).as_deref(), Some("10.0.0.5"));
        assert_eq!(request_host(&headers(&[("host", "be1")])).as_deref(), Some("be1"));
        assert_eq!(request_host(&headers(&[("host", "[::1]:8040")])).as_deref(), Some("[::1]"));
        assert_eq!(request_host(&HeaderMap::new()), None);
    }

    #[test]
    fn error_url_is_the_last_key() {
        let r = LoadResult { error_url: Some("http://h:1/api/_load_error_log?file=f".into()), ..Default::default() };
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let text = r.to_json();
        assert!(text.trim_end().ends_with("\"ErrorURL\": \"http://h:1/api/_load_error_log?file=f\"\n}"), "{text}");
        assert_eq!(v["ErrorURL"], "http://h:1/api/_load_error_log?file=f");
        assert!(!LoadResult::default().to_json().contains("ErrorURL"));
    }
}
