//! The Ninja front end: reads what ninja 1.11 reads and means the same by it.
//!
//! - [`lexer`]: ninja's tokens as nom parsers; [`parse`]: borrowed [`parse::Statement`]s.
//! - [`eval`]: `$`-strings and shell escaping; [`canon`]: ninja's `CanonicalizePath`.
//! - [`load`]: reads files (`include`, `subninja`), evaluates, builds the [`Graph`].
//! - [`graph`]: nodes, edges, rules, pools as dense `u32` ids; `env.rs` evaluates an edge's
//!   variables on demand ([`Graph::evaluate_command`]).
//! - [`emit`]: writes a graph back as a Ninja file that means the same.
//! - [`tools`]: `-t commands` and `-t targets all`, byte for byte.
//! - [`error`]: errors rendered exactly as ninja words them.

pub mod canon;
pub mod emit;
mod env;
pub mod error;
pub mod eval;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod lexer;
pub mod load;
pub mod parse;
pub mod tools;

pub use env::{CycleError, Escape};
pub use error::{LoadError, SyntaxError};
pub use graph::{EdgeId, Graph, NodeId, PoolId, RuleId, ScopeId};
pub use load::{load, load_with, FileReader, Manifest};
