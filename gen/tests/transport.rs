//! Our client against our server over real loopback sockets.

use std::sync::Arc;

use doris_thrift::agent_service::{TAgentResult, TSnapshotRequest};
use doris_thrift::heartbeat_service::{TBackendInfo, THeartbeatResult, TMasterInfo};
use doris_thrift::services::{
    BackendServiceClient, BackendServiceHandler, BackendServiceServer, HeartbeatServiceClient, HeartbeatServiceHandler,
    HeartbeatServiceServer,
};
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::{ClientOptions, ClientPool, Framing, ServerOptions, ThriftServer};
use doris_thrift::types::TNetworkAddress;

struct Echo;

#[async_trait::async_trait]
impl HeartbeatServiceHandler for Echo {
    async fn heartbeat(&self, m: TMasterInfo) -> Result<THeartbeatResult, thrift::ApplicationError> {
        if m.epoch == 666 {
            panic!("handler blew up");
        }
        Ok(THeartbeatResult {
            status: TStatus { status_code: TStatusCode::OK, error_msgs: Some(vec![m.token.unwrap_or_default()]) },
            backend_info: TBackendInfo::new(
                m.cluster_id,
                m.epoch as i32,
                None,
                None,
                m.network_address.hostname,
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

fn master(epoch: i64) -> TMasterInfo {
    let fe = TNetworkAddress { hostname: "fe-host".into(), port: 9020 };
    TMasterInfo::new(fe, 42, epoch, "tok".to_string(), None, None, None, None, None, None, None, None)
}

/// The bytes of a buffered heartbeat call, for peers that write by hand.
fn heartbeat_call(m: &TMasterInfo) -> Vec<u8> {
    doris_thrift::transport::framing::encode_message(
        Framing::Buffered,
        true,
        "heartbeat",
        thrift::protocol::TMessageType::Call,
        1,
        |o| {
            use thrift::protocol::{TFieldIdentifier, TStructIdentifier, TType};
            o.write_struct_begin(&TStructIdentifier::new("args"))?;
            o.write_field_begin(&TFieldIdentifier::new("master_info", TType::Struct, 1))?;
            doris_thrift::transport::Wire::write(m, o)?;
            o.write_field_end()?;
            o.write_field_stop()?;
            o.write_struct_end()
        },
    )
    .unwrap()
}

async fn server() -> ThriftServer {
    let svc = Arc::new(HeartbeatServiceServer(Arc::new(Echo)));
    ThriftServer::bind("127.0.0.1:0", svc, ServerOptions::default()).await.unwrap()
}

#[tokio::test]
async fn buffered_and_framed_calls_on_one_port() {
    let srv = server().await;
    let pool = ClientPool::new();
    for framing in [Framing::Buffered, Framing::Framed] {
        let opts = ClientOptions { framing, ..Default::default() };
        let client = HeartbeatServiceClient::new(pool.channel(srv.local_addr().to_string(), opts));
        for epoch in 1..4 {
            let r = client.heartbeat(&master(epoch)).await.unwrap();
            assert_eq!(r.status.status_code, TStatusCode::OK);
            assert_eq!(r.status.error_msgs, Some(vec!["tok".to_string()]));
            assert_eq!(r.backend_info.be_port, 42);
            assert_eq!(r.backend_info.http_port, epoch as i32);
            assert_eq!(r.backend_info.version.as_deref(), Some("fe-host"));
        }
    }
    // Both framings reused one pooled connection each for their sequential calls.
    assert_eq!(pool.idle_count(&srv.local_addr().to_string()), 2);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_panicking_handler_becomes_internal_error_and_the_server_lives() {
    let srv = server().await;
    let pool = ClientPool::new();
    let client = HeartbeatServiceClient::new(pool.channel(srv.local_addr().to_string(), ClientOptions::default()));
    let err = client.heartbeat(&master(666)).await.unwrap_err();
    match err {
        doris_thrift::transport::RpcError::Application { kind, .. } => {
            assert_eq!(kind, thrift::ApplicationErrorKind::InternalError)
        }
        other => panic!("expected an application exception, got {other}"),
    }
    assert_eq!(client.heartbeat(&master(7)).await.unwrap().backend_info.http_port, 7);
    srv.shutdown().await;
}

/// A BackendService handler implementing release_snapshot only.
struct Releaser;

#[async_trait::async_trait]
impl BackendServiceHandler for Releaser {
    async fn release_snapshot(&self, p: String) -> Result<TAgentResult, thrift::ApplicationError> {
        let ok = TStatus { status_code: TStatusCode::OK, error_msgs: None };
        Ok(TAgentResult::new(ok, Some(format!("released:{p}")), None, None))
    }
}

/// A method the handler leaves out answers a TApplicationException UNKNOWN_METHOD naming
/// it, in both framings, and the connection goes on serving the method it has.
#[tokio::test]
async fn methods_a_handler_leaves_out_answer_unknown_method() {
    let svc = Arc::new(BackendServiceServer(Arc::new(Releaser)));
    let srv = ThriftServer::bind("127.0.0.1:0", svc, ServerOptions::default()).await.unwrap();
    let pool = ClientPool::new();
    for framing in [Framing::Buffered, Framing::Framed] {
        let opts = ClientOptions { framing, ..Default::default() };
        let client = BackendServiceClient::new(pool.channel(srv.local_addr().to_string(), opts));
        let req = TSnapshotRequest::new(1, 0, None, None, None, None, None, None, None, None, None, None, None, None);
        match client.make_snapshot(&req).await.unwrap_err() {
            doris_thrift::transport::RpcError::Application { kind, message, .. } => {
                assert_eq!(kind, thrift::ApplicationErrorKind::UnknownMethod);
                assert_eq!(message, "BackendService.make_snapshot is not implemented");
            }
            other => panic!("expected an application exception, got {other}"),
        }
        match client.get_tablet_stat().await.unwrap_err() {
            doris_thrift::transport::RpcError::Application { kind, message, .. } => {
                assert_eq!(kind, thrift::ApplicationErrorKind::UnknownMethod);
                assert_eq!(message, "BackendService.get_tablet_stat is not implemented");
            }
            other => panic!("expected an application exception, got {other}"),
        }
        let r = client.release_snapshot(&"/snap/1".to_string()).await.unwrap();
        assert_eq!(r.snapshot_path.as_deref(), Some("released:/snap/1"));
    }
    // The exceptions cost no connection: one pooled connection per framing.
    assert_eq!(pool.idle_count(&srv.local_addr().to_string()), 2);
    srv.shutdown().await;
}

/// A token of `n` bytes that differs from call to call.
fn big_token(n: usize, salt: u8) -> String {
    (0..n).map(|i| (b'a' + ((i as u64 * 7 + salt as u64) % 26) as u8) as char).collect()
}

/// Replies above the streaming threshold go out in chunks as they are encoded: in both
/// framings they arrive whole and exact (the frame length counts the streamed body), calls
/// on the same connection before and after still work, and a peer that leaves in the middle
/// of one costs only its own connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_replies_stream_whole_in_both_framings() {
    use doris_thrift::transport::server::STREAM_ABOVE;
    use tokio::io::AsyncWriteExt;

    let srv = server().await;
    let pool = ClientPool::new();
    for framing in [Framing::Buffered, Framing::Framed] {
        let opts = ClientOptions { framing, ..Default::default() };
        let client = HeartbeatServiceClient::new(pool.channel(srv.local_addr().to_string(), opts));
        for (salt, n) in [(1u8, STREAM_ABOVE + 1), (2, 3 * STREAM_ABOVE + 12_345), (3, 10)] {
            let mut m = master(salt as i64);
            m.token = Some(big_token(n, salt));
            let r = client.heartbeat(&m).await.unwrap();
            let echoed = r.status.error_msgs.unwrap().remove(0);
            assert_eq!(echoed.len(), n);
            assert!(Some(&echoed) == m.token.as_ref(), "{framing:?}: the {n}-byte token came back changed");
            assert_eq!(r.backend_info.be_port, 42);
        }
    }

    // A peer sends a call with a big reply, then closes without reading it.
    let mut m = master(9);
    m.token = Some(big_token(8 * STREAM_ABOVE, 9));
    let call = heartbeat_call(&m);
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(srv.local_addr()).await.unwrap();
        s.write_all(&call).await.unwrap();
        drop(s);
    }
    let client = HeartbeatServiceClient::new(pool.channel(srv.local_addr().to_string(), ClientOptions::default()));
    let r = client.heartbeat(&master(4)).await.unwrap();
    assert_eq!(r.status.error_msgs, Some(vec!["tok".to_string()]));
    srv.shutdown().await;
}

/// A peer that stops in the middle of a call, or never reads its (streamed) reply, loses
/// its connection after the stall timeout: it holds no task or encoder thread for good, the
/// server goes on serving others, and a shutdown, which waits for calls in flight, ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_peers_are_dropped_and_do_not_hold_shutdown() {
    use doris_thrift::transport::server::STREAM_ABOVE;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let svc = Arc::new(HeartbeatServiceServer(Arc::new(Echo)));
    let opts = ServerOptions { stall_timeout: std::time::Duration::from_millis(500), ..ServerOptions::default() };
    let srv = ThriftServer::bind("127.0.0.1:0", svc, opts).await.unwrap();
    // A: a call whose 64 MiB reply (far beyond the socket buffers) it never reads.
    let mut m = master(1);
    m.token = Some(big_token(16 * STREAM_ABOVE, 1));
    let mut a = tokio::net::TcpStream::connect(srv.local_addr()).await.unwrap();
    a.write_all(&heartbeat_call(&m)).await.unwrap();
    // B: half a call.
    let half = heartbeat_call(&master(2));
    let mut b = tokio::net::TcpStream::connect(srv.local_addr()).await.unwrap();
    b.write_all(&half[..half.len() / 2]).await.unwrap();
    // C: an idle pooled connection, then a call on it after the stall timeout: idle is fine.
    let pool = ClientPool::new();
    let c = HeartbeatServiceClient::new(pool.channel(srv.local_addr().to_string(), ClientOptions::default()));
    assert_eq!(c.heartbeat(&master(3)).await.unwrap().status.error_msgs, Some(vec!["tok".to_string()]));

    // B's connection is closed: its read ends (EOF or reset) instead of waiting forever.
    let mut buf = vec![0u8; 1 << 16];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(30), b.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the stalled half call is dropped: {closed:?}");
    // A's reply stops short of its 64 MiB: the server gave up on it.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let mut got = 0usize;
    let drained = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            match a.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got += n,
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "A's connection is closed");
    assert!(got < 16 * STREAM_ABOVE, "A received {got} bytes: the whole reply, which it never read in time");
    assert_eq!(c.heartbeat(&master(4)).await.unwrap().status.error_msgs, Some(vec!["tok".to_string()]));
    tokio::time::timeout(std::time::Duration::from_secs(30), srv.shutdown())
        .await
        .expect("shutdown ends");
}
