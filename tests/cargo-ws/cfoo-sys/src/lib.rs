//! The C function of `c/foo.c`.
extern "C" {
    fn cfoo_triple(x: i32) -> i32;
}

/// Three times `x`, computed in C.
pub fn triple(x: i32) -> i32 {
    unsafe { cfoo_triple(x) }
}
