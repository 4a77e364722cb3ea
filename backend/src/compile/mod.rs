//! Compile-command models: what a gcc or clang command line means to a cache (DESIGN §3).
//!
//! [`parse`] turns the words after `cached-ninja cc --` into a [`CompileCommand`] or says why the
//! command is not cacheable ([`Uncacheable`]); the launcher then runs such a command unchanged.
//!
//! - [`args`]: the gcc/clang argument model (arity of options, source and output, dependency
//!   options, split DWARF, what makes a command uncacheable).
//! - `command`: a parsed command and what the launcher asks of it (outputs, forced
//!   includes, prefix maps).
//! - `refused`: the options that make a command uncacheable, and why.
//! - [`rsp`]: `@response` files, split the way gcc's `libiberty` `buildargv` does.
//! - [`phases`]: the compile as preprocessor and compile proper (a distributed compile).
//! - [`depfile`]: reading the Makefile fragment a compiler writes for `-MD` and writing the one
//!   Ninja expects on a cache hit.
//! - `unkeyed`: what in a source or header the key cannot hash ([`unkeyed_input`]), and
//!   relative line directives ([`relative_line_name`]).
//! - [`rustc`]: the rustc model (crate, crate types, outputs by rustc's naming rules, `--extern`
//!   artifacts, `-L`/`-l`, `@argfile`s) and rustc's dep-info (files read, `env-dep` lines).

pub mod args;
mod command;
pub mod depfile;
pub mod phases;
mod refused;
pub mod rsp;
pub mod rustc;
mod unkeyed;

pub use args::{
    drop_wrapper, is_wrapper, parse, CompileCommand, CompilerFamily, DepOutput, Lang, SplitDwarf,
    Uncacheable,
};
pub use unkeyed::{relative_line_name, unkeyed_input, Unkeyed};
