#!/usr/bin/env bash
# Cold libgit2 builds (CMake, Debug, zero-setup launcher, -j2), one per launcher binary per
# round, the binaries' order reversed every other round, the cache emptied before each build.
# Prints per build: wall and CPU seconds of the whole build, and the launchers' own CPU (the
# stats lines' self-CPU: median per miss and sum), so that two launchers compare on the same
# machine minutes apart.
# With WARM=1 each launcher first fills a cache of its own with a cold build (not timed), and
# each round builds in a fresh object directory over it: every edge a hit checked for the
# first time at that path (the engine benchmark's warm build at a new path).
#
# Usage: ROUNDS=2 [WARM=1] WORK=/tmp/cold-ab bash bench/cold-ab.sh A/cached-ninja B/cached-ninja …
set -euo pipefail
# shellcheck source=bench/lib/rounds.sh
source "$(dirname "$0")/lib/rounds.sh"
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
WARM=${WARM:-0}
WORK=${WORK:-$(mktemp -d /tmp/cn-cold-ab-XXXXXX)}
[ $# -ge 1 ] || { echo "usage: bash bench/cold-ab.sh launcher…" >&2; exit 2; }
SRC=$(bash tests/support/third-party-src.sh libgit2)
mkdir -p "$WORK"
configure() { # launcher dir
  (cd "$2" && cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF \
    "-DCMAKE_C_COMPILER_LAUNCHER=$1" "$SRC" >cmake.log 2>&1)
}
cache_of() { # launcher: its own cache with WARM=1, else the one emptied before each build
  if [ "$WARM" = 1 ]; then echo "$WORK/cache-$(echo "$1" | tr / _)"; else echo "$WORK/cache"; fi
}
if [ "$WARM" = 1 ]; then
  for b in "$@"; do
    d=$WORK/fill-$(echo "$b" | tr / _)
    rm -rf "$d" "$(cache_of "$b")"; mkdir -p "$d"; configure "$b" "$d"
    (cd "$d" && CACHED_NINJA_CACHE_DIR=$(cache_of "$b") ninja -j2 >build.log 2>&1)
  done
fi
echo "| round | launcher | wall (s) | CPU (s) | launchers' CPU per launch, median (ms) | launchers' CPU in all (s) |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  round_order "$r" "$@"
  for b in "${order[@]}"; do
    d=$WORK/build-$r-$(echo "$b" | tr / _)
    rm -rf "$d"; mkdir -p "$d"
    [ "$WARM" = 1 ] || rm -rf "$WORK/cache"
    configure "$b" "$d"
    (cd "$d" && CACHED_NINJA_CACHE_DIR=$(cache_of "$b") /usr/bin/time -f "%e %U %S" -o time.txt \
      ninja -j2 >build.log 2>&1)
    launch=$(awk '{print $4}' "$d/.cached-ninja/stats" | sort -n |
      awk '{a[NR]=$1; s+=$1} END{printf "%.1f | %.2f", a[int((NR+1)/2)]/1000, s/1e6}')
    echo "| $r | $b | $(awk '{printf "%.2f | %.2f", $1, $2+$3}' "$d/time.txt") | $launch |"
  done
done
