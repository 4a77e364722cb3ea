//! Shared helpers for the benchmark harnesses in `bench/src/bin/`.
