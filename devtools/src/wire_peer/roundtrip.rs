//! `wire-peer roundtrip`: decode records with the generated types and encode them again.
//!
//! Input (stdin), repeated until EOF: `u32 BE name length, name, u32 BE byte length, bytes`,
//! where name is a struct declared in `thrift/*.thrift` and bytes its binary-protocol
//! encoding. Output (stdout), one per record: `u32 BE length, bytes` re-encoded by the
//! generated code, or `0xFFFFFFFF, u32 BE length, message` when the name is unknown or
//! the bytes do not decode. A bad record does not end the stream.

use std::io::{Read, Write};

use doris_thrift::transport::binary::vec_output;
use doris_thrift::transport::SliceInput;
use doris_thrift::*;
use thrift::protocol::TOutputProtocol;

/// The error marker in place of a length.
pub const ERROR_MARKER: u32 = u32::MAX;
/// Largest record accepted; the peer is a test tool, not a server.
const MAX_RECORD: u32 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("unknown struct {0:?}")]
    UnknownStruct(String),
    #[error("cannot decode {name}: {}", describe(.source))]
    Decode { name: String, source: thrift::Error },
    #[error("{name} decoded from {used} of {len} bytes")]
    TrailingBytes { name: String, used: usize, len: usize },
    #[error("cannot encode {name}: {}", describe(.source))]
    Encode { name: String, source: thrift::Error },
}

/// The thrift crate's Display drops the message of protocol and transport errors.
fn describe(e: &thrift::Error) -> String {
    match e {
        thrift::Error::Protocol(p) => format!("protocol error ({:?}): {}", p.kind, p.message),
        thrift::Error::Transport(t) => format!("transport error ({:?}): {}", t.kind, t.message),
        thrift::Error::Application(a) => format!("application error ({:?}): {}", a.kind, a.message),
        other => other.to_string(),
    }
}

fn reencode<T: TSerializable>(name: &str, bytes: &[u8]) -> Result<Vec<u8>, RecordError> {
    let mut input = SliceInput::new(bytes);
    let value = T::read_from_in_protocol(&mut input)
        .map_err(|source| RecordError::Decode { name: name.to_string(), source })?;
    if input.remaining() != 0 {
        return Err(RecordError::TrailingBytes { name: name.to_string(), used: input.position(), len: bytes.len() });
    }
    let mut out = Vec::with_capacity(bytes.len());
    {
        let mut o = vec_output(&mut out);
        value
            .write_to_out_protocol(&mut o)
            .and_then(|_| o.flush())
            .map_err(|source| RecordError::Encode { name: name.to_string(), source })?;
    }
    Ok(out)
}

/// Every struct of thrift/*.thrift, by its IDL name.
macro_rules! by_name {
    ($name:expr, $bytes:expr; $($module:ident :: $t:ident,)*) => {
        match $name {
            $( stringify!($t) => reencode::<$module::$t>($name, $bytes), )*
            other => Err(RecordError::UnknownStruct(other.to_string())),
        }
    };
}

