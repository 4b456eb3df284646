//! ALTER TABLE ADD/DROP COLUMN as a light schema change: the catalog's schema changes and
//! nothing is sent to the BEs (they read older segments by column name). A table that
//! keeps binlogs writes upstream's MODIFY_TABLE_ADD_OR_DROP_COLUMNS with the statement the
//! CCR syncer replays (`rawSql`).

use tracing::info;

use super::TableDdl;
use crate::binlog::ddl::{to_json, ModifyColumnsRecord};
use crate::binlog::{keeps, Binlog, BinlogKind};
use crate::catalog::spec::alter::{self, ColumnPosition, SchemaChange};
use crate::catalog::{CatalogError, OlapTable};
use crate::context::FeContext;
use crate::persist::Kind;

/// The statement, as upstream's record writes it: `ALTER TABLE `db`.`t` ADD COLUMN ...`.
fn raw_sql(db: &str, before: &OlapTable, after: &OlapTable, change: &SchemaChange) -> String {
    let head = format!("ALTER TABLE `{db}`.`{}`", after.name);
    match change {
        SchemaChange::Add { columns, position } => {
            let defs: Vec<String> = columns
                .iter()
                .filter_map(|s| after.column(&s.name))
                .filter(|c| before.column(&c.name).is_none_or(|b| b.unique_id != c.unique_id))
                .map(|c| c.ddl())
                .collect();
            let cols = if defs.len() == 1 { defs[0].clone() } else { format!("({})", defs.join(", ")) };
            let at = match position {
                ColumnPosition::After(c) => format!(" AFTER `{c}`"),
                _ => String::new(),
            };
            format!("{head} ADD COLUMN {cols}{at}")
        }
        SchemaChange::Drop { name } => format!("{head} DROP COLUMN `{name}`"),
    }
}

pub fn alter_columns(ctx: &TableDdl, db: &str, table: &str, change: &SchemaChange) -> Result<(), CatalogError> {
    let d = ctx.catalog.database(db).ok_or_else(|| CatalogError::UnknownDatabase(db.to_string()))?;
    let t = ctx.catalog.table(db, table)?;
    let wanted = keeps(ctx.config.enable_feature_binlog, &d, Some(&t));
    let now = FeContext::now_ms();
    ctx.binlogs.record(ctx.catalog.store(), d.id, wanted, |seq| {
        let mut entry = None;
        ctx.catalog.try_update_table_and(
            t.id,
            |x| {
                if x.restore_lock.is_some() {
                    return Err(CatalogError::NotNormal(x.name.clone(), x.state_name()));
                }
                alter::apply(x, change)
            },
            |w, after, _| {
                entry = seq.map(|seq| {
                    let record = ModifyColumnsRecord { db_id: d.id, table_id: t.id, raw_sql: raw_sql(db, &t, after, change) };
                    Binlog::of_change(BinlogKind::ModifyColumns, seq, d.id, vec![t.id], to_json(&record), now)
                });
                entry.as_ref().map_or(Ok(()), |b| w.put(Kind::Binlog, b.commit_seq, b))
            },
        )?;
        Ok::<_, CatalogError>(((), entry))
    })?;
    info!(table_id = t.id, ?change, "schema changed");
    Ok(())
}
