//! Complex column kinds — upstream's `ARRAY<T>`, `MAP<K, V>` and `STRUCT<name: T, ...>`,
//! nestable — and their values.
//!
//! `ColKind` stays `Copy`: a complex kind is `ColKind::Complex(&'static Nested)`, interned
//! (one leaked node per distinct type text ever seen, so a long-running BE holds as many as
//! its tables have distinct complex types).
//!
//! Text of a value (a CSV field, a JSON load's member, an INSERT's row) is upstream's: an
//! array `[1, 2, 3]` / `["a", "b"]`, a map `{"k1":1, "k2":2}` / `{1:"a"}`, a struct
//! `{"f1":1, "f2":"x"}` (fields by name, case-insensitively, missing ones NULL) or `{1, "x"}`
//! (by position). Strings may be quoted with `"` or `'` (backslash escapes as JSON's) or left
//! bare; `null` or `\N` (unquoted) is a NULL element. JSON text is a special case, so a JSON
//! load's arrays and objects parse as they are.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use serde_json::Value as Json;

use super::types::{Cell, ColKind};

#[derive(Debug, PartialEq, Eq, Hash)]
pub enum Nested {
    Array(ColKind),
    Map(ColKind, ColKind),
    /// Field names as declared (case kept), with their kinds.
    Struct(Vec<(String, ColKind)>),
}

/// The one `'static` copy of `n`.
pub fn intern(n: Nested) -> &'static Nested {
    static SEEN: OnceLock<Mutex<HashSet<&'static Nested>>> = OnceLock::new();
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = seen.get(&n) {
        return found;
    }
    let leaked: &'static Nested = Box::leak(Box::new(n));
    seen.insert(leaked);
    leaked
}

impl Nested {
    /// Upstream's spelling (`ARRAY<INT>`, `MAP<VARCHAR(8),INT>`, `STRUCT<a:INT,b:STRING>`);
    /// [`ColKind::parse`] reads it back.
    pub fn name(&self) -> String {
        match self {
            Nested::Array(e) => format!("ARRAY<{}>", e.name()),
            Nested::Map(k, v) => format!("MAP<{},{}>", k.name(), v.name()),
            Nested::Struct(fields) => {
                let f: Vec<String> = fields.iter().map(|(n, k)| format!("{n}:{}", k.name())).collect();
                format!("STRUCT<{}>", f.join(","))
            }
        }
    }
}

// ------------------------------------------------------------------ type text

/// Whether `text` names a complex type (`array<...>`, `map<...>`, `struct<...>`).
pub fn is_complex_type(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    ["array", "map", "struct"].iter().any(|w| t.strip_prefix(w).is_some_and(|r| r.trim_start().starts_with('<')))
}

/// Parse a type text that may nest complex types.
pub fn parse_type(text: &str) -> Result<ColKind, String> {
    let mut c = Cursor { s: text, pos: 0 };
    let k = type_at(&mut c).map_err(|e| format!("bad type `{text}`: {e}"))?;
    c.ws();
    if c.pos != text.len() {
        return Err(format!("bad type `{text}`: trailing text"));
    }
    Ok(k)
}

