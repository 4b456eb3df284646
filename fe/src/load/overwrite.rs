//! `INSERT OVERWRITE TABLE t [PARTITION (p, ...)] ...`: temporary partitions made
//! (`crate::tables`), the rows loaded into them as an INSERT, then swapped in; any failure
//! leaves the table as it was.

use datafusion::arrow::array::RecordBatch;
use tracing::warn;

use super::insert::{check_free_label, insert, InsertTarget, Inserted};
use super::txn::TxnStore;
use crate::error::FeError;
use crate::tables::{abort_overwrite, begin_overwrite, commit_overwrite, TableDdl};

/// Overwrite `target.partitions` of the target table (all of them when none are named)
/// with `batches`.
pub async fn overwrite(ddl: &TableDdl, txns: &TxnStore, target: &InsertTarget, batches: &[RecordBatch]) -> Result<Inserted, FeError> {
    // Checked before anything is made on the BEs.
    let t = ddl.catalog.table(&target.db, &target.table)?;
    let width = if target.columns.is_empty() { t.columns.len() } else { target.columns.len() };
    if batches.first().is_some_and(|b| b.num_columns() != width) {
        return Err(FeError::InvalidArgument("Column count doesn't match value count".into()));
    }
    for p in &target.partitions {
        if t.partition(p).is_none() {
            return Err(FeError::Analysis(format!("Unknown partition '{p}' in table '{}'", target.table)));
        }
    }
    if let Some(l) = &target.label {
        check_free_label(txns, t.db_id, l)?;
    }
    let ov = begin_overwrite(ddl, &target.db, &target.table, &target.partitions).await?;
    let into_temp = InsertTarget { partitions: ov.temp_names(), temporary: true, ..target.clone() };
    let loaded = insert(ddl, txns, &into_temp, batches).await;
    let done = match loaded {
        Ok(done) => done,
        Err(e) => {
            abort_overwrite(ddl, &ov).await;
            return Err(e);
        }
    };
    if let Err(e) = commit_overwrite(ddl, &ov).await {
        warn!(table_id = ov.table_id, error = %e, "INSERT OVERWRITE could not swap its partitions");
        abort_overwrite(ddl, &ov).await;
        return Err(e.into());
    }
    Ok(done)
}
