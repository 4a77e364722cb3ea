#!/usr/bin/env python3
"""Crash campaign (issue 16): `kill -9` at random moments, then check nothing was hurt.

Project: examples/shapes (or with --project libgit2 the real libgit2 1.9.1, fetched through
tests/support/third-party-src.sh) with split DWARF, built and published by "CI" to a store (a
`file://` directory, or with --nginx a real nginx WebDAV server from bench/lib/ci-store.sh);
the developer's object directory and local cache are separate. Compiles go through a compiler
wrapper that sleeps $CRASH_COMPILE_SLEEP seconds first, so a kill lands in the compile window.

Each round kills one process, chosen at random among:
  launcher/compile      a launcher while its compiler runs (sources changed: a miss)
  launcher/insert       a launcher while it inserts into the cache (inserts stall 0.3 s each)
  launcher/materialise  a launcher serving a hit (objects removed, sources as stored)
  build/pull, build/ninja, build/start
                        `cached-ninja build` at a random moment; named by what ran when it died
                        (the pull marker present, Ninja running, neither yet)
  publish/-             `cached-ninja publish` of CI's objects into an emptied store
  dbgfetch/fill         `dbgfetch fill --wait` of the developer's binaries

After each: `cache verify` of the caches finds no problem but partial temporary files of the
killed writer; no process (ninja, launcher, compiler) is left in the object directories after a
grace of 15 s; the next `cached-ninja build` succeeds, its objects equal CI's (compared as
`objcopy --strip-debug` bytes), and a second `cache verify` is clean (the build removed the dead
writer's temporaries). A killed round whose process had already exited is counted as "missed".

Usage: python3 bench/crash-campaign.py [--kills N] [--seed S] [--nginx] [--project shapes|libgit2]
                                      [--work DIR] [--targets T,…] [--time-limit S]
  env: CN=path/to/cached-ninja DBGFETCH=path/to/dbgfetch (default: target/release)
Prints counts per target/moment, failures and the time taken; exits 1 if any check failed.
"""

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GRACE_S = 15.0
ROUND_TIMEOUT_S = 300.0
# libgit2 as bench/lib/ci-store.sh configures it.
LIBGIT2_CMAKE = ["-DBUILD_TESTS=OFF", "-DBUILD_CLI=ON", "-DUSE_SSH=OFF", "-DUSE_HTTPS=OFF",
                 "-DUSE_GSSAPI=OFF", "-DUSE_BUNDLED_ZLIB=ON"]
# Sources a round changes at most (each one a miss of the next build).
MAX_CHANGED = {"shapes": 2, "libgit2": 3}
TEMP_LEFTOVER = "partial temporary file of a writer that is gone"


def log(msg):
    print(f"[crash] {msg}", file=sys.stderr, flush=True)


