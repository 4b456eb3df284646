//! `PROPERTIES` of BACKUP and RESTORE, checked like the Java FE: every key is known, booleans
//! are `true`/`false` (any case), numbers are numbers, and the wording of each refusal is
//! upstream's. Keys are case-sensitive, as upstream's map is; a repeated key keeps the last
//! value.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::job_info::BackupContent;
use crate::error::{FeError, Result};

/// Upstream `Config.backup_job_default_timeout_ms`: one day.
pub const DEFAULT_TIMEOUT_MS: i64 = 86_400 * 1000;
/// The shortest `timeout` accepted, upstream's ten minutes.
pub const MIN_TIMEOUT_MS: i64 = 600 * 1000;

fn refuse(msg: impl Into<String>) -> FeError {
    FeError::InvalidArgument(msg.into())
}

fn take_map(props: &[(String, String)]) -> BTreeMap<String, String> {
    props.iter().cloned().collect()
}

/// `timeout` in seconds, at least ten minutes; the default is one day.
fn take_timeout(m: &mut BTreeMap<String, String>) -> Result<i64> {
    let Some(v) = m.remove("timeout") else { return Ok(DEFAULT_TIMEOUT_MS) };
    let secs: i64 = v.trim().parse().map_err(|_| refuse(format!("Invalid timeout format: {v}")))?;
    let ms = secs.saturating_mul(1000);
    if ms < MIN_TIMEOUT_MS {
        return Err(refuse("timeout must be at least 10 min"));
    }
    Ok(ms)
}

fn take_bool(m: &mut BTreeMap<String, String>, key: &str, default: bool) -> Result<bool> {
    let Some(v) = m.remove(key) else { return Ok(default) };
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(refuse(format!("Invalid boolean property {key} value: {v}")))
    }
}

/// Upstream prints the leftover keys as a Java set: `[a, b]`.
fn refuse_unknown(m: &BTreeMap<String, String>, what: &str) -> Result<()> {
    if m.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
    Err(refuse(format!("Unknown {what} job properties: [{}]", keys.join(", "))))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BackupType {
    #[default]
    #[serde(rename = "FULL")]
    Full,
}

/// The checked PROPERTIES of a BACKUP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupOptions {
    pub backup_type: BackupType,
    pub content: BackupContent,
    pub timeout_ms: i64,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions { backup_type: BackupType::Full, content: BackupContent::All, timeout_ms: DEFAULT_TIMEOUT_MS }
    }
}

impl BackupOptions {
    /// Keys: `type` (`full`), `content` (`all` | `metadata_only`), `timeout` (seconds).
    pub fn parse(props: &[(String, String)]) -> Result<Self> {
        let mut m = take_map(props);
        let timeout_ms = take_timeout(&mut m)?;
        let backup_type = match m.remove("type") {
            None => BackupType::Full,
            Some(t) if t.eq_ignore_ascii_case("full") => BackupType::Full,
            // Upstream's parser knows INCREMENTAL but no FE ever ran one.
            Some(t) if t.eq_ignore_ascii_case("incremental") => {
                return Err(FeError::NotSupported("incremental backup; use \"type\" = \"full\"".into()))
            }
            Some(t) => return Err(refuse(format!("Invalid backup job type: {t}"))),
        };
        let content = match m.remove("content") {
            None => BackupContent::All,
            Some(c) => BackupContent::parse(&c).ok_or_else(|| refuse(format!("Invalid backup job content:{c}")))?,
        };
        refuse_unknown(&m, "backup")?;
        Ok(BackupOptions { backup_type, content, timeout_ms })
    }
}

/// Replicas per resource tag, upstream's `ReplicaAllocation` (`tag.location.default: 3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaAllocation {
    pub tags: BTreeMap<String, u16>,
}

impl Default for ReplicaAllocation {
    /// Upstream's default: three replicas on the `default` tag.
    fn default() -> Self {
        ReplicaAllocation::with_default_tag(3)
    }
}

impl ReplicaAllocation {
    pub fn with_default_tag(n: u16) -> Self {
        ReplicaAllocation { tags: BTreeMap::from([("default".to_string(), n)]) }
    }

