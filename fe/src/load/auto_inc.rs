//! `getAutoIncrementRange`: the values of AUTO_INCREMENT columns, handed to the BEs in
//! ranges, as upstream. A BE asks for `length` values of one column when a load leaves the
//! column out (or NULL); the answer is `[start, start + length)`, never overlapping an
//! earlier answer for that column.
//!
//! The next value lives in memory; what is durable is a ceiling in the table
//! (`auto_increment_ceiling`): every value handed out is below it, and it moves up in
//! steps of [`CEILING_STEP`] (one catalog write per step, not per range). After a restart
//! the next value is the ceiling, so no value is handed out twice; values between the last
//! one handed out and the ceiling are skipped (upstream's generator does the same).

use std::collections::HashMap;
use std::sync::Mutex;

use doris_thrift::frontend_service::{TAutoIncrementRangeRequest, TAutoIncrementRangeResult};

use crate::catalog::Catalog;
use crate::context::FeContext;
use crate::error::{ok_status, FeError};

/// How far the durable ceiling moves past the values handed out (upstream's batch).
pub const CEILING_STEP: i64 = 500_000;
/// Most values one request may take.
const MAX_LENGTH: i64 = 1 << 30;

/// The next value of each table's AUTO_INCREMENT column (one per table), by table id,
/// with the table's ceiling when it was set: a ceiling raised since (a restore of rows
/// holding higher values) moves the next value up to it.
#[derive(Default)]
pub struct AutoIncrements {
    next: Mutex<HashMap<i64, (i64, i64)>>,
}

impl AutoIncrements {
    /// `length` new values of column `column_id` (its unique id) of table `table_id`, all
    /// above `lower_bound` when given: the first one.
    pub fn allocate(
        &self,
        catalog: &Catalog,
        db_id: Option<i64>,
        table_id: i64,
        column_id: i64,
        length: i64,
        lower_bound: Option<i64>,
    ) -> Result<i64, FeError> {
        if !(1..=MAX_LENGTH).contains(&length) {
            return Err(FeError::InvalidArgument(format!("length {length} of an auto increment range is out of range")));
        }
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let t = catalog
            .table_by_id(table_id)
            .filter(|t| db_id.is_none_or(|d| d == t.db_id))
            .ok_or_else(|| FeError::NotFound(format!("table {table_id}")))?;
        let col = t
            .columns
            .iter()
            .find(|c| i64::from(c.unique_id) == column_id && c.auto_increment.is_some())
            .ok_or_else(|| FeError::NotFound(format!("auto increment column {column_id} of table {}", t.name)))?;
        let first = col.auto_increment.unwrap_or(1);
        let ceiling = t.auto_increment_ceiling.unwrap_or(first).max(first);
        let mut start = match next.get(&t.id) {
            Some(&(n, seen)) if ceiling <= seen => n,
            Some(&(n, _)) => n.max(ceiling),
            None => ceiling,
        };
        if let Some(lb) = lower_bound.filter(|lb| *lb >= start) {
            start = lb.checked_add(1).ok_or_else(|| FeError::InvalidArgument("auto increment values exhausted".into()))?;
        }
        let end = start.checked_add(length).ok_or_else(|| FeError::InvalidArgument("auto increment values exhausted".into()))?;
        let mut seen = ceiling;
        if end > ceiling {
            let raised = (end / CEILING_STEP + 1).saturating_mul(CEILING_STEP);
            seen = raised;
            catalog.update_table(t.id, |t| {
                t.auto_increment_ceiling = Some(t.auto_increment_ceiling.unwrap_or(raised).max(raised));
            })?;
        }
        next.insert(t.id, (end, seen));
        Ok(start)
    }
}

/// The RPC's answer.
pub fn get_range(ctx: &FeContext, ai: &AutoIncrements, req: &TAutoIncrementRangeRequest) -> TAutoIncrementRangeResult {
    let master = Some(ctx.rpc_address());
    let (Some(table_id), Some(column_id), Some(length)) = (req.table_id, req.column_id, req.length) else {
        let e = FeError::InvalidArgument("table_id, column_id and length are required".into());
        return TAutoIncrementRangeResult { status: Some(e.to_status()), start: None, length: None, master_address: master };
    };
    match ai.allocate(&ctx.catalog, req.db_id, table_id, column_id, length, req.lower_bound) {
        Ok(start) => TAutoIncrementRangeResult {
            status: Some(ok_status()),
            start: Some(start),
            length: Some(length),
            master_address: master,
        },
        Err(e) => TAutoIncrementRangeResult { status: Some(e.to_status()), start: None, length: None, master_address: master },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::{fixtures, ColumnSpec};
    use crate::persist::MetaStore;

    #[test]
    fn ranges_never_overlap_not_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MetaStore::open(dir.path()).unwrap());
        let cat = Catalog::load(store.clone()).unwrap();
        let db = cat.create_database("db", false, 0).unwrap().unwrap();
        let mut spec = fixtures::range_spec(&[("p1", "10")], 1);
        spec.columns.push(ColumnSpec { nullable: Some(false), auto_increment: Some(100), ..fixtures::column("id", "bigint") });
        let t = fixtures::build(&spec, db.id, &mut 1000);
        cat.register_table(t.clone()).unwrap();
        let col = i64::from(t.column("id").unwrap().unique_id);
        let ai = AutoIncrements::default();
        assert_eq!(ai.allocate(&cat, Some(db.id), t.id, col, 3, None).unwrap(), 100);
        assert_eq!(ai.allocate(&cat, None, t.id, col, 2, None).unwrap(), 103);
        assert_eq!(ai.allocate(&cat, None, t.id, col, 1, Some(1000)).unwrap(), 1001, "above lower_bound");
        assert_eq!(ai.allocate(&cat, None, t.id, col, 1, Some(5)).unwrap(), 1002, "a low lower_bound changes nothing");
        let k = i64::from(t.column("k").unwrap().unique_id);
        assert!(matches!(ai.allocate(&cat, None, t.id, k, 1, None), Err(FeError::NotFound(_))), "not AUTO_INCREMENT");
        assert!(matches!(ai.allocate(&cat, Some(db.id + 99), t.id, col, 1, None), Err(FeError::NotFound(_))));
        assert!(matches!(ai.allocate(&cat, None, t.id, col, 0, None), Err(FeError::InvalidArgument(_))));
        assert_eq!(cat.table_by_id(t.id).unwrap().auto_increment_ceiling, Some(CEILING_STEP));

        // An FE restarted on the same store: the next value is the durable ceiling.
        drop(cat);
        let cat = Catalog::load(store).unwrap();
        let fresh = AutoIncrements::default();
        assert_eq!(fresh.allocate(&cat, None, t.id, col, 5, None).unwrap(), CEILING_STEP);
        // A range crossing the ceiling raises it past its end first.
        let big = fresh.allocate(&cat, None, t.id, col, CEILING_STEP, None).unwrap();
        assert_eq!(big, CEILING_STEP + 5);
        let ceiling = cat.table_by_id(t.id).unwrap().auto_increment_ceiling.unwrap();
        assert!(ceiling >= big + CEILING_STEP);
        // A ceiling raised from elsewhere (a restore) moves the next value up to it.
        cat.update_table(t.id, |t| t.auto_increment_ceiling = Some(ceiling + 7)).unwrap();
        assert_eq!(fresh.allocate(&cat, None, t.id, col, 1, None).unwrap(), ceiling + 7);
        assert_eq!(fresh.allocate(&cat, None, t.id, col, 1, None).unwrap(), ceiling + 8);
    }
}
