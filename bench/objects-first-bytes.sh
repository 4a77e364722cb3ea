#!/usr/bin/env bash
# Objects first (issue 14, DESIGN §6): bytes a developer's build downloads before its last link
# with split DWARF, objects only (what `cached-ninja build` pulls) against objects + debug
# parts (`cached-ninja fetch --debug-parts` first: what the pull did before objects first), on
# libgit2 (tests/support/third-party-src.sh libgit2; CLI on, tests off, bundled zlib) or, with
# PROJECT=harfbuzz, on harfbuzz (C++, the library only; see bench/lib/ci-store.sh).
#
# CI builds and publishes its commit (`cached-ninja build --publish`, split_dwarf = true) to an
# nginx WebDAV store on loopback that logs `$msec $request_method $uri $status $body_bytes_sent`.
# Each developer is a clone at another path one commit ahead, with its own empty cache and
# object directory. Bytes are nginx's body bytes of the GETs (what went over the wire: zstd
# frames, action entries, the manifest) logged before the last link finished (the newest mtime
# of the linked binaries: `git2` and `libgit2.so.*`, or `libharfbuzz.so.*`); no timing, so a loaded machine does not
# change the result. The objects-only developer then runs `dbgfetch fill --wait`: its bytes are
# reported too (objects-only + fill ≈ full). A third developer changed 5 % of the `.c` files
# (every 20th, a comment appended): its GET bytes over the whole build, by kind, and how many
# records the pull left out as changed here (issue 15: wire bytes ≤ 1.1 × the compressed
# objects needed; the objects pulled are all used when `entries pulled` equals the hits).
# libgit2 only: harfbuzz's CMake build compiles one amalgamated source, which any change
# recompiles whole (CHANGED=1 runs it anyway, with `.cc` files).
#
# Usage: bash bench/objects-first-bytes.sh [WORK_DIR]    (table on stdout, progress on stderr)
#   env: CN=path/to/cached-ninja (default: `cargo build --bins`, debug profile: bytes do not
#   depend on the profile); dbgfetch is taken from beside it. PROJECT=libgit2|harfbuzz.
#   SINGLE=1: clang with `-gsplit-dwarf=single -gdwarf-4` (one file per compile, split by the
#   launcher) instead of the default compiler with the policy's two-file split.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=${1:-$(mktemp -d /tmp/cn-objfirst-bench-XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { echo "[bench] $*" >&2; }

if [ -z "${CN:-}" ]; then
  cargo build --quiet --bins
  CN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/cached-ninja"
fi
DBGFETCH=$(dirname "$CN")/dbgfetch
# shellcheck source=bench/lib/ci-store.sh
source "$REPO/bench/lib/ci-store.sh"
if [ "${SINGLE:-0}" = 1 ]; then single_split_args; fi
if [ "$PROJECT" = libgit2 ]; then CHANGED=${CHANGED:-1}; EXT=c; else CHANGED=${CHANGED:-0}; EXT=cc; fi

# nginx, WebDAV PUT, on a free loopback port.
start_webdav_nginx 256 ""
trap 'kill $NGINX_PID 2>/dev/null || true' EXIT
wait_port "$PORT"
STORE=http://127.0.0.1:$PORT/cn

# CI: the project committed, built and published.
log "CI: configure and build $PROJECT with split DWARF, publish"
ci_publish "$STORE"

# A developer one commit ahead at another path, empty cache: prints the log line count first.
developer() {
  local name=$1
  rm -rf "$WORK/$name" && mkdir -p "$WORK/$name"
  git clone -q "$WORK/ci/src" "$WORK/$name/src"
  (cd "$WORK/$name/src" && echo local > NOTES && git add NOTES && git commit -qm local)
  CACHED_NINJA_CACHE_DIR=$WORK/$name/cache configure_project "$WORK/$name/src" "$WORK/$name/obj"
}
lines() { wc -l < "$WORK/nginx/access.log"; }
# GET body bytes of log lines after line $1 whose time is before $2 (seconds; "inf": all) and
# whose URI starts with /cn/$3 (empty: any; `cas/` blobs, `ac/` entries, `builds/` manifests).
get_bytes() {
  tail -n +"$(($1 + 1))" "$WORK/nginx/access.log" |
    awk -v until="$2" -v kind="/cn/${3:-}" '$2 == "GET" && index($3, kind) == 1 &&
      (until == "inf" || $1 + 0 <= until + 0) { n += $5 } END { print n + 0 }'
}
# The newest mtime of the linked binaries of a developer's object directory.
last_link() { last_link_in "$WORK/$1/obj"; }

log "developer 1: objects only (cached-ninja build --no-fill), then dbgfetch fill --wait"
developer objects
start=$(lines)
CACHED_NINJA_CACHE_DIR=$WORK/objects/cache "$CN" build --no-fill -C "$WORK/objects/obj" >/dev/null
LINK=$(last_link objects)
OBJ_BYTES=$(get_bytes "$start" "$LINK")
OBJ_BLOBS=$(get_bytes "$start" "$LINK" cas/)
OBJ_ALL=$(get_bytes "$start" inf)
DEFERRED=$("$CN" stats --json -C "$WORK/objects/obj" | python3 -c 'import json,sys;v=json.load(sys.stdin);print(v["debug_deferred"], v["hits"], v["misses"])')
start=$(lines)
CACHED_NINJA_CACHE_DIR=$WORK/objects/cache "$DBGFETCH" fill --wait -C "$WORK/objects/obj" >/dev/null
FILL_BYTES=$(get_bytes "$start" inf)

