//! The Ninja front end and everything that reasons about a build graph (DESIGN §2, §3).
#![deny(missing_docs)]

pub mod compile;
pub mod key;
pub mod ninja;
