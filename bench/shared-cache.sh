#!/usr/bin/env bash
# Sharing a cache (issue 16): two `cached-ninja fetch`es of two object directories at once into
# one empty local cache, against one alone; blob GETs counted from nginx's access log, wall time.
# Each runs with this change ($CN) and without it ($BASE_CN, a binary from before it), so the
# single pull also shows what the claims and the partial files cost.
#
# Project: $N generated C sources, each with a 64 000-byte table of pseudo-random bytes (blobs
# of about 70 KB, above the 16 KiB partial-file threshold), -g, CMake + Ninja, built and
# published by "CI" to a real nginx (WebDAV) on loopback serving at $RATE per connection. The
# developer's checkout is one commit ahead with two object directories. Every run starts from
# an empty local cache. Rounds are interleaved, the order of the modes rotating each round.
#
# Usage: CN=… BASE_CN=… bash bench/shared-cache.sh [WORK_DIR]   (table on stdout)
#   env: N=60 sources, ROUNDS=5, RATE=1m (nginx limit_rate)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-60}
ROUNDS=${ROUNDS:-5}
RATE=${RATE:-1m}
WORK=${1:-$(mktemp -d /tmp/cn-shared-bench-XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { echo "[bench] $*" >&2; }
: "${CN:?set CN to the cached-ninja of this change}" "${BASE_CN:?set BASE_CN to a cached-ninja from before it}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.org GIT_COMMITTER_NAME=ci \
  GIT_COMMITTER_EMAIL=ci@example.org GIT_CONFIG_NOSYSTEM=1 HOME=$WORK
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now() { date +%s.%N; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

SRC=$WORK/ci/src
rm -rf "$WORK/ci" "$WORK/dev" "$WORK/nginx" "$WORK/ci.key" "$WORK/ci.pub"
mkdir -p "$SRC"
{
  echo 'cmake_minimum_required(VERSION 3.16)'
  echo 'project(big C)'
  printf 'add_executable(app main.c'
  for i in $(seq 1 "$N"); do printf ' t%d.c' "$i"; done
  echo ')'
} > "$SRC/CMakeLists.txt"
python3 - "$SRC" "$N" <<'EOF'
import random, sys
src, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(16)
for i in range(1, n + 1):
    table = ",".join(str(rng.randrange(256)) for _ in range(64000))
    with open(f"{src}/t{i}.c", "w") as f:
        f.write(f"const unsigned char t{i}[] = {{{table}}};\nint f{i}(int k) {{ return t{i}[k]; }}\n")
with open(f"{src}/main.c", "w") as f:
    f.write("".join(f"int f{i}(int);\n" for i in range(1, n + 1)))
    f.write("int main(int argc, char **argv) { (void)argv; return 0"
            + "".join(f" + f{i}(argc)" for i in range(1, n + 1)) + "; }\n")
EOF
git -C "$SRC" init -q && git -C "$SRC" add -A && git -C "$SRC" commit -qm ci

NG=$WORK/nginx; mkdir -p "$NG/www"
NPORT=$(free_port)
cat > "$NG/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 256; }
http { log_format main '\$request_method \$uri \$status'; access_log $NG/access.log main;
  client_body_temp_path $NG/body; proxy_temp_path $NG/proxy;
  fastcgi_temp_path $NG/fastcgi; default_type application/octet-stream;
  server { listen 127.0.0.1:$NPORT;
    location / { root $NG/www; dav_methods PUT; create_full_put_path on; client_max_body_size 0;
      limit_rate $RATE; } } }
EOF
"$NGINX" -p "$NG" -e "$NG/error.log" -c "$NG/nginx.conf" & PIDS+=($!)
sleep 0.5

"$CN" key generate --out "$WORK/ci.key" > "$WORK/ci.pub"
PUB=$(cat "$WORK/ci.pub")
URL="http://127.0.0.1:$NPORT/cn"
CACHED_NINJA_CACHE_DIR=$WORK/ci/cache "$CN" configure --enable-build-backend=cached-ninja \
  --objdir "$WORK/ci/obj" -- cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -S "$SRC" -B "$WORK/ci/obj" >/dev/null
log "CI: build and publish ($N sources)"
CACHED_NINJA_CACHE_DIR=$WORK/ci/cache "$CN" build --no-fetch --no-fill --publish --store "$URL" \
  --key "$WORK/ci.key" -C "$WORK/ci/obj" > /dev/null 2> "$WORK/ci.log"

git clone -q "$SRC" "$WORK/dev/src"
echo local > "$WORK/dev/src/NOTES"; git -C "$WORK/dev/src" add NOTES; git -C "$WORK/dev/src" commit -qm local
for o in a b; do
  obj=$WORK/dev/obj-$o
  CACHED_NINJA_CACHE_DIR=$WORK/dev/cache "$CN" configure --enable-build-backend=cached-ninja \
    --objdir "$obj" -- cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -S "$WORK/dev/src" -B "$obj" >/dev/null
  printf '[[store]]\nurl = "%s"\n[trust]\npublishers = ["%s"]\n' "$URL" "$PUB" > "$obj/cached-ninja.toml"
done

blob_gets() { grep -c '^GET .*/cas/' "$NG/access.log" || true; }
RESULTS=$WORK/results.txt; : > "$RESULTS"
# run MODE ROUND: one timed run from an empty cache; appends "round mode seconds blob-GETs".
run() {
  local mode=$1 round=$2 bin=$CN
  case $mode in *-base) bin=$BASE_CN ;; esac
  rm -rf "$WORK/dev/cache"
  local g0 t0 t1
  g0=$(blob_gets); t0=$(now)
  case $mode in
    one-*) CACHED_NINJA_CACHE_DIR=$WORK/dev/cache "$bin" fetch -C "$WORK/dev/obj-a" >/dev/null 2>"$WORK/last-$mode.log" ;;
    two-*) CACHED_NINJA_CACHE_DIR=$WORK/dev/cache "$bin" fetch -C "$WORK/dev/obj-a" >/dev/null 2>"$WORK/last-$mode-a.log" &
           local p=$!
           CACHED_NINJA_CACHE_DIR=$WORK/dev/cache "$bin" fetch -C "$WORK/dev/obj-b" >/dev/null 2>"$WORK/last-$mode-b.log"
           wait "$p" ;;
  esac
  t1=$(now)
  sleep 0.2 # nginx logs a request just after answering it
  echo "$round $mode $(awk "BEGIN{print $t1 - $t0}") $(( $(blob_gets) - g0 ))" >> "$RESULTS"
}
MODES=(one-new one-base two-new two-base)
for r in $(seq 1 "$ROUNDS"); do
  log "round $r"
  for k in 0 1 2 3; do run "${MODES[$(( (k + r) % 4 ))]}" "$r"; done
done

echo "| mode | wall, median (s) | wall, all rounds (s) | blob GETs per run |"
echo "|---|---|---|---|"
for m in "${MODES[@]}"; do
  times=$(awk -v m="$m" '$2 == m { print $3 }' "$RESULTS" | sort -n | tr '\n' ' ')
  gets=$(awk -v m="$m" '$2 == m { printf " %s", $4 }' "$RESULTS")
  echo "$times" | awk -v m="$m" -v g="$gets" '{ med = (NF % 2) ? $((NF + 1) / 2) : ($(NF / 2) + $(NF / 2 + 1)) / 2;
    a = ""; for (i = 1; i <= NF; i++) a = a sprintf(" %.2f", $i);
    printf "| %s | %.2f |%s |%s |\n", m, med, a, g }'
done
