//! The catalog: databases and OLAP tables in memory, every change written through to the
//! meta store in one transaction before it becomes visible. Metadata only: DDL that sends
//! tasks to the BEs lives in [`crate::tables`].

#[cfg(test)]
pub(crate) mod fixtures;
pub mod binlog;
pub mod hidden;
pub mod lagging;
pub mod placement;
mod restore;
pub mod spec;
pub mod table;
pub mod types;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use crate::persist::{Kind, MetaError, MetaStore, Writer};

pub use spec::{
    ColumnSpec, CreateTableSpec, DistributionSpec, NewPartitionSpec, PartitionBounds, PartitionSpec, RangeValues,
};
pub use table::{Database, OlapTable, Partition, Replica, RestoreLock, Tablet};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("Unknown database '{0}'")]
    UnknownDatabase(String),
    #[error("Can't create database '{0}'; database exists")]
    DatabaseExists(String),
    #[error("Can't drop database '{0}'; database doesn't exist")]
    DropUnknownDatabase(String),
    #[error("Table '{0}' already exists")]
    TableExists(String),
    #[error("Unknown table '{table}' in {db}")]
    UnknownTable { db: String, table: String },
    #[error("{0}")]
    Invalid(String),
    /// The table is not NORMAL (a restore writes into it): upstream's refusal to drop it.
    #[error("The table [{0}]'s state is {1}, cannot be dropped. please cancel the operation on olap table firstly. If you want to forcibly drop(cannot be recovered), please use \"DROP table FORCE\".")]
    NotNormal(String, &'static str),
    /// Another running restore holds the table (upstream's text when a second one comes).
    #[error("Table {0}'s state is not NORMAL: RESTORE")]
    HeldByRestore(String),
    #[error(
        "Failed to find enough backend, please check the replication num,replication tag and storage medium and avail capacity of backends or maybe all be on same host.\nCreate failed replications:\nreplication tag: {{\"location\" : \"default\"}}, replication num: {replication_num}, storage medium: {medium}"
    )]
    NotEnoughBackends { replication_num: usize, medium: String },
    /// Creating tablets on the BEs failed; the table was not created.
    #[error("{0}")]
    CreateTablets(String),
    #[error(transparent)]
    Meta(#[from] MetaError),
}

#[derive(Default)]
struct State {
    dbs: BTreeMap<i64, Database>,
    /// Shared: a reader gets the table as it is now without copying it (a table of many
    /// tablets is megabytes); a change writes a new table in its place.
    tables: BTreeMap<i64, Arc<OlapTable>>,
    /// tablet id -> table id, for reports.
    tablet_index: HashMap<i64, i64>,
}

impl State {
    fn index_table(&mut self, t: &OlapTable) {
        for (_, tablet) in t.all_tablets() {
            self.tablet_index.insert(tablet.id, t.id);
        }
    }

    fn unindex_table(&mut self, t: &OlapTable) {
        for (_, tablet) in t.all_tablets() {
            self.tablet_index.remove(&tablet.id);
        }
    }

    fn db_by_name(&self, name: &str) -> Option<&Database> {
        self.dbs.values().find(|d| d.name == name)
    }

    fn table_by_name(&self, db_id: i64, name: &str) -> Option<&Arc<OlapTable>> {
        self.tables.values().find(|t| t.db_id == db_id && t.name == name)
    }
}

/// Replica facts a BE reported for one tablet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicaReport {
    pub tablet_id: i64,
    pub version: i64,
    pub row_count: i64,
    pub data_size: i64,
    pub remote_data_size: i64,
    pub version_count: i64,
    pub path_hash: i64,
    pub cooldown_term: Option<i64>,
    pub cooldown_meta_id: Option<(i64, i64)>,
}

pub struct Catalog {
    store: Arc<MetaStore>,
    state: RwLock<State>,
}

impl Catalog {
    /// Load every database and table from the store.
    pub fn load(store: Arc<MetaStore>) -> Result<Self, CatalogError> {
        let mut state = State::default();
        for (id, db) in store.load_all::<Database>(Kind::Database)? {
            state.dbs.insert(id, db);
        }
        for (id, t) in store.load_all::<OlapTable>(Kind::Table)? {
            state.index_table(&t);
            state.tables.insert(id, Arc::new(t));
        }
        Ok(Catalog { store, state: RwLock::new(state) })
    }

