//! Doris-style `key = value` config files (`fe.conf`, `be.conf`).
//!
//! Each service declares its keys once with [`config_keys!`], which makes its typed struct,
//! `set(key, value)`, `Default` and key table; this crate holds what they share: the line
//! format, `${VAR}` expansion, value parsing ([`ConfValue`]) with errors that name their
//! key, and the key table that `--help` prints.

use std::path::{Path, PathBuf};

mod keys;
mod value;

pub use keys::doc_text;
pub use value::{at_least_one, ConfShow, ConfValue};

/// One documented key: name, default, meaning.
#[derive(Debug, PartialEq)]
pub struct Key {
    pub name: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
    /// Its value is never shown (passwords).
    pub secret: bool,
}

/// One key as the SHOW commands print it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub key: &'static Key,
    /// None for secret keys: their values never leave the process.
    pub value: Option<String>,
    pub java_type: &'static str,
    pub cpp_type: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: expected `key = value`, got `{text}`")]
    Syntax { path: PathBuf, line: usize, text: String },
    #[error("bad value for {key}: `{value}` ({why})")]
    Value { key: String, value: String, why: String },
}

/// A value that does not fit its key.
pub fn bad(key: &str, v: &str, why: &str) -> ConfigError {
    ConfigError::Value { key: key.into(), value: v.into(), why: why.into() }
}

/// `${VAR}` from the environment; DORIS_HOME defaults to the working directory.
pub fn expand(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else { break };
        let var = &rest[i + 2..i + j];
        let val = std::env::var(var).ok().or_else(|| {
            (var == "DORIS_HOME").then(|| std::env::current_dir().unwrap_or_default().display().to_string())
        });
        out.push_str(&val.unwrap_or_default());
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

pub fn parse<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    v.parse::<T>().map_err(|e| ConfigError::Value { key: key.into(), value: v.into(), why: e.to_string() })
}

pub fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(bad(key, v, "expected true or false")),
    }
}

pub fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })
}

/// Apply every `key = value` line of `text` through `set`, which answers Ok(false) for a
/// key that is not ours: such keys are warned about and ignored (a real Doris conf file
/// carries many keys we do not use).
pub fn apply_lines(
    text: &str,
    path: &Path,
    mut set: impl FnMut(&str, &str) -> Result<bool, ConfigError>,
) -> Result<(), ConfigError> {
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(ConfigError::Syntax { path: path.into(), line: n + 1, text: line.into() });
        };
        let (k, v) = (k.trim(), expand(v.trim().trim_matches('"')));
        if !set(k, &v)? {
            tracing::warn!(key = k, file = %path.display(), "unknown config key ignored");
        }
    }
    Ok(())
}

/// The key table for `--help`.
pub fn help(file_name: &str, keys: &[Key], default_width: usize) -> String {
    let mut s = format!("{file_name} keys (key = value):\n");
    for k in keys {
        s.push_str(&format!("  {:<36} default {:<w$} {}\n", k.name, k.default, k.doc, w = default_width));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_quotes_and_unknown_keys() {
        let mut seen = Vec::new();
        apply_lines("# c\n\na = 1\nb = \"x y\"\nzzz = 3\n", Path::new("t.conf"), |k, v| {
            seen.push((k.to_string(), v.to_string()));
            Ok(k != "zzz")
        })
        .unwrap();
        assert_eq!(seen, [("a".into(), "1".into()), ("b".into(), "x y".into()), ("zzz".into(), "3".into())]);
        let e = apply_lines("a = 1\nnot a pair\n", Path::new("t.conf"), |_, _| Ok(true)).unwrap_err();
        assert!(e.to_string().contains("t.conf:2"), "{e}");
    }

    #[test]
    fn values_name_their_key() {
        assert_eq!(parse::<u16>("p", "80").unwrap(), 80);
        assert!(parse::<u16>("p", "x").unwrap_err().to_string().contains("p"));
        assert!(parse_bool("flag", "TRUE").unwrap());
        assert!(parse_bool("flag", "maybe").unwrap_err().to_string().contains("flag"));
    }

    #[test]
    fn expands_environment_variables() {
        std::env::set_var("DORIS_CONF_TEST_VAR", "/x");
        assert_eq!(expand("${DORIS_CONF_TEST_VAR}/storage"), "/x/storage");
        assert_eq!(expand("plain"), "plain");
    }
}
