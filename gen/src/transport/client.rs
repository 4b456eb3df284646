//! The thrift client: pooled connections per address, timeouts, framed or buffered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thrift::protocol::{TMessageType, TOutputProtocol};
use tokio::net::TcpStream;

use super::error::{describe, FrameError, RpcError};
use super::framing::{encode_message, write_all, Framing, MessageReader, RawMessage};
use super::server::DEFAULT_MAX_MESSAGE_BYTES;
use super::wire::{read_result, Wire};

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub framing: Framing,
    pub connect_timeout: Duration,
    /// Whole call: send the request and receive the reply.
    pub call_timeout: Duration,
    pub max_message_bytes: usize,
    /// Idle connections kept per address.
    pub max_idle: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        // Buffered is what the Java FE and the C++ BE speak to each other.
        ClientOptions {
            framing: Framing::Buffered,
            connect_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(60),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_idle: 16,
        }
    }
}

struct Conn {
    stream: TcpStream,
    reader: MessageReader,
}

/// Connections shared by every client made from it, keyed by address and framing (a
/// server fixes a connection's framing at its first message).
#[derive(Clone, Default)]
pub struct ClientPool {
    idle: Arc<Mutex<HashMap<(String, Framing), Vec<Conn>>>>,
    seq: Arc<AtomicI32>,
}

impl ClientPool {
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle for calls to one address.
    pub fn channel(&self, addr: impl Into<String>, opts: ClientOptions) -> Channel {
        Channel { addr: addr.into(), opts, pool: self.clone() }
    }

    fn take(&self, addr: &str, framing: Framing) -> Option<Conn> {
        self.idle.lock().unwrap().get_mut(&(addr.to_string(), framing)).and_then(Vec::pop)
    }

    fn put(&self, addr: &str, framing: Framing, conn: Conn, max_idle: usize) {
        let mut idle = self.idle.lock().unwrap();
        let v = idle.entry((addr.to_string(), framing)).or_default();
        if v.len() < max_idle {
            v.push(conn);
        }
    }

    /// Idle connections held for `addr`, over all framings.
    pub fn idle_count(&self, addr: &str) -> usize {
        self.idle.lock().unwrap().iter().filter(|((a, _), _)| a == addr).map(|(_, v)| v.len()).sum()
    }
}

/// Calls to one address through a pool.
#[derive(Clone)]
pub struct Channel {
    addr: String,
    opts: ClientOptions,
    pool: ClientPool,
}

enum Attempt {
    Done(Result<RawMessage, RpcError>),
    /// A reused connection failed before any reply byte: it was stale, try a fresh one.
    Stale,
}

impl Channel {
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Call `method` with the args struct that `args` writes; decode field 0 of the result.
    pub async fn call<R: Wire>(
        &self,
        method: &str,
        args: impl FnOnce(&mut dyn TOutputProtocol) -> thrift::Result<()>,
    ) -> Result<R, RpcError> {
        let seq = self.pool.seq.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        let request = encode_message(self.opts.framing, true, method, TMessageType::Call, seq, args)
            .map_err(|e| RpcError::BadReply { addr: self.addr.clone(), message: format!("cannot encode the call: {e}") })?;
        let ms = self.opts.call_timeout.as_millis() as u64;
        let call = async {
            if let Some(conn) = self.pool.take(&self.addr, self.opts.framing) {
                if let Attempt::Done(r) = self.exchange(conn, true, &request, method, seq).await {
                    return r;
                }
            }
            let conn = self.connect().await?;
            match self.exchange(conn, false, &request, method, seq).await {
                Attempt::Done(r) => r,
                Attempt::Stale => unreachable!("a fresh connection is never stale"),
            }
        };
        let reply = tokio::time::timeout(self.opts.call_timeout, call)
            .await
            .map_err(|_| RpcError::Timeout { addr: self.addr.clone(), what: "call", ms })??;
        self.decode(method, seq, reply)
    }

    async fn connect(&self) -> Result<Conn, RpcError> {
        let ms = self.opts.connect_timeout.as_millis() as u64;
        let stream = tokio::time::timeout(self.opts.connect_timeout, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| RpcError::Timeout { addr: self.addr.clone(), what: "connect", ms })?
            .map_err(|source| RpcError::Connect { addr: self.addr.clone(), source })?;
        let _ = stream.set_nodelay(true);
        Ok(Conn { stream, reader: MessageReader::new(Some(self.opts.framing), self.opts.max_message_bytes) })
    }

    /// Send one request and read its reply message (whole bytes, header included).
    async fn exchange(&self, mut conn: Conn, reused: bool, request: &[u8], method: &str, seq: i32) -> Attempt {
        let transport = |source: FrameError| RpcError::Transport { addr: self.addr.clone(), source };
        if let Err(e) = write_all(&mut conn.stream, request).await {
            return if reused { Attempt::Stale } else { Attempt::Done(Err(transport(e.into()))) };
        }
        match conn.reader.read(&mut conn.stream).await {
            Ok(Some(m)) => {
                if m.seq == seq && m.name == method {
                    self.pool.put(&self.addr, self.opts.framing, conn, self.opts.max_idle);
                }
                // The message as received: large values are decoded in place, not copied.
                Attempt::Done(Ok(m))
            }
            Ok(None) if reused => Attempt::Stale,
            Err(FrameError::Io(_)) if reused && conn.reader.is_idle() => Attempt::Stale,
            Ok(None) => Attempt::Done(Err(transport(FrameError::Truncated))),
            Err(e) => Attempt::Done(Err(transport(e))),
        }
    }

    fn decode<R: Wire>(&self, method: &str, seq: i32, mut reply: RawMessage) -> Result<R, RpcError> {
        let bad = |message: String| RpcError::BadReply { addr: self.addr.clone(), message };
        let (mtype, name, reply_seq) = (reply.mtype, std::mem::take(&mut reply.name), reply.seq);
        let mut i = reply.input();
        if mtype == TMessageType::Exception {
            let e = thrift::Error::read_application_error_from_in_protocol(&mut i).map_err(|e| bad(describe(&e)))?;
            return Err(RpcError::application(&self.addr, e));
        }
        if mtype != TMessageType::Reply {
            return Err(bad(format!("expected a reply, got {mtype:?}")));
        }
        if name != method || reply_seq != seq {
            return Err(bad(format!("reply for {name}#{reply_seq} to a call of {method}#{seq}")));
        }
        match read_result::<R>(&mut i).map_err(|e| bad(describe(&e)))? {
            Some(v) => Ok(v),
            None => Err(RpcError::application(
                &self.addr,
                thrift::ApplicationError::new(
                    thrift::ApplicationErrorKind::MissingResult,
                    format!("{method} failed: unknown result"),
                ),
            )),
        }
    }
}
