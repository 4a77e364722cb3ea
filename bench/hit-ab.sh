#!/usr/bin/env bash
# One hit's task-clock, several launcher binaries interleaved: the hit of libgit2's
# `llhttp/api.c` that `bench/engine-vs-ccache.sh` measures (or of the source SOURCE names, a
# pattern of its path), served by each binary in turn, ROUNDS rounds of `perf stat -r RUNS`
# each (pinned to core 1, the object removed before each run; the binaries' order reversed every
# other round), so a noisy machine's drift hits every binary alike. Prints each binary's median,
# quartiles and page faults per hit, and its median ratio to the first binary's round by round.
#
# Needs a finished `bench/engine-vs-ccache.sh` work directory (its warm object directory and
# cache): the launcher named in that build's commands is replaced by each binary.
#
# Usage: WORK=/tmp/eb ROUNDS=40 RUNS=100 [SOURCE='index_map\.c'] bash bench/hit-ab.sh A/cached-ninja B/cached-ninja …
set -euo pipefail
# shellcheck source=bench/lib/rounds.sh
source "$(dirname "$0")/lib/rounds.sh"
WORK=${WORK:?the work directory of bench/engine-vs-ccache.sh}
ROUNDS=${ROUNDS:-40}
RUNS=${RUNS:-100}
SOURCE=${SOURCE:-llhttp/api\\.c}
[ $# -ge 1 ] || { echo "usage: WORK=dir bash bench/hit-ab.sh launcher…" >&2; exit 2; }
d=$(ls -d "$WORK"/cn/warm* | sort -V | tail -1)
cmd=$(cd "$d" && ninja -t commands | grep -- "-c .*$SOURCE" | head -1)
obj=$(printf '%s\n' "$cmd" | sed -E 's/.* -o ([^ ]+) .*/\1/')
read -ra words <<<"$cmd" # CMake's compile commands: plain words, no shell syntax
export CACHED_NINJA_CACHE_DIR=$WORK/cn/cache
echo "[hit-ab] $d, $ROUNDS rounds of $RUNS hits; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
out=$(mktemp)
for b in "$@"; do words[0]=$b; (cd "$d" && "${words[@]}"); done # memos and page cache warm
for r in $(seq "$ROUNDS"); do
  round_order "$r" "$@"
  for b in "${order[@]}"; do
    words[0]=$b
    (cd "$d" && taskset -c 1 perf stat -x, -r "$RUNS" -e task-clock,page-faults \
       --pre "rm -f $obj" -- "${words[@]}" 2>&1 >/dev/null) |
      awk -F, -v b="$b" -v r="$r" '$3=="task-clock"{t=$1} $3=="page-faults"{p=$1} END{print b, r, t, p}' >>"$out"
  done
done
echo "[hit-ab] load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$out" "$@" <<'EOF'
import statistics as s, sys
rows = [l.split() for l in open(sys.argv[1])]
bins = sys.argv[2:]
ms = {b: [float(r[2]) for r in rows if r[0] == b] for b in bins}
faults = {b: [float(r[3]) for r in rows if r[0] == b] for b in bins}
print("| binary | median ms | quartiles | page faults | ratio to the first (median of rounds) |")
print("|---|---|---|---|---|")
for b in bins:
    v = sorted(ms[b])
    q = lambda f: v[int(f * (len(v) - 1))]
    ratio = s.median(x / y for x, y in zip(ms[b], ms[bins[0]]))
    print(f"| {b} | {s.median(v):.3f} | {q(0.25):.3f}–{q(0.75):.3f} | {s.median(faults[b]):.0f} | {ratio:.3f} |")
EOF
rm -f "$out"
