//! Large messages: how much memory one costs our server and our client, measured with a
//! counting allocator over real loopback sockets, and how large values received apart
//! behave (pipelined, not UTF-8, cut short, in a frame that does not hold them).
//!
//! Counting is per thread: the side under test runs on the test thread (a current-thread
//! runtime), the other side on a thread of its own, so only the measured side's
//! allocations count. Capacity is counted, not touched pages: stricter than RSS.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::sync::Arc;

use thrift::protocol::{TFieldIdentifier, TMessageType, TStructIdentifier, TType};

use super::framing::{encode_message, Framing, MessageReader, DETACH_MIN};
use super::wire::read_result;
use super::{ClientOptions, ClientPool, ServerOptions, ThriftServer};
use crate::agent_service::{TAgentResult, TSnapshotRequest};
use crate::services::{BackendServiceClient, BackendServiceHandler, BackendServiceServer};
use crate::status::{TStatus, TStatusCode};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get() + n;
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            add(l.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            add(l.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        add(-(l.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            add(new as isize - l.size() as isize);
        }
        q
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Start measuring on this thread: the live bytes now.
fn reset_peak() -> isize {
    let live = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(live));
    live
}

fn peak_since(base: isize) -> usize {
    (PEAK.with(Cell::get) - base).max(0) as usize
}

const PAYLOAD: usize = 32 << 20;
const MIB: f64 = (1 << 20) as f64;

struct Agent;

fn result(path: String) -> TAgentResult {
    TAgentResult {
        status: TStatus { status_code: TStatusCode::OK, error_msgs: None },
        snapshot_path: Some(path),
        allow_incremental_clone: None,
        snapshot_version: None,
    }
}

#[async_trait::async_trait]
impl BackendServiceHandler for Agent {
    /// A reply of `tablet_id` bytes.
    async fn make_snapshot(&self, r: TSnapshotRequest) -> Result<TAgentResult, thrift::ApplicationError> {
        Ok(result("s".repeat(r.tablet_id as usize)))
    }
    /// What arrived, summed up: its length and a checksum of its bytes.
    async fn release_snapshot(&self, p: String) -> Result<TAgentResult, thrift::ApplicationError> {
        let sum: u64 = p.bytes().map(u64::from).sum();
        Ok(result(format!("{}:{sum}", p.len())))
    }
}

/// A release_snapshot call carrying a path of `n` bytes, and the answer it must get.
fn release_call(framing: Framing, strict: bool, n: usize) -> (Vec<u8>, String) {
    let path: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let sum: u64 = path.bytes().map(u64::from).sum();
    let msg = encode_message(framing, strict, "release_snapshot", TMessageType::Call, 7, |o| {
        o.write_struct_begin(&TStructIdentifier::new("args"))?;
        o.write_field_begin(&TFieldIdentifier::new("snapshot_path", TType::String, 1))?;
        o.write_string(&path)?;
        o.write_field_end()?;
        o.write_field_stop()?;
        o.write_struct_end()
    })
    .unwrap();
    (msg, format!("{n}:{sum}"))
}

/// Send `msg` from a thread of its own (so its bytes are not counted here) and read
/// one reply message back there; the reply's snapshot_path.
fn send_from_another_thread(addr: std::net::SocketAddr, framing: Framing, msg: Vec<u8>) -> tokio::sync::oneshot::Receiver<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(&msg).unwrap();
        drop(msg);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let path = rt.block_on(async move {
            s.set_nonblocking(true).unwrap();
            let mut s = tokio::net::TcpStream::from_std(s).unwrap();
            let mut m = MessageReader::new(Some(framing), 1 << 30).read(&mut s).await.unwrap().unwrap();
            let r: TAgentResult = read_result(&mut m.input()).unwrap().unwrap();
            r.snapshot_path.unwrap()
        });
        let _ = tx.send(path);
    });
    rx
}

