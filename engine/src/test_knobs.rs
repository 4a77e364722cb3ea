//! Knobs the tests turn through the environment (`CACHED_NINJA_TEST_*`): stalls that let a
//! kill land at a chosen moment, and waits made long enough that an assertion does not depend
//! on the machine's speed. Unset (as in every real build), each is the product's own value.

use std::time::Duration;

/// The milliseconds the environment variable `name` gives, if it is set to a number.
pub fn millis(name: &str) -> Option<Duration> {
    let v = std::env::var(name).ok()?;
    v.parse().ok().map(Duration::from_millis)
}
