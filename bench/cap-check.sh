#!/usr/bin/env bash
# What the launchers' size-cap check costs in a large cache: cold libgit2 builds (CMake, Debug,
# zero-setup launcher, -j2) whose cache already holds FILES files of browser-scale shape
# (2/9 blobs, 1/9 entries, 1/9 manifests, 5/9 memos; 100 bytes each, never asked for), one build
# per launcher binary per round, the binaries' order reversed every other round. Each build
# has its own `-DCN_CAP_ROUND=…` so every compile misses. Prints wall and CPU seconds of the
# build and the launchers' own CPU (the stats lines' self-CPU, summed).
#
# Usage: ROUNDS=2 FILES=360000 WORK=/tmp/cap-check bash bench/cap-check.sh A/cached-ninja B/cached-ninja …
set -euo pipefail
# shellcheck source=bench/lib/rounds.sh
source "$(dirname "$0")/lib/rounds.sh"
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
FILES=${FILES:-360000}
WORK=${WORK:-$(mktemp -d /tmp/cn-cap-check-XXXXXX)}
[ $# -ge 1 ] || { echo "usage: bash bench/cap-check.sh launcher…" >&2; exit 2; }
SRC=$(bash tests/support/third-party-src.sh libgit2)
CACHE=$WORK/cache
if [ ! -d "$CACHE/memo" ]; then
  echo "[cap-check] filling $CACHE with $FILES files" >&2
  python3 - "$CACHE" "$FILES" <<'PY'
import hashlib, os, sys
root, n = sys.argv[1], int(sys.argv[2])
for kind, share in [("cas", 2), ("ac", 1), ("mf", 1), ("memo", 5)]:
    for i in range(n * share // 9):
        h = hashlib.sha256(f"{kind}{i}".encode()).hexdigest()
        d = f"{root}/{kind}" if kind == "memo" else f"{root}/{kind}/{h[:2]}"
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/{h}", "w") as f:
            f.write("x" * 100)
PY
fi
echo "| round | launcher | wall (s) | CPU (s) | launchers' CPU in all (s) |"
echo "|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  round_order "$r" "$@"
  i=0
  for b in "${order[@]}"; do
    i=$((i + 1))
    d=$WORK/build-$r-$i
    rm -rf "$d"; mkdir -p "$d"
    (cd "$d" && cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF \
      "-DCMAKE_C_FLAGS=-DCN_CAP_ROUND=$r-$i" "-DCMAKE_C_COMPILER_LAUNCHER=$b" "$SRC" >cmake.log 2>&1)
    (cd "$d" && CACHED_NINJA_CACHE_DIR=$CACHE /usr/bin/time -f "%e %U %S" -o time.txt \
      ninja -j2 >build.log 2>&1)
    launch=$(awk '{s+=$4} END{printf "%.2f", s/1e6}' "$d/.cached-ninja/stats")
    read -r wall user sys <"$d/time.txt"
    echo "| $r | $b | $wall | $(echo "$user + $sys" | bc) | $launch |"
  done
done