    pub fn total(&self) -> u32 {
        self.tags.values().map(|n| *n as u32).sum()
    }

    /// The form shown in SHOW RESTORE and CREATE TABLE: `tag.location.default: 3`.
    pub fn to_create_stmt(&self) -> String {
        self.tags.iter().map(|(t, n)| format!("tag.location.{t}: {n}")).collect::<Vec<_>>().join(", ")
    }

    /// Parse `tag.location.<tag>: <n>[, ...]`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || refuse(format!("Invalid replication allocation property: {s}"));
        let mut tags = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once(':').ok_or_else(bad)?;
            let tag = k.trim().strip_prefix("tag.location.").ok_or_else(bad)?;
            if tag.is_empty() {
                return Err(bad());
            }
            let n: u16 = v.trim().parse().map_err(|_| bad())?;
            if tags.insert(tag.to_string(), n).is_some() {
                return Err(bad());
            }
        }
        let alloc = ReplicaAllocation { tags };
        if alloc.total() == 0 {
            return Err(refuse("Total replication num should between 1 and 32767"));
        }
        Ok(alloc)
    }
}

impl fmt::Display for ReplicaAllocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_create_stmt())
    }
}

/// `replication_allocation` wins over `replication_num`, like upstream; neither set is `None`.
fn take_replica_allocation(m: &mut BTreeMap<String, String>) -> Result<Option<ReplicaAllocation>> {
    let num = m.remove("replication_num");
    if let Some(a) = m.remove("replication_allocation") {
        return ReplicaAllocation::parse(&a).map(Some);
    }
    let Some(v) = num else { return Ok(None) };
    let n: i32 = v.trim().parse().map_err(|_| refuse(format!("Invalid replication_num: '{v}' is not a number")))?;
    if n <= 0 {
        return Err(refuse("Replication num should larger than 0. (suggested 3)"));
    }
    let n = u16::try_from(n).ok().filter(|n| *n <= i16::MAX as u16).ok_or_else(|| {
        refuse(format!("Invalid replication_num: {v} is larger than 32767"))
    })?;
    Ok(Some(ReplicaAllocation::with_default_tag(n)))
}

/// How restored partitions pick a storage medium (newer upstream `medium_allocation_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediumAllocationMode {
    #[serde(rename = "strict")]
    Strict,
    #[serde(rename = "adaptive")]
    Adaptive,
}

/// The checked PROPERTIES of a RESTORE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreOptions {
    /// The `__info_` timestamp to restore; required unless restoring a local snapshot (CCR).
    pub backup_timestamp: Option<String>,
    pub allow_load: bool,
    pub replica_alloc: ReplicaAllocation,
    /// Whether `replication_num`/`replication_allocation` was given.
    pub replica_alloc_set: bool,
    pub reserve_replica: bool,
    pub reserve_colocate: bool,
    pub reserve_dynamic_partition_enable: bool,
    /// `meta_version` to decode an old backup's meta with; -1 when not given.
    pub meta_version: i32,
    pub timeout_ms: i64,
    pub is_being_synced: bool,
    pub clean_tables: bool,
    pub clean_partitions: bool,
    pub atomic_restore: bool,
    pub force_replace: bool,
    /// `HDD` or `SSD`.
    pub storage_medium: Option<String>,
    pub medium_allocation_mode: Option<MediumAllocationMode>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            backup_timestamp: None,
            allow_load: false,
            replica_alloc: ReplicaAllocation::default(),
            replica_alloc_set: false,
            reserve_replica: false,
            reserve_colocate: false,
            reserve_dynamic_partition_enable: false,
            meta_version: -1,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            is_being_synced: false,
            clean_tables: false,
            clean_partitions: false,
            atomic_restore: false,
            force_replace: false,
            storage_medium: None,
            medium_allocation_mode: None,
        }
    }
}

