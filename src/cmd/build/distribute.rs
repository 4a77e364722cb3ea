//! The policy's distributed compiler for one build (issue 18): what the launchers get in
//! their environment (`engine::launcher::distribute`), and the remote slots Ninja's default
//! job count adds to the local ones. The CPU tokens (`-j`) stay the local CPUs: a distributed
//! compile holds one only while it preprocesses here.

use crate::policy::{DistributeEngine, Policy};
use std::path::Path;
use std::process::Command;

/// The distributed compiler (a distcc or icecream farm) of a build.
pub struct Farm {
    /// The engine.
    engine: DistributeEngine,
    /// The launchers' environment: the engine and its settings.
    env: Vec<(String, String)>,
    /// Remote compile slots (policy, else what the engine reports).
    pub slots: usize,
}

impl Farm {
    /// The policy's `[distribute]` for the object directory `dir`, if it names an engine.
    /// Starts the build's count of engine failures afresh (the `distribute-down` marker).
    pub fn of(policy: &Policy, dir: &Path) -> Option<Farm> {
        let _ = std::fs::remove_file(fetch::objdir::ObjDir::new(dir).distribute_down_file());
        let d = &policy.distribute;
        let engine = d.engine?;
        let env = d.env();
        let slots = d
            .slots
            .unwrap_or_else(|| reported_slots(engine, &env).unwrap_or(0));
        Some(Farm { engine, env, slots })
    }

    /// Passes the engine and its settings to Ninja's commands.
    pub fn export(&self, cmd: &mut Command) {
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
    }

    /// The line that says where misses go.
    pub fn describe(&self) -> String {
        format!(
            "cached-ninja build: misses compile on {} ({} remote slots)",
            self.engine.name(),
            self.slots
        )
    }
}

/// The remote slots the engine reports: distcc's host list with its `/N` limits (2 when a
/// host names none, distcc's default; `localhost` entries are local). icecream's client does
/// not report its farm.
fn reported_slots(engine: DistributeEngine, env: &[(String, String)]) -> Option<usize> {
    if engine != DistributeEngine::Distcc {
        return None;
    }
    let out = Command::new("distcc")
        .arg("--show-hosts")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .ok()?;
    Some(slots_of_hosts(&String::from_utf8_lossy(&out.stdout)))
}

/// The remote slots of distcc's `--show-hosts` output.
fn slots_of_hosts(text: &str) -> usize {
    text.lines()
        .map(|l| l.split(',').next().unwrap_or("").trim())
        .filter(|h| !h.is_empty() && !h.starts_with("localhost"))
        .map(|h| {
            h.rsplit_once('/')
                .and_then(|(_, n)| n.parse().ok())
                .unwrap_or(2)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn slots_from_distcc_hosts() {
        let text = "localhost/2\n10.0.0.1:3632/8\nbuild2/16,lzo\nbuild3\n";
        assert_eq!(super::slots_of_hosts(text), 8 + 16 + 2);
    }
}
