//! `config_keys!`: a config struct whose keys are each declared once.
//!
//! ```
//! use std::path::PathBuf;
//!
//! fn small(key: &str, v: &str) -> Result<u16, doris_conf::ConfigError> {
//!     let n: u16 = doris_conf::ConfValue::parse_conf(key, v)?;
//!     if n > 10 {
//!         return Err(doris_conf::bad(key, v, "at most 10"));
//!     }
//!     Ok(n)
//! }
//!
//! doris_conf::config_keys! {
//!     /// An example.
//!     #[derive(Clone)]
//!     pub struct ExampleConfig {
//!         /// port we listen on
//!         port: u16 = "9020",
//!         /// data directories
//!         data_dir: PathBuf = "${DORIS_HOME}/data" [key = "storage_root_path"],
//!         /// how many workers
//!         workers: u16 = "3" [parse = small],
//!         /// never printed by Debug
//!         password: String = "" [secret],
//!     }
//! }
//!
//! let mut c = ExampleConfig::default();
//! assert_eq!(c.port, 9020);
//! assert!(c.set("storage_root_path", "/d").unwrap());
//! assert_eq!(c.data_dir, PathBuf::from("/d"));
//! assert!(!c.set("nobody_reads_this", "1").unwrap());
//! assert!(c.set("workers", "11").is_err());
//! ```
//!
//! Each key is `/// doc` (the `--help` text), `field: Type = "default"` and optionally
//! `[options]`, comma separated:
//! - `key = "name"`: the conf file's name when it differs from the field's;
//! - `parse = f`: `fn(&str, &str) -> Result<Type, ConfigError>` instead of the type's
//!   [`ConfValue`](crate::ConfValue) rule, for keys with a range or a format;
//! - `secret`: left out of `Debug` and of `shown` (passwords);
//! - `java = "int"` / `cpp = "int32_t"`: the type name the FE / the BE shows, where
//!   upstream's differs from the one the Rust type gives ([`ConfShow`](crate::ConfShow)).
//!
//! The struct gets public fields, `KEYS` (the `--help` table, in declaration order),
//! `set(key, value)`, `parse_str`, `load`, `shown` (values and type names for the SHOW
//! commands), `Default` (every default parsed, `${VAR}` expanded) and `Debug`.

