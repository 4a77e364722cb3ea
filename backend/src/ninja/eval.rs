//! Strings with `$`-references (ninja's `EvalString`) and their evaluation.
//!
//! An [`EvalString`] is the raw text of a value or path exactly as written in the file,
//! already validated by the lexer; evaluating re-reads the escapes. This keeps parsing
//! free of allocation: most paths have no `$` at all and evaluate to their own bytes.

/// A validated, unevaluated string: the raw text between its start and its terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalString<'t> {
    raw: &'t [u8],
    empty: bool,
}

/// One piece of an evaluated string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'t> {
    /// Literal bytes.
    Text(&'t [u8]),
    /// A `$name` or `${name}` reference.
    Var(&'t [u8]),
}

impl<'t> EvalString<'t> {
    /// Wraps raw text that the lexer validated; `empty` when it yields no piece at all.
    pub(crate) fn from_raw(raw: &'t [u8], empty: bool) -> Self {
        EvalString { raw, empty }
    }

    /// The raw text as written (escapes not applied).
    pub fn raw(&self) -> &'t [u8] {
        self.raw
    }

    /// True when the string has no pieces (ninja's `EvalString::empty`).
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// The pieces of the string, in order.
    pub fn pieces(&self) -> Pieces<'t> {
        Pieces { rest: self.raw }
    }

    /// Evaluates with `lookup` for variables, appending to `out`.
    pub fn evaluate_into(&self, out: &mut Vec<u8>, mut lookup: impl FnMut(&[u8], &mut Vec<u8>)) {
        if memchr::memchr(b'$', self.raw).is_none() {
            out.extend_from_slice(self.raw);
            return;
        }
        for piece in self.pieces() {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t),
                Piece::Var(v) => lookup(v, out),
            }
        }
    }
}

/// Iterator over the pieces of an [`EvalString`].
pub struct Pieces<'t> {
    rest: &'t [u8],
}

impl<'t> Iterator for Pieces<'t> {
    type Item = Piece<'t>;

    fn next(&mut self) -> Option<Piece<'t>> {
        loop {
            let rest = self.rest;
            if rest.is_empty() {
                return None;
            }
            if rest[0] != b'$' {
                let n = memchr::memchr(b'$', rest).unwrap_or(rest.len());
                self.rest = &rest[n..];
                return Some(Piece::Text(&rest[..n]));
            }
            let next = rest.get(1).copied().unwrap_or(0);
            let (len, piece) = match next {
                b'$' => (2, Some(Piece::Text(b"$"))),
                b' ' => (2, Some(Piece::Text(b" "))),
                b':' => (2, Some(Piece::Text(b":"))),
                b'\n' | b'\r' => {
                    let skip = if next == b'\r' { 3 } else { 2 };
                    let after = rest.get(skip..).unwrap_or(&[]);
                    (
                        skip + after.iter().take_while(|&&c| c == b' ').count(),
                        None,
                    )
                }
                b'{' => {
                    let close = memchr::memchr(b'}', rest).unwrap_or(rest.len());
                    (
                        close + 1,
                        Some(Piece::Var(rest.get(2..close).unwrap_or(&[]))),
                    )
                }
                _ => {
                    let n = rest[1..]
                        .iter()
                        .take_while(|&&c| super::lexer::is_simple_varname_char(c))
                        .count();
                    (1 + n, Some(Piece::Var(&rest[1..1 + n])))
                }
            };
            self.rest = rest.get(len..).unwrap_or(&[]);
            if let Some(p) = piece {
                return Some(p);
            }
        }
    }
}

/// Characters that never need quoting for a POSIX shell (ninja's `IsKnownShellSafeCharacter`).
fn is_shell_safe(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'-' | b'.' | b'/')
}

/// Appends `path` quoted for a POSIX shell, as ninja's `GetShellEscapedString` does.
pub fn shell_escape_into(path: &[u8], out: &mut Vec<u8>) {
    if path.iter().all(|&c| is_shell_safe(c)) {
        out.extend_from_slice(path);
        return;
    }
    out.push(b'\'');
    for &c in path {
        if c == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(c);
        }
    }
    out.push(b'\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        EvalString::from_raw(raw, false).evaluate_into(&mut out, |v, out| {
            out.push(b'<');
            out.extend_from_slice(v);
            out.push(b'>');
        });
        out
    }

    #[test]
    fn escapes() {
        assert_eq!(eval(b"a$$b$ c$:d"), b"a$b c:d");
        assert_eq!(eval(b"a$\n   b"), b"ab");
        assert_eq!(eval(b"a$\r\n b"), b"ab");
        assert_eq!(eval(b"${x.y}z$a-b.c"), b"<x.y>z<a-b>.c");
    }

    #[test]
    fn shell() {
        let mut out = Vec::new();
        shell_escape_into(b"it's a", &mut out);
        assert_eq!(out, b"'it'\\''s a'");
    }
}
