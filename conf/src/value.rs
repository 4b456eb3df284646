//! How one value string becomes a typed config value.
//!
//! Every key's type implements [`ConfValue`]; a key whose value needs more than its
//! type's rule (a range, a format) names its own parser in `config_keys!`, which
//! usually calls the type's rule first and then checks.

use std::path::PathBuf;

use crate::{bad, ConfigError};

/// A type a config key can hold, parsed from its (already `${VAR}`-expanded) text.
pub trait ConfValue: Sized {
    /// The value of `key`; a bad value fails naming `key`.
    fn parse_conf(key: &str, v: &str) -> Result<Self, ConfigError>;
}

/// Numbers parse as Rust spells them.
macro_rules! from_str_values {
    ($($t:ty),*) => {
        $(impl ConfValue for $t {
            fn parse_conf(key: &str, v: &str) -> Result<Self, ConfigError> {
                crate::parse(key, v)
            }
        })*
    };
}

from_str_values!(u8, u16, u32, u64, usize, i8, i16, i32, i64, f64);

impl ConfValue for bool {
    fn parse_conf(key: &str, v: &str) -> Result<Self, ConfigError> {
        crate::parse_bool(key, v)
    }
}

/// Any text, the empty one included.
impl ConfValue for String {
    fn parse_conf(_key: &str, v: &str) -> Result<Self, ConfigError> {
        Ok(v.to_string())
    }
}

/// A path must be given: an empty one would silently mean the working directory.
impl ConfValue for PathBuf {
    fn parse_conf(key: &str, v: &str) -> Result<Self, ConfigError> {
        if v.is_empty() {
            return Err(bad(key, v, "no path given"));
        }
        Ok(PathBuf::from(v))
    }
}

/// Empty means "not set".
impl<T: ConfValue> ConfValue for Option<T> {
    fn parse_conf(key: &str, v: &str) -> Result<Self, ConfigError> {
        if v.is_empty() {
            return Ok(None);
        }
        T::parse_conf(key, v).map(Some)
    }
}

/// How a config value is shown (`ADMIN SHOW FRONTEND CONFIG`, the BE's `/api/show_config`)
/// and the type name each upstream service prints for it: Java's on the FE, C++'s on the BE.
pub trait ConfShow {
    const JAVA_TYPE: &'static str;
    const CPP_TYPE: &'static str;
    /// The value as the conf file would spell it (booleans `true`/`false`).
    fn conf_text(&self) -> String;
}

macro_rules! shown_numbers {
    ($($t:ty => $java:literal, $cpp:literal);* $(;)?) => {
        $(impl ConfShow for $t {
            const JAVA_TYPE: &'static str = $java;
            const CPP_TYPE: &'static str = $cpp;
            fn conf_text(&self) -> String {
                self.to_string()
            }
        })*
    };
}

shown_numbers!(
    u8 => "int", "int32_t"; u16 => "int", "int32_t"; u32 => "int", "int32_t";
    i8 => "int", "int32_t"; i16 => "int", "int32_t"; i32 => "int", "int32_t";
    u64 => "long", "int64_t"; i64 => "long", "int64_t"; usize => "long", "int64_t";
    f64 => "double", "double"; bool => "boolean", "bool"; String => "String", "std::string";
);

impl ConfShow for PathBuf {
    const JAVA_TYPE: &'static str = "String";
    const CPP_TYPE: &'static str = "std::string";
    fn conf_text(&self) -> String {
        self.display().to_string()
    }
}

/// `;`-separated, as the conf file lists paths.
impl ConfShow for Vec<PathBuf> {
    const JAVA_TYPE: &'static str = "String";
    const CPP_TYPE: &'static str = "std::string";
    fn conf_text(&self) -> String {
        self.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(";")
    }
}

/// Not set shows as empty.
impl<T: ConfShow> ConfShow for Option<T> {
    const JAVA_TYPE: &'static str = T::JAVA_TYPE;
    const CPP_TYPE: &'static str = T::CPP_TYPE;
    fn conf_text(&self) -> String {
        self.as_ref().map(T::conf_text).unwrap_or_default()
    }
}

/// A count or interval that must not be 0 (a 0 would mean no worker, or a busy loop).
pub fn at_least_one<T: ConfValue + PartialOrd + From<u8>>(key: &str, v: &str) -> Result<T, ConfigError> {
    let n = T::parse_conf(key, v)?;
    if n < T::from(1) {
        return Err(bad(key, v, "must be at least 1"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_and_name_their_key() {
        assert_eq!(u16::parse_conf("p", "80").unwrap(), 80);
        assert!(u16::parse_conf("p", "70000").unwrap_err().to_string().contains("bad value for p"));
        assert_eq!(f64::parse_conf("s", "0.25").unwrap(), 0.25);
        assert!(bool::parse_conf("b", "no").is_ok_and(|b| !b));
        assert_eq!(String::parse_conf("s", "").unwrap(), "");
        let e = PathBuf::parse_conf("dir", "").unwrap_err();
        assert_eq!(e.to_string(), "bad value for dir: `` (no path given)");
        assert_eq!(Option::<i32>::parse_conf("id", "").unwrap(), None);
        assert_eq!(Option::<i32>::parse_conf("id", "7").unwrap(), Some(7));
        assert!(Option::<i32>::parse_conf("id", "x").unwrap_err().to_string().contains("id"));
    }

    #[test]
    fn at_least_one_refuses_zero() {
        assert_eq!(at_least_one::<usize>("n", "2").unwrap(), 2);
        let e = at_least_one::<u64>("n", "0").unwrap_err();
        assert_eq!(e.to_string(), "bad value for n: `0` (must be at least 1)");
        assert!(at_least_one::<u64>("n", "-1").unwrap_err().to_string().contains("bad value for n"));
    }
}
