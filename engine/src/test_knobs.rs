//! Knobs the tests turn through the environment (`CACHED_NINJA_TEST_*`): stalls that let a
//! kill land at a chosen moment, and waits made long enough that an assertion does not depend
//! on the machine's speed. Unset (as in every real build), each is the product's own value.

use std::time::Duration;

/// The milliseconds the environment variable `name` gives, if it is set to a number.
pub fn millis(name: &str) -> Option<Duration> {
    let v = std::env::var(name).ok()?;
    v.parse().ok().map(Duration::from_millis)
}

/// How long a plan whose stores were asked may stay silent before launchers (and a first
/// build's pass) stop waiting for it: `fetch::want::SILENT_PATIENCE`, or
/// `CACHED_NINJA_TEST_SILENT_PATIENCE_MS` in tests that must not depend on a loaded machine.
pub fn silent_patience() -> Duration {
    millis("CACHED_NINJA_TEST_SILENT_PATIENCE_MS").unwrap_or(fetch::want::SILENT_PATIENCE)
}
