#!/usr/bin/env bash
# Cold libgit2 builds (CMake, Debug, zero-setup launcher, -j2), one per launcher binary per
# round, the binaries' order reversed every other round, the cache emptied before each build.
# Prints per build: wall and CPU seconds of the whole build, and the launchers' own CPU (the
# stats lines' self-CPU: median per miss and sum), so that two launchers compare on the same
# machine minutes apart.
#
# Usage: ROUNDS=2 WORK=/tmp/cold-ab bash bench/cold-ab.sh A/cached-ninja B/cached-ninja …
set -euo pipefail
# shellcheck source=bench/lib/rounds.sh
source "$(dirname "$0")/lib/rounds.sh"
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
WORK=${WORK:-$(mktemp -d /tmp/cn-cold-ab-XXXXXX)}
[ $# -ge 1 ] || { echo "usage: bash bench/cold-ab.sh launcher…" >&2; exit 2; }
SRC=$(bash tests/support/third-party-src.sh libgit2)
mkdir -p "$WORK"
echo "| round | launcher | wall (s) | CPU (s) | launchers' CPU per miss, median (ms) | launchers' CPU in all (s) |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  round_order "$r" "$@"
  for b in "${order[@]}"; do
    d=$WORK/build-$r-$(echo "$b" | tr / _)
    rm -rf "$d" "$WORK/cache"; mkdir -p "$d"
    (cd "$d" && cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF \
      "-DCMAKE_C_COMPILER_LAUNCHER=$b" "$SRC" >cmake.log 2>&1)
    (cd "$d" && CACHED_NINJA_CACHE_DIR=$WORK/cache /usr/bin/time -f "%e %U %S" -o time.txt \
      ninja -j2 >build.log 2>&1)
    launch=$(awk '{print $4}' "$d/.cached-ninja/stats" | sort -n |
      awk '{a[NR]=$1; s+=$1} END{printf "%.1f | %.2f", a[int((NR+1)/2)]/1000, s/1e6}')
    echo "| $r | $b | $(awk '{printf "%.2f | %.2f", $1, $2+$3}' "$d/time.txt") | $launch |"
  done
done
