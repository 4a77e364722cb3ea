//! What the build script learnt of rustc.

/// The compiler's minor version, as the build script probed it.
pub fn rustc_minor() -> u32 {
    env!("PROBED_RUSTC_MINOR").parse().unwrap()
}

/// Whether the probe found `let … else`.
pub fn has_let_else() -> bool {
    cfg!(rustc_has_let_else)
}