    pub fn store(&self) -> &Arc<MetaStore> {
        &self.store
    }

    pub fn databases(&self) -> Vec<Database> {
        let mut v: Vec<Database> = self.state.read().unwrap().dbs.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub fn database(&self, name: &str) -> Option<Database> {
        self.state.read().unwrap().db_by_name(name).cloned()
    }

    pub fn database_by_id(&self, id: i64) -> Option<Database> {
        self.state.read().unwrap().dbs.get(&id).cloned()
    }

    /// Ok(None) when it exists and `if_not_exists` was given.
    pub fn create_database(
        &self,
        name: &str,
        if_not_exists: bool,
        now_ms: i64,
    ) -> Result<Option<Database>, CatalogError> {
        self.create_database_with(name, if_not_exists, BTreeMap::new(), now_ms)
    }

    /// CREATE DATABASE with PROPERTIES (only binlog settings are kept and checked).
    pub fn create_database_with(
        &self,
        name: &str,
        if_not_exists: bool,
        properties: BTreeMap<String, String>,
        now_ms: i64,
    ) -> Result<Option<Database>, CatalogError> {
        check_name(name, "database")?;
        let properties = binlog::apply_binlog_changes(&BTreeMap::new(), &properties.into_iter().collect::<Vec<_>>())?;
        let mut st = self.state.write().unwrap();
        if st.db_by_name(name).is_some() {
            return if if_not_exists { Ok(None) } else { Err(CatalogError::DatabaseExists(name.into())) };
        }
        let db = Database { id: self.store.next_id()?, name: name.into(), create_time_ms: now_ms, properties };
        self.store.put(Kind::Database, db.id, &db)?;
        st.dbs.insert(db.id, db.clone());
        Ok(Some(db))
    }

    /// ALTER DATABASE db SET PROPERTIES: binlog settings only.
    pub fn set_database_properties(&self, name: &str, changes: &[(String, String)]) -> Result<Database, CatalogError> {
        let mut st = self.state.write().unwrap();
        let db = st.db_by_name(name).cloned().ok_or_else(|| CatalogError::UnknownDatabase(name.into()))?;
        let properties = binlog::apply_binlog_changes(&db.properties, changes)?;
        let db = Database { properties, ..db };
        self.store.put(Kind::Database, db.id, &db)?;
        st.dbs.insert(db.id, db.clone());
        Ok(db)
    }

    /// ALTER TABLE t SET (...): binlog settings only. A table of a database that keeps
    /// binlogs cannot stop keeping its own (the database's log would miss it).
    pub fn set_table_properties(&self, db: &str, name: &str, changes: &[(String, String)]) -> Result<Arc<OlapTable>, CatalogError> {
        let t = self.table(db, name)?;
        let db_binlog = self.database(db).map(|d| d.binlog()).unwrap_or_default();
        let properties = binlog::apply_binlog_changes(&t.properties, changes)?;
        if db_binlog.enable && !binlog::BinlogConfig::from_properties(&properties)?.enable {
            return Err(CatalogError::Invalid(format!(
                "binlog is enabled for database {db}, so it cannot be disabled for table {name}"
            )));
        }
        self.update_table(t.id, |t| t.properties = properties)?;
        self.table_by_id(t.id).ok_or_else(|| CatalogError::UnknownTable { db: db.into(), table: name.into() })
    }

    /// Remove the database and its tables; the removed tables, whose tablets the caller
    /// drops on the BEs. Ok(None) when absent and `if_exists` was given. Without `force`,
    /// refused while a restore writes into one of its tables.
    pub fn drop_database(&self, name: &str, if_exists: bool, force: bool) -> Result<Option<Vec<OlapTable>>, CatalogError> {
        let mut st = self.state.write().unwrap();
        let Some(db) = st.db_by_name(name).cloned() else {
            return if if_exists { Ok(None) } else { Err(CatalogError::DropUnknownDatabase(name.into())) };
        };
        let tables: Vec<Arc<OlapTable>> = st.tables.values().filter(|t| t.db_id == db.id).cloned().collect();
        if let Some(t) = tables.iter().find(|t| !force && t.restore_lock.is_some()) {
            return Err(CatalogError::NotNormal(t.name.clone(), t.state_name()));
        }
        self.store.write(|w| {
            for t in &tables {
                w.delete(Kind::Table, t.id)?;
            }
            w.delete(Kind::Database, db.id)
        })?;
        for t in &tables {
            st.unindex_table(t);
            st.tables.remove(&t.id);
        }
        st.dbs.remove(&db.id);
        Ok(Some(tables.into_iter().map(Arc::unwrap_or_clone).collect()))
    }

    pub fn tables(&self, db_id: i64) -> Vec<Arc<OlapTable>> {
        let mut v: Vec<Arc<OlapTable>> =
            self.state.read().unwrap().tables.values().filter(|t| t.db_id == db_id).cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub fn table(&self, db: &str, name: &str) -> Result<Arc<OlapTable>, CatalogError> {
        let st = self.state.read().unwrap();
        let d = st.db_by_name(db).ok_or_else(|| CatalogError::UnknownDatabase(db.into()))?;
        st.table_by_name(d.id, name)
            .cloned()
            .ok_or_else(|| CatalogError::UnknownTable { db: db.into(), table: name.into() })
    }

    pub fn table_by_id(&self, id: i64) -> Option<Arc<OlapTable>> {
        self.state.read().unwrap().tables.get(&id).cloned()
    }

    pub fn table_exists(&self, db_id: i64, name: &str) -> bool {
        self.state.read().unwrap().table_by_name(db_id, name).is_some()
    }

    /// Make a built table visible, after its tablets exist on the BEs.
    pub fn register_table(&self, table: OlapTable) -> Result<(), CatalogError> {
        self.register_table_and(table, |_, _| Ok(()))
    }

    /// [`Catalog::register_table`] with `also`'s writes (its binlog) in the same store
    /// transaction.
    pub fn register_table_and(
        &self,
        table: OlapTable,
        also: impl FnOnce(&mut Writer<'_>, &OlapTable) -> Result<(), MetaError>,
    ) -> Result<(), CatalogError> {
        let mut st = self.state.write().unwrap();
        if !st.dbs.contains_key(&table.db_id) {
            return Err(CatalogError::UnknownDatabase(table.db_id.to_string()));
        }
        if st.table_by_name(table.db_id, &table.name).is_some() {
            return Err(CatalogError::TableExists(table.name.clone()));
        }
        self.store.write(|w| {
            w.put(Kind::Table, table.id, &table)?;
            also(w, &table)
        })?;
        st.index_table(&table);
        st.tables.insert(table.id, Arc::new(table));
        Ok(())
    }

    /// Remove a table; the removed table. Ok(None) when absent and `if_exists` was given.
    /// Without `force`, refused while a restore writes into it.
    pub fn drop_table(&self, db: &str, name: &str, if_exists: bool, force: bool) -> Result<Option<OlapTable>, CatalogError> {
        self.drop_table_and(db, name, if_exists, force, |_, _| Ok(()))
    }

    /// [`Catalog::drop_table`] with `also`'s writes (its binlog), given the table, in the
    /// same store transaction.
    pub fn drop_table_and(
        &self,
        db: &str,
        name: &str,
        if_exists: bool,
        force: bool,
        also: impl FnOnce(&mut Writer<'_>, &OlapTable) -> Result<(), MetaError>,
    ) -> Result<Option<OlapTable>, CatalogError> {
        let mut st = self.state.write().unwrap();
        let d = st.db_by_name(db).ok_or_else(|| CatalogError::UnknownDatabase(db.into()))?.clone();
        let Some(t) = st.table_by_name(d.id, name).cloned() else {
            return if if_exists {
                Ok(None)
            } else {
                Err(CatalogError::UnknownTable { db: db.into(), table: name.into() })
            };
        };
        if !force && t.restore_lock.is_some() {
            return Err(CatalogError::NotNormal(t.name.clone(), t.state_name()));
        }
        self.store.write(|w| {
            w.delete(Kind::Table, t.id)?;
            also(w, &t)
        })?;
        st.unindex_table(&t);
        st.tables.remove(&t.id);
        Ok(Some(Arc::unwrap_or_clone(t)))
    }

    /// ALTER TABLE t RENAME: the table (and its base index, which carries its name) takes
    /// `new`, with `also`'s writes (its binlog, given the renamed table) in the same store
    /// transaction. The renamed table.
    pub fn rename_table_and(
        &self,
        db: &str,
        name: &str,
        new: &str,
        also: impl FnOnce(&mut Writer<'_>, &OlapTable) -> Result<(), MetaError>,
    ) -> Result<OlapTable, CatalogError> {
        check_name(new, "table")?;
        let mut st = self.state.write().unwrap();
        let d = st.db_by_name(db).ok_or_else(|| CatalogError::UnknownDatabase(db.into()))?.clone();
        let t = st
            .table_by_name(d.id, name)
            .cloned()
            .ok_or_else(|| CatalogError::UnknownTable { db: db.into(), table: name.into() })?;
        if t.restore_lock.is_some() {
            return Err(CatalogError::NotNormal(t.name.clone(), t.state_name()));
        }
        if st.table_by_name(d.id, new).is_some() {
            return Err(CatalogError::TableExists(new.to_string()));
        }
        let mut renamed = Arc::unwrap_or_clone(t);
        renamed.name = new.to_string();
        for p in renamed.partitions.iter_mut().chain(renamed.restoring_partitions.iter_mut()).chain(renamed.temp_partitions.iter_mut()) {
            p.index.name = new.to_string();
        }
        if renamed.partition_kind == table::PartitionKind::Unpartitioned {
            // An unpartitioned table's one partition is named after the table.
            for p in renamed.partitions.iter_mut().filter(|p| p.name == name) {
                p.name = new.to_string();
            }
        }
        self.store.write(|w| {
            w.put(Kind::Table, renamed.id, &renamed)?;
            also(w, &renamed)
        })?;
        st.tables.insert(renamed.id, Arc::new(renamed.clone()));
        Ok(renamed)
    }

    /// Change one table in place and persist it in the same step; the closure's result.
    /// The closure must not rename the table or change its tablets' ids.
    pub fn update_table<R>(&self, table_id: i64, f: impl FnOnce(&mut OlapTable) -> R) -> Result<R, CatalogError> {
        self.update_table_and(table_id, f, |_, _| Ok(()))
    }

    /// [`Catalog::update_table`] with `also`'s writes in the same store transaction, given
    /// the table as changed (the binlog entry of a publish, say): both land or neither.
    pub fn update_table_and<R>(
        &self,
        table_id: i64,
        f: impl FnOnce(&mut OlapTable) -> R,
        also: impl FnOnce(&mut Writer<'_>, &OlapTable) -> Result<(), MetaError>,
    ) -> Result<R, CatalogError> {
        let mut f = Some(f);
        let mut r = None;
        self.update_tables_and(&[table_id], |t| r = f.take().map(|f| f(t)), |w, ts| also(w, &ts[0]))?;
        Ok(r.expect("the one table was changed"))
    }

    /// [`Catalog::update_table_and`] for a change that may be refused: when `f` errs
    /// nothing is written and the table stays as it was; `also` is given `f`'s result.
    pub fn try_update_table_and<R>(
        &self,
        table_id: i64,
        f: impl FnOnce(&mut OlapTable) -> Result<R, CatalogError>,
        also: impl FnOnce(&mut Writer<'_>, &OlapTable, &R) -> Result<(), MetaError>,
    ) -> Result<R, CatalogError> {
        let mut st = self.state.write().unwrap();
        let t = st
            .tables
            .get_mut(&table_id)
            .ok_or_else(|| CatalogError::UnknownTable { db: String::new(), table: table_id.to_string() })?;
        let mut copy = OlapTable::clone(t);
        let r = f(&mut copy)?;
        self.store.write(|w| {
            w.put(Kind::Table, table_id, &copy)?;
            also(w, &copy, &r)
        })?;
        // A partition's tablets may have come or gone: the tablet index follows.
        let old = std::mem::replace(t, Arc::new(copy));
        st.unindex_table(&old);
        let new = st.tables.get(&table_id).cloned().expect("just written");
        st.index_table(&new);
        Ok(r)
    }

    /// Change several tables and persist them, with `also`'s writes (given the tables as
    /// changed), in one store transaction: all land or none (a publish of a transaction over
    /// several tables). The same rules as [`Catalog::update_table`].
    pub fn update_tables_and(
        &self,
        table_ids: &[i64],
        mut f: impl FnMut(&mut OlapTable),
        also: impl FnOnce(&mut Writer<'_>, &[OlapTable]) -> Result<(), MetaError>,
    ) -> Result<(), CatalogError> {
        let mut st = self.state.write().unwrap();
        let mut copies = Vec::with_capacity(table_ids.len());
        for id in table_ids {
            let t = st.tables.get(id).ok_or_else(|| CatalogError::UnknownTable { db: String::new(), table: id.to_string() })?;
            let mut copy = OlapTable::clone(t);
            f(&mut copy);
            copies.push(copy);
        }
        // Persist first: a failed write leaves memory as it was.
        self.store.write(|w| {
            for c in &copies {
                w.put(Kind::Table, c.id, c)?;
            }
            also(w, &copies)
        })?;
        for c in copies {
            st.tables.insert(c.id, Arc::new(c));
        }
        Ok(())
    }

    /// Atomic restore's commit: each `(table id, name)` table takes `name`, and the table of
    /// the same database holding that name, if any, is removed. Every rename and removal,
    /// plus `also`'s writes (given the removed tables), go in one store transaction, so a
    /// crash leaves either the old tables or the new ones, never a mix. The removed tables,
    /// whose tablets the caller drops on the BEs.
    pub fn replace_tables(
        &self,
        db_id: i64,
        swaps: &[(i64, String)],
        also: impl FnOnce(&mut crate::persist::Writer<'_>, &[OlapTable]) -> Result<(), MetaError>,
    ) -> Result<Vec<OlapTable>, CatalogError> {
        let mut st = self.state.write().unwrap();
        let mut renamed = Vec::new();
        let mut removed: Vec<OlapTable> = Vec::new();
        for (id, name) in swaps {
            let t = st
                .tables
                .get(id)
                .filter(|t| t.db_id == db_id)
                .ok_or_else(|| CatalogError::UnknownTable { db: db_id.to_string(), table: id.to_string() })?;
            if let Some(old) = st.table_by_name(db_id, name).filter(|o| o.id != *id) {
                removed.push(OlapTable::clone(old));
            }
            let mut t = OlapTable::clone(t);
            t.name = name.clone();
            renamed.push(t);
        }
        self.store.write(|w| {
            for t in &removed {
                w.delete(Kind::Table, t.id)?;
            }
            for t in &renamed {
                w.put(Kind::Table, t.id, t)?;
            }
            also(w, &removed)
        })?;
        for t in &removed {
            st.unindex_table(t);
            st.tables.remove(&t.id);
        }
        for t in renamed {
            st.tables.insert(t.id, Arc::new(t));
        }
        Ok(removed)
    }

    /// Apply a BE's tablet report; the number of replicas whose facts changed.
    pub fn apply_replica_reports(
        &self,
        backend_id: i64,
        reports: &[ReplicaReport],
        now_ms: i64,
    ) -> Result<usize, CatalogError> {
        let mut st = self.state.write().unwrap();
        let mut changed_tables: BTreeMap<i64, ()> = BTreeMap::new();
        let mut changed = 0;
        // Each table is walked once for all its reported tablets: a report lists every
        // tablet of the BE, so looking each one up in its table was tablets squared.
        let mut by_table: HashMap<i64, HashMap<i64, &ReplicaReport>> = HashMap::new();
        for r in reports {
            if let Some(&table_id) = st.tablet_index.get(&r.tablet_id) {
                by_table.entry(table_id).or_default().insert(r.tablet_id, r);
            }
        }
        for (table_id, reported) in by_table {
            let Some(t) = st.tables.get_mut(&table_id) else { continue };
            // In place unless a reader holds the table just now (then it keeps its copy).
            let t = Arc::make_mut(t);
            for p in t.partitions.iter_mut().chain(t.restoring_partitions.iter_mut()).chain(t.temp_partitions.iter_mut()) {
                for tablet in p.index.tablets.iter_mut() {
                    let Some(r) = reported.get(&tablet.id) else { continue };
                    for rep in tablet.replicas.iter_mut().filter(|x| x.backend_id == backend_id) {
                        let before = rep.clone();
                        rep.version = r.version;
                        rep.row_count = r.row_count;
                        rep.data_size = r.data_size;
                        rep.remote_data_size = r.remote_data_size;
                        rep.version_count = r.version_count;
                        rep.path_hash = r.path_hash;
                        if let Some(term) = r.cooldown_term {
                            rep.cooldown_term = term;
                        }
                        rep.cooldown_meta_id = r.cooldown_meta_id;
                        // A lagging replica whose BE holds the visible version again (a
                        // clone finished, or a late publish) is caught up.
                        if rep.is_lagging() && r.version >= p.visible_version.max(rep.last_failed_version) {
                            rep.mark_caught_up(r.version);
                        } else if !rep.is_lagging() {
                            rep.last_success_version = rep.last_success_version.max(r.version);
                        }
                        let facts_changed = before != *rep;
                        rep.last_report_ms = now_ms;
                        if facts_changed {
                            changed += 1;
                            changed_tables.insert(table_id, ());
                        }
                    }
                }
            }
        }
        // Only tables whose replica facts changed are rewritten; timestamps alone are not.
        let to_write: Vec<&OlapTable> = changed_tables.keys().filter_map(|id| st.tables.get(id).map(|t| &**t)).collect();
        if !to_write.is_empty() {
            self.store.write(|w| {
                for t in &to_write {
                    w.put(Kind::Table, t.id, *t)?;
                }
                Ok(())
            })?;
        }
        Ok(changed)
    }

    /// The ids among `ids` that no table of the catalog holds (tablet reports look for
    /// tablets left on BEs by nothing we know).
    pub fn unknown_tablet_ids(&self, ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
        let st = self.state.read().unwrap();
        let missing: Vec<i64> = ids.into_iter().filter(|id| !st.tablet_index.contains_key(id)).collect();
        if missing.is_empty() {
            return missing;
        }
        // The index follows table creation and removal only; a tablet added to a table in
        // place (update_table) is found by looking at the tables themselves.
        let held: std::collections::HashSet<i64> =
            st.tables.values().flat_map(|t| t.all_tablets().map(|(_, tb)| tb.id)).collect();
        missing.into_iter().filter(|id| !held.contains(id)).collect()
    }

    /// Replicas per backend, for SHOW BACKENDS' TabletNum.
    pub fn tablet_count_by_backend(&self) -> HashMap<i64, usize> {
        let st = self.state.read().unwrap();
        let mut m = HashMap::new();
        for t in st.tables.values() {
            for (_, tablet) in t.all_tablets() {
                for r in &tablet.replicas {
                    *m.entry(r.backend_id).or_insert(0) += 1;
                }
            }
        }
        m
    }
}

/// Upstream's identifier rule, roughly: a letter first, then letters, digits, `_` and `-`.
pub fn check_name(name: &str, what: &str) -> Result<(), CatalogError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(CatalogError::Invalid(format!("Incorrect {what} name '{name}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::spec::build_partition;
    use super::*;

    fn table(db_id: i64, next: &mut i64) -> OlapTable {
        super::fixtures::build(&super::fixtures::range_spec(&[("p1", "10")], 2), db_id, next)
    }

    /// A catalog on a fresh store holding `db.t` of [`table`]; the next free id.
    fn catalog_with_table() -> (tempfile::TempDir, Arc<MetaStore>, Catalog, OlapTable, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MetaStore::open(dir.path()).unwrap());
        let cat = Catalog::load(store.clone()).unwrap();
        let db = cat.create_database("db", false, 0).unwrap().unwrap();
        let mut next = 1000;
        let t = table(db.id, &mut next);
        cat.register_table(t.clone()).unwrap();
        (dir, store, cat, t, next)
    }

    fn range(name: &str, lo: &str, hi: &str) -> NewPartitionSpec {
        NewPartitionSpec {
            name: name.into(),
            bounds: PartitionBounds::Range(vec![lo.into()], vec![hi.into()]),
            buckets: 3,
            replication_num: 1,
        }
    }

    /// A restoring partition is stored with its table and survives a reload; its tablets
    /// are the table's for tablet reports (never orphans) but not among the visible ones;
    /// removing it makes them unknown again, durably.
    #[test]
    fn restoring_partitions_are_stored_known_to_reports_and_removable() {
        let (_dir, store, cat, t, mut next) = catalog_with_table();
        let mut ids = || {
            next += 1;
            Ok(next)
        };
        let p2 = build_partition(&t, &range("p2", "10", "20"), &[7], &mut ids, 0).unwrap();
        let p2_tablets: Vec<i64> = p2.index.tablets.iter().map(|x| x.id).collect();
        assert_eq!(cat.unknown_tablet_ids(p2_tablets.clone()), p2_tablets, "not added yet");

        let after = cat.add_restoring_partition(t.id, p2.clone()).unwrap();
        assert_eq!(after.restoring_partitions, vec![p2.clone()]);
        assert!(cat.unknown_tablet_ids(p2_tablets.clone()).is_empty());
        let shown = cat.table("db", "t").unwrap();
        assert_eq!(shown.partitions.len(), 1);
        assert_eq!(shown.tablets().count(), 2);
        assert_eq!(cat.tablet_count_by_backend()[&7], 5);

        // Checked again under the catalog's lock: another partition meeting it is refused.
        let p3 = build_partition(&t, &range("p3", "15", "30"), &[7], &mut ids, 0).unwrap();
        let e = cat.add_restoring_partition(t.id, p3).unwrap_err();
        assert!(e.to_string().ends_with("(partition p2)"), "{e}");

        let reloaded = Catalog::load(store.clone()).unwrap();
        assert_eq!(reloaded.table_by_id(t.id).unwrap().restoring_partitions, vec![p2.clone()]);
        assert!(reloaded.unknown_tablet_ids(p2_tablets.clone()).is_empty());

        assert!(cat.remove_restoring_partitions(t.id, &[12345]).unwrap().is_empty());
        assert_eq!(cat.remove_restoring_partitions(t.id, &[p2.id]).unwrap(), vec![p2.clone()]);
        assert!(cat.remove_restoring_partitions(t.id, &[p2.id]).unwrap().is_empty(), "idempotent");
        assert!(cat.remove_restoring_partitions(999_999, &[p2.id]).unwrap().is_empty(), "table gone");
        assert_eq!(cat.unknown_tablet_ids(p2_tablets.clone()), p2_tablets);
        let reloaded = Catalog::load(store).unwrap();
        let t2 = reloaded.table_by_id(t.id).unwrap();
        assert!(t2.restoring_partitions.is_empty());
        assert_eq!(*t2, t, "the table is as it was");
    }

    /// A restore lock is stored with its table, survives a reload, refuses loads into the
    /// partitions it holds (all of them when it holds none by name), and is released only
    /// for the jobs asked.
    #[test]
    fn restore_locks_refuse_loads_and_are_released_by_job() {
        let (_dir, store, cat, t, _) = catalog_with_table();
        let p1 = t.partitions[0].id;
        assert_eq!(t.load_refusal(&[p1]), None);

        cat.update_table(t.id, |t| t.restore_lock = Some(RestoreLock { job_id: 5, partition_ids: vec![p1], allow_load: false }))
            .unwrap();
        let held = Catalog::load(store.clone()).unwrap().table_by_id(t.id).unwrap();
        assert_eq!(held.load_refusal(&[]), None, "nothing it holds is touched");
        let why = held.load_refusal(&[p1]).unwrap();
        assert_eq!(why, format!("Table [t], Partition [{}] is in restore process. Can not load into it", t.partitions[0].name));
        assert_eq!((held.state_name(), held.partition_state_name(&held.partitions[0])), ("RESTORE", "RESTORE"));

        assert!(cat.release_restore_locks(|j| j == 6).unwrap().is_empty(), "another job's");
        cat.update_table(t.id, |t| t.restore_lock.as_mut().unwrap().partition_ids.clear()).unwrap();
        let whole = cat.table_by_id(t.id).unwrap();
        assert_eq!(whole.load_refusal(&[]).unwrap(), "Table t is in restore process. Can not load into it");
        assert_eq!(whole.partition_state_name(&whole.partitions[0]), "NORMAL");

        // allow_load (RESTORE_WITH_LOAD): a whole table takes loads, held partitions do not.
        cat.update_table(t.id, |t| t.restore_lock.as_mut().unwrap().allow_load = true).unwrap();
        let with_load = cat.table_by_id(t.id).unwrap();
        assert_eq!((with_load.state_name(), with_load.load_refusal(&[p1])), ("RESTORE_WITH_LOAD", None));
        cat.update_table(t.id, |t| t.restore_lock.as_mut().unwrap().partition_ids = vec![p1]).unwrap();
        assert!(cat.table_by_id(t.id).unwrap().load_refusal(&[p1]).is_some());

        assert_eq!(cat.release_restore_locks(|j| j == 5).unwrap(), vec!["t".to_string()]);
        let reloaded = Catalog::load(store).unwrap().table_by_id(t.id).unwrap();
        assert_eq!(reloaded.restore_lock, None);
        assert_eq!(reloaded.state_name(), "NORMAL");
    }
}
