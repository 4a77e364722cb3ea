#!/usr/bin/env bash
# The engine issue's three measurements on libgit2 (CMake, Debug: debug info on), side by side
# in one run with interleaved rounds:
#   1. cold build (empty caches): plain ninja, cached-ninja (zero-setup launcher), ccache
#   2. warm build at a new path: cached-ninja (zero-setup: CMAKE_C_COMPILER_LAUNCHER=cached-ninja,
#      never run through `configure`) vs ccache 4.x (base_dir set, hash_dir off: its best case)
#   3. one hit's task-clock (`perf stat -r N -e task-clock`) of llhttp/api.c, ours vs ccache
#   With CN_MUSL=path/to/cached-ninja (the launcher built for musl, README "Fastest hits"), that
#   launcher joins 2 and 3 (rows "cached-ninja (musl)"), over the same cache as CN's.
#
# Usage: bash bench/engine-vs-ccache.sh   (markdown tables on stdout, progress on stderr)
#   env: CN=path/to/cached-ninja (default: cargo build --release), WORK=dir, JOBS=2, RUNS=2,
#        HIT_RUNS=200, CN_MUSL=
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
RUNS=${RUNS:-2}
HIT_RUNS=${HIT_RUNS:-200}
WORK=${WORK:-$(mktemp -d /tmp/cn-engine-bench-XXXXXX)}
if [ -z "${CN:-}" ]; then
  cargo build --release --quiet --bin cached-ninja
  CN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/cached-ninja"
fi
CCACHE=$(command -v ccache) || { echo "ccache missing: apt-get install -y ccache" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf missing: apt-get install -y linux-perf" >&2; exit 1; }
SRC0=$(bash tests/support/third-party-src.sh libgit2)
mkdir -p "$WORK"
log() { echo "[bench] $*" >&2; }
log "work $WORK; cached-ninja $CN; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# Per tool: its own copy of the sources, its own cache, its launcher list for CMake.
CN_MUSL=${CN_MUSL:-}
WARM_TOOLS="cn${CN_MUSL:+ cnm} ccache"
launcher() { case $1 in plain) echo "" ;; cn) echo "$CN" ;; cnm) echo "$CN_MUSL" ;; ccache) echo "$CCACHE" ;; esac; }
with_env() { # tool cmd…
  local tool=$1; shift
  case $tool in
    plain) "$@" ;;
    cn|cnm) CACHED_NINJA_CACHE_DIR=$WORK/cn/cache "$@" ;;
    ccache) CCACHE_DIR=$WORK/ccache/cache CCACHE_BASEDIR=$WORK/ccache CCACHE_NOHASHDIR=1 \
            CCACHE_MAXSIZE=20G "$@" ;;
  esac
}
configure() { # tool dir
  local src=$WORK/${1/cnm/cn}/src
  [ -d "$src" ] || { mkdir -p "$WORK/$1"; cp -r "$SRC0" "$src"; }
  mkdir -p "$2"
  (cd "$2" && cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF \
     "-DCMAKE_C_COMPILER_LAUNCHER=$(launcher "$1")" "$src" >cmake.log 2>&1)
}
timed_build() { # tool dir -> "wall user+sys"
  (cd "$2" && with_env "$1" /usr/bin/time -f "%e %U %S" -o time.txt ninja -j"$JOBS" >build.log 2>&1)
  awk '{printf "%.2f %.2f\n", $1, $2+$3}' "$2/time.txt"
}
hits() { # tool dir
  case $1 in
    cn|cnm) grep -c '^hit ' "$2/.cached-ninja/stats" || true ;;
    ccache) with_env ccache "$CCACHE" --print-stats | awk '$1=="direct_cache_hit"||$1=="preprocessed_cache_hit"{s+=$2} END{print s+0}' ;;
  esac
}
edges() { (cd "$1" && ninja -t commands | grep -c -- ' -c '); }
RESULTS=$WORK/results.tsv; : >"$RESULTS"
row() { printf '%s\n' "$*" | tr ' ' '\t' >>"$RESULTS"; log "$*"; }

