//! Conformance of `cached-ninja tool commands|targets|emit` with real ninja 1.11.1.
//!
//! Two corpora of case folders, each holding a `build.ninja` (plus any included files) and
//! optionally a `runs` file with extra invocations, one per line (`commands a b`,
//! `targets -f other.ninja`, `commands -C sub`):
//!
//! - `tests/conformance/ninja/` — ours; the expected output is whatever live ninja prints.
//! - `../shared/conformance/ninja/` — shared; its `expected.json` is checked against live ninja
//!   first (a sanity check of the environment), then the case runs like ours.
//!
//! Every case runs `commands` and `targets` (= `ninja -t commands`, `ninja -t targets all`) and
//! its `runs` lines, under ninja and under `cached-ninja tool …`, in a fresh copy of the folder.
//! Compared: the exit status, stdout byte for byte and, when ninja fails, the text after the
//! first `error: ` of each stderr (`fatal: ` for ninja's fatal errors such as a rule variable
//! cycle; our binary reports those as `cached-ninja: error: …`).
//!
//! When a manifest loads (`ninja -t targets all` succeeds), two more checks run:
//! - round trip: `cached-ninja tool emit -o <abs>` then ninja on the emitted file must print
//!   what it printed for the original, for every run of the case;
//! - CRLF: the copy is rewritten with `\r\n` line endings and ninja and ours compared again.
//!
//! Inline cases ([`inline_cases`]) cover what is awkward as files: NUL bytes, a BOM, bare CR
//! line endings and large generated manifests.
//!
//! All failures of a corpus are reported in one table. Run with
//! `cargo test --test conformance`; `CN_KEEP_TEMP=1` keeps the temp copies;
//! `CN_CONFORMANCE_BIN=<program>` runs another implementation of `tool …` instead of ours.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use support::{cached_ninja, copy_tree, repo_root, require_tool, run, shared_dir, TestSpace};

/// Our corpus must keep at least this many cases.
const MIN_OWN_CASES: usize = 85;

/// Longest excerpt of a line or message shown in a failure table cell.
const CELL: usize = 160;

// ---------------------------------------------------------------------------------------------
// Invocations

/// Which Ninja tool an invocation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    /// `ninja -t commands [TARGET…]`.
    Commands,
    /// `ninja -t targets all`.
    Targets,
}

/// One line of a case's runs: a tool, manifest options (`-f FILE`, `-C DIR`) and targets.
#[derive(Clone, Debug)]
struct Invocation {
    tool: Tool,
    /// `-f`/`-C` with their values, in the order written; passed before `-t` to ninja.
    options: Vec<String>,
    targets: Vec<String>,
}

