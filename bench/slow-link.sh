#!/usr/bin/env bash
# Win the race (issue 15): a developer's build after `git pull` against the floor set by the
# link's bandwidth and the files they changed, through a real slow link.
#
# CI builds libgit2 (or, with PROJECT=harfbuzz-meson, harfbuzz's C++ through Meson: see
# bench/lib/ci-store.sh) at commit R with split DWARF and publishes it (`cached-ninja build
# --publish`) to nginx (WebDAV) on loopback. A developer at another path, with an empty cache,
# builds R+1 where K % of the compiled `.c`/`.cc` files are modified (a comment appended: every
# edge's source key changes, its object must be compiled). The developer's store URL is
# tests/support/slowlink.py in front of nginx: RATE bytes/s shared by all connections, RTT ms
# per round trip. Cells: K in $KS, RATE in $RATES, RTT in $RTTS; per cell the modes:
#   reverse        [fetch] prefetch = "reverse": reverse build order (what the pull did before)
#   critical-path  [fetch] prefetch = "critical-path": remaining critical path, CI's compile ms
#   on-demand      [fetch] prefetch = "none": launchers fetch what they need, nothing else
#   fetch-first    `cached-ninja fetch` (objects only, critical-path order), then `cached-ninja
#                  build`, timed together: the pulled hits are served before Ninja starts
#                  (`engine::ahead`), so no launcher runs for them
#   no-cache       `cached-ninja build --no-fetch` with an empty cache (no store at all; run
#                  once per K, the link does not matter)
# Per build: wall time from the start of `cached-ninja build` to the newest mtime of the linked
# binaries (`git2`, `libgit2.so.*`; `src/libharfbuzz*.so*`), bytes from the server over the link (slowlink.py's
# count, HTTP heads included), requests (nginx's access log). The floor of a cell is
#   max(compressed object bytes needed / RATE, CPU time of compiling the modified files / cores)
#   + link time
# where the objects needed are the published objects (`cas/` frames, debug parts excluded) of
# the unmodified compile edges, the CPU time is user + system time of the compiler alone run on
# each modified edge (CI's command without the launcher, outputs written elsewhere), cores =
# `nproc`, and the link time is CI's relink of every non-object output with all objects
# present (plain ninja, median of 3).
#
# HTTP2=1: the developer's store speaks HTTP/2 in clear text (a second nginx server on the same
# files, `listen … http2`, behind the slow link; the policy's store has `http2 = true`, so the
# pull multiplexes up to 256 requests over one connection); by default HTTP/1.1 keep-alive,
# where up to `[fetch] jobs` (48; 16 before 2026-12-07) requests are in flight, one
# connection each.
#
# Usage: bash bench/slow-link.sh [WORK_DIR]    (table on stdout, progress and raw lines on stderr)
#   env: CN=path/to/cached-ninja (default: cargo build --release), KS="0 5 25",
#   RATES="1000000 10000000", RTTS="0 20", MODES="critical-path reverse on-demand no-cache",
#   PROJECT=libgit2|harfbuzz-meson
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=${1:-$(mktemp -d /tmp/cn-slowlink-bench-XXXXXX)}
KS=${KS:-0 5 25}
RATES=${RATES:-1000000 10000000}
RTTS=${RTTS:-0 20}
MODES=${MODES:-critical-path reverse on-demand no-cache}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { echo "[bench] $*" >&2; }

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')"
if [ -z "${CN:-}" ]; then
  cargo build --release --quiet --bin cached-ninja --bin cached-ninja-cli
  CN=$TARGET_DIR/release/cached-ninja
fi
cargo build --release --quiet -p bench --bin blob_digest
BLOB_DIGEST=$TARGET_DIR/release/blob_digest
# shellcheck source=bench/lib/ci-store.sh
source "$REPO/bench/lib/ci-store.sh"
CORES=$(nproc)

# nginx, WebDAV PUT, logging every request; with HTTP2=1 also the same files over HTTP/2 on
# H2_PORT (the server block comes first in the file: bench/race-ab.sh takes the first port).
HTTP2=${HTTP2:-0}
H2_SERVER=
if [ "$HTTP2" = 1 ]; then
  H2_PORT=$(free_port)
  H2_SERVER="    http2_max_concurrent_streams 1024;
    server { listen 127.0.0.1:$H2_PORT http2; location / { root $WORK/nginx/www; } }"
fi
start_webdav_nginx 1024 "    keepalive_requests 100000;
$H2_SERVER"
PROXY_PID=
trap 'kill $NGINX_PID $PROXY_PID 2>/dev/null || true' EXIT
wait_port "$PORT"
UPSTREAM=$PORT
[ "$HTTP2" = 1 ] && UPSTREAM=$H2_PORT
PROXY_PORT=$(free_port)

# CI: the project committed at R, built and published.
log "CI: configure, build and publish $PROJECT (split DWARF)"
ci_publish "http://127.0.0.1:$PORT/cn"

