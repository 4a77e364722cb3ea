//! The statement parser (ninja `ManifestParser`, without its evaluation): borrowed
//! [`Statement`] values, one at a time, never reading a file.
//!
//! Ninja checks some things (unknown rule, duplicate rule or pool, unknown default target,
//! missing include file) in the middle of a statement, before it lexes the rest. The
//! loader does those checks, so a statement carries the positions where ninja would
//! report them and, as `deferred`, the syntax error found later in the same statement:
//! the loader reports that one only after its own checks passed, in ninja's order.

use super::eval::EvalString;
use super::lexer::{Lexer, ParseError, Token};

/// `name = value` with the position of ninja's `last_token_` after the value.
#[derive(Clone, Copy, Debug)]
pub struct Binding<'t> {
    /// The variable's name.
    pub name: &'t [u8],
    /// Its unevaluated value.
    pub value: EvalString<'t>,
    /// Where an error about this binding is reported.
    pub pos: usize,
}

/// The indented `name = value` lines under a `rule`, `pool` or `build`.
#[derive(Debug, Default)]
pub struct Block<'t> {
    /// The bindings read before any error.
    pub bindings: Vec<Binding<'t>>,
    /// ninja's `last_token_` after the block (the start of the next statement).
    pub end_pos: usize,
    /// A syntax error inside the block, reported after the bindings before it.
    pub deferred: Option<ParseError>,
}

/// `rule NAME` or `pool NAME` with its block.
#[derive(Debug)]
pub struct Decl<'t> {
    /// The rule's or pool's name.
    pub name: &'t [u8],
    /// Where "duplicate rule/pool" is reported.
    pub name_pos: usize,
    /// The indented bindings.
    pub block: Block<'t>,
}

/// A `build` statement.
#[derive(Debug)]
pub struct Build<'t> {
    /// Outputs: explicit ones first, then `implicit_outs` implicit ones.
    pub outs: Vec<EvalString<'t>>,
    /// How many of `outs` (at the end) are implicit.
    pub implicit_outs: usize,
    /// The rule's name.
    pub rule: &'t [u8],
    /// Where "unknown build rule" is reported.
    pub rule_pos: usize,
    /// Inputs: explicit, then `implicit`, then `order_only`.
    pub ins: Vec<EvalString<'t>>,
    /// How many implicit inputs follow the explicit ones.
    pub implicit: usize,
    /// How many order-only inputs end `ins`.
    pub order_only: usize,
    /// Validations (`|@`).
    pub validations: Vec<EvalString<'t>>,
    /// The edge's own bindings; `block.end_pos` is where path errors are reported.
    pub block: Block<'t>,
}

/// A `default` statement: each path with where its error is reported.
#[derive(Debug)]
pub struct Default<'t> {
    /// The targets named, with the position after each.
    pub paths: Vec<(EvalString<'t>, usize)>,
    /// A syntax error after the last path read.
    pub deferred: Option<ParseError>,
}

/// `include` or `subninja`.
#[derive(Debug)]
pub struct Include<'t> {
    /// The file's path, unevaluated.
    pub path: EvalString<'t>,
    /// Where an error loading it is reported.
    pub pos: usize,
    /// `subninja` (a child scope) rather than `include`.
    pub new_scope: bool,
    /// A syntax error after the path (ninja reports it after loading the file).
    pub deferred: Option<ParseError>,
}

