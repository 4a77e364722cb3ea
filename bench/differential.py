#!/usr/bin/env python3
"""Never a wrong object (issue 13): the differential harness.

For a real project (libgit2 through CMake, harfbuzz through Meson) it builds the pristine tree
once with the zero-setup launcher to warm a private cache, then for each mutation copies the
pristine tree to a fresh path, applies the mutation, builds the copy with the launcher in a
fresh object directory (the cache reset to the pristine warm state first), and compiles the
same mutated tree plainly as the reference. It compares, edge by edge, the outcome (compile
failed or not) and the object's non-debug content (`objcopy --strip-debug` bytes: code, data,
symbols, relocations). The reference compiles are the plain commands with the launcher's own
`-ffile-prefix-map` tokens added, so `__FILE__` strings are comparable byte for byte; the null
mutation (first of every run) checks that the mapping makes every pristine object identical.

Which edges got a wrong object: a wrong object whose edge was not compiled by this build (the
compiler wrapper logs every real compile) is a FALSE HIT; a compile where the reference equals
the pristine object is a false miss (counted, not a failure). ccache 4.x (direct mode, base_dir
set, hash_dir off) runs through the same mutations: its hit on an edge whose reference differs
from the pristine object is a ccache false hit.

The plain reference is never incremental: every edge whose compile could read a touched file
(its source or any header of its pristine depfile names that file, or has an `#include` of a
macro) is compiled from scratch, and every edge for mutations of the compiler, environment or
flags. The other edges' reference is the pristine object.

With --remote, the pristine tree is built by "CI" through `cached-ninja configure` and
`cached-ninja build --publish` to a file:// store (signed), and every mutated clone is built at
another path with an EMPTY local cache by `cached-ninja build` pulling from that store.

Usage: python3 bench/differential.py --project libgit2 --mutations 100 [--remote] [--no-ccache]
  env: CN=path/to/cached-ninja (default: $CARGO_TARGET_DIR or target/, release), WORK=dir,
       JOBS=2. Progress on stderr, one JSON line per mutation in WORK/<project>/results.jsonl,
       a markdown table on stdout at the end.
"""

import argparse
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SRC_TOKEN = "/cached-ninja/src"
OBJ_TOKEN = "/cached-ninja/obj"
EPOCH = "1700000000"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOBS = int(os.environ.get("JOBS", "2"))

PROJECTS = {
    "libgit2": {
        "gen": "cmake",
        "cc": "gcc",
        "cxx": "g++",
        "args": ["-DBUILD_TESTS=OFF", "-DBUILD_CLI=OFF"],
        "probe_header": "src/util/git2_util.h",
        "special": ["src/util/date.c", "src/util/filebuf.c", "src/util/hash.c"],
    },
    "harfbuzz": {
        "gen": "meson",
        "cc": "clang",
        "cxx": "clang++",
        "args": [f"-D{o}=disabled" for o in (
            "tests", "docs", "glib", "gobject", "cairo", "icu", "freetype", "introspection",
            "utilities", "chafa")],
        "probe_header": "src/hb.hh",
        "special": ["src/hb-blob.cc", "src/hb-buffer.cc", "src/hb-common.cc"],
    },
}


def log(*a):
    print("[diff]", *a, file=sys.stderr, flush=True)


def sh(cmd, cwd=None, env=None, check=True, capture=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, text=True, errors="replace",
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.STDOUT if capture else None)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({r.returncode}):\n{(r.stdout or '')[-3000:]}")
    return r


def marker(n, lang_cxx=False):
    """A line that changes every object whose compile reads it."""
    return f"\nstatic const int cn_diff_marker_{n} __attribute__((used)) = {n};\n"


# ---------------------------------------------------------------------------------------------
# The compiler wrapper: every build of a project runs it (pristine, mutated, reference), so a
# swap behind it changes nothing else. It logs each real compile (`-c`, not `-E`) to
# $CN_DIFF_LOG, and for the concurrent-edit mutation rewrites a header right after the compile
# of one source read it (before the launcher hashes the inputs): the window is hit every time.
WRAPPER = """#!/bin/sh
# cached-ninja differential harness: the compiler every build of this project runs
REAL="{real}"
AFTER="{after}"
case " $* " in *" -c "*) case " $* " in *" -E "*) ;; *) if [ -n "$CN_DIFF_LOG" ]; then
  IFS=$(printf '\\037'); line="$PWD$IFS$*"; unset IFS; printf '%s\\n' "$line" >> "$CN_DIFF_LOG"; fi;; esac;; esac
$REAL "$@" $AFTER; rc=$?
if [ -n "$CN_DIFF_EDIT_SRC" ]; then case " $* " in *"$CN_DIFF_EDIT_SRC"*)
  if mkdir "$CN_DIFF_EDIT_ONCE" 2>/dev/null; then cp "$CN_DIFF_EDIT_NEW" "$CN_DIFF_EDIT_HEADER"; fi;; esac; fi
exit $rc
"""


def wrapper_text(real, after=""):
    """The wrapper running `real` with the build's words, then `after` (a default changed: last,
    so that no flag of the build overrides it)."""
    text = WRAPPER.format(real=real, after=after)
    return text + "#" * (1200 - len(text)) + "\n"  # one size for every variant


AS_WRAPPER = """#!/bin/sh
t="${TMPDIR:-/tmp}/cn-diff-as-$$.s"
printf '.section .comment\\n.string "another as"\\n' > "$t"
/usr/bin/as "$@" "$t"; rc=$?; rm -f "$t"; exit $rc
"""


