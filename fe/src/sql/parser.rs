//! The token cursor shared by the statement-family parsers: keyword and
//! punctuation matching, identifiers, literals and positioned syntax errors.

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::ast::{Properties, TableName};
use crate::error::FeError;

pub(crate) type PResult<T> = Result<T, FeError>;

struct Tok {
    token: Token,
    line: u64,
    column: u64,
}

pub(crate) struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Where the input ends, for errors at end of input.
    end: (u64, u64),
}

impl Parser {
    pub(crate) fn new(sql: &str) -> PResult<Self> {
        let dialect = MySqlDialect {};
        let raw = Tokenizer::new(&dialect, sql).tokenize_with_location().map_err(|e| FeError::Parse {
            line: e.location.line,
            column: e.location.column,
            message: e.message,
        })?;
        let mut end = (1, 1);
        let mut toks = Vec::with_capacity(raw.len());
        for t in raw {
            end = (t.span.end.line, t.span.end.column);
            if matches!(t.token, Token::Whitespace(_) | Token::EOF) {
                continue;
            }
            toks.push(Tok { token: t.token, line: t.span.start.line, column: t.span.start.column });
        }
        Ok(Parser { toks, pos: 0, end })
    }

    // ------------------------------------------------------------ cursor

    pub(crate) fn peek(&self) -> Option<&Token> {
        self.peek_nth(0)
    }

    pub(crate) fn peek_nth(&self, n: usize) -> Option<&Token> {
        self.toks.get(self.pos + n).map(|t| &t.token)
    }

