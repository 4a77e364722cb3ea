//! Unit tests of `policy.rs`.

use super::glob_match;

#[test]
fn globs() {
    let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes());
    assert!(m("src/**", "src/a/b.o"));
    assert!(m("**/gen_*.o", "x/y/gen_a.o"));
    assert!(m("**/gen_*.o", "gen_a.o"));
    assert!(!m("*.o", "a/b.o"));
    assert!(m("lib?.o", "liba.o"));
    assert!(!m("src/*.o", "src/a/b.o"));
    assert!(m("a/**/b/*.o", "a/x/y/b/c.o") && m("a/**/b/*.o", "a/b/c.o"));
    assert!(!m("a/**/b/*.o", "a/xb/c.o"));
    assert!(m("**", "") && m("*", "") && !m("?", ""));
}

/// Many stars that cannot match: each position is tried once (this never finished with
/// the backtracking matcher).
#[test]
fn a_glob_of_many_stars_is_decided_at_once() {
    let stars = "*".repeat(40);
    let path = "a".repeat(200);
    assert!(!glob_match(format!("{stars}b").as_bytes(), path.as_bytes()));
    assert!(glob_match(format!("{stars}a").as_bytes(), path.as_bytes()));
    let deep = format!("**/{stars}**/x");
    assert!(!glob_match(deep.as_bytes(), "a/".repeat(100).as_bytes()));
}

/// Split DWARF defaults to on with a store, off without; `split_dwarf` decides when set.
#[test]
fn split_dwarf_defaults_to_on_with_a_store() {
    let p = |t: &str| toml::from_str::<super::Policy>(t).unwrap();
    let store = "[[store]]\nurl = \"file:///s\"\n";
    assert!(!p("").split_dwarf());
    assert!(p(store).split_dwarf());
    assert_eq!(p(store).debug_flags(), ["-gsplit-dwarf", "-gdwarf-4"]);
    assert!(!p(&format!("split_dwarf = false\n{store}")).split_dwarf());
    assert!(p(&format!("split_dwarf = false\n{store}"))
        .debug_flags()
        .is_empty());
    assert!(p("split_dwarf = true").split_dwarf());
    assert_eq!(
        p("split_dwarf = true\ndwarf = 5").debug_flags(),
        ["-gsplit-dwarf"]
    );
}

#[test]
fn network_settings_are_checked_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cached-ninja.toml");
    let read = |text: &str| {
        std::fs::write(&f, text).unwrap();
        super::Policy::read(&f)
    };
    let p = read("[fetch]\nconnect_timeout_ms = 250\nfirst_byte_timeout_ms = 900\nslow_rate = \"1M\"\nskip_failed_s = 60\n").unwrap();
    assert_eq!(p.fetch.connect_timeout_ms, Some(250));
    assert_eq!(p.fetch.first_byte_timeout_ms, Some(900));
    assert_eq!(p.fetch.slow_rate.as_deref(), Some("1M"));
    assert_eq!(p.fetch.skip_failed_s, Some(60));
    let e = format!("{:#}", read("[fetch]\nslow_rate = \"fast\"\n").unwrap_err());
    assert!(
        e.contains(&f.display().to_string()) && e.contains("fetch.slow_rate"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        read("[fetch]\nfirst_byte_timeout_ms = 0\n").unwrap_err()
    );
    assert!(e.contains("fetch.first_byte_timeout_ms = 0"), "{e}");
}

/// Per field, the first matching rule that sets it; a bad prefetch mode names the file.
#[test]
fn rules_set_priority_and_remote_wait_per_field() {
    let p = toml::from_str::<super::Policy>(
        "[[rule]]\nglob = \"js/**\"\npriority = 10\nremote_wait_ms = 30000\n\
         [[rule]]\nglob = \"**/*.o\"\ncache = false\npriority = -1\n",
    )
    .unwrap();
    let e = p.edge_policy("js/src/a.o");
    assert_eq!(e.priority, 10);
    assert_eq!(e.remote_wait, Some(std::time::Duration::from_secs(30)));
    assert!(
        !p.cached(b"js/src/a.o"),
        "cache = false from the second rule"
    );
    assert_eq!(p.edge_policy("b.o").priority, -1);
    assert_eq!(p.edge_policy("b.c").remote_wait, None);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cached-ninja.toml");
    std::fs::write(&f, "[fetch]\nprefetch = \"sideways\"\n").unwrap();
    let e = format!("{:#}", super::Policy::read(&f).unwrap_err());
    assert!(
        e.contains(&f.display().to_string()) && e.contains("critical-path"),
        "{e}"
    );
}

#[test]
fn distribute_passes_the_engine_and_its_settings() {
    let p = toml::from_str::<super::Policy>(
        "[distribute]\nengine = \"distcc\"\nhosts = \"a/8 b/8\"\nslots = 16\nenv = { DISTCC_IO_TIMEOUT = \"60\" }\n",
    )
    .unwrap();
    assert_eq!(
        p.distribute.env(),
        [
            ("CACHED_NINJA_DISTRIBUTE".to_string(), "distcc".to_string()),
            ("DISTCC_HOSTS".into(), "a/8 b/8".into()),
            ("DISTCC_IO_TIMEOUT".into(), "60".into()),
        ]
    );
    assert_eq!(p.distribute.slots, Some(16));
    assert!(toml::from_str::<super::Policy>("")
        .unwrap()
        .distribute
        .env()
        .is_empty());
    assert!(toml::from_str::<super::Policy>("[distribute]\nengine = \"xcc\"").is_err());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cached-ninja.toml");
    std::fs::write(&f, "[distribute]\nengine = \"icecc\"\nhosts = \"a\"\n").unwrap();
    let e = format!("{:#}", super::Policy::read(&f).unwrap_err());
    assert!(
        e.contains(&f.display().to_string()) && e.contains("hosts"),
        "{e}"
    );
}

#[test]
fn unknown_key_is_an_error() {
    let e = toml::from_str::<super::Policy>("splitdwarf = true").unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
}

#[test]
fn the_dwp_step_is_found_unless_named() {
    use backend::rewrite::dwp_step::DwpStep;
    let p = toml::from_str::<super::Policy>("").unwrap();
    assert_eq!(p.debug.dwp_step.step(DwpStep::Gnu), DwpStep::Gnu);
    let p = toml::from_str::<super::Policy>("[debug]\ndwp_step = \"llvm\"").unwrap();
    assert_eq!(p.debug.dwp_step.step(DwpStep::None), DwpStep::Llvm);
    let p = toml::from_str::<super::Policy>("[debug]\ndwp_step = \"none\"").unwrap();
    assert_eq!(p.debug.dwp_step.step(DwpStep::Gnu), DwpStep::None);
    assert!(toml::from_str::<super::Policy>("[debug]\ndwp_step = \"thorin\"").is_err());
}

#[test]
fn debugger_defaults_to_gdb_and_rejects_others() {
    use super::DebuggerPolicy;
    let p = toml::from_str::<super::Policy>("").unwrap();
    assert_eq!(p.debug.debugger, DebuggerPolicy::Gdb);
    let p = toml::from_str::<super::Policy>("[debug]\ndebugger = \"lldb\"").unwrap();
    assert_eq!(p.debug.debugger, DebuggerPolicy::Lldb);
    assert!(toml::from_str::<super::Policy>("[debug]\ndebugger = \"dbx\"").is_err());
}
