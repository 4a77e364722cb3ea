//! The test project of `tests/dbgfetch.rs`: a project configured with split DWARF, built
//! objects-only, filled, and looked at with gdb, lldb and `dbgfetch status`.

use crate::support::{cached_ninja, require_tool, run, run_ok};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The `dbgfetch` binary under test.
pub fn dbgfetch() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dbgfetch"))
}

pub const A_C: &str = "int helper(int x);\nint main(void) {\n    int answer = 41;\n    int other = helper(answer);\n    return other - 42;\n}\n";
pub const B_C: &str =
    "int helper(int x) {\n    int step = 1;\n    int sum = x + step;\n    return sum;\n}\n";
pub const CMAKE: &str =
    "cmake_minimum_required(VERSION 3.13)\nproject(two C)\nadd_executable(two a.c b.c)\n";

/// A project configured with split DWARF: its sources, object directory and cache.
pub struct Project {
    pub src: PathBuf,
    pub obj: PathBuf,
    pub cache: PathBuf,
}

impl Project {
    /// The two-file C program at `<root>/src` with `policy` (to which `split_dwarf = true` is
    /// prepended), configured in `<root>/obj`, using `cache`.
    pub fn two_files(root: &Path, policy: &str, cache: &Path) -> Project {
        Project::two_files_with(root, B_C, policy, cache)
    }

