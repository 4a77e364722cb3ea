//! Replays the policy fuzz target's corpus (`fuzz/corpus/policy/`) through its check, so
//! `cargo test` catches what the fuzzer found.

#[allow(dead_code)]
#[path = "../src/policy.rs"]
mod policy;
#[path = "../fuzz/properties.rs"]
mod properties;

#[test]
fn replay_policy_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/policy");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        let result = std::panic::catch_unwind(|| properties::policy(&data));
        assert!(result.is_ok(), "panic on {}", path.display());
        n += 1;
    }
    assert!(n > 0, "empty corpus");
}
