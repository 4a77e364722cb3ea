//! A `GET` asked where a `HEAD` would do ([`Store::get_as_head`]): the object comes with the
//! answer when it is there, and costs what a `HEAD` would when it is not.
//!
//! The plan asks the working revision's build manifest so, and its parent's (`crate::plan`):
//! when CI built either, its manifest comes in one round trip instead of two. Four rules make
//! the `GET` no worse than the `HEAD` it replaces:
//! - **The answer's head is waited for as a `HEAD` is**, [`StoreConfig::head_timeout`] (2 s),
//!   not [`StoreConfig::get_timeout`] of the size cap (about 258 s for 64 MiB, more with a
//!   declared bandwidth): a store that accepts and never answers costs a `HEAD`'s timeout. The
//!   body then has the whole request's limit, as any `GET`'s.
//! - **The store has answered when the head comes**, not at the body's end: the breaker notes
//!   it then ([`super::Breaker::answered`]), which is what launchers waiting on the search look
//!   at.
//! - **A failure after the store said the object is there is not an absence**
//!   ([`Found::Unread`]): a body cut short, stalled, too slow or too large concerns an object
//!   that exists. A failure before the head (no connection, a timeout, an error status) is
//!   the `Err` a `HEAD` would have had, with the same breaker.
//! - **A body not wanted is not read** ([`Found::Passed`]): the caller, told the object is
//!   there, may decline its body (the plan, when a nearer manifest was found meanwhile); the
//!   answer is then dropped unread, its connection closed, and nothing is counted against the
//!   store.
//!
//! [`StoreConfig::head_timeout`]: super::StoreConfig::head_timeout
//! [`StoreConfig::get_timeout`]: super::StoreConfig::get_timeout

use std::cell::Cell;
use std::time::Duration;

use super::{Key, Store, StoreError};

/// What [`Store::get_as_head`] found.
#[derive(Debug)]
pub enum Found {
    /// Not there (`404`, no such file); from a `file://` store also a file found by its
    /// metadata (`there` called) and gone when read.
    Absent,
    /// There, with its bytes.
    Bytes(Vec<u8>),
    /// There (the store's answer said so), but its bytes could not be had: the body was cut
    /// short, stalled, too slow, or larger than the cap. The error names the URL.
    Unread(StoreError),
    /// There, and its body declined by the caller (`there` returned `false`): not read.
    Passed,
}

/// How a backend waits for a `GET`'s answer as for a `HEAD`'s.
pub(super) struct HeadWait<'a> {
    /// The limit on the answer's head (status and headers), from the request's start.
    pub within: Duration,
    /// Told, as the head comes and before the body is read, whether the object is there
    /// (`true`: a `2xx`; `false`: a `404`); not told of an error status. Told `true`, it
    /// returns whether the body is wanted: when not, the answer is dropped unread and the
    /// backend returns `Ok(None)`.
    pub heard: &'a dyn Fn(bool) -> bool,
}

impl Store {
    /// The raw bytes at `key` (up to `max_entry_size`), asked for where a `HEAD` would do: the
    /// answer's head is waited for no longer than a `HEAD`'s, the store counts as having
    /// answered once it comes, and a failure after it said the object is there is
    /// [`Found::Unread`], not an error: the object is not absent. An `Err` is what a `HEAD`
    /// would have had (no answer, an error status, the breaker open). `there` is called as
    /// soon as the answer says the object is there, before its body is read, and says whether
    /// to read it (`false`: [`Found::Passed`]).
    pub fn get_as_head(&self, key: &Key, there: &dyn Fn() -> bool) -> Result<Found, StoreError> {
        let (found, passed) = (Cell::new(false), Cell::new(false));
        let heard = |is: bool| {
            found.set(is);
            self.breaker.heard();
            let wanted = !is || there();
            passed.set(!wanted);
            wanted
        };
        let wait = HeadWait {
            within: self.cfg.head_timeout(),
            heard: &heard,
        };
        let r = self.guarded("GET", key, || {
            self.backend.get_as_head(key, self.max_entry_size, &wait)
        });
        // (A backend that read the body anyway gives what it read, below.)
        if passed.get() && matches!(r, Ok(None)) {
            return Ok(Found::Passed);
        }
        self.paced(&r);
        match self.count_get(r) {
            Ok(Some(bytes)) => Ok(Found::Bytes(bytes)),
            Ok(None) => Ok(Found::Absent),
            Err(e) if found.get() => Ok(Found::Unread(e)),
            Err(e) => Err(e),
        }
    }
}
