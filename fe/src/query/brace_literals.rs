//! Upstream's brace literals, which DataFusion's parser does not read, turned into the
//! functions it does before the statement is parsed:
//!
//! - `{k: v, ...}` is a MAP (`map(k, v, ...)`), `{}` an empty one (`map([], [])`);
//! - `{a, b, ...}` is a STRUCT whose fields upstream names `col1`, `col2`, ...
//!   (`named_struct('col1', a, 'col2', b, ...)`).
//!
//! As in upstream's grammar, a colon at the top level of the braces is what makes a map;
//! they nest (`{'a': {1, 'x'}}`), and NULL is a value like any other. The text between the
//! braces is kept as written: only the braces, the map's colons and the struct's commas
//! are replaced, found by the MySQL tokenizer (a brace in a string is not one).

use std::borrow::Cow;

use datafusion::sql::sqlparser::dialect::MySqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::FeError;

/// Upstream's refusal of a map literal whose keys and values do not pair up.
const ODD_MAP: &str = "map can't be odd parameters, need even parameters";

pub(super) fn rewrite(sql: &str) -> Result<Cow<'_, str>, FeError> {
    if !sql.contains('{') {
        return Ok(Cow::Borrowed(sql));
    }
    // What does not tokenize is left for the parser to report.
    let Ok(tokens) = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location() else {
        return Ok(Cow::Borrowed(sql));
    };
    if !tokens.iter().any(|t| t.token == Token::LBrace) {
        return Ok(Cow::Borrowed(sql));
    }
    let offsets = Offsets::new(sql);
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let at = offsets.start(t);
        match &t.token {
            Token::LBrace => {
                let frame = Frame::open(&tokens[i + 1..])?;
                let text = match frame.kind {
                    // DataFusion's map() wants arguments: the empty one is of empty lists.
                    Kind::Map if frame.empty => "map([], []".to_string(),
                    Kind::Map => "map(".to_string(),
                    Kind::Struct => "named_struct('col1', ".to_string(),
                };
                edits.push((at, at + 1, text));
                frames.push(frame);
            }
            Token::RBrace => {
                if frames.pop().is_some() {
                    edits.push((at, at + 1, ")".to_string()));
                }
            }
            Token::LParen | Token::LBracket => {
                if let Some(f) = frames.last_mut() {
                    f.depth += 1;
                }
            }
            Token::RParen | Token::RBracket => {
                if let Some(f) = frames.last_mut() {
                    f.depth = f.depth.saturating_sub(1);
                }
            }
            Token::Comma => {
                if let Some(f) = frames.last_mut().filter(|f| f.depth == 0 && f.kind == Kind::Struct) {
                    f.fields += 1;
                    edits.push((at, at + 1, format!(", 'col{}',", f.fields)));
                }
            }
            Token::Colon => {
                if frames.last().is_some_and(|f| f.depth == 0 && f.kind == Kind::Map) {
                    edits.push((at, at + 1, ",".to_string()));
                }
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(sql.len() + 16 * edits.len());
    let mut pos = 0;
    for (start, end, text) in edits {
        out.push_str(&sql[pos..start]);
        out.push_str(&text);
        pos = end;
    }
    out.push_str(&sql[pos..]);
    Ok(Cow::Owned(out))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Struct,
}

struct Frame {
    kind: Kind,
    /// Parentheses and brackets open inside the braces: their commas are not ours.
    depth: usize,
    /// The struct's fields so far.
    fields: usize,
    /// `{}`.
    empty: bool,
}

impl Frame {
    /// The braces opening before `rest`: a map when a colon stands at their top level (each
    /// item then a `key: value` pair), a struct otherwise; `{}` is an empty map.
    fn open(rest: &[TokenWithSpan]) -> Result<Frame, FeError> {
        let mut depth = 0usize;
        // Per top-level item: whether it holds a colon and anything at all.
        let mut colons = Vec::new();
        let (mut colon, mut empty_item) = (0usize, true);
        for t in rest {
            match &t.token {
                Token::LBrace | Token::LParen | Token::LBracket => depth += 1,
                Token::RBrace if depth == 0 => break,
                Token::RBrace | Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
                Token::Comma if depth == 0 => {
                    colons.push((colon, empty_item));
                    (colon, empty_item) = (0, true);
                    continue;
                }
                Token::Colon if depth == 0 => colon += 1,
                Token::Whitespace(_) => continue,
                _ => {}
            }
            empty_item = false;
        }
        colons.push((colon, empty_item));
        let empty = matches!(colons.as_slice(), [(0, true)]);
        let kind = match colons.as_slice() {
            _ if empty => Kind::Map,
            items if items.iter().all(|(c, _)| *c == 0) => Kind::Struct,
            items if items.iter().all(|(c, empty)| *c == 1 && !empty) => Kind::Map,
            _ => return Err(FeError::Analysis(ODD_MAP.to_string())),
        };
        Ok(Frame { kind, depth: 0, fields: 1, empty })
    }
}

/// Byte offsets of the tokenizer's (line, column) locations, columns counted in characters.
struct Offsets {
    /// Byte offset of each line's start.
    lines: Vec<usize>,
    sql: String,
}

impl Offsets {
    fn new(sql: &str) -> Self {
        let mut lines = vec![0];
        lines.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        Offsets { lines, sql: sql.to_string() }
    }

    fn start(&self, t: &TokenWithSpan) -> usize {
        let loc = t.span.start;
        let line = self.lines.get((loc.line as usize).saturating_sub(1)).copied().unwrap_or(self.sql.len());
        let rest = &self.sql[line..];
        rest.char_indices().nth((loc.column as usize).saturating_sub(1)).map(|(i, _)| line + i).unwrap_or(self.sql.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(sql: &str) -> String {
        rewrite(sql).unwrap().into_owned()
    }

    #[test]
    fn maps_and_structs_as_upstream_tells_them_apart() {
        assert_eq!(r("SELECT {'k': 1, 'j': 2}"), "SELECT map('k', 1, 'j', 2)");
        assert_eq!(r("SELECT {1, 'a'}"), "SELECT named_struct('col1', 1, 'col2', 'a')");
        assert_eq!(r("SELECT {}"), "SELECT map([], [])");
        assert_eq!(r("SELECT {1:2}"), "SELECT map(1,2)");
        assert_eq!(r("SELECT {'x'}"), "SELECT named_struct('col1', 'x')");
        assert_eq!(r("SELECT {'k': NULL}, {NULL, 1}"), "SELECT map('k', NULL), named_struct('col1', NULL, 'col2', 1)");
        // Nested, and commas inside arrays or calls stay theirs.
        assert_eq!(
            r("VALUES (1, {'a': {1, [2, 3]}, 'b': {4, [5]}})"),
            "VALUES (1, map('a', named_struct('col1', 1, 'col2', [2, 3]), 'b', named_struct('col1', 4, 'col2', [5])))"
        );
        assert_eq!(r("SELECT {concat('a', 'b'): 1}"), "SELECT map(concat('a', 'b'), 1)");
        // Braces in strings are text; multi-byte text before a literal keeps its place.
        assert_eq!(r("SELECT '{1}', 'é', {'ü': 1}"), "SELECT '{1}', 'é', map('ü', 1)");
        assert_eq!(r("SELECT\n  {'a',\n 'b'}"), "SELECT\n  named_struct('col1', 'a', 'col2',\n 'b')");
        assert!(matches!(rewrite("SELECT 1"), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn a_map_that_does_not_pair_up_is_refused_as_upstream() {
        for sql in ["SELECT {'a': 1, 'b'}", "SELECT {'a': 1: 2}", "SELECT {'a': 1, }"] {
            assert_eq!(rewrite(sql).unwrap_err().to_string(), FeError::Analysis(ODD_MAP.into()).to_string(), "{sql}");
        }
    }
}
