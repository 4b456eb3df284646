//! Shared by the FE integration tests: an FE config for tests, statements through the
//! executor, result-set helpers, polling with a deadline, FE thrift clients; in-process
//! BEs and their data (`backend`), backup/restore jobs (`jobs`), BE processes of the
//! `doris-rs` binary (`process`).
#![allow(dead_code)]

mod backend;
mod jobs;
mod process;

// Not every test crate uses every helper.
#[allow(unused_imports)]
pub use backend::*;
#[allow(unused_imports)]
pub use jobs::*;
#[allow(unused_imports)]
pub use process::*;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use doris_fe::config::FeConfig;
use doris_fe::error::FeError;
use doris_fe::executor::FeExecutor;
use doris_fe::mysql::{Executor, QueryOutput, Session};
use doris_fe::server::{start, FeHandle};
use doris_thrift::frontend_service::TGetBackendMetaRequest;
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::TStatus;
use doris_thrift::transport::{ClientOptions, ClientPool};
use doris_thrift::types::{TBackend, TTaskType};

pub const ROOT_PASSWORD: &str = "root-pw";

pub fn fe_config(meta_dir: &Path) -> FeConfig {
    let mut c = FeConfig::default();
    for (k, v) in [
        ("meta_dir", meta_dir.to_str().unwrap()),
        ("rpc_port", "0"),
        ("query_port", "0"),
        ("http_port", "0"),
        ("priority_networks", "127.0.0.0/8"),
        ("heartbeat_interval_second", "0.2"),
        ("root_password", ROOT_PASSWORD),
        ("max_create_table_timeout_second", "30"),
    ] {
        c.set(k, v).unwrap();
    }
    c
}

/// An in-process FE with the tests' config on `meta`.
pub async fn start_fe(meta: &Path) -> FeHandle {
    start(fe_config(meta)).await.unwrap()
}

/// A FrontendService client of `fe`'s thrift port.
pub fn fe_client(fe: &FeHandle, pool: &ClientPool) -> FrontendServiceClient {
    FrontendServiceClient::new(pool.channel(fe.rpc_addr.to_string(), ClientOptions::default()))
}

/// getBackendMeta as root, as the CCR syncer asks it.
pub fn backend_meta_req() -> TGetBackendMetaRequest {
    // Not `..Default::default()`: the generated default fills every field with "" or 0.
    TGetBackendMetaRequest {
        cluster: None,
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        user_ip: None,
        token: None,
        backend_id: None,
    }
}

/// A finishTask as a BE sends it, with nothing but the task's identity and status.
pub fn finish_task_req(
    backend: TBackend,
    task_type: TTaskType,
    signature: i64,
    status: TStatus,
) -> TFinishTaskRequest {
    TFinishTaskRequest::new(
        backend, task_type, signature, status, 1i64, None, None, None, None, None, None, None,
        None, None, None, None, None, None, None, None,
    )
}

/// Statements as a MySQL client would send them, through the executor.
pub struct Sql {
    exec: FeExecutor,
    pub session: Session,
}

impl Sql {
    pub fn new(exec: FeExecutor) -> Self {
        Sql {
            exec,
            session: Session::new(1, "root", "127.0.0.1"),
        }
    }

    pub async fn try_run(&mut self, sql: &str) -> Result<QueryOutput, FeError> {
        let stmt = doris_fe::sql::parse(sql)?;
        if let doris_fe::sql::Statement::Query(q) = &stmt {
            let env = doris_fe::query::QueryEnv {
                current_db: self.session.current_db.clone(),
                user: self.session.user.clone(),
                user_host: self.session.user_host.clone(),
                client_host: self.session.client_host.clone(),
                connection_id: self.session.connection_id,
                variables: Default::default(),
            };
            return self.exec.query(q, &env).await;
        }
        let use_db = match &stmt {
            doris_fe::sql::Statement::Use { db } => Some(db.clone()),
            _ => None,
        };
        let out = self.exec.execute(&mut self.session, stmt).await?;
        if let Some(db) = use_db {
            self.session.current_db = Some(db);
        }
        Ok(out)
    }

    pub async fn run(&mut self, sql: &str) -> QueryOutput {
        match self.try_run(sql).await {
            Ok(o) => o,
            Err(e) => panic!("`{sql}` failed: {e}"),
        }
    }

    /// A result set as header names and text cells.
    pub async fn rows(&mut self, sql: &str) -> Table {
        to_table(self.run(sql).await)
    }
}

/// A result set as header names and text cells.
pub fn to_table(out: QueryOutput) -> Table {
    match out {
        QueryOutput::Rows { columns, rows } => Table {
            names: columns.into_iter().map(|c| c.name).collect(),
            rows: rows
                .into_iter()
                .map(|r| {
                    r.iter()
                        .map(|v| {
                            v.to_text()
                                .map(|b| String::from_utf8(b).unwrap())
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect(),
        },
        other => panic!("answered {other:?}, expected rows"),
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub names: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn col(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.names))
    }

    pub fn get<'a>(&'a self, row: &'a [String], name: &str) -> &'a str {
        &row[self.col(name)]
    }

    /// Column `name` of the last row (SHOW BACKUP/RESTORE list the newest job last).
    pub fn last(&self, name: &str) -> &str {
        let row = self.rows.last().expect("no rows");
        self.get(row, name)
    }

    pub fn column(&self, name: &str) -> Vec<String> {
        let i = self.col(name);
        self.rows.iter().map(|r| r[i].clone()).collect()
    }

    /// The values of column `value` for each value of column `key`.
    pub fn group(&self, key: &str, value: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &self.rows {
            out.entry(self.get(r, key).to_string())
                .or_default()
                .insert(self.get(r, value).to_string());
        }
        out
    }
}

/// Wait until SHOW BACKENDS lists `n` backends, all alive; the result set.
pub async fn wait_alive(exec: FeExecutor, n: usize) -> Table {
    wait_for(60, "backends alive", || {
        let exec = exec.clone();
        async move {
            let t = Sql::new(exec).rows("SHOW BACKENDS").await;
            (t.rows.len() == n && t.column("Alive").iter().all(|a| a == "true")).then_some(t)
        }
    })
    .await
}

/// Poll `f` until it returns Some, failing the test with `what` after `secs`.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`wait_for`] a condition that needs no awaiting (files, in-memory state).
pub async fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(secs, what, || {
        let ok = cond();
        async move { ok.then_some(()) }
    })
    .await
}
