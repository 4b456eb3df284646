//! Reading and writing whole messages on a byte stream, framed or buffered.
//!
//! A server learns a connection's framing from its first bytes; a client knows it.
//! Framed: a 4-byte big-endian length, then the message. Buffered: the message alone,
//! its end found by `Scanner`.
//!
//! Memory: a message's large string/binary values are received straight into buffers of
//! their own that the decoded values then own (`DETACH_MIN`), so such a message costs
//! about its size once, as with Apache Thrift's C++ TBufferedTransport (its framed
//! transport holds the frame and the decoded values: twice). A frame of at least
//! `DETACH_MIN` bytes is walked like a buffered message for that, and must then hold
//! exactly one message. The reader keeps no large buffer between messages.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thrift::protocol::{TMessageType, TOutputProtocol};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::binary::{message_type_from_u8, vec_output, SliceInput};
use super::error::{describe, FrameError};
use super::scan::{Progress, Scanner, MAX_NAME};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    Buffered,
    Framed,
}

/// Buffered string and binary values at least this long that have not fully arrived are
/// received into buffers of their own (see the module doc). Smaller ones are cheaper to
/// copy out of the message buffer.
pub const DETACH_MIN: usize = 256 * 1024;

/// What the reader's buffer starts at, and shrinks back to between messages.
const READ_BUF: usize = 8 * 1024;
/// A buffer up to this size is kept between messages.
const KEEP_BUF: usize = 64 * 1024;

/// One message as received: its header and the bytes of its body struct.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub name: String,
    pub mtype: TMessageType,
    pub seq: i32,
    pub strict: bool,
    /// The whole message but its detached values; `body()` is the args or result struct.
    pub bytes: Bytes,
    pub body_offset: usize,
    /// Large values received apart: (offset in `bytes` just after the length prefix,
    /// the value's bytes), in order.
    pub detached: Vec<(usize, Vec<u8>)>,
}

impl RawMessage {
    /// The body's bytes, for a message with no detached value (`input()` decodes any).
    pub fn body(&self) -> &[u8] {
        debug_assert!(self.detached.is_empty(), "body() of a message with detached values: use input()");
        &self.bytes[self.body_offset..]
    }

    /// A reader over the body. Detached values move into what is decoded from it, so
    /// they are read once: a second `input()` sees them as missing.
    pub fn input(&mut self) -> SliceInput<'_> {
        let off = self.body_offset;
        let detached = std::mem::take(&mut self.detached).into_iter().map(|(at, v)| (at - off, v)).collect();
        SliceInput::with_detached(&self.bytes[off..], detached)
    }
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Guess a connection's framing from its first 8 bytes (or fewer when that decides it).
/// Returns None while more bytes are needed.
pub fn detect(buf: &[u8]) -> Result<Option<Framing>, FrameError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == 0x80 {
        return Ok(Some(Framing::Buffered));
    }
    if buf[0] & 0x80 != 0 {
        return Err(FrameError::Malformed(format!("first byte {:#04x} starts no thrift message", buf[0])));
    }
    if buf.len() < 6 {
        return Ok(None);
    }
    // Framed: a positive length, then a strict header (0x80 0x01) or a non-strict one whose
    // name length is small (high byte 0). Buffered non-strict: a name length, then the name.
    if buf[4] == 0x80 && buf[5] == 0x01 {
        return Ok(Some(Framing::Framed));
    }
    if buf[4] == 0 {
        return Ok(Some(Framing::Framed));
    }
    Ok(Some(Framing::Buffered))
}

/// Parse a message header from a whole message in memory.
fn parse_header(bytes: &[u8]) -> Result<(String, TMessageType, i32, bool, usize), FrameError> {
    let bad = |m: &str| FrameError::Malformed(m.to_string());
    if bytes.len() < 4 {
        return Err(bad("message shorter than its header"));
    }
    let first = be_i32(bytes);
    let strict = first < 0;
    let name_at = if strict { 4 } else { 0 };
    if bytes.len() < name_at + 4 {
        return Err(bad("message shorter than its header"));
    }
    let n = be_i32(&bytes[name_at..]);
    if n < 0 || n as usize > MAX_NAME {
        return Err(FrameError::Malformed(format!("method name length {n} out of range")));
    }
    let name_end = name_at + 4 + n as usize;
    let end = name_end + if strict { 4 } else { 5 };
    if bytes.len() < end {
        return Err(bad("message shorter than its header"));
    }
    let name = std::str::from_utf8(&bytes[name_at + 4..name_end])
        .map_err(|_| bad("method name is not UTF-8"))?
        .to_string();
    let (tbyte, seq_at) = if strict {
        if (first as u32) & 0xffff_0000 != 0x8001_0000 {
            return Err(FrameError::Malformed(format!("bad message version {:#x}", first as u32)));
        }
        ((first & 0xff) as u8, name_end)
    } else {
        (bytes[name_end], name_end + 1)
    };
    let mtype = message_type_from_u8(tbyte).map_err(|e| FrameError::Malformed(describe(&e)))?;
    Ok((name, mtype, be_i32(&bytes[seq_at..]), strict, end))
}

