//! One module per subcommand; each parses its own arguments and returns an exit code.

pub mod split;
pub mod tool;
pub mod cache;
pub mod cc;
pub mod stats;
pub mod generate;
pub mod configure;
pub mod demo;
pub mod build;
