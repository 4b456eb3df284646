//! The thrift server: one tokio task per connection, calls answered in order.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use thrift::protocol::{TMessageType, TOutputProtocol};
use thrift::{ApplicationError, ApplicationErrorKind};
use tokio::io::AsyncWrite;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info_span, warn, Instrument};

use super::binary::SliceInput;
use super::error::FrameError;
use super::stall::Stall;
use super::framing::{
    body_len, encode_message, encode_message_into, message_head, write_all, Framing, MessageReader, RawMessage,
};
use super::wire::{write_result, Wire};

/// Upstream sends snapshot metas of hundreds of MiB in one message.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = i32::MAX as usize;

/// Replies larger than this are not encoded into one buffer but streamed to the socket in
/// chunks of [`STREAM_CHUNK`] bytes, encoded on a blocking thread: a 256 MiB snapshot meta
/// then costs no second 256 MiB buffer (its allocation, page faults and copy).
pub const STREAM_ABOVE: usize = 4 << 20;
const STREAM_CHUNK: usize = 1 << 20;
/// Chunks between the encoder and the socket.
const STREAM_CHUNKS_IN_FLIGHT: usize = 4;

/// The encoded-later result of a call. It can be encoded more than once: its size is
/// counted before it is written.
pub struct Reply(Arc<ReplyBody>);

type ReplyBody = dyn Fn(&mut dyn TOutputProtocol) -> thrift::Result<()> + Send + Sync;

impl Reply {
    /// A result struct carrying `value` as field 0.
    pub fn result<T: Wire + Send + Sync + 'static>(value: T) -> Self {
        Reply(Arc::new(move |o| write_result(&value, o)))
    }
}

/// A reply on its way out: whole, or its head now and its body streamed.
enum Outgoing {
    Whole(Vec<u8>),
    Streamed { head: Vec<u8>, body: Reply },
}

/// Why a call produced no result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("Invalid method name: '{0}'")]
    UnknownMethod(String),
    #[error("cannot decode the arguments: {0}")]
    BadArgs(String),
    #[error("{}", .0.message)]
    Handler(ApplicationError),
}

impl CallError {
    fn into_application_error(self) -> ApplicationError {
        let kind = match &self {
            CallError::UnknownMethod(_) => ApplicationErrorKind::UnknownMethod,
            CallError::BadArgs(_) => ApplicationErrorKind::ProtocolError,
            CallError::Handler(e) => return ApplicationError::new(e.kind, e.message.clone()),
        };
        ApplicationError::new(kind, self.to_string())
    }
}

/// A decoded call, ready to run: it owns its arguments and borrows nothing of the message.
pub type CallFuture = futures::future::BoxFuture<'static, Result<Reply, CallError>>;

/// A thrift service: dispatch by method name over the args struct.
pub trait Service: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Decode the args of `method`. Decoding and running are apart so that the server
    /// frees the received message before the handler runs: a large request is held once,
    /// as the handler's arguments, not also as bytes.
    fn decode(&self, method: &str, args: SliceInput<'_>) -> Result<CallFuture, CallError>;
}

/// How long a peer may send nothing in the middle of a message, or read nothing of a reply,
/// before its connection is closed.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest message accepted; checked before the message is buffered.
    pub max_message_bytes: usize,
    /// See [`DEFAULT_STALL_TIMEOUT`]. Idle connections between calls are never timed out.
    pub stall_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES, stall_timeout: DEFAULT_STALL_TIMEOUT }
    }
}

/// A running server. Dropping it leaves it running; `shutdown` stops it.
pub struct ThriftServer {
    local_addr: SocketAddr,
    stop: CancellationToken,
    tracker: TaskTracker,
    accept: JoinHandle<()>,
}

impl ThriftServer {
    pub async fn bind(addr: &str, service: Arc<dyn Service>, opts: ServerOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Self::serve(listener, service, opts)
    }

