#!/usr/bin/env bash
# The lookup records a launcher writes: libgit2 (CMake, Debug, zero-setup launcher) built at
# one path (WORK/src, copied once and kept; the object directory and the cache made afresh),
# then the cache's memo/ copied to OUT. Two launchers' OUT directories compare with
# bench/compare-records.py: a change to how the records are made must leave what they record
# the same.
#
# Usage: WORK=/tmp/records bash bench/lookup-records.sh A/cached-ninja OUT
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: bash bench/lookup-records.sh launcher out-dir" >&2; exit 2; }
WORK=${WORK:-/tmp/cn-lookup-records}
SRC=$(bash tests/support/third-party-src.sh libgit2)
[ -d "$WORK/src" ] || { mkdir -p "$WORK" && cp -a "$SRC" "$WORK/src"; }
rm -rf "$WORK/obj" "$WORK/cache" && mkdir -p "$WORK/obj"
cd "$WORK/obj"
cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF "-DCMAKE_C_COMPILER_LAUNCHER=$1" \
  "$WORK/src" >cmake.log 2>&1
CACHED_NINJA_CACHE_DIR=$WORK/cache ninja -j2 >build.log 2>&1
rm -rf "$2" && cp -a "$WORK/cache/memo" "$2"
echo "[lookup-records] $(find "$2" -type f | wc -l) memos in $2" >&2
