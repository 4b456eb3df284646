//! restoreSnapshot's documents: the backup meta and job_info a CCR syncer sends (gzipped
//! when `compressed` is set), through the FE's own steps: `snapshots::gunzip`,
//! `BackupMeta::decode`, `BackupJobInfo::from_json`.

use doris_fe::backup::{BackupJobInfo, BackupMeta};
use doris_fe::rpc::snapshots::gunzip;

/// `thrift_max_message_size` as if configured to this: the oracle's memory budget then
/// checks that gunzip honours the limit (the default, 2 GiB, is more than a run can spare).
const GUNZIP_LIMIT: usize = 8 << 20;

/// Input: a mode byte, a 2-byte big-endian length of the meta, the meta, the job_info.
/// Mode bit 0: both are gzipped (`compressed = true`); bit 1: the meta is only the body,
/// given its 4-byte length header here so inputs reach the JSON.
pub fn run(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let mode = data[0];
    let n = (u16::from_be_bytes([data[1], data[2]]) as usize).min(data.len() - 3);
    let (mut meta, mut info) = (data[3..3 + n].to_vec(), data[3 + n..].to_vec());
    if mode & 1 != 0 {
        match (gunzip(&meta, GUNZIP_LIMIT), gunzip(&info, GUNZIP_LIMIT)) {
            (Ok(m), Ok(i)) => (meta, info) = (m, i),
            _ => return,
        }
    }
    if mode & 2 != 0 {
        let mut framed = (meta.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&meta);
        meta = framed;
    }
    let _ = BackupMeta::decode(&meta);
    let _ = BackupJobInfo::from_json(&info);
}
