#!/usr/bin/env bash
# One hit's cost, launcher builds side by side: libgit2's llhttp/api.c (about 75 headers, the
# engine issue's hit) compiled through each launcher until it hits, then per launcher in
# alternated rounds the task-clock of a hit (`perf stat -r RUNS`, the object removed before
# each run, as bench/engine-vs-ccache.sh does) and the instructions of one hit (callgrind's
# `Collected`, which does not vary with the machine's noise). `ccache` as a launcher runs
# ccache 4 (base_dir set, hash_dir off). A `/bin/true` floor shows what process start costs.
#
# Usage: bash bench/hit-ab.sh LAUNCHER...   (e.g. old/cached-ninja new/cached-ninja ccache)
#   env: WORK=dir, RUNS=400, ROUNDS=6
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: bash bench/hit-ab.sh LAUNCHER..." >&2; exit 2; }
RUNS=${RUNS:-400}
ROUNDS=${ROUNDS:-6}
WORK=${WORK:-$(mktemp -d /tmp/cn-hit-ab-XXXXXX)}
command -v perf >/dev/null || { echo "perf missing: apt-get install -y linux-perf" >&2; exit 1; }
SRC=$(bash tests/support/third-party-src.sh libgit2)
mkdir -p "$WORK/obj"
echo "[hit-ab] work $WORK; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
(cd "$WORK/obj" && cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF "$SRC" >cmake.log 2>&1)
read -r -a CMD < <(cd "$WORK/obj" && ninja -t commands | grep -m1 'llhttp/api\.c')
OBJ=deps/llhttp/CMakeFiles/llhttp.dir/api.c.o
run() { # launcher tool... : runs the compile through the launcher, each with its own cache
  local l=$1; shift
  local cache=$WORK/cache-$(printf '%s' "$l" | md5sum | cut -c1-8)
  if [ "$l" = ccache ]; then
    CCACHE_DIR=$cache CCACHE_BASEDIR=$WORK CCACHE_NOHASHDIR=1 "$@" ccache "${CMD[@]}"
  else
    CACHED_NINJA_CACHE_DIR=$cache "$@" "$l" "${CMD[@]}"
  fi
}
cd "$WORK/obj"
for l in "$@"; do for _ in 1 2 3; do run "$l" >/dev/null 2>&1; done; done
floor=$(perf stat -x, -r "$RUNS" -e task-clock /bin/true 2>&1 >/dev/null | grep task-clock | cut -d, -f1)
echo "| launcher | round | task-clock of one hit (ms, mean of $RUNS) |"
echo "|---|---|---|"
echo "| /bin/true (floor) | - | $floor |"
for r in $(seq "$ROUNDS"); do
  for l in "$@"; do
    ms=$(run "$l" perf stat -x, -r "$RUNS" -e task-clock --pre "rm -f $OBJ" 2>&1 >/dev/null \
      | grep task-clock | cut -d, -f1)
    echo "| $l | $r | $ms |"
  done
done
if command -v valgrind >/dev/null; then
  echo
  echo "| launcher | instructions of one hit (callgrind) |"
  echo "|---|---|"
  for l in "$@"; do
    [ "$l" = ccache ] && continue
    rm -f "$OBJ"
    ir=$(run "$l" valgrind --tool=callgrind --callgrind-out-file=/dev/null 2>&1 >/dev/null \
      | sed -n 's/.*Collected : //p')
    echo "| $l | $ir |"
  done
fi
