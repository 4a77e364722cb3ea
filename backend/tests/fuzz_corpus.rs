//! Replays every file of the fuzz corpus (`fuzz/corpus/parse/`) through the fuzz check:
//! no panic, and the emitter's round trip means the same.

#[test]
fn replay_parse_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        let result = std::panic::catch_unwind(|| backend::ninja::fuzzing::check(&data));
        assert!(result.is_ok(), "panic on {}", path.display());
        n += 1;
    }
    assert!(n > 0, "empty corpus");
}