fn type_at(c: &mut Cursor) -> Result<ColKind, String> {
    c.ws();
    let word = c.word().to_string();
    if word.is_empty() {
        return Err(format!("a type expected at {}", c.pos));
    }
    let lower = word.to_ascii_lowercase();
    let nested = match lower.as_str() {
        "array" => {
            c.expect(b'<')?;
            let e = type_at(c)?;
            c.expect(b'>')?;
            Nested::Array(e)
        }
        "map" => {
            c.expect(b'<')?;
            let k = type_at(c)?;
            c.expect(b',')?;
            let v = type_at(c)?;
            c.expect(b'>')?;
            Nested::Map(k, v)
        }
        "struct" => {
            c.expect(b'<')?;
            let mut fields: Vec<(String, ColKind)> = Vec::new();
            loop {
                c.ws();
                let name = if c.peek() == Some(b'`') {
                    c.pos += 1;
                    let end = c.s[c.pos..].find('`').ok_or("unclosed `")? + c.pos;
                    let n = c.s[c.pos..end].to_string();
                    c.pos = end + 1;
                    n
                } else {
                    c.word().to_string()
                };
                if name.is_empty() {
                    return Err(format!("a field name expected at {}", c.pos));
                }
                if fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                    return Err(format!("duplicate field name {name}"));
                }
                c.expect(b':')?;
                fields.push((name, type_at(c)?));
                c.ws();
                // A field's COMMENT 'text' is accepted and dropped.
                if c.s[c.pos..].len() >= 7 && c.s[c.pos..c.pos + 7].eq_ignore_ascii_case("comment") {
                    c.pos += 7;
                    c.ws();
                    let q = c.peek().ok_or("a comment expected")?;
                    c.quoted(q)?;
                    c.ws();
                }
                match c.next() {
                    Some(b',') => continue,
                    Some(b'>') => break,
                    _ => return Err(format!("`,` or `>` expected at {}", c.pos)),
                }
            }
            Nested::Struct(fields)
        }
        _ => {
            // A scalar, with its `(n[, m])` arguments.
            let start = c.pos - word.len();
            c.ws();
            if c.peek() == Some(b'(') {
                let close = c.s[c.pos..].find(')').ok_or("unclosed (")? + c.pos;
                c.pos = close + 1;
            }
            return ColKind::parse(&c.s[start..c.pos]);
        }
    };
    Ok(ColKind::Complex(intern(nested)))
}

// ------------------------------------------------------------------ value text

/// Parse the text of a complex value (see the module's doc).
pub fn parse_value(n: &'static Nested, s: &str) -> Result<Cell, String> {
    let mut c = Cursor { s, pos: 0 };
    let v = complex_at(&mut c, n)?;
    c.ws();
    if c.pos != s.len() {
        return Err(format!("unexpected text after the value at {}", c.pos));
    }
    Ok(v)
}

fn complex_at(c: &mut Cursor, n: &'static Nested) -> Result<Cell, String> {
    c.ws();
    match n {
        Nested::Array(e) => {
            c.expect(b'[')?;
            let mut items = Vec::new();
            c.ws();
            if c.eat(b']') {
                return Ok(Cell::Array(items));
            }
            loop {
                items.push(item_at(c, e, false)?);
                c.ws();
                match c.next() {
                    Some(b',') => {}
                    Some(b']') => return Ok(Cell::Array(items)),
                    _ => return Err(format!("`,` or `]` expected at {}", c.pos)),
                }
            }
        }
        Nested::Map(k, v) => {
            c.expect(b'{')?;
            let mut entries = Vec::new();
            c.ws();
            if c.eat(b'}') {
                return Ok(Cell::Map(entries));
            }
            loop {
                let key = item_at(c, k, true)?;
                if key == Cell::Null {
                    return Err("a map key may not be NULL".into());
                }
                c.expect(b':')?;
                let value = item_at(c, v, false)?;
                entries.push((key, value));
                c.ws();
                match c.next() {
                    Some(b',') => {}
                    Some(b'}') => return Ok(Cell::Map(entries)),
                    _ => return Err(format!("`,` or `}}` expected at {}", c.pos)),
                }
            }
        }
        Nested::Struct(fields) => {
            c.expect(b'{')?;
            c.ws();
            // `{"name": value, ...}` when the first item is followed by `:`.
            let start = c.pos;
            let named = match c.peek() {
                Some(q @ (b'"' | b'\'')) => c.quoted(q).is_ok() && {
                    c.ws();
                    c.peek() == Some(b':')
                },
                _ => {
                    let w = c.word();
                    !w.is_empty() && {
                        c.ws();
                        c.peek() == Some(b':')
                    }
                }
            };
            c.pos = start;
            let mut values = vec![Cell::Null; fields.len()];
            if named {
                loop {
                    c.ws();
                    let name = match c.peek() {
                        Some(q @ (b'"' | b'\'')) => c.quoted(q)?,
                        _ => c.word().to_string(),
                    };
                    let i = fields
                        .iter()
                        .position(|(f, _)| f.eq_ignore_ascii_case(&name))
                        .ok_or_else(|| format!("the struct has no field `{name}`"))?;
                    c.expect(b':')?;
                    values[i] = item_at(c, &fields[i].1, false)?;
                    c.ws();
                    match c.next() {
                        Some(b',') => {}
                        Some(b'}') => return Ok(Cell::Struct(values)),
                        _ => return Err(format!("`,` or `}}` expected at {}", c.pos)),
                    }
                }
            }
            for (i, (_, kind)) in fields.iter().enumerate() {
                values[i] = item_at(c, kind, false)?;
                c.ws();
                let want = if i + 1 == fields.len() { b'}' } else { b',' };
                if !c.eat(want) {
                    return Err(format!("the struct has {} fields: `{}` expected at {}", fields.len(), want as char, c.pos));
                }
            }
            Ok(Cell::Struct(values))
        }
    }
}

