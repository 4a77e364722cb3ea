#!/usr/bin/env bash
# Remote stores (issue 6): upload and download throughput of the libgit2 build's blobs to and
# from nginx (WebDAV PUT) and s3s-fs (S3), both on loopback, for
#   ours       `cached-ninja publish` (HEAD per blob, zstd level 3, PUT; entries; manifest) and
#              `cached-ninja fetch` (manifest, entries, GET + zstd decode + BLAKE3 check per blob,
#              write into the local cache), -j$JOBS;
#   reference  a bulk copy of the same blob files with the usual tools, same parallelism:
#              nginx: `xargs -P$JOBS -n16` running `curl -sS --fail -T f URL/f …` (upload) and
#              `curl -sS --fail -o f URL/f …` (download): one curl per 16 files, reusing one
#              connection for its 16 transfers;
#              S3: `aws s3 cp --recursive` up and down, max_concurrent_requests = $JOBS (an
#              isolated AWS_CONFIG_FILE), `--endpoint-url` the loopback server.
#
# The blob files: the uncompressed blobs of the build exported from the CI cache
# (`$CACHED_NINJA_CACHE_DIR/cas/ab/<hash>`, all of them: the cache is fresh and holds only this
# build), copied flat to $WORK/blobs/<hash>. Their count is checked against publish's summary.
# MB/s is payload (sum of the uncompressed blob sizes) / wall time for both sides; ours puts
# zstd frames on the wire (plus action entries and the manifest), the bytes of which are
# reported separately (the size of what the store holds under the prefix).
#
# Setup, once per work dir (kept if the script runs again on the same dir): copy libgit2 (via
# tests/support/third-party-src.sh), git init + commit, configure with
# `cached-ninja configure --enable-build-backend=cached-ninja`, `cached-ninja build --no-fetch`
# into its own cache. Then RUNS rounds; in each, per store, interleaved: ours up, reference
# up, ours down, reference down, each into a fresh prefix / empty directory / empty cache
# (ours down: a fresh developer object directory configured on a clone at another path, with a
# policy trusting the key). Timing: /usr/bin/time (wall, user+sys of the client and its
# children); the server's CPU from /proc/<pid>/stat before and after.
#
# Usage: bash bench/store-throughput.sh [WORK_DIR]    (table on stdout, progress on stderr)
#   env: RUNS=3, JOBS=8, CN=path/to/cached-ninja (default: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RUNS=${RUNS:-3}
JOBS=${JOBS:-8}
WORK=${1:-$(mktemp -d /tmp/cn-store-bench-XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { echo "[bench] $*" >&2; }

if [ -z "${CN:-}" ]; then
  cargo build --release --quiet --bin cached-ninja
  CN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/cached-ninja"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx missing: apt-get install nginx-light" >&2; exit 1; }
S3S=""
for c in "${CACHED_NINJA_S3S_FS:-}" "$(command -v s3s-fs || true)" /opt/s3s-fs/bin/s3s-fs /work/s3s/root/bin/s3s-fs; do
  [ -n "$c" ] && [ -x "$c" ] && { S3S=$c; break; }
done
[ -n "$S3S" ] || { echo "s3s-fs missing: cargo install s3s-fs@0.14.1 --locked --features binary --root /opt/s3s-fs" >&2; exit 1; }
# The real aws script, not the pyenv shim (a shell wrapper); else a venv under the work dir.
AWS=$( (pyenv which aws 2>/dev/null) || command -v aws || true)
if [ -z "$AWS" ] || ! "$AWS" --version >/dev/null 2>&1; then
  [ -x "$WORK/venv/bin/aws" ] || { python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q awscli; }
  AWS=$WORK/venv/bin/aws
fi

export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.org GIT_COMMITTER_NAME=ci \
  GIT_COMMITTER_EMAIL=ci@example.org GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
BUCKET=cn-bench
export AWS_ACCESS_KEY_ID=cached-ninja-bench AWS_SECRET_ACCESS_KEY=cached-ninja-bench-secret \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$WORK/aws/config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws/credentials
CMAKE_ARGS=(-G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF -DBUILD_CLI=OFF)

configure() { # src obj cache
  CACHED_NINJA_CACHE_DIR=$3 "$CN" configure --enable-build-backend=cached-ninja --objdir "$2" \
    -- cmake "${CMAKE_ARGS[@]}" -S "$1" -B "$2" >"$2.configure.log" 2>&1
}

# --- setup: the CI build ------------------------------------------------------------------
CI=$WORK/ci
if [ ! -f "$CI/built" ]; then
  rm -rf "$CI"; mkdir -p "$CI"
  cp -r "$(bash tests/support/third-party-src.sh libgit2)" "$CI/libgit2"
  (cd "$CI/libgit2" && git init -q && git add -A && git commit -qm ci)
  "$CN" key generate --out "$CI/ci.key" >"$CI/ci.pub"
  log "CI: configure and build libgit2 (cold, its own cache)"
  configure "$CI/libgit2" "$CI/obj" "$CI/cache"
  CACHED_NINJA_CACHE_DIR=$CI/cache "$CN" build --no-fetch -C "$CI/obj" >"$CI/build.log" 2>&1
  rm -rf "$WORK/blobs"; mkdir -p "$WORK/blobs"
  find "$CI/cache/cas" -type f -exec cp -t "$WORK/blobs" {} +
  touch "$CI/built"
fi
REV=$(git -C "$CI/libgit2" rev-parse HEAD)
PUBLIC=$(cat "$CI/ci.pub")
NBLOBS=$(find "$WORK/blobs" -type f | wc -l)
PAYLOAD=$(find "$WORK/blobs" -type f -printf '%s\n' | awk '{s+=$1} END{print s}')
log "$NBLOBS blobs, $PAYLOAD bytes uncompressed; revision $REV"
[ -d "$WORK/dev/libgit2" ] || { mkdir -p "$WORK/dev"; git clone -q "$CI/libgit2" "$WORK/dev/libgit2"; }

# --- servers --------------------------------------------------------------------------------
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_port() { # port pid name
  for _ in $(seq 500); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 exited at start" >&2; return 1; }
    sleep 0.02
  done
  echo "$3 did not listen on $1" >&2; return 1
}
N=$WORK/nginx; rm -rf "$N"; mkdir -p "$N/www"
NPORT=$(free_port)
cat >"$N/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $N/body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$NPORT;
        location / {
            root $N/www;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }
    }
}
EOF
"$NGINX" -p "$N" -e "$N/error.log" -c "$N/nginx.conf" </dev/null & PIDS+=($!); NGINX_PID=$!
wait_port "$NPORT" "$NGINX_PID" nginx
S=$WORK/s3; rm -rf "$S"; mkdir -p "$S/data/$BUCKET"
SPORT=$(free_port)
RUST_LOG=warn "$S3S" --host 127.0.0.1 --port "$SPORT" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" "$S/data" </dev/null >"$S/s3s-fs.log" 2>&1 & PIDS+=($!); S3_PID=$!
wait_port "$SPORT" "$S3_PID" s3s-fs
ENDPOINT=http://127.0.0.1:$SPORT
export AWS_ENDPOINT_URL=$ENDPOINT  # for cached-ninja's --store s3://… (no policy endpoint)
mkdir -p "$WORK/aws"; : >"$AWS_CONFIG_FILE"; : >"$AWS_SHARED_CREDENTIALS_FILE"
"$AWS" configure set default.s3.max_concurrent_requests "$JOBS"
"$AWS" configure set default.region us-east-1
log "nginx :$NPORT, s3s-fs :$SPORT ($S3S), aws $("$AWS" --version 2>&1 | cut -d' ' -f1), curl $(curl --version | head -1 | cut -d' ' -f2)"