log "developer 2: objects + debug parts (cached-ninja fetch --debug-parts, then build --no-fill)"
developer full
start=$(lines)
(cd "$WORK/full/src" && CACHED_NINJA_CACHE_DIR=$WORK/full/cache "$CN" fetch --debug-parts -C "$WORK/full/obj" >/dev/null)
CACHED_NINJA_CACHE_DIR=$WORK/full/cache "$CN" build --no-fill -C "$WORK/full/obj" >/dev/null
LINK=$(last_link full)
FULL_BYTES=$(get_bytes "$start" "$LINK")
FULL_BLOBS=$(get_bytes "$start" "$LINK" cas/)

if [ "$CHANGED" = 1 ]; then
log "developer 3: 5 % of the .$EXT files changed (cached-ninja build --no-fill)"
developer changed
(cd "$WORK/changed/src" && git ls-files "*.$EXT" | sort | awk 'NR % 20 == 0' > "$WORK/changed/list" &&
  while read -r f; do echo "/* changed here */" >> "$f"; done < "$WORK/changed/list" &&
  git commit -qam changed)
start=$(lines)
CHANGED_OUT=$(CACHED_NINJA_CACHE_DIR=$WORK/changed/cache "$CN" build --no-fill -C "$WORK/changed/obj" 2>&1 >/dev/null)
CH_ALL=$(get_bytes "$start" inf)
CH_BLOBS=$(get_bytes "$start" inf cas/)
CH_ENTRIES=$(get_bytes "$start" inf ac/)
CH_FILES=$(wc -l < "$WORK/changed/list")
CH_STATS=$("$CN" stats --json -C "$WORK/changed/obj" | python3 -c 'import json,sys;v=json.load(sys.stdin);print(v["hits"], v["misses"])')
CH_PULLED=$(echo "$CHANGED_OUT" | sed -n 's/.*(\([0-9]*\) entries pulled.*/\1/p' | head -1)
CH_LEFT=$(echo "$CHANGED_OUT" | sed -n 's/.* \([0-9]*\) left out.*/\1/p' | head -1)
echo "$CHANGED_OUT" | grep -E 'entries fetched|objects:' >&2 || true

python3 - "$CH_ALL" "$CH_BLOBS" "$CH_ENTRIES" "$CH_FILES" "${CH_PULLED:-0}" "${CH_LEFT:-0}" $CH_STATS <<'EOF'
import sys
ch_all, ch_blobs, ch_entries, files, pulled, left, hits, misses = map(int, sys.argv[1:])
mb = lambda n: f"{n / 1e6:.2f} MB"
print(f"developer with {files} of the source files changed (5 %): {hits} hits, {misses} misses; "
      f"{pulled} entries pulled, {left} records left out as changed here")
print("| GET bytes of the whole build, 5 % changed | all | blobs (`cas/`) | entries (`ac/`) | all / blobs |")
print("|---|---|---|---|---|")
print(f"| 5 % changed | {mb(ch_all)} | {mb(ch_blobs)} | {mb(ch_entries)} | {ch_all / max(ch_blobs, 1):.3f} |")
print()
EOF
fi

python3 - "$PROJECT" "$OBJ_BYTES" "$OBJ_BLOBS" "$OBJ_ALL" "$FILL_BYTES" "$FULL_BYTES" "$FULL_BLOBS" $DEFERRED <<'EOF'
import sys
project = sys.argv[1]
obj, obj_blobs, obj_all, fill, full, full_blobs, deferred, hits, misses = map(int, sys.argv[2:])
mb = lambda n: f"{n / 1e6:.2f} MB"
print(f"| developer build of {project}, split DWARF, GET bytes before the last link | all | blobs (`cas/`) | entries + manifest |")
print("|---|---|---|---|")
print(f"| objects only (`cached-ninja build`) | {mb(obj)} | {mb(obj_blobs)} | {mb(obj - obj_blobs)} |")
print(f"| objects + debug parts (`fetch --debug-parts`, then `build`) | {mb(full)} | {mb(full_blobs)} | {mb(full - full_blobs)} |")
print(f"| objects only / full (goal ≤ 60 %) | {100 * obj / full:.1f} % | {100 * obj_blobs / full_blobs:.1f} % | |")
print()
print(f"| objects only: all / blobs (wire bytes per compressed object byte needed; goal ≤ 1.1) | {obj / obj_blobs:.3f} | | |")
print()
print(f"objects-only build: {hits} hits ({deferred} debug-deferred), {misses} misses; "
      f"GET during the whole build {mb(obj_all)}; then `dbgfetch fill --wait` GET {mb(fill)}")
EOF
