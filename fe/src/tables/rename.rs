//! ALTER TABLE t RENAME: a catalog change only (the BEs know tablets by id); a table that
//! keeps binlogs (or of a database that does) writes its RENAME_TABLE entry with it.

use tracing::info;

use super::TableDdl;
use crate::binlog::ddl::{to_json, RenameTableRecord};
use crate::binlog::{keeps, Binlog, BinlogKind};
use crate::catalog::CatalogError;
use crate::context::FeContext;
use crate::persist::Kind;

pub fn rename_table(ctx: &TableDdl, db: &str, name: &str, new: &str) -> Result<(), CatalogError> {
    let d = ctx.catalog.database(db).ok_or_else(|| CatalogError::UnknownDatabase(db.to_string()))?;
    let t = ctx.catalog.table(db, name)?;
    let wanted = keeps(ctx.config.enable_feature_binlog, &d, Some(&t));
    let now = FeContext::now_ms();
    let renamed = ctx.binlogs.record(ctx.catalog.store(), d.id, wanted, |seq| {
        let entry = seq.map(|seq| {
            let record = RenameTableRecord {
                db_id: d.id,
                table_id: t.id,
                old_table_name: t.name.clone(),
                new_table_name: new.to_string(),
            };
            Binlog::of_change(BinlogKind::RenameTable, seq, d.id, vec![t.id], to_json(&record), now)
        });
        let r = ctx.catalog.rename_table_and(db, name, new, |w, _| entry.as_ref().map_or(Ok(()), |b| w.put(Kind::Binlog, b.commit_seq, b)))?;
        Ok::<_, CatalogError>((r, entry))
    })?;
    info!(table_id = renamed.id, from = name, to = new, "table renamed");
    Ok(())
}
