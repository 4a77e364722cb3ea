#!/usr/bin/env bash
# The first launches after a regeneration of a large zero-setup object directory (CMake's or
# Meson's own compiler launcher): N launches at once, whose `build.ninja` (31 MB, 20 000
# edges, as the review measured) was just rewritten, so each finds what the Ninja files say
# (`engine::launcher::ninja_facts`) out of date. Prints their wall time, their CPU in all and
# the largest resident size, per launcher given, in alternated rounds.
#
# Usage: bash bench/first-launches.sh LAUNCHER...   (env: N=32, ROUNDS=2, WORK=dir)
set -euo pipefail
N=${N:-32}
ROUNDS=${ROUNDS:-2}
WORK=${WORK:-$(mktemp -d /tmp/cn-first-launches-XXXXXX)}
[ $# -ge 1 ] || { echo "usage: bash bench/first-launches.sh launcher…" >&2; exit 2; }
echo "| round | launcher | launches | wall (s) | CPU in all (s) | largest RSS (MB) |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  for cn in "$@"; do
    w=$WORK/w; rm -rf "$w"; mkdir -p "$w/src" "$w/obj" "$w/cache"
    python3 - "$w" "$cn" <<'PY'
import sys
w, cn = sys.argv[1], sys.argv[2]
flags = " ".join(f"-I{w}/src/include/dir{i}" for i in range(40)) + " -DNDEBUG -O2 -g -Wall -fPIC"
open(f"{w}/src/a.c", "w").write("int a(void){return 1;}\n")
with open(f"{w}/build.ninja", "w") as f:
    f.write(f"rule CC\n  command = {cn} /usr/bin/gcc $FLAGS -o $out -c $in\n")
    for i in range(20000):
        f.write(f"build obj/f{i}.o: CC src/a.c\n  FLAGS = {flags}\n")
PY
    cd "$w"
    export CACHED_NINJA_CACHE_DIR=$w/cache
    # The cache and the compiler's memos warm (every launch below is a hit), then the
    # Ninja files "regenerated".
    "$cn" /usr/bin/gcc -g -o obj/warm.o -c src/a.c
    touch build.ninja
    start=$(date +%s.%N)
    for i in $(seq "$N"); do
      /usr/bin/time -f "%U %S %M" -o "$w/t$i" "$cn" /usr/bin/gcc -g -o "obj/f$i.o" -c src/a.c &
    done
    wait
    end=$(date +%s.%N)
    cat "$w"/t* | awk -v r="$r" -v cn="$cn" -v n="$N" -v s="$start" -v e="$end" \
      '{c+=$1+$2; if ($3>m) m=$3} END {printf "| %d | %s | %d | %.2f | %.2f | %d |\n", r, cn, n, e-s, c, m/1024}'
    cd - >/dev/null
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
