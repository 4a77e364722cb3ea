#!/usr/bin/env bash
# Parse benchmark: our `backend::ninja::load` against ninja 1.11's own manifest parse, on the
# synthetic manifest of ../shared/bench/synth_manifest.py (200 000 compile edges + 100 links,
# about 36 MB). Results are recorded in BENCHMARKS.md, section "Manifest parse".
#
#   CARGO_TARGET_DIR=/work/target-h3 bench/parse-vs-ninja.sh      # from anywhere
#
# Environment (all optional):
#   RUNS=7          fresh processes per tool (ninja, ours), interleaved; medians are reported
#   EDGES=200000    compile edges of the synthetic manifest; LINKS=100 link edges
#   CORE=0          the core both tools are pinned to (`taskset -c`)
#   HARNESS=PATH    a prebuilt parse_manifest; default: `cargo build --release -p bench`
#   KEEP=1          keep the temporary directory (manifest and raw outputs)
#
# What is compared, and why it is fair:
# - ninja: `ninja -n -d stats gen_stamp` in the manifest's directory. `-d stats` prints the
#   `.ninja parse` metric, the wall time of `Parser::Load` (read the file, lex, parse, evaluate
#   paths and bindings, build the graph), which is what our harness times around one
#   `backend::ninja::load` call. The target `gen_stamp` is a phony with no inputs, so after the
#   load ninja stats two nodes and says "no work to do": the peak RSS of that process is the
#   loaded manifest and nothing else. (`ninja -n -d stats` without a target would stat 400 000
#   files and plan a dry run; `-t targets all`/`-t query` load the same graph, same peak RSS,
#   but tools exit before `-d stats` prints anything.)
# - ours: `parse_manifest -C DIR build.ninja 1` as a fresh process each run, so every load
#   starts from a cold allocator like ninja's; the in-process median over RUNS loads of one
#   process is printed too (warm allocator, for information).
# - Both pinned to the same core, runs interleaved (ninja, ours, ninja, ours…) so that load
#   from other processes on the machine hits both alike; the page cache is warmed first.
# - Peak memory: "Maximum resident set size" of `/usr/bin/time -v` for the same runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
RUNS=${RUNS:-7}
EDGES=${EDGES:-200000}
LINKS=${LINKS:-100}
CORE=${CORE:-0}

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing \`$1\`: apt-get install -y $2" >&2; exit 1; }; }
need ninja ninja-build
need taskset util-linux
need python3 python3
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time: apt-get install -y time" >&2; exit 1; }

if [ -z "${HARNESS:-}" ]; then
  (cd "$root" && cargo build --quiet --release -p bench --bin parse_manifest)
  target_dir=${CARGO_TARGET_DIR:-$root/target}
  case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
  HARNESS="$target_dir/release/parse_manifest"
fi
[ -x "$HARNESS" ] || { echo "harness not found: $HARNESS" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cn-parse-bench.XXXXXX")
if [ -n "${KEEP:-}" ]; then
  echo "keeping $tmp" >&2
else
  trap 'rm -rf "$tmp"' EXIT
fi

python3 "$root/../shared/bench/synth_manifest.py" "$tmp/build.ninja" --edges "$EDGES" --links "$LINKS"
size=$(stat -c %s "$tmp/build.ninja")

# Median of the numbers on stdin, one per line.
median() {
  sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
minimum() { sort -g | head -n1; }
# Peak RSS (KiB) out of a `/usr/bin/time -v` report.
rss_kib() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }

now_ns() { date +%s%N; }
ninja_run() { # $1: run index
  local t0
  t0=$(now_ns)
  (cd "$tmp" && /usr/bin/time -v -o "$tmp/ninja.time.$1" \
    taskset -c "$CORE" ninja -n -d stats gen_stamp >"$tmp/ninja.out.$1" 2>&1) || true
  echo $(( ($(now_ns) - t0) / 1000 )) >"$tmp/ninja.wall.$1"
  awk '/^\.ninja parse/ { print $NF }' "$tmp/ninja.out.$1" | grep . \
    || { echo "no .ninja parse metric from ninja:" >&2; cat "$tmp/ninja.out.$1" >&2; exit 1; }
}
ours_run() { # $1: run index
  local t0
  t0=$(now_ns)
  /usr/bin/time -v -o "$tmp/ours.time.$1" \
    taskset -c "$CORE" "$HARNESS" -C "$tmp" build.ninja 1 >"$tmp/ours.out.$1" 2>&1 || true
  echo $(( ($(now_ns) - t0) / 1000 )) >"$tmp/ours.wall.$1"
  awk '/^iteration 1:/ { print $3 }' "$tmp/ours.out.$1" | grep . \
    || { echo "no time from $HARNESS:" >&2; cat "$tmp/ours.out.$1" >&2; exit 1; }
}

echo "== machine"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) before the runs"
echo "ninja:   $(ninja --version)"
echo "rustc:   $(rustc --version 2>/dev/null || echo unknown)"
echo "harness: $HARNESS"
echo "input:   $EDGES compile edges + $LINKS links, $size bytes; $RUNS runs each, pinned to core $CORE"

# Warm the page cache and both binaries; these runs are not counted.
cat "$tmp/build.ninja" >/dev/null
ninja_run warm >/dev/null
ours_run warm >/dev/null

: >"$tmp/ninja.ms"
: >"$tmp/ours.ms"
for i in $(seq 1 "$RUNS"); do
  ninja_run "$i" >>"$tmp/ninja.ms"
  ours_run "$i" >>"$tmp/ours.ms"
done
for i in $(seq 1 "$RUNS"); do rss_kib "$tmp/ninja.time.$i"; done >"$tmp/ninja.rss"
for i in $(seq 1 "$RUNS"); do rss_kib "$tmp/ours.time.$i"; done >"$tmp/ours.rss"
for i in $(seq 1 "$RUNS"); do awk '{ print $1 / 1000 }' "$tmp/ninja.wall.$i"; done >"$tmp/ninja.wall"
for i in $(seq 1 "$RUNS"); do awk '{ print $1 / 1000 }' "$tmp/ours.wall.$i"; done >"$tmp/ours.wall"

echo
echo "== raw"
echo "ninja .ninja parse (ms): $(tr '\n' ' ' <"$tmp/ninja.ms")"
echo "ours load (ms):          $(tr '\n' ' ' <"$tmp/ours.ms")"
echo "ninja peak RSS (KiB):    $(tr '\n' ' ' <"$tmp/ninja.rss")"
echo "ours peak RSS (KiB):     $(tr '\n' ' ' <"$tmp/ours.rss")"
ninja_nodes=$(awk '/path->node hash load/ { gsub(/\(/, ""); print $5 }' "$tmp/ninja.out.1")
ours_counts=$(awk '/^iteration 1:/ { print "edges " $9 ", nodes " $11 }' "$tmp/ours.out.1")
echo "graph:                   ours $ours_counts; ninja nodes $ninja_nodes"
echo "in-process (one process, $RUNS loads, warm allocator):"
taskset -c "$CORE" "$HARNESS" -C "$tmp" build.ninja "$RUNS" | sed 's/^/  /'

n_med=$(median <"$tmp/ninja.ms")
o_med=$(median <"$tmp/ours.ms")
n_min=$(minimum <"$tmp/ninja.ms")
o_min=$(minimum <"$tmp/ours.ms")
n_rss=$(median <"$tmp/ninja.rss")
o_rss=$(median <"$tmp/ours.rss")
n_wall=$(median <"$tmp/ninja.wall")
o_wall=$(median <"$tmp/ours.wall")

echo
echo "== summary (medians of $RUNS fresh processes; load afterwards: $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v nm="$n_med" -v om="$o_med" -v nn="$n_min" -v on="$o_min" -v nrss="$n_rss" -v orss="$o_rss" \
    -v nw="$n_wall" -v ow="$o_wall" 'BEGIN {
  speed = nm / om; mem = orss / nrss
  printf "| | parse median (ms) | parse min (ms) | process wall (ms) | peak RSS (MiB) |\n"
  printf "|---|---:|---:|---:|---:|\n"
  printf "| ninja 1.11 `.ninja parse` | %.1f | %.1f | %.1f | %.1f |\n", nm, nn, nw, nrss / 1024
  printf "| ours `backend::ninja::load` | %.1f | %.1f | %.1f | %.1f |\n", om, on, ow, orss / 1024
  printf "| ratio | **%.2fx faster** | %.2fx | %.2fx | **%.2fx of ninja** |\n", speed, nn / on, nw / ow, mem
  printf "\ntarget: parse >= 2x faster than ninja: %s (%.2fx); peak memory <= ninja: %s (%.2fx)\n",
    (speed >= 2) ? "MET" : "MISSED", speed, (mem <= 1) ? "MET" : "MISSED", mem
}'