    pub fn serve(listener: TcpListener, service: Arc<dyn Service>, opts: ServerOptions) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        let accept = tokio::spawn(accept_loop(listener, service, opts, stop.clone(), tracker.clone()));
        Ok(ThriftServer { local_addr, stop, tracker, accept })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop accepting, let every call in flight finish and reply, then return.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.accept.await;
        self.tracker.close();
        self.tracker.wait().await;
    }
}

tokio::task_local! {
    /// The address of the client whose call a handler is serving.
    static PEER: SocketAddr;
}

/// The client address of the call being served (upstream FEs record it, e.g. as a
/// transaction's coordinator); None outside a handler.
pub fn peer() -> Option<SocketAddr> {
    PEER.try_with(|p| *p).ok()
}

async fn accept_loop(
    listener: TcpListener,
    service: Arc<dyn Service>,
    opts: ServerOptions,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(service = service.name(), error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let span = info_span!("conn", service = service.name(), %peer);
        let conn = PEER.scope(peer, connection(stream, service.clone(), opts.clone(), stop.clone()));
        tracker.spawn(conn.instrument(span));
    }
}

async fn connection(stream: TcpStream, service: Arc<dyn Service>, opts: ServerOptions, stop: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (mut rd, mut wr) = (Stall::reader(rd, opts.stall_timeout), Stall::writer(wr, opts.stall_timeout));
    let mut reader = MessageReader::new(None, opts.max_message_bytes);
    loop {
        let idle = reader.is_idle();
        rd.next_message(idle);
        let next = tokio::select! {
            biased;
            _ = stop.cancelled(), if idle => return,
            r = reader.read(&mut rd) => r,
        };
        let msg = match next {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                debug!(error = %e, "closing connection");
                refuse(&mut wr, reader.framing(), &e).await;
                return;
            }
        };
        let framing = reader.framing().expect("known after a message");
        let sent = match dispatch(&*service, msg, framing).await {
            None => Ok(()),
            Some(Outgoing::Whole(reply)) => write_all(&mut wr, &reply).await,
            Some(Outgoing::Streamed { head, body }) => write_streamed(&mut wr, &head, body).await,
        };
        if let Err(e) = sent {
            debug!(error = %e, "peer went away before the reply");
            return;
        }
    }
}

/// Best effort: tell the peer why its connection is being closed.
async fn refuse<W: AsyncWrite + Unpin>(wr: &mut W, framing: Option<Framing>, e: &FrameError) {
    let kind = match e {
        FrameError::TooLarge { .. } => ApplicationErrorKind::ProtocolError,
        FrameError::Malformed(_) => ApplicationErrorKind::ProtocolError,
        FrameError::Truncated | FrameError::Io(_) => return,
    };
    let err = ApplicationError::new(kind, e.to_string());
    if let Ok(bytes) = encode_message(framing.unwrap_or(Framing::Buffered), true, "", TMessageType::Exception, 0, |o| {
        thrift::Error::write_application_error_to_out_protocol(&err, o)
    }) {
        let _ = write_all(wr, &bytes).await;
    }
}

/// Write `head`, then the bytes `body` encodes to, as they are encoded (on a blocking
/// thread, at most a few chunks ahead of the socket). The body was encoded once already
/// (counted), so an error here is the connection's, and the connection is closed.
async fn write_streamed<W: AsyncWrite + Unpin>(wr: &mut W, head: &[u8], body: Reply) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    wr.write_all(head).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(STREAM_CHUNKS_IN_FLIGHT);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let encoder = tokio::task::spawn_blocking(move || {
        let mut sink = ChunkSink { tx, spare: back_rx, buf: Vec::with_capacity(STREAM_CHUNK) };
        {
            let mut o = thrift::protocol::TBinaryOutputProtocol::new(&mut sink, true);
            (body.0)(&mut o).map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        sink.send()
    });
    let mut written = Ok(());
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = wr.write_all(&chunk).await {
            written = Err(e);
            break;
        }
        // The encoder fills it again instead of faulting in a new one.
        let _ = back_tx.send(chunk);
    }
    // On a write error this stops the encoder at its next chunk.
    drop(rx);
    let encoded = encoder.await.unwrap_or_else(|_| Err(std::io::Error::other("the reply encoder panicked")));
    written?;
    encoded?;
    wr.flush().await
}