# --- measurement helpers ----------------------------------------------------------------------
RESULTS=$WORK/results.tsv; : >"$RESULTS"
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
server_pid() { [ "$1" = nginx ] && echo "$NGINX_PID" || echo "$S3_PID"; }
store_dir() { [ "$1" = nginx ] && echo "$N/www" || echo "$S/data/$BUCKET"; }
tree_bytes() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END{print s+0}'; }
# "<bytes of blobs> <bytes in all>" of a prefix (ours: cas/ zstd frames; ac/ and builds/ the rest)
wire() { if [ -d "$1/cas" ]; then echo "$(tree_bytes "$1/cas") $(tree_bytes "$1")"; else local b; b=$(tree_bytes "$1"); echo "$b $b"; fi; }

# timed STORE DIR SIDE WIRE_BYTES_CMD -- cmd…: runs cmd under /usr/bin/time, records a row
timed() {
  local store=$1 dir=$2 side=$3 run=$4; shift 5
  local pid t0 t1 tf=$WORK/time.txt
  pid=$(server_pid "$store"); t0=$(cpu_ticks "$pid")
  /usr/bin/time -f "%e %U %S" -o "$tf" "$@" >"$WORK/last.out" 2>"$WORK/last.err" \
    || { cat "$WORK/last.err" >&2; echo "failed: $*" >&2; exit 1; }
  t1=$(cpu_ticks "$pid")
  LAST_TIME=$(tail -1 "$tf"); LAST_SERVER=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/hz}')
}
record() { # store dir side run wire extra
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$LAST_TIME" "$LAST_SERVER" "$5" "$6" >>"$RESULTS"
  log "$1 $2 $3 #$4: wall/user/sys $LAST_TIME server ${LAST_SERVER}s wire $5 $6"
}
url_of() { [ "$1" = nginx ] && echo "http://127.0.0.1:$NPORT/$2" || echo "s3://$BUCKET/$2"; }

