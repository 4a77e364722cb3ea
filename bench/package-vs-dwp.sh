#!/usr/bin/env bash
# splitdwarf benchmark: `cached-ninja split package` vs `llvm-dwp` and GNU `dwp` on the same
# set of `.dwo` files.
#
# Input: either DWODIR (a directory of .dwo files) or OBJDIR (a build tree of clang
# `-gsplit-dwarf=single` objects, split first with `cached-ninja split split`).
# GNU dwp is only run when DWARF_VERSION=4 (DESIGN §6: it segfaults on clang's DWARF 5).
# Usage: OBJDIR=/tmp/lg [RUNS=5] [DWARF_VERSION=4] [CN=…] bench/package-vs-dwp.sh
# All tools run pinned to one core (`taskset -c 1`), interleaved; peak RSS from GNU time.
set -euo pipefail
RUNS=${RUNS:-5}
CN=${CN:-${CARGO_TARGET_DIR:-target}/release/cached-ninja}
LLVM_DWP=${LLVM_DWP:-llvm-dwp-14}
[ -x "$CN" ] || { echo "build it first: cargo build --release --bin cached-ninja ($CN)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/package-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -z "${DWODIR:-}" ]; then
  : "${OBJDIR:?set DWODIR or OBJDIR}"
  mkdir "$WORK/in"
  i=0
  while IFS= read -r f; do i=$((i + 1)); cp "$f" "$WORK/in/$i-$(basename "$f")"; done \
    < <(find "$OBJDIR" -name '*.o' | sort)
  "$CN" split split -o "$WORK/split" "$WORK/in"/*.o
  DWODIR=$WORK/split
fi
# Only .dwo files that hold a unit (empty translation units give section-less files).
LIST=$WORK/list
for f in "$DWODIR"/*.dwo; do
  readelf -S "$f" 2> /dev/null | grep -q debug_info.dwo && echo "$f"
done > "$LIST"
N=$(wc -l < "$LIST")
BYTES=$(xargs cat < "$LIST" | wc -c)
xargs cat < "$LIST" > /dev/null
V=${DWARF_VERSION:-$( (llvm-dwarfdump --debug-info "$(head -1 "$LIST")" 2> /dev/null || true) | grep -o 'version = 0x000[45]' | head -1 | tail -c 2)}

# run NAME cmd…: appends "ms rss_kb" to $WORK/NAME.
run() {
  local name=$1; shift
  rm -f "$WORK/out.dwp"
  local s; s=$(date +%s%N)
  /usr/bin/time -f %M -o "$WORK/rss" taskset -c 1 "$@" > /dev/null
  echo "$((($(date +%s%N) - s) / 1000000)) $(cat "$WORK/rss")" >> "$WORK/$name"
  cp "$WORK/out.dwp" "$WORK/$name.dwp"
}
for r in $(seq "$RUNS"); do
  run llvm-dwp "$LLVM_DWP" -o "$WORK/out.dwp" $(cat "$LIST")
  RAYON_NUM_THREADS=1 run ours "$CN" split package -o "$WORK/out.dwp" $(cat "$LIST")
  if [ "$V" = 4 ]; then run gnu-dwp dwp -o "$WORK/out.dwp" $(cat "$LIST"); fi
done
llvm-dwarfdump --verify "$WORK/ours.dwp" | tail -1

median() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
echo "inputs: $N .dwo files (DWARF $V), $BYTES bytes; $RUNS interleaved runs, one core; load $(cut -d' ' -f1-3 /proc/loadavg)"
for t in ours llvm-dwp gnu-dwp; do
  [ -f "$WORK/$t" ] || continue
  printf '%-9s median %6d ms   peak RSS %7d KB   output %10d bytes   (raw ms: %s)\n' "$t" \
    "$(cut -d' ' -f1 "$WORK/$t" | median)" "$(cut -d' ' -f2 "$WORK/$t" | median)" \
    "$(stat -c %s "$WORK/$t.dwp")" "$(cut -d' ' -f1 "$WORK/$t" | tr '\n' ' ')"
done