class Project:
    """One project's workspace: pristine tree, compilers, caches, pristine facts."""

    def __init__(self, name, work, cn, ccache, remote):
        self.name, self.spec = name, PROJECTS[name]
        self.w = os.path.join(work, name + ("-remote" if remote else ""))
        self.cn, self.ccache, self.remote = cn, ccache, remote
        self.bin = os.path.join(self.w, "bin")
        self.cpath = os.path.join(self.w, "cpath")
        self.blob = os.path.join(self.w, "blob.bin")
        self.asbin = os.path.join(self.w, "asbin")
        self.pristine = os.path.join(self.w, "pristine")

    # -- global state every mutation starts from ----------------------------------------------
    def cc(self):
        return os.path.join(self.bin, self.spec["cc"])

    def cxx(self):
        return os.path.join(self.bin, self.spec["cxx"])

    def reset_globals(self):
        os.makedirs(self.bin, exist_ok=True)
        for name, real in ((self.spec["cc"], self.spec["cc"]), (self.spec["cxx"], self.spec["cxx"])):
            wrap = os.path.join(self.bin, name + "-wrap")
            with open(wrap, "w") as f:
                f.write(wrapper_text(real))
            os.chmod(wrap, 0o755)
            os.utime(wrap, (1600000000, 1600000000))
            link = os.path.join(self.bin, name)
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(name + "-wrap", link)
            alt = os.path.join(self.bin, name + "-alt")
            if os.path.exists(alt):
                os.remove(alt)
        shutil.rmtree(self.cpath, ignore_errors=True)
        shutil.copytree(self.cpath + "-pristine", self.cpath, symlinks=True) \
            if os.path.isdir(self.cpath + "-pristine") else os.makedirs(self.cpath)
        with open(self.blob, "wb") as f:
            f.write(b"cn-diff blob, pristine\n")
        os.utime(self.blob, (1600000000, 1600000000))
        os.makedirs(self.asbin, exist_ok=True)
        with open(os.path.join(self.asbin, "as"), "w") as f:
            f.write(AS_WRAPPER)
        os.chmod(os.path.join(self.asbin, "as"), 0o755)

    def env(self, tool, extra=None, cache=None):
        e = dict(os.environ)
        e.update({"SOURCE_DATE_EPOCH": EPOCH, "CPATH": self.cpath, "LC_ALL": "C"})
        for k in ("CCACHE_DIR", "CACHED_NINJA_CACHE_DIR", "CCC_OVERRIDE_OPTIONS", "CFLAGS",
                  "CXXFLAGS", "CN_DIFF_LOG", "CN_DIFF_EDIT_SRC"):
            e.pop(k, None)
        if tool == "cn":
            e["CACHED_NINJA_CACHE_DIR"] = cache or os.path.join(self.w, "cache-cn")
        elif tool == "ccache":
            e.update({"CCACHE_DIR": cache or os.path.join(self.w, "cache-ccache"),
                      "CCACHE_BASEDIR": self.w, "CCACHE_NOHASHDIR": "1",
                      "CCACHE_MAXSIZE": "20G", "CCACHE_DIRECT": "1"})
        e.update(extra or {})
        return e

    def launcher(self, tool):
        return {"cn": self.cn, "ccache": self.ccache, "plain": ""}[tool]

    # -- configure and build ------------------------------------------------------------------
    def configure(self, tool, src, obj, env, args=()):
        """Zero-setup configure (or `cached-ninja configure` for the remote path)."""
        shutil.rmtree(obj, ignore_errors=True)
        os.makedirs(obj)
        lau = self.launcher(tool)
        if self.spec["gen"] == "cmake":
            cmd = ["cmake", "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug",
                   f"-DCMAKE_C_COMPILER={self.cc()}", f"-DCMAKE_CXX_COMPILER={self.cxx()}",
                   *self.spec["args"], *args, "-S", src, "-B", obj]
            if lau and not (tool == "cn" and self.remote):
                cmd[4:4] = [f"-DCMAKE_C_COMPILER_LAUNCHER={lau}",
                            f"-DCMAKE_CXX_COMPILER_LAUNCHER={lau}"]
            env = dict(env)
        else:
            cmd = ["meson", "setup", "--buildtype=debug", *self.spec["args"], *args, obj, src]
            env = dict(env)
            pre = (lau + " ") if lau and not (tool == "cn" and self.remote) else ""
            env["CC"], env["CXX"] = pre + self.cc(), pre + self.cxx()
        if tool == "cn" and self.remote:
            cmd = [self.cn, "configure", "--enable-build-backend=cached-ninja", "--objdir", obj,
                   "--", *cmd]
        sh(cmd, cwd=self.w, env=env)

    def build(self, obj, env, tool, publish=None):
        """ninja -k 0 (or `cached-ninja build` on the remote path): (ok, failed outputs,
        compiled outputs)."""
        logf = os.path.join(obj, "cn-diff-compiles.log")
        if os.path.exists(logf):
            os.remove(logf)
        env = dict(env, CN_DIFF_LOG=logf)
        if tool == "cn" and self.remote:
            cmd = [self.cn, "build", "-C", obj, "-j", str(JOBS)]
            if publish:
                cmd += ["--publish", "--store", publish[0], "--key", publish[1]]
            cmd += ["--", "-k", "0"]
        else:
            cmd = ["ninja", "-C", obj, "-k", "0", f"-j{JOBS}"]
        r = sh(cmd, env=env, check=False)
        with open(os.path.join(obj, "cn-diff-build.log"), "w") as f:
            f.write(r.stdout)
        failed = set()
        for line in r.stdout.splitlines():
            if line.startswith("FAILED: "):
                failed.update(line[len("FAILED: "):].split())
        compiled = set()
        if os.path.exists(logf):
            for line in open(logf, errors="replace"):
                parts = line.rstrip("\n").split("\x1f")
                cwd, args = parts[0], parts[1:]
                if "-o" in args[:-1]:
                    o = args[args.index("-o") + 1]
                    compiled.add(os.path.normpath(os.path.relpath(os.path.join(cwd, o), obj)))
        return r.returncode == 0, failed, compiled

    def edges(self, obj):
        """Compile edges of an object directory: {output: words} (launcher words dropped)."""
        out = sh(["ninja", "-C", obj, "-t", "compdb"]).stdout
        out = out[out.index("["):]
        edges = {}
        for e in json.loads(out):
            words = shlex.split(e["command"])
            if "-c" not in words or "-o" not in words:
                continue
            edges[os.path.normpath(e["output"])] = plain_words(words)
        return edges

    def deps(self, obj):
        """Inputs of each edge (absolute), from ninja's deps log."""
        out = sh(["ninja", "-C", obj, "-t", "deps"]).stdout
        deps, cur = {}, None
        for line in out.splitlines():
            if line and not line.startswith(" "):
                cur = os.path.normpath(line.split(":")[0])
                deps[cur] = []
            elif line.strip() and cur:
                deps[cur].append(os.path.normpath(os.path.join(obj, line.strip())))
        return deps


