//! Load errors, rendered exactly as ninja 1.11.1 words them (ninja `Lexer::Error`).

use std::fmt;

/// Ninja's column limit for the context line under an error.
const TRUNCATE_COLUMN: usize = 72;

/// An error at a place in a Ninja file: `file:line: reason`, then the line and a caret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The file's name as ninja names it (the path given to `-f`, `include` or `subninja`).
    pub file: Vec<u8>,
    /// 1-based line number.
    pub line: usize,
    /// 0-based column (bytes) of the caret.
    pub column: usize,
    /// Byte offset in the file.
    pub offset: usize,
    /// The line's text (at most 72 bytes, ninja's context) without its newline.
    pub line_text: Vec<u8>,
    /// The reason, as ninja words it.
    pub reason: Vec<u8>,
}

impl SyntaxError {
    /// Locates `offset` in `text` (the whole file) as ninja does.
    pub fn at(file: &[u8], text: &[u8], offset: usize, reason: Vec<u8>) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(&[]);
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let line_bytes = text.get(line_start..).unwrap_or(&[]);
        let end = line_bytes
            .iter()
            .take(TRUNCATE_COLUMN)
            .position(|&c| c == b'\n' || c == 0)
            .unwrap_or(line_bytes.len().min(TRUNCATE_COLUMN));
        SyntaxError {
            file: file.to_vec(),
            line,
            column: offset - line_start,
            offset,
            line_text: line_bytes.get(..end).unwrap_or(&[]).to_vec(),
            reason,
        }
    }

    /// The text ninja prints after `ninja: error: ` (without the final newline).
    pub fn render(&self) -> Vec<u8> {
        let mut out = self.file.clone();
        out.extend_from_slice(format!(":{}: ", self.line).as_bytes());
        out.extend_from_slice(&self.reason);
        out.push(b'\n');
        if self.column > 0 && self.column < TRUNCATE_COLUMN {
            out.extend_from_slice(&self.line_text);
            // Ninja's context stops at a newline, a NUL or 72 bytes; only the last adds "...".
            let whole_line = self.line_text.len() < TRUNCATE_COLUMN;
            if !whole_line {
                out.extend_from_slice(b"...");
            }
            out.push(b'\n');
            out.extend(std::iter::repeat_n(b' ', self.column));
            out.extend_from_slice(b"^ near here");
        }
        out
    }
}

/// Why loading a manifest failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// An error at a place in a file (syntax, unknown rule, missing include, …).
    #[error("{}", String::from_utf8_lossy(&.0.render()))]
    Syntax(Box<SyntaxError>),
    /// The top-level file could not be read: `loading 'FILE': REASON`.
    #[error("loading '{}': {}", String::from_utf8_lossy(.path), .reason)]
    Read {
        /// The path as given.
        path: Vec<u8>,
        /// The system's reason (`strerror`).
        reason: String,
    },
    /// Ninja's fatal errors (`ninja: fatal: …`): an incompatible `ninja_required_version`,
    /// a path with too many components.
    #[error("{}", String::from_utf8_lossy(.0))]
    Fatal(Vec<u8>),
}

impl LoadError {
    /// The text ninja prints after its `ninja: error: ` (or `ninja: fatal: `) prefix.
    pub fn render(&self) -> Vec<u8> {
        match self {
            LoadError::Syntax(e) => e.render(),
            LoadError::Read { path, reason } => {
                let mut out = b"loading '".to_vec();
                out.extend_from_slice(path);
                out.extend_from_slice(b"': ");
                out.extend_from_slice(reason.as_bytes());
                out
            }
            LoadError::Fatal(msg) => msg.clone(),
        }
    }

    /// True for errors ninja reports as `fatal:` rather than `error:`.
    pub fn is_fatal(&self) -> bool {
        matches!(self, LoadError::Fatal(_))
    }
}

/// The system's text for an I/O error, as C's `strerror` gives it.
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A displayable byte string (lossy), for messages.
pub struct Lossy<'a>(pub &'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", String::from_utf8_lossy(self.0))
    }
}
