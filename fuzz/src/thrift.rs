//! Thrift: a connection's bytes through the servers' own reader (`MessageReader`: framing
//! detection, buffered and framed, the scanner, large values received apart), then each
//! message's arguments decoded by every served service, as `ThriftServer` does.

use std::sync::Arc;

use doris_thrift::services::{
    BackendServiceHandler, BackendServiceServer, FrontendServiceHandler, FrontendServiceServer, HeartbeatServiceHandler,
    HeartbeatServiceServer,
};
use doris_thrift::transport::framing::{Framing, MessageReader, RawMessage};
use doris_thrift::transport::{Service, DEFAULT_MAX_MESSAGE_BYTES};

use crate::stream::{runtime, Chunked};

/// Implements no method: decoding happens before a handler is called, and the calls are
/// never run.
struct Nothing;
impl BackendServiceHandler for Nothing {}
impl HeartbeatServiceHandler for Nothing {}
impl FrontendServiceHandler for Nothing {}

/// Input: a mode byte (low nibble: chunk size, see `Chunked`; bits 4-5: framing known in
/// advance as a client knows it, or detected as a server does), then the connection's bytes.
pub fn run(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let framing = match (mode >> 4) & 3 {
        1 => Some(Framing::Buffered),
        2 => Some(Framing::Framed),
        _ => None,
    };
    let services: [Box<dyn Service>; 3] = [
        Box::new(BackendServiceServer(Arc::new(Nothing))),
        Box::new(HeartbeatServiceServer(Arc::new(Nothing))),
        Box::new(FrontendServiceServer(Arc::new(Nothing))),
    ];
    runtime().block_on(async {
        let mut conn = Chunked::new(bytes, mode);
        let mut reader = MessageReader::new(framing, DEFAULT_MAX_MESSAGE_BYTES);
        // Pipelined calls: every message on the connection, as a server reads them.
        while let Ok(Some(msg)) = reader.read(&mut conn).await {
            decode(&services, msg);
        }
    });
}

fn decode(services: &[Box<dyn Service>], msg: RawMessage) {
    for s in services {
        let mut m = msg.clone();
        // The decoded call (a future holding the arguments) is dropped unrun.
        let _ = s.decode(&msg.name, m.input());
    }
}
