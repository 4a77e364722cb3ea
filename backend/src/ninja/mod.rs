//! The Ninja front end: reads what ninja 1.11 reads and means the same by it.
//!
//! - [`lexer`]: ninja's tokens as nom parsers; [`parse`]: borrowed [`parse::Statement`]s.
//! - [`eval`]: `$`-strings and shell escaping; [`canon`]: ninja's `CanonicalizePath`.
//! - [`mod@load`]: reads files (`include`, `subninja`), evaluates, builds the [`Graph`].
//! - [`graph`]: nodes, edges, rules, pools as dense `u32` ids; `env.rs` evaluates an edge's
//!   variables on demand ([`Graph::evaluate_command`]); `order.rs` gives ninja's `-j1`
//!   run order ([`Graph::run_order`]).
//! - [`emit`]: writes a graph back as a Ninja file that means the same (`emit_scoped.rs`:
//!   one file per `subninja` scope when rule names repeat).
//! - [`tools`]: `-t commands` and `-t targets all`, byte for byte (`hash_order.rs`: ninja's
//!   hash map order, for "did you mean").
//! - [`build_log`] and [`deps_log`]: entries added to Ninja's `.ninja_log` and `.ninja_deps`
//!   for outputs made before Ninja runs ([`state_file`]: what can go wrong).
//! - [`error`]: errors rendered exactly as ninja words them; [`version`]:
//!   `ninja_required_version`.
//! - `fuzzing`: the check the `parse` fuzz target runs (hidden).
//!
//! Where ninja has no limit we keep one instead of crashing: include nesting
//! ([`load::MAX_INCLUDE_DEPTH`]) and evaluated value length ([`MAX_VALUE_LEN`]).

pub mod build_log;
pub mod canon;
pub mod deps_log;
pub mod emit;
mod emit_scoped;
mod env;
pub mod error;
pub mod eval;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
mod hash_order;
pub mod lexer;
pub mod load;
mod order;
pub mod parse;
pub mod state_file;
pub mod tools;
pub mod version;

pub use env::{Escape, EvalError, MAX_VALUE_LEN};
pub use error::{LoadError, SyntaxError};
pub use graph::{EdgeId, Graph, NodeId, PoolId, RuleId, ScopeId};
pub use load::{load, load_reporting, load_with, FileReader, Manifest};
pub use state_file::StateError;