ours_up() { # store run
  local p=ours-$2 url; url=$(url_of "$1" "$p")
  timed "$1" up ours "$2" -- env CACHED_NINJA_CACHE_DIR="$CI/cache" "$CN" publish -C "$CI/obj" \
    --store "$url" --key "$CI/ci.key" --rev "$REV" --config bench -j "$JOBS"
  local summary; summary=$(grep 'cached-ninja publish:' "$WORK/last.err" | tail -1)
  local nb; nb=$(sed -n 's/.* edges, \([0-9]*\) blobs.*/\1/p' <<<"$summary")
  [ "$nb" = "$NBLOBS" ] || { echo "publish named $nb blobs, the cache holds $NBLOBS: $summary" >&2; exit 1; }
  record "$1" up ours "$2" "$(wire "$(store_dir "$1")/$p")" "$summary"
}
ref_up() {
  local p=ref-$2
  if [ "$1" = nginx ]; then
    timed nginx up ref "$2" -- bash -c 'cd "$1" && ls | xargs -P"$2" -n16 bash -c '\''u=$0; a=(); for f; do a+=(-T "$f" "$u/$f"); done; exec curl -sS --fail "${a[@]}"'\'' "$3"' \
      _ "$WORK/blobs" "$JOBS" "http://127.0.0.1:$NPORT/$p/cas"
  else
    timed s3 up ref "$2" -- "$AWS" s3 cp --recursive --quiet --endpoint-url "$ENDPOINT" "$WORK/blobs" "s3://$BUCKET/$p/cas/"
  fi
  local n; n=$(find "$(store_dir "$1")/$p" -type f | wc -l)
  [ "$n" = "$NBLOBS" ] || { echo "reference upload stored $n of $NBLOBS files" >&2; exit 1; }
  record "$1" up ref "$2" "$(wire "$(store_dir "$1")/$p")" ""
}
ours_down() {
  local p=ours-$2 d=$WORK/dev/$1-$2; rm -rf "$d"; mkdir -p "$d"
  configure "$WORK/dev/libgit2" "$d/obj" "$d/cache"
  printf '[trust]\npublishers = ["%s"]\n[fetch]\nconfig = "bench"\n' "$PUBLIC" >"$d/obj/cached-ninja.toml"
  timed "$1" down ours "$2" -- env CACHED_NINJA_CACHE_DIR="$d/cache" "$CN" fetch -C "$d/obj" \
    --store "$(url_of "$1" "$p")" -j "$JOBS"
  local summary; summary=$(grep 'entries fetched' "$WORK/last.err" | tail -1)
  local n; n=$(find "$d/cache/cas" -type f | wc -l)
  [ "$n" = "$NBLOBS" ] || { echo "fetch left $n of $NBLOBS blobs: $summary" >&2; exit 1; }
  record "$1" down ours "$2" "$(wire "$(store_dir "$1")/$p")" "$summary"
}
ref_down() {
  local p=ref-$2 d=$WORK/dl/$1-$2; rm -rf "$d"; mkdir -p "$d"
  if [ "$1" = nginx ]; then
    timed nginx down ref "$2" -- bash -c 'cd "$1" && ls | (cd "$3" && xargs -P"$2" -n16 bash -c '\''u=$0; a=(); for f; do a+=(-o "$f" "$u/$f"); done; exec curl -sS --fail "${a[@]}"'\'' "$4")' \
      _ "$WORK/blobs" "$JOBS" "$d" "http://127.0.0.1:$NPORT/$p/cas"
  else
    timed s3 down ref "$2" -- "$AWS" s3 cp --recursive --quiet --endpoint-url "$ENDPOINT" "s3://$BUCKET/$p/cas/" "$d"
  fi
  local n; n=$(find "$d" -type f | wc -l)
  [ "$n" = "$NBLOBS" ] || { echo "reference download got $n of $NBLOBS files" >&2; exit 1; }
  record "$1" down ref "$2" "$(wire "$d")" ""
}

