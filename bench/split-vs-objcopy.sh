#!/usr/bin/env bash
# splitdwarf benchmark: `cached-ninja split split` over every object of a real project vs
# `objcopy --extract-dwo` + `objcopy --strip-dwo` per object (the two outputs ours produces).
#
# Input: a build tree of objects compiled with clang `-gsplit-dwarf=single`, e.g. libgit2:
#   cmake -G Ninja -S "$(bash tests/support/third-party-src.sh libgit2)" -B /tmp/lg \
#     -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF -DBUILD_CLI=OFF -DCMAKE_C_COMPILER=clang \
#     -DCMAKE_C_FLAGS=-gsplit-dwarf=single && ninja -C /tmp/lg -j2
# Usage: OBJDIR=/tmp/lg [RUNS=5] [CN=path/to/cached-ninja] bench/split-vs-objcopy.sh
# Runs are interleaved (objcopy, ours, …) so background load hits both alike; the medians
# are printed for one core (`taskset -c 1`, RAYON_NUM_THREADS=1) and for two cores
# (objcopy through `xargs -P2`, ours with two rayon threads).
set -euo pipefail
OBJDIR=${OBJDIR:?set OBJDIR to a build tree of -gsplit-dwarf=single objects}
RUNS=${RUNS:-5}
CN=${CN:-${CARGO_TARGET_DIR:-target}/release/cached-ninja}
[ -x "$CN" ] || { echo "build it first: cargo build --release --bin cached-ninja ($CN)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/split-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/in"
# Flatten (object names repeat across directories) and keep the inputs in the page cache.
i=0
while IFS= read -r f; do
  i=$((i + 1))
  cp "$f" "$WORK/in/$i-$(basename "$f")"
done < <(find "$OBJDIR" -name '*.o' | sort)
N=$(ls "$WORK/in" | wc -l)
BYTES=$(cat "$WORK/in"/*.o | wc -c)
cat "$WORK/in"/*.o > /dev/null

ms() { local s; s=$(date +%s%N); "$@"; echo $((($(date +%s%N) - s) / 1000000)); }
objcopy_one() { # in out-dir
  local b; b=$(basename "$1" .o)
  objcopy --extract-dwo "$1" "$2/$b.dwo" && objcopy --strip-dwo "$1" "$2/$b.o"
}
export -f objcopy_one
objcopy_seq() { rm -rf "$WORK/oc"; mkdir "$WORK/oc"; for f in "$WORK/in"/*.o; do objcopy_one "$f" "$WORK/oc"; done; }
objcopy_par() { rm -rf "$WORK/oc"; mkdir "$WORK/oc"; printf '%s\0' "$WORK/in"/*.o | xargs -0 -P2 -I{} bash -c 'objcopy_one "$1" "$2"' _ {} "$WORK/oc"; }
ours() { rm -rf "$WORK/ours"; RAYON_NUM_THREADS=$1 "$CN" split split -o "$WORK/ours" "$WORK/in"/*.o; }

ALL=$(taskset -pc $$ | sed 's/.*: //')
declare -a OC1 OURS1 OC2 OURS2
for r in $(seq "$RUNS"); do
  taskset -pc 1 $$ > /dev/null # children inherit the one-core mask
  OC1+=("$(ms objcopy_seq)")
  OURS1+=("$(ms ours 1)")
  taskset -pc "$ALL" $$ > /dev/null
  OC2+=("$(ms objcopy_par)")
  OURS2+=("$(ms ours 2)")
done
# Sanity: same number of outputs, and our .dwo files equal objcopy's in size +- the tables.
[ "$(ls "$WORK/ours" | wc -l)" = "$((2 * N))" ] || { echo "missing outputs" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN {printf "%.0f", b / 1e6 / (t / 1000)}'; }
report() { # label objcopy-median ours-median
  printf '%-9s objcopy %6d ms (%4s MB/s)   ours %6d ms (%4s MB/s)   speed-up %.1fx\n' \
    "$1" "$2" "$(mbps "$2")" "$3" "$(mbps "$3")" "$(awk -v a="$2" -v b="$3" 'BEGIN {print a / b}')"
}
echo "inputs: $N objects, $BYTES bytes, from $OBJDIR; $RUNS interleaved runs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw ms: objcopy-1core ${OC1[*]} | ours-1core ${OURS1[*]} | objcopy-2 ${OC2[*]} | ours-2 ${OURS2[*]}"
report "1 core" "$(median "${OC1[@]}")" "$(median "${OURS1[@]}")"
report "2 cores" "$(median "${OC2[@]}")" "$(median "${OURS2[@]}")"
