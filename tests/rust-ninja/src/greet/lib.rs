//! A library crate of the GN-style Ninja test (tests/rust_ninja.rs).

/// The greeting, with the file it came from (a path the remaps turn into a token).
pub fn greeting(name: &str) -> String {
    format!("hello, {name} (from {})", file!())
}
