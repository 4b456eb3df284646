//! Reading and writing whole messages on a byte stream, framed or buffered.
//!
//! A server learns a connection's framing from its first bytes; a client knows it.
//! Framed: a 4-byte big-endian length, then the message. Buffered: the message alone,
//! its end found by `Scanner`.

use bytes::{Bytes, BytesMut};
use thrift::protocol::{TMessageType, TOutputProtocol};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::binary::{message_type_from_u8, vec_output};
use super::error::FrameError;
use super::scan::{Progress, Scanner, MAX_NAME};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    Buffered,
    Framed,
}

/// One message as received: its header and the bytes of its body struct.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub name: String,
    pub mtype: TMessageType,
    pub seq: i32,
    pub strict: bool,
    /// The whole message; `body()` is the args or result struct.
    pub bytes: Bytes,
    pub body_offset: usize,
}

impl RawMessage {
    pub fn body(&self) -> &[u8] {
        &self.bytes[self.body_offset..]
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
    let mtype = message_type_from_u8(tbyte).map_err(|e| FrameError::Malformed(e.to_string()))?;
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

/// Reads messages off one stream, keeping leftover bytes of pipelined calls.
pub struct MessageReader {
    buf: BytesMut,
    framing: Option<Framing>,
    limit: usize,
}

impl MessageReader {
    pub fn new(framing: Option<Framing>, limit: usize) -> Self {
        MessageReader { buf: BytesMut::with_capacity(8 * 1024), framing, limit }
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
                if !fill(r, &mut self.buf, 4 + n as usize).await? {
                    return Err(FrameError::Truncated);
                }
                let mut frame = self.buf.split_to(4 + n as usize);
                let _ = frame.split_to(4);
                frame.freeze()
            }
            Framing::Buffered => {
                let mut scan = Scanner::new(self.limit);
                let len = loop {
                    match scan.advance(&self.buf)? {
                        Progress::Done(n) => break n,
                        Progress::Need(n) => {
                            if !fill(r, &mut self.buf, n).await? {
                                return if self.buf.is_empty() { Ok(None) } else { Err(FrameError::Truncated) };
                            }
                        }
                    }
                };
                self.buf.split_to(len).freeze()
            }
        };
        let (name, mtype, seq, strict, body_offset) = parse_header(&bytes)?;
        Ok(Some(RawMessage { name, mtype, seq, strict, bytes, body_offset }))
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
    let mut out = Vec::with_capacity(256);
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

pub async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}

