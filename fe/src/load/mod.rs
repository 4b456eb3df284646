//! Loads on the FE: the stream load entry (redirect to a BE), load transactions and
//! labels, the write plan BEs fetch, publish of new versions, and the reads (COUNT(*),
//! SELECT) over the tablets' visible rowsets.
//!
//! - `http`: `/api/{db}/{table}/_stream_load`, `/api/{db}/_stream_load_2pc`, `/api/_internal/load_plan` and
//!   `/api/_internal/load/txn_state`.
//! - `txn`: transaction records and labels (own redb file in the meta dir).
//! - `rpc`: loadTxnBegin/Commit/Rollback, loadTxnPreCommit/loadTxn2PC.
//! - `commit`: commit and rollback, shared by stream loads and CCR transactions.
//! - `delete`: DELETE FROM ... WHERE, a transaction of REALTIME_PUSH (DELETE) tasks.
//! - `auto_inc`: getAutoIncrementRange, AUTO_INCREMENT values for the BEs' loads.
//! - `ccr_txn`: beginTxn/commitTxn/rollbackTxn, the transactions a CCR syncer drives on
//!   the target cluster (over several tables; data ingested by the BEs from the source).
//! - `insert` / `overwrite`: INSERT INTO and INSERT OVERWRITE, loaded as a stream load;
//!   `jobs`: the load job each INSERT leaves for SHOW LOAD.
//! - `publish`: publish, and the load daemon (publish retries, timeouts, clearing
//!   aborted loads on the BEs); `quorum`: which replicas a publish needs (a majority of
//!   each tablet's).
//! - `repair`: CLONE tasks that bring lagging replicas back to the visible version.

pub mod auto_inc;
pub mod ccr_txn;
pub mod commit;
pub mod delete;
pub mod http;
pub mod insert;
pub mod jobs;
pub mod overwrite;
pub mod publish;
pub mod quorum;
pub mod repair;
pub mod rpc;
pub mod txn;

use axum::routing::{get, put};
use axum::Router;

use std::sync::Arc;

use crate::system::task_queue::AgentTasks;

crate::module_handle!(
    /// What loads use: the transaction store, agent tasks (PUBLISH_VERSION), the binlogs
    /// (a publish writes its UPSERT).
    Loads {
        txns: Arc<txn::TxnStore>,
        tasks: Arc<AgentTasks>,
        binlogs: Arc<crate::binlog::Binlogs>,
        /// AUTO_INCREMENT values handed out (getAutoIncrementRange).
        auto_inc: Arc<auto_inc::AutoIncrements>,
    }
);


/// The load routes, to merge into the FE's HTTP router (any state type).
pub fn router<S: Clone + Send + Sync + 'static>(ctx: Loads) -> Router<S> {
    Router::new()
        .route("/api/{db}/{table}/_stream_load", put(http::stream_load_redirect))
        .route("/api/{db}/_stream_load_2pc", put(http::stream_load_2pc_redirect))
        .route("/api/_internal/load_plan", get(http::load_plan))
        .route("/api/_internal/load/txn_state", get(http::txn_state))
        .with_state(ctx)
}
