#!/usr/bin/env bash
# The instructions of a pull, per binary: `cached-ninja-cli fetch` of dev-$K's object directory
# from a finished bench/slow-link.sh work directory's CI store (no throttle: the proxy at
# 1 GB/s, 0 ms), with a fresh cache each time, under `valgrind --tool=callgrind` (instructions,
# not seconds: the same for the same binary and inputs whatever else the machine does). A
# fetch does what a build's pull does before Ninja needs it (sources and headers read, include
# sets recorded, every record's first check in step with its downloads), without the build.
# Prints per binary the total and the inclusive instructions of the first checks
# (`Launcher::first_check_for_pull`, the launcher's part of `local_keys::first_check`, which
# the compiler may inline) and of `Search::count_once` in them; the callgrind files stay in
# WORK/callgrind.<binary dir name>.out. Which thread checks which record depends on timing,
# so totals vary by a few per cent between runs of one binary.
#
# Usage: K=0 bash bench/pull-instructions.sh WORK A_DIR B_DIR …
#   each *_DIR holds a `cached-ninja` and its `cached-ninja-cli` (built with debug info for the
#   per-function lines: the release profile has it).
set -euo pipefail
# shellcheck source=bench/lib/rounds.sh
source "$(dirname "$0")/lib/rounds.sh"
cd "$(dirname "$0")/.."
REPO=$PWD
[ $# -ge 2 ] || { echo "usage: bash bench/pull-instructions.sh WORK bin-dir…" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
WORK=$(cd "$1" && pwd)
shift
K=${K:-0}
D=$WORK/dev-$K
# shellcheck source=bench/lib/work-store.sh
source "$REPO/bench/lib/work-store.sh"
serve_work_store "$WORK" "$K"
python3 "$REPO/tests/support/slowlink.py" --listen "$PROXY_PORT" --upstream "$PORT" \
  --rate 1000000000 --rtt-ms 0 --stats "$WORK/proxy.stats" 2>/dev/null &
PROXY_PID=$!
wait_port "$PROXY_PORT"
GENERATED=$(generated_launcher "$D")
echo "| binary | instructions | first_check_for_pull | count_once |"
echo "|---|---|---|---|"
for b in "$@"; do
  b=$(cd "$b" && pwd)
  rm -rf "$D/obj" "$D/cache" && cp -a "$D/obj.pristine" "$D/obj"
  grep -rlF --include='*.ninja' "$GENERATED cc --" "$D/obj" |
    xargs sed -i "s#$GENERATED cc --#$b/cached-ninja cc --#g"
  out=$WORK/callgrind.$(basename "$b").out
  CACHED_NINJA_CACHE_DIR=$D/cache valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$b/cached-ninja-cli" fetch -C "$D/obj" >/dev/null 2>"$WORK/fetch.err" ||
    { tail -5 "$WORK/fetch.err" >&2; exit 1; }
  inclusive() { # function name -> its inclusive count (the largest of its file:function
    # lines: inlined code is counted under the file it came from too)
    callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
      awk -v f=":$1" 'index($0, f) && $2 ~ /^\(/ {gsub(",", "", $1); if ($1 + 0 > m) m = $1 + 0} END {print m}'
  }
  total=$(awk '/^summary:/ {print $2}' "$out")
  echo "| $(basename "$b") | $total | $(inclusive 'first_check_for_pull') | $(inclusive 'count_once') |"
done
