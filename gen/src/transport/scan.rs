//! Finds where one unframed binary-protocol message ends, without decoding it.
//!
//! Buffered (unframed) thrift has no length prefix: the only way to know that a message
//! is whole is to walk its structure. The scanner walks the bytes received so far, keeps
//! its place between calls (so a large message costs one pass, not one pass per read),
//! and says how many bytes it needs next. Lengths are checked against the message limit
//! the moment they are seen, so an oversized message is refused before it is buffered.

use super::binary::{min_size, ttype_from_u8, VERSION_1, VERSION_MASK};
use super::error::FrameError;
use thrift::protocol::TType;

/// Deepest nesting of structs and containers we accept.
pub const MAX_DEPTH: usize = 64;
/// Longest method name we accept.
pub const MAX_NAME: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The message is complete and `usize` bytes long.
    Done(usize),
    /// At least this many bytes (from the message start) are needed to go on.
    Need(usize),
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    Struct,
    Seq { elem: TType, left: u32 },
    Map { key: TType, val: TType, left: u32, at_value: bool },
    Value(TType),
}

#[derive(Debug)]
enum Phase {
    Header,
    Body,
}

#[derive(Debug)]
pub struct Scanner {
    limit: usize,
    pos: usize,
    phase: Phase,
    stack: Vec<Frame>,
    /// Whether the header was strict (versioned); known once the header is read.
    pub strict: Option<bool>,
    /// Offset of the body (the args or result struct) within the message.
    pub body_offset: usize,
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl Scanner {
    pub fn new(limit: usize) -> Self {
        Scanner { limit, pos: 0, phase: Phase::Header, stack: Vec::new(), strict: None, body_offset: 0 }
    }

    fn need(&self, n: usize) -> Result<Progress, FrameError> {
        let total = self.pos + n;
        if total > self.limit {
            return Err(FrameError::TooLarge { size: total as u64, limit: self.limit as u64 });
        }
        Ok(Progress::Need(total))
    }

    /// Walk as far as `buf` (the message's bytes so far) allows.
    pub fn advance(&mut self, buf: &[u8]) -> Result<Progress, FrameError> {
        if let Phase::Header = self.phase {
            match self.header(buf)? {
                Some(p) => return Ok(p),
                None => {
                    self.phase = Phase::Body;
                    self.body_offset = self.pos;
                    self.stack.push(Frame::Value(TType::Struct));
                }
            }
        }
        loop {
            let Some(top) = self.stack.last().copied() else {
                // Bytes already buffered skip the `need` checks, so check the whole size too.
                if self.pos > self.limit {
                    return Err(FrameError::TooLarge { size: self.pos as u64, limit: self.limit as u64 });
                }
                return Ok(Progress::Done(self.pos));
            };
            let avail = buf.len() - self.pos;
            let at = &buf[self.pos..];
            match top {
                Frame::Struct => {
                    if avail < 1 {
                        return self.need(1);
                    }
                    let t = ttype_from_u8(at[0]).map_err(|e| FrameError::Malformed(e.to_string()))?;
                    if t == TType::Stop {
                        self.pos += 1;
                        self.stack.pop();
                        continue;
                    }
                    if avail < 3 {
                        return self.need(3);
                    }
                    self.pos += 3;
                    self.push(Frame::Value(t))?;
                }
                Frame::Seq { elem, left } => {
                    if left == 0 {
                        self.stack.pop();
                        continue;
                    }
                    *self.stack.last_mut().unwrap() = Frame::Seq { elem, left: left - 1 };
                    self.push(Frame::Value(elem))?;
                }
                Frame::Map { key, val, left, at_value } => {
                    if left == 0 && !at_value {
                        self.stack.pop();
                        continue;
                    }
                    let (next, frame) = if at_value {
                        (val, Frame::Map { key, val, left, at_value: false })
                    } else {
                        (key, Frame::Map { key, val, left: left - 1, at_value: true })
                    };
                    *self.stack.last_mut().unwrap() = frame;
                    self.push(Frame::Value(next))?;
                }
                Frame::Value(t) => {
                    let fixed = match t {
                        TType::Bool | TType::I08 => Some(1),
                        TType::I16 => Some(2),
                        TType::I32 => Some(4),
                        TType::I64 | TType::Double => Some(8),
                        TType::Uuid => Some(16),
                        _ => None,
                    };
                    if let Some(n) = fixed {
                        if avail < n {
                            return self.need(n);
                        }
                        self.pos += n;
                        self.stack.pop();
                        continue;
                    }
                    match t {
                        TType::String | TType::Utf7 => {
                            if avail < 4 {
                                return self.need(4);
                            }
                            let n = be_i32(at);
                            if n < 0 {
                                return Err(FrameError::Malformed(format!("negative string length {n}")));
                            }
                            let n = 4 + n as usize;
                            if avail < n {
                                return self.need(n);
                            }
                            self.pos += n;
                            self.stack.pop();
                        }
                        TType::Struct => {
                            *self.stack.last_mut().unwrap() = Frame::Struct;
                        }
                        TType::List | TType::Set => {
                            if avail < 5 {
                                return self.need(5);
                            }
                            let elem = ttype_from_u8(at[0]).map_err(|e| FrameError::Malformed(e.to_string()))?;
                            let left = self.count(be_i32(&at[1..]), min_size(elem))?;
                            self.pos += 5;
                            *self.stack.last_mut().unwrap() = Frame::Seq { elem, left };
                        }
                        TType::Map => {
                            if avail < 6 {
                                return self.need(6);
                            }
                            let key = ttype_from_u8(at[0]).map_err(|e| FrameError::Malformed(e.to_string()))?;
                            let val = ttype_from_u8(at[1]).map_err(|e| FrameError::Malformed(e.to_string()))?;
                            let left = self.count(be_i32(&at[2..]), min_size(key) + min_size(val))?;
                            self.pos += 6;
                            *self.stack.last_mut().unwrap() = Frame::Map { key, val, left, at_value: false };
                        }
                        other => return Err(FrameError::Malformed(format!("a value cannot have type {other}"))),
                    }
                }
            }
        }
    }

    fn push(&mut self, f: Frame) -> Result<(), FrameError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(FrameError::Malformed(format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.stack.push(f);
        Ok(())
    }

    /// A container's element count, refused when even its smallest encoding breaks the limit.
    fn count(&self, n: i32, per_elem: usize) -> Result<u32, FrameError> {
        if n < 0 {
            return Err(FrameError::Malformed(format!("negative container size {n}")));
        }
        let least = self.pos as u64 + (n as u64) * per_elem as u64;
        if least > self.limit as u64 {
            return Err(FrameError::TooLarge { size: least, limit: self.limit as u64 });
        }
        Ok(n as u32)
    }

    /// Ok(None) once the header is read; Ok(Some(Need)) while it is not whole.
    fn header(&mut self, buf: &[u8]) -> Result<Option<Progress>, FrameError> {
        if buf.len() < 4 {
            return self.need(4).map(Some);
        }
        let first = be_i32(buf);
        let (strict, name_at) = if first < 0 {
            if (first as u32) & VERSION_MASK != VERSION_1 {
                return Err(FrameError::Malformed(format!("bad message version {:#x}", first as u32)));
            }
            (true, 4)
        } else {
            (false, 0)
        };
        if buf.len() < name_at + 4 {
            return self.need(name_at + 4).map(Some);
        }
        let name_len = be_i32(&buf[name_at..]);
        if name_len < 0 || name_len as usize > MAX_NAME {
            return Err(FrameError::Malformed(format!("method name length {name_len} out of range")));
        }
        let tail = if strict { 4 } else { 5 };
        let total = name_at + 4 + name_len as usize + tail;
        if buf.len() < total {
            return self.need(total).map(Some);
        }
        self.strict = Some(strict);
        self.pos = total;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(body: &[u8]) -> Vec<u8> {
        let mut m = (VERSION_1 | 1).to_be_bytes().to_vec();
        m.extend_from_slice(&4i32.to_be_bytes());
        m.extend_from_slice(b"ping");
        m.extend_from_slice(&9i32.to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn finds_the_end_byte_by_byte() {
        // struct { 1: list<string> ["ab"], 2: map<i32,bool> {1: true} } STOP
        let mut body = vec![15, 0, 1, 11, 0, 0, 0, 1, 0, 0, 0, 2, b'a', b'b'];
        body.extend_from_slice(&[13, 0, 2, 8, 2, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0]);
        let msg = call(&body);
        let mut s = Scanner::new(1 << 20);
        for n in 0..msg.len() {
            match s.advance(&msg[..n]).unwrap() {
                Progress::Need(k) => assert!(k > n && k <= msg.len()),
                Progress::Done(_) => panic!("done early at {n}"),
            }
        }
        assert_eq!(s.advance(&msg).unwrap(), Progress::Done(msg.len()));
        assert_eq!(s.strict, Some(true));
    }

    #[test]
    fn huge_string_is_refused_before_its_bytes_arrive() {
        let msg = call(&[11, 0, 1, 0x7f, 0xff, 0xff, 0xf0]);
        let mut s = Scanner::new(1 << 20);
        assert!(matches!(s.advance(&msg), Err(FrameError::TooLarge { .. })));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut body = Vec::new();
        for _ in 0..100 {
            body.extend_from_slice(&[12, 0, 1]);
        }
        let msg = call(&body);
        assert!(matches!(Scanner::new(1 << 20).advance(&msg), Err(FrameError::Malformed(_))));
    }
}
