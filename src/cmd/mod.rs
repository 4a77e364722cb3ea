//! One module per subcommand; each parses its own arguments and returns an exit code.

pub mod build;
pub mod cache;
pub mod cc;
pub mod configure;
pub mod demo;
pub mod explain;
pub mod fetch;
pub mod generate;
pub mod key;
pub mod publish;
pub mod split;
pub mod stats;
pub mod tool;