def plain_words(words):
    """The compiler command without the launcher (`cached-ninja [cc …--]`, `ccache`)."""
    while words and os.path.basename(words[0]) in ("cached-ninja", "ccache"):
        if os.path.basename(words[0]) == "cached-ninja" and len(words) > 1 and words[1] == "cc":
            words = words[words.index("--") + 1:]
        else:
            words = words[1:]
    return words


def unmapped(path, obj):
    """Whether an object embeds the real object root (compiled without the prefix maps)."""
    return os.path.exists(path) and obj.encode() in read(path)


def reference_words(words, ref_out, src, obj, maps=True):
    """The plain compile writing `ref_out`, without dependency files, with the launcher's
    prefix maps (source root in both spellings, then the object root)."""
    out, i = [], 0
    while i < len(words):
        w = words[i]
        if w in ("-MD", "-MMD"):
            i += 1
            continue
        if w in ("-MT", "-MQ", "-MF"):
            i += 2
            continue
        if w == "-o":
            out += ["-o", ref_out]
            i += 2
            continue
        out.append(w)
        i += 1
    rel = os.path.relpath(src, obj)
    if not maps:
        return out
    return out + [f"-ffile-prefix-map={src}={SRC_TOKEN}", f"-ffile-prefix-map={rel}={SRC_TOKEN}",
                  f"-ffile-prefix-map={obj}={OBJ_TOKEN}"]


STRIPPED = {}


def stripped(path):
    """Non-debug content of an object: `objcopy --strip-debug` bytes (None: no object)."""
    if path is None or not os.path.exists(path):
        return None
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size, st.st_ino)
    if key not in STRIPPED:
        tmp = path + ".cn-diff-stripped"
        sh(["objcopy", "--strip-debug", path, tmp])
        with open(tmp, "rb") as f:
            STRIPPED[key] = f.read()
        os.remove(tmp)
    return STRIPPED[key]


def same(a, b):
    """Whether two objects (paths, None for a failed compile) agree: both failed, or equal
    bytes, or equal non-debug content."""
    if a is None or b is None or not os.path.exists(a) or not os.path.exists(b):
        return (a is None or not os.path.exists(a)) == (b is None or not os.path.exists(b))
    with open(a, "rb") as fa, open(b, "rb") as fb:
        if fa.read() == fb.read():
            return True
    return stripped(a) == stripped(b)


INCLUDE_RE = re.compile(rb'(?:#\s*(?:include|include_next|import)\s*|__has_include(?:_next)?\s*\(\s*|\.incbin\s+)[<"]([^>"]+)[>"]')
MACRO_INCLUDE_RE = re.compile(rb"#\s*include\s+[A-Za-z_]")
MENTIONS = {}


def mentions(path):
    """Basenames a file names in includes, `__has_include` and `.incbin` (`*` for an
    `#include MACRO`)."""
    if path not in MENTIONS:
        try:
            data = open(path, "rb").read()
        except OSError:
            data = b""
        names = {os.path.basename(m.decode(errors="replace")) for m in INCLUDE_RE.findall(data)}
        if MACRO_INCLUDE_RE.search(data):
            names.add("*")
        MENTIONS[path] = names
    return MENTIONS[path]


def search_dirs(words, obj):
    """-iquote, -I, -isystem directories of a command, absolute, in command order."""
    dirs, i = [], 0
    while i < len(words):
        w = words[i]
        for opt in ("-iquote", "-isystem", "-I"):
            if w == opt and i + 1 < len(words):
                dirs.append((opt, os.path.normpath(os.path.join(obj, words[i + 1]))))
                i += 1
                break
            if w.startswith(opt) and len(w) > len(opt) and not w[len(opt)] == "-":
                dirs.append((opt, os.path.normpath(os.path.join(obj, w[len(opt):]))))
                break
        i += 1
    return dirs


# ---------------------------------------------------------------------------------------------
# The pristine tree: instrumented once so that the categories with no natural use in the
# projects exist (`__has_include`, `.incbin`, `__TIMESTAMP__`, `__DATE__`/`__TIME__`), and with
# later copies of some headers in the CPATH directory (a deleted header then finds them).
def instrument(p, src, rng):
    spec = p.spec
    with open(os.path.join(src, spec["probe_header"]), "a") as f:
        f.write('\n#if defined(__has_include)\n#if __has_include("cn_diff_probe.h")\n'
                '#include "cn_diff_probe.h"\n#endif\n#endif\n')
    inc, ts, date = spec["special"]
    with open(os.path.join(src, inc), "a") as f:
        f.write(f'\n__asm__(".pushsection .rodata.cn_diff_blob,\\"a\\"\\n.incbin \\"{p.blob}\\"'
                '\\n.popsection\\n");\n')
    with open(os.path.join(src, ts), "a") as f:
        f.write("\nextern const char cn_diff_timestamp[];\n"
                "const char cn_diff_timestamp[] = __TIMESTAMP__;\n")
    with open(os.path.join(src, date), "a") as f:
        f.write("\nextern const char cn_diff_date[];\n"
                'const char cn_diff_date[] = __DATE__ " " __TIME__;\n')
    # Later copies: headers included by a bare quoted name, copied (marked) into CPATH.
    names = {}
    for root, _, files in os.walk(os.path.join(src, "src")):
        for fn in files:
            if fn.endswith((".h", ".hh")):
                names.setdefault(fn, os.path.join(root, fn))
    used = set()
    for root, _, files in os.walk(os.path.join(src, "src")):
        for fn in files:
            if fn.endswith((".c", ".cc", ".h", ".hh")):
                used |= {n for n in mentions(os.path.join(root, fn)) if n in names}
    # Not a name the compiler's own directories hold: CPATH comes before them, so a copy named
    # like `pthread.h` would be what `<pthread.h>` finds, and the pristine tree would not build.
    pick = sorted(n for n in used if n not in ("config.h",) and not system_header(p, n))
    rng.shuffle(pick)
    # Under Meson, names its build files do not name first (the order kept within each part):
    # only those can be deleted by `delete-header` (harfbuzz's meson.build names most headers).
    if p.spec["gen"] == "meson":
        named = build_files_text(src)
        pick.sort(key=lambda n: n in named)
    later = os.path.join(p.w, "cpath-pristine")
    shutil.rmtree(later, ignore_errors=True)
    os.makedirs(later)
    for i, n in enumerate(sorted(pick[:16])):
        with open(names[n], "rb") as f:
            data = f.read()
        with open(os.path.join(later, n), "wb") as f:
            f.write(data + marker(900 + i).encode())
    return sorted(pick[:16])


