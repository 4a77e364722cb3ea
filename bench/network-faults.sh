#!/usr/bin/env bash
# A bad network costs a build almost nothing (issue 16): wall time of `cached-ninja build`
# with its store refused, black-holed or trickling at 10 KB/s, against `--no-fetch`, for a
# full build (empty local cache, `ninja -t clean`) and a no-op build right after it.
#
# Project: $PROJECT (bench/lib/ci-store.sh; default `generated`: $N C sources of a few
# functions each, CMake; or libgit2, harfbuzz, harfbuzz-meson), -g, built and published by
# "CI" to a real nginx (WebDAV) on loopback; the developer's checkout is one commit ahead,
# each mode has its own object directory, policy and local cache. The faults come
# from tests/support/faultproxy.py in front of nginx (black hole: accept, never answer;
# trickle: every answer at 10 KB/s); "refused" is a loopback port nothing listens on.
#
# Rounds are interleaved (the order of the modes rotates each round). The first full build of
# a mode meets the dead store (it pays the connect or first-byte timeout, or the slow-rate
# check, then records the store in .cached-ninja/stores-down); later builds skip it for
# [fetch] skip_failed_s (300 s). Reported: that first full build, a no-op build right after
# the record is removed (the first no-op of a fresh store failure), and the medians of rounds
# 2..$ROUNDS (steady state), against the same statistics of --no-fetch; the bound is 5 % or
# 0.3 s, whichever is larger. The machine is shared and loaded: medians, not means.
#
# Usage: bash bench/network-faults.sh [WORK_DIR]    (table on stdout, progress on stderr)
#   env: PROJECT=generated, N=120 sources (generated), ROUNDS=5,
#        CN=path/to/cached-ninja (default: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PROJECT=${PROJECT:-generated}
ROUNDS=${ROUNDS:-5}
WORK=${1:-$(mktemp -d /tmp/cn-netfault-bench-XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { echo "[bench] $*" >&2; }

if [ -z "${CN:-}" ]; then
  cargo build --release --quiet --bin cached-ninja --bin cached-ninja-cli --bin dbgfetch
  CN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/cached-ninja"
fi
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} HOME=$WORK # the third-party sources stay found
now() { date +%s.%N; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# nginx with WebDAV on loopback; CI builds and publishes (bench/lib/ci-store.sh).
# shellcheck source=bench/lib/ci-store.sh
source "$REPO/bench/lib/ci-store.sh"
start_webdav_nginx 256 ""
PIDS+=("$NGINX_PID")
wait_port "$PORT"
NPORT=$PORT
log "CI: build and publish $PROJECT"
ci_publish "http://127.0.0.1:$NPORT/cn" 2> "$WORK/ci.log"
PUB=$(cat "$WORK/ci.pub")
SRC=$WORK/ci/src

# The developer, one commit ahead; one object directory per mode.
git clone -q "$SRC" "$WORK/dev/src"
echo local > "$WORK/dev/src/NOTES"; git -C "$WORK/dev/src" add NOTES; git -C "$WORK/dev/src" commit -qm local
MODES="nofetch refused blackhole trickle"
declare -A URL
for mode in $MODES; do
  obj=$WORK/dev/obj-$mode
  case $mode in
    nofetch) URL[$mode]="http://127.0.0.1:$NPORT/cn" ;;
    refused) URL[$mode]="http://127.0.0.1:$(free_port)/cn" ;;
    *) p=$(free_port)
       python3 "$REPO/tests/support/faultproxy.py" --listen "$p" --upstream "$NPORT" --mode "$mode" & PIDS+=($!)
       URL[$mode]="http://127.0.0.1:$p/cn" ;;
  esac
  # The object directory's policy (found before the source tree's CI policy), in place before
  # `configure` so that the flags generated are the policy's.
  mkdir -p "$obj"
  printf 'split_dwarf = true\n[[store]]\nurl = "%s"\n[trust]\npublishers = ["%s"]\n' "${URL[$mode]}" "$PUB" > "$obj/cached-ninja.toml"
  CACHED_NINJA_CACHE_DIR=$WORK/dev/cache-$mode configure_project "$WORK/dev/src" "$obj"
done
sleep 0.5

RESULTS=$WORK/results.txt; : > "$RESULTS"
# build MODE KIND ROUND: one timed build; appends "round mode kind seconds".
build() {
  local mode=$1 kind=$2 round=$3 obj=$WORK/dev/obj-$1 flags=(--no-fill)
  [ "$mode" = nofetch ] && flags+=(--no-fetch)
  if [ "$kind" = full ]; then
    rm -rf "$WORK/dev/cache-$mode"; ninja -C "$obj" -t clean >/dev/null
  fi
  local t0 t1
  t0=$(now)
  CACHED_NINJA_CACHE_DIR=$WORK/dev/cache-$mode "$CN" build "${flags[@]}" -C "$obj" >/dev/null 2>"$WORK/last-$mode-$kind.log"
  t1=$(now)
  echo "$round $mode $kind $(awk "BEGIN{print $t1 - $t0}")" >> "$RESULTS"
}

set -- $MODES
order=("$@")
for r in $(seq 1 "$ROUNDS"); do
  log "round $r/$ROUNDS: ${order[*]}"
  for mode in "${order[@]}"; do
    build "$mode" full "$r"
    if [ "$r" = 1 ]; then
      # A no-op meeting the failure afresh: the record removed.
      rm -f "$WORK/dev/obj-$mode/.cached-ninja/stores-down"
      build "$mode" noop-fresh "$r"
    fi
    build "$mode" noop "$r"
  done
  order=("${order[@]:1}" "${order[0]}")
done
grep -h 'warning' "$WORK"/last-*-full.log "$WORK"/last-*-noop.log >&2 || true

python3 - "$RESULTS" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def vals(mode, kind, first):
    return [float(t) for r, m, k, t in rows if m == mode and k == kind and (r == "1") == first]
modes = ["nofetch", "refused", "blackhole", "trickle"]
print("| mode | full, first (s) | full, median r2.. (s) | no-op after a fresh failure (s) | no-op, median r2.. (s) | steady state within bound |")
print("|---|---|---|---|---|---|")
base_full = statistics.median(vals("nofetch", "full", False))
base_noop = statistics.median(vals("nofetch", "noop", False))
for m in modes:
    ff = vals(m, "full", True)[0]
    fm = statistics.median(vals(m, "full", False))
    nf = vals(m, "noop-fresh", True)[0]
    nm = statistics.median(vals(m, "noop", False))
    ok = all(v <= b + max(0.05 * b, 0.3) for v, b in [(fm, base_full), (nm, base_noop)])
    print(f"| {m} | {ff:.2f} | {fm:.2f} | {nf:.2f} | {nm:.2f} | {'yes' if ok else 'NO'} |")
EOF
