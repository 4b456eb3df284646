//! TBinaryProtocol over an in-memory message: a bounded reader and a writer.
//!
//! The reader works on a message that is already whole in memory (the scanner found its
//! end), so it never blocks, and it refuses any length or container size larger than the
//! bytes that remain. That matters because generated decoders trust the sizes they read
//! and pre-allocate from them: a field of the wrong wire type must not become a 2 GiB
//! allocation.

use thrift::protocol::{
    TFieldIdentifier, TInputProtocol, TListIdentifier, TMapIdentifier, TMessageIdentifier,
    TMessageType, TSetIdentifier, TStructIdentifier, TType,
};
use thrift::{ProtocolError, ProtocolErrorKind};

pub const VERSION_1: u32 = 0x8001_0000;
pub const VERSION_MASK: u32 = 0xffff_0000;

fn invalid(msg: impl Into<String>) -> thrift::Error {
    thrift::Error::Protocol(ProtocolError::new(ProtocolErrorKind::InvalidData, msg.into()))
}

/// Thrift binary protocol type id -> TType.
pub fn ttype_from_u8(b: u8) -> thrift::Result<TType> {
    Ok(match b {
        0 => TType::Stop,
        1 => TType::Void,
        2 => TType::Bool,
        3 => TType::I08,
        4 => TType::Double,
        6 => TType::I16,
        8 => TType::I32,
        10 => TType::I64,
        11 => TType::String,
        12 => TType::Struct,
        13 => TType::Map,
        14 => TType::Set,
        15 => TType::List,
        16 => TType::Uuid,
        other => return Err(invalid(format!("unknown thrift type id {other}"))),
    })
}

/// Fewest bytes one value of a type takes in the binary protocol.
pub fn min_size(t: TType) -> usize {
    match t {
        TType::Stop | TType::Void | TType::Bool | TType::I08 | TType::Struct => 1,
        TType::I16 => 2,
        TType::I32 | TType::String | TType::Utf7 => 4,
        TType::Set | TType::List => 5,
        TType::Map => 6,
        TType::I64 | TType::Double => 8,
        TType::Uuid => 16,
    }
}

pub fn message_type_from_u8(b: u8) -> thrift::Result<TMessageType> {
    Ok(match b {
        1 => TMessageType::Call,
        2 => TMessageType::Reply,
        3 => TMessageType::Exception,
        4 => TMessageType::OneWay,
        other => return Err(invalid(format!("unknown message type {other}"))),
    })
}

/// A bounded binary-protocol reader over one whole message.
///
/// Values the reader detached (see `scan`) are not in `buf`: each sits, by its offset,
/// in `detached`, and `read_bytes` / `read_string` hand that buffer over instead of
/// copying it.
pub struct SliceInput<'a> {
    buf: &'a [u8],
    pos: usize,
    detached: Vec<(usize, Vec<u8>)>,
    next_detached: usize,
}

/// A string or binary value: in the message buffer, or detached and owned.
enum Value<'a> {
    InBuffer(&'a [u8]),
    Detached(Vec<u8>),
}

