//! A project CI built and published to a real nginx, and a developer's checkout one commit
//! ahead configured on a cache of its own ([`World`]); the fault-injecting proxy in front of
//! that nginx ([`Proxy`], `tests/support/faultproxy.py`, loopback only).

use super::servers::{self, nginx::Nginx};
use super::{cached_ninja, copy_tree, git, objects, repo_root, require_tool, run_ok, TestSpace};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `cached-ninja` with its local cache at `cache`.
pub fn cn(cache: &Path) -> Command {
    let mut c = Command::new(cached_ninja());
    c.env("CACHED_NINJA_CACHE_DIR", cache);
    c
}

/// `configure` of `src` (CMake, Ninja) into `obj` with the cache at `cache`.
pub fn configure(src: &Path, obj: &Path, cache: &Path) {
    super::cmake_configure(&mut cn(cache), src, obj, &[]);
}

/// The test knob that keeps launchers waiting for a plan whose stores were asked and have not
/// answered yet up to their wait budget (`[fetch] wait_ms`, 10 s by default), not the
/// product's 0.3 s: for tests that assert every object a hit through a store a loaded machine
/// may answer slowly (the Python proxy). `store_faults` tests the 0.3 s itself.
pub const PATIENT: (&str, &str) = ("CACHED_NINJA_TEST_SILENT_PATIENCE_MS", "60000");

/// CI's build of a CMake project published to nginx (at `cn`), and a developer checkout one
/// commit ahead, configured.
pub struct World {
    /// The test's directory.
    pub space: TestSpace,
    /// The store's server.
    pub nginx: Nginx,
    /// CI's public key.
    pub public: String,
    /// CI's objects (a `--no-fetch` build's).
    pub ci_objects: BTreeMap<String, Vec<u8>>,
    /// The developer's checkout.
    pub dev: PathBuf,
    /// The developer's object directory.
    pub obj: PathBuf,
    /// The developer's local cache.
    pub cache: PathBuf,
}

impl World {
    /// `examples/shapes` (five objects).
    pub fn shapes() -> World {
        let w = World::new(|src| copy_tree(&repo_root().join("examples/shapes"), src));
        assert_eq!(w.ci_objects.len(), 5);
        w
    }

    /// The project `write_src` writes into the directory it is given.
    pub fn new(write_src: impl FnOnce(&Path)) -> World {
        let space = TestSpace::new();
        let root = space.path();
        let nginx = Nginx::start();
        let src = root.join("ci/src");
        write_src(&src);
        git(&src, &["init", "-q"]);
        git(&src, &["add", "-A"]);
        git(&src, &["commit", "-qm", "ci"]);
        let (key, public) = super::key_file(root, "ci.key");
        let (ci_obj, ci_cache) = (root.join("ci/obj"), root.join("ci/cache"));
        configure(&src, &ci_obj, &ci_cache);
        run_ok(
            cn(&ci_cache)
                .args(["build", "--no-fetch", "--publish", "--store"])
                .arg(nginx.url("cn"))
                .arg("--key")
                .arg(&key)
                .arg("-C")
                .arg(&ci_obj),
        );
        let ci_objects = objects(&ci_obj);
        let dev = root.join("dev/src");
        std::fs::create_dir_all(dev.parent().unwrap()).unwrap();
        let (from, to) = (src.display().to_string(), dev.display().to_string());
        git(root, &["clone", "-q", &from, &to]);
        std::fs::write(dev.join("NOTES.developer"), "local work\n").unwrap();
        git(&dev, &["add", "NOTES.developer"]);
        git(&dev, &["commit", "-qm", "local"]);
        let (obj, cache) = (root.join("dev/obj"), root.join("dev/cache"));
        configure(&dev, &obj, &cache);
        World {
            space,
            nginx,
            public,
            ci_objects,
            dev,
            obj,
            cache,
        }
    }

    /// Another object directory `dev/<name>` of the developer's checkout, on the same cache.
    pub fn another_objdir(&self, name: &str) -> PathBuf {
        let obj = self.space.path().join("dev").join(name);
        configure(&self.dev, &obj, &self.cache);
        obj
    }

    /// Starts `cached-ninja build --no-fill` of `obj` on the developer's cache, output piped.
    pub fn spawn_build(&self, obj: &Path) -> Child {
        self.spawn_build_with(obj, &[])
    }

    /// [`World::spawn_build`] with more environment variables (test knobs).
    pub fn spawn_build_with(&self, obj: &Path, envs: &[(&str, &str)]) -> Child {
        cn(&self.cache)
            .envs(envs.iter().copied())
            .args(["build", "--no-fill", "-C"])
            .arg(obj)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Writes `obj`'s policy: the store at `url`, CI's key trusted, then `more` lines.
    pub fn policy(&self, obj: &Path, url: &str, more: &str) {
        std::fs::write(
            obj.join("cached-ninja.toml"),
            format!(
                "[[store]]\nurl = \"{url}\"\n[trust]\npublishers = [\"{}\"]\n{more}",
                self.public
            ),
        )
        .unwrap();
    }
}

/// The proxy in front of a world's nginx, killed on drop.
pub struct Proxy {
    child: Child,
    /// Its loopback port.
    pub port: u16,
    log: PathBuf,
}

impl Proxy {
    /// The proxy with the fault `mode` on requests whose path contains `only`.
    pub fn start(w: &World, mode: &str, only: &str) -> Proxy {
        Proxy::start_with(w, mode, only, &[])
    }

    /// [`Proxy::start`] with more arguments (`--gate FILE` of the `hold` mode).
    pub fn start_with(w: &World, mode: &str, only: &str, more: &[&str]) -> Proxy {
        let python = require_tool("python3", "python3");
        let port = servers::free_port();
        let log = w.space.path().join(format!("proxy-{mode}.log"));
        std::fs::write(&log, "").unwrap();
        let mut child = Command::new(python)
            .arg(repo_root().join("tests/support/faultproxy.py"))
            .args(["--listen", &port.to_string()])
            .args(["--upstream", &w.nginx.port().to_string()])
            .args(["--mode", mode, "--only", only, "--log"])
            .arg(&log)
            .args(more)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        servers::wait_until_listening(&mut child, port, "faultproxy.py", &log);
        // The readiness probe is a connection of its own: start counting after it.
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&log, "").unwrap();
        Proxy { child, port, log }
    }

    /// The store's URL through this proxy.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/cn", self.port)
    }

    /// Connections the proxy accepted since it started.
    pub fn connections(&self) -> usize {
        self.log_lines().len()
    }

    /// Its log: one `<n> <method> <path>` line per connection, as each request arrived.
    pub fn log_lines(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap();
        log.lines().map(str::to_string).collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (60 s at most, a bound that cannot flake) until `done`.
pub fn wait_until(what: &str, done: impl Fn() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < Duration::from_secs(60), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for a build started by [`World::spawn_build`]; it must succeed.
pub fn finished(c: Child) -> Output {
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("{err}");
    assert!(out.status.success(), "{err}");
    out
}