# Compile edges (source, object, CI's .ninja_log duration in ms), each object's blob digest.
ninja -C "$WORK/ci/obj" -t compdb > "$WORK/compdb.json"
python3 - "$WORK" <<'EOF' > "$WORK/edges"
import json, os, sys
work = sys.argv[1]
obj = f"{work}/ci/obj"
log = {}
for line in open(f"{obj}/.ninja_log"):
    if line.startswith("#"):
        continue
    start, end, _, out, _ = line.rstrip("\n").split("\t")
    log[out] = int(end) - int(start)
for e in json.load(open(f"{work}/compdb.json")):
    src, out = e["file"], e.get("output", "")
    if src.endswith((".c", ".cc")) and out.endswith(".o") and out in log:
        print(os.path.relpath(os.path.join(e["directory"], src), f"{work}/ci/src"), out, log[out])
EOF
sort -o "$WORK/edges" "$WORK/edges"
(cd "$WORK/ci/obj" && "$BLOB_DIGEST" $(awk '{print $2}' "$WORK/edges")) > "$WORK/digests"
N_EDGES=$(wc -l < "$WORK/edges")
log "CI: $N_EDGES compile edges"

# Link time: every non-object output of the last build removed and rebuilt, plain ninja.
# (Sources a build generates, like Meson's amalgamated `src/harfbuzz.cc`, are not links.)
LINK_OUTS=$(awk -F'\t' '!/^#/ && $4 !~ /\.(o|c|cc|h|hh)$/ && $4 !~ /^(CMakeFiles|build\.ninja|cmake)/ {print $4}' "$WORK/ci/obj/.ninja_log" | sort -u)
LINK_TIMES=()
for _ in 1 2 3; do
  (cd "$WORK/ci/obj" && rm -f $LINK_OUTS)
  t0=$(date +%s.%N)
  ninja -C "$WORK/ci/obj" >/dev/null
  LINK_TIMES+=("$(python3 -c "import time;print(time.time() - $t0)")")
done
LINK_S=$(printf '%s\n' "${LINK_TIMES[@]}" | sort -n | sed -n 2p)
log "link time ${LINK_S} s (${LINK_TIMES[*]})"