# 1. Cold builds, interleaved rounds; each round empties the caches first.
for r in $(seq "$RUNS"); do
  for tool in plain cn ccache; do
    rm -rf "$WORK/$tool/cache" "$WORK/$tool/cold$r"
    configure "$tool" "$WORK/$tool/cold$r"
    [ "$tool" = ccache ] && with_env ccache "$CCACHE" -z >/dev/null
    row cold "$tool" "$(timed_build "$tool" "$WORK/$tool/cold$r")" 0 "$(edges "$WORK/$tool/cold$r")"
  done
done
# 2. Warm builds at new paths: the last cold build filled each cache; B<r> is a fresh directory.
for r in $(seq "$RUNS"); do
  for tool in $WARM_TOOLS; do
    d=$WORK/$tool/warm$r # the depth of the cold directories: ccache's best case
    rm -rf "$d" # new every time (a rerun in the same WORK found the last run's objects there)
    configure "$tool" "$d"
    [ "$tool" = ccache ] && with_env ccache "$CCACHE" -z >/dev/null
    t=$(timed_build "$tool" "$d")
    row warm "$tool" "$t" "$(hits "$tool" "$d")" "$(edges "$d")"
  done
done

# 3. One hit of llhttp/api.c: the compile command of the last warm build, run again with its
#    object removed before each run (so each run is a hit that materialises the object).
for tool in $WARM_TOOLS; do
  d=$WORK/$tool/warm$RUNS
  cmd=$(cd "$d" && ninja -t commands | grep -- '-c .*llhttp/api\.c' | head -1)
  obj=$(printf '%s\n' "$cmd" | sed -E 's/.* -o ([^ ]+) .*/\1/')
  read -ra words <<<"$cmd" # CMake's compile commands: plain words, no shell syntax
  (cd "$d" && with_env "$tool" "${words[@]}") # warm the memo and page cache
  out=$(cd "$d" && with_env "$tool" perf stat -x, -r "$HIT_RUNS" -e task-clock \
        --pre "rm -f $obj" -- "${words[@]}" 2>&1 >/dev/null | grep task-clock)
  row hit "$tool" "$(printf '%s\n' "$out" | cut -d, -f1) 0" 0 0
done
floor=$(perf stat -x, -r "$HIT_RUNS" -e task-clock /bin/true 2>&1 >/dev/null | grep task-clock | cut -d, -f1)
row hit "true" "$floor 0" 0 0
log "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$RESULTS" "$("$CCACHE" --version | head -1 | awk '{print $3}')" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
names = {"plain": "plain ninja", "cn": "cached-ninja", "cnm": "cached-ninja (musl)",
         "ccache": f"ccache {sys.argv[2]}",
         "true": "`/bin/true` (process start floor)"}
def med(kind, tool, i):
    v = [float(r[2 + i]) for r in rows if r[0] == kind and r[1] == tool]
    return statistics.median(v), v
print("| cold libgit2 | wall (s), median (runs) | CPU (s), median | vs plain ninja |")
print("|---|---|---|---|")
base = med("cold", "plain", 0)[0]
for t in ("plain", "cn", "ccache"):
    w, ws = med("cold", t, 0); c, _ = med("cold", t, 1)
    print(f"| {names[t]} | {w:.2f} ({', '.join(f'{x:.2f}' for x in ws)}) | {c:.2f} | {w / base:.2f}x |")
print()
print("| warm libgit2, new path | wall (s), median (runs) | CPU (s), median | hits / compile edges, each run | vs ccache |")
print("|---|---|---|---|---|")
cc = med("warm", "ccache", 0)[0]
have = {r[1] for r in rows}
for t in [t for t in ("cn", "cnm", "ccache") if t in have]:
    w, ws = med("warm", t, 0); c, _ = med("warm", t, 1)
    hs = ", ".join(f"{x[4]}/{x[5]}" for x in rows if x[0] == "warm" and x[1] == t)
    print(f"| {names[t]} | {w:.2f} ({', '.join(f'{x:.2f}' for x in ws)}) | {c:.2f} | {hs} | {w / cc:.2f}x |")
print()
print("| one hit of llhttp/api.c | task-clock (ms), mean of the perf runs |")
print("|---|---|")
for t in [t for t in ("cn", "cnm", "ccache", "true") if t in have]:
    print(f"| {names[t]} | {med('hit', t, 0)[0]:.3f} |")
EOF
