#!/usr/bin/env bash
# A miss's own CPU, launcher builds side by side: libgit2 (CMake, Debug) configured once and
# built through the first launcher (the cache's memos warm: header facts, compiler probes),
# then per round, per launcher in alternated order, each compile command of
# `src/libgit2/CMakeFiles/libgit2.dir/[a-f]*.c.o` run through that launcher with the cache's
# action entries removed first (a miss whose headers are known), the launcher's own
# task-clock taken by `perf stat --no-inherit` (the compiler's is left out) and summed.
# With COLD=1 the build is of a copy of the sources, and each source gets a new comment line
# before its compile instead: a miss cold for its action (no scan, lookup or candidates'
# memo), as in a cold build once the directory-wide header facts are warm.
#
# With INSTR=N (and COLD=1), then per launcher the instructions of one miss of the N-th of
# those commands (callgrind's total, which does not vary with the machine's noise; N=5 is
# `attrcache.c`), each after a new comment line in its source.
#
# Usage: ROUNDS=3 [COLD=1] [INSTR=5] bash bench/miss-ab.sh A/cached-ninja B/cached-ninja …   (env: WORK=dir)
set -euo pipefail
# shellcheck source=bench/lib/rounds.sh
source "$(dirname "$0")/lib/rounds.sh"
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
WORK=${WORK:-$(mktemp -d /tmp/cn-miss-ab-XXXXXX)}
[ $# -ge 1 ] || { echo "usage: bash bench/miss-ab.sh launcher…" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf missing: apt-get install -y linux-perf" >&2; exit 1; }
SRC=$(bash tests/support/third-party-src.sh libgit2)
COLD=${COLD:-0}
if [ "$COLD" = 1 ]; then
  # The copy, never the fetched tree, gets the comment lines (a failed copy stops the run).
  rm -rf "$WORK/src" "$WORK/obj" && mkdir -p "$WORK" && cp -a "$SRC" "$WORK/src" || exit 1
  SRC=$WORK/src
fi
export CACHED_NINJA_CACHE_DIR=$WORK/cache
mkdir -p "$WORK/obj"
cd "$WORK/obj"
cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF "-DCMAKE_C_COMPILER_LAUNCHER=$1" \
  "$SRC" >cmake.log 2>&1
ninja -j2 >build.log 2>&1
mapfile -t CMDS < <(ninja -t commands | grep -E 'libgit2\.dir/[a-f][a-z_]*\.c\.o' |
  grep -E "^$1 " | sed "s|^$1 ||")
echo "[miss-ab] ${#CMDS[@]} commands; work $WORK; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| round | launcher | launcher task-clock, all misses (ms) | per miss (ms) |"
echo "|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  round_order "$r" "$@"
  for b in "${order[@]}"; do
    total=0
    for c in "${CMDS[@]}"; do
      if [ "$COLD" = 1 ]; then
        src=$(echo "$c" | sed -E 's/.* -c ([^ ]+).*/\1/')
        echo "/* miss-ab $r $b */" >>"$src"
      else
        find "$WORK/cache/ac" -type f -delete
      fi
      read -r -a words <<<"$c"
      ms=$(perf stat --no-inherit -x, -e task-clock "$b" "${words[@]}" 2>&1 >/dev/null |
        grep task-clock | cut -d, -f1)
      total=$(echo "$total + $ms" | bc)
    done
    echo "| $r | $b | $total | $(echo "scale=2; $total / ${#CMDS[@]}" | bc) |"
  done
done
INSTR=${INSTR:-}
if [ -n "$INSTR" ] && [ "$COLD" = 1 ]; then
  command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install -y valgrind" >&2; exit 1; }
  c=${CMDS[$((INSTR - 1))]}
  src=$(echo "$c" | sed -E 's/.* -c ([^ ]+).*/\1/')
  read -r -a words <<<"$c"
  echo
  echo "| launcher | instructions of one miss of $(basename "$src") (callgrind) |"
  echo "|---|---|"
  for b in "$@"; do
    echo "/* miss-ab instructions $b */" >>"$src"
    n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$b" "${words[@]}" 2>&1 >/dev/null |
      grep -o 'Collected : [0-9]*' | grep -o '[0-9]*$')
    echo "| $b | $n |"
  done
fi
