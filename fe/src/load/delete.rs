//! `DELETE FROM t WHERE ...`: upstream's delete by predicate, a load transaction whose data
//! is a predicate. A transaction is begun (label `delete_<uuid>`), every replica of the
//! chosen partitions gets a REALTIME_PUSH of push type DELETE carrying the conditions (the
//! BE keeps them as the transaction's pending rowset), and once all have answered the
//! transaction is committed and published as a load's: from the new version on, reads drop
//! the rows of older versions the predicate matches. Snapshots, restores and binlogs carry
//! the predicate with the rowset.

use std::time::Duration;

use doris_thrift::agent_service::{TCondition, TPushReq};
use doris_thrift::task_body::TaskBody;
use doris_thrift::types::TPushType;
use tracing::{info, warn};

use super::commit::{self, AbortedAgain, Committed};
use super::txn::{TxnRecord, TxnState, DEFAULT_TIMEOUT_S};
use super::Loads;
use crate::catalog::types::{DataType, KeysType};
use crate::catalog::OlapTable;
use crate::context::FeContext;
use crate::error::FeError;
use crate::system::task_queue::AgentTask;

/// Upstream's label prefix of delete jobs.
pub const LABEL_PREFIX: &str = "delete_";
/// How long the pushes may take (upstream's delete job default).
const PUSH_TIMEOUT: Duration = Duration::from_secs(300);

/// A condition's operator, each sent as upstream's `TCondition.condition_op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub column: String,
    pub op: CondOp,
    /// None for IS [NOT] NULL, one or more for [NOT] IN, one otherwise.
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub db: String,
    pub table: String,
    /// Empty: every partition.
    pub partitions: Vec<String>,
    pub conditions: Vec<Condition>,
}

/// What a delete did, as upstream's OK packet tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub label: String,
    pub txn_id: i64,
    /// False when committed but not yet published everywhere.
    pub visible: bool,
}

impl Deleted {
    /// Upstream's OK info.
    pub fn info(&self) -> String {
        if self.visible {
            format!("{{'label':'{}', 'txnId':'{}', 'status':'VISIBLE'}}", self.label, self.txn_id)
        } else {
            format!(
                "{{'label':'{}', 'txnId':'{}', 'status':'COMMITTED', 'msg':'delete job is committed but may be taking effect later'}}",
                self.label, self.txn_id
            )
        }
    }
}

impl Condition {
    /// Upstream's `TCondition` (values normalised to what the BE's parser reads).
    fn to_thrift(&self, column: &str) -> TCondition {
        let (op, values) = match self.op {
            CondOp::Eq => ("=", self.values.clone()),
            CondOp::NotEq => ("!=", self.values.clone()),
            CondOp::Lt => ("<", self.values.clone()),
            CondOp::LtEq => ("<=", self.values.clone()),
            CondOp::Gt => (">", self.values.clone()),
            CondOp::GtEq => (">=", self.values.clone()),
            CondOp::In => ("*=", self.values.clone()),
            CondOp::NotIn => ("!*=", self.values.clone()),
            CondOp::IsNull => ("IS", vec!["NULL".to_string()]),
            CondOp::IsNotNull => ("IS", vec!["NOT NULL".to_string()]),
        };
        TCondition::new(column.to_string(), op.to_string(), values)
    }
}