async fn fill<R: AsyncRead + Unpin>(r: &mut R, buf: &mut BytesMut, want: usize) -> Result<bool, FrameError> {
    while buf.len() < want {
        buf.reserve(want - buf.len());
        if r.read_buf(buf).await? == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Receive a detached value of `len` bytes into a buffer of its own that ends up exactly
/// that size: the part already in `buf` (from `at` on) moves over, the rest is read
/// straight into it.
async fn receive_value<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    at: usize,
    len: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut value = Vec::new();
    grow_value(&mut value, len, buf.len() - at)?;
    value.extend_from_slice(&buf[at..]);
    buf.truncate(at);
    // Reads stop at the value's end: what follows it belongs in the message buffer.
    while value.len() < len {
        if value.len() == value.capacity() {
            grow_value(&mut value, len, 0)?;
        }
        let missing = len - value.len();
        if r.read_buf(&mut (&mut value).limit(missing)).await? == 0 {
            return Err(FrameError::Truncated);
        }
    }
    Ok(value)
}

/// Make room in a value of `len` bytes for at least `now` more bytes, never for more than
/// have arrived plus as much again (or `DETACH_MIN`): a length prefix alone, claiming up
/// to the message limit, must not cost that much before the bytes come. Doubling keeps
/// the copies to about the value's size; the last step ends exactly at `len`.
fn grow_value(value: &mut Vec<u8>, len: usize, now: usize) -> Result<(), FrameError> {
    let step = value.capacity().max(DETACH_MIN).max(now);
    let want = len.min(value.capacity() + step);
    value.try_reserve_exact(want - value.len()).map_err(|e| {
        FrameError::Io(std::io::Error::new(std::io::ErrorKind::OutOfMemory, format!("a value of {len} bytes: {e}")))
    })
}

/// Reads messages off one stream, keeping leftover bytes of pipelined calls.
pub struct MessageReader {
    buf: BytesMut,
    framing: Option<Framing>,
    limit: usize,
}

impl MessageReader {
    pub fn new(framing: Option<Framing>, limit: usize) -> Self {
        MessageReader { buf: BytesMut::with_capacity(READ_BUF), framing, limit }
    }

    /// The first `len` bytes of the buffer as a message of their own. After a large
    /// message the rest (bytes of pipelined calls) moves to a fresh small buffer when there
    /// is little of it, so the large allocation is freed with the message, not kept by an
    /// idle connection; a small buffer is kept and reused.
    fn split_message(&mut self, len: usize) -> Bytes {
        let large = self.buf.capacity() > KEEP_BUF;
        let msg = self.buf.split_to(len).freeze();
        if large && self.buf.len() <= READ_BUF {
            let mut rest = BytesMut::with_capacity(READ_BUF);
            rest.extend_from_slice(&self.buf);
            self.buf = rest;
        }
        msg
    }

    /// Receive one unframed message: its length in the buffer; its large values, not yet
    /// received when the scanner reached them, into `detached`.
    async fn scan_message<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        scan: Scanner,
        detached: &mut Vec<(usize, Vec<u8>)>,
    ) -> Result<usize, FrameError> {
        let mut scan = scan.detach_from(DETACH_MIN);
        loop {
            match scan.advance(&self.buf)? {
                Progress::Done(n) => return Ok(n),
                Progress::Need(n) => {
                    if !fill(r, &mut self.buf, n).await? {
                        return Err(FrameError::Truncated);
                    }
                }
                Progress::Detach { at, len } => {
                    let value = receive_value(r, &mut self.buf, at, len).await?;
                    detached.push((at, value));
                }
            }
        }
    }

    pub fn framing(&self) -> Option<Framing> {
        self.framing
    }

    /// True when no byte of a next message has arrived.
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next whole message, or None when the peer closed between messages.
    pub async fn read<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> Result<Option<RawMessage>, FrameError> {
        let framing = loop {
            if let Some(f) = self.framing {
                break f;
            }
            if let Some(f) = detect(&self.buf)? {
                self.framing = Some(f);
                break f;
            }
            let want = self.buf.len() + 1;
            if !fill(r, &mut self.buf, want).await? {
                return if self.buf.is_empty() { Ok(None) } else { Err(FrameError::Truncated) };
            }
        };
        let mut detached = Vec::new();
        let bytes = match framing {
            Framing::Framed => {
                if !fill(r, &mut self.buf, 4).await? {
                    return if self.buf.is_empty() { Ok(None) } else { Err(FrameError::Truncated) };
                }
                let n = be_i32(&self.buf);
                if n < 0 {
                    return Err(FrameError::Malformed(format!("negative frame length {n}")));
                }
                if n as usize > self.limit {
                    return Err(FrameError::TooLarge { size: n as u64, limit: self.limit as u64 });
                }
                let n = n as usize;
                if n < DETACH_MIN {
                    if !fill(r, &mut self.buf, 4 + n).await? {
                        return Err(FrameError::Truncated);
                    }
                    let mut frame = self.split_message(4 + n);
                    let _ = frame.split_to(4);
                    frame
                } else {
                    // A large frame is walked as it arrives, as a buffered message is, so
                    // its large values are received apart; it must hold one whole message.
                    self.buf.advance(4);
                    let overrun = |e| match e {
                        FrameError::TooLarge { size, .. } => {
                            FrameError::Malformed(format!("a message of {size}+ bytes overruns its frame of {n} bytes"))
                        }
                        e => e,
                    };
                    let len = self.scan_message(r, Scanner::new(n), &mut detached).await.map_err(overrun)?;
                    let size = len + detached.iter().map(|(_, v)| v.len()).sum::<usize>();
                    if size != n {
                        return Err(FrameError::Malformed(format!("a frame of {n} bytes holds a message of {size} bytes")));
                    }
                    self.split_message(len)
                }
            }
            Framing::Buffered => {
                let len = match self.scan_message(r, Scanner::new(self.limit), &mut detached).await {
                    Err(FrameError::Truncated) if self.buf.is_empty() => return Ok(None),
                    other => other?,
                };
                self.split_message(len)
            }
        };
        let (name, mtype, seq, strict, body_offset) = parse_header(&bytes)?;
        Ok(Some(RawMessage { name, mtype, seq, strict, bytes, body_offset, detached }))
    }
}

