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
        PacketBounded { inner: BufReader::with_capacity(16 * 1024, inner), header: [0; 4], header_len: 0, left: 0 }
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
        // A header (or what is left of it), then as much of its payload as is here: opensrv
        // parses a packet from one read when it fits its first 4 KiB buffer. Handed out
        // header first, a packet took opensrv a second read, for which it grows the buffer
        // to 1 MiB and keeps it for the connection's life.
        let mut n = 0;
        let mut in_payload = me.left > 0;
        if !in_payload {
            let h = avail.len().min(4 - me.header_len).min(buf.remaining());
            me.header[me.header_len..me.header_len + h].copy_from_slice(&avail[..h]);
            me.header_len += h;
            n = h;
            if me.header_len == 4 {
                me.left = u32::from_le_bytes([me.header[0], me.header[1], me.header[2], 0]) as usize;
                me.header_len = 0;
                in_payload = true;
            }
        }
        if in_payload {
            let m = (avail.len() - n).min(me.left).min(buf.remaining() - n);
            me.left -= m;
            n += m;
        }
        buf.put_slice(&avail[..n]);
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

    /// Every read `r` answers until the end, in order.
    async fn reads_of(mut r: impl AsyncRead + Unpin) -> Vec<Vec<u8>> {
        let mut reads = Vec::new();
        loop {
            let mut buf = [0u8; 1024];
            let n = r.read(&mut buf).await.unwrap();
            if n == 0 {
                return reads;
            }
            reads.push(buf[..n].to_vec());
        }
    }

    #[tokio::test]
    async fn reads_stop_at_packet_ends() {
        let packets = [packet(0, b"\x03SET a = 1"), packet(0, b""), packet(0, b"\x03SELECT 1")];
        let stream = packets.concat();
        let reads = reads_of(PacketBounded::new(std::io::Cursor::new(stream.clone()))).await;
        assert_eq!(reads, packets, "a header with its payload; never two packets in one read");
        // Split arrivals: each read stays inside one packet, and nothing is lost.
        let reads = reads_of(PacketBounded::new(chunked(&stream, 3))).await;
        assert_eq!(reads.concat(), stream);
        let ends: Vec<usize> = packets.iter().scan(0, |at, p| { *at += p.len(); Some(*at) }).collect();
        let mut at = 0;
        for r in &reads {
            let end = ends.iter().find(|&&e| e > at).unwrap();
            assert!(at + r.len() <= *end, "a read from {at} of {} bytes crosses the packet end at {end}", r.len());
            at += r.len();
        }
    }

    /// A reader that yields `chunk` bytes per read.
    fn chunked(bytes: &[u8], chunk: usize) -> impl AsyncRead + Unpin {
        struct Chunks(Vec<u8>, usize, usize);
        impl AsyncRead for Chunks {
            fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
                let (at, chunk) = (self.1, self.2);
                let end = (at + chunk).min(self.0.len()).min(at + buf.remaining());
                buf.put_slice(&self.0[at..end]);
                self.1 = end;
                Poll::Ready(Ok(()))
            }
        }
        Chunks(bytes.to_vec(), 0, chunk)
    }
}