#[tokio::test]
async fn a_large_request_costs_the_server_about_its_size() {
    let srv = ThriftServer::bind("127.0.0.1:0", Arc::new(BackendServiceServer(Arc::new(Agent))), ServerOptions::default())
        .await
        .unwrap();
    for (framing, strict, most) in [
        (Framing::Buffered, true, 1.25),
        (Framing::Buffered, false, 1.25),
        (Framing::Framed, true, 1.25),
        (Framing::Framed, false, 1.25),
    ] {
        let (msg, want) = release_call(framing, strict, PAYLOAD);
        let base = reset_peak();
        let got = send_from_another_thread(srv.local_addr(), framing, msg).await.unwrap();
        let peak = peak_since(base);
        assert_eq!(got, want);
        let ratio = peak as f64 / PAYLOAD as f64;
        eprintln!("server, {framing:?} strict={strict}: peak {:.1} MiB for a {:.0} MiB request ({ratio:.2}x)", peak as f64 / MIB, PAYLOAD as f64 / MIB);
        assert!(ratio <= most, "{framing:?}: the server peaked at {ratio:.2}x the request ({peak} bytes)");
    }
    srv.shutdown().await;
}

/// Our client receiving a large reply: about the reply's size.
#[tokio::test]
async fn a_large_reply_costs_the_client_about_its_size() {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let srv = ThriftServer::bind(
                "127.0.0.1:0",
                Arc::new(BackendServiceServer(Arc::new(Agent))),
                ServerOptions::default(),
            )
            .await
            .unwrap();
            addr_tx.send(srv.local_addr()).unwrap();
            let _ = stop_rx.await;
            srv.shutdown().await;
        });
    });
    let addr = addr_rx.recv().unwrap().to_string();
    for (framing, most) in [(Framing::Buffered, 1.25), (Framing::Framed, 1.25)] {
        let pool = ClientPool::new();
        let c = BackendServiceClient::new(pool.channel(addr.clone(), ClientOptions { framing, ..Default::default() }));
        let req = TSnapshotRequest::new(PAYLOAD as i64, 0, None, None, None, None, None, None, None, None, None, None, None, None);
        // Connected and warmed up first: the measured call moves the payload alone.
        c.make_snapshot(&TSnapshotRequest { tablet_id: 0, ..req.clone() }).await.unwrap();
        let base = reset_peak();
        let r = c.make_snapshot(&req).await.unwrap();
        let peak = peak_since(base);
        let path = r.snapshot_path.unwrap();
        assert_eq!(path.len(), PAYLOAD);
        assert!(path.bytes().all(|b| b == b's'));
        drop(path);
        let ratio = peak as f64 / PAYLOAD as f64;
        eprintln!("client, {framing:?}: peak {:.1} MiB for a {:.0} MiB reply ({ratio:.2}x)", peak as f64 / MIB, PAYLOAD as f64 / MIB);
        assert!(ratio <= most, "{framing:?}: the client peaked at {ratio:.2}x the reply ({peak} bytes)");
    }
    let _ = stop_tx.send(());
    server.join().unwrap();
}

/// The server's reader after a large message: it holds no large buffer while idle.
#[tokio::test]
async fn an_idle_connection_keeps_no_large_buffer() {
    let (msg, _) = release_call(Framing::Buffered, true, PAYLOAD);
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let writer = std::thread::spawn(move || {
        a.write_all(&msg).unwrap();
        let mut rest = Vec::new();
        let _ = a.read_to_end(&mut rest);
    });
    b.set_nonblocking(true).unwrap();
    let mut b = tokio::net::UnixStream::from_std(b).unwrap();
    let base = reset_peak();
    let mut reader = MessageReader::new(None, 1 << 30);
    let m = reader.read(&mut b).await.unwrap().unwrap();
    assert_eq!(m.name, "release_snapshot");
    drop(m);
    let live_after = LIVE.with(Cell::get) - base;
    assert!(live_after < (1 << 20), "the reader kept {live_after} bytes after the message was dropped");
    drop(reader);
    drop(b);
    writer.join().unwrap();
}