def system_header(p, name):
    """Whether `name` is a header in the compiler's own include directories (`-E -v`)."""
    if not hasattr(p, "system_dirs"):
        lang = "c++" if p.spec["gen"] == "meson" else "c"
        compiler = p.spec["cxx"] if lang == "c++" else p.spec["cc"]
        err = subprocess.run([compiler, "-x", lang, "-E", "-v", "/dev/null", "-o", "/dev/null"],
                             capture_output=True, text=True).stderr.splitlines()
        start = err.index("#include <...> search starts here:") + 1
        p.system_dirs = [d.strip() for d in err[start:err.index("End of search list.")]]
    return any(os.path.exists(os.path.join(d, name)) for d in p.system_dirs)


def cp_tree(a, b):
    os.makedirs(os.path.dirname(b), exist_ok=True)
    sh(["cp", "-a", "--reflink=auto", a, b])


def git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="ci", GIT_AUTHOR_EMAIL="ci@example.invalid",
               GIT_COMMITTER_NAME="ci", GIT_COMMITTER_EMAIL="ci@example.invalid",
               GIT_CONFIG_NOSYSTEM="1", HOME=cwd)
    return sh(["git", *args], cwd=cwd, env=env).stdout.strip()


def setup_pristine(p, tools, rng):
    """Builds the pristine tree with each tool; returns its facts."""
    third = sh(["bash", os.path.join(REPO, "tests/support/third-party-src.sh"), p.name]).stdout.strip()
    shutil.rmtree(p.w, ignore_errors=True)
    os.makedirs(p.w)
    src = os.path.join(p.pristine, "src")
    cp_tree(third, src)
    later = instrument(p, src, rng)
    p.reset_globals()
    facts = {"src": src, "later": later}
    if p.remote:
        git(src, "init", "-q")
        git(src, "add", "-A", "-f")
        git(src, "commit", "-qm", "pristine")
        key = os.path.join(p.w, "ci.key")
        said = sh([p.cn, "key", "generate", "--out", key]).stdout
        facts["public"] = re.search(r"ed25519:[0-9a-f]+", said).group(0)
        facts["store"] = "file://" + os.path.join(p.w, "store")
    for tool in tools:
        obj = os.path.join(p.pristine, "obj-" + tool)
        env = p.env(tool)
        p.configure(tool, src, obj, env)
        if p.remote and tool == "cn":
            with open(os.path.join(obj, "cached-ninja.toml"), "w") as f:
                f.write(f'[[store]]\nurl = "{facts["store"]}"\nwrite = true\n'
                        f'[fetch]\nconfig = "diff"\n[publish]\nkey = "{key}"\n')
        t = time.time()
        ok, failed, compiled = p.build(obj, env, tool, publish=(facts["store"], key)
                                       if p.remote and tool == "cn" else None)
        log(f"pristine {tool}: ok={ok} compiled {len(compiled)} in {time.time() - t:.0f} s")
        if not ok:
            raise RuntimeError(f"pristine build with {tool} failed: {sorted(failed)[:5]}")
        if tool in ("cn", "ccache") and not (p.remote and tool == "cn"):
            warm = os.path.join(p.w, f"cache-{tool}-warm")
            shutil.rmtree(warm, ignore_errors=True)
            cp_tree(os.path.join(p.w, f"cache-{tool}"), warm)
    obj = os.path.join(p.pristine, "obj-cn")
    facts["edges"] = p.edges(obj)
    facts["deps"] = p.deps(obj)
    return facts


# ---------------------------------------------------------------------------------------------
# Mutations. Each is a dict: cat, desc, and what to do: `files` (a function of the mutated
# tree), `env` (build and configure environment), `cfg` (configure arguments), `cfg_env`
# (configure environment only), `globals` (a function changing the project's compilers, CPATH
# directory or blob), `touched` (basenames whose mention forces an edge's reference compile) or
# `force_all`, `edit` (the concurrent edit).
class Facts:
    def __init__(self, p, facts):
        self.p, self.f = p, facts
        self.src = facts["src"]
        self.obj = os.path.join(p.pristine, "obj-cn")
        self.edges, self.deps = facts["edges"], facts["deps"]
        self.headers = sorted({h for d in self.deps.values() for h in d[1:]
                               if h.startswith(self.src + "/")})
        self.system = sorted({h for d in self.deps.values() for h in d[1:]
                              if h.startswith("/usr/") and not h.startswith(self.src)})
        self.readers = {}
        for e, d in self.deps.items():
            for h in d:
                self.readers.setdefault(h, []).append(e)

    def rel(self, path):
        return os.path.relpath(path, self.src)

    def pristine_mapped(self, edge):
        """The pristine object of `edge` as a compile with the launcher's maps gives it."""
        obj = os.path.join(self.obj, edge)
        if not unmapped(obj, self.obj):
            return obj
        out = os.path.join(self.p.pristine, "ref", edge)
        if not os.path.exists(out):
            os.makedirs(os.path.dirname(out), exist_ok=True)
            sh(reference_words(self.edges[edge], out, self.src, self.obj), cwd=self.obj,
               env=self.p.env("plain"))
        return out

    def source_of(self, edge):
        w = self.edges[edge]
        return os.path.normpath(os.path.join(self.obj, w[w.index("-c") + 1]))


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def build_files_text(src):
    """The text of every `meson.build` below `src`, joined."""
    texts = []
    for root, _, files in os.walk(src):
        texts += [read(os.path.join(root, f)).decode(errors="replace")
                  for f in files if f == "meson.build"]
    return "\n".join(texts)


def gen_mutations(p, fx, n, rng, only=None):
    """`n` mutations, round robin over the categories that apply to the project."""
    gens = category_generators(p, fx, rng)
    if only:
        gens = [(c, g) for c, g in gens if c in only]
    out = [{"cat": "none", "desc": "no change (calibration: every edge compiled plainly)",
            "force_all": True}]
    i = 0
    while len(out) < n and gens:
        cat, g = gens[i % len(gens)]
        m = g(len(out))
        if m is None:
            gens.remove((cat, g))
            continue
        m["cat"] = cat
        out.append(m)
        i += 1
    return out