/// The encoder's side of a streamed reply: fills chunks and hands them to the writer.
struct ChunkSink {
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChunkSink {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = match self.spare.try_recv() {
            Ok(mut v) => {
                v.clear();
                v
            }
            Err(_) => Vec::with_capacity(STREAM_CHUNK),
        };
        let full = std::mem::replace(&mut self.buf, next);
        self.tx
            .blocking_send(full)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the connection is closed"))
    }
}

impl std::io::Write for ChunkSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = (STREAM_CHUNK - self.buf.len()).min(b.len());
        self.buf.extend_from_slice(&b[..n]);
        if self.buf.len() == STREAM_CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Run one call; its reply message, or None for a oneway call.
async fn dispatch(service: &dyn Service, mut msg: RawMessage, framing: Framing) -> Option<Outgoing> {
    let name = std::mem::take(&mut msg.name);
    let span = info_span!("rpc", method = %name, seq = msg.seq);
    let internal = |name: &str| {
        CallError::Handler(ApplicationError::new(
            ApplicationErrorKind::InternalError,
            format!("Internal error processing {name}"),
        ))
    };
    let outcome = match msg.mtype {
        TMessageType::Call | TMessageType::OneWay => {
            let decoded = {
                let _g = span.enter();
                let input = msg.input();
                std::panic::catch_unwind(AssertUnwindSafe(|| service.decode(&name, input)))
                    .unwrap_or_else(|_| Err(internal(&name)))
            };
            // The arguments own what they need: the message's bytes go before the handler runs.
            msg.bytes = bytes::Bytes::new();
            match decoded {
                Ok(call) => AssertUnwindSafe(call.instrument(span.clone()))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(internal(&name))),
                Err(e) => Err(e),
            }
        }
        other => Err(CallError::Handler(ApplicationError::new(
            ApplicationErrorKind::InvalidMessageType,
            format!("a server takes calls, not {other:?} messages"),
        ))),
    };
    if msg.mtype == TMessageType::OneWay {
        return None;
    }
    let encoded = match outcome {
        // Counted first: a reply that cannot be encoded fails here, before any byte is sent.
        Ok(reply) => match body_len(&*reply.0) {
            Ok(n) if n > STREAM_ABOVE => {
                let head = message_head(Vec::new(), framing, msg.strict, &name, TMessageType::Reply, msg.seq, n);
                return Some(Outgoing::Streamed { head, body: reply });
            }
            Ok(n) => encode_message_into(
                Vec::with_capacity(n + name.len() + 16),
                framing,
                msg.strict,
                &name,
                TMessageType::Reply,
                msg.seq,
                |o| (reply.0)(o),
            ),
            Err(e) => Err(e),
        },
        Err(e) => {
            let _g = span.enter();
            debug!(error = %e, "call failed");
            let err = e.into_application_error();
            encode_message(framing, msg.strict, &name, TMessageType::Exception, msg.seq, |o| {
                thrift::Error::write_application_error_to_out_protocol(&err, o)
            })
        }
    };
    match encoded {
        Ok(b) => Some(Outgoing::Whole(b)),
        Err(e) => {
            // Encoding our own result failed: report it as an internal error instead.
            let err = ApplicationError::new(ApplicationErrorKind::InternalError, format!("cannot encode the result: {e}"));
            encode_message(framing, msg.strict, &name, TMessageType::Exception, msg.seq, |o| {
                thrift::Error::write_application_error_to_out_protocol(&err, o)
            })
            .ok()
            .map(Outgoing::Whole)
        }
    }
}