    /// [`Project::two_files`] with `b_c` as b.c.
    pub fn two_files_with(root: &Path, b_c: &str, policy: &str, cache: &Path) -> Project {
        let src = root.join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("a.c"), A_C).unwrap();
        std::fs::write(src.join("b.c"), b_c).unwrap();
        std::fs::write(src.join("CMakeLists.txt"), CMAKE).unwrap();
        Project::configure(root, src, policy, cache)
    }

    /// `src` (with its `cached-ninja.toml` written from `policy`) configured in `<root>/obj`.
    pub fn configure(root: &Path, src: PathBuf, policy: &str, cache: &Path) -> Project {
        Project::configure_with(root, src, policy, cache, &[])
    }

    /// [`Project::configure`] with more CMake arguments.
    pub fn configure_with(
        root: &Path,
        src: PathBuf,
        policy: &str,
        cache: &Path,
        cmake_args: &[&str],
    ) -> Project {
        require_tool("cmake", "cmake");
        require_tool("ninja", "ninja-build");
        require_tool("gcc", "gcc");
        let toml = format!("split_dwarf = true\n{policy}");
        std::fs::write(src.join("cached-ninja.toml"), toml).unwrap();
        let obj = root.join("obj");
        let p = Project {
            src,
            obj,
            cache: cache.to_path_buf(),
        };
        run_ok(
            p.cn()
                .args([
                    "configure",
                    "--enable-build-backend=cached-ninja",
                    "--objdir",
                ])
                .arg(&p.obj)
                .args(["--", "cmake", "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug"])
                .args(cmake_args)
                .arg("-S")
                .arg(&p.src)
                .arg("-B")
                .arg(&p.obj),
        );
        p
    }

    pub fn cn(&self) -> Command {
        let mut c = Command::new(cached_ninja());
        c.env("CACHED_NINJA_CACHE_DIR", &self.cache);
        c
    }

    /// `cached-ninja build --no-fill`, then the `.dwo` files removed (objects only).
    pub fn build_objects_only(&self) {
        run_ok(self.cn().args(["build", "--no-fill", "-C"]).arg(&self.obj));
        for dwo in files_named(&self.obj, ".dwo") {
            std::fs::remove_file(dwo).unwrap();
        }
    }

    /// `dbgfetch fill --wait -C obj`.
    pub fn fill(&self) -> Output {
        run(Command::new(dbgfetch())
            .env("CACHED_NINJA_CACHE_DIR", &self.cache)
            .args(["fill", "--wait", "-C"])
            .arg(&self.obj))
    }

    /// `dbgfetch status --json -C obj`, the record of `binary`.
    pub fn status(&self, binary: &str) -> serde_json::Value {
        let out = run_ok(
            Command::new(dbgfetch())
                .args(["status", "--json", "-C"])
                .arg(&self.obj),
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["binaries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["binary"] == binary)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }

    /// gdb stopped at `at`: `info locals` then `list`, with the launcher's source mapping.
    pub fn gdb(&self, binary: &str, at: &str) -> String {
        require_tool("gdb", "gdb");
        let out = run(Command::new("gdb")
            .current_dir(self.obj.parent().unwrap())
            .args(["-batch", "-nx", "-x"])
            .arg(self.obj.join(".cached-ninja/gdbinit"))
            .args(["-ex", "set breakpoint pending on"])
            .args(["-ex", &format!("break {at}"), "-ex", "run"])
            .args(["-ex", "info locals", "-ex", "list"])
            .arg(self.obj.join(binary)));
        text(&out)
    }

    /// lldb stopped at `file:line`: `frame variable`, then the source around it.
    pub fn lldb(&self, binary: &str, file: &str, line: u32) -> String {
        require_tool("lldb", "lldb");
        let out = run(Command::new("lldb")
            .current_dir(self.obj.parent().unwrap())
            .arg("-b")
            .arg("-s")
            .arg(self.obj.join(".cached-ninja/lldbinit"))
            .args(["-o", &format!("b {file}:{line}"), "-o", "run"])
            .args(["-o", "frame variable"])
            .args(["-o", &format!("source list -f {file} -l 1 -c 6")])
            .arg(self.obj.join(binary)));
        text(&out)
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Files under `dir` whose name ends with `suffix`.
pub fn files_named(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_named(&p, suffix));
        } else if p.to_string_lossy().ends_with(suffix) {
            out.push(p);
        }
    }
    out
}

/// Asserts gdb at `b.c:4` shows the locals' values and the source lines.
pub fn assert_gdb_filled(out: &str) {
    assert!(
        out.contains("step = 1") && out.contains("sum = 42"),
        "locals:\n{out}"
    );
    assert!(out.contains("int sum = x + step;"), "source lines:\n{out}");
    assert!(!out.contains("Could not find DWO"), "{out}");
}

/// Asserts lldb at `b.c:4` shows the locals' values and the source lines.
pub fn assert_lldb_filled(out: &str) {
    assert!(
        out.contains("step = 1") && out.contains("sum = 42"),
        "{out}"
    );
    assert!(out.contains("int sum = x + step;"), "{out}");
}

pub fn assert_filled(p: &Project, binary: &str, layout: &str, units: u64) {
    let s = p.status(binary);
    assert_eq!(s["state"], "filled", "{s}");
    assert_eq!(s["layout"], layout, "{s}");
    assert_eq!(s["filled"].as_u64(), Some(units), "{s}");
    assert_eq!(s["units"].as_u64(), Some(units), "{s}");
}

pub fn dwarfdump_verifies(path: &Path) {
    require_tool("llvm-dwarfdump", "llvm");
    let out = run_ok(Command::new("llvm-dwarfdump").arg("--verify").arg(path));
    assert!(text(&out).contains("No errors."), "{}", text(&out));
}

/// The local cache's blob files holding exactly `bytes`.
pub fn cache_blobs_of(cache: &Path, bytes: &[u8]) -> Vec<PathBuf> {
    files_named(&cache.join("cas"), "")
        .into_iter()
        .filter(|b| std::fs::read(b).is_ok_and(|x| x == bytes))
        .collect()
}

/// `dbgfetch fill --wait` with a pause before each layout is written.
pub fn stalled_fill(p: &Project, stall_ms: u64) -> std::process::Child {
    Command::new(dbgfetch())
        .env("CACHED_NINJA_CACHE_DIR", &p.cache)
        .env("DBGFETCH_TEST_STALL_MS", stall_ms.to_string())
        .args(["fill", "--wait", "-C"])
        .arg(&p.obj)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `dbgfetch status` says a fill runs; returns its pid.
pub fn running_fill(p: &Project) -> u64 {
    let start = Instant::now();
    loop {
        let out = run_ok(
            Command::new(dbgfetch())
                .args(["status", "--json", "-C"])
                .arg(&p.obj),
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(pid) = v["running"].as_u64() {
            return pid;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no fill started");
        std::thread::sleep(Duration::from_millis(20));
    }
}