def category_generators(p, fx, rng):
    cxx = p.spec["gen"] == "meson"
    clang = p.spec["cc"] == "clang"
    hdrs = [h for h in fx.headers if not h.endswith(".gch")]

    def header_content(n):
        h = rng.choice(hdrs)
        return {"desc": f"content of {fx.rel(h)} changed",
                "files": lambda t: append(os.path.join(t, fx.rel(h)), marker(n)),
                "touched": {os.path.basename(h)}}

    def earlier_dir(n):
        # A header found in a search directory of an edge, copied (changed) into an earlier one.
        for _ in range(200):
            e = rng.choice(sorted(fx.deps))
            dirs = [d for _, d in search_dirs(fx.edges[e], fx.obj) if d.startswith(fx.src)]
            hs = [h for h in fx.deps[e][1:] if h.startswith(fx.src + "/")]
            if not hs:
                continue
            h = rng.choice(hs)
            for k, d in enumerate(dirs):
                if h.startswith(d + "/") and k > 0:
                    j = rng.randrange(k)
                    rel = os.path.relpath(h, d)
                    new = os.path.join(dirs[j], rel)
                    if os.path.exists(new):
                        continue
                    err = n % 3 == 0
                    body = "#error cn-diff shadow\n" if err else None
                    return {"desc": f"new {fx.rel(new)} before {fx.rel(h)} ({'#error' if err else 'changed copy'})",
                            "files": lambda t, h=h, new=new, body=body: write(
                                os.path.join(t, fx.rel(new)),
                                body if body else read(os.path.join(t, fx.rel(h))) + marker(n).encode()),
                            "touched": {os.path.basename(h)}}
        return None

    def beside_quoted(n):
        # `#include "x.h"` in a file read by the build, x.h found elsewhere: a new x.h beside it.
        for _ in range(300):
            f = rng.choice(hdrs + [fx.source_of(e) for e in sorted(fx.deps)])
            names = [m.decode() for m in re.findall(rb'#\s*include\s*"([^"]+)"', read(f))]
            rng.shuffle(names)
            for name in names:
                beside = os.path.join(os.path.dirname(f), name)
                if os.path.exists(beside):
                    continue
                found = [h for h in fx.headers if h.endswith("/" + name)]
                if not found:
                    continue
                err = n % 3 == 0
                return {"desc": f"new {fx.rel(beside)} beside its quoted includer {fx.rel(f)}"
                                + (" (#error)" if err else ""),
                        "files": lambda t, b=beside, src=found[0], err=err: write(
                            os.path.join(t, fx.rel(b)),
                            "#error cn-diff beside\n" if err else
                            read(os.path.join(t, fx.rel(src))) + marker(n).encode()),
                        "touched": {os.path.basename(name)}}
        return None

    def angle_sibling(n):
        # The known gap: a header reached by an angle (or -I) include in a directory holding
        # other headers the compile read; a new same-named header in an earlier -I directory.
        return earlier_dir(n)

    def cpath(n):
        top = set()
        for e in sorted(fx.deps):
            top |= mentions(fx.source_of(e))
        sysh = [h for h in fx.system if os.path.basename(h) in top and "/bits/" not in h]
        if not sysh:
            return None
        h = rng.choice(sysh)
        rel = os.path.basename(h)
        return {"desc": f"new {rel} in the unchanged CPATH directory (include_next + marker)",
                "globals": lambda: write(os.path.join(p.cpath, rel),
                                         f"#include_next <{rel}>\n" + marker(n)),
                "touched": {rel}}

    def has_include(n):
        probe = os.path.join(fx.src, p.spec["probe_header"])
        readers = fx.readers.get(probe, [])
        if not readers:
            return None
        e = rng.choice(sorted(readers))
        dirs = [os.path.dirname(probe)] + [d for _, d in search_dirs(fx.edges[e], fx.obj)
                                           if d.startswith(fx.src)]
        d = rng.choice(dirs)
        return {"desc": f"new {fx.rel(os.path.join(d, 'cn_diff_probe.h'))}: __has_include was false",
                "files": lambda t: write(os.path.join(t, fx.rel(d), "cn_diff_probe.h"),
                                         "#pragma once\n" + marker(n)),
                "touched": {"cn_diff_probe.h"}}

    def concurrent(n):
        e = rng.choice(sorted(fx.deps))
        hs = [h for h in fx.deps[e][1:] if h.startswith(fx.src + "/")]
        if not hs:
            return None
        h = rng.choice(hs)
        rel = fx.rel(fx.source_of(e))
        return {"desc": f"{fx.rel(h)} rewritten right after the compile of {rel} read it",
                "files": lambda t: append(os.path.join(t, fx.rel(h)), marker(n)),
                "edit": {"src": "src/" + rel, "header": fx.rel(h), "text": marker(n + 5000)},
                "touched": {os.path.basename(h)}}

    def timestamp(n):
        ts = p.spec["special"][1]
        return {"desc": f"{ts} touched (same bytes): __TIMESTAMP__ under SOURCE_DATE_EPOCH",
                "files": lambda t: os.utime(os.path.join(t, ts), (1650000000 + n, 1650000000 + n)),
                "touched": {os.path.basename(ts)}}

    def date(n):
        d = p.spec["special"][2]
        return {"desc": f"time passes: __DATE__/__TIME__ of {d} under SOURCE_DATE_EPOCH "
                        f"({p.spec['cc']})",
                "files": lambda t: time.sleep(1.1),
                "touched": {os.path.basename(d)}}

    def incbin(n):
        inc = p.spec["special"][0]
        return {"desc": f".incbin file of {inc} changed (same size and mtime)",
                "globals": lambda: (write(p.blob, b"cn-diff blob, mutated\n"[:23].ljust(23, b"!")),
                                    os.utime(p.blob, (1600000000, 1600000000))),
                "touched": {os.path.basename(inc)}}

    def gch(n):
        if clang:
            return None
        for _ in range(200):
            e = rng.choice(sorted(fx.deps))
            hs = [h for h in fx.deps[e][1:] if h.startswith(fx.src + "/")]
            if not hs:
                continue
            h = hs[0]  # the first header read: a .gch is only used before any token
            words = fx.edges[e]
            return {"desc": f"implicit {fx.rel(h)}.gch (of a changed copy) beside it",
                    "files": lambda t, e=e, h=h: make_gch(p, fx, e, os.path.join(t, fx.rel(h)), n),
                    "touched": {os.path.basename(h)}}
        return None

    def as_path(n):
        return {"desc": "another `as` first on PATH (gcc runs it)",
                "env": {"PATH": p.asbin + ":" + os.environ["PATH"]}, "force_all": True}

    def ccc(n):
        if not clang:
            return None
        return {"desc": "CCC_OVERRIDE_OPTIONS=+-O1 (clang's driver)",
                "env": {"CCC_OVERRIDE_OPTIONS": "+-O1"}, "force_all": True}

    def define(n):
        if p.spec["gen"] == "cmake":
            if n % 2:
                return {"desc": "-DGIT_DEPRECATE_HARD through CMAKE_C_FLAGS", "force_all": True,
                        "cfg": ["-DCMAKE_C_FLAGS=-DGIT_DEPRECATE_HARD"]}
            return {"desc": "-DGIT_DEPRECATE_HARD through CFLAGS at configure", "force_all": True,
                    "cfg_env": {"CFLAGS": "-DGIT_DEPRECATE_HARD"}}
        if n % 2:
            return {"desc": "-DNDEBUG -DHB_NDEBUG through -Dcpp_args", "force_all": True,
                    "cfg": ["-Dcpp_args=-DNDEBUG -DHB_NDEBUG"]}
        return {"desc": "-DHB_NDEBUG through CXXFLAGS at configure", "force_all": True,
                "cfg_env": {"CXXFLAGS": "-DHB_NDEBUG -DNDEBUG"}}

    def forced(n):
        def files(t):
            write(os.path.join(t, "cn_diff_forced.h"), marker(n))
        return {"desc": "-include of a new header (forced include)", "force_all": True,
                "files": files, "cfg_forced": "cn_diff_forced.h"}

    def symlink_header(n):
        h = rng.choice(hdrs)

        def files(t):
            path = os.path.join(t, fx.rel(h))
            side = os.path.join(os.path.dirname(t), "side", os.path.basename(h))
            write(side, read(path) + marker(n).encode())
            os.remove(path)
            os.symlink(side, path)
        return {"desc": f"{fx.rel(h)} replaced by a symlink to a changed copy", "files": files,
                "touched": {os.path.basename(h)}}

    def symlink_dir(n):
        dirs = sorted({os.path.dirname(h) for h in hdrs if os.path.dirname(h) != fx.src})
        d = rng.choice(dirs)
        inside = sorted(h for h in hdrs if os.path.dirname(h) == d)
        changed = n % 2 == 0

        def files(t):
            path = os.path.join(t, fx.rel(d))
            alt = os.path.join(os.path.dirname(t), "side", "dir-" + os.path.basename(d))
            shutil.copytree(path, alt, symlinks=True)
            if changed:
                append(os.path.join(alt, os.path.basename(rng.choice(inside))), marker(n))
            shutil.rmtree(path)
            os.symlink(alt, path)
        return {"desc": f"directory {fx.rel(d)} replaced by a symlink to a "
                        + ("copy with one header changed" if changed else "identical copy"),
                "files": files, "touched": {os.path.basename(x) for x in inside}}

    # Each swap alternates its two variants by its own draws (by the mutation's index, two
    # categories drawn in turn with `--only` each met one variant only, 2026-12-06).
    draws = {"wrapper": 0, "symlink": 0}

    def swap_variant(kind):
        draws[kind] += 1
        other = {"gcc": "clang", "g++": "clang++", "clang": "gcc", "clang++": "g++"}
        # A changed default goes after the build's flags (before them, libgit2's `-O0` undid it).
        return ((other[p.spec["cc"]], other[p.spec["cxx"]]), "") if draws[kind] % 2 == 0 else \
            ((p.spec["cc"], p.spec["cxx"]), "-O1")

    def swap_wrapper(n):
        real, after = swap_variant("wrapper")

        def g():
            for name, r in zip((p.spec["cc"], p.spec["cxx"]), real):
                w = os.path.join(p.bin, name + "-wrap")
                write(w, wrapper_text(r, after))
                os.utime(w, (1600000000, 1600000000))
        return {"desc": f"compiler behind the wrapper swapped to `{real[0]} … {after}` (same size, mtime "
                        "restored)", "globals": g, "force_all": True}

    def swap_symlink(n):
        real, after = swap_variant("symlink")

        def g():
            for name, r in zip((p.spec["cc"], p.spec["cxx"]), real):
                alt = os.path.join(p.bin, name + "-alt")
                write(alt, wrapper_text(r, after))
                os.chmod(alt, 0o755)
                os.utime(alt, (1600000000, 1600000000))
                os.remove(os.path.join(p.bin, name))
                os.symlink(name + "-alt", os.path.join(p.bin, name))
        return {"desc": f"compiler symlink retargeted to `{real[0]} … {after}` (same size and mtime)",
                "globals": g, "force_all": True}

    def delete(n):
        later = fx.f["later"]
        # A header a meson.build names (by its file name, relative to that file) is one Meson
        # checks is there: deleting it stops the build before any compile (harfbuzz's
        # `hb-dispatch.hh`, 2026-12-07). CMake's libgit2 finds its sources by globs.
        named = build_files_text(fx.src) if p.spec["gen"] == "meson" else ""
        cands = [h for h in hdrs
                 if os.path.basename(h) in later and os.path.basename(h) not in named]
        if not cands:
            return None
        h = rng.choice(cands)
        return {"desc": f"{fx.rel(h)} deleted: its later copy in CPATH is found",
                "files": lambda t: os.remove(os.path.join(t, fx.rel(h))),
                "touched": {os.path.basename(h)}}

    gens = [("header-content", header_content), ("shadow-earlier-I", earlier_dir),
            ("beside-quoted", beside_quoted), ("cpath", cpath), ("has-include", has_include),
            ("concurrent-edit", concurrent), ("timestamp", timestamp), ("date-time", date),
            ("incbin", incbin), ("gch", gch), ("as-on-path", as_path), ("ccc-override", ccc),
            ("define", define), ("forced-include", forced), ("symlink-header", symlink_header),
            ("symlink-dir", symlink_dir), ("compiler-wrapper", swap_wrapper),
            ("compiler-symlink", swap_symlink), ("delete-header", delete)]
    return [(c, g) for c, g in gens if g(0) is not None]


