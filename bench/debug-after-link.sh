#!/usr/bin/env bash
# Debug info off the critical path (issue 14, DESIGN §6), in time: over a bandwidth-limited
# store, how long a developer waits for the last link with objects only (`cached-ninja build`,
# the debug parts left for `dbgfetch fill`) against objects together with their debug parts
# (`cached-ninja fetch --debug-parts`, then the build: what the pull did before objects first),
# and how long the fill takes after the last link. libgit2 (tests/support/third-party-src.sh
# libgit2; CLI on, tests off, bundled zlib) or, with PROJECT=harfbuzz, harfbuzz (C++, the
# library only; see bench/lib/ci-store.sh), split DWARF.
#
# CI builds and publishes its commit to nginx (WebDAV, loopback); each developer is a clone at
# another path one commit ahead, with an empty cache, whose store URL is
# tests/support/slowlink.py in front of nginx (RATE bytes/s shared by all connections, RTT ms
# per round trip). Per run and mode: seconds from the start of the first command to the newest
# mtime of the linked binaries (`git2`, `libgit2.so.*`, or `libharfbuzz.so.*`), then (objects only) the seconds of
# `dbgfetch fill --wait`, the bytes over the link (slowlink.py's count, the fill's included)
# and the build's hits and compiles (a store given up shows as compiles, and its warning on
# stderr). RUNS rounds, the modes interleaved; medians.
#
# Usage: bash bench/debug-after-link.sh [WORK_DIR]   (table on stdout, progress on stderr)
#   env: CN=path/to/cached-ninja (default: cargo build --release), RATE=250000, RTT=0, RUNS=3,
#   PROJECT=libgit2|harfbuzz, SINGLE=1: clang with `-gsplit-dwarf=single -gdwarf-4` (one file
#   per compile)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=${1:-$(mktemp -d /tmp/cn-debug-after-link-XXXXXX)}
RATE=${RATE:-250000}
RTT=${RTT:-0}
RUNS=${RUNS:-3}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { echo "[bench] $*" >&2; }

if [ -z "${CN:-}" ]; then
  cargo build --release --quiet --bins
  CN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/cached-ninja"
fi
DBGFETCH=$(dirname "$CN")/dbgfetch
# shellcheck source=bench/lib/ci-store.sh
source "$REPO/bench/lib/ci-store.sh"
if [ "${SINGLE:-0}" = 1 ]; then single_split_args; fi

start_webdav_nginx 256 ""
PROXY_PID=
trap 'kill $NGINX_PID $PROXY_PID 2>/dev/null || true' EXIT
wait_port "$PORT"
PROXY_PORT=$(free_port)
log "CI: configure and build $PROJECT with split DWARF, publish"
ci_publish "http://127.0.0.1:$PORT/cn"

# A developer one commit ahead at another path, configured once (kept pristine for each run),
# its store behind the slow link.
rm -rf "$WORK/dev" && mkdir -p "$WORK/dev"
git clone -q "$WORK/ci/src" "$WORK/dev/src"
(cd "$WORK/dev/src" && echo local > NOTES && git add NOTES && git commit -qm local)
sed -i "s#^url = .*#url = \"http://127.0.0.1:$PROXY_PORT/cn\"#; s#^write = true#write = false#" \
  "$WORK/dev/src/cached-ninja.toml"
CACHED_NINJA_CACHE_DIR=$WORK/dev/cache configure_project "$WORK/dev/src" "$WORK/dev/obj"
cp -a "$WORK/dev/obj" "$WORK/dev/obj.pristine"

last_link() { last_link_in "$WORK/dev/obj"; }
link_up() {
  rm -f "$WORK/proxy.stats"
  python3 "$REPO/tests/support/slowlink.py" --listen "$PROXY_PORT" --upstream "$PORT" \
    --rate "$RATE" --rtt-ms "$RTT" --stats "$WORK/proxy.stats" &
  PROXY_PID=$!
  wait_port "$PROXY_PORT"
}
link_down() { kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=; }
# One run of MODE (objects, full): prints "mode seconds_to_last_link fill_seconds bytes".
run_once() {
  local mode=$1 dev=$WORK/dev
  rm -rf "$dev/obj" "$dev/cache" && cp -a "$dev/obj.pristine" "$dev/obj"
  link_up
  local t0 link fill=0 t1
  t0=$(date +%s.%N)
  if [ "$mode" = full ]; then
    (cd "$dev/src" && CACHED_NINJA_CACHE_DIR=$dev/cache "$CN" fetch --debug-parts -C "$dev/obj" >/dev/null 2>&1)
  fi
  CACHED_NINJA_CACHE_DIR=$dev/cache "$CN" build --no-fill -C "$dev/obj" >/dev/null 2>"$WORK/build.err" ||
    { cat "$WORK/build.err" >&2; exit 1; }
  link=$(last_link)
  if [ "$mode" = objects ]; then
    t1=$(date +%s.%N)
    CACHED_NINJA_CACHE_DIR=$dev/cache "$DBGFETCH" fill --wait -C "$dev/obj" >/dev/null
    fill=$(python3 -c "print(f'{$(date +%s.%N) - $t1:.2f}')")
  fi
  sleep 0.3 # slowlink.py writes its counts at most every 0.1 s
  link_down
  local hm
  hm=$("$CN" stats --json -C "$dev/obj" | python3 -c 'import json,sys;v=json.load(sys.stdin);print(v["hits"], v["misses"])')
  grep -h 'warning' "$WORK/build.err" >&2 || true
  echo "$mode $(python3 -c "print(f'{$link - $t0:.2f}')") $fill $(awk '{print $2}' "$WORK/proxy.stats") $hm"
}

: > "$WORK/results"
for r in $(seq "$RUNS"); do
  for mode in objects full; do
    line=$(run_once "$mode")
    log "run $r: $line"
    echo "$line" >> "$WORK/results"
  done
done
log "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$WORK/results" "$RATE" "$RTT" "$PROJECT" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
rate, rtt, project = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def med(mode, i):
    v = [float(r[i]) for r in rows if r[0] == mode]
    return statistics.median(v), v
print(f"| {project}, split DWARF, link {rate / 1e3:.0f} kB/s, {rtt} ms | to the last link, s (median; runs) | fill after it, s | bytes over the link | hits / compiled |")
print("|---|---|---|---|---|")
for mode, name in [("objects", "objects only (`cached-ninja build`), then `dbgfetch fill --wait`"),
                   ("full", "objects + debug parts (`fetch --debug-parts`, then `build`)")]:
    t, ts = med(mode, 1)
    f, fs = med(mode, 2)
    b, _ = med(mode, 3)
    fill = f"{f:.2f} ({', '.join(f'{x:.2f}' for x in fs)})" if mode == "objects" else "—"
    hm = sorted({f"{r[4]} / {r[5]}" for r in rows if r[0] == mode})
    print(f"| {name} | **{t:.2f}** ({', '.join(f'{x:.2f}' for x in ts)}) | {fill} | {b / 1e6:.2f} MB | {', '.join(hm)} |")
o, f = med("objects", 1)[0], med("full", 1)[0]
print(f"\nobjects only / full, time to the last link: {100 * o / f:.0f} %")
PY
