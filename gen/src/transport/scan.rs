//! Finds where one unframed binary-protocol message ends, without decoding it.
//!
//! Buffered (unframed) thrift has no length prefix: the only way to know that a message
//! is whole is to walk its structure. The scanner walks the bytes received so far, keeps
//! its place between calls (so a large message costs one pass, not one pass per read),
//! and says how many bytes it needs next. Lengths are checked against the message limit
//! the moment they are seen, so an oversized message is refused before it is buffered.
//!
//! A large string or binary value not yet received may be *detached* (`detach_from`):
//! the scanner steps over it and says where it starts, so the reader receives its bytes
//! straight into a buffer of their own, the one the decoded value then owns. The message
//! buffer then holds everything but those values, and a 256 MiB value costs 256 MiB once.

use super::binary::{min_size, ttype_from_u8, VERSION_1, VERSION_MASK};
use super::error::{describe, FrameError};
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
    /// A value of `len` bytes starts at `at` (just after its length prefix) and is not
    /// whole in the buffer: receive it elsewhere. The buffer must be cut back to `at`
    /// (bytes past `at` are the value's) before the next `advance`; positions from then
    /// on leave the value out.
    Detach { at: usize, len: usize },
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
    /// Values at least this long are detached; None: never.
    detach_min: Option<usize>,
    /// Bytes of the values detached so far: part of the message, not of the buffer.
    detached: usize,
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
        Scanner {
            limit,
            detach_min: None,
            detached: 0,
            pos: 0,
            phase: Phase::Header,
            stack: Vec::new(),
            strict: None,
            body_offset: 0,
        }
    }

    /// Detach string and binary values of at least `min` bytes that are not whole yet.
    pub fn detach_from(mut self, min: usize) -> Self {
        self.detach_min = Some(min.max(1));
        self
    }

    /// The message's size so far, detached values included.
    fn size(&self) -> usize {
        self.pos + self.detached
    }

    fn too_large(&self, size: usize) -> FrameError {
        FrameError::TooLarge { size: size as u64, limit: self.limit as u64 }
    }

    fn need(&self, n: usize) -> Result<Progress, FrameError> {
        let total = self.size() + n;
        if total > self.limit {
            return Err(self.too_large(total));
        }
        Ok(Progress::Need(self.pos + n))
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
                if self.size() > self.limit {
                    return Err(self.too_large(self.size()));
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
                    let t = ttype_from_u8(at[0]).map_err(|e| FrameError::Malformed(describe(&e)))?;
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
                            let len = n as usize;
                            let n = 4 + len;
                            if avail < n {
                                if self.detach_min.is_some_and(|min| len >= min) {
                                    // Checked before the reader allocates for it.
                                    if self.size() + n > self.limit {
                                        return Err(self.too_large(self.size() + n));
                                    }
                                    self.pos += 4;
                                    self.detached += len;
                                    self.stack.pop();
                                    return Ok(Progress::Detach { at: self.pos, len });
                                }
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
                            let elem = ttype_from_u8(at[0]).map_err(|e| FrameError::Malformed(describe(&e)))?;
                            let left = self.count(be_i32(&at[1..]), min_size(elem))?;
                            self.pos += 5;
                            *self.stack.last_mut().unwrap() = Frame::Seq { elem, left };
                        }
                        TType::Map => {
                            if avail < 6 {
                                return self.need(6);
                            }
                            let key = ttype_from_u8(at[0]).map_err(|e| FrameError::Malformed(describe(&e)))?;
                            let val = ttype_from_u8(at[1]).map_err(|e| FrameError::Malformed(describe(&e)))?;
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
        let least = self.size() as u64 + (n as u64) * per_elem as u64;
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
                other => panic!("{other:?} at {n}"),
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
    fn a_large_value_not_yet_received_is_detached() {
        // struct { 1: string (1000 bytes), 2: i32 } STOP
        let mut body = vec![11, 0, 1];
        body.extend_from_slice(&1000i32.to_be_bytes());
        let value_at = call(&body).len();
        body.extend(std::iter::repeat_n(b'v', 1000));
        body.extend_from_slice(&[8, 0, 2, 0, 0, 0, 7, 0]);
        let msg = call(&body);

        let mut s = Scanner::new(1 << 20).detach_from(100);
        // The first 10 bytes of the value have arrived.
        let mut buf = msg[..value_at + 10].to_vec();
        assert_eq!(s.advance(&buf).unwrap(), Progress::Detach { at: value_at, len: 1000 });
        // The reader takes the value away; what follows it arrives.
        buf.truncate(value_at);
        buf.extend_from_slice(&msg[value_at + 1000..]);
        assert_eq!(s.advance(&buf).unwrap(), Progress::Done(buf.len()));

        // A value already whole in the buffer stays there.
        let mut s = Scanner::new(1 << 20).detach_from(100);
        assert_eq!(s.advance(&msg).unwrap(), Progress::Done(msg.len()));
        // Smaller than the threshold: waited for in the buffer.
        let mut s = Scanner::new(1 << 20).detach_from(1001);
        assert_eq!(s.advance(&msg[..value_at + 10]).unwrap(), Progress::Need(value_at + 1000));
    }

    #[test]
    fn detached_values_count_against_the_limit() {
        let mut body = Vec::new();
        for id in 1..=3u8 {
            body.extend_from_slice(&[11, 0, id]);
            body.extend_from_slice(&400i32.to_be_bytes());
        }
        let msg = call(&body);
        let head = call(&[]).len();
        let mut s = Scanner::new(head + 1000).detach_from(100);
        let mut buf = msg[..head + 7].to_vec();
        assert_eq!(s.advance(&buf).unwrap(), Progress::Detach { at: head + 7, len: 400 });
        buf.extend_from_slice(&msg[head + 7..head + 14]);
        assert_eq!(s.advance(&buf).unwrap(), Progress::Detach { at: head + 14, len: 400 });
        // The third value would take the message past the limit: refused before its bytes.
        buf.extend_from_slice(&msg[head + 14..]);
        assert!(matches!(s.advance(&buf), Err(FrameError::TooLarge { .. })));
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
