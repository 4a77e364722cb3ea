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

#[path = "../fuzz/properties.rs"]
mod properties;

/// Every seed of `fuzz/corpus/<target>/` through `check`: no panic, no broken property.
fn replay(target: &str, check: fn(&[u8]) -> Result<(), String>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        match std::panic::catch_unwind(|| check(&data)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{}: {e}", path.display()),
            Err(_) => panic!("panic on {}", path.display()),
        }
        n += 1;
    }
    assert!(n > 0, "empty corpus {}", dir.display());
}

#[test]
fn replay_depfile_corpus() {
    replay("depfile", properties::depfile);
}

#[test]
fn replay_compile_command_corpus() {
    replay("compile_command", properties::compile_command);
}

#[test]
fn replay_rustc_command_corpus() {
    replay("rustc_command", properties::rustc_command);
}

/// The fuzz input's words split at NUL bytes; a `.dwo` name with a directory is refused.
#[test]
fn words_split_at_nul_and_dwo_names_stay_in_their_directory() {
    let words = properties::words(b"gcc\0-c\0a.c\0-o\0a.o");
    assert_eq!(words, ["gcc", "-c", "a.c", "-o", "a.o"]);
    assert!(properties::depfile(b"a.o: b.h c\\ d.h\n").is_ok());
    let cmd = backend::compile::rustc::parse_rustc(&[
        "rustc".into(),
        "a.rs".into(),
        "-C".into(),
        "split-debuginfo=unpacked".into(),
    ])
    .unwrap();
    assert!(!cmd.is_dwo_name("../a.a.x-cgu.0.rcgu.dwo"));
    assert!(cmd.is_dwo_name("a.a.x-cgu.0.rcgu.dwo"));
}