impl RestoreOptions {
    /// `from_local_snapshot` is true for a restore from `__keep_on_local__` (the
    /// `restoreSnapshot` RPC), where `backup_timestamp` may be absent.
    pub fn parse(props: &[(String, String)], from_local_snapshot: bool) -> Result<Self> {
        let mut m = take_map(props);
        let mut o = RestoreOptions { timeout_ms: take_timeout(&mut m)?, ..Default::default() };
        o.allow_load = take_bool(&mut m, "allow_load", false)?;
        if let Some(alloc) = take_replica_allocation(&mut m)? {
            o.replica_alloc = alloc;
            o.replica_alloc_set = true;
        }
        o.reserve_replica = take_bool(&mut m, "reserve_replica", false)?;
        o.reserve_colocate = take_bool(&mut m, "reserve_colocate", false)?;
        o.reserve_dynamic_partition_enable = take_bool(&mut m, "reserve_dynamic_partition_enable", false)?;
        match m.remove("backup_timestamp") {
            Some(ts) => o.backup_timestamp = Some(ts),
            None if !from_local_snapshot => return Err(refuse("Missing backup_timestamp property")),
            None => {}
        }
        if let Some(v) = m.remove("meta_version") {
            o.meta_version = v.trim().parse().map_err(|_| refuse(format!("Invalid meta version format: {v}")))?;
        }
        o.is_being_synced = take_bool(&mut m, "is_being_synced", false)?;
        o.clean_tables = take_bool(&mut m, "clean_tables", false)?;
        o.clean_partitions = take_bool(&mut m, "clean_partitions", false)?;
        o.atomic_restore = take_bool(&mut m, "atomic_restore", false)?;
        o.force_replace = take_bool(&mut m, "force_replace", false)?;
        if let Some(v) = m.remove("storage_medium") {
            let up = v.trim().to_ascii_uppercase();
            if up != "HDD" && up != "SSD" {
                return Err(refuse(format!("Invalid storage_medium value: {v}; use HDD or SSD")));
            }
            o.storage_medium = Some(up);
        }
        if let Some(v) = m.remove("medium_allocation_mode") {
            o.medium_allocation_mode = Some(match v.trim().to_ascii_lowercase().as_str() {
                "strict" => MediumAllocationMode::Strict,
                "adaptive" => MediumAllocationMode::Adaptive,
                _ => return Err(refuse(format!("Invalid medium_allocation_mode value: {v}; use strict or adaptive"))),
            });
        }
        refuse_unknown(&m, "restore")?;
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn err(r: Result<impl fmt::Debug>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn backup_defaults_and_values() {
        let o = BackupOptions::parse(&[]).unwrap();
        assert_eq!(o, BackupOptions::default());
        assert_eq!(o.timeout_ms, 86_400_000);
        let o = BackupOptions::parse(&p(&[("type", "FULL"), ("timeout", "3600"), ("content", "metadata_only")])).unwrap();
        assert_eq!(o.content, BackupContent::MetadataOnly);
        assert_eq!(o.timeout_ms, 3_600_000);
    }

    #[test]
    fn backup_refusals_use_upstream_wording() {
        assert!(err(BackupOptions::parse(&p(&[("timeout", "abc")]))).ends_with("Invalid timeout format: abc"));
        assert!(err(BackupOptions::parse(&p(&[("timeout", "599")]))).ends_with("timeout must be at least 10 min"));
        assert!(err(BackupOptions::parse(&p(&[("type", "delta")]))).ends_with("Invalid backup job type: delta"));
        assert!(err(BackupOptions::parse(&p(&[("type", "incremental")]))).contains("incremental"));
        assert!(err(BackupOptions::parse(&p(&[("content", "some")]))).ends_with("Invalid backup job content:some"));
        let e = err(BackupOptions::parse(&p(&[("zeta", "1"), ("alpha", "2"), ("timeout", "600")])));
        assert!(e.ends_with("Unknown backup job properties: [alpha, zeta]"), "{e}");
        // Keys are case-sensitive like upstream's map.
        assert!(err(BackupOptions::parse(&p(&[("TYPE", "full")]))).ends_with("Unknown backup job properties: [TYPE]"));
    }

    #[test]
    fn restore_requires_timestamp_unless_local() {
        assert!(err(RestoreOptions::parse(&[], false)).ends_with("Missing backup_timestamp property"));
        let o = RestoreOptions::parse(&[], true).unwrap();
        assert_eq!(o, RestoreOptions::default());
        assert_eq!(o.replica_alloc.total(), 3);
        assert_eq!(o.meta_version, -1);
    }

    #[test]
    fn restore_all_keys() {
        let o = RestoreOptions::parse(
            &p(&[
                ("backup_timestamp", "2024-01-01-00-00-00"),
                ("replication_num", "1"),
                ("reserve_replica", "TRUE"),
                ("allow_load", "false"),
                ("timeout", "7200"),
                ("meta_version", "129"),
                ("clean_tables", "true"),
                ("clean_partitions", "True"),
                ("atomic_restore", "true"),
                ("force_replace", "false"),
                ("reserve_dynamic_partition_enable", "true"),
                ("reserve_colocate", "false"),
                ("is_being_synced", "true"),
                ("storage_medium", "ssd"),
                ("medium_allocation_mode", "Adaptive"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(o.backup_timestamp.as_deref(), Some("2024-01-01-00-00-00"));
        assert_eq!(o.replica_alloc, ReplicaAllocation::with_default_tag(1));
        assert!(o.replica_alloc_set && o.reserve_replica && o.clean_tables && o.clean_partitions && o.atomic_restore);
        assert!(o.reserve_dynamic_partition_enable && o.is_being_synced && !o.force_replace && !o.allow_load);
        assert_eq!(o.timeout_ms, 7_200_000);
        assert_eq!(o.meta_version, 129);
        assert_eq!(o.storage_medium.as_deref(), Some("SSD"));
        assert_eq!(o.medium_allocation_mode, Some(MediumAllocationMode::Adaptive));
    }

    #[test]
    fn restore_refusals() {
        let ts = ("backup_timestamp", "t");
        assert!(err(RestoreOptions::parse(&p(&[ts, ("allow_load", "yes")]), false))
            .ends_with("Invalid boolean property allow_load value: yes"));
        assert!(err(RestoreOptions::parse(&p(&[ts, ("clean_tables", "1")]), false))
            .ends_with("Invalid boolean property clean_tables value: 1"));
        assert!(err(RestoreOptions::parse(&p(&[ts, ("replication_num", "0")]), false))
            .ends_with("Replication num should larger than 0. (suggested 3)"));
        assert!(err(RestoreOptions::parse(&p(&[ts, ("replication_num", "x")]), false)).contains("replication_num"));
        assert!(err(RestoreOptions::parse(&p(&[ts, ("meta_version", "v2")]), false)).ends_with("Invalid meta version format: v2"));
        assert!(err(RestoreOptions::parse(&p(&[ts, ("storage_medium", "tape")]), false)).contains("storage_medium"));
        let e = err(RestoreOptions::parse(&p(&[ts, ("reserve", "true")]), false));
        assert!(e.ends_with("Unknown restore job properties: [reserve]"), "{e}");
        assert!(err(RestoreOptions::parse(&p(&[ts, ("timeout", "10")]), false)).ends_with("timeout must be at least 10 min"));
    }

    #[test]
    fn replica_allocation_forms() {
        let a = ReplicaAllocation::parse("tag.location.default: 2, tag.location.hot: 1").unwrap();
        assert_eq!(a.total(), 3);
        assert_eq!(a.to_create_stmt(), "tag.location.default: 2, tag.location.hot: 1");
        assert_eq!(ReplicaAllocation::default().to_create_stmt(), "tag.location.default: 3");
        for bad in ["default: 2", "tag.location.default", "tag.location.: 1", "tag.location.a: x", "tag.location.a: 0"] {
            assert!(ReplicaAllocation::parse(bad).is_err(), "{bad}");
        }
        let o = RestoreOptions::parse(
            &p(&[("backup_timestamp", "t"), ("replication_num", "1"), ("replication_allocation", "tag.location.default: 2")]),
            false,
        )
        .unwrap();
        assert_eq!(o.replica_alloc.total(), 2);
    }
}