/// A call message of release_snapshot whose path argument is `path`, raw bytes.
fn release_call_bytes(seq: i32, path: &[u8]) -> Vec<u8> {
    release_call_framed(Framing::Buffered, seq, path)
}

fn release_call_framed(framing: Framing, seq: i32, path: &[u8]) -> Vec<u8> {
    encode_message(framing, true, "release_snapshot", TMessageType::Call, seq, |o| {
        o.write_struct_begin(&TStructIdentifier::new("args"))?;
        o.write_field_begin(&TFieldIdentifier::new("snapshot_path", TType::String, 1))?;
        o.write_bytes(path)?;
        o.write_field_end()?;
        o.write_field_stop()?;
        o.write_struct_end()
    })
    .unwrap()
}

fn summary(path: &[u8]) -> String {
    format!("{}:{}", path.len(), path.iter().map(|b| u64::from(*b)).sum::<u64>())
}

async fn agent_server() -> ThriftServer {
    ThriftServer::bind("127.0.0.1:0", Arc::new(BackendServiceServer(Arc::new(Agent))), ServerOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn pipelined_calls_with_large_values_are_answered_in_order() {
    for framing in [Framing::Buffered, Framing::Framed] {
        pipelined_calls(framing).await;
    }
}

async fn pipelined_calls(framing: Framing) {
    use tokio::io::AsyncWriteExt;
    let srv = agent_server().await;
    let paths: Vec<Vec<u8>> = [DETACH_MIN * 4 + 3, 17, DETACH_MIN, DETACH_MIN - 1, DETACH_MIN - 40]
        .iter()
        .map(|n| (0..*n).map(|i| b'a' + (i % 26) as u8).collect())
        .collect();
    let mut batch = Vec::new();
    for (seq, p) in paths.iter().enumerate() {
        batch.extend(release_call_framed(framing, seq as i32, p));
    }
    let mut s = tokio::net::TcpStream::connect(srv.local_addr()).await.unwrap();
    let (mut rd, mut wr) = s.split();
    let send = async {
        wr.write_all(&batch).await.unwrap();
    };
    let receive = async {
        let mut reader = MessageReader::new(Some(framing), 1 << 30);
        let mut got = Vec::new();
        for _ in &paths {
            let mut m = reader.read(&mut rd).await.unwrap().unwrap();
            let r: TAgentResult = read_result(&mut m.input()).unwrap().unwrap();
            got.push((m.seq, r.snapshot_path.unwrap()));
        }
        got
    };
    let ((), got) = tokio::join!(send, receive);
    let want: Vec<(i32, String)> = paths.iter().enumerate().map(|(i, p)| (i as i32, summary(p))).collect();
    assert_eq!(got, want);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_large_string_that_is_not_utf8_is_refused_and_the_connection_lives() {
    use super::framing::write_all;
    let srv = agent_server().await;
    let mut s = tokio::net::TcpStream::connect(srv.local_addr()).await.unwrap();
    let mut bad = vec![b'x'; DETACH_MIN * 2];
    bad[DETACH_MIN] = 0xff;
    let (mut rd, mut wr) = s.split();
    let mut reader = MessageReader::new(Some(Framing::Buffered), 1 << 30);
    let call = release_call_bytes(1, &bad);
    let (_, reply) = tokio::join!(write_all(&mut wr, &call), reader.read(&mut rd));
    let mut m = reply.unwrap().unwrap();
    assert_eq!((m.mtype, m.seq), (TMessageType::Exception, 1));
    let e = thrift::Error::read_application_error_from_in_protocol(&mut m.input()).unwrap();
    assert_eq!(e.kind, thrift::ApplicationErrorKind::ProtocolError, "{}", e.message);
    assert!(e.message.contains("UTF-8"), "{}", e.message);
    // The same connection still serves a large call.
    let good = vec![b'y'; DETACH_MIN * 2];
    let call = release_call_bytes(2, &good);
    let (_, reply) = tokio::join!(write_all(&mut wr, &call), reader.read(&mut rd));
    let mut m = reply.unwrap().unwrap();
    let r: TAgentResult = read_result(&mut m.input()).unwrap().unwrap();
    assert_eq!(r.snapshot_path.unwrap(), summary(&good));
    srv.shutdown().await;
}

#[tokio::test]
async fn a_connection_closed_inside_a_large_value_is_dropped_and_the_server_lives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let srv = agent_server().await;
    let path = vec![b'z'; DETACH_MIN * 3];
    let whole = release_call_bytes(1, &path);
    let mut s = tokio::net::TcpStream::connect(srv.local_addr()).await.unwrap();
    s.write_all(&whole[..whole.len() / 2]).await.unwrap();
    s.shutdown().await.unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "nothing to answer for half a message");
    let c = BackendServiceClient::new(ClientPool::new().channel(srv.local_addr().to_string(), ClientOptions::default()));
    assert_eq!(c.release_snapshot(&String::from_utf8(path.clone()).unwrap()).await.unwrap().snapshot_path.unwrap(), summary(&path));
    srv.shutdown().await;
}

/// A large frame must hold exactly one message: one that ends early or runs past the frame
/// is refused (the connection closed with a PROTOCOL_ERROR), and the server lives.
#[tokio::test]
async fn a_large_frame_that_does_not_hold_exactly_its_message_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let srv = agent_server().await;
    let path = vec![b'f'; DETACH_MIN * 2];
    let call = release_call_framed(Framing::Framed, 1, &path);
    let len = call.len() - 4;
    for (frame_len, why) in [(len + 5, "holds a message of"), (len - 5, "overruns its frame")] {
        let mut bytes = (frame_len as i32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&call[4..]);
        bytes.resize(4 + frame_len, 0);
        let mut s = tokio::net::TcpStream::connect(srv.local_addr()).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let mut reader = MessageReader::new(Some(Framing::Framed), 1 << 20);
        let mut m = reader.read(&mut &out[..]).await.unwrap().unwrap();
        assert_eq!(m.mtype, TMessageType::Exception);
        let e = thrift::Error::read_application_error_from_in_protocol(&mut m.input()).unwrap();
        assert_eq!(e.kind, thrift::ApplicationErrorKind::ProtocolError);
        assert!(e.message.contains(why), "{}", e.message);
    }
    let c = BackendServiceClient::new(ClientPool::new().channel(
        srv.local_addr().to_string(),
        ClientOptions { framing: Framing::Framed, ..Default::default() },
    ));
    let r = c.release_snapshot(&String::from_utf8(path.clone()).unwrap()).await.unwrap();
    assert_eq!(r.snapshot_path.unwrap(), summary(&path));
    srv.shutdown().await;
}

