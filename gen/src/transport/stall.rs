//! A stream that fails with `TimedOut` when its peer stops moving bytes in the middle of
//! something: half a message received, or a reply the peer does not read. Without it such a
//! peer would hold its connection task (and the encoder thread of a streamed reply) forever,
//! and a server shutdown, which waits for calls in flight, would never end.
//!
//! Waiting for the first byte of a next message is not a stall: pooled connections idle
//! between calls for as long as their owner likes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

pub struct Stall<T> {
    inner: T,
    limit: Duration,
    /// Armed: a pending read or write counts toward the limit.
    armed: bool,
    /// Started at the first pending poll after progress; cleared by progress.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> Stall<T> {
    /// A writer: every pending write counts (we only write what a peer asked for).
    pub fn writer(inner: T, limit: Duration) -> Self {
        Stall { inner, limit, armed: true, timer: None }
    }

    /// A reader: armed once a byte of a message arrived, see [`Stall::next_message`].
    pub fn reader(inner: T, limit: Duration) -> Self {
        Stall { inner, limit, armed: false, timer: None }
    }

    /// Before reading a next message: with nothing of it buffered (`idle`) the wait for its
    /// first byte is unbounded; otherwise the message is under way and the limit applies.
    pub fn next_message(&mut self, idle: bool) {
        self.armed = !idle;
        self.timer = None;
    }

    fn progress(&mut self) {
        self.timer = None;
    }

    /// Poll the timer of a pending operation: `TimedOut` once the limit passed.
    fn poll_stalled(&mut self, cx: &mut Context<'_>, what: &str) -> Poll<io::Error> {
        if !self.armed {
            return Poll::Pending;
        }
        let limit = self.limit;
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer {what} nothing for {} s", limit.as_secs_f64()),
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stall<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.armed = true;
                    this.progress();
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.poll_stalled(cx, "sent").map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stall<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, b) {
            Poll::Ready(r) => {
                this.progress();
                Poll::Ready(r)
            }
            Poll::Pending => this.poll_stalled(cx, "read").map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(r) => {
                this.progress();
                Poll::Ready(r)
            }
            Poll::Pending => this.poll_stalled(cx, "read").map(Err),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn idle_waits_are_unbounded_and_stalls_mid_message_fail() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut r = Stall::reader(a, Duration::from_secs(5));
        let mut buf = [0u8; 4];
        // Idle: an hour of silence is fine.
        let idle = tokio::time::timeout(Duration::from_secs(3600), r.read(&mut buf[..1])).await;
        assert!(idle.is_err(), "the idle read is still waiting, not failed");
        b.write_all(b"x").await.unwrap();
        assert_eq!(r.read(&mut buf[..1]).await.unwrap(), 1);
        // Mid-message: silence past the limit fails the read.
        let e = r.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(e.to_string(), "the peer sent nothing for 5 s");
        // A next message starts idle again.
        r.next_message(true);
        assert!(tokio::time::timeout(Duration::from_secs(60), r.read(&mut buf)).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_reads_nothing_fails_the_write_one_that_reads_slowly_does_not() {
        let (a, mut b) = tokio::io::duplex(16);
        let mut w = Stall::writer(a, Duration::from_secs(5));
        // Slow reader: 16 bytes every 4 s keeps a 64-byte write going.
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 16];
            while got.len() < 64 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                let n = b.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            (got, b)
        });
        w.write_all(&[7u8; 64]).await.unwrap();
        let (got, _b) = reader.await.unwrap();
        assert_eq!(got, vec![7u8; 64]);
        // Nobody reads: the write fails after the limit.
        let e = w.write_all(&[1u8; 64]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }
}
