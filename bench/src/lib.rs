//! Shared helpers for the benchmark harnesses in `bench/src/bin/`.
//!
//! The harnesses print one line per measured iteration and a summary; the scripts beside
//! `Cargo.toml` (`parse-vs-ninja.sh`) read those lines and write the tables recorded in
//! `BENCHMARKS.md`. Keep the line formats stable: the scripts parse them.
#![deny(missing_docs)]

use std::time::Duration;

/// Median of `samples` (the mean of the two middle values for an even count); `None` if empty.
pub fn median(samples: &[Duration]) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

/// A duration in milliseconds with three decimals, the unit every harness prints.
pub fn millis(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&ms(&[5, 1, 3])), Some(Duration::from_millis(3)));
        assert_eq!(
            median(&ms(&[4, 1, 3, 2])),
            Some(Duration::from_micros(2500))
        );
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn millis_has_three_decimals() {
        assert_eq!(millis(Duration::from_micros(1_234_567)), "1234.567");
    }
}
