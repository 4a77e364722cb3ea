//! Ninja's lexer (ninja `lexer.in.cc`) as nom parsers over bytes, with the same tokens,
//! the same longest-match rules and the same error positions.
//!
//! The input is a whole file; a NUL byte or the end of the slice is ninja's `nul` (end of
//! input). `last_token` mirrors ninja's `last_token_`: every error is reported there.

use nom::bytes::complete::{take_while, take_while1};
use nom::IResult;
use nom::Parser as _;

use super::eval::EvalString;

/// A token of Ninja's lexer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// An invalid character.
    Error,
    /// `build`.
    Build,
    /// `:`.
    Colon,
    /// `default`.
    Default,
    /// `=`.
    Equals,
    /// A variable or rule name.
    Ident,
    /// `include`.
    Include,
    /// Leading spaces of a line.
    Indent,
    /// End of a line.
    Newline,
    /// `||`.
    Pipe2,
    /// `|`.
    Pipe,
    /// `|@`.
    PipeAt,
    /// `pool`.
    Pool,
    /// `rule`.
    Rule,
    /// `subninja`.
    Subninja,
    /// End of input.
    Eof,
}

impl Token {
    /// The token's name as ninja's `Lexer::TokenName` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Token::Error => "lexing error",
            Token::Build => "'build'",
            Token::Colon => "':'",
            Token::Default => "'default'",
            Token::Equals => "'='",
            Token::Ident => "identifier",
            Token::Include => "'include'",
            Token::Indent => "indent",
            Token::Newline => "newline",
            Token::Pipe2 => "'||'",
            Token::Pipe => "'|'",
            Token::PipeAt => "'|@'",
            Token::Pool => "'pool'",
            Token::Rule => "'rule'",
            Token::Subninja => "'subninja'",
            Token::Eof => "eof",
        }
    }

    /// The hint ninja appends when this token was expected (`TokenErrorHint`).
    pub fn error_hint(self) -> &'static str {
        match self {
            Token::Colon => " ($ also escapes ':')",
            _ => "",
        }
    }
}

/// An error at a byte offset of the file being lexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of ninja's `last_token_` when the error was found.
    pub pos: usize,
    /// The reason, as ninja words it.
    pub msg: Vec<u8>,
}

impl ParseError {
    /// An error at `pos`.
    pub fn new(pos: usize, msg: impl Into<Vec<u8>>) -> Self {
        ParseError {
            pos,
            msg: msg.into(),
        }
    }
}

/// `varname = [a-zA-Z0-9_.-]+`.
pub fn is_varname_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-'
}

/// `simple_varname = [a-zA-Z0-9_-]+`.
pub fn is_simple_varname_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn varname(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_varname_char).parse(i)
}

fn spaces(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(|c| c == b' ').parse(i)
}

/// Text of an evaluated string: `[^$ :\r\n|\000]+`.
fn plain_text(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|c: u8| !matches!(c, b'$' | b' ' | b':' | b'\r' | b'\n' | b'|' | 0)).parse(i)
}

/// The lexer over one file.
pub struct Lexer<'t> {
    text: &'t [u8],
    pos: usize,
    last_token: usize,
}

impl<'t> Lexer<'t> {
    /// A lexer at the start of `text`.
    pub fn new(text: &'t [u8]) -> Self {
        Lexer {
            text,
            pos: 0,
            last_token: 0,
        }
    }

    /// ninja's `last_token_`: where an error found now is reported.
    pub fn last_token(&self) -> usize {
        self.last_token
    }

    /// An error at `last_token`.
    pub fn error(&self, msg: impl Into<Vec<u8>>) -> ParseError {
        ParseError::new(self.last_token, msg)
    }