/// The conditions checked against `table` as upstream's analyzer checks them, with each
/// column named as the table spells it and each value in the column's type.
fn checked(table: &OlapTable, conditions: &[Condition]) -> Result<Vec<Condition>, FeError> {
    conditions
        .iter()
        .map(|c| {
            let col = table
                .columns
                .iter()
                .find(|col| col.name.eq_ignore_ascii_case(&c.column))
                .ok_or_else(|| FeError::UnknownColumn(c.column.clone()))?;
            if !col.is_key && table.keys_type == KeysType::Aggregate {
                return Err(FeError::Analysis(format!(
                    "delete predicate on value column only supports Unique table with merge-on-write enabled and Duplicate table, but Table[{}] is an Aggregate table.",
                    table.name
                )));
            }
            if col.data_type.is_complex() {
                return Err(FeError::Analysis(format!(
                    "Can not apply delete condition to column type: {}",
                    col.data_type.to_sql()
                )));
            }
            if matches!(col.data_type, DataType::Float | DataType::Double) {
                return Err(FeError::Analysis(format!("Column[{}] type is float or double.", col.name)));
            }
            if matches!(c.op, CondOp::IsNull | CondOp::IsNotNull) && !c.values.is_empty() {
                return Err(FeError::Analysis(format!("IS [NOT] NULL on {} takes no value", col.name)));
            }
            let values = c
                .values
                .iter()
                .map(|v| check_value(&col.data_type, v).map_err(|e| FeError::Analysis(format!("column {}: {e}", col.name))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Condition { column: col.name.clone(), op: c.op, values })
        })
        .collect()
}

/// `v` as a literal of `t`, in the text the BE parses.
fn check_value(t: &DataType, v: &str) -> Result<String, String> {
    match t {
        DataType::Decimal { precision, scale } => {
            let body = v.trim().strip_prefix('-').unwrap_or(v.trim());
            let (int, frac) = body.split_once('.').unwrap_or((body, ""));
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            let int_digits = int.trim_start_matches('0').len();
            if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || int_digits > usize::from(precision - scale) {
                return Err(format!("Invalid value `{v}` for type DECIMAL({precision}, {scale})"));
            }
            Ok(v.trim().to_string())
        }
        _ => t.check_literal(v).map_err(|e| e.0),
    }
}

pub async fn delete(ctx: &Loads, req: DeleteRequest) -> Result<Deleted, FeError> {
    let table = ctx.catalog.table(&req.db, &req.table)?;
    let conditions = checked(&table, &req.conditions)?;
    let partitions: Vec<_> = if req.partitions.is_empty() {
        table.partitions.iter().collect()
    } else {
        req.partitions
            .iter()
            .map(|n| {
                table
                    .partitions
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(n))
                    .ok_or_else(|| FeError::Analysis(format!("Partition does not exist. name: {n}")))
            })
            .collect::<Result<_, _>>()?
    };
    let ids: Vec<i64> = partitions.iter().map(|p| p.id).collect();
    if let Some(why) = table.load_refusal(&ids) {
        return Err(FeError::IllegalState(why));
    }

    let label = format!("{LABEL_PREFIX}{}", uuid::Uuid::new_v4());
    let rec = TxnRecord {
        txn_id: ctx.store.next_id()?,
        db_id: table.db_id,
        table_ids: vec![table.id],
        label: label.clone(),
        state: TxnState::Prepare,
        create_ms: FeContext::now_ms(),
        commit_ms: None,
        precommit_ms: None,
        published: Vec::new(),
        finish_ms: None,
        reason: None,
        coordinator: format!("FE: {}", ctx.host),
        partition_versions: Vec::new(),
        timeout_s: DEFAULT_TIMEOUT_S,
        written: Vec::new(),
    };
    let rec = ctx.txns.begin(rec)?.map_err(|old| FeError::IllegalState(format!("Label [{}] has already been used", old.label)))?;
    let txn_id = rec.txn_id;
    let span = tracing::info_span!("delete", txn_id, table = %table.name);
    let _e = span.enter();

    let thrift_conditions: Vec<TCondition> = conditions.iter().map(|c| c.to_thrift(&c.column)).collect();
    let columns_desc = table.tablet_schema().columns;
    let mut tasks = Vec::new();
    let mut written = Vec::new();
    for p in &partitions {
        for t in &p.index.tablets {
            for r in &t.replicas {
                let addr = ctx
                    .backends
                    .get(r.backend_id)
                    .and_then(|b| b.be_addr())
                    .ok_or_else(|| FeError::IllegalState(format!("backend {} of tablet {} is unknown or has not answered a heartbeat", r.backend_id, t.id)));
                let addr = match addr {
                    Ok(a) => a,
                    Err(e) => {
                        abort(ctx, txn_id, &e.to_string());
                        return Err(e);
                    }
                };
                let push = TPushReq {
                    tablet_id: t.id,
                    schema_hash: table.schema_hash,
                    version: -1,
                    version_hash: 0,
                    timeout: PUSH_TIMEOUT.as_secs() as i64,
                    push_type: TPushType::DELETE,
                    delete_conditions: Some(thrift_conditions.clone()),
                    need_decompress: Some(true),
                    transaction_id: Some(txn_id),
                    partition_id: Some(p.id),
                    is_schema_changing: Some(false),
                    columns_desc: Some(columns_desc.clone()),
                };
                let request = TaskBody::RealtimePush(push).into_request(ctx.store.next_id()?);
                tasks.push(AgentTask { backend_id: r.backend_id, addr, request });
                written.push((t.id, r.backend_id));
            }
        }
    }
    if let Err(e) = ctx.tasks.run(tasks, PUSH_TIMEOUT).await {
        let msg = format!("delete job failed, errmsg:{e}");
        abort(ctx, txn_id, &msg);
        return Err(FeError::IllegalState(msg));
    }
    let committed = commit::commit(ctx, txn_id, Some((table.db_id, &req.db)), &written).await?;
    info!(label = %label, ?committed, "delete done");
    Ok(Deleted { label, txn_id, visible: committed == Committed::Visible })
}