pub fn reencode_named(name: &str, bytes: &[u8]) -> Result<Vec<u8>, RecordError> {
    by_name!(name, bytes;
        agent_service::TAgentResult,
        agent_service::TAgentTaskRequest,
        agent_service::TBinlogConfig,
        agent_service::TCalcDeleteBitmapPartitionInfo,
        agent_service::TCloneReq,
        agent_service::TCondition,
        agent_service::TCooldownConf,
        agent_service::TCreateTabletReq,
        agent_service::TDownloadReq,
        agent_service::TDropTabletReq,
        agent_service::TMoveDirReq,
        agent_service::TPartitionVersionInfo,
        agent_service::TPublishVersionRequest,
        agent_service::TPushReq,
        agent_service::TPushCooldownConfReq,
        agent_service::TPushStoragePolicyReq,
        agent_service::TReleaseSnapshotRequest,
        agent_service::TRemoteTabletSnapshot,
        agent_service::TS3StorageParam,
        agent_service::TSnapshotRequest,
        agent_service::TStoragePolicy,
        agent_service::TStorageResource,
        agent_service::TTabletSchema,
        agent_service::TUploadReq,
        backend_service::TIngestBinlogRequest,
        backend_service::TIngestBinlogResult,
        backend_service::TQueryIngestBinlogRequest,
        backend_service::TQueryIngestBinlogResult,
        backend_service::TTabletStat,
        backend_service::TTabletStatResult,
        descriptors::TColumn,
        frontend_service::TBeginTxnRequest,
        frontend_service::TBeginTxnResult,
        frontend_service::TBinlog,
        frontend_service::TCommitTxnRequest,
        frontend_service::TCommitTxnResult,
        frontend_service::TConfirmUnusedRemoteFilesRequest,
        frontend_service::TConfirmUnusedRemoteFilesResult,
        frontend_service::TGetBackendMetaRequest,
        frontend_service::TGetBackendMetaResult,
        frontend_service::TGetBinlogLagResult,
        frontend_service::TGetBinlogRequest,
        frontend_service::TGetBinlogResult,
        frontend_service::TGetMasterTokenRequest,
        frontend_service::TGetMasterTokenResult,
        frontend_service::TGetMetaDB,
        frontend_service::TGetMetaDBMeta,
        frontend_service::TGetMetaIndexMeta,
        frontend_service::TGetMetaPartitionMeta,
        frontend_service::TGetMetaReplicaMeta,
        frontend_service::TGetMetaRequest,
        frontend_service::TGetMetaResult,
        frontend_service::TGetMetaTable,
        frontend_service::TGetMetaTableMeta,
        frontend_service::TGetMetaTabletMeta,
        frontend_service::TGetSnapshotRequest,
        frontend_service::TGetSnapshotResult,
        frontend_service::TLoadTxnBeginRequest,
        frontend_service::TLoadTxnBeginResult,
        frontend_service::TLoadTxnCommitRequest,
        frontend_service::TLoadTxnCommitResult,
        frontend_service::TLoadTxnRollbackRequest,
        frontend_service::TLoadTxnRollbackResult,
        frontend_service::TLoadTxn2PCRequest,
        frontend_service::TLoadTxn2PCResult,
        frontend_service::TAutoIncrementRangeRequest,
        frontend_service::TAutoIncrementRangeResult,
        frontend_service::TRestoreSnapshotRequest,
        frontend_service::TRestoreSnapshotResult,
        frontend_service::TRollbackTxnRequest,
        frontend_service::TRollbackTxnResult,
        frontend_service::TSnapshotLoaderReportRequest,
        frontend_service::TSubTxnInfo,
        frontend_service::TTableRef,
        frontend_service::TTabletCooldownInfo,
        frontend_service::TTxnCommitAttachment,
        heartbeat_service::TBackendInfo,
        heartbeat_service::TFrontendInfo,
        heartbeat_service::THeartbeatResult,
        heartbeat_service::TMasterInfo,
        master_service::TDisk,
        master_service::TFinishTaskRequest,
        master_service::TMasterResult,
        master_service::TReportRequest,
        master_service::TTablet,
        master_service::TTabletInfo,
        plan_nodes::THdfsParams,
        status::TStatus,
        types::TBackend,
        types::TColumnType,
        types::TNetworkAddress,
        types::TResourceInfo,
        types::TTabletCommitInfo,
        types::TUniqueId,
    )
}

/// Reads a u32 length, or None at a clean end of input.
fn read_len(r: &mut impl Read) -> std::io::Result<Option<u32>> {
    let mut b = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut b[got..])?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "input ends inside a length"))
            };
        }
        got += n;
    }
    Ok(Some(u32::from_be_bytes(b)))
}

fn read_chunk(r: &mut impl Read, what: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(n) = read_len(r).map_err(|e| format!("reading the {what} length: {e}"))? else {
        return Ok(None);
    };
    if n > MAX_RECORD {
        return Err(format!("{what} of {n} bytes is larger than {MAX_RECORD}"));
    }
    let mut buf = vec![0u8; n as usize];
    r.read_exact(&mut buf).map_err(|e| format!("reading {n} bytes of {what}: {e}"))?;
    Ok(Some(buf))
}

pub fn run() -> Result<(), String> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    while let Some(name) = read_chunk(&mut input, "name")? {
        let bytes = read_chunk(&mut input, "record")?.ok_or("input ends after a name")?;
        let reply = match std::str::from_utf8(&name) {
            Ok(name) => reencode_named(name, &bytes),
            Err(_) => Err(RecordError::UnknownStruct(String::from_utf8_lossy(&name).into_owned())),
        };
        let w = |out: &mut std::io::BufWriter<_>| -> std::io::Result<()> {
            match &reply {
                Ok(b) => {
                    out.write_all(&(b.len() as u32).to_be_bytes())?;
                    out.write_all(b)?;
                }
                Err(e) => {
                    let msg = e.to_string();
                    out.write_all(&ERROR_MARKER.to_be_bytes())?;
                    out.write_all(&(msg.len() as u32).to_be_bytes())?;
                    out.write_all(msg.as_bytes())?;
                }
            }
            // A peer may wait for each reply before sending the next record.
            out.flush()
        };
        w(&mut out).map_err(|e| format!("writing the reply: {e}"))?;
    }
    Ok(())
}
