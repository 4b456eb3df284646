//! A reader that never hands out bytes past the end of the current MySQL packet.
//!
//! opensrv-mysql 0.7's packet reader frees its buffer when one read brings more than one
//! packet, while the packet it returns still points into that buffer: the first packet
//! then reads as garbage and is answered with a bare OK. Clients that pipeline statements
//! (MariaDB Connector/J sends its session `SET` right behind the login) hit this on every
//! connection whose packets arrive together. Fed one packet at a time, opensrv's reader
//! never holds bytes beyond the packet it returns.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, BufReader, ReadBuf};

pub(crate) struct PacketBounded<R> {
    inner: BufReader<R>,
    /// Bytes of the current packet's header seen so far.
    header: [u8; 4],
    header_len: usize,
    /// Payload bytes of the current packet not yet handed out.
    left: usize,
}

impl<R: AsyncRead> PacketBounded<R> {
    pub(crate) fn new(inner: R) -> Self {
        PacketBounded { inner: BufReader::with_capacity(64 * 1024, inner), header: [0; 4], header_len: 0, left: 0 }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for PacketBounded<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = &mut *self;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let avail = ready!(Pin::new(&mut me.inner).poll_fill_buf(cx))?;
        if avail.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let n = if me.left > 0 {
            let n = avail.len().min(me.left).min(buf.remaining());
            buf.put_slice(&avail[..n]);
            me.left -= n;
            n
        } else {
            let n = avail.len().min(4 - me.header_len).min(buf.remaining());
            me.header[me.header_len..me.header_len + n].copy_from_slice(&avail[..n]);
            buf.put_slice(&avail[..n]);
            me.header_len += n;
            if me.header_len == 4 {
                me.left = u32::from_le_bytes([me.header[0], me.header[1], me.header[2], 0]) as usize;
                me.header_len = 0;
            }
            n
        };
        Pin::new(&mut me.inner).consume(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_le_bytes();
        [&[len[0], len[1], len[2], seq][..], payload].concat()
    }

    #[tokio::test]
    async fn reads_stop_at_packet_ends() {
        let stream = [packet(0, b"\x03SET a = 1"), packet(0, b""), packet(0, b"\x03SELECT 1")].concat();
        let mut r = PacketBounded::new(std::io::Cursor::new(stream.clone()));
        let mut reads = Vec::new();
        let mut all = Vec::new();
        loop {
            let mut buf = [0u8; 1024];
            let n = r.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            reads.push(n);
            all.extend_from_slice(&buf[..n]);
        }
        assert_eq!(all, stream, "nothing lost or reordered");
        assert_eq!(reads, [4, 10, 4, 4, 9], "a header, then its payload; never two packets in one read");
    }
}
