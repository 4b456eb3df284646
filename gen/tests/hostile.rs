//! Hostile and unusual input against a real `ThriftServer` over loopback: raw bytes on
//! a tokio TcpStream, then a proof that the server still answers a fresh client.

use std::sync::Arc;
use std::time::Duration;

use doris_thrift::agent_service::{TAgentResult, TAgentServiceVersion, TAgentTaskRequest};
use doris_thrift::heartbeat_service::{TBackendInfo, THeartbeatResult, TMasterInfo};
use doris_thrift::services::{
    BackendServiceClient, BackendServiceHandler, BackendServiceServer, HeartbeatServiceClient, HeartbeatServiceHandler,
    HeartbeatServiceServer,
};
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::framing::{encode_message, MessageReader, RawMessage};
use doris_thrift::transport::wire::read_result;
use doris_thrift::transport::{ClientOptions, ClientPool, Framing, ServerOptions, SliceInput, ThriftServer};
use doris_thrift::types::{TNetworkAddress, TTaskType};
use doris_thrift::TSerializable;
use thrift::protocol::{TFieldIdentifier, TListIdentifier, TMessageType, TStructIdentifier, TType};
use thrift::ApplicationErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Guards against a hang only; no test asserts how long anything takes.
const HANG_GUARD: Duration = Duration::from_secs(30);

struct Agent;

fn ok_status() -> TStatus {
    TStatus { status_code: TStatusCode::OK, error_msgs: None }
}

fn agent_result(path: String) -> TAgentResult {
    TAgentResult {
        status: ok_status(),
        snapshot_path: Some(path),
        allow_incremental_clone: None,
        snapshot_version: None,
    }
}

#[async_trait::async_trait]
impl BackendServiceHandler for Agent {
    async fn submit_tasks(&self, tasks: Vec<TAgentTaskRequest>) -> Result<TAgentResult, thrift::ApplicationError> {
        let sigs: Vec<String> = tasks.iter().map(|t| t.signature.to_string()).collect();
        Ok(agent_result(format!("sigs:{}", sigs.join(","))))
    }
    async fn release_snapshot(&self, p: String) -> Result<TAgentResult, thrift::ApplicationError> {
        Ok(agent_result(format!("released:{p}")))
    }
}

async fn agent_server(opts: ServerOptions) -> ThriftServer {
    ThriftServer::bind("127.0.0.1:0", Arc::new(BackendServiceServer(Arc::new(Agent))), opts).await.unwrap()
}

fn task(sig: i64) -> TAgentTaskRequest {
    TAgentTaskRequest::new(
        TAgentServiceVersion::V1,
        TTaskType::MAKE_SNAPSHOT,
        sig,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    )
}

/// A submit_tasks call message carrying tasks with these signatures.
fn submit_tasks_msg(framing: Framing, strict: bool, seq: i32, sigs: &[i64]) -> Vec<u8> {
    encode_message(framing, strict, "submit_tasks", TMessageType::Call, seq, |o| {
        o.write_struct_begin(&TStructIdentifier::new("args"))?;
        o.write_field_begin(&TFieldIdentifier::new("tasks", TType::List, 1))?;
        o.write_list_begin(&TListIdentifier::new(TType::Struct, sigs.len() as i32))?;
        for s in sigs {
            task(*s).write_to_out_protocol(o)?;
        }
        o.write_list_end()?;
        o.write_field_end()?;
        o.write_field_stop()?;
        o.write_struct_end()
    })
    .unwrap()
}

