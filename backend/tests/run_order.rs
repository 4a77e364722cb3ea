//! `Graph::run_order` against a real `ninja -j1` build of random graphs (skipped without
//! `ninja`): each command appends its output's name to a log.

use backend::ninja::load;
use std::process::Command;

/// A small deterministic generator (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Edges over nodes n0..n{count}: each edge's inputs have higher numbers, so no cycles.
/// Also gives the nodes no edge builds (source files, which must exist for ninja).
fn manifest(seed: u64, count: usize) -> (String, Vec<usize>) {
    let mut rng = Lcg(seed);
    let mut text = String::from("rule r\n  command = echo $out >> log; touch $out\n");
    let mut order: Vec<usize> = (0..count).collect();
    let mut sources = Vec::new();
    for i in (1..count).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for &i in &order {
        if rng.below(4) == 0 {
            sources.push(i);
            continue;
        }
        let rule = if rng.below(6) == 0 { "phony" } else { "r" };
        let mut line = format!("build n{i}: {rule}");
        for kind in ["", " |", " ||", " |@"] {
            let k = rng.below(if kind.is_empty() { 4 } else { 2 });
            if k > 0 {
                line.push_str(kind);
            }
            for _ in 0..k {
                let j = i + 1 + rng.below(count - i);
                if j < count {
                    line.push_str(&format!(" n{j}"));
                }
            }
        }
        text.push_str(&line);
        text.push('\n');
    }
    (text, sources)
}

#[test]
fn run_order_matches_ninja_j1() {
    if Command::new("ninja").arg("--version").output().is_err() {
        eprintln!("ninja not installed; skipped");
        return;
    }
    for seed in 0..40 {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("build.ninja");
        let (text, sources) = manifest(seed, 30);
        std::fs::write(&path, &text).expect("write");
        for i in sources {
            std::fs::write(dir.path().join(format!("n{i}")), "").expect("source");
        }
        let out = Command::new("ninja")
            .args(["-j1"])
            .current_dir(dir.path())
            .output()
            .expect("ninja runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        let want: Vec<&str> = log.lines().collect();
        let m = load(&path).expect("loads");
        let g = m.graph();
        let targets = g.default_nodes().expect("roots");
        let got: Vec<String> = g
            .run_order(&targets)
            .into_iter()
            .filter(|&e| !g.is_phony(e))
            .map(|e| String::from_utf8_lossy(&g.binding(e, b"out")).into_owned())
            .collect();
        assert_eq!(got, want, "seed {seed}:\n{text}");
    }
}
