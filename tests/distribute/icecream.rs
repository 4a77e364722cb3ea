//! A real icecream farm of two nodes for one test, each in network and mount namespaces of the
//! test's own (icecream knows a node by its address, and compiles itself what the scheduler
//! gives the asking node, so a remote compile needs a second address; the daemon's socket is
//! at a fixed path, so each node gets its own `/var/run/icecc`): node A (10.77.0.1) runs the
//! scheduler and a daemon that takes no jobs, and is where the build runs; node B (10.77.0.2)
//! compiles. A veth pair joins them. Needs root (namespaces, iceccd's chroot).

use crate::distccd::open_to_all;
use crate::support::published::wait_until;
use crate::support::require_tool;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running two-node farm.
pub struct Icecream {
    /// Namespace holders (`sleep` under `unshare`), then the daemons.
    children: Vec<Child>,
    /// Node A's holder: commands run in its namespaces ([`Icecream::command`]).
    node_a: u32,
    /// Node A's daemon, to stop it (engine down).
    daemon_a: usize,
    dir: PathBuf,
}

impl Icecream {
    /// Starts the farm with its logs and environments in `dir`.
    pub fn start(dir: &Path) -> Icecream {
        for (tool, package) in [
            ("unshare", "util-linux"),
            ("nsenter", "util-linux"),
            ("ip", "iproute2"),
            ("icecc", "icecc"),
            ("iceccd", "icecc"),
            ("icecc-scheduler", "icecc"),
        ] {
            require_tool(tool, package);
        }
        open_to_all(dir);
        let hold = || {
            Command::new("unshare")
                .args(["-m", "-n", "--propagation", "private", "sleep", "100000"])
                .spawn()
                .expect("unshare (root is needed for namespaces)")
        };
        let mut farm = Icecream {
            children: vec![hold(), hold()],
            node_a: 0,
            daemon_a: 0,
            dir: dir.to_path_buf(),
        };
        let (a, b) = (farm.children[0].id(), farm.children[1].id());
        let own_net = std::fs::read_link("/proc/self/ns/net").ok();
        for pid in [a, b] {
            // `unshare` execs `sleep` once its namespaces are made.
            wait_until("the namespaces of a node", || {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                assert!(
                    !state.is_empty() && !state.starts_with('Z'),
                    "unshare failed (root is needed for namespaces)"
                );
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                let net = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
                comm.trim() == "sleep" && net.is_some() && net != own_net
            });
        }
        farm.node_a = a;
        let tag = std::process::id() % 100_000;
        let (va, vb) = (format!("cn{tag}a"), format!("cn{tag}b"));
        sh(&format!("ip link add {va} type veth peer name {vb} && ip link set {va} netns {a} && ip link set {vb} netns {b}"));
        for (pid, dev, ip) in [(a, &va, "10.77.0.1"), (b, &vb, "10.77.0.2")] {
            sh(&format!(
                "nsenter -t {pid} -n sh -c 'ip link set lo up && ip addr add {ip}/24 dev {dev} && ip link set {dev} up' && \
                 nsenter -t {pid} -m sh -c 'mkdir -p /var/run/icecc && mount -t tmpfs tmpfs /var/run/icecc && (chown icecc /var/run/icecc || true)'"
            ));
        }
        let log = |name: &str| dir.join(name).display().to_string();
        let scheduler = farm.spawn_in(a, "icecc-scheduler", &["-l", &log("scheduler.log")]);
        farm.children.push(scheduler);
        // The daemons find the scheduler at once when it listens (port 8765, 0x223D).
        wait_until("the scheduler to listen", || {
            ["tcp", "tcp6"].iter().any(|t| {
                let table = std::fs::read_to_string(format!("/proc/{a}/net/{t}"));
                table.unwrap_or_default().lines().any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() > 3 && f[1].ends_with(":223D") && f[3] == "0A"
                })
            })
        });
        let env_a = log("env-a");
        let daemon_a = farm.spawn_in(
            a,
            "iceccd",
            &[
                "-s",
                "10.77.0.1",
                "-l",
                &log("a.log"),
                "-b",
                &env_a,
                "-m",
                "0",
                "-N",
                "nodeA",
                "--no-remote",
            ],
        );
        farm.children.push(daemon_a);
        farm.daemon_a = farm.children.len() - 1;
        let env_b = log("env-b");
        let daemon_b = farm.spawn_in(
            b,
            "iceccd",
            &[
                "-s",
                "10.77.0.1",
                "-l",
                &log("b.log"),
                "-b",
                &env_b,
                "-m",
                "2",
                "-N",
                "nodeB",
                "-vv",
            ],
        );
        farm.children.push(daemon_b);
        farm
    }

    /// `program args…` started in the namespaces of the holder `pid`.
    fn spawn_in(&self, pid: u32, program: &str, args: &[&str]) -> Child {
        Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-m", "-n", "--", program])
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"))
    }

    /// A command that runs `program` on node A (in its namespaces, in the current directory).
    pub fn command(&self, program: &Path) -> Command {
        let cwd = std::env::current_dir().unwrap();
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.node_a.to_string(), "-m", "-n"])
            .arg(format!("-w{}", cwd.display()))
            .arg("--")
            .arg(program);
        c
    }

    /// Waits until probe compiles from node A with the build's compilers (`/usr/bin/cc` and
    /// `/usr/bin/c++`, as CMake names them) ran on node B: the scheduler takes a while to
    /// accept a new node, and each compiler's environment is built and sent once.
    pub fn wait_ready(&self, limit: Duration) {
        let t = Instant::now();
        for (compiler, source) in [("/usr/bin/cc", "probe.c"), ("/usr/bin/c++", "probe.cc")] {
            let probe = self.dir.join(source);
            std::fs::write(&probe, "int probe(int x) { return x + 1; }\n").unwrap();
            let before = self.remote_compiles();
            while self.remote_compiles() == before {
                assert!(
                    t.elapsed() < limit,
                    "icecream ran no remote compile within {limit:?}; node B's log:\n{}",
                    std::fs::read_to_string(self.dir.join("b.log")).unwrap_or_default()
                );
                let _ = self
                    .command(Path::new("icecc"))
                    .arg(compiler)
                    .arg("-c")
                    .arg(&probe)
                    .arg("-o")
                    .arg(self.dir.join("probe.o"))
                    .output();
            }
        }
    }

    /// Compiles node B finished successfully, from its log.
    pub fn remote_compiles(&self) -> usize {
        std::fs::read_to_string(self.dir.join("b.log"))
            .unwrap_or_default()
            .matches("Remote compilation completed with exit code 0")
            .count()
    }

    /// Stops node A's daemon: the build's engine is down.
    pub fn stop_local_daemon(&mut self) {
        stop(&mut self.children[self.daemon_a]);
    }
}

impl Drop for Icecream {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            stop(c);
        }
    }
}

/// SIGTERM to `c`, then reaped.
fn stop(c: &mut Child) {
    // SAFETY: a plain kill(2) of our own child.
    unsafe {
        libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = c.wait();
}

/// Runs a shell command; must succeed.
fn sh(script: &str) {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