/// A call message whose args struct is `body`, raw.
fn raw_call(framing: Framing, name: &str, seq: i32, body: &[u8]) -> Vec<u8> {
    let mut m = (0x8001_0000u32 | 1).to_be_bytes().to_vec();
    m.extend_from_slice(&(name.len() as i32).to_be_bytes());
    m.extend_from_slice(name.as_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(body);
    match framing {
        Framing::Buffered => m,
        Framing::Framed => {
            let mut f = (m.len() as i32).to_be_bytes().to_vec();
            f.extend_from_slice(&m);
            f
        }
    }
}

async fn connect(srv: &ThriftServer) -> TcpStream {
    TcpStream::connect(srv.local_addr()).await.unwrap()
}

async fn read_msg(stream: &mut TcpStream, framing: Framing) -> RawMessage {
    let mut reader = MessageReader::new(Some(framing), 64 << 20);
    tokio::time::timeout(HANG_GUARD, reader.read(stream))
        .await
        .expect("no reply")
        .expect("reply readable")
        .expect("a reply, not a closed connection")
}

fn sigs_of(msg: &RawMessage) -> String {
    assert_eq!(msg.mtype, TMessageType::Reply, "expected a reply to {}", msg.name);
    let r: TAgentResult = read_result(&mut SliceInput::new(msg.body())).unwrap().expect("a success value");
    assert_eq!(r.status.status_code, TStatusCode::OK);
    r.snapshot_path.unwrap()
}

fn exception_of(msg: &RawMessage) -> thrift::ApplicationError {
    assert_eq!(msg.mtype, TMessageType::Exception, "expected an exception for {}", msg.name);
    thrift::Error::read_application_error_from_in_protocol(&mut SliceInput::new(msg.body())).unwrap()
}

/// Read until the server closes; the bytes it sent before closing.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(HANG_GUARD, stream.read(&mut buf))
            .await
            .expect("the server kept the connection open")
        {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A reset also ends the connection; what arrived before it still counts.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

/// The server must answer with one PROTOCOL_ERROR exception and close the connection.
async fn expect_refused(stream: &mut TcpStream, framing: Framing) -> String {
    let bytes = read_until_closed(stream).await;
    assert!(!bytes.is_empty(), "the server closed without saying why");
    let mut reader = MessageReader::new(Some(framing), 1 << 20);
    let mut slice = &bytes[..];
    let msg = reader.read(&mut slice).await.unwrap().unwrap();
    assert!(slice.is_empty() && reader.is_idle(), "more than one message before the close");
    let e = exception_of(&msg);
    assert_eq!(e.kind, ApplicationErrorKind::ProtocolError, "{}", e.message);
    e.message
}

/// A fresh client still gets correct answers from the same server.
async fn assert_serves(srv: &ThriftServer) {
    for framing in [Framing::Buffered, Framing::Framed] {
        let pool = ClientPool::new();
        let opts = ClientOptions { framing, ..Default::default() };
        let c = BackendServiceClient::new(pool.channel(srv.local_addr().to_string(), opts));
        let r = c.submit_tasks(&vec![task(1), task(2)]).await.unwrap();
        assert_eq!(r.snapshot_path.as_deref(), Some("sigs:1,2"));
    }
}

#[tokio::test]
async fn truncated_frame_then_close() {
    let srv = agent_server(ServerOptions::default()).await;
    let whole = submit_tasks_msg(Framing::Framed, true, 1, &[5]);
    let mut s = connect(&srv).await;
    s.write_all(&whole[..whole.len() / 2]).await.unwrap();
    s.shutdown().await.unwrap();
    // Nothing to answer: the server just drops the half message and the connection.
    assert!(read_until_closed(&mut s).await.is_empty());
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn truncated_buffered_message_then_close() {
    let srv = agent_server(ServerOptions::default()).await;
    let whole = submit_tasks_msg(Framing::Buffered, true, 1, &[5, 6]);
    let mut s = connect(&srv).await;
    s.write_all(&whole[..whole.len() - 3]).await.unwrap();
    s.shutdown().await.unwrap();
    assert!(read_until_closed(&mut s).await.is_empty());
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn frame_length_near_4gib_is_refused() {
    let srv = agent_server(ServerOptions::default()).await;
    let mut s = connect(&srv).await;
    // Read as an i32 this is negative; no framing starts with a set high bit but 0x80 0x01.
    s.write_all(&0xFFFF_FFF0u32.to_be_bytes()).await.unwrap();
    // The write side stays open: the server must answer without waiting for a body.
    expect_refused(&mut s, Framing::Buffered).await;
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn frame_length_over_the_limit_is_refused_before_buffering() {
    let srv = agent_server(ServerOptions { max_message_bytes: 1 << 20, ..ServerOptions::default() }).await;
    for len in [0x7FFF_FFFFu32, 1 << 30, (1 << 20) + 1] {
        let mut s = connect(&srv).await;
        let mut head = len.to_be_bytes().to_vec();
        // The start of a strict call header, so the server knows it is framed.
        head.extend_from_slice(&[0x80, 0x01, 0x00, 0x01, 0, 0, 0, 12]);
        s.write_all(&head).await.unwrap();
        let why = expect_refused(&mut s, Framing::Framed).await;
        assert!(why.contains("exceeds the limit"), "{why}");
    }
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn buffered_string_of_2gib_is_refused_before_buffering() {
    // The default limit: even the largest message we take cannot hold this string.
    let srv = agent_server(ServerOptions::default()).await;
    let mut s = connect(&srv).await;
    let body = [11u8, 0, 1, 0x7f, 0xff, 0xff, 0xff, b'x'];
    s.write_all(&raw_call(Framing::Buffered, "release_snapshot", 1, &body)).await.unwrap();
    expect_refused(&mut s, Framing::Buffered).await;
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn negative_string_length_is_refused() {
    let srv = agent_server(ServerOptions::default()).await;
    let mut s = connect(&srv).await;
    let body = [11u8, 0, 1, 0xff, 0xff, 0xff, 0xfe];
    s.write_all(&raw_call(Framing::Buffered, "release_snapshot", 1, &body)).await.unwrap();
    expect_refused(&mut s, Framing::Buffered).await;
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn garbage_bytes_are_refused() {
    let srv = agent_server(ServerOptions::default()).await;
    let mut s = connect(&srv).await;
    s.write_all(&[0xFF; 64]).await.unwrap();
    expect_refused(&mut s, Framing::Buffered).await;
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_message_version_is_refused() {
    let srv = agent_server(ServerOptions::default()).await;
    let mut s = connect(&srv).await;
    let mut m = raw_call(Framing::Buffered, "release_snapshot", 1, &[0]);
    m[1] = 0x02; // version 0x8002
    s.write_all(&m).await.unwrap();
    expect_refused(&mut s, Framing::Buffered).await;
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_method_then_the_same_connection_works() {
    let srv = agent_server(ServerOptions::default()).await;
    for framing in [Framing::Buffered, Framing::Framed] {
        let mut s = connect(&srv).await;
        s.write_all(&raw_call(framing, "no_such_method", 41, &[0])).await.unwrap();
        let msg = read_msg(&mut s, framing).await;
        assert_eq!((msg.name.as_str(), msg.seq), ("no_such_method", 41));
        let e = exception_of(&msg);
        assert_eq!(e.kind, ApplicationErrorKind::UnknownMethod);
        assert!(e.message.contains("no_such_method"), "{}", e.message);

        s.write_all(&submit_tasks_msg(framing, true, 42, &[7, 8])).await.unwrap();
        let msg = read_msg(&mut s, framing).await;
        assert_eq!(msg.seq, 42);
        assert_eq!(sigs_of(&msg), "sigs:7,8");
    }
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn wrong_argument_type_is_a_protocol_error_and_the_connection_lives() {
    let srv = agent_server(ServerOptions::default()).await;
    for framing in [Framing::Buffered, Framing::Framed] {
        let mut s = connect(&srv).await;
        // Argument 1 of submit_tasks is a list; send an i32.
        let body = [8u8, 0, 1, 0, 0, 0, 5, 0];
        s.write_all(&raw_call(framing, "submit_tasks", 3, &body)).await.unwrap();
        let msg = read_msg(&mut s, framing).await;
        assert_eq!(msg.seq, 3);
        let e = exception_of(&msg);
        assert_eq!(e.kind, ApplicationErrorKind::ProtocolError, "{}", e.message);

        s.write_all(&submit_tasks_msg(framing, true, 4, &[9])).await.unwrap();
        assert_eq!(sigs_of(&read_msg(&mut s, framing).await), "sigs:9");
    }
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn list_claiming_2g_elements_in_a_small_framed_message() {
    let srv = agent_server(ServerOptions::default()).await;
    let mut s = connect(&srv).await;
    // list<struct> of 2^31-1 elements, then one empty struct and the end of the args.
    let body = [15u8, 0, 1, 12, 0x7f, 0xff, 0xff, 0xff, 0, 0];
    s.write_all(&raw_call(Framing::Framed, "submit_tasks", 5, &body)).await.unwrap();
    // The frame is whole, so the decoder sees the lie and refuses the call, not the connection.
    let msg = read_msg(&mut s, Framing::Framed).await;
    let e = exception_of(&msg);
    assert_eq!(e.kind, ApplicationErrorKind::ProtocolError, "{}", e.message);
    s.write_all(&submit_tasks_msg(Framing::Framed, true, 6, &[3])).await.unwrap();
    assert_eq!(sigs_of(&read_msg(&mut s, Framing::Framed).await), "sigs:3");
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn list_claiming_2g_elements_in_a_small_buffered_message() {
    let srv = agent_server(ServerOptions { max_message_bytes: 1 << 20, ..ServerOptions::default() }).await;
    let mut s = connect(&srv).await;
    let body = [15u8, 0, 1, 12, 0x7f, 0xff, 0xff, 0xff, 0, 0];
    s.write_all(&raw_call(Framing::Buffered, "submit_tasks", 5, &body)).await.unwrap();
    // Unframed, the elements could still be coming: refused by size before any arrive.
    expect_refused(&mut s, Framing::Buffered).await;
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn deep_nesting_is_refused() {
    let srv = agent_server(ServerOptions::default()).await;
    let mut s = connect(&srv).await;
    let mut body = Vec::new();
    for _ in 0..200 {
        body.extend_from_slice(&[12, 0, 1]);
    }
    s.write_all(&raw_call(Framing::Buffered, "submit_tasks", 5, &body)).await.unwrap();
    expect_refused(&mut s, Framing::Buffered).await;
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn non_strict_call_gets_a_non_strict_reply() {
    let srv = agent_server(ServerOptions::default()).await;
    for framing in [Framing::Buffered, Framing::Framed] {
        let mut s = connect(&srv).await;
        s.write_all(&submit_tasks_msg(framing, false, 77, &[1, 2, 3])).await.unwrap();
        let msg = read_msg(&mut s, framing).await;
        assert!(!msg.strict, "a non-strict caller may not read a versioned header");
        assert_eq!(msg.seq, 77);
        assert_eq!(sigs_of(&msg), "sigs:1,2,3");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn pipelined_calls_are_answered_in_order() {
    let srv = agent_server(ServerOptions::default()).await;
    for framing in [Framing::Buffered, Framing::Framed] {
        let mut s = connect(&srv).await;
        let mut batch = Vec::new();
        for seq in [11, 12, 13] {
            batch.extend(submit_tasks_msg(framing, true, seq, &[seq as i64, 100 + seq as i64]));
        }
        s.write_all(&batch).await.unwrap();
        let mut reader = MessageReader::new(Some(framing), 1 << 20);
        for seq in [11, 12, 13] {
            let msg = tokio::time::timeout(HANG_GUARD, reader.read(&mut s)).await.unwrap().unwrap().unwrap();
            assert_eq!(msg.seq, seq);
            assert_eq!(sigs_of(&msg), format!("sigs:{seq},{}", 100 + seq));
        }
    }
    srv.shutdown().await;
}

/// Holds every heartbeat until released, and says when one has arrived.
struct Gate {
    entered: Notify,
    release: Notify,
}

#[async_trait::async_trait]
impl HeartbeatServiceHandler for Gate {
    async fn heartbeat(&self, m: TMasterInfo) -> Result<THeartbeatResult, thrift::ApplicationError> {
        self.entered.notify_one();
        self.release.notified().await;
        Ok(THeartbeatResult {
            status: ok_status(),
            backend_info: TBackendInfo::new(
                m.cluster_id,
                m.epoch as i32,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ),
        })
    }
}

#[tokio::test]
async fn shutdown_lets_a_call_in_flight_finish() {
    let gate = Arc::new(Gate { entered: Notify::new(), release: Notify::new() });
    let srv =
        ThriftServer::bind("127.0.0.1:0", Arc::new(HeartbeatServiceServer(gate.clone())), ServerOptions::default())
            .await
            .unwrap();
    let addr = srv.local_addr();
    let client = HeartbeatServiceClient::new(ClientPool::new().channel(addr.to_string(), ClientOptions::default()));
    let master = TMasterInfo::new(
        TNetworkAddress { hostname: "fe".into(), port: 9020 },
        31,
        5,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    );
    let call = tokio::spawn(async move { client.heartbeat(&master).await });
    gate.entered.notified().await;
    let mut idle = TcpStream::connect(addr).await.unwrap();

    let shutdown = tokio::spawn(srv.shutdown());
    // Shutdown has begun once the idle connection is closed.
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(HANG_GUARD, idle.read(&mut b)).await.expect("idle connection closed").unwrap_or(0);
    assert_eq!(n, 0, "the server sent bytes on an idle connection");
    // The call in flight holds the server open.
    assert!(!shutdown.is_finished());

    gate.release.notify_one();
    let reply = tokio::time::timeout(HANG_GUARD, call).await.unwrap().unwrap().unwrap();
    assert_eq!((reply.backend_info.be_port, reply.backend_info.http_port), (31, 5));
    tokio::time::timeout(HANG_GUARD, shutdown).await.expect("shutdown finished").unwrap();
}

/// A release_snapshot call whose message is exactly `total` bytes (frame prefix excluded),
/// and the length of its path argument.
fn release_call_of_size(framing: Framing, total: usize) -> (Vec<u8>, usize) {
    let head = raw_call(Framing::Buffered, "release_snapshot", 1, &[]).len();
    // field header (3) + string length (4) + bytes + STOP (1)
    let n = total - head - 8;
    let mut body = vec![11u8, 0, 1];
    body.extend_from_slice(&(n as i32).to_be_bytes());
    body.extend(std::iter::repeat_n(b'p', n));
    body.push(0);
    let m = raw_call(framing, "release_snapshot", 1, &body);
    assert_eq!(m.len(), total + if framing == Framing::Framed { 4 } else { 0 });
    (m, n)
}

#[tokio::test]
async fn the_limit_is_the_message_size_in_both_framings() {
    const LIMIT: usize = 64 << 10;
    let srv = agent_server(ServerOptions { max_message_bytes: LIMIT, ..ServerOptions::default() }).await;
    for framing in [Framing::Buffered, Framing::Framed] {
        let mut s = connect(&srv).await;
        let (call, n) = release_call_of_size(framing, LIMIT);
        s.write_all(&call).await.unwrap();
        let reply = read_msg(&mut s, framing).await;
        assert_eq!(sigs_of(&reply), format!("released:{}", "p".repeat(n)));

        let mut s = connect(&srv).await;
        let (call, _) = release_call_of_size(framing, LIMIT + 1);
        // Framed: the length prefix alone decides, so send only the head (the rest would sit
        // unread and turn the server's close into a reset that can eat the exception).
        // Buffered: only the last byte breaks the limit, so the whole message must arrive,
        // in one piece: bytes already buffered must count too.
        let send = if framing == Framing::Framed { &call[..64] } else { &call[..] };
        s.write_all(send).await.unwrap();
        let why = expect_refused(&mut s, framing).await;
        assert!(why.contains("exceeds the limit"), "{why}");
    }
    assert_serves(&srv).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn a_message_arriving_byte_by_byte_is_answered() {
    let srv = agent_server(ServerOptions::default()).await;
    for framing in [Framing::Buffered, Framing::Framed] {
        let mut s = connect(&srv).await;
        s.set_nodelay(true).unwrap();
        for b in submit_tasks_msg(framing, true, 9, &[4, 5, 6]) {
            s.write_all(&[b]).await.unwrap();
            s.flush().await.unwrap();
        }
        assert_eq!(sigs_of(&read_msg(&mut s, framing).await), "sigs:4,5,6");
    }
    srv.shutdown().await;
}

/// A one-connection server that answers the first call with `reply(seq)` and then holds
/// the connection open until the client drops it.
async fn hostile_peer(reply: impl FnOnce(i32) -> Vec<u8> + Send + 'static) -> String {
    spawn_peer(reply, false).await
}

/// Like `hostile_peer`, but closes the connection right after the reply.
async fn hostile_peer_then_close(reply: impl FnOnce(i32) -> Vec<u8> + Send + 'static) -> String {
    spawn_peer(reply, true).await
}

async fn spawn_peer(reply: impl FnOnce(i32) -> Vec<u8> + Send + 'static, close: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let msg = MessageReader::new(Some(Framing::Framed), 1 << 20).read(&mut s).await.unwrap().unwrap();
        s.write_all(&reply(msg.seq)).await.unwrap();
        s.flush().await.unwrap();
        if close {
            s.shutdown().await.unwrap();
        }
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    });
    addr
}

async fn call_hostile(addr: String) -> doris_thrift::transport::RpcError {
    let opts = ClientOptions { framing: Framing::Framed, max_message_bytes: 1 << 20, ..Default::default() };
    let c = BackendServiceClient::new(ClientPool::new().channel(addr, opts));
    tokio::time::timeout(HANG_GUARD, c.release_snapshot(&"p".to_string())).await.unwrap().unwrap_err()
}

fn framed_reply(name: &str, mtype: TMessageType, seq: i32, body: &[u8]) -> Vec<u8> {
    let mut m = (0x8001_0000u32 | u8::from(mtype) as u32).to_be_bytes().to_vec();
    m.extend_from_slice(&(name.len() as i32).to_be_bytes());
    m.extend_from_slice(name.as_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(body);
    let mut f = (m.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(&m);
    f
}

#[tokio::test]
async fn client_refuses_a_huge_reply_frame() {
    use doris_thrift::transport::{FrameError, RpcError};
    let addr = hostile_peer(|_| 0x7FFF_FFF0u32.to_be_bytes().to_vec()).await;
    match call_hostile(addr).await {
        RpcError::Transport { source: FrameError::TooLarge { size, .. }, .. } => assert_eq!(size, 0x7FFF_FFF0),
        other => panic!("expected a refused frame, got {other}"),
    }
}

#[tokio::test]
async fn client_reports_a_reply_cut_short() {
    use doris_thrift::transport::{FrameError, RpcError};
    let addr = hostile_peer_then_close(|seq| {
        let mut r = framed_reply("release_snapshot", TMessageType::Reply, seq, &[12, 0, 0, 0]);
        r.truncate(r.len() - 2);
        r
    })
    .await;
    match call_hostile(addr).await {
        RpcError::Transport { source: FrameError::Truncated, .. } => {}
        other => panic!("expected a truncated reply, got {other}"),
    }
}

#[tokio::test]
async fn client_rejects_a_reply_with_the_wrong_seqid() {
    use doris_thrift::transport::RpcError;
    let addr = hostile_peer(|seq| {
        // A valid result struct (field 0: TAgentResult{status OK}), for another call.
        let body = [12u8, 0, 0, 12, 0, 1, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        framed_reply("release_snapshot", TMessageType::Reply, seq.wrapping_add(1), &body)
    })
    .await;
    match call_hostile(addr).await {
        RpcError::BadReply { message, .. } => assert!(message.contains("reply for"), "{message}"),
        other => panic!("expected a bad reply, got {other}"),
    }
}

#[tokio::test]
async fn client_reports_a_reply_without_a_result() {
    use doris_thrift::transport::RpcError;
    let addr = hostile_peer(|seq| framed_reply("release_snapshot", TMessageType::Reply, seq, &[0])).await;
    match call_hostile(addr).await {
        RpcError::Application { kind, .. } => assert_eq!(kind, ApplicationErrorKind::MissingResult),
        other => panic!("expected MISSING_RESULT, got {other}"),
    }
}

#[tokio::test]
async fn client_reports_a_peer_exception() {
    use doris_thrift::transport::RpcError;
    let addr = hostile_peer(|seq| {
        let mut body = vec![11u8, 0, 1, 0, 0, 0, 4];
        body.extend_from_slice(b"nope");
        body.extend_from_slice(&[8, 0, 2, 0, 0, 0, 6, 0]);
        framed_reply("release_snapshot", TMessageType::Exception, seq, &body)
    })
    .await;
    match call_hostile(addr).await {
        RpcError::Application { kind, message, .. } => {
            assert_eq!(kind, ApplicationErrorKind::InternalError);
            assert_eq!(message, "nope");
        }
        other => panic!("expected the peer's exception, got {other}"),
    }
}

#[test]
fn scanner_counts_bytes_that_arrived_in_one_piece() {
    use doris_thrift::transport::scan::{Progress, Scanner};
    use doris_thrift::transport::FrameError;
    const LIMIT: usize = 4096;
    let (exact, _) = release_call_of_size(Framing::Buffered, LIMIT);
    assert_eq!(Scanner::new(LIMIT).advance(&exact).unwrap(), Progress::Done(LIMIT));
    // Whole in the buffer, one byte too long: no byte is missing, yet it must be refused.
    let (over, _) = release_call_of_size(Framing::Buffered, LIMIT + 1);
    match Scanner::new(LIMIT).advance(&over) {
        Err(FrameError::TooLarge { size, limit }) => assert_eq!((size, limit), (LIMIT as u64 + 1, LIMIT as u64)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}
