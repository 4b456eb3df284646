//! The source side of an ingest: which rowset holds a binlog version, the meta a target BE
//! rebuilds it from, and where its segment bytes are. Served by `http::binlog`.
//!
//! Our BE never compacts, so version V's rowset is the visible one with
//! `start_version == end_version == V`; the tablet's first rowset `[0, N]` holds no binlog.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::BeError;
use crate::storage::{RowsetMeta, StorageEngine, TabletMeta, TabletSchema};

/// What `get_rowset_meta` answers, as JSON. Upstream sends a serialized `RowsetMetaPB`; we
/// send our own `RowsetMeta` (its fields at the top level) plus what a `RowsetMetaPB` also
/// carries and a target needs: the tablet's id, schema hash and schema. Only our own BE
/// reads it (a real Doris BE cannot ingest from ours, nor ours from it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinlogRowsetMeta {
    pub tablet_id: i64,
    pub schema_hash: i32,
    pub tablet_schema: TabletSchema,
    #[serde(flatten)]
    pub rowset: RowsetMeta,
}

/// Why a binlog request cannot be answered. The texts start with upstream's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("parameter {0} not specified in url.")]
    MissingParam(&'static str),
    #[error("parameter {name} is not a number: {value:?}")]
    BadParam { name: &'static str, value: String },
    #[error("tablet is not exist, tablet_id={0}")]
    NoTablet(i64),
    #[error(
        "get binlog info failed, binlog_version={version}: tablet {tablet_id} has no rowset of exactly that version \
         (its visible versions end at {max_version}; a tablet's first rowset holds no binlog)"
    )]
    NoVersion { tablet_id: i64, version: i64, max_version: i64 },
    #[error("get rowset meta failed, rowset_id={rowset_id}: it is not tablet {tablet_id}'s rowset of version {version}")]
    NoRowset { tablet_id: i64, rowset_id: String, version: i64 },
    #[error("file not exist. tablet {tablet_id} has no visible rowset {rowset_id} with a segment {segment}")]
    NoSegment { tablet_id: i64, rowset_id: String, segment: i64 },
    #[error("tablet {0} has no segment index files: this BE builds no inverted indexes")]
    NoIndexFiles(i64),
    #[error(transparent)]
    Storage(#[from] BeError),
}

/// Where a segment's bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentAt {
    /// A file in the tablet's directory (not yet confined: the caller does that).
    Local(PathBuf),
    /// An object in the tablet's storage policy's store (a cooled-down rowset).
    Remote { tablet_id: i64, file: String },
}

fn tablet(storage: &StorageEngine, tablet_id: i64) -> Result<TabletMeta, SourceError> {
    storage.tablet_meta(tablet_id).ok_or(SourceError::NoTablet(tablet_id))
}

fn rowset_of_version(meta: &TabletMeta, version: i64) -> Result<&RowsetMeta, SourceError> {
    meta.rowsets.iter().find(|r| r.start_version == version && r.end_version == version).ok_or(SourceError::NoVersion {
        tablet_id: meta.tablet_id,
        version,
        max_version: meta.max_version(),
    })
}

/// `get_binlog_info`: the rowset holding `version`, answered as `<rowset_id>:<num_segments>`.
pub fn binlog_info(storage: &StorageEngine, tablet_id: i64, version: i64) -> Result<String, SourceError> {
    let meta = tablet(storage, tablet_id)?;
    let rs = rowset_of_version(&meta, version)?;
    Ok(format!("{}:{}", rs.rowset_id, rs.num_segments))
}

/// `get_rowset_meta`: the meta of `rowset_id`, which must be the rowset of `version`.
pub fn rowset_meta(storage: &StorageEngine, tablet_id: i64, rowset_id: &str, version: i64) -> Result<BinlogRowsetMeta, SourceError> {
    let meta = tablet(storage, tablet_id)?;
    let rs = rowset_of_version(&meta, version).map_err(|_| SourceError::NoRowset {
        tablet_id,
        rowset_id: rowset_id.to_string(),
        version,
    })?;
    if rs.rowset_id != rowset_id {
        return Err(SourceError::NoRowset { tablet_id, rowset_id: rowset_id.to_string(), version });
    }
    Ok(BinlogRowsetMeta {
        tablet_id,
        schema_hash: meta.schema_hash,
        tablet_schema: meta.schema.clone(),
        rowset: rs.clone(),
    })
}

/// `get_segment_file`: where segment `segment` of the visible rowset `rowset_id` is. Only
/// rowsets the tablet's meta holds are served, so the name cannot reach other files.
pub fn segment(storage: &StorageEngine, tablet_id: i64, rowset_id: &str, segment: i64) -> Result<SegmentAt, SourceError> {
    let meta = tablet(storage, tablet_id)?;
    let missing = || SourceError::NoSegment { tablet_id, rowset_id: rowset_id.to_string(), segment };
    let rs = meta.rowsets.iter().find(|r| r.rowset_id == rowset_id).ok_or_else(missing)?;
    if segment < 0 || segment >= i64::from(rs.num_segments) {
        return Err(missing());
    }
    let file = format!("{}_{segment}.dat", rs.rowset_id);
    if rs.remote {
        return Ok(SegmentAt::Remote { tablet_id, file });
    }
    Ok(SegmentAt::Local(storage.tablet_dir(tablet_id)?.join(file)))
}

/// Parse `<rowset_id>:<num_segments>` (what `binlog_info` answers).
pub fn parse_binlog_info(text: &str) -> Option<(String, u32)> {
    let (id, n) = text.trim().split_once(':')?;
    let n = n.trim().parse().ok()?;
    (!id.is_empty()).then(|| (id.to_string(), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binlog_info_text_round_trips() {
        assert_eq!(parse_binlog_info("02ab:3"), Some(("02ab".into(), 3)));
        assert_eq!(parse_binlog_info("02ab:3\n"), Some(("02ab".into(), 3)));
        assert_eq!(parse_binlog_info("02ab"), None);
        assert_eq!(parse_binlog_info(":3"), None);
        assert_eq!(parse_binlog_info("02ab:-1"), None);
    }

    #[test]
    fn rowset_meta_json_keeps_rowset_fields_at_the_top() {
        let m = BinlogRowsetMeta {
            tablet_id: 7,
            schema_hash: 9,
            tablet_schema: TabletSchema::plain("DUP_KEYS", 1, vec![]),
            rowset: RowsetMeta {
                rowset_id: "02x".into(),
                start_version: 2,
                end_version: 2,
                num_segments: 1,
                num_rows: 3,
                data_size: 10,
                txn_id: Some(5),
                remote: false,
                creation_time_s: 1,
                delete_predicate: None,
            },
        };
        let v: serde_json::Value = serde_json::to_value(&m).unwrap();
        assert_eq!(v["rowset_id"], "02x");
        assert_eq!(v["tablet_id"], 7);
        assert_eq!(v["tablet_schema"]["keys_type"], "DUP_KEYS");
        let back: BinlogRowsetMeta = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }
}