/// One element: NULL, a nested complex value, a quoted or a bare scalar. A bare map key
/// ends at `:`.
fn item_at(c: &mut Cursor, kind: &ColKind, key: bool) -> Result<Cell, String> {
    c.ws();
    if let Some(q @ (b'"' | b'\'')) = c.peek() {
        let text = c.quoted(q)?;
        return match kind {
            ColKind::Complex(n) => parse_value(n, &text),
            _ => kind.parse_text(&text),
        };
    }
    let rest = &c.s[c.pos..];
    let is_null = |w: &str| {
        rest.get(..w.len()).is_some_and(|h| h.eq_ignore_ascii_case(w))
            && rest[w.len()..].trim_start().starts_with([',', ']', '}', ':'])
    };
    if is_null("null") || is_null("\\N") {
        c.pos += if rest.starts_with('\\') { 2 } else { 4 };
        return Ok(Cell::Null);
    }
    if let ColKind::Complex(n) = kind {
        return complex_at(c, n);
    }
    let stops: &[char] = if key { &[',', ']', '}', ':'] } else { &[',', ']', '}'] };
    let end = rest.find(stops).unwrap_or(rest.len());
    let token = rest[..end].trim();
    c.pos += end;
    if token.is_empty() {
        return Err(format!("a value expected at {}", c.pos));
    }
    kind.parse_text(token)
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        if b.is_some() {
            self.pos += 1;
        }
        b
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(format!("`{}` expected at {}", b as char, self.pos))
        }
    }

    /// `[A-Za-z0-9_]*`
    fn word(&mut self) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// A string quoted with `q`, backslash escapes as JSON's (`\uXXXX` too); any other
    /// escaped character stands for itself.
    fn quoted(&mut self, q: u8) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.s[self.pos..].char_indices();
        while let Some((i, ch)) = chars.next() {
            if ch as u32 == q as u32 {
                self.pos += i + 1;
                return Ok(out);
            }
            if ch != '\\' {
                out.push(ch);
                continue;
            }
            let Some((_, e)) = chars.next() else { break };
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                    let mut code = u32::from_str_radix(&hex, 16).map_err(|_| format!("bad \\u escape at {start}"))?;
                    // A surrogate pair, as JSON writes characters beyond the BMP.
                    if (0xD800..0xDC00).contains(&code) {
                        let rest = chars.as_str();
                        if let Some(lo) = rest.strip_prefix("\\u").and_then(|r| r.get(..4)).and_then(|h| u32::from_str_radix(h, 16).ok()) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3ff);
                            for _ in 0..6 {
                                chars.next();
                            }
                        }
                    }
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            }
        }
        Err(format!("unclosed string starting at {start}"))
    }
}

// ------------------------------------------------------------------ stored form