#[macro_export]
macro_rules! config_keys {
    // The conf-file name of a key.
    (@key $field:ident) => { stringify!($field) };
    (@key $field:ident key = $k:literal $(, $($rest:tt)*)?) => { $k };
    (@key $field:ident parse = $f:expr $(, $($rest:tt)*)?) => { $crate::config_keys!(@key $field $($($rest)*)?) };
    (@key $field:ident secret $(, $($rest:tt)*)?) => { $crate::config_keys!(@key $field $($($rest)*)?) };
    (@key $field:ident java = $j:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@key $field $($($rest)*)?) };
    (@key $field:ident cpp = $c:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@key $field $($($rest)*)?) };

    // The parser of a key.
    (@parse ($ty:ty)) => { <$ty as $crate::ConfValue>::parse_conf };
    (@parse ($ty:ty) parse = $f:expr $(, $($rest:tt)*)?) => { $f };
    (@parse ($ty:ty) key = $k:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@parse ($ty) $($($rest)*)?) };
    (@parse ($ty:ty) secret $(, $($rest:tt)*)?) => { $crate::config_keys!(@parse ($ty) $($($rest)*)?) };
    (@parse ($ty:ty) java = $j:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@parse ($ty) $($($rest)*)?) };
    (@parse ($ty:ty) cpp = $c:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@parse ($ty) $($($rest)*)?) };

    // Whether a key stays out of `Debug`.
    (@secret) => { false };
    (@secret secret $(, $($rest:tt)*)?) => { true };
    (@secret key = $k:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@secret $($($rest)*)?) };
    (@secret parse = $f:expr $(, $($rest:tt)*)?) => { $crate::config_keys!(@secret $($($rest)*)?) };
    (@secret java = $j:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@secret $($($rest)*)?) };
    (@secret cpp = $c:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@secret $($($rest)*)?) };

    // The Java type name the FE shows for a key.
    (@java ($ty:ty)) => { <$ty as $crate::ConfShow>::JAVA_TYPE };
    (@java ($ty:ty) java = $j:literal $(, $($rest:tt)*)?) => { $j };
    (@java ($ty:ty) key = $k:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@java ($ty) $($($rest)*)?) };
    (@java ($ty:ty) parse = $f:expr $(, $($rest:tt)*)?) => { $crate::config_keys!(@java ($ty) $($($rest)*)?) };
    (@java ($ty:ty) secret $(, $($rest:tt)*)?) => { $crate::config_keys!(@java ($ty) $($($rest)*)?) };
    (@java ($ty:ty) cpp = $c:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@java ($ty) $($($rest)*)?) };

    // The C++ type name the BE shows for a key.
    (@cpp ($ty:ty)) => { <$ty as $crate::ConfShow>::CPP_TYPE };
    (@cpp ($ty:ty) cpp = $c:literal $(, $($rest:tt)*)?) => { $c };
    (@cpp ($ty:ty) key = $k:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@cpp ($ty) $($($rest)*)?) };
    (@cpp ($ty:ty) parse = $f:expr $(, $($rest:tt)*)?) => { $crate::config_keys!(@cpp ($ty) $($($rest)*)?) };
    (@cpp ($ty:ty) secret $(, $($rest:tt)*)?) => { $crate::config_keys!(@cpp ($ty) $($($rest)*)?) };
    (@cpp ($ty:ty) java = $j:literal $(, $($rest:tt)*)?) => { $crate::config_keys!(@cpp ($ty) $($($rest)*)?) };

    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $field:ident : $ty:ty = $default:literal $([ $($opt:tt)* ])?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[doc = $doc])+ pub $field: $ty, )*
        }

        impl $name {
            /// Every key with its default and meaning, in declaration order.
            pub const KEYS: &'static [$crate::Key] = &[$(
                $crate::Key {
                    name: $crate::config_keys!(@key $field $($($opt)*)?),
                    default: $default,
                    doc: $crate::doc_text(concat!($($doc),+)),
                    secret: $crate::config_keys!(@secret $($($opt)*)?),
                },
            )*];

            /// Set one key; Ok(false) when the key is not ours.
            pub fn set(&mut self, key: &str, v: &str) -> Result<bool, $crate::ConfigError> {
                $(
                    if key == $crate::config_keys!(@key $field $($($opt)*)?) {
                        self.$field = ($crate::config_keys!(@parse ($ty) $($($opt)*)?))(key, v)?;
                        return Ok(true);
                    }
                )*
                Ok(false)
            }

            /// The defaults overridden by every `key = value` line of `text` (read from `path`).
            pub fn parse_str(text: &str, path: &std::path::Path) -> Result<Self, $crate::ConfigError> {
                let mut c = <Self as Default>::default();
                $crate::apply_lines(text, path, |k, v| c.set(k, v))?;
                Ok(c)
            }

            pub fn load(path: &std::path::Path) -> Result<Self, $crate::ConfigError> {
                Self::parse_str(&$crate::read(path)?, path)
            }

            /// Every key's current value and type names, in declaration order; secret keys
            /// have no value.
            pub fn shown(&self) -> Vec<$crate::Shown> {
                vec![$(
                    {
                        let name = $crate::config_keys!(@key $field $($($opt)*)?);
                        let secret = $crate::config_keys!(@secret $($($opt)*)?);
                        $crate::Shown {
                            key: Self::KEYS.iter().find(|k| k.name == name).expect("declared"),
                            value: (!secret).then(|| $crate::ConfShow::conf_text(&self.$field)),
                            java_type: $crate::config_keys!(@java ($ty) $($($opt)*)?),
                            cpp_type: $crate::config_keys!(@cpp ($ty) $($($opt)*)?),
                        }
                    },
                )*]
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $(
                        $field: {
                            let key = $crate::config_keys!(@key $field $($($opt)*)?);
                            match ($crate::config_keys!(@parse ($ty) $($($opt)*)?))(key, &$crate::expand($default)) {
                                Ok(v) => v,
                                Err(e) => panic!("the default of {key} does not parse: {e}"),
                            }
                        },
                    )*
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut d = f.debug_struct(stringify!($name));
                $(
                    if !$crate::config_keys!(@secret $($($opt)*)?) {
                        d.field(stringify!($field), &self.$field);
                    }
                )*
                // Say that something was left out rather than pretend the list is whole.
                if Self::KEYS.iter().any(|k| k.secret) {
                    d.finish_non_exhaustive()
                } else {
                    d.finish()
                }
            }
        }
    };
}

/// A `///` doc as the `--help` table shows it: without the space after `///`.
pub const fn doc_text(doc: &'static str) -> &'static str {
    doc.trim_ascii()
}