impl<'a> SliceInput<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        SliceInput { buf, pos: 0, detached: Vec::new(), next_detached: 0 }
    }

    /// `buf` with values left out: each `(offset, bytes)` is a value whose length prefix
    /// ends at `offset` of `buf`, in ascending order of offset.
    pub fn with_detached(buf: &'a [u8], detached: Vec<(usize, Vec<u8>)>) -> Self {
        debug_assert!(detached.windows(2).all(|w| w[0].0 <= w[1].0));
        SliceInput { buf, pos: 0, detached, next_detached: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> thrift::Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(thrift::Error::Transport(thrift::TransportError::new(
                thrift::TransportErrorKind::EndOfFile,
                format!("message ends {} bytes early", n - self.remaining()),
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> thrift::Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    fn len_prefix(&mut self) -> thrift::Result<usize> {
        let n = self.read_i32()?;
        if n < 0 {
            return Err(thrift::Error::Protocol(ProtocolError::new(
                ProtocolErrorKind::NegativeSize,
                format!("negative length {n}"),
            )));
        }
        let n = n as usize;
        if n > self.remaining() {
            return Err(thrift::Error::Protocol(ProtocolError::new(
                ProtocolErrorKind::SizeLimit,
                format!("length {n} exceeds the {} bytes left in the message", self.remaining()),
            )));
        }
        Ok(n)
    }

    /// Borrow a string or binary value without copying it (a detached value cannot be
    /// borrowed: `read_bytes` takes it).
    pub fn read_bytes_ref(&mut self) -> thrift::Result<&'a [u8]> {
        match self.value()? {
            Value::InBuffer(b) => Ok(b),
            Value::Detached(_) => Err(invalid("a detached value cannot be borrowed")),
        }
    }

    /// The detached value whose length prefix ends here, if any.
    fn detached_here(&mut self) -> Option<usize> {
        // Values the decoder went past (a malformed message) are never handed out.
        while self.detached.get(self.next_detached).is_some_and(|(at, _)| *at < self.pos) {
            self.next_detached += 1;
        }
        match self.detached.get(self.next_detached) {
            Some((at, _)) if *at == self.pos => Some(self.next_detached),
            _ => None,
        }
    }

    fn value(&mut self) -> thrift::Result<Value<'a>> {
        let n = self.read_i32()?;
        if n < 0 {
            return Err(thrift::Error::Protocol(ProtocolError::new(
                ProtocolErrorKind::NegativeSize,
                format!("negative length {n}"),
            )));
        }
        if let Some(i) = self.detached_here() {
            self.next_detached = i + 1;
            let v = std::mem::take(&mut self.detached[i].1);
            if v.len() != n as usize {
                return Err(invalid(format!("length {n} where a value of {} bytes was received", v.len())));
            }
            return Ok(Value::Detached(v));
        }
        self.pos -= 4;
        let n = self.len_prefix()?;
        self.take(n).map(Value::InBuffer)
    }

    fn container_size(&mut self, per_element: usize) -> thrift::Result<i32> {
        let size = self.read_i32()?;
        if size < 0 {
            return Err(thrift::Error::Protocol(ProtocolError::new(
                ProtocolErrorKind::NegativeSize,
                format!("negative container size {size}"),
            )));
        }
        if (size as usize).saturating_mul(per_element) > self.remaining() {
            return Err(thrift::Error::Protocol(ProtocolError::new(
                ProtocolErrorKind::SizeLimit,
                format!("container of {size} elements cannot fit in the {} bytes left", self.remaining()),
            )));
        }
        Ok(size)
    }
}

impl<'a> TInputProtocol for SliceInput<'a> {
    fn read_message_begin(&mut self) -> thrift::Result<TMessageIdentifier> {
        let first = self.read_i32()?;
        if first < 0 {
            let v = first as u32;
            if v & VERSION_MASK != VERSION_1 {
                return Err(thrift::Error::Protocol(ProtocolError::new(
                    ProtocolErrorKind::BadVersion,
                    format!("bad message version {v:#x}"),
                )));
            }
            let mtype = message_type_from_u8((v & 0xff) as u8)?;
            let name = self.read_string()?;
            let seq = self.read_i32()?;
            Ok(TMessageIdentifier::new(name, mtype, seq))
        } else {
            self.pos -= 4;
            let name = self.read_string()?;
            let mtype = message_type_from_u8(self.read_byte()?)?;
            let seq = self.read_i32()?;
            Ok(TMessageIdentifier::new(name, mtype, seq))
        }
    }
    fn read_message_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn read_struct_begin(&mut self) -> thrift::Result<Option<TStructIdentifier>> {
        Ok(None)
    }
    fn read_struct_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn read_field_begin(&mut self) -> thrift::Result<TFieldIdentifier> {
        let t = ttype_from_u8(self.read_byte()?)?;
        if t == TType::Stop {
            return Ok(TFieldIdentifier { name: None, field_type: TType::Stop, id: None });
        }
        let id = self.read_i16()?;
        Ok(TFieldIdentifier { name: None, field_type: t, id: Some(id) })
    }
    fn read_field_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn read_bool(&mut self) -> thrift::Result<bool> {
        Ok(self.read_byte()? != 0)
    }
    fn read_bytes(&mut self) -> thrift::Result<Vec<u8>> {
        Ok(match self.value()? {
            Value::InBuffer(b) => b.to_vec(),
            Value::Detached(v) => v,
        })
    }
    fn skip_binary(&mut self) -> thrift::Result<()> {
        self.value().map(|_| ())
    }
    fn read_i8(&mut self) -> thrift::Result<i8> {
        Ok(self.read_byte()? as i8)
    }
    fn read_i16(&mut self) -> thrift::Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    fn read_i32(&mut self) -> thrift::Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    fn read_i64(&mut self) -> thrift::Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    fn read_double(&mut self) -> thrift::Result<f64> {
        Ok(f64::from_be_bytes(self.array()?))
    }
    fn read_uuid(&mut self) -> thrift::Result<uuid::Uuid> {
        Ok(uuid::Uuid::from_bytes(self.array()?))
    }
    fn read_string(&mut self) -> thrift::Result<String> {
        let not_utf8 = |e: std::str::Utf8Error| invalid(format!("string is not UTF-8: {e}"));
        match self.value()? {
            Value::InBuffer(b) => std::str::from_utf8(b).map(str::to_owned).map_err(not_utf8),
            Value::Detached(v) => String::from_utf8(v).map_err(|e| not_utf8(e.utf8_error())),
        }
    }
    fn read_list_begin(&mut self) -> thrift::Result<TListIdentifier> {
        let t = ttype_from_u8(self.read_byte()?)?;
        let size = self.container_size(min_size(t))?;
        Ok(TListIdentifier::new(t, size))
    }
    fn read_list_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn read_set_begin(&mut self) -> thrift::Result<TSetIdentifier> {
        let t = ttype_from_u8(self.read_byte()?)?;
        let size = self.container_size(min_size(t))?;
        Ok(TSetIdentifier::new(t, size))
    }
    fn read_set_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn read_map_begin(&mut self) -> thrift::Result<TMapIdentifier> {
        let k = ttype_from_u8(self.read_byte()?)?;
        let v = ttype_from_u8(self.read_byte()?)?;
        let size = self.container_size(min_size(k) + min_size(v))?;
        Ok(TMapIdentifier::new(k, v, size))
    }
    fn read_map_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn read_byte(&mut self) -> thrift::Result<u8> {
        Ok(self.take(1)?[0])
    }
}

/// The binary protocol writer over a Vec, strict (versioned) headers.
pub type VecOutput<'a> = thrift::protocol::TBinaryOutputProtocol<&'a mut Vec<u8>>;

pub fn vec_output(buf: &mut Vec<u8>) -> VecOutput<'_> {
    thrift::protocol::TBinaryOutputProtocol::new(buf, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_limit(e: &thrift::Error) -> bool {
        matches!(e, thrift::Error::Protocol(p) if p.kind == ProtocolErrorKind::SizeLimit)
    }

    #[test]
    fn list_size_larger_than_message_is_refused() {
        // list<i64> header claiming 2^31-1 elements, followed by 3 bytes.
        let bytes = [10u8, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3];
        let err = SliceInput::new(&bytes).read_list_begin().unwrap_err();
        assert!(size_limit(&err), "{err:?}");
    }

    #[test]
    fn string_length_past_end_is_refused_without_allocating() {
        let bytes = [0x7fu8, 0xff, 0xff, 0xff, b'a'];
        let err = SliceInput::new(&bytes).read_bytes().unwrap_err();
        assert!(size_limit(&err), "{err:?}");
    }

    #[test]
    fn detached_values_are_handed_over_in_place() {
        // struct { 1: binary (detached), 2: string "ok", 3: string (detached) } STOP
        let mut m = vec![11, 0, 1, 0, 0, 0, 5];
        let first = m.len();
        m.extend_from_slice(&[11, 0, 2, 0, 0, 0, 2, b'o', b'k', 11, 0, 3, 0, 0, 0, 3]);
        let third = m.len();
        m.push(0);
        let a = b"hello".to_vec();
        let a_ptr = a.as_ptr();
        let mut i = SliceInput::with_detached(&m, vec![(first, a), (third, "xyz".into())]);
        i.read_field_begin().unwrap();
        let v = i.read_bytes().unwrap();
        assert_eq!((v.as_slice(), v.as_ptr()), (&b"hello"[..], a_ptr), "handed over, not copied");
        i.read_field_begin().unwrap();
        assert_eq!(i.read_string().unwrap(), "ok");
        i.read_field_begin().unwrap();
        assert_eq!(i.read_string().unwrap(), "xyz");
        assert_eq!(i.read_field_begin().unwrap().field_type, TType::Stop);
        assert_eq!(i.remaining(), 0);
    }

    #[test]
    fn a_detached_value_of_another_length_is_refused() {
        let m = [11u8, 0, 1, 0, 0, 0, 9, 0];
        let mut i = SliceInput::with_detached(&m, vec![(7, vec![1, 2, 3])]);
        i.read_field_begin().unwrap();
        assert!(i.read_bytes().is_err());
        // Not UTF-8, detached: refused as a string.
        let mut i = SliceInput::with_detached(&m[..7], vec![(7, vec![0xff; 9])]);
        i.read_field_begin().unwrap();
        assert!(i.read_string().is_err());
    }

    #[test]
    fn non_strict_header_reads() {
        let mut m = vec![0, 0, 0, 4];
        m.extend_from_slice(b"ping");
        m.push(1);
        m.extend_from_slice(&7i32.to_be_bytes());
        let id = SliceInput::new(&m).read_message_begin().unwrap();
        assert_eq!(id.name, "ping");
        assert_eq!(id.message_type, TMessageType::Call);
        assert_eq!(id.sequence_number, 7);
    }
}
