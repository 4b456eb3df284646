//! A reader that hands opensrv-mysql one whole MySQL packet per read.
//!
//! opensrv-mysql 0.7's packet reader has two costly habits this shields it from:
//! - When one read brings more than one packet, it frees its buffer while the packet it
//!   returns still points into it: the first packet reads as garbage and gets a bare OK.
//!   Clients that pipeline statements (MariaDB Connector/J sends its session `SET` right
//!   behind the login) hit this whenever their packets arrive together.
//! - When a packet takes it more than one read, it grows its buffer to 1 MiB, zero-filled,
//!   and it empties that buffer after every packet: a client whose packets arrive split
//!   (a few bytes per TCP segment) costs a 1 MiB memset per packet. Fuzzing found this as
//!   a hang: 28 KiB of empty packets in 4-byte pieces took 9.6 s of CPU.
//! So packets are gathered here and handed out whole, one per read; only a packet larger
//! than the caller's buffer (opensrv starts at 4 KiB) or ours goes out in pieces.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// Packets up to this size (header included) are gathered whole.
const GATHER: usize = 16 * 1024;

pub(crate) struct PacketBounded<R> {
    inner: R,
    buf: Box<[u8]>,
    /// Buffered bytes not yet handed out: `buf[start..end]`.
    start: usize,
    end: usize,
    /// Bytes of a packet too large to hand out whole that are still to go out.
    left: usize,
    eof: bool,
}

impl<R: AsyncRead> PacketBounded<R> {
    pub(crate) fn new(inner: R) -> Self {
        PacketBounded { inner, buf: vec![0; GATHER].into_boxed_slice(), start: 0, end: 0, left: 0, eof: false }
    }
}

impl<R: AsyncRead + Unpin> PacketBounded<R> {
    /// Hand out `n` buffered bytes.
    fn give(&mut self, out: &mut ReadBuf<'_>, n: usize) -> Poll<io::Result<()>> {
        out.put_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for PacketBounded<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = &mut *self;
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            let avail = me.end - me.start;
            if me.left > 0 && avail > 0 {
                let n = avail.min(me.left).min(out.remaining());
                me.left -= n;
                return me.give(out, n);
            }
            if me.left == 0 && avail >= 4 {
                let b = &me.buf[me.start..];
                let whole = 4 + u32::from_le_bytes([b[0], b[1], b[2], 0]) as usize;
                if whole <= avail && whole <= out.remaining() {
                    return me.give(out, whole);
                }
                if whole > out.remaining() || whole > me.buf.len() {
                    // Too large to hand out at once: its header and what is here now.
                    let n = avail.min(out.remaining());
                    me.left = whole - n;
                    return me.give(out, n);
                }
            }
            if me.eof {
                // A truncated packet: hand it out as it is, for the reader to see the end.
                let n = avail.min(out.remaining());
                if me.left > 0 {
                    me.left -= n;
                }
                return me.give(out, n);
            }
            if me.start > 0 {
                me.buf.copy_within(me.start..me.end, 0);
                me.end -= me.start;
                me.start = 0;
            }
            let mut rb = ReadBuf::new(&mut me.buf[me.end..]);
            ready!(Pin::new(&mut me.inner).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            me.end += n;
            me.eof = n == 0;
        }
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
        // Split arrivals are gathered: still one whole packet per read (opensrv would
        // zero-fill a 1 MiB buffer for each packet that took it two reads).
        let reads = reads_of(PacketBounded::new(chunked(&stream, 3))).await;
        assert_eq!(reads, packets, "packets arriving 3 bytes at a time are handed out whole");
        // A packet larger than the reader's buffer goes out in pieces, none crossing its end.
        let big = packet(0, &[b'x'; 3000]);
        let packets = [packet(0, b"\x0e"), big, packet(0, b"\x03SELECT 1")];
        let stream = packets.concat();
        let reads = reads_of(PacketBounded::new(chunked(&stream, 7))).await;
        assert_eq!(reads.concat(), stream, "nothing lost or reordered");
        assert_eq!(reads.first(), Some(&packets[0]));
        assert_eq!(reads.last(), Some(&packets[2]));
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
