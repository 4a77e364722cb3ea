#!/usr/bin/env bash
# One cell of bench/slow-link.sh again, for several binaries on the same CI store, the
# binaries' order reversed every other round: the developer's build at K % through the slow
# link (critical-path order, or whatever the cell's policy file says), its object directory
# and cache made afresh before each build as slow-link.sh makes them. Prints per build: the
# wall time to the last link, the CPU seconds of the whole build (user + system, children
# included) and the launchers' own CPU (`cached-ninja stats`), so that binaries compare
# minutes apart on a machine whose speed drifts. Each binary runs its own launchers: the
# launcher path the object directory was generated with is replaced by the binary's own in
# its Ninja files (before 2026-12-05 it was not, and every binary ran the generating
# binary's launchers: only the pull differed).
#
# The prefetch mode is set here (MODE: critical-path by default, reverse, or on-demand) in
# dev-$K's policy: slow-link.sh leaves the last mode of its grid there (on-demand after a full
# grid), and before 2026-12-05 this script ran whatever that was.
#
# Usage: ROUNDS=2 K=0 RATE=10000000 RTT=0 [MODE=critical-path] bash bench/race-ab.sh WORK A_DIR B_DIR …
#   WORK is a finished bench/slow-link.sh work directory (its CI store, nginx configuration
#   and dev-$K); each *_DIR holds a `cached-ninja` and its `cached-ninja-cli`. PROJECT must be
#   the one the work directory was made with (bench/lib/ci-store.sh: which binaries are the
#   links); the default is libgit2.
set -euo pipefail
# shellcheck source=bench/lib/rounds.sh
source "$(dirname "$0")/lib/rounds.sh"
cd "$(dirname "$0")/.."
REPO=$PWD
[ $# -ge 2 ] || { echo "usage: bash bench/race-ab.sh WORK bin-dir…" >&2; exit 2; }
WORK=$(cd "$1" && pwd)
shift
ROUNDS=${ROUNDS:-2}
K=${K:-0}
D=$WORK/dev-$K
MODE=${MODE:-critical-path}
case "$MODE" in
  on-demand) prefetch=none ;;
  critical-path | reverse) prefetch=$MODE ;;
  *) echo "MODE: critical-path, reverse or on-demand, not $MODE" >&2; exit 2 ;;
esac
sed -i "s/^prefetch = .*/prefetch = \"$prefetch\"/" "$D/src/cached-ninja.toml"
grep -q "^prefetch = \"$prefetch\"" "$D/src/cached-ninja.toml" ||
  { echo "no prefetch line in $D/src/cached-ninja.toml" >&2; exit 1; }
echo "prefetch mode: $MODE (K = $K %, $(( ${RATE:-10000000} / 1000 )) kB/s, ${RTT:-0} ms)"
# shellcheck source=bench/lib/work-store.sh
source "$REPO/bench/lib/work-store.sh"
serve_work_store "$WORK" "$K"
GENERATED=$(generated_launcher "$D")
echo "| round | binary | wall to the last link (s) | CPU (s) | launchers' CPU (s) | hits, misses |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  round_order "$r" "$@"
  for b in "${order[@]}"; do
    rm -rf "$D/obj" "$D/cache" && cp -a "$D/obj.pristine" "$D/obj"
    grep -rlF --include='*.ninja' "$GENERATED cc --" "$D/obj" |
      xargs sed -i "s#$GENERATED cc --#$(cd "$b" && pwd)/cached-ninja cc --#g"
    python3 "$REPO/tests/support/slowlink.py" --listen "$PROXY_PORT" --upstream "$PORT" \
      --rate "${RATE:-10000000}" --rtt-ms "${RTT:-0}" --stats "$WORK/proxy.stats" 2>/dev/null &
    PROXY_PID=$!
    wait_port "$PROXY_PORT"
    sleep 0.3
    t0=$(date +%s.%N)
    CACHED_NINJA_CACHE_DIR=$D/cache /usr/bin/time -f "%U %S" -o "$WORK/time.txt" \
      "$b/cached-ninja" build --no-fill -C "$D/obj" >/dev/null 2>"$WORK/build.err" ||
      { cat "$WORK/build.err" >&2; exit 1; }
    end=$(last_link_in "$D/obj")
    kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
    stats=$("$b/cached-ninja" stats --json -C "$D/obj" |
      python3 -c 'import json,sys;v=json.load(sys.stdin);print("%.2f | %d, %d" % (v["cpu_us"]/1e6, v["hits"], v["misses"]))')
    echo "| $r | $b | $(python3 -c "print(f'{$end - $t0:.2f}')") | $(awk '{printf "%.2f", $1 + $2}' "$WORK/time.txt") | $stats |"
  done
done
