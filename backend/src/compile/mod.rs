//! Compile-command models: what a gcc or clang command line means to a cache (DESIGN §3).
//!
//! [`parse`] turns the words after `cached-ninja cc --` into a [`CompileCommand`] or says why the
//! command is not cacheable ([`Uncacheable`]); the launcher then runs such a command unchanged.
//!
//! - [`args`]: the gcc/clang argument model (arity of options, source and output, dependency
//!   options, split DWARF, what makes a command uncacheable).
//! - [`rsp`]: `@response` files, split the way gcc's `libiberty` `buildargv` does.
//! - [`depfile`]: reading the Makefile fragment a compiler writes for `-MD` and writing the one
//!   Ninja expects on a cache hit.

pub mod args;
pub mod depfile;
pub mod rsp;

pub use args::{
    drop_wrapper, is_wrapper, parse, CompileCommand, CompilerFamily, DepOutput, Lang, SplitDwarf,
    Uncacheable,
};

/// Whether `bytes` (a source or header) mention `__DATE__`, `__TIME__` or `__TIMESTAMP__`,
/// which make the object depend on the moment of the compile (DESIGN §3: not cacheable,
/// unless `SOURCE_DATE_EPOCH` pins them, which the key then covers).
pub fn uses_time_macros(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some(i) = memchr::memmem::find(rest, b"__") {
        let t = &rest[i + 2..];
        if t.starts_with(b"DATE__") || t.starts_with(b"TIME__") || t.starts_with(b"TIMESTAMP__") {
            return true;
        }
        // Step one byte: `___DATE__` is matched too (conservative: uncacheable, never wrong).
        rest = &rest[i + 1..];
    }
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_macros() {
        assert!(super::uses_time_macros(b"const char *d = __DATE__;"));
        assert!(super::uses_time_macros(b"x ___TIMESTAMP__"));
        assert!(!super::uses_time_macros(b"__FILE__ __LINE__ DATE__ _TIME_"));
    }
}
