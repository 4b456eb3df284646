//! Tablet metas of one root in redb: `<root>/meta/tablet_meta.redb`, table `tablet_meta`,
//! key = tablet id, value = JSON of `TabletMeta`. Every change is one durable write
//! transaction, so after a crash a tablet's meta is either the old or the new one.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::tablet_meta::TabletMeta;
use crate::error::{BeError, Result};

const TABLETS: TableDefinition<i64, &[u8]> = TableDefinition::new("tablet_meta");
/// BE-wide values next to the tablets (key = what it is); see `policy` for the one held.
const BE_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("be_state");
const KEY_STORAGE_POLICIES: &str = "storage_policies";

pub struct MetaStore {
    db: Database,
    path: PathBuf,
}

fn db_err(path: &Path, what: &str, e: impl std::fmt::Display) -> BeError {
    BeError::Internal(format!("tablet meta store {}: {what}: {e}", path.display()))
}

impl MetaStore {
    /// Open or create the store; the table is created so reads never miss it.
    pub fn open(path: &Path) -> Result<MetaStore> {
        let db = Database::create(path).map_err(|e| db_err(path, "open", e))?;
        let tx = db.begin_write().map_err(|e| db_err(path, "begin", e))?;
        tx.open_table(TABLETS).map_err(|e| db_err(path, "open table", e))?;
        tx.open_table(BE_STATE).map_err(|e| db_err(path, "open table", e))?;
        tx.commit().map_err(|e| db_err(path, "commit", e))?;
        Ok(MetaStore { db, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn put(&self, meta: &TabletMeta) -> Result<()> {
        let value = serde_json::to_vec(meta).map_err(|e| BeError::Internal(format!("encode tablet meta: {e}")))?;
        let tx = self.db.begin_write().map_err(|e| db_err(&self.path, "begin", e))?;
        {
            let mut t = tx.open_table(TABLETS).map_err(|e| db_err(&self.path, "open table", e))?;
            t.insert(meta.tablet_id, value.as_slice()).map_err(|e| db_err(&self.path, "insert", e))?;
        }
        tx.commit().map_err(|e| db_err(&self.path, "commit", e))
    }

    pub fn delete(&self, tablet_id: i64) -> Result<()> {
        let tx = self.db.begin_write().map_err(|e| db_err(&self.path, "begin", e))?;
        {
            let mut t = tx.open_table(TABLETS).map_err(|e| db_err(&self.path, "open table", e))?;
            t.remove(tablet_id).map_err(|e| db_err(&self.path, "remove", e))?;
        }
        tx.commit().map_err(|e| db_err(&self.path, "commit", e))
    }

    pub fn get(&self, tablet_id: i64) -> Result<Option<TabletMeta>> {
        let tx = self.db.begin_read().map_err(|e| db_err(&self.path, "begin read", e))?;
        let t = tx.open_table(TABLETS).map_err(|e| db_err(&self.path, "open table", e))?;
        match t.get(tablet_id).map_err(|e| db_err(&self.path, "get", e))? {
            Some(v) => Ok(Some(decode(tablet_id, v.value())?)),
            None => Ok(None),
        }
    }

    pub fn load_all(&self) -> Result<Vec<TabletMeta>> {
        let tx = self.db.begin_read().map_err(|e| db_err(&self.path, "begin read", e))?;
        let t = tx.open_table(TABLETS).map_err(|e| db_err(&self.path, "open table", e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| db_err(&self.path, "iterate", e))? {
            let (k, v) = row.map_err(|e| db_err(&self.path, "read", e))?;
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }
}

impl MetaStore {
    /// The encoded storage policy set, one durable write.
    pub fn put_storage_policies(&self, value: &[u8]) -> Result<()> {
        let tx = self.db.begin_write().map_err(|e| db_err(&self.path, "begin", e))?;
        {
            let mut t = tx.open_table(BE_STATE).map_err(|e| db_err(&self.path, "open table", e))?;
            t.insert(KEY_STORAGE_POLICIES, value).map_err(|e| db_err(&self.path, "insert", e))?;
        }
        tx.commit().map_err(|e| db_err(&self.path, "commit", e))
    }

    pub fn get_storage_policies(&self) -> Result<Option<Vec<u8>>> {
        let tx = self.db.begin_read().map_err(|e| db_err(&self.path, "begin read", e))?;
        let t = tx.open_table(BE_STATE).map_err(|e| db_err(&self.path, "open table", e))?;
        let v = t.get(KEY_STORAGE_POLICIES).map_err(|e| db_err(&self.path, "get", e))?;
        Ok(v.map(|v| v.value().to_vec()))
    }
}

fn decode(tablet_id: i64, bytes: &[u8]) -> Result<TabletMeta> {
    let meta: TabletMeta = serde_json::from_slice(bytes)
        .map_err(|e| BeError::Corruption(format!("tablet {tablet_id}: stored meta does not decode: {e}")))?;
    if meta.tablet_id != tablet_id {
        return Err(BeError::Corruption(format!("meta stored under tablet {tablet_id} names tablet {}", meta.tablet_id)));
    }
    Ok(meta)
}