/// A cell as segments store it: exact and typed by the column's kind (see
/// `segment.rs`): integers, dates (days) and datetimes (microseconds) as JSON numbers,
/// LARGEINT and decimals (unscaled) as decimal strings, arrays as arrays, a map as an
/// array of `[key, value]` pairs, a struct as the array of its fields.
pub fn to_stored(cell: &Cell) -> Json {
    match cell {
        Cell::Null => Json::Null,
        Cell::Bool(b) => Json::Bool(*b),
        Cell::Int(v) => Json::from(*v),
        Cell::Large(v) | Cell::Decimal(v) => Json::String(v.to_string()),
        Cell::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Cell::Date(d) => Json::from(*d),
        Cell::DateTime(m) => Json::from(*m),
        Cell::Str(s) => Json::String(s.clone()),
        Cell::Array(items) | Cell::Struct(items) => Json::Array(items.iter().map(to_stored).collect()),
        Cell::Map(entries) => {
            Json::Array(entries.iter().map(|(k, v)| Json::Array(vec![to_stored(k), to_stored(v)])).collect())
        }
    }
}

/// [`to_stored`] read back as `kind`.
pub fn from_stored(kind: &ColKind, j: &Json) -> Result<Cell, String> {
    if j.is_null() {
        return Ok(Cell::Null);
    }
    let bad = || format!("stored value {j} is not a {}", kind.name());
    let int = || j.as_i64().ok_or_else(bad);
    let wide = || j.as_str().and_then(|s| s.parse::<i128>().ok()).ok_or_else(bad);
    Ok(match kind {
        ColKind::Bool => Cell::Bool(j.as_bool().ok_or_else(bad)?),
        ColKind::TinyInt | ColKind::SmallInt | ColKind::Int | ColKind::BigInt => Cell::Int(int()?),
        ColKind::LargeInt => Cell::Large(wide()?),
        ColKind::Decimal { .. } => Cell::Decimal(wide()?),
        ColKind::Float | ColKind::Double => Cell::Float(j.as_f64().ok_or_else(bad)?),
        ColKind::Date => Cell::Date(int()? as i32),
        ColKind::DateTime { .. } => Cell::DateTime(int()?),
        ColKind::Str { .. } => Cell::Str(j.as_str().ok_or_else(bad)?.to_string()),
        ColKind::Complex(n) => {
            let items = j.as_array().ok_or_else(bad)?;
            match n {
                Nested::Array(e) => Cell::Array(items.iter().map(|x| from_stored(e, x)).collect::<Result<_, _>>()?),
                Nested::Map(k, v) => Cell::Map(
                    items
                        .iter()
                        .map(|p| match p.as_array().map(Vec::as_slice) {
                            Some([a, b]) => Ok((from_stored(k, a)?, from_stored(v, b)?)),
                            _ => Err(bad()),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Nested::Struct(fields) => {
                    if items.len() != fields.len() {
                        return Err(bad());
                    }
                    Cell::Struct(fields.iter().zip(items).map(|((_, k), x)| from_stored(k, x)).collect::<Result<_, _>>()?)
                }
            }
        }
    })
}

/// A complex cell as the JSON scan endpoint sends it: arrays as arrays, maps and structs
/// as objects (a map's keys as their text).
pub fn to_json(n: &Nested, cell: &Cell) -> Json {
    match (n, cell) {
        (Nested::Array(e), Cell::Array(items)) => Json::Array(items.iter().map(|x| x.to_json(e)).collect()),
        (Nested::Map(k, v), Cell::Map(entries)) => Json::Object(
            entries
                .iter()
                .map(|(a, b)| {
                    let key = match a.to_json(k) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, b.to_json(v))
                })
                .collect(),
        ),
        (Nested::Struct(fields), Cell::Struct(values)) => {
            Json::Object(fields.iter().zip(values).map(|((name, k), x)| (name.clone(), x.to_json(k))).collect())
        }
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(t: &str) -> ColKind {
        ColKind::parse(t).unwrap()
    }

    fn s(v: &str) -> Cell {
        Cell::Str(v.into())
    }

    #[test]
    fn types_parse_nest_and_print() {
        let k = kind("ARRAY<MAP<varchar(8), STRUCT<a:INT, `B`:decimal(10, 2) COMMENT 'x'>>>");
        assert_eq!(k.name(), "ARRAY<MAP<VARCHAR(8),STRUCT<a:INT,B:DECIMAL(10,2)>>>");
        assert_eq!(kind(&k.name()), k);
        // Interned: equal types are one node.
        let (ColKind::Complex(a), ColKind::Complex(b)) = (kind("array<int>"), kind("ARRAY< INT >")) else { panic!() };
        assert!(std::ptr::eq(a, b));
        assert!(ColKind::parse("array<int").is_err());
        assert!(ColKind::parse("struct<a:int,A:int>").is_err());
        assert!(ColKind::parse("map<int>").is_err());
    }

    #[test]
    fn values_parse_as_upstream_writes_them() {
        let arr = kind("array<int>");
        assert_eq!(arr.parse_text("[1, 2, 3]").unwrap(), Cell::Array(vec![Cell::Int(1), Cell::Int(2), Cell::Int(3)]));
        assert_eq!(arr.parse_text("[1,null, \\N]").unwrap(), Cell::Array(vec![Cell::Int(1), Cell::Null, Cell::Null]));
        assert_eq!(arr.parse_text(" [] ").unwrap(), Cell::Array(vec![]));
        assert!(arr.parse_text("[1, x]").is_err());
        assert!(arr.parse_text("[1, 2").is_err());
        assert!(arr.parse_text("[99999999999]").is_err());

        let strs = kind("array<varchar(4)>");
        assert_eq!(strs.parse_text(r#"["a", 'b,c', "d\"", null, "null"]"#).unwrap(), Cell::Array(vec![s("a"), s("b,c"), s("d\""), Cell::Null, s("null")]));
        assert_eq!(strs.parse_text("[a, b ]").unwrap(), Cell::Array(vec![s("a"), s("b")]));
        assert!(strs.parse_text(r#"["toolong"]"#).is_err());

        let map = kind("map<varchar(8),int>");
        assert_eq!(map.parse_text(r#"{"k1":1, "k2":null}"#).unwrap(), Cell::Map(vec![(s("k1"), Cell::Int(1)), (s("k2"), Cell::Null)]));
        assert_eq!(kind("map<int,string>").parse_text(r#"{1:"a", 2 : b}"#).unwrap(), Cell::Map(vec![(Cell::Int(1), s("a")), (Cell::Int(2), s("b"))]));
        assert!(map.parse_text("{null:1}").is_err());

        let st = kind("struct<f1:int,f2:varchar(8)>");
        let want = Cell::Struct(vec![Cell::Int(1), s("x")]);
        assert_eq!(st.parse_text(r#"{"f1":1, "f2":"x"}"#).unwrap(), want);
        assert_eq!(st.parse_text(r#"{"F2":"x", "f1":1}"#).unwrap(), want);
        assert_eq!(st.parse_text(r#"{1, "x"}"#).unwrap(), want);
        assert_eq!(st.parse_text(r#"{"f2":"x"}"#).unwrap(), Cell::Struct(vec![Cell::Null, s("x")]));
        assert!(st.parse_text(r#"{1}"#).is_err());
        assert!(st.parse_text(r#"{"nope":1}"#).is_err());

        // Nested, with JSON's escapes and spacing.
        let deep = kind("array<struct<a:array<int>,m:map<string,date>>>");
        let v = deep.parse_text(r#"[{"a":[1,null],"m":{"d\u00e9":"2024-01-02"}}, null, {"a":null,"m":{}}]"#).unwrap();
        assert_eq!(
            v,
            Cell::Array(vec![
                Cell::Struct(vec![
                    Cell::Array(vec![Cell::Int(1), Cell::Null]),
                    Cell::Map(vec![(s("dé"), Cell::Date(19724))]),
                ]),
                Cell::Null,
                Cell::Struct(vec![Cell::Null, Cell::Map(vec![])]),
            ])
        );
        // The stored form reads back exactly.
        let ColKind::Complex(n) = deep else { panic!() };
        let stored = to_stored(&v);
        assert_eq!(from_stored(&deep, &stored).unwrap(), v);
        assert_eq!(
            to_json(n, &v).to_string(),
            r#"[{"a":[1,null],"m":{"dé":"2024-01-02"}},null,{"a":null,"m":{}}]"#
        );
    }
}
