//! getMeta's answer: database, tables, partitions, indexes, tablets and replicas.

use doris_thrift::frontend_service::*;

use crate::binlog::Binlogs;
use crate::catalog::OlapTable;
use crate::context::FeContext;
use crate::error::FeError;

/// `binlogs` tell the drops still in the database's log (`dropped_*`).
pub fn db_meta(ctx: &FeContext, binlogs: &Binlogs, req: &TGetMetaDB) -> Result<TGetMetaDBMeta, FeError> {
    let db = match (req.id, req.name.as_deref().filter(|n| !n.is_empty())) {
        (Some(id), _) if id > 0 => {
            ctx.catalog.database_by_id(id).ok_or_else(|| FeError::NotFound(format!("database id {id}")))?
        }
        (_, Some(name)) => ctx.catalog.database(name).ok_or_else(|| FeError::UnknownDatabase(name.to_string()))?,
        _ => return Err(FeError::InvalidArgument("getMeta needs db.id or db.name".into())),
    };
    let all = ctx.catalog.tables(db.id);
    let wanted: Vec<std::sync::Arc<OlapTable>> = match &req.tables {
        Some(list) if !list.is_empty() => {
            let mut out = Vec::new();
            for want in list {
                let found = all.iter().find(|t| {
                    want.id.is_some_and(|id| id == t.id) || want.name.as_deref().is_some_and(|n| n == t.name)
                });
                match found {
                    Some(t) => out.push(t.clone()),
                    None => {
                        let what = want.name.clone().or(want.id.map(|i| i.to_string())).unwrap_or_default();
                        return Err(FeError::UnknownTable(what));
                    }
                }
            }
            out
        }
        _ => all,
    };
    let names_only = req.only_table_names.unwrap_or(false);
    let tables = wanted.iter().map(|t| Box::new(table_meta(t, names_only))).collect();
    let (dropped_partitions, dropped_tables) = binlogs.dropped(db.id);
    Ok(TGetMetaDBMeta {
        id: Some(db.id),
        name: Some(db.name),
        tables: Some(tables),
        dropped_partitions: Some(dropped_partitions),
        dropped_tables: Some(dropped_tables),
        // Tables here have their base index only; no index is ever dropped alone.
        dropped_indexes: Some(Vec::new()),
    })
}

fn table_meta(t: &OlapTable, names_only: bool) -> TGetMetaTableMeta {
    let partitions = (!names_only).then(|| {
        t.partitions
            .iter()
            .map(|p| TGetMetaPartitionMeta {
                id: Some(p.id),
                name: Some(p.name.clone()),
                key: Some(t.partition_columns.join(", ")),
                range: Some(t.describe_partition(p)),
                visible_version: Some(p.visible_version),
                is_temp: Some(false),
                indexes: Some(vec![TGetMetaIndexMeta {
                    id: Some(p.index.id),
                    name: Some(p.index.name.clone()),
                    tablets: Some(
                        p.index
                            .tablets
                            .iter()
                            .map(|tablet| {
                                Box::new(TGetMetaTabletMeta {
                                    id: Some(tablet.id),
                                    replicas: Some(
                                        tablet
                                            .replicas
                                            .iter()
                                            .map(|r| TGetMetaReplicaMeta {
                                                id: Some(r.id),
                                                backend_id: Some(r.backend_id),
                                                version: Some(r.version),
                                            })
                                            .collect(),
                                    ),
                                })
                            })
                            .collect(),
                    ),
                }]),
            })
            .collect()
    });
    TGetMetaTableMeta { id: Some(t.id), name: Some(t.name.clone()), in_trash: Some(false), partitions }
}