def make_gch(p, fx, edge, header, n):
    """gcc's implicit precompiled header of a changed copy of `header`, built with the
    edge's own flags (so gcc accepts it), beside `header`."""
    tmp = header + ".cn-diff-copy" + os.path.splitext(header)[1]
    write(tmp, read(header) + marker(n).encode())
    words = reference_words(fx.edges[edge], header + ".gch", fx.src, fx.obj)
    i = words.index("-c")
    words[i:i + 2] = ["-x", "c-header" if header.endswith(".h") else "c++-header", tmp]
    r = sh(words, cwd=fx.obj, env=fx.p.env("plain"), check=False)
    os.remove(tmp)
    if r.returncode != 0:
        raise Unusable("cannot build the .gch: " + r.stdout[-300:])


class Unusable(Exception):
    """A drawn mutation that cannot be made in this tree (a header gcc cannot precompile
    alone): it is skipped, not counted."""


# ---------------------------------------------------------------------------------------------
# One mutation, built by each tool and compiled plainly.
def forced_edges(fx, edges, m):
    if m.get("force_all"):
        return set(edges)
    touched = m.get("touched", set())
    out = set()
    for e in edges:
        files = fx.deps.get(e) or [fx.source_of(e)]
        if os.path.basename(fx.source_of(e)) in touched:
            out.add(e)
            continue
        for f in files:
            ms = mentions(f)
            if "*" in ms or ms & touched:
                out.add(e)
                break
    return out


