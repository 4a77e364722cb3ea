#!/usr/bin/env bash
# Distributed misses (issue 18): what a cold libgit2 build costs this machine with its misses
# compiled here, and with them handed to distcc. distccd runs on loopback (the same 2 cores, so
# wall time cannot improve here); what is measured is the build's own CPU time (user + sys of
# `cached-ninja build` and everything it waited for: Ninja, launchers, compilers or the
# preprocessor and the distcc client), which is the CPU a farm takes off a developer's machine.
# distccd's compiles are not children of the build and are counted from its log instead.
#
# Usage: bash bench/distribute-local-cpu.sh [WORK_DIR]    (table on stdout, progress on stderr)
#   env: CN=path/to/cached-ninja (default: `cargo build --bins`, debug profile).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d /tmp/cn-distribute-bench-XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
chmod 755 "$WORK"
log() { echo "[bench] $*" >&2; }

if [ -z "${CN:-}" ]; then
  cargo build --quiet --bins
  CN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/cached-ninja"
fi
SRC=$(bash tests/support/third-party-src.sh libgit2)
CMAKE_ARGS=(-DBUILD_TESTS=OFF -DBUILD_CLI=OFF -DCMAKE_BUILD_TYPE=Debug)

# distccd on a free loopback port, its log open to the user it runs as.
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -p "$WORK/distccd" && chmod 777 "$WORK/distccd" && rm -f "$WORK/distccd/log"
distccd --daemon --no-detach --allow 127.0.0.1 --listen 127.0.0.1 --port "$PORT" --jobs 2 \
  --log-level info --log-file "$WORK/distccd/log" &
DISTCCD=$!
trap 'kill $DISTCCD 2>/dev/null || true' EXIT
sleep 1

printf '| mode | wall (s) | build CPU, user+sys (s) | compiled | of which by distccd |\n|---|---|---|---|---|\n'
for mode in local distcc; do
  dir="$WORK/$mode"
  rm -rf "$dir" && mkdir -p "$dir" && cp -r "$SRC" "$dir/src"
  if [ "$mode" = distcc ]; then
    printf '[distribute]\nengine = "distcc"\nhosts = "127.0.0.1:%s/2"\n' "$PORT" > "$dir/src/cached-ninja.toml"
  fi
  export CACHED_NINJA_CACHE_DIR="$dir/cache"
  "$CN" configure --enable-build-backend=cached-ninja --objdir "$dir/obj" -- \
    cmake -G Ninja "${CMAKE_ARGS[@]}" -S "$dir/src" -B "$dir/obj" > "$dir/configure.log" 2>&1
  before=$(grep -c COMPILE_OK "$WORK/distccd/log" || true)
  log "$mode: cold build"
  TIMEFORMAT='%R %U %S'
  t=$( { time "$CN" build --no-fill -j2 -C "$dir/obj" > "$dir/build.log" 2>&1; } 2>&1 )
  read -r wall user sys <<< "$t"
  after=$(grep -c COMPILE_OK "$WORK/distccd/log" || true)
  misses=$("$CN" stats --json -C "$dir/obj" | python3 -c 'import json,sys;print(json.load(sys.stdin)["misses"])')
  printf '| %s | %.1f | %.1f | %s | %s |\n' "$mode" "$wall" "$(echo "$user + $sys" | bc)" "$misses" "$((after - before))"
done