/// A length prefix claiming a value of 1 GiB (under the 2 GiB limit), followed by a few
/// bytes and the end of the stream, costs the reader about what arrived, not what was
/// claimed: the value's buffer grows as its bytes come.
#[tokio::test]
async fn a_claimed_large_value_costs_only_what_arrived() {
    const CLAIMED: usize = 1 << 30;
    let path = vec![b'p'; 1000];
    for framing in [Framing::Buffered, Framing::Framed] {
        let mut msg = release_call_framed(framing, 1, &path);
        let at = msg.windows(path.len()).position(|w| w == path).unwrap();
        msg[at - 4..at].copy_from_slice(&(CLAIMED as i32).to_be_bytes());
        if framing == Framing::Framed {
            let frame = msg.len() - 4 - path.len() + CLAIMED;
            msg[..4].copy_from_slice(&(frame as i32).to_be_bytes());
        }
        msg.truncate(at + path.len());
        let base = reset_peak();
        let mut reader = MessageReader::new(None, super::DEFAULT_MAX_MESSAGE_BYTES);
        let r = reader.read(&mut &msg[..]).await;
        let peak = peak_since(base);
        assert!(matches!(r, Err(super::FrameError::Truncated)), "{framing:?}: {r:?}");
        assert!(peak < 2 * DETACH_MIN, "{framing:?}: {peak} bytes for {} that arrived", msg.len());
    }
}