    pub(crate) fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).map(|t| t.token.clone());
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// True at the end of the statement: no tokens left, or only a trailing `;`.
    pub(crate) fn at_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(Token::SemiColon) => self.peek_nth(1).is_none(),
            _ => false,
        }
    }

    /// Requires the end of the statement.
    pub(crate) fn finish(&mut self) -> PResult<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.unexpected("end of statement"))
        }
    }

    // ------------------------------------------------------------ keywords

    fn is_kw(token: Option<&Token>, kw: &str) -> bool {
        matches!(token, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }

    pub(crate) fn peek_kw(&self, kw: &str) -> bool {
        Self::is_kw(self.peek(), kw)
    }

    pub(crate) fn peek_kw_nth(&self, n: usize, kw: &str) -> bool {
        Self::is_kw(self.peek_nth(n), kw)
    }

    pub(crate) fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the whole keyword sequence or nothing.
    pub(crate) fn eat_kws(&mut self, kws: &[&str]) -> bool {
        if kws.iter().enumerate().all(|(i, kw)| self.peek_kw_nth(i, kw)) {
            self.pos += kws.len();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_kw(&mut self, kw: &str) -> PResult<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected(kw))
        }
    }

    pub(crate) fn expect_kws(&mut self, kws: &[&str]) -> PResult<()> {
        for kw in kws {
            self.expect_kw(kw)?;
        }
        Ok(())
    }

    /// The next unquoted word upper-cased, without consuming it.
    pub(crate) fn peek_word_upper(&self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    // ------------------------------------------------------------ punctuation

    pub(crate) fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, token: &Token) -> PResult<()> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{token}'")))
        }
    }

    // ------------------------------------------------------------ names and literals

    /// An identifier, back-quoted or bare.
    pub(crate) fn ident(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            Some(Token::Word(w)) if !w.value.is_empty() && !w.value.starts_with('@') => {
                let v = w.value.clone();
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// One `>` closing a type's `<...>`; of a `>>` token (two nested types closing at once)
    /// the first half, leaving the other `>` for the enclosing type.
    pub(crate) fn expect_gt(&mut self) -> PResult<()> {
        match self.peek() {
            Some(Token::Gt) => {
                self.pos += 1;
                Ok(())
            }
            Some(Token::ShiftRight) => {
                self.toks[self.pos].token = Token::Gt;
                self.toks[self.pos].column += 1;
                Ok(())
            }
            _ => Err(self.unexpected(">")),
        }
    }

    /// `[db.]name`.
    pub(crate) fn table_name(&mut self) -> PResult<TableName> {
        let first = self.ident("table name")?;
        if self.eat(&Token::Period) {
            let table = self.ident("table name")?;
            Ok(TableName { db: Some(first), table })
        } else {
            Ok(TableName { db: None, table: first })
        }
    }

    /// `(a, b, ...)` of identifiers.
    pub(crate) fn ident_list(&mut self, what: &str) -> PResult<Vec<String>> {
        self.expect(&Token::LParen)?;
        let mut out = vec![self.ident(what)?];
        while self.eat(&Token::Comma) {
            out.push(self.ident(what)?);
        }
        self.expect(&Token::RParen)?;
        Ok(out)
    }

    /// A string literal, single or double quoted.
    pub(crate) fn string(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) => {
                let v = s.clone();
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    pub(crate) fn peek_is_string(&self) -> bool {
        matches!(self.peek(), Some(Token::SingleQuotedString(_)) | Some(Token::DoubleQuotedString(_)))
    }

    /// A string or a bare/back-quoted word (for names such as charsets and repositories).
    pub(crate) fn string_or_ident(&mut self, what: &str) -> PResult<String> {
        if self.peek_is_string() {
            self.string(what)
        } else {
            self.ident(what)
        }
    }

    /// An unsigned integer literal.
    pub(crate) fn u64(&mut self, what: &str) -> PResult<u64> {
        match self.peek() {
            Some(Token::Number(n, _)) => match n.parse::<u64>() {
                Ok(v) => {
                    self.pos += 1;
                    Ok(v)
                }
                Err(_) => Err(self.error_here(format!("expected {what}, found '{n}'"))),
            },
            _ => Err(self.unexpected(what)),
        }
    }

    pub(crate) fn peek_nth_is_number(&self, n: usize) -> bool {
        matches!(self.peek_nth(n), Some(Token::Number(_, _)))
    }

    /// A catalog id (database, table, partition...): a non-negative 64-bit integer.
    pub(crate) fn id(&mut self, what: &str) -> PResult<i64> {
        let at = self.mark();
        let v = self.u64(what)?;
        i64::try_from(v).map_err(|_| self.error_at(at, format!("{what} {v} is out of range")))
    }

    /// `PROPERTIES ("k" = "v", ...)` when present.
    pub(crate) fn opt_properties(&mut self) -> PResult<Properties> {
        if self.eat_kw("PROPERTIES") {
            self.property_list()
        } else {
            Ok(Vec::new())
        }
    }

    /// `("k" = "v", ...)`; keys may also be bare words, values numbers.
    pub(crate) fn property_list(&mut self) -> PResult<Properties> {
        self.expect(&Token::LParen)?;
        let mut props = Vec::new();
        if self.eat(&Token::RParen) {
            return Ok(props);
        }
        loop {
            let key = self.string_or_ident("property key")?;
            self.expect(&Token::Eq)?;
            let value = match self.peek() {
                Some(Token::Number(n, _)) => {
                    let v = n.clone();
                    self.pos += 1;
                    v
                }
                _ => self.string_or_ident("property value")?,
            };
            props.push((key, value));
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen)?;
        Ok(props)
    }

    /// `LIKE 'pattern'` when present.
    pub(crate) fn opt_like(&mut self) -> PResult<Option<String>> {
        if self.eat_kw("LIKE") {
            Ok(Some(self.string("pattern")?))
        } else {
            Ok(None)
        }
    }

    /// `FROM db` / `IN db` when present.
    pub(crate) fn opt_from_db(&mut self) -> PResult<Option<String>> {
        if self.eat_kw("FROM") || self.eat_kw("IN") {
            Ok(Some(self.ident("database name")?))
        } else {
            Ok(None)
        }
    }

    // ------------------------------------------------------------ errors

    /// The first `n` tokens of the statement as written, for "not supported" messages.
    pub(crate) fn first_words(&self, n: usize) -> String {
        self.toks
            .iter()
            .take_while(|t| t.token != Token::SemiColon)
            .take(n)
            .map(|t| t.token.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub(crate) fn not_supported(&self) -> FeError {
        FeError::NotSupported(self.first_words(3))
    }

    /// The statement text from the current token to the end, as written (`sql` is the
    /// text this parser was made from).
    pub(crate) fn rest_of<'a>(&self, sql: &'a str) -> &'a str {
        let Some(t) = self.toks.get(self.pos) else { return "" };
        // Lines count '\n's, columns count chars, both from 1 (the tokenizer's rule).
        let mut line = 1u64;
        let mut column = 1u64;
        for (i, ch) in sql.char_indices() {
            if line == t.line && column == t.column {
                return &sql[i..];
            }
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        ""
    }

    /// The cursor position, to report an error at a token already consumed.
    pub(crate) fn mark(&self) -> usize {
        self.pos
    }

    /// Back to a position taken with [`Parser::mark`].
    pub(crate) fn reset(&mut self, mark: usize) {
        self.pos = mark;
    }

    /// The tokens up to the next `,` outside parentheses (or the end), as SQL text.
    pub(crate) fn expression_text(&mut self) -> String {
        let mut depth = 0usize;
        let mut parts = Vec::new();
        while let Some(t) = self.peek() {
            match t {
                Token::Comma | Token::SemiColon if depth == 0 => break,
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
            parts.push(t.to_string());
            self.pos += 1;
        }
        parts.join(" ")
    }

    pub(crate) fn error_here(&self, message: String) -> FeError {
        self.error_at(self.pos, message)
    }

    pub(crate) fn error_at(&self, mark: usize, message: String) -> FeError {
        let (line, column) = match self.toks.get(mark) {
            Some(t) => (t.line, t.column),
            None => self.end,
        };
        FeError::Parse { line, column, message }
    }

    pub(crate) fn unexpected(&self, expected: &str) -> FeError {
        let found = match self.peek() {
            None => "end of input".to_string(),
            Some(t) => format!("'{t}'"),
        };
        self.error_here(format!("expected {expected}, found {found}"))
    }
}