log "work dir $WORK; $(nproc) cores; -j$JOBS; $RUNS rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
  for store in nginx s3; do
    ours_up "$store" "$run"; ref_up "$store" "$run"
    ours_down "$store" "$run"; ref_down "$store" "$run"
  done
done
log "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
# Removed only now: mass deletions between measurements slow ext4's inode allocation for the
# next one (the kernel skips recently deleted inodes), which hits the side creating more files.
rm -rf "$WORK"/dev/nginx-* "$WORK"/dev/s3-* "$WORK/dl"

python3 - "$RESULTS" "$PAYLOAD" "$NBLOBS" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
payload, nblobs = int(sys.argv[2]), int(sys.argv[3])
MB = 1e6
def pick(store, d, side):
    rs = [r for r in rows if r[0] == store and r[1] == d and r[2] == side]
    out = []
    for r in rs:
        wall, u, s = map(float, r[4].split())
        blobs, total = map(int, r[6].split())
        out.append(dict(wall=wall, cpu=u + s, server=float(r[5]), blobs=blobs, wire=total, mbs=payload / MB / wall))
    return out
print(f"payload: {nblobs} blobs, {payload / MB:.1f} MB uncompressed; MB/s = payload / wall for both sides")
print()
print("| store | direction | ours MB/s, median (range) | reference MB/s, median (range) | ratio ours/ref, median (per round) | ours wall s | ref wall s | client CPU s ours / ref | server CPU s ours / ref | on the wire MB: ours blobs + entries & manifest / ref |")
print("|---|---|---|---|---|---|---|---|---|---|")
for store in ("nginx", "s3"):
    for d in ("up", "down"):
        o, r = pick(store, d, "ours"), pick(store, d, "ref")
        if not o or not r: continue
        med = lambda xs, k: statistics.median(x[k] for x in xs)
        rng = lambda xs: f"{min(x['mbs'] for x in xs):.1f}–{max(x['mbs'] for x in xs):.1f}"
        ratios = [a["mbs"] / b["mbs"] for a, b in zip(o, r)]
        print(f"| {store} | {d} | {med(o,'mbs'):.1f} ({rng(o)}) | {med(r,'mbs'):.1f} ({rng(r)}) | "
              f"{statistics.median(ratios):.2f} ({', '.join(f'{x:.2f}' for x in ratios)}) | "
              f"{med(o,'wall'):.2f} | {med(r,'wall'):.2f} | {med(o,'cpu'):.2f} / {med(r,'cpu'):.2f} | "
              f"{med(o,'server'):.2f} / {med(r,'server'):.2f} | {med(o,'blobs')/MB:.1f} + {(med(o,'wire')-med(o,'blobs'))/MB:.1f} / {med(r,'wire')/MB:.1f} |")
EOF
