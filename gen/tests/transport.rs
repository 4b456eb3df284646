//! Our client against our server over real loopback sockets.

use std::sync::Arc;

use doris_thrift::heartbeat_service::{TBackendInfo, THeartbeatResult, TMasterInfo};
use doris_thrift::services::{HeartbeatServiceClient, HeartbeatServiceHandler, HeartbeatServiceServer};
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
