//! The OLAP table as the catalog keeps it: schema, partitions, the base index, tablets and
//! their replicas. A table is stored whole, as one JSON value.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use doris_thrift::descriptors::TColumn;
use doris_thrift::types::TAggregationType;
use serde::{Deserialize, Serialize};

use super::types::{AggType, DataType, KeysType, StorageMedium};
use super::CatalogError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub id: i64,
    pub name: String,
    pub create_time_ms: i64,
    /// PROPERTIES of CREATE / ALTER DATABASE (binlog settings), as given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl Database {
    pub fn binlog(&self) -> super::binlog::BinlogConfig {
        super::binlog::BinlogConfig::from_properties(&self.properties).unwrap_or_default()
    }

    /// Upstream's SHOW CREATE DATABASE text.
    pub fn create_database_ddl(&self) -> String {
        let mut s = format!("CREATE DATABASE `{}`", self.name);
        if !self.properties.is_empty() {
            let lines: Vec<String> = self.properties.iter().map(|(k, v)| format!("\"{k}\" = \"{}\"", escape(v))).collect();
            s.push_str(&format!("\nPROPERTIES (\n{}\n)", lines.join(",\n")));
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
    pub is_key: bool,
    pub nullable: bool,
    pub aggregation: Option<AggType>,
    pub default_value: Option<String>,
    pub comment: String,
    pub unique_id: i32,
    /// `AUTO_INCREMENT(start)`: the first value; loads that leave the column out (or NULL)
    /// get values from `getAutoIncrementRange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_increment: Option<i64>,
}

impl Column {
    /// The column as upstream's `Column.toThrift` writes it: hidden columns invisible.
    pub fn to_thrift(&self) -> TColumn {
        TColumn {
            column_name: self.name.clone(),
            column_type: self.data_type.to_thrift(),
            aggregation_type: self.aggregation.map(|a| a.to_thrift()),
            is_key: Some(self.is_key),
            is_allow_null: Some(self.nullable),
            default_value: self.default_value.clone(),
            is_bloom_filter_column: None,
            visible: Some(!super::hidden::is_hidden_name(&self.name)),
            children_column: self.data_type.thrift_children(Some(
                self.aggregation.map(|a| a.to_thrift()).unwrap_or(TAggregationType::NONE),
            )),
            col_unique_id: Some(self.unique_id),
            is_auto_increment: Some(self.auto_increment.is_some()),
        }
    }

    /// The column as CREATE TABLE and ADD COLUMN write it.
    pub fn ddl(&self) -> String {
        let mut s = format!("`{}` {}", self.name, self.data_type.to_sql());
        if let Some(a) = self.aggregation {
            s.push(' ');
            s.push_str(a.sql());
        }
        s.push_str(if self.nullable { " NULL" } else { " NOT NULL" });
        if let Some(start) = self.auto_increment {
            s.push_str(&format!(" AUTO_INCREMENT({start})"));
        }
        if let Some(d) = &self.default_value {
            s.push_str(&format!(" DEFAULT \"{}\"", escape(d)));
        }
        if !self.comment.is_empty() {
            s.push_str(&format!(" COMMENT \"{}\"", escape(&self.comment)));
        }
        s
    }
}

/// Order two partition keys column by column; `types` are the partition columns' types.
pub(crate) fn compare_keys(types: &[DataType], a: &[String], b: &[String]) -> Ordering {
    for (i, t) in types.iter().enumerate() {
        let (Some(x), Some(y)) = (a.get(i), b.get(i)) else { break };
        let o = t.compare(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionKind {
    Unpartitioned,
    Range,
    List,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Distribution {
    Hash { columns: Vec<String>, buckets: u32 },
    Random { buckets: u32 },
}

impl Distribution {
    pub fn buckets(&self) -> u32 {
        match self {
            Distribution::Hash { buckets, .. } | Distribution::Random { buckets } => *buckets,
        }
    }

    fn ddl(&self) -> String {
        match self {
            Distribution::Hash { columns, buckets } => {
                format!("DISTRIBUTED BY HASH({}) BUCKETS {buckets}", quoted_list(columns))
            }
            Distribution::Random { buckets } => format!("DISTRIBUTED BY RANDOM BUCKETS {buckets}"),
        }
    }

    /// The DistributionKey column of SHOW PARTITIONS.
    pub fn key_text(&self) -> String {
        match self {
            Distribution::Hash { columns, .. } => columns.join(", "),
            Distribution::Random { .. } => "RANDOM".into(),
        }
    }
}

fn quoted_list(cols: &[String]) -> String {
    cols.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaState {
    Normal,
    /// Being created on its BE; not yet confirmed.
    Creating,
}

impl ReplicaState {
    pub fn name(&self) -> &'static str {
        match self {
            ReplicaState::Normal => "NORMAL",
            ReplicaState::Creating => "CREATING",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replica {
    pub id: i64,
    pub backend_id: i64,
    pub version: i64,
    pub row_count: i64,
    pub data_size: i64,
    pub remote_data_size: i64,
    pub version_count: i64,
    pub path_hash: i64,
    pub state: ReplicaState,
    pub last_report_ms: i64,
    #[serde(default)]
    pub cooldown_term: i64,
    /// The version of the first load this replica missed (did not write or publish), -1
    /// when it is caught up: upstream's `lastFailedVersion`. A lagging replica is not read
    /// nor snapshotted, and is repaired by CLONE from a healthy one.
    #[serde(default = "minus_one")]
    pub last_failed_version: i64,
    /// When it last missed a load (ms), 0 never.
    #[serde(default)]
    pub last_failed_time_ms: i64,
    /// The last version it is known to have published: upstream's `lastSuccessVersion`.
    #[serde(default = "minus_one")]
    pub last_success_version: i64,
    /// The cooldown meta id its BE last reported (`TTabletInfo.cooldown_meta_id`).
    #[serde(default)]
    pub cooldown_meta_id: Option<(i64, i64)>,
}

fn minus_one() -> i64 {
    -1
}

impl Replica {
    /// Behind the versions its partition made visible (upstream: `lastFailedVersion > 0`).
    pub fn is_lagging(&self) -> bool {
        self.last_failed_version > 0
    }

    /// Record that it missed version `version` (it did not write or publish it).
    pub fn mark_failed(&mut self, version: i64, now_ms: i64) {
        // The newest version missed, as upstream keeps it.
        self.last_failed_version = self.last_failed_version.max(version);
        self.last_failed_time_ms = now_ms;
    }

    /// It holds every version up to `visible` (it published it, a clone brought it, or
    /// its BE reported it): the lag is over.
    pub fn mark_caught_up(&mut self, version: i64) {
        self.last_failed_version = -1;
        self.last_success_version = self.last_success_version.max(version);
        self.version = self.version.max(version);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tablet {
    pub id: i64,
    pub replicas: Vec<Replica>,
    /// Chosen cooldown replica and its term (cooldown comes later).
    #[serde(default)]
    pub cooldown_replica_id: i64,
    #[serde(default)]
    pub cooldown_term: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaterializedIndex {
    pub id: i64,
    pub name: String,
    pub schema_hash: i32,
    pub tablets: Vec<Tablet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    pub id: i64,
    pub name: String,
    pub visible_version: i64,
    pub visible_version_time_ms: i64,
    /// Range partitions: [lower, upper) keys, one per partition column.
    pub range: Option<(Vec<String>, Vec<String>)>,
    /// List partitions: each value tuple.
    pub list_values: Vec<Vec<String>>,
    pub buckets: u32,
    pub replication_num: u16,
    pub storage_medium: StorageMedium,
    pub index: MaterializedIndex,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OlapTable {
    pub id: i64,
    pub db_id: i64,
    pub name: String,
    pub columns: Vec<Column>,
    pub keys_type: KeysType,
    pub partition_kind: PartitionKind,
    pub partition_columns: Vec<String>,
    pub distribution: Distribution,
    pub replication_num: u16,
    pub storage_medium: StorageMedium,
    pub storage_policy: String,
    /// Every property as given (normalised keys), for SHOW CREATE TABLE.
    pub properties: BTreeMap<String, String>,
    pub base_index_id: i64,
    pub schema_hash: i32,
    pub partitions: Vec<Partition>,
    pub comment: String,
    pub create_time_ms: i64,
    /// Partitions a restore is adding (upstream's restored partitions): their tablets are
    /// on the BEs and known to tablet reports, but nothing reads, loads or shows them until
    /// the restore commits and moves them into `partitions`; a cancel removes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restoring_partitions: Vec<Partition>,
    /// Temporary partitions (upstream's): INSERT OVERWRITE loads into them, then they
    /// replace the partitions they stand for. Their tablets are on the BEs and known to
    /// tablet reports; only a load naming them writes them; nothing reads or shows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub temp_partitions: Vec<Partition>,
    /// Every AUTO_INCREMENT value handed out is below this (`crate::load::auto_inc`); the
    /// next value after a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_increment_ceiling: Option<i64>,
    /// Set while a restore writes into this table (upstream's table state RESTORE): loads
    /// into what it overwrites are refused until it commits or is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_lock: Option<RestoreLock>,
    /// Names of value columns dropped by a light schema change. Rowsets written before
    /// still hold them, and segments are read by column name, so such a name cannot be
    /// added back (it would read the old values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_columns: Vec<String>,
    /// Upstream's hidden columns (`super::hidden`), after the visible ones in the tablets'
    /// schema; kept apart so that what users see (DESC, SELECT *, SHOW CREATE TABLE,
    /// information_schema, INSERT's width) never holds them. Tables made before hidden
    /// columns existed have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_columns: Vec<Column>,
}

/// What a running restore holds of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreLock {
    pub job_id: i64,
    /// The partitions the restore overwrites; empty: the whole table (one the restore made).
    #[serde(default)]
    pub partition_ids: Vec<i64>,
    /// Restored with `allow_load` (upstream's RESTORE_WITH_LOAD state): loads into a table
    /// the restore made go on; the partitions it overwrites still refuse them.
    #[serde(default)]
    pub allow_load: bool,
}

impl OlapTable {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn key_columns(&self) -> Vec<&Column> {
        self.columns.iter().filter(|c| c.is_key).collect()
    }

    pub fn partition(&self, name: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The tablets of the visible partitions.
    pub fn tablets(&self) -> impl Iterator<Item = (&Partition, &Tablet)> {
        self.partitions.iter().flat_map(|p| p.index.tablets.iter().map(move |t| (p, t)))
    }

    /// Every tablet the table holds on the BEs: those of restoring and temporary
    /// partitions too.
    pub fn all_tablets(&self) -> impl Iterator<Item = (&Partition, &Tablet)> {
        self.all_partitions().flat_map(|p| p.index.tablets.iter().map(move |t| (p, t)))
    }

    /// Every partition the table holds on the BEs: visible, restoring and temporary.
    pub fn all_partitions(&self) -> impl Iterator<Item = &Partition> {
        self.partitions.iter().chain(&self.restoring_partitions).chain(&self.temp_partitions)
    }

    /// The partitions a load may write: the visible ones and the temporary ones.
    pub fn loadable_partitions(&self) -> impl Iterator<Item = &Partition> {
        self.partitions.iter().chain(&self.temp_partitions)
    }

    pub fn temp_partition(&self, name: &str) -> Option<&Partition> {
        self.temp_partitions.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn restoring_partition(&self, name: &str) -> Option<&Partition> {
        self.restoring_partitions.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Why a load into the partitions `touched` (none known yet: any) must not commit, in
    /// upstream's words; None when nothing a restore holds is touched.
    pub fn load_refusal(&self, touched: &[i64]) -> Option<String> {
        let lock = self.restore_lock.as_ref()?;
        if lock.partition_ids.is_empty() {
            if lock.allow_load {
                return None;
            }
            return Some(format!("Table {} is in restore process. Can not load into it", self.name));
        }
        let held = self.partitions.iter().find(|p| lock.partition_ids.contains(&p.id) && touched.contains(&p.id))?;
        Some(format!(
            "Table [{}], Partition [{}] is in restore process. Can not load into it",
            self.name, held.name
        ))
    }

    /// The State SHOW PROC prints for the table: RESTORE (or RESTORE_WITH_LOAD) while a
    /// restore holds it.
    pub fn state_name(&self) -> &'static str {
        match &self.restore_lock {
            None => "NORMAL",
            Some(l) if l.allow_load => "RESTORE_WITH_LOAD",
            Some(_) => "RESTORE",
        }
    }

    /// The State SHOW PARTITIONS prints: RESTORE for a partition a restore overwrites.
    pub fn partition_state_name(&self, p: &Partition) -> &'static str {
        match &self.restore_lock {
            Some(l) if l.partition_ids.contains(&p.id) => "RESTORE",
            _ => "NORMAL",
        }
    }

    /// Whether `p` can join the table: no partition, visible or restoring, has its name, its
    /// range intersects no other range and its list values are in no other list.
    pub fn check_new_partition(&self, p: &Partition) -> Result<(), CatalogError> {
        let others = || self.partitions.iter().chain(&self.restoring_partitions);
        if others().any(|o| o.name.eq_ignore_ascii_case(&p.name)) {
            return Err(CatalogError::Invalid(format!("Duplicate partition name {}", p.name)));
        }
        let conflict = match self.partition_kind {
            PartitionKind::Unpartitioned => {
                return Err(CatalogError::Invalid(format!(
                    "table {} is not partitioned; it cannot take partition {}",
                    self.name, p.name
                )))
            }
            PartitionKind::Range => {
                let (lo, hi) = p
                    .range
                    .as_ref()
                    .ok_or_else(|| CatalogError::Invalid(format!("partition {} has no range", p.name)))?;
                let types = self.partition_types();
                others().find(|o| {
                    o.range.as_ref().is_some_and(|(olo, ohi)| {
                        compare_keys(&types, lo, ohi) == Ordering::Less
                            && compare_keys(&types, olo, hi) == Ordering::Less
                    })
                })
            }
            PartitionKind::List => others().find(|o| o.list_values.iter().any(|v| p.list_values.contains(v))),
        };
        match conflict {
            // Upstream's restore text, and which partition it meets.
            Some(o) => Err(CatalogError::Invalid(format!(
                "Partition {} in table {} has conflict partition item with existing items (partition {})",
                p.name, self.name, o.name
            ))),
            None => Ok(()),
        }
    }

    /// Move the restoring partition `partition_id` among the visible ones (a RANGE
    /// partition in range order); false when no restoring partition has that id.
    pub fn publish_restoring_partition(&mut self, partition_id: i64) -> bool {
        let Some(i) = self.restoring_partitions.iter().position(|p| p.id == partition_id) else {
            return false;
        };
        let p = self.restoring_partitions.remove(i);
        let at = match (&self.partition_kind, &p.range) {
            (PartitionKind::Range, Some((lo, _))) => {
                let types = self.partition_types();
                self.partitions
                    .iter()
                    .position(|o| {
                        o.range.as_ref().is_some_and(|(olo, _)| compare_keys(&types, lo, olo) == Ordering::Less)
                    })
                    .unwrap_or(self.partitions.len())
            }
            _ => self.partitions.len(),
        };
        self.partitions.insert(at, p);
        true
    }

    fn partition_types(&self) -> Vec<DataType> {
        self.partition_columns
            .iter()
            .map(|c| self.column(c).map(|c| c.data_type.clone()).unwrap_or(DataType::String))
            .collect()
    }

    /// Upstream's textual key description: `[types: [INT]; keys: [10]; ]`.
    pub fn describe_keys(&self, keys: &[String]) -> String {
        let types = self.partition_types();
        let t: Vec<&str> = types.iter().map(|t| t.upper_name()).collect();
        format!("types: [{}]; keys: [{}]; ", t.join(", "), keys.join(", "))
    }

    /// The Range column of SHOW PARTITIONS and the `range` of getMeta.
    pub fn describe_partition(&self, p: &Partition) -> String {
        match self.partition_kind {
            PartitionKind::Unpartitioned => String::new(),
            PartitionKind::Range => match &p.range {
                Some((lo, hi)) => format!("[{}..{})", self.describe_keys(lo), self.describe_keys(hi)),
                None => String::new(),
            },
            PartitionKind::List => {
                let items: Vec<String> = p.list_values.iter().map(|v| self.describe_keys(v)).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }

    pub fn binlog(&self) -> super::binlog::BinlogConfig {
        super::binlog::BinlogConfig::from_properties(&self.properties).unwrap_or_default()
    }

    /// The table as upstream's SHOW CREATE TABLE prints it.
    pub fn create_table_ddl(&self) -> String {
        let mut s = format!("CREATE TABLE `{}` (\n", self.name);
        let cols: Vec<String> = self.columns.iter().map(|c| format!("  {}", c.ddl())).collect();
        s.push_str(&cols.join(",\n"));
        s.push_str("\n) ENGINE=OLAP\n");
        let keys: Vec<String> = self.key_columns().iter().map(|c| c.name.clone()).collect();
        s.push_str(&format!("{}({})\n", self.keys_type.sql(), quoted_list(&keys)));
        if !self.comment.is_empty() {
            s.push_str(&format!("COMMENT \"{}\"\n", escape(&self.comment)));
        } else {
            s.push_str("COMMENT 'OLAP'\n");
        }
        let quote = |keys: &[String]| keys.iter().map(|k| format!("\"{}\"", escape(k))).collect::<Vec<_>>().join(", ");
        match self.partition_kind {
            PartitionKind::Unpartitioned => {}
            PartitionKind::Range => {
                s.push_str(&format!("PARTITION BY RANGE({})\n", quoted_list(&self.partition_columns)));
                let parts: Vec<String> = self
                    .partitions
                    .iter()
                    .map(|p| {
                        let (lo, hi) = p.range.clone().unwrap_or_default();
                        format!("PARTITION {} VALUES [({}), ({}))", p.name, quote(&lo), quote(&hi))
                    })
                    .collect();
                s.push_str(&format!("({})\n", parts.join(",\n")));
            }
            PartitionKind::List => {
                s.push_str(&format!("PARTITION BY LIST({})\n", quoted_list(&self.partition_columns)));
                let parts: Vec<String> = self
                    .partitions
                    .iter()
                    .map(|p| {
                        // One column: ("1", "2"); several: (("1", "a"), ("2", "b")).
                        let single = self.partition_columns.len() == 1;
                        let vals: Vec<String> = p
                            .list_values
                            .iter()
                            .map(|v| if single { quote(v) } else { format!("({})", quote(v)) })
                            .collect();
                        format!("PARTITION {} VALUES IN ({})", p.name, vals.join(", "))
                    })
                    .collect();
                s.push_str(&format!("({})\n", parts.join(",\n")));
            }
        }
        s.push_str(&self.distribution.ddl());
        s.push_str("\nPROPERTIES (\n");
        let mut props: BTreeMap<String, String> = BTreeMap::new();
        props.insert("replication_allocation".into(), format!("tag.location.default: {}", self.replication_num));
        props.insert("storage_medium".into(), self.storage_medium.name().to_ascii_lowercase());
        if !self.storage_policy.is_empty() {
            props.insert("storage_policy".into(), self.storage_policy.clone());
        }
        for (k, v) in &self.properties {
            if k != "replication_num" && k != "replication_allocation" && !super::binlog::is_binlog_key(k) {
                props.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        // Upstream prints it for every UNIQUE table; one made before doris-rs kept it is
        // merge-on-read.
        if self.keys_type == KeysType::Unique {
            props.entry(super::hidden::MERGE_ON_WRITE.into()).or_insert_with(|| "false".into());
        }
        let mut lines: Vec<String> = props.iter().map(|(k, v)| format!("\"{k}\" = \"{}\"", escape(v))).collect();
        // Upstream prints the binlog settings last, all four, once any is set.
        if self.properties.keys().any(|k| super::binlog::is_binlog_key(k)) {
            lines.extend(self.binlog().to_properties().iter().map(|(k, v)| format!("\"{k}\" = \"{v}\"")));
        }
        s.push_str(&lines.join(",\n"));
        s.push_str("\n);");
        s
    }
}