class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = Path(args.work or tempfile.mkdtemp(prefix="cn-crash-")).resolve()
        self.cn = os.environ.get("CN") or str(REPO / "target/release/cached-ninja")
        self.dbgfetch = os.environ.get("DBGFETCH") or str(Path(self.cn).with_name("dbgfetch"))
        self.counts = collections.Counter()
        self.landed = collections.Counter()
        self.seconds = collections.Counter()
        self.failures = []
        self.nginx = None

    # ---- processes -------------------------------------------------------------------
    def env(self, cache, **extra):
        e = dict(os.environ)
        e.update(CACHED_NINJA_CACHE_DIR=str(cache), PATH=f"{self.work}/bin:{e['PATH']}")
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def run(self, argv, cache, check=True, **extra):
        r = subprocess.run(argv, env=self.env(cache, **extra), capture_output=True, text=True,
                           timeout=ROUND_TIMEOUT_S)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, argv))} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return r

    def spawn(self, argv, cache, **extra):
        return subprocess.Popen(argv, env=self.env(cache, **extra), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    @staticmethod
    def in_dirs(dirs):
        """Live processes (not zombies) whose working directory is under one of `dirs`."""
        found = []
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                stat = (p / "stat").read_text()
                if stat[stat.rfind(")") + 2] == "Z":
                    continue
                cwd = os.readlink(p / "cwd")
                cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if any(cwd == str(d) or cwd.startswith(f"{d}/") for d in dirs):
                found.append((int(p.name), cmd.strip()))
        return found

    @staticmethod
    def children(pid):
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            return []
        out = []
        for t in tasks:
            try:
                out += [int(c) for c in (t / "children").read_text().split()]
            except OSError:
                pass
        return out

    def launchers(self, build):
        """The launchers Ninja (the build's child) runs now: cheaper than a scan of /proc, so
        a hit's few milliseconds can be caught."""
        found = []
        for ninja in self.children(build.pid):
            # Ninja runs each command through `/bin/sh -c`, which may or may not exec it.
            shells = self.children(ninja)
            for pid in shells + [p for sh in shells for p in self.children(sh)]:
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if len(argv) > 1 and Path(argv[0].decode()).name == "cached-ninja" and argv[1] == b"cc":
                    found.append(pid)
        return found

    # ---- the project -------------------------------------------------------------------
    def setup(self):
        w = self.work
        log(f"work directory {w}")
        (w / "bin").mkdir(parents=True, exist_ok=True)
        for cc, real in (("gcc", "/usr/bin/gcc"), ("g++", "/usr/bin/g++")):
            wrapper = w / "bin" / cc
            wrapper.write_text(f'#!/bin/sh\n[ -n "$CRASH_COMPILE_SLEEP" ] && sleep "$CRASH_COMPILE_SLEEP"\n'
                               f'exec {real} "$@"\n')
            wrapper.chmod(0o755)
        key, pub = w / "ci.key", w / "ci.pub"
        r = subprocess.run([self.cn, "key", "generate", "--out", str(key)], capture_output=True,
                           text=True, check=True)
        pub.write_text(r.stdout)
        self.store = self.start_store()
        src = w / "src"
        if self.args.project == "libgit2":
            tree = subprocess.run(["bash", str(REPO / "tests/support/third-party-src.sh"), "libgit2"],
                                  capture_output=True, text=True, check=True).stdout.strip()
            shutil.copytree(tree, src)
            cmake_extra = LIBGIT2_CMAKE
        else:
            shutil.copytree(REPO / "examples/shapes", src)
            cmake_extra = []
        (src / "cached-ninja.toml").write_text(
            f'split_dwarf = true\n[[store]]\nurl = "{self.store}"\nwrite = true\n'
            f'[trust]\npublishers = ["{r.stdout.strip()}"]\n[publish]\nkey = "{key}"\n')
        git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.org"]
        subprocess.run(git + ["init", "-q"], cwd=src, check=True)
        subprocess.run(git + ["add", "-A"], cwd=src, check=True)
        subprocess.run(git + ["commit", "-qm", "ci"], cwd=src, check=True)
        self.src = src
        self.ci_obj, self.ci_cache = w / "ci/obj", w / "ci/cache"
        self.obj, self.cache = w / "dev/obj", w / "dev/cache"
        for obj, cache in ((self.ci_obj, self.ci_cache), (self.obj, self.cache)):
            self.run([self.cn, "configure", "--enable-build-backend=cached-ninja", "--objdir", str(obj),
                      "--", "cmake", "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug",
                      "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
                      f"-DCMAKE_C_COMPILER={w}/bin/gcc", f"-DCMAKE_CXX_COMPILER={w}/bin/g++",
                      *cmake_extra, "-S", str(src), "-B", str(obj)], cache)
        # The sources the build compiles (a change to another file would make no miss).
        import json
        commands = json.loads((self.obj / "compile_commands.json").read_text())
        self.sources = sorted({Path(c["file"]) for c in commands
                               if Path(c["file"]).is_relative_to(src)})
        self.pristine = {p: p.read_bytes() for p in self.sources}
        self.run([self.cn, "build", "--no-fetch", "--no-fill", "--publish", "-C", str(self.ci_obj)],
                 self.ci_cache)
        self.reference = self.objects(self.ci_obj)
        if len(self.reference) < len(self.sources):
            raise RuntimeError(f"CI built {len(self.reference)} objects for {len(self.sources)} sources")
        log(f"CI built and published {len(self.reference)} objects")
        self.run([self.cn, "build", "--no-fill", "-C", str(self.obj)], self.cache)
        self.run([self.dbgfetch, "fill", "--wait", "-C", str(self.obj)], self.cache)

    def start_store(self):
        if not self.args.nginx:
            (self.work / "store").mkdir()
            return f"file://{self.work}/store"
        script = (f'log() {{ :; }}; PROJECT=libgit2; source "{REPO}/bench/lib/ci-store.sh"; '
                  f'start_webdav_nginx 64 "" >/dev/null 2>&1; echo "$PORT $NGINX_PID"')
        out = subprocess.run(["bash", "-c", script], env=dict(os.environ, REPO=str(REPO),
                             WORK=str(self.work), CN=self.cn), capture_output=True, text=True,
                             check=True).stdout.split()
        port, self.nginx = out[0], int(out[1])
        for _ in range(100):
            try:
                import socket
                socket.create_connection(("127.0.0.1", int(port)), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        return f"http://127.0.0.1:{port}/cn"

    def objects(self, obj):
        """Each `*.o` below `obj` (relative path) as `objcopy --strip-debug` bytes."""
        out = {}
        for p in sorted(obj.rglob("*.o")):
            if "CMakeFiles" in p.parts and "CompilerId" in str(p):
                continue
            stripped = self.work / "stripped.o"
            subprocess.run(["objcopy", "--strip-debug", str(p), str(stripped)], check=True)
            out[str(p.relative_to(obj))] = stripped.read_bytes()
        return out

    def change_sources(self):
        """Appends a fresh comment to one or both C sources: new keys, the same objects (the C++
        sources, slower to compile, change keys only when a round empties the cache)."""
        c_sources = [p for p in self.sources if p.suffix == ".c"]
        most = min(len(c_sources), MAX_CHANGED[self.args.project])
        for p in self.rng.sample(c_sources, self.rng.randint(1, most)):
            with open(p, "a") as f:
                f.write(f"/* crash round {self.rng.getrandbits(64):x} */\n")

    def restore_sources(self):
        for p, b in self.pristine.items():
            if p.read_bytes() != b:
                p.write_bytes(b)

    def remove_objects(self):
        for p in list(self.obj.rglob("*.o")) + list(self.obj.rglob("*.dwo")):
            if "CompilerId" not in str(p):
                p.unlink()

    # ---- one round ---------------------------------------------------------------------
    def kill(self, pid):
        try:
            os.kill(pid, signal.SIGKILL)
            return True
        except ProcessLookupError:
            return False

    def wait_for(self, cond, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.002)
        return None

    def kill_launcher(self, moment):
        extra = {}
        if moment == "materialise":
            self.restore_sources()
            self.remove_objects()
        else:
            self.change_sources()
            extra = ({"CRASH_COMPILE_SLEEP": "0.4"} if moment == "compile"
                     else {"CACHED_NINJA_TEST_STALL_INSERT_MS": "300"})
        tmp = self.cache / "tmp"
        before = set(tmp.iterdir()) if tmp.exists() else set()
        build = self.spawn([self.cn, "build", "--no-fetch", "--no-fill", "-C", str(self.obj)],
                           self.cache, **extra)
        landed = False
        if moment == "insert":
            # Into the insert: once a new temporary file shows up, a random time later.
            self.wait_for(lambda: (tmp.exists() and set(tmp.iterdir()) - before)
                          or build.poll() is not None, 30)
            time.sleep(self.rng.uniform(0, 0.5))
        else:
            # The first launcher (or the build's end), then a random time into its run.
            self.wait_for(lambda: self.launchers(build) or build.poll() is not None, 30)
            time.sleep(self.rng.uniform(0.05, 0.35) if moment == "compile"
                       else self.rng.uniform(0, 0.002))
        pids = self.launchers(build)
        if pids:
            landed = self.kill(self.rng.choice(pids))
        self.reap(build)
        return landed

    def kill_build(self):
        self.change_sources() if self.rng.random() < 0.5 else self.restore_sources()
        if self.rng.random() < 0.5:
            shutil.rmtree(self.cache, ignore_errors=True)
        self.remove_objects()
        build = self.spawn([self.cn, "build", "--no-fill", "-C", str(self.obj)], self.cache,
                           CRASH_COMPILE_SLEEP="0.1")
        time.sleep(self.rng.uniform(0, 1.2))
        if (self.obj / ".cached-ninja/pulling").exists():
            moment = "pull"
        elif any("ninja" in cmd.split(" ")[0] for _, cmd in self.in_dirs([self.obj])):
            moment = "ninja"
        else:
            moment = "start"
        landed = self.kill(build.pid)
        self.reap(build)
        return moment, landed

    def kill_publish(self):
        store = self.work / "store"
        if not self.args.nginx:
            shutil.rmtree(store, ignore_errors=True)
            store.mkdir()
        else:
            shutil.rmtree(self.work / "nginx/www/cn", ignore_errors=True)
        p = self.spawn([self.cn, "publish", "-C", str(self.ci_obj)], self.ci_cache)
        time.sleep(self.rng.uniform(0, 0.4))
        landed = self.kill(p.pid)
        self.reap(p)
        return landed

    def kill_fill(self):
        for p in self.obj.rglob("*.dwp"):
            p.unlink()
        (self.obj / ".cached-ninja/fill-status").unlink(missing_ok=True)
        p = self.spawn([self.dbgfetch, "fill", "--wait", "-C", str(self.obj)], self.cache)
        time.sleep(self.rng.uniform(0, 0.3))
        landed = self.kill(p.pid)
        self.reap(p)
        return landed

    def reap(self, child):
        try:
            child.wait(timeout=ROUND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.fail("hang", f"pid {child.pid} ran over {ROUND_TIMEOUT_S} s")
            child.kill()
            child.wait()

    # ---- checks ------------------------------------------------------------------------
    def fail(self, what, detail):
        self.failures.append((self.round, self.target, what, detail))
        log(f"round {self.round} {self.target}: FAILED {what}: {detail}")

    def verify(self, cache, after_build):
        r = self.run([self.cn, "cache", "verify"], cache, check=False)
        bad = [l for l in r.stdout.splitlines()
               if l.startswith("/") and (after_build or TEMP_LEFTOVER not in l)]
        if bad or (after_build and r.returncode != 0) or r.returncode not in (0, 1):
            self.fail("verify" + (" after the next build" if after_build else ""),
                      "\n".join(self.when_written(l) for l in bad) or r.stdout + r.stderr)

    @staticmethod
    def ticks():
        """Clock ticks since boot, the clock of a process's start time in /proc/<pid>/stat."""
        return float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK")

    def when_written(self, line):
        """A verify line, with when a leftover temporary's writer started (its name holds its
        pid and start time) against the round's moments, to tell whose it was."""
        name = line.split(":")[0].rsplit("/", 1)[-1]
        try:
            start = int(name.split("-", 1)[1].split(".")[0])
        except (IndexError, ValueError):
            return line
        hz = os.sysconf("SC_CLK_TCK")
        moments = ", ".join(f"{k} {(v - self.moments['round']) / hz:+.2f} s"
                            for k, v in self.moments.items())
        return f"{line} [writer started {(start - self.moments['round']) / hz:+.2f} s; {moments}]"

    def left_running(self):
        dirs = [self.obj, self.ci_obj]
        if self.wait_for(lambda: not self.in_dirs(dirs), GRACE_S) is None:
            procs = self.in_dirs(dirs)
            if procs:
                self.fail("left running", "; ".join(f"{p}: {c}" for p, c in procs))
                for p, _ in procs:
                    self.kill(p)

    def next_build(self, target):
        if target == "publish":
            r = self.run([self.cn, "publish", "-C", str(self.ci_obj)], self.ci_cache, check=False)
            if r.returncode != 0:
                self.fail("publish again", r.stdout + r.stderr)
        self.moments["next build"] = self.ticks()
        r = self.run([self.cn, "build", "--no-fill", "-C", str(self.obj)], self.cache, check=False)
        self.moments["next build end"] = self.ticks()
        if r.returncode != 0:
            self.fail("next build", f"exit {r.returncode}: {r.stdout[-2000:]}{r.stderr[-2000:]}")
            return
        got = self.objects(self.obj)
        if got != self.reference:
            diff = sorted(k for k in set(got) | set(self.reference) if got.get(k) != self.reference.get(k))
            self.fail("objects differ from CI's", ", ".join(diff))
        if target == "dbgfetch":
            r = self.run([self.dbgfetch, "fill", "--wait", "-C", str(self.obj)], self.cache, check=False)
            if r.returncode != 0:
                self.fail("next fill", r.stdout + r.stderr)

    def one_round(self):
        began = time.monotonic()
        self.moments = {"round": self.ticks()}
        targets = [t for t in ["launcher", "launcher", "launcher", "build", "build", "publish",
                               "dbgfetch"] if t in self.args.targets.split(",")]
        target = self.rng.choice(targets)
        if target == "launcher":
            moment = self.rng.choice(["compile", "insert", "materialise"])
            self.target = f"launcher/{moment}"
            landed = self.kill_launcher(moment)
        elif target == "build":
            self.target = "build"
            moment, landed = self.kill_build()
            self.target = f"build/{moment}"
        elif target == "publish":
            self.target = "publish/-"
            landed = self.kill_publish()
        else:
            self.target = "dbgfetch/fill"
            landed = self.kill_fill()
        self.moments["killed and reaped"] = self.ticks()
        self.counts[self.target] += 1
        self.landed[self.target] += landed
        self.left_running()
        self.verify(self.cache, False)
        self.verify(self.ci_cache, False)
        self.next_build(target)
        self.verify(self.cache, True)
        self.verify(self.ci_cache, True)
        self.seconds[self.target] += time.monotonic() - began

    def main(self):
        start = time.monotonic()
        self.round, self.target = 0, "setup"
        self.setup()
        log(f"set up in {time.monotonic() - start:.1f} s; {self.args.kills} rounds")
        deadline = start + self.args.time_limit if self.args.time_limit else None
        for self.round in range(1, self.args.kills + 1):
            if deadline and time.monotonic() > deadline:
                log(f"time limit reached after {self.round - 1} rounds")
                self.round -= 1
                break
            self.one_round()
            if self.round % 25 == 0:
                log(f"{self.round} rounds, {sum(self.landed.values())} kills landed, "
                    f"{len(self.failures)} failures, {time.monotonic() - start:.0f} s")
        took = time.monotonic() - start
        print(f"{'target/moment':24} {'rounds':>7} {'killed':>7} {'missed':>7} {'s/round':>8}")
        for t in sorted(self.counts):
            print(f"{t:24} {self.counts[t]:7} {self.landed[t]:7} {self.counts[t] - self.landed[t]:7}"
                  f" {self.seconds[t] / self.counts[t]:8.2f}")
        total, landed = sum(self.counts.values()), sum(self.landed.values())
        print(f"{'total':24} {total:7} {landed:7} {total - landed:7}")
        beside = [p for p in self.obj.rglob(".*.cn-*")]
        print(f"temporaries of killed launchers left beside objects (a miss in their directory "
              f"sweeps them, hits do not): {len(beside)}")
        print(f"failures: {len(self.failures)}")
        for f in self.failures:
            print(f"  round {f[0]} {f[1]}: {f[2]}: {f[3]}")
        print(f"time: {took:.0f} s ({took / max(total, 1):.2f} s a round)")
        return 1 if self.failures else 0

    def close(self):
        if self.nginx:
            self.kill(self.nginx)
        if not self.args.keep and not self.args.work:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=1000, help="rounds, one kill -9 each [1000]")
    ap.add_argument("--seed", type=int, default=None, help="random seed [random]")
    ap.add_argument("--nginx", action="store_true", help="a real nginx store instead of file://")
    ap.add_argument("--project", choices=sorted(MAX_CHANGED), default="shapes",
                    help="the project built: examples/shapes, or libgit2 1.9.1 [shapes]")
    ap.add_argument("--work", help="work directory [a new temporary one, removed after]")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    ap.add_argument("--targets", default="launcher,build,publish,dbgfetch",
                    help="what to kill, comma-separated [launcher,build,publish,dbgfetch]")
    ap.add_argument("--time-limit", type=float, default=None, help="stop starting rounds after S seconds")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 32)
    log(f"seed {args.seed}")
    c = Campaign(args)
    try:
        sys.exit(c.main())
    finally:
        c.close()


if __name__ == "__main__":
    main()