    fn rest_at(&self, pos: usize) -> &'t [u8] {
        self.text.get(pos..).unwrap_or(&[])
    }

    fn at(&self, pos: usize) -> u8 {
        self.text.get(pos).copied().unwrap_or(0)
    }

    fn offset_of(&self, rest: &[u8]) -> usize {
        self.text.len() - rest.len()
    }

    /// ninja's `DescribeLastError`.
    pub fn describe_last_error(&self) -> &'static str {
        if self.at(self.last_token) == b'\t' {
            "tabs are not allowed, use spaces"
        } else {
            "lexing error"
        }
    }

    /// Reads the next token (ninja `ReadToken`), skipping comment lines.
    pub fn read_token(&mut self) -> Token {
        let mut p = self.pos;
        let (start, token, end) = loop {
            let start = p;
            let rest = self.rest_at(p);
            let n_spaces = spaces(rest).map(|(_, s)| s.len()).unwrap_or(0);
            let after = start + n_spaces;
            let c = self.at(after);
            if c == b'#' {
                let body = self.rest_at(after + 1);
                let stop = memchr::memchr2(b'\n', 0, body);
                if let Some(k) = stop.filter(|&k| body.get(k) == Some(&b'\n')) {
                    p = after + 1 + k + 1;
                    continue;
                }
            }
            if c == b'\r' && self.at(after + 1) == b'\n' {
                break (start, Token::Newline, after + 2);
            }
            if c == b'\n' {
                break (start, Token::Newline, after + 1);
            }
            if n_spaces > 0 {
                break (start, Token::Indent, after);
            }
            if let Ok((r, word)) = varname(rest) {
                let t = match word {
                    b"build" => Token::Build,
                    b"pool" => Token::Pool,
                    b"rule" => Token::Rule,
                    b"default" => Token::Default,
                    b"include" => Token::Include,
                    b"subninja" => Token::Subninja,
                    _ => Token::Ident,
                };
                break (start, t, self.offset_of(r));
            }
            break match c {
                b'=' => (start, Token::Equals, start + 1),
                b':' => (start, Token::Colon, start + 1),
                b'|' => match self.at(start + 1) {
                    b'@' => (start, Token::PipeAt, start + 2),
                    b'|' => (start, Token::Pipe2, start + 2),
                    _ => (start, Token::Pipe, start + 1),
                },
                0 => (start, Token::Eof, start),
                _ => (start, Token::Error, start + 1),
            };
        };
        self.last_token = start;
        self.pos = end;
        if token != Token::Newline && token != Token::Eof {
            self.eat_whitespace();
        }
        token
    }

    /// Reads a token and puts it back unless it is `t` (ninja `PeekToken`).
    pub fn peek_token(&mut self, t: Token) -> bool {
        let got = self.read_token();
        if got != t {
            self.unread_token();
        }
        got == t
    }

    /// Puts back the last token read (ninja `UnreadToken`).
    pub fn unread_token(&mut self) {
        self.pos = self.last_token;
    }

    /// Skips spaces and `$`-newline continuations (ninja `EatWhitespace`).
    fn eat_whitespace(&mut self) {
        loop {
            match (
                self.at(self.pos),
                self.at(self.pos + 1),
                self.at(self.pos + 2),
            ) {
                (b' ', _, _) => self.pos += 1,
                (b'$', b'\n', _) => self.pos += 2,
                (b'$', b'\r', b'\n') => self.pos += 3,
                _ => break,
            }
        }
    }

    /// Reads a name (ninja `ReadIdent`); `None` if there is none here.
    pub fn read_ident(&mut self) -> Option<&'t [u8]> {
        let start = self.pos;
        self.last_token = start;
        let (rest, name) = varname(self.rest_at(start)).ok()?;
        self.pos = self.offset_of(rest);
        self.eat_whitespace();
        Some(name)
    }

    /// Reads a path: stops before space, `:`, `|` or the end of the line.
    pub fn read_path(&mut self) -> Result<EvalString<'t>, ParseError> {
        self.read_eval_string(true)
    }

    /// Reads a variable's value up to and including the end of the line.
    pub fn read_var_value(&mut self) -> Result<EvalString<'t>, ParseError> {
        self.read_eval_string(false)
    }

    /// ninja's `ReadEvalString`: validates the escapes and returns the raw text.
    fn read_eval_string(&mut self, path: bool) -> Result<EvalString<'t>, ParseError> {
        let begin = self.pos;
        let mut p = begin;
        let mut empty = true;
        let end_raw;
        loop {
            let start = p;
            let rest = self.rest_at(p);
            if let Ok((r, _)) = plain_text(rest) {
                p = self.offset_of(r);
                empty = false;
                continue;
            }
            match (self.at(p), self.at(p + 1)) {
                (b'\r', b'\n') => {
                    end_raw = start;
                    if !path {
                        p += 2;
                    }
                    break;
                }
                (b'\n', _) => {
                    end_raw = start;
                    if !path {
                        p += 1;
                    }
                    break;
                }
                (b' ' | b':' | b'|', _) => {
                    if path {
                        end_raw = start;
                        break;
                    }
                    p += 1;
                    empty = false;
                }
                (b'$', next) => match self.escape(p, next) {
                    Some((len, produces)) => {
                        p += len;
                        empty &= !produces;
                    }
                    None => {
                        self.last_token = start;
                        return Err(ParseError::new(
                            start,
                            "bad $-escape (literal $ must be written as $$)",
                        ));
                    }
                },
                (0, _) => {
                    self.last_token = start;
                    return Err(ParseError::new(start, "unexpected EOF"));
                }
                _ => {
                    self.last_token = start;
                    return Err(ParseError::new(start, self.describe_last_error()));
                }
            }
        }
        self.last_token = end_raw;
        self.pos = p;
        if path {
            self.eat_whitespace();
        }
        let raw = self.text.get(begin..end_raw).unwrap_or(&[]);
        Ok(EvalString::from_raw(raw, empty))
    }

    /// Length of the escape at `p` (which holds `$`) and whether it produces anything.
    fn escape(&self, p: usize, next: u8) -> Option<(usize, bool)> {
        match next {
            b'$' | b' ' | b':' => Some((2, true)),
            b'\n' => Some((2 + self.count_spaces(p + 2), false)),
            b'\r' if self.at(p + 2) == b'\n' => Some((3 + self.count_spaces(p + 3), false)),
            b'{' => {
                let (rest, _) = varname(self.rest_at(p + 2)).ok()?;
                (rest.first() == Some(&b'}')).then(|| (self.offset_of(rest) + 1 - p, true))
            }
            c if is_simple_varname_char(c) => {
                let n = self
                    .rest_at(p + 1)
                    .iter()
                    .take_while(|&&c| is_simple_varname_char(c))
                    .count();
                Some((1 + n, true))
            }
            _ => None,
        }
    }

    fn count_spaces(&self, p: usize) -> usize {
        self.rest_at(p).iter().take_while(|&&c| c == b' ').count()
    }
}
