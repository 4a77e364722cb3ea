//! The library every other crate uses.

hashmac::names!(alpha, beta, gamma, delta, epsilon, zeta, eta, theta);

/// A number from all three dependencies.
pub fn answer() -> i32 {
    // A warning every compile prints: a hit must replay it as rustc printed it.
    let unused_on_purpose = 1;
    let pos = position("delta").unwrap() as i32;
    cfoo_sys::triple(pos) + probe::rustc_minor().min(1) as i32
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions() {
        assert_eq!(super::position("alpha"), Some(0));
        assert_eq!(super::position("theta"), Some(7));
        assert_eq!(super::position("omega"), None);
    }

    #[test]
    fn answer_uses_c() {
        assert_eq!(super::answer(), 10);
    }
}