def reset_cache(p, tool, d):
    cache = os.path.join(p.w, f"cache-{tool}")
    if p.remote and tool == "cn":
        return os.path.join(d, "cache-cn")  # the developer's empty cache
    shutil.rmtree(cache, ignore_errors=True)
    cp_tree(cache + "-warm", cache)
    return cache


def developer_policy(p, fx, obj):
    write(os.path.join(obj, "cached-ninja.toml"),
          f'[[store]]\nurl = "{fx.f["store"]}"\nwrite = false\n[trust]\npublishers = '
          f'["{fx.f["public"]}"]\n[fetch]\nconfig = "diff"\n')


def cn_stats(p, obj):
    r = sh([p.cn, "stats", "--json", "-C", obj], check=False)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}


def run_mutation(p, fx, m, idx, tools, always):
    d = os.path.join(p.w, "m", f"{idx:03d}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    src = os.path.join(d, "src")
    p.reset_globals()
    if p.remote:
        git(d, "clone", "-q", fx.src, src)
    else:
        cp_tree(fx.src, src)
    if m.get("files"):
        m["files"](src)
    if m.get("globals"):
        m["globals"]()
    extra = dict(m.get("env", {}))
    cfg = list(m.get("cfg", []))
    if m.get("cfg_forced"):
        f = os.path.join(src, m["cfg_forced"])
        cfg += ([f"-DCMAKE_C_FLAGS=-include {f}", f"-DCMAKE_CXX_FLAGS=-include {f}"]
                if p.spec["gen"] == "cmake" else [f"-Dc_args=-include {f}", f"-Dcpp_args=-include {f}"])
    edit = m.get("edit")
    v1 = read(os.path.join(src, edit["header"])) if edit else None
    res = {}
    for tool in tools:
        cache = reset_cache(p, tool, d)
        env = p.env(tool, extra, cache)
        cenv = dict(env, **m.get("cfg_env", {}))
        obj = os.path.join(d, "obj-" + tool)
        if edit:
            # The first build: the header changes while the compile that read it runs.
            write(os.path.join(src, edit["header"]), v1)
            eobj = obj + "-edit"
            p.configure(tool, src, eobj, cenv, cfg)
            if p.remote and tool == "cn":
                developer_policy(p, fx, eobj)
            new = os.path.join(d, "edit-new")
            write(new, v1 + edit["text"].encode())
            once = os.path.join(d, f"edit-once-{tool}")
            p.build(eobj, dict(env, CN_DIFF_EDIT_SRC=edit["src"], CN_DIFF_EDIT_ONCE=once,
                               CN_DIFF_EDIT_NEW=new, CN_DIFF_EDIT_HEADER=os.path.join(src, edit["header"])), tool)
            res.setdefault("edit_fired", []).append(os.path.isdir(once))
            if tool == "cn":
                res["edit_stats"] = cn_stats(p, eobj)
        p.configure(tool, src, obj, cenv, cfg)
        if p.remote and tool == "cn":
            developer_policy(p, fx, obj)
        ok, failed, compiled = p.build(obj, env, tool)
        res[tool] = {"ok": ok, "failed": failed, "compiled": compiled, "obj": obj}
        if tool == "cn":
            res["cn_stats"] = cn_stats(p, obj)

    # The plain reference: from scratch, for every edge the mutation may reach.
    robj = os.path.join(d, "obj-" + tools[0])
    edges = p.edges(robj)
    forced = forced_edges(fx, edges, m)
    renv = p.env("plain", extra)

    def ref(e, maps=True):
        out = os.path.join(d, "ref" if maps else "ref-unmapped", e)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        words = reference_words(edges[e], out, src, robj, maps)
        r = subprocess.run(words, cwd=robj, env=renv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return e, (out if r.returncode == 0 else None)
    with ThreadPoolExecutor(JOBS) as pool:
        refs = dict(pool.map(ref, sorted(forced)))

    if m["cat"] == "none":
        for tool in tools:
            always[tool] = set(res[tool]["compiled"])
    rec = {"idx": idx, "cat": m["cat"], "desc": m["desc"], "edges": len(edges),
           "forced": len(forced), "changed": [], "calibration": []}
    for tool in tools:
        rec[tool] = {"ok": res[tool]["ok"], "false_hits": [], "wrong_compiled": [],
                     "false_misses": [], "compiled": len(res[tool]["compiled"]),
                     "failed": len(res[tool]["failed"])}
    def clock(e):
        return os.path.basename(e).startswith(os.path.basename(p.spec["special"][2]) + ".")

    for e in sorted(edges):
        # The pristine object as a mapped compile gives it (a compile the launcher ran as it
        # is, uncacheable, embeds the real paths: then the pristine tree compiled with maps).
        pe = fx.pristine_mapped(e)
        r = refs[e] if e in forced else pe
        changed = not same(r, pe)
        if changed:
            rec["changed"].append(e)
        for tool in tools:
            t = res[tool]
            compiled = e in t["compiled"]
            if tool == "cn":
                c = os.path.join(t["obj"], e)
                c = None if e in t["failed"] or not os.path.exists(c) else c
                want = r
                if c and unmapped(c, t["obj"]):
                    want = ref(e, maps=False)[1]  # run as it is: compare with the plain compile
                if not same(c, want):
                    # The `__DATE__ __TIME__` edge compiled by clang, which ignores
                    # SOURCE_DATE_EPOCH (clang 14): the clock's doing, not the launcher's.
                    if compiled and clock(e) and "clang" in (p.spec["cc"] + m["desc"]):
                        rec[tool].setdefault("clock_compiled", []).append(e)
                        continue
                    rec[tool]["wrong_compiled" if compiled else "false_hits"].append(e)
            elif not compiled and changed:
                rec[tool]["false_hits"].append(e)
            if compiled and not changed and e not in always.get(tool, set()):
                rec[tool]["false_misses"].append(e)
    rec["ref_ok"] = all(v is not None for v in refs.values())
    for k in ("cn_stats", "edit_stats", "edit_fired"):
        if k in res:
            rec[k] = res[k]
    if m["cat"] == "none":
        rec["calibration"] = rec["changed"]
    return rec


# ---------------------------------------------------------------------------------------------
def summary(recs, tools, title):
    cats = []
    for r in recs:
        if r["cat"] not in cats:
            cats.append(r["cat"])
    head = "| category | mutations | changing an object or outcome | cached-ninja false hits | cached-ninja false misses"
    if "ccache" in tools:
        head += " | ccache false hits | ccache false misses"
    lines = [f"**{title}**", "", head + " |", "|---" * (head.count("|")) + "|"]
    tot = None
    for c in cats + ["all"]:
        rs = recs if c == "all" else [r for r in recs if r["cat"] == c]

        def cnt(tool, k):
            n_m = sum(1 for r in rs if r[tool][k])
            n_e = sum(len(r[tool][k]) for r in rs)
            return f"{n_m} ({n_e} edges)" if n_m else "0"
        eff = sum(1 for r in rs if r["changed"] or not r["ref_ok"])
        row = f"| {'**all**' if c == 'all' else c} | {len(rs)} | {eff} | {cnt('cn', 'false_hits')}"
        row += f" | {cnt('cn', 'false_misses')}"
        if "ccache" in tools:
            row += f" | {cnt('ccache', 'false_hits')} | {cnt('ccache', 'false_misses')}"
        lines.append(row + " |")
        tot = rs
    wrong = [r for r in tot if r["cn"]["wrong_compiled"]]
    if wrong:
        lines.append(f"\nobjects compiled by cached-ninja that differ from the reference: "
                     + "; ".join(f"#{r['idx']} {r['cat']} {len(r['cn']['wrong_compiled'])}" for r in wrong))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--project", choices=sorted(PROJECTS))
    ap.add_argument("--mutations", type=int, default=20)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--remote", action="store_true")
    ap.add_argument("--no-ccache", action="store_true")
    ap.add_argument("--only", help="comma-separated categories")
    ap.add_argument("--keep", action="store_true", help="keep every mutated tree")
    ap.add_argument("--reuse", action="store_true", help="reuse the pristine build of WORK")
    ap.add_argument("--summarize", metavar="JSONL", help="print the table of a results file")
    a = ap.parse_args()
    if a.summarize:
        recs = [json.loads(line) for line in open(a.summarize)]
        tools = ["cn"] + (["ccache"] if recs and "ccache" in recs[0] else [])
        print(summary(recs, tools, f"{a.summarize}"))
        return
    if not a.project:
        ap.error("--project is required")
    cn = os.environ.get("CN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "cached-ninja")
    if not os.path.exists(cn):
        sys.exit(f"no launcher at {cn}: cargo build --release (or set CN)")
    ccache = shutil.which("ccache")
    tools = ["cn"] + ([] if a.no_ccache or a.remote else ["ccache"])
    if "ccache" in tools and not ccache:
        sys.exit("ccache missing: apt-get install -y ccache")
    work = os.path.abspath(os.environ.get("WORK", "/tmp/cn-differential"))
    rng = random.Random(a.seed)
    p = Project(a.project, work, cn, ccache, a.remote)
    facts_file = os.path.join(p.w, "facts.json")
    if a.reuse and os.path.exists(facts_file):
        facts = json.load(open(facts_file))
        rng.random()
    else:
        facts = setup_pristine(p, tools, rng)
        json.dump(facts, open(facts_file, "w"))
    fx = Facts(p, facts)
    muts = gen_mutations(p, fx, a.mutations, rng, a.only.split(",") if a.only else None)
    log(f"{len(muts)} mutations of {p.name}, tools {tools}, work {p.w}")
    out = os.path.join(p.w, "results.jsonl")
    recs, always = [], {}
    with open(out, "w") as f:
        for i, m in enumerate(muts):
            t = time.time()
            try:
                r = run_mutation(p, fx, m, i, tools, always)
            except Unusable as e:
                log(f"#{i} {m['cat']}: {m['desc']}: skipped, not counted: {e}")
                shutil.rmtree(os.path.join(p.w, "m", f"{i:03d}"), ignore_errors=True)
                continue
            recs.append(r)
            f.write(json.dumps(r) + "\n")
            f.flush()
            bad = r["cn"]["false_hits"] or r["cn"]["wrong_compiled"]
            log(f"#{i} {m['cat']}: {m['desc']}: forced {r['forced']}, changed {len(r['changed'])},"
                f" cn compiled {r['cn']['compiled']} false hits {len(r['cn']['false_hits'])}"
                f" misses {len(r['cn']['false_misses'])}"
                + (f"; ccache compiled {r['ccache']['compiled']} false hits "
                   f"{len(r['ccache']['false_hits'])}" if "ccache" in r else "")
                + f" ({time.time() - t:.0f} s)" + ("  <-- WRONG OBJECT" if bad else ""))
            if r["calibration"]:
                log(f"calibration: the reference differs from the pristine object on "
                    f"{r['calibration'][:5]}")
            if not (a.keep or bad):
                shutil.rmtree(os.path.join(p.w, "m", f"{i:03d}"), ignore_errors=True)
    print(summary(recs, tools, f"{p.name}{' (remote path)' if a.remote else ''}, seed {a.seed}"))


if __name__ == "__main__":
    main()