# The developer's checkout for K %: a clone at R+1 with every (100/K)-th compiled .c changed.
modified_list() {
  python3 - "$1" "$WORK/edges" <<'EOF'
import sys
k, edges = int(sys.argv[1]), [l.split() for l in open(sys.argv[2])]
n = round(len(edges) * k / 100)
for j in range(n):
    print(edges[j * len(edges) // n][0])
EOF
}
developer() { # K
  local k=$1 dir=$WORK/dev-$1
  rm -rf "$dir" && mkdir -p "$dir"
  git clone -q "$WORK/ci/src" "$dir/src"
  modified_list "$k" > "$dir/modified"
  while read -r f; do echo "/* changed by slow-link.sh */" >> "$dir/src/$f"; done < "$dir/modified"
  (cd "$dir/src" && echo local > NOTES && git add -A && git commit -qm "local change")
  policy "$k" critical-path
  CACHED_NINJA_CACHE_DIR=$dir/cache configure_project "$dir/src" "$dir/obj"
  rm -rf "$dir/obj.pristine" && cp -a "$dir/obj" "$dir/obj.pristine"
}
policy() { # K MODE
  local prefetch=$2
  case "$2" in on-demand | no-cache) prefetch=none ;; fetch-first) prefetch=critical-path ;; esac # no-cache: --no-fetch, no pull
  cat > "$WORK/dev-$1/src/cached-ninja.toml" <<EOF
split_dwarf = true
[[store]]
url = "http://127.0.0.1:$PROXY_PORT/cn"
$([ "$HTTP2" = 1 ] && echo "http2 = true")
[trust]
publishers = ["$(cat "$WORK/ci.pub")"]
[fetch]
prefetch = "$prefetch"
EOF
}
floor_inputs() { # K -> "needed_bytes modified_cpu_ms"
  python3 - "$WORK" "$WORK/dev-$1/modified" <<'EOF'
import json, os, resource, shlex, subprocess, sys
work, modified = sys.argv[1], set(open(sys.argv[2]).read().split())
digest = {out: d for d, out in (l.split() for l in open(f"{work}/digests"))}
edges = {out: src for src, out, _ in (l.split() for l in open(f"{work}/edges"))}
need = 0
for out, src in edges.items():
    if src not in modified:
        need += os.path.getsize(os.path.join(work, "nginx/www/cn/cas", digest[out]))
# CPU time (user + system) of the compiler alone on each modified edge: CI's command without
# the launcher, writing its object, .dwo and depfile elsewhere.
cpu = 0.0
for e in json.load(open(f"{work}/compdb.json")):
    if edges.get(e.get("output")) not in modified:
        continue
    words = shlex.split(e["command"])
    words = words[words.index("--") + 1:]
    for flag, name in (("-o", "cpu.o"), ("-MF", "cpu.d")):
        if flag in words:
            words[words.index(flag) + 1] = os.path.join(work, name)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(words, cwd=e["directory"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(need, round(cpu * 1000))
EOF
}
last_link() { last_link_in "$1"; }
# One build: K MODE RATE RTT -> "seconds bytes_down requests hits misses"
build_once() {
  local k=$1 mode=$2 rate=$3 rtt=$4 dir=$WORK/dev-$1
  rm -rf "$dir/obj" "$dir/cache" && cp -a "$dir/obj.pristine" "$dir/obj"
  policy "$k" "$mode"
  local stats=$WORK/proxy.stats
  rm -f "$stats"
  python3 "$REPO/tests/support/slowlink.py" --listen "$PROXY_PORT" --upstream "$UPSTREAM" \
    --rate "$rate" --rtt-ms "$rtt" --stats "$stats" &
  PROXY_PID=$!
  wait_port "$PROXY_PORT"
  local lines0 extra=()
  lines0=$(wc -l < "$WORK/nginx/access.log")
  [ "$mode" = no-cache ] && extra=(--no-fetch)
  sleep 0.3
  local t0
  t0=$(date +%s.%N)
  if [ "$mode" = fetch-first ]; then
    CACHED_NINJA_CACHE_DIR=$dir/cache "$CN" fetch -C "$dir/obj" >/dev/null 2>"$WORK/fetch.err" ||
      { cat "$WORK/fetch.err" >&2; exit 1; }
  fi
  CACHED_NINJA_CACHE_DIR=$dir/cache "$CN" build --no-fill "${extra[@]}" -C "$dir/obj" >/dev/null 2>"$WORK/build.err" ||
    { cat "$WORK/build.err" >&2; exit 1; }
  local end
  end=$(last_link "$dir/obj")
  kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
  local requests down hm
  requests=$(($(wc -l < "$WORK/nginx/access.log") - lines0))
  down=$(awk '{print $2}' "$stats")
  hm=$("$CN" stats --json -C "$dir/obj" | python3 -c 'import json,sys;v=json.load(sys.stdin);print(v["hits"], v["misses"])')
  echo "$(python3 -c "print(f'{$end - $t0:.2f}')") $down $requests $hm"
}

RESULTS=$WORK/results
: > "$RESULTS"
for k in $KS; do
  log "developer at K = $k %"
  developer "$k"
  read -r NEED MOD_MS < <(floor_inputs "$k")
  if [[ " $MODES " == *" no-cache "* ]]; then
    r=$(build_once "$k" no-cache 1000000000 0)
    log "k=$k no-cache: $r"
    for rate in $RATES; do for rtt in $RTTS; do
      echo "$k $rate $rtt $NEED $MOD_MS $LINK_S no-cache $r" >> "$RESULTS"
    done; done
  fi
  for rate in $RATES; do
    for rtt in $RTTS; do
      for mode in $MODES; do
        [ "$mode" = no-cache ] && continue
        r=$(build_once "$k" "$mode" "$rate" "$rtt")
        log "k=$k rate=$rate rtt=$rtt $mode: $r"
        echo "$k $rate $rtt $NEED $MOD_MS $LINK_S $mode $r" >> "$RESULTS"
      done
    done
  done
done

python3 - "$RESULTS" "$CORES" <<'EOF'
import sys
from collections import OrderedDict
cores = int(sys.argv[2])
cells = OrderedDict()
for l in open(sys.argv[1]):
    k, rate, rtt, need, mod_ms, link_s, mode, secs, down, req, hits, misses = l.split()
    key = (int(k), int(rate), int(rtt))
    floor = max(int(need) / int(rate), int(mod_ms) / 1000 / cores) + float(link_s)
    c = cells.setdefault(key, {"floor": floor, "need": int(need), "modes": OrderedDict()})
    c["modes"][mode] = (float(secs), int(down), int(req), int(hits), int(misses))
modes = []
for c in cells.values():
    for m in c["modes"]:
        if m not in modes:
            modes.append(m)
print("| K % | link | RTT | objects needed | floor (s) | " + " | ".join(f"{m}: s (x floor), MB down, requests" for m in modes) + " |")
print("|---|---|---|---|---|" + "---|" * len(modes))
for (k, rate, rtt), c in cells.items():
    row = [str(k), f"{rate / 1e6:g} MB/s", f"{rtt} ms", f"{c['need'] / 1e6:.2f} MB", f"{c['floor']:.2f}"]
    for m in modes:
        if m in c["modes"]:
            s, down, req, hits, misses = c["modes"][m]
            row.append(f"{s:.2f} ({s / c['floor']:.2f}x), {down / 1e6:.2f}, {req}")
        else:
            row.append("–")
    print("| " + " | ".join(row) + " |")
EOF
