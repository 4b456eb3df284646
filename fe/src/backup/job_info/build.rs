//! Building the job info of a finished backup from its meta and tablet snapshots.

use std::collections::{BTreeMap, HashMap};

use super::*;

/// One tablet of a finished backup snapshot, for [`BackupJobInfo::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabletSnapshot {
    pub ids: TabletIds,
    /// The backend holding the snapshot and its snapshot directory (local snapshots).
    pub be_id: i64,
    pub snapshot_path: String,
    /// The files: `<name>.<md5>` once uploaded to a repository, plain names for local snapshots.
    pub files: Vec<String>,
}

/// What a backup job knows when it writes its job info.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfoInput<'a> {
    pub label: &'a str,
    pub db_name: &'a str,
    pub db_id: i64,
    pub backup_time: i64,
    pub content: BackupContent,
    pub meta: &'a crate::backup::meta::BackupMeta,
    /// Tablets in bucket order within each index.
    pub tablets: &'a [TabletSnapshot],
    pub table_commit_seq_map: Option<BTreeMap<i64, i64>>,
}

impl BackupJobInfo {
    /// The job info of a backup from its meta and tablet snapshots (upstream
    /// `BackupJobInfo.fromCatalog`): tables, partitions (with visible versions) and indexes
    /// from the meta, tablets with their files from the snapshots. A metadata-only backup
    /// lists tablets without files and leaves the backend maps empty.
    pub fn build(input: &JobInfoInput<'_>) -> Result<Self> {
        let mut info = BackupJobInfo {
            name: input.label.to_string(),
            database: input.db_name.to_string(),
            id: input.db_id,
            backup_time: input.backup_time,
            content: input.content,
            table_commit_seq_map: input.table_commit_seq_map.clone(),
            ..Default::default()
        };
        // Grouped once (in their order), not filtered per index of every partition.
        let mut grouped: HashMap<(i64, i64, i64), Vec<_>> = HashMap::new();
        for s in input.tablets.iter() {
            grouped.entry((s.ids.table_id, s.ids.partition_id, s.ids.index_id)).or_default().push(s);
        }
        for t in &input.meta.tables {
            let mut table = BackupOlapTableInfo { id: t.id, partitions: BTreeMap::new() };
            for p in &t.partition.partitions {
                let mut part = BackupPartitionInfo { id: p.id, version: p.visible_version, indexes: BTreeMap::new() };
                for idx in &t.indexes {
                    let mut index = BackupIndexInfo { id: idx.id, schema_hash: idx.schema_hash, ..Default::default() };
                    for ts in grouped.get(&(t.id, p.id, idx.id)).into_iter().flatten() {
                        let tablet = ts.ids.tablet_id;
                        index.tablets_order.push(tablet);
                        if input.content == BackupContent::MetadataOnly {
                            index.tablets.insert(tablet, Vec::new());
                        } else {
                            index.tablets.insert(tablet, ts.files.clone());
                            info.tablet_be_map.insert(tablet, ts.be_id);
                            info.tablet_snapshot_path_map.insert(tablet, ts.snapshot_path.clone());
                        }
                    }
                    if index.tablets.is_empty() {
                        return Err(FeError::Internal(format!(
                            "backup {}: no tablet snapshot for table {} partition {} index {}",
                            input.label, t.name, p.name, idx.name
                        )));
                    }
                    part.indexes.insert(idx.name.clone(), index);
                }
                table.partitions.insert(p.name.clone(), part);
            }
            info.backup_objects.insert(t.name.clone(), table);
        }
        Ok(info)
    }
}

/// The path of a tablet's files below `__ss_content/`:
/// `__db_<db>/__tbl_<tbl>/__part_<part>/__idx_<idx>/__<tablet>`.
pub fn tablet_content_path(ids: &TabletIds) -> String {
    format!(
        "__db_{}/__tbl_{}/__part_{}/__idx_{}/__{}",
        ids.db_id, ids.table_id, ids.partition_id, ids.index_id, ids.tablet_id
    )
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_from_meta_and_snapshots() {
        let meta = crate::backup::meta::tests_support::sample_meta();
        let t = &meta.tables[0];
        let mut tablets = Vec::new();
        for (pi, p) in t.partition.partitions.iter().enumerate() {
            for b in 0..2 {
                let tablet_id = 50000 + (pi as i64) * 10 + (1 - b); // descending ids: order must be kept
                tablets.push(TabletSnapshot {
                    ids: TabletIds { db_id: 10001, table_id: t.id, partition_id: p.id, index_id: t.indexes[0].id, tablet_id },
                    be_id: 10002 + b,
                    snapshot_path: format!("/be/snapshot/{tablet_id}"),
                    files: vec![format!("{tablet_id}.hdr")],
                });
            }
        }
        let input = JobInfoInput {
            label: "snap",
            db_name: "db1",
            db_id: 10001,
            backup_time: 1_700_000_000_000,
            content: BackupContent::All,
            meta: &meta,
            tablets: &tablets,
            table_commit_seq_map: Some(BTreeMap::from([(t.id, 77)])),
        };
        let info = BackupJobInfo::build(&input).unwrap();
        let p1 = &info.backup_objects["orders"].partitions["p1"];
        assert_eq!((p1.id, p1.version), (10011, 3));
        let idx = &p1.indexes["orders"];
        assert_eq!(idx.schema_hash, 1387653911);
        assert_eq!(idx.tablets_order, vec![50001, 50000]);
        assert_eq!(idx.tablets[&50001], vec!["50001.hdr".to_string()]);
        assert_eq!(info.tablet_be_map[&50000], 10003);
        assert_eq!(info.tablet_snapshot_path_map[&50011], "/be/snapshot/50011");
        assert_eq!(info.table_commit_seq_map.as_ref().unwrap()[&10010], 77);
        assert_eq!(BackupJobInfo::from_json(info.to_json().as_bytes()).unwrap(), info);

        let meta_only = BackupJobInfo::build(&JobInfoInput { content: BackupContent::MetadataOnly, ..input.clone() }).unwrap();
        assert!(meta_only.tablet_be_map.is_empty());
        assert!(meta_only.backup_objects["orders"].partitions["p2"].indexes["orders"].tablets[&50010].is_empty());

        let e = BackupJobInfo::build(&JobInfoInput { tablets: &tablets[..2], ..input }).unwrap_err();
        assert!(e.to_string().contains("no tablet snapshot for table orders partition p2"), "{e}");
    }
}