/// Encode one message: header, then the body that `body` writes, framed if asked.
pub fn encode_message(
    framing: Framing,
    strict: bool,
    name: &str,
    mtype: TMessageType,
    seq: i32,
    body: impl FnOnce(&mut dyn TOutputProtocol) -> thrift::Result<()>,
) -> thrift::Result<Vec<u8>> {
    encode_message_into(Vec::with_capacity(256), framing, strict, name, mtype, seq, body)
}

/// [`encode_message`] into `out` (empty; its capacity is kept).
pub fn encode_message_into(
    out: Vec<u8>,
    framing: Framing,
    strict: bool,
    name: &str,
    mtype: TMessageType,
    seq: i32,
    body: impl FnOnce(&mut dyn TOutputProtocol) -> thrift::Result<()>,
) -> thrift::Result<Vec<u8>> {
    let mut out = message_head(out, framing, strict, name, mtype, seq, 0);
    {
        let mut o = vec_output(&mut out);
        body(&mut o)?;
        o.flush()?;
    }
    if framing == Framing::Framed {
        let n = (out.len() - 4) as i32;
        out[..4].copy_from_slice(&n.to_be_bytes());
    }
    Ok(out)
}

/// A message's bytes before its body: the frame length (counting `body_len` body bytes)
/// when framed, then the message header.
pub fn message_head(
    mut out: Vec<u8>,
    framing: Framing,
    strict: bool,
    name: &str,
    mtype: TMessageType,
    seq: i32,
    body_len: usize,
) -> Vec<u8> {
    if framing == Framing::Framed {
        out.extend_from_slice(&[0; 4]);
    }
    if strict {
        out.extend_from_slice(&(0x8001_0000u32 | u8::from(mtype) as u32).to_be_bytes());
        out.extend_from_slice(&(name.len() as i32).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
    } else {
        out.extend_from_slice(&(name.len() as i32).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(u8::from(mtype));
    }
    out.extend_from_slice(&seq.to_be_bytes());
    if framing == Framing::Framed {
        let n = (out.len() - 4 + body_len) as i32;
        out[..4].copy_from_slice(&n.to_be_bytes());
    }
    out
}

/// How many bytes `body` writes in the binary protocol, without keeping them.
pub fn body_len(body: &dyn Fn(&mut dyn TOutputProtocol) -> thrift::Result<()>) -> thrift::Result<usize> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    {
        let mut o = thrift::protocol::TBinaryOutputProtocol::new(&mut n, true);
        body(&mut o)?;
        o.flush()?;
    }
    Ok(n.0)
}

pub async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}

