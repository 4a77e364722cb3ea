//! Stores skipped across builds (issue 16): when a store's breaker trips
//! ([`crate::store::Breaker`]), the build records it in `<objdir>/.cached-ninja/stores-down`
//! ([`ObjDir::stores_down_file`]) with a time until which later builds preset the breaker and
//! send that store nothing, so a no-op build with a dead store waits on no network at all.
//! After that time the store is asked again; a store that works writes no record.
//!
//! One line per store, fields separated by tabs (URLs and reasons hold no tab):
//!
//! ```text
//! <store URL>\t<until, Unix seconds>\t<tripped at, Unix seconds>\t<kind word>\t<reason>
//! ```
//!
//! Lines that do not parse and records whose time is past are dropped on reading; a missing
//! file is no record. Writes are atomic ([`crate::cache::write_atomic`]).

use crate::objdir::ObjDir;
use crate::store::{Store, Trip, TripKind};
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One store skipped until a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// The store's URL ([`Store::base_url`]).
    pub url: String,
    /// Skipped until then.
    pub until: SystemTime,
    /// What tripped it (with [`Trip::carried`] set).
    pub trip: Trip,
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn time(s: &str) -> Option<SystemTime> {
    Some(UNIX_EPOCH + Duration::from_secs(s.parse().ok()?))
}

/// The records of `od` still in force at `now`.
pub fn read(od: &ObjDir, now: SystemTime) -> Vec<Skip> {
    let Ok(text) = std::fs::read_to_string(od.stores_down_file()) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(5, '\t');
            let url = f.next()?.to_string();
            let until = time(f.next()?)?;
            let at = time(f.next()?)?;
            let kind = TripKind::from_word(f.next()?)?;
            let reason = f.next()?.to_string();
            let trip = Trip {
                kind,
                reason,
                lost: Duration::ZERO,
                at,
                carried: true,
            };
            (until > now).then_some(Skip { url, until, trip })
        })
        .collect()
}

/// Presets the breaker of every store of `stores` that `od` records as skipped at `now`;
/// returns how many.
pub fn preset(od: &ObjDir, stores: &[Store], now: SystemTime) -> usize {
    let skips = read(od, now);
    let mut n = 0;
    for s in stores {
        let url = s.base_url();
        if let Some(k) = skips.iter().find(|k| k.url == url) {
            s.breaker().preset(k.trip.clone());
            n += 1;
        }
    }
    n
}

/// Records every store of `stores` whose breaker tripped in this process (not a carried trip)
/// as skipped for `hold` from its trip, keeping the other records still in force at `now`.
/// Writes nothing when nothing changes.
pub fn record(od: &ObjDir, stores: &[Store], hold: Duration, now: SystemTime) -> io::Result<()> {
    let fresh: Vec<Skip> = stores
        .iter()
        .filter_map(|s| {
            let trip = s.breaker().trip().filter(|t| !t.carried)?;
            Some(Skip {
                url: s.base_url(),
                until: trip.at + hold,
                trip,
            })
        })
        .collect();
    if fresh.is_empty() || hold.is_zero() {
        return Ok(());
    }
    let mut all: Vec<Skip> = read(od, now)
        .into_iter()
        .filter(|k| !fresh.iter().any(|f| f.url == k.url))
        .collect();
    all.extend(fresh);
    let text: String = all
        .iter()
        .map(|k| {
            let clean = |s: &str| s.replace(['\t', '\n'], " ");
            format!(
                "{}\t{}\t{}\t{}\t{}\n",
                clean(&k.url),
                secs(k.until),
                secs(k.trip.at),
                k.trip.kind.word(),
                clean(&k.trip.reason)
            )
        })
        .collect();
    std::fs::create_dir_all(od.state_dir())?;
    crate::cache::write_atomic(&od.stores_down_file(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StoreConfig, StoreError};

    #[test]
    fn a_tripped_store_is_preset_in_the_next_build_until_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let od = ObjDir::new(dir.path());
        let cfg = StoreConfig::new(format!("file://{}/store", dir.path().display()));
        let now = SystemTime::now();
        // A build where the store failed hard.
        let s = Store::open(&cfg).unwrap();
        std::fs::create_dir_all(dir.path().join("store/builds/c")).unwrap();
        std::fs::create_dir_all(dir.path().join("store/builds/c/r")).unwrap();
        // Reading a directory as a file is a local I/O error: hard for a file store.
        let key = crate::store::Key::build("c", "r").unwrap();
        assert!(s.get(&key).is_err());
        assert!(s.breaker().trip().is_some());
        record(&od, std::slice::from_ref(&s), Duration::from_secs(300), now).unwrap();

        // The next build: the same store is skipped without being asked.
        let next = Store::open(&cfg).unwrap();
        assert_eq!(preset(&od, std::slice::from_ref(&next), now), 1);
        let e = next.get(&key).unwrap_err();
        assert!(matches!(e, StoreError::Skipped { .. }), "{e}");
        assert!(next.breaker().trip().unwrap().carried);
        // A carried trip is not recorded again (it would never expire).
        let before = std::fs::read(od.stores_down_file()).unwrap();
        record(
            &od,
            std::slice::from_ref(&next),
            Duration::from_secs(300),
            now,
        )
        .unwrap();
        assert_eq!(std::fs::read(od.stores_down_file()).unwrap(), before);

        // After its time the store is asked again.
        let later = now + Duration::from_secs(301);
        let again = Store::open(&cfg).unwrap();
        assert_eq!(preset(&od, std::slice::from_ref(&again), later), 0);
        assert!(read(&od, later).is_empty());
    }
}
