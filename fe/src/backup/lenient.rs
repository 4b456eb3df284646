//! Lenient readers for JSON written by other programs: the Java FE (Gson writes map keys
//! as strings, numbers as numbers) and the CCR syncer (Go re-encodes the whole document
//! through `map[string]interface{}`, so integers may come back as `1.0e3`-style floats and
//! absent maps as `null`). Numbers are accepted as integers, integral floats or numeric
//! strings; `null` reads as the default.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

struct I64Visitor;

impl<'de> Visitor<'de> for I64Visitor {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer, an integral float or a numeric string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v).map(Some).map_err(|_| E::custom(format!("{v} does not fit in a 64-bit signed integer")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.abs() < 9.3e18 {
            Ok(Some(v as i64))
        } else {
            Err(E::custom(format!("{v} is not an integer")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if let Ok(i) = t.parse::<i64>() {
            return Ok(Some(i));
        }
        match t.parse::<f64>() {
            Ok(f) => self.visit_f64(f),
            Err(_) => Err(E::custom(format!("'{v}' is not a number"))),
        }
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v as i64))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(I64Visitor)
    }
}

/// An `i64` field; `null` or an empty string reads as 0.
pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(d.deserialize_any(I64Visitor)?.unwrap_or_default())
}

/// An `i32` field.
pub fn i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = i64(d)?;
    i32::try_from(v).map_err(|_| de::Error::custom(format!("{v} does not fit in a 32-bit integer")))
}

/// A number as a map value or list item.
#[derive(Debug, Clone, Copy)]
pub struct Num(pub i64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Num(i64(d)?))
    }
}

fn parse_key<E: de::Error>(k: &str) -> Result<i64, E> {
    I64Visitor.visit_str::<E>(k)?.ok_or_else(|| E::custom("an empty map key where an id was expected"))
}

/// A map keyed by ids (JSON object keys are strings) with values `V`; `null` reads as empty.
pub fn id_map<'de, D, V>(d: D) -> Result<BTreeMap<i64, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    let raw: Option<BTreeMap<String, V>> = Option::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (k, v) in raw.unwrap_or_default() {
        out.insert(parse_key::<D::Error>(&k)?, v);
    }
    Ok(out)
}

/// A map from ids to numbers.
pub fn id_num_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, i64>, D::Error> {
    let m: BTreeMap<i64, Num> = id_map(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// An optional map from ids to numbers (absent or `null` is `None`).
pub fn opt_id_num_map<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<i64, i64>>, D::Error> {
    let raw: Option<BTreeMap<String, Num>> = Option::deserialize(d)?;
    match raw {
        None => Ok(None),
        Some(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                out.insert(parse_key::<D::Error>(&k)?, v.0);
            }
            Ok(Some(out))
        }
    }
}

/// A list of numbers; `null` reads as empty.
pub fn num_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    let raw: Option<Vec<Num>> = Option::deserialize(d)?;
    Ok(raw.unwrap_or_default().into_iter().map(|n| n.0).collect())
}

/// Any value where `null` means the default.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