fn abort(ctx: &Loads, txn_id: i64, reason: &str) {
    if let Err(e) = commit::rollback(ctx, txn_id, None, Some(reason.to_string()), AbortedAgain::Ok) {
        warn!(txn_id, error = %e, "cannot abort the delete's transaction");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures;

    fn cond(column: &str, op: CondOp, values: &[&str]) -> Condition {
        Condition { column: column.into(), op, values: values.iter().map(|v| v.to_string()).collect() }
    }

    #[test]
    fn conditions_become_upstream_tconditions() {
        let t = cond("k", CondOp::NotIn, &["1", "2"]).to_thrift("k");
        assert_eq!((t.condition_op.as_str(), t.condition_values), ("!*=", vec!["1".to_string(), "2".to_string()]));
        let t = cond("k", CondOp::IsNotNull, &[]).to_thrift("k");
        assert_eq!((t.condition_op.as_str(), t.condition_values), ("IS", vec!["NOT NULL".to_string()]));
        assert_eq!(cond("k", CondOp::In, &["1"]).to_thrift("k").condition_op, "*=");
    }

    #[test]
    fn conditions_are_checked_against_the_table() {
        let mut spec = fixtures::range_spec(&[("p1", "10")], 1);
        spec.columns.push(fixtures::column("d", "decimal(5,2)"));
        spec.columns.push(fixtures::column("f", "double"));
        let dup = fixtures::build(&spec, 1, &mut 1000);
        let got = checked(&dup, &[cond("K", CondOp::Eq, &["3"]), cond("V", CondOp::IsNull, &[]), cond("d", CondOp::In, &["-123.4", "0.5"])]).unwrap();
        assert_eq!(got[0], cond("k", CondOp::Eq, &["3"]), "named as the table spells it");
        assert_eq!(got[1].column, "v");
        assert!(matches!(checked(&dup, &[cond("x", CondOp::Eq, &["1"])]), Err(FeError::UnknownColumn(_))));
        let e = checked(&dup, &[cond("f", CondOp::Eq, &["1"])]).unwrap_err().to_string();
        assert!(e.contains("Column[f] type is float or double."), "{e}");
        for bad in [cond("k", CondOp::Eq, &["abc"]), cond("d", CondOp::Eq, &["1234.5"]), cond("d", CondOp::Eq, &["1e3"])] {
            assert!(checked(&dup, &[bad.clone()]).is_err(), "{bad:?}");
        }
        let mut agg_spec = spec.clone();
        agg_spec.keys = Some((KeysType::Aggregate, vec!["k".into()]));
        agg_spec.columns.retain(|c| c.name != "f");
        for c in agg_spec.columns.iter_mut().filter(|c| c.name != "k") {
            c.aggregation = Some("REPLACE".into());
        }
        let agg = fixtures::build(&agg_spec, 1, &mut 2000);
        assert!(checked(&agg, &[cond("k", CondOp::Gt, &["1"])]).is_ok());
        let e = checked(&agg, &[cond("v", CondOp::Eq, &["a"])]).unwrap_err().to_string();
        assert!(e.contains("is an Aggregate table"), "{e}");
    }

    #[test]
    fn the_ok_info_is_upstreams() {
        let d = Deleted { label: "delete_x".into(), txn_id: 7, visible: true };
        assert_eq!(d.info(), "{'label':'delete_x', 'txnId':'7', 'status':'VISIBLE'}");
        let d = Deleted { visible: false, ..d };
        assert!(d.info().contains("'status':'COMMITTED'"));
    }
}
