//! A bounded parallel-for for blocking I/O: `jobs` scoped worker threads take items one at a
//! time until none is left, a cancel flag is set, or one item fails (a fatal error).
//!
//! The stores are blocking and `Sync` (see [`crate::store`]), so the publish, plan and pull
//! loops use this instead of an async runtime. Items are handed out in order (index 0 first,
//! or whatever order the caller's `next` gives), one per request, so a slow item never holds
//! back a queue of others behind it. An item already started when the loop stops runs to its
//! end; no item starts after it stopped. Callers bound `jobs` themselves (their policy knob);
//! [`for_each`] never starts more threads than `jobs` (at least one), and [`map_range`] never
//! more than there are items.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `work` on each item `next` hands out, on `jobs` threads (at least one), until `next`
/// returns `None`, `cancel` is set, or `work` fails; returns the first failure.
pub fn for_each<T, E, N, W>(
    jobs: usize,
    cancel: Option<&AtomicBool>,
    next: N,
    work: W,
) -> Result<(), E>
where
    E: Send,
    N: Fn() -> Option<T> + Sync,
    W: Fn(T) -> Result<(), E> + Sync,
{
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<E>> = Mutex::new(None);
    let stopped =
        || failed.load(Ordering::Relaxed) || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let worker = || {
        while !stopped() {
            let Some(item) = next() else { return };
            if let Err(e) = work(item) {
                failed.store(true, Ordering::Relaxed);
                first_error.lock().unwrap().get_or_insert(e);
                return;
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(worker);
        }
    });
    match first_error.into_inner().unwrap() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs `work(i)` for `i` in `0..n`, handed out in increasing order, on at most `jobs` threads;
/// returns each index's result (`None`: not started, after a cancel) or the first failure.
pub fn map_range<T, E, W>(
    n: usize,
    jobs: usize,
    cancel: Option<&AtomicBool>,
    work: W,
) -> Result<Vec<Option<T>>, E>
where
    T: Send,
    E: Send,
    W: Fn(usize) -> Result<T, E> + Sync,
{
    // One lock per slot (never contended): `T` need only be `Send`.
    let slots: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let take = || {
        let i = next.fetch_add(1, Ordering::Relaxed);
        (i < n).then_some(i)
    };
    let threads = jobs.clamp(1, n.max(1)).min(n);
    if threads > 0 {
        for_each(threads, cancel, take, |i| {
            *slots[i].lock().unwrap() = Some(work(i)?);
            Ok(())
        })?;
    }
    Ok(slots.into_iter().map(|s| s.into_inner().unwrap()).collect())
}

/// [`map_range`] over the items of a slice: `work(i, &items[i])`.
pub fn map_slice<S, T, E, W>(
    items: &[S],
    jobs: usize,
    cancel: Option<&AtomicBool>,
    work: W,
) -> Result<Vec<Option<T>>, E>
where
    S: Sync,
    T: Send,
    E: Send,
    W: Fn(usize, &S) -> Result<T, E> + Sync,
{
    map_range(items.len(), jobs, cancel, |i| work(i, &items[i]))
}

/// The value of a result that cannot fail.
pub fn infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_index_once_in_order_of_results() {
        let calls: Vec<AtomicUsize> = (0..500).map(|_| AtomicUsize::new(0)).collect();
        let out = infallible(map_range(500, 7, None, |i| {
            calls[i].fetch_add(1, Ordering::Relaxed);
            Ok(i * 2)
        }));
        assert_eq!(out, (0..500).map(|i| Some(i * 2)).collect::<Vec<_>>());
        assert!(calls.iter().all(|c| c.load(Ordering::Relaxed) == 1));
        // Nothing to do: no thread, an empty result.
        assert_eq!(infallible(map_range(0, 4, None, |_| Ok(()))), vec![]);
        let items = ["a", "bb", "ccc"];
        let lens = infallible(map_slice(&items, 0, None, |i, s| Ok((i, s.len()))));
        assert_eq!(lens, vec![Some((0, 1)), Some((1, 2)), Some((2, 3))]);
    }

    #[test]
    fn at_most_jobs_items_run_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        infallible(map_range(40, 3, None, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        }));
        let peak = peak.into_inner();
        assert!((1..=3).contains(&peak), "{peak} at once");
    }

    #[test]
    fn a_fatal_error_stops_the_loop_and_is_returned() {
        for jobs in [1, 4] {
            let started = AtomicUsize::new(0);
            let r = map_range(1000, jobs, None, |i| {
                started.fetch_add(1, Ordering::Relaxed);
                if i == 10 {
                    return Err(format!("item {i} failed"));
                }
                std::thread::sleep(Duration::from_millis(1));
                Ok(())
            });
            assert_eq!(r, Err("item 10 failed".to_string()));
            let started = started.into_inner();
            if jobs == 1 {
                assert_eq!(started, 11, "nothing after the failure");
            } else {
                // The other workers finish what they hold; none keeps going.
                assert!((11..200).contains(&started), "{started} started");
            }
        }
    }

    #[test]
    fn a_cancel_flag_stops_new_items() {
        for jobs in [1, 2] {
            let cancel = AtomicBool::new(false);
            let out = infallible(map_range(1000, jobs, Some(&cancel), |i| {
                if i == 5 {
                    cancel.store(true, Ordering::Relaxed);
                }
                Ok(i)
            }));
            let done = out.iter().flatten().count();
            assert!(out[..=5].iter().all(Option::is_some));
            if jobs == 1 {
                assert_eq!(done, 6);
            } else {
                assert!((6..200).contains(&done), "{done} ran");
            }
            // Set before the start: nothing runs.
            let out = infallible(map_range(10, jobs, Some(&cancel), Ok::<usize, Infallible>));
            assert!(out.iter().all(Option::is_none));
        }
    }

    #[test]
    fn for_each_drains_a_queue_from_any_source() {
        let queue = Mutex::new(vec![3, 1, 4, 1, 5, 9, 2, 6]);
        let sum = AtomicUsize::new(0);
        let next = || queue.lock().unwrap().pop();
        let r: Result<(), Infallible> = for_each(3, None, next, |v| {
            sum.fetch_add(v, Ordering::Relaxed);
            Ok(())
        });
        infallible(r);
        assert_eq!(sum.into_inner(), 31);
        assert!(queue.into_inner().unwrap().is_empty());
    }
}