/// One statement of a Ninja file, borrowing the file's text.
#[derive(Debug)]
pub enum Statement<'t> {
    /// A file-level variable.
    Let(Binding<'t>),
    /// `rule`.
    Rule(Decl<'t>),
    /// `pool`.
    Pool(Decl<'t>),
    /// `build`.
    Build(Build<'t>),
    /// `default`.
    Default(Default<'t>),
    /// `include` / `subninja`.
    Include(Include<'t>),
}

/// Parses one file's text into statements.
pub struct Parser<'t> {
    lexer: Lexer<'t>,
}

impl<'t> Parser<'t> {
    /// A parser at the start of `text`.
    pub fn new(text: &'t [u8]) -> Self {
        Parser {
            lexer: Lexer::new(text),
        }
    }

    /// The next statement, `None` at the end of the file.
    pub fn next_statement(&mut self) -> Result<Option<Statement<'t>>, ParseError> {
        loop {
            let token = self.lexer.read_token();
            return Ok(Some(match token {
                Token::Newline => continue,
                Token::Eof => return Ok(None),
                Token::Pool => Statement::Pool(self.decl("expected pool name")?),
                Token::Rule => Statement::Rule(self.decl("expected rule name")?),
                Token::Build => Statement::Build(self.build()?),
                Token::Default => Statement::Default(self.default()?),
                Token::Ident => {
                    self.lexer.unread_token();
                    Statement::Let(self.binding()?)
                }
                Token::Include | Token::Subninja => {
                    let path = self.lexer.read_path()?;
                    let pos = self.lexer.last_token();
                    let deferred = self.expect(Token::Newline).err();
                    Statement::Include(Include {
                        path,
                        pos,
                        new_scope: token == Token::Subninja,
                        deferred,
                    })
                }
                Token::Error => {
                    return Err(self.lexer.error(self.lexer.describe_last_error()));
                }
                other => {
                    let msg = format!("unexpected {}", other.name());
                    return Err(self.lexer.error(msg));
                }
            }));
        }
    }

    fn expect(&mut self, want: Token) -> Result<(), ParseError> {
        let got = self.lexer.read_token();
        if got == want {
            return Ok(());
        }
        let msg = format!(
            "expected {}, got {}{}",
            want.name(),
            got.name(),
            want.error_hint()
        );
        Err(self.lexer.error(msg))
    }

    /// ninja's `ParseLet`.
    fn binding(&mut self) -> Result<Binding<'t>, ParseError> {
        let name = self
            .lexer
            .read_ident()
            .ok_or_else(|| self.lexer.error("expected variable name"))?;
        self.expect(Token::Equals)?;
        let value = self.lexer.read_var_value()?;
        Ok(Binding {
            name,
            value,
            pos: self.lexer.last_token(),
        })
    }

    fn block(&mut self) -> Block<'t> {
        let mut block = Block::default();
        while self.lexer.peek_token(Token::Indent) {
            match self.binding() {
                Ok(b) => block.bindings.push(b),
                Err(e) => {
                    block.deferred = Some(e);
                    break;
                }
            }
        }
        block.end_pos = self.lexer.last_token();
        block
    }

    fn decl(&mut self, missing_name: &str) -> Result<Decl<'t>, ParseError> {
        let name = self
            .lexer
            .read_ident()
            .ok_or_else(|| self.lexer.error(missing_name))?;
        self.expect(Token::Newline)?;
        let name_pos = self.lexer.last_token();
        Ok(Decl {
            name,
            name_pos,
            block: self.block(),
        })
    }

    /// Reads paths until an empty one.
    fn paths(&mut self, into: &mut Vec<EvalString<'t>>) -> Result<usize, ParseError> {
        let mut n = 0;
        loop {
            let p = self.lexer.read_path()?;
            if p.is_empty() {
                return Ok(n);
            }
            into.push(p);
            n += 1;
        }
    }

    fn build(&mut self) -> Result<Build<'t>, ParseError> {
        let mut outs = Vec::new();
        self.paths(&mut outs)?;
        let implicit_outs = if self.lexer.peek_token(Token::Pipe) {
            self.paths(&mut outs)?
        } else {
            0
        };
        if outs.is_empty() {
            return Err(self.lexer.error("expected path"));
        }
        self.expect(Token::Colon)?;
        let rule = self
            .lexer
            .read_ident()
            .ok_or_else(|| self.lexer.error("expected build command name"))?;
        let rule_pos = self.lexer.last_token();
        let mut build = Build {
            outs,
            implicit_outs,
            rule,
            rule_pos,
            ins: Vec::new(),
            implicit: 0,
            order_only: 0,
            validations: Vec::new(),
            block: Block::default(),
        };
        if let Err(e) = self.build_rest(&mut build) {
            build.block.deferred = Some(e);
        }
        Ok(build)
    }

    fn build_rest(&mut self, b: &mut Build<'t>) -> Result<(), ParseError> {
        self.paths(&mut b.ins)?;
        if self.lexer.peek_token(Token::Pipe) {
            b.implicit = self.paths(&mut b.ins)?;
        }
        if self.lexer.peek_token(Token::Pipe2) {
            b.order_only = self.paths(&mut b.ins)?;
        }
        if self.lexer.peek_token(Token::PipeAt) {
            self.paths(&mut b.validations)?;
        }
        self.expect(Token::Newline)?;
        b.block = self.block();
        Ok(())
    }

    fn default(&mut self) -> Result<Default<'t>, ParseError> {
        let first = self.lexer.read_path()?;
        if first.is_empty() {
            return Err(self.lexer.error("expected target name"));
        }
        let mut paths = vec![(first, self.lexer.last_token())];
        let deferred = loop {
            match self.lexer.read_path() {
                Err(e) => break Some(e),
                Ok(p) if p.is_empty() => break self.expect(Token::Newline).err(),
                Ok(p) => paths.push((p, self.lexer.last_token())),
            }
        };
        Ok(Default { paths, deferred })
    }
}
