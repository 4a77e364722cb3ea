//! A C-callable library over `wscore`.

/// `wscore::answer()` for C callers.
#[no_mangle]
pub extern "C" fn cdy_answer() -> i32 {
    wscore::answer()
}