impl Invocation {
    fn new(tool: Tool) -> Self {
        Invocation {
            tool,
            options: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Parses a `runs` line such as `commands -f other.ninja out1 out2`.
    fn parse(line: &str) -> Result<Self, String> {
        let mut words = line.split_whitespace();
        let tool = match words.next() {
            Some("commands") => Tool::Commands,
            Some("targets") => Tool::Targets,
            other => return Err(format!("unknown tool {other:?} in runs line `{line}`")),
        };
        let mut inv = Invocation::new(tool);
        while let Some(word) = words.next() {
            if word == "-f" || word == "-C" {
                let value = words
                    .next()
                    .ok_or_else(|| format!("`{word}` without a value in `{line}`"))?;
                inv.options.extend([word.to_string(), value.to_string()]);
            } else if tool == Tool::Targets {
                return Err(format!("`targets` takes no targets: `{line}`"));
            } else {
                inv.targets.push(word.to_string());
            }
        }
        Ok(inv)
    }

    /// The runs line that describes this invocation.
    fn label(&self) -> String {
        let tool = match self.tool {
            Tool::Commands => "commands",
            Tool::Targets => "targets",
        };
        std::iter::once(tool.to_string())
            .chain(self.options.iter().cloned())
            .chain(self.targets.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Arguments for ninja, with `-f` replaced by `manifest` when given.
    fn ninja_args(&self, manifest: Option<&str>) -> Vec<String> {
        let mut args = self.options_with_manifest(manifest);
        args.push("-t".into());
        match self.tool {
            Tool::Commands => {
                args.push("commands".into());
                args.extend(self.targets.iter().cloned());
            }
            Tool::Targets => args.extend(["targets".into(), "all".into()]),
        }
        args
    }

    /// Arguments for `cached-ninja`.
    fn ours_args(&self) -> Vec<String> {
        let tool = match self.tool {
            Tool::Commands => "commands",
            Tool::Targets => "targets",
        };
        let mut args = vec!["tool".to_string(), tool.to_string()];
        args.extend(self.options.iter().cloned());
        args.extend(self.targets.iter().cloned());
        args
    }

    /// `options`, with the `-f` value replaced by (or a `-f` added for) `manifest`.
    fn options_with_manifest(&self, manifest: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        let mut words = self.options.iter();
        while let (Some(flag), Some(value)) = (words.next(), words.next()) {
            if flag == "-f" && manifest.is_some() {
                continue;
            }
            out.extend([flag.clone(), value.clone()]);
        }
        if let Some(m) = manifest {
            out.extend(["-f".to_string(), m.to_string()]);
        }
        out
    }

    /// The directory ninja works in: the case root, or its `-C` directory.
    fn work_dir(&self, root: &Path) -> PathBuf {
        let mut dir = root.to_path_buf();
        let mut words = self.options.iter();
        while let (Some(flag), Some(value)) = (words.next(), words.next()) {
            if flag == "-C" {
                dir = dir.join(value);
            }
        }
        dir
    }
}

// ---------------------------------------------------------------------------------------------
// Running the tools

/// What one process printed and how it exited.
#[derive(Clone, Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// The error message: stderr after the first `error: ` (else `fatal: `).
    fn message(&self) -> &[u8] {
        for marker in [&b"error: "[..], b"fatal: "] {
            if let Some(at) = find(&self.stderr, marker) {
                return &self.stderr[at + marker.len()..];
            }
        }
        &self.stderr
    }

    /// The status and, for a failure, the message; for a success, the first line printed.
    fn summary(&self) -> String {
        if self.ok() {
            let first = self.stdout.split_inclusive(|&b| b == b'\n').next();
            format!("rc 0, stdout `{}`", show(first.unwrap_or_default()))
        } else {
            format!("{}: {}", self.status(), show(self.message()))
        }
    }

    fn status(&self) -> String {
        match self.code {
            Some(c) => format!("rc {c}"),
            None => "killed by a signal".into(),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Runs `program args…` in `dir` with a C locale (stable `strerror` texts).
fn run_in(program: &Path, args: &[String], dir: &Path) -> Outcome {
    let out = run(Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("LC_ALL", "C")
        .env_remove("NINJA_STATUS"));
    Outcome {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// The binary under test: `cached-ninja`, or `$CN_CONFORMANCE_BIN` (a stand-in, to test the
/// harness itself or another implementation).
fn ours() -> PathBuf {
    std::env::var_os("CN_CONFORMANCE_BIN").map_or_else(cached_ninja, PathBuf::from)
}

fn ninja() -> PathBuf {
    require_tool("ninja", "ninja-build")
}

// ---------------------------------------------------------------------------------------------
// Cases and corpora

/// One case folder and its invocations (the two defaults first).
#[derive(Clone, Debug)]
struct Case {
    name: String,
    dir: PathBuf,
    runs: Vec<Invocation>,
}

impl Case {
    fn load(dir: &Path) -> Result<Self, String> {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !dir.join("build.ninja").is_file() {
            return Err(format!("case `{name}` has no build.ninja"));
        }
        let mut runs = vec![
            Invocation::new(Tool::Commands),
            Invocation::new(Tool::Targets),
        ];
        let runs_file = dir.join("runs");
        if runs_file.is_file() {
            let text = std::fs::read_to_string(&runs_file)
                .map_err(|e| format!("case `{name}`: reading runs: {e}"))?;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                runs.push(Invocation::parse(line).map_err(|e| format!("case `{name}`: {e}"))?);
            }
        }
        Ok(Case {
            name,
            dir: dir.to_path_buf(),
            runs,
        })
    }
}

/// All case folders under `root`, sorted by name.
fn load_corpus(root: &Path) -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", root.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let cases: Result<Vec<_>, _> = dirs.iter().map(|d| Case::load(d)).collect();
    cases.unwrap_or_else(|e| panic!("{e}"))
}

fn own_corpus_dir() -> PathBuf {
    repo_root().join("tests/conformance/ninja")
}

fn shared_corpus_dir() -> PathBuf {
    shared_dir().join("conformance/ninja")
}

/// Rewrites every bare `\n` of the files under `dir` (except `runs`) as `\r\n`.
fn convert_to_crlf(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            convert_to_crlf(&path);
        } else if path.file_name().is_some_and(|n| n != "runs") {
            let bytes = std::fs::read(&path).expect("read case file");
            let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
                    out.push(b'\r');
                }
                out.push(b);
            }
            std::fs::write(&path, out).expect("write case file");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison and reporting

/// One mismatch, a row of the failure table.
struct Failure {
    case: String,
    run: String,
    check: &'static str,
    expected: String,
    got: String,
    first_diff: String,
}

/// Shows bytes as escaped ASCII, cut to [`CELL`] characters.
fn show(bytes: &[u8]) -> String {
    let s = bytes.escape_ascii().to_string();
    if s.chars().count() > CELL {
        let cut: String = s.chars().take(CELL).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// `line N: `ninja's`  vs  `ours`` for the first line that differs.
fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let mut e = expected.split_inclusive(|&b| b == b'\n');
    let mut g = got.split_inclusive(|&b| b == b'\n');
    let mut line = 1;
    loop {
        match (e.next(), g.next()) {
            (Some(a), Some(b)) if a == b => line += 1,
            (None, None) => return "identical".into(),
            (a, b) => {
                let side =
                    |x: Option<&[u8]>| x.map_or("<end>".to_string(), |l| format!("`{}`", show(l)));
                return format!("line {line}: {}  vs  {}", side(a), side(b));
            }
        }
    }
}

/// Compares `got` with ninja's `expected`, pushing a row per differing aspect.
fn compare(case: &str, run: &str, expected: &Outcome, got: &Outcome, failures: &mut Vec<Failure>) {
    let row = |check, expected: String, got: String, first_diff: String| Failure {
        case: case.to_string(),
        run: run.to_string(),
        check,
        expected,
        got,
        first_diff,
    };
    if expected.code != got.code {
        failures.push(row(
            "exit status",
            expected.summary(),
            got.summary(),
            first_difference(expected.message(), got.message()),
        ));
    }
    if expected.stdout != got.stdout {
        failures.push(row(
            "stdout",
            format!(
                "{} lines",
                expected.stdout.split(|&b| b == b'\n').count() - 1
            ),
            format!("{} lines", got.stdout.split(|&b| b == b'\n').count() - 1),
            first_difference(&expected.stdout, &got.stdout),
        ));
    }
    if !expected.ok() && !got.ok() && expected.message() != got.message() {
        failures.push(row(
            "error text",
            show(expected.message()),
            show(got.message()),
            first_difference(expected.message(), got.message()),
        ));
    }
}

/// Header of the failure table.
const TABLE_HEAD: &str =
    "| case | run | check | ninja (expected) | ours (got) | first differing line |\n\
                          |---|---|---|---|---|---|\n";

/// Formats all failures as one table; empty when there are none.
fn failure_table(title: &str, failures: &[Failure]) -> String {
    if failures.is_empty() {
        return String::new();
    }
    let cases: std::collections::BTreeSet<_> = failures.iter().map(|f| &f.case).collect();
    let mut out = format!(
        "{title}: {} mismatches in {} cases\n\n{TABLE_HEAD}",
        failures.len(),
        cases.len()
    );
    for f in failures {
        let cell = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(&f.case),
            cell(&f.run),
            f.check,
            cell(&f.expected),
            cell(&f.got),
            cell(&f.first_diff)
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Checking one case

/// Line endings a case runs with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// The files as stored; includes the round trip.
    Plain,
    /// Every `\n` rewritten as `\r\n`; only for cases whose manifest loads.
    Crlf,
}

/// Runs every invocation of `case` under ninja and ours and returns the mismatches.
fn check_case(case: &Case, variant: Variant) -> Vec<Failure> {
    let ninja = ninja();
    let ours = ours();
    let space = TestSpace::new();
    let root = space.path();
    copy_tree(&case.dir, root);
    let prefix = match variant {
        Variant::Plain => "",
        Variant::Crlf => {
            convert_to_crlf(root);
            "crlf: "
        }
    };
    let mut failures = Vec::new();
    let mut ninja_outcomes = Vec::new();
    for inv in &case.runs {
        let expected = run_in(&ninja, &inv.ninja_args(None), root);
        let got = run_in(&ours, &inv.ours_args(), root);
        compare(
            &case.name,
            &format!("{prefix}{}", inv.label()),
            &expected,
            &got,
            &mut failures,
        );
        ninja_outcomes.push(expected);
    }
    if variant == Variant::Plain {
        round_trip(case, root, &ninja, &ours, &ninja_outcomes, &mut failures);
    }
    failures
}

/// Emits each manifest that loads and checks that ninja prints the same for the emitted file.
fn round_trip(
    case: &Case,
    root: &Path,
    ninja: &Path,
    ours: &Path,
    originals: &[Outcome],
    failures: &mut Vec<Failure>,
) {
    // Group runs by their manifest options; one emitted file per group.
    let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for (i, inv) in case.runs.iter().enumerate() {
        groups.entry(inv.options.clone()).or_default().push(i);
    }
    for (n, (options, members)) in groups.into_iter().enumerate() {
        let probe = Invocation {
            tool: Tool::Targets,
            options: options.clone(),
            targets: Vec::new(),
        };
        let loads = members
            .iter()
            .find(|&&i| case.runs[i].tool == Tool::Targets)
            .map(|&i| originals[i].ok())
            .unwrap_or_else(|| run_in(ninja, &probe.ninja_args(None), root).ok());
        if !loads {
            continue;
        }
        let name = format!("cn-roundtrip-{n}.ninja");
        let out_path = probe.work_dir(root).join(&name);
        let mut args = vec!["tool".to_string(), "emit".to_string()];
        args.extend(options.iter().cloned());
        args.extend(["-o".to_string(), out_path.to_string_lossy().into_owned()]);
        let emitted = run_in(ours, &args, root);
        if !emitted.ok() || !out_path.is_file() {
            failures.push(Failure {
                case: case.name.clone(),
                run: format!("emit {}", options.join(" ")).trim_end().to_string(),
                check: "round trip: emit",
                expected: "rc 0 and a file".into(),
                got: format!(
                    "{}, file {}: {}",
                    emitted.status(),
                    if out_path.is_file() {
                        "written"
                    } else {
                        "missing"
                    },
                    show(emitted.message())
                ),
                first_diff: String::new(),
            });
            continue;
        }
        for &i in &members {
            let inv = &case.runs[i];
            let again = run_in(ninja, &inv.ninja_args(Some(&name)), root);
            let before = failures.len();
            compare(
                &case.name,
                &format!("round trip: {}", inv.label()),
                &originals[i],
                &again,
                failures,
            );
            for f in &mut failures[before..] {
                f.got = format!("ninja on emitted: {}", f.got);
            }
        }
    }
}

/// Checks every case on two threads (the machine is shared) and collects all mismatches.
fn check_all(cases: &[Case], variant: Variant) -> Vec<Failure> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<Failure>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let found = check_case(case, variant);
                results.lock().unwrap().push((i, found));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().flat_map(|(_, f)| f).collect()
}

/// Whether ninja loads the case's `build.ninja` (`ninja -t targets all` exits 0).
fn ninja_loads(case: &Case) -> bool {
    let space = TestSpace::new();
    copy_tree(&case.dir, space.path());
    run_in(
        &ninja(),
        &Invocation::new(Tool::Targets).ninja_args(None),
        space.path(),
    )
    .ok()
}

fn assert_no_failures(title: &str, failures: &[Failure]) {
    assert!(failures.is_empty(), "{}", failure_table(title, failures));
}

// ---------------------------------------------------------------------------------------------
// Tests

/// Our corpus is large enough and each case means what its name says under live ninja: an
/// `err-…` case makes ninja fail in at least one run, any other case loads.
#[test]
fn own_corpus_is_meaningful() {
    let ninja = ninja();
    let cases = load_corpus(&own_corpus_dir());
    assert!(
        cases.len() >= MIN_OWN_CASES,
        "only {} cases in {}, want at least {MIN_OWN_CASES}",
        cases.len(),
        own_corpus_dir().display()
    );
    let shared: Vec<String> = load_corpus(&shared_corpus_dir())
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut problems = Vec::new();
    for case in &cases {
        if shared.contains(&case.name) {
            problems.push(format!("{}: duplicates a shared case", case.name));
        }
        if case.dir.join("expected.json").exists() {
            problems.push(format!(
                "{}: has expected.json (ninja runs live)",
                case.name
            ));
        }
        let space = TestSpace::new();
        copy_tree(&case.dir, space.path());
        let outcomes: Vec<Outcome> = case
            .runs
            .iter()
            .map(|inv| run_in(&ninja, &inv.ninja_args(None), space.path()))
            .collect();
        let any_fails = outcomes.iter().any(|o| !o.ok());
        if case.name.starts_with("err-") && !any_fails {
            problems.push(format!(
                "{}: named err- but ninja succeeds in every run",
                case.name
            ));
        }
        if !case.name.starts_with("err-") && !outcomes[1].ok() {
            problems.push(format!(
                "{}: ninja cannot load it: {}",
                case.name,
                show(outcomes[1].message())
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "corpus problems:\n{}",
        problems.join("\n")
    );
}

/// The shared corpus's `expected.json` agrees with the ninja installed here.
#[test]
fn shared_expected_json_matches_live_ninja() {
    let ninja = ninja();
    let mut problems = Vec::new();
    for case in load_corpus(&shared_corpus_dir()) {
        let text = std::fs::read_to_string(case.dir.join("expected.json"))
            .unwrap_or_else(|e| panic!("{}: expected.json: {e}", case.name));
        let expected: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: expected.json: {e}", case.name));
        let space = TestSpace::new();
        copy_tree(&case.dir, space.path());
        for r in expected["runs"].as_array().expect("runs array") {
            let cmd: Vec<String> = r["cmd"]
                .as_array()
                .expect("cmd array")
                .iter()
                .map(|v| v.as_str().expect("cmd word").to_string())
                .collect();
            assert_eq!(cmd[0], "ninja", "{}: cmd {cmd:?}", case.name);
            let live = run_in(&ninja, &cmd[1..], space.path());
            let want = Outcome {
                code: r["rc"].as_i64().map(|c| c as i32),
                stdout: r["stdout"].as_str().expect("stdout").as_bytes().to_vec(),
                stderr: r["stderr"].as_str().expect("stderr").as_bytes().to_vec(),
            };
            if (live.code, &live.stdout, &live.stderr) != (want.code, &want.stdout, &want.stderr) {
                problems.push(format!(
                    "{} `{}`: expected.json {} stdout `{}` stderr `{}`; \
                     live {} stdout `{}` stderr `{}`",
                    case.name,
                    cmd.join(" "),
                    want.status(),
                    show(&want.stdout),
                    show(&want.stderr),
                    live.status(),
                    show(&live.stdout),
                    show(&live.stderr)
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "live ninja disagrees with ../shared expected.json (wrong ninja version?):\n{}",
        problems.join("\n")
    );
}

/// Our corpus: ninja and `cached-ninja tool` agree, and emitted manifests round-trip.
#[test]
fn own_corpus_matches_ninja() {
    let cases = load_corpus(&own_corpus_dir());
    assert_no_failures(
        "tests/conformance/ninja",
        &check_all(&cases, Variant::Plain),
    );
}

/// The shared corpus: ninja and `cached-ninja tool` agree, and emitted manifests round-trip.
#[test]
fn shared_corpus_matches_ninja() {
    let cases = load_corpus(&shared_corpus_dir());
    assert_no_failures(
        "../shared/conformance/ninja",
        &check_all(&cases, Variant::Plain),
    );
}

/// Both corpora again with CRLF line endings, for every case whose manifest loads.
#[test]
fn crlf_variants_match_ninja() {
    let mut cases = load_corpus(&own_corpus_dir());
    cases.extend(load_corpus(&shared_corpus_dir()));
    cases.retain(ninja_loads);
    assert_no_failures("CRLF variants", &check_all(&cases, Variant::Crlf));
}

/// Cases written here rather than as files: NUL bytes, a BOM, bare CR, large manifests.
#[test]
fn inline_cases_match_ninja() {
    let space = TestSpace::new();
    let mut cases = Vec::new();
    for (name, files, runs) in inline_cases() {
        let dir = space.path().join(name);
        for (rel, bytes) in files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).expect("create dir");
            std::fs::write(&path, bytes).expect("write inline case");
        }
        if !runs.is_empty() {
            std::fs::write(dir.join("runs"), runs).expect("write runs");
        }
        cases.push(Case::load(&dir).unwrap_or_else(|e| panic!("{e}")));
    }
    assert_no_failures("inline cases", &check_all(&cases, Variant::Plain));
}

/// A rule `r` that prints its output and inputs.
const RULE: &str = "rule r\n  command = echo $out $in\n";

/// Inline manifests: (name, `build.ninja`), run with the default invocations.
const INLINE: &[(&str, &[u8])] = &[
    // Ninja's lexer stops at a NUL byte as if the file ended there.
    (
        "nul-byte-ends-manifest",
        b"rule r\n  command = echo $out\nbuild o: r\n\0build p: r\n",
    ),
    (
        "nul-byte-inside-value",
        b"rule r\n  command = echo \0x\nbuild o: r\n",
    ),
    (
        "utf8-bom-is-a-lexing-error",
        b"\xef\xbb\xbfrule r\n  command = echo bom\nbuild o: r\n",
    ),
    (
        "bare-cr-line-endings",
        b"rule r\r  command = echo cr\rbuild o: r\r",
    ),
    (
        "crlf-error-context-keeps-cr",
        b"rule r\r\n  command = echo $!\r\nbuild o: r\r\n",
    ),
    (
        "crlf-continuation-then-eof",
        b"rule r\r\n  command = echo $\r\n  x\r\nbuild o: r\r\n  y = $\r\n",
    ),
    (
        "crlf-in-path-escape",
        b"rule r\r\n  command = echo $in\r\nbuild o: r a$ b$\r\n  c\r\n",
    ),
    (
        "non-utf8-paths-via-phony",
        b"rule r\n  command = echo $out\nbuild \x80\x81: r \xc0\xaf\nbuild all: phony \x80\x81\n",
    ),
    (
        "non-utf8-rule-name-is-an-error",
        b"rule r\xff\n  command = x\n",
    ),
    ("non-utf8-variable-name-is-an-error", b"v\xe9 = 1\n"),
    (
        "latin1-everywhere",
        b"# caf\xe9\nv = \xe9\xe8\nrule r\n  command = echo $v $in $out\nbuild \xe0/o: r \xe7 $v\n",
    ),
    (
        "form-feed-and-vertical-tab",
        b"rule r\n  command = echo a\x0cb\x0bc\nbuild o: r\n",
    ),
    (
        "tab-inside-value",
        b"rule r\n  command = echo a\tb\nbuild o: r\n",
    ),
    (
        "tab-inside-path",
        b"rule r\n  command = echo\nbuild o\tp: r\n",
    ),
];

/// One inline case: name, files (relative path, bytes) and the text of its `runs` file.
type InlineCase = (&'static str, Vec<(String, Vec<u8>)>, String);

/// The inline cases: [`INLINE`] plus large generated manifests.
fn inline_cases() -> Vec<InlineCase> {
    let one = |text: &[u8]| vec![("build.ninja".to_string(), text.to_vec())];
    let mut cases: Vec<InlineCase> = INLINE
        .iter()
        .map(|&(name, text)| (name, one(text), String::new()))
        .collect();

    // A chain 3000 edges deep: recursion depth of the command printer.
    let mut chain = format!("{RULE}build n0: r src\n");
    for i in 1..3000 {
        chain.push_str(&format!("build n{i}: r n{}\n", i - 1));
    }
    cases.push((
        "deep-chain-3000",
        one(chain.as_bytes()),
        "commands n2999\n".into(),
    ));

    // One edge with 100 implicit outputs and 5000 inputs.
    let mut wide = format!("{RULE}build out |");
    for i in 0..100 {
        wide.push_str(&format!(" io{i}"));
    }
    wide.push_str(": r");
    for i in 0..5000 {
        wide.push_str(&format!(" in{i}"));
    }
    wide.push('\n');
    cases.push(("wide-edge-5000-inputs", one(wide.as_bytes()), String::new()));

    // Subninja nested 40 deep, each level extending `v` in its own scope and adding an edge.
    let top = format!(
        "{RULE}v = top\nrule s\n  command = echo $v $out\nsubninja d0.ninja\nbuild top: s\n"
    );
    let mut files = vec![("build.ninja".to_string(), top.into_bytes())];
    for i in 0..40 {
        let mut text = format!("v = $v.{i}\nbuild e{i}: s\n");
        if i + 1 < 40 {
            text.push_str(&format!("subninja d{}.ninja\n", i + 1));
        }
        files.push((format!("d{i}.ninja"), text.into_bytes()));
    }
    cases.push(("subninja-nested-40-deep", files, "commands e39 e0\n".into()));

    // Include nested 40 deep: every level shares one scope, so `v` accumulates.
    let top = format!("{RULE}v = 0\ninclude i0.ninja\nbuild top: r\n  extra = $v\n");
    let mut files = vec![("build.ninja".to_string(), top.into_bytes())];
    for i in 0..40 {
        let mut text = format!("v = $v+{i}\nbuild f{i}: r $v\n");
        if i + 1 < 40 {
            text.push_str(&format!("include i{}.ninja\n", i + 1));
        }
        files.push((format!("i{i}.ninja"), text.into_bytes()));
    }
    cases.push(("include-nested-40-deep", files, String::new()));

    // 2000 variables, each referring to the previous one.
    let mut vars = String::from("v0 = x\n");
    for i in 1..2000 {
        vars.push_str(&format!("v{i} = ${{v{}}}x\n", i - 1));
    }
    vars.push_str(&format!(
        "{RULE}build o: r\n  in_extra = $v1999\nbuild p: r $v10\n"
    ));
    cases.push(("variable-chain-2000", one(vars.as_bytes()), String::new()));

    cases
}
