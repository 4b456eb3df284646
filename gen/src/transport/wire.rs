//! Values that travel as method arguments and results.
//!
//! The compiler's generated args/result structs are private to their modules, so the
//! async server and client encode those envelopes themselves: an args struct is the
//! method's parameters as fields 1..n, a result struct carries the return value as
//! field 0. `Wire` is what one parameter or return value needs for that.

use thrift::protocol::{TInputProtocol, TListIdentifier, TOutputProtocol, TType};

pub trait Wire: Sized {
    const TTYPE: TType;
    fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self>;
    fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()>;
}

impl Wire for String {
    const TTYPE: TType = TType::String;
    fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self> {
        i.read_string()
    }
    fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
        o.write_string(self)
    }
}

impl Wire for i64 {
    const TTYPE: TType = TType::I64;
    fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self> {
        i.read_i64()
    }
    fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
        o.write_i64(*self)
    }
}

impl<T: Wire> Wire for Vec<T> {
    const TTYPE: TType = TType::List;
    fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self> {
        let l = i.read_list_begin()?;
        if l.element_type != T::TTYPE {
            return Err(thrift::Error::Protocol(thrift::ProtocolError::new(
                thrift::ProtocolErrorKind::InvalidData,
                format!("list of {} where a list of {} was expected", l.element_type, T::TTYPE),
            )));
        }
        let mut v = Vec::with_capacity(l.size as usize);
        for _ in 0..l.size {
            v.push(T::read(i)?);
        }
        i.read_list_end()?;
        Ok(v)
    }
    fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
        o.write_list_begin(&TListIdentifier::new(T::TTYPE, self.len() as i32))?;
        for x in self {
            x.write(o)?;
        }
        o.write_list_end()
    }
}

/// Generated structs are `Wire` through their `TSerializable` impl.
#[macro_export]
macro_rules! wire_structs {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::transport::Wire for $t {
            const TTYPE: thrift::protocol::TType = thrift::protocol::TType::Struct;
            fn read(i: &mut dyn thrift::protocol::TInputProtocol) -> thrift::Result<Self> {
                <$t as thrift::protocol::TSerializable>::read_from_in_protocol(i)
            }
            fn write(&self, o: &mut dyn thrift::protocol::TOutputProtocol) -> thrift::Result<()> {
                thrift::protocol::TSerializable::write_to_out_protocol(self, o)
            }
        }
    )*};
}

/// Write a result struct whose field 0 is `value`.
pub fn write_result<T: Wire>(value: &T, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
    use thrift::protocol::{TFieldIdentifier, TStructIdentifier};
    o.write_struct_begin(&TStructIdentifier::new("result"))?;
    o.write_field_begin(&TFieldIdentifier::new("success", T::TTYPE, 0))?;
    value.write(o)?;
    o.write_field_end()?;
    o.write_field_stop()?;
    o.write_struct_end()
}

/// Read a result struct's field 0; other fields (declared exceptions we do not use) are
/// skipped. None when the peer sent no value.
pub fn read_result<T: Wire>(i: &mut dyn TInputProtocol) -> thrift::Result<Option<T>> {
    let mut out = None;
    i.read_struct_begin()?;
    loop {
        let f = i.read_field_begin()?;
        if f.field_type == TType::Stop {
            break;
        }
        if f.id == Some(0) && f.field_type == T::TTYPE {
            out = Some(T::read(i)?);
        } else {
            i.skip(f.field_type)?;
        }
        i.read_field_end()?;
    }
    i.read_struct_end()?;
    Ok(out)
}
