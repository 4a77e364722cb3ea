#!/usr/bin/env bash
# Scale simulation of the pull (issue 15): a synthetic build manifest of RECORDS records whose
# objects are a real project's (`wire_scale gen`: the `*.o` under OBJECTS_DIR in turn, so sizes
# and compressibility are real), served by nginx on one end of a veth pair and pulled from a
# network namespace at the other end: RATE of bandwidth (`tc tbf` on the host's end) and RTT_MS
# of round trip (`wire_scale delay`, a delay line in front of nginx: this kernel has no
# `netem`; so TCP's own window growth over a long link is not reproduced, only the wait). Prints the manifest's size and its sign + verify
# + parse time, then one pull per JOBS value (requests in flight) over HTTP/1.1 keep-alive and
# over HTTP/2 in clear text (one connection), each against the floor wire bytes / bandwidth.
#
# Usage (root: it creates a network namespace):
#   bash bench/wire-scale.sh OBJECTS_DIR [RECORDS] [WORK_DIR]
#   env: RTT_MS (20), RATE (400mbit = 50 MB/s), JOBS ("16 64 128 256"), PROTOS ("http1 h2"),
#        WIRE_SCALE (path of the wire_scale binary; default: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
OBJS=$(cd "$1" && pwd)
RECORDS=${2:-40000}
WORK=${3:-/dev/shm/cn-wire-scale}
RTT_MS=${RTT_MS:-20}
RATE=${RATE:-400mbit}
JOBS=${JOBS:-16 64 128 256}
PROTOS=${PROTOS:-http1 h2}
if [ -z "${WIRE_SCALE:-}" ]; then
  cargo build --quiet --release -p bench --bin wire_scale
  WIRE_SCALE="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/wire_scale"
fi
log() { echo "[wire-scale] $*" >&2; }
command -v tc >/dev/null || { echo "tc missing: apt-get install iproute2" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
NS=cnwire$$
HOST=10.77.$(($$ % 200)).1
CLIENT=10.77.$(($$ % 200)).2
VETH=cnw$$

mkdir -p "$WORK"
if [ ! -f "$WORK/manifest.txt" ] || [ "$(cat "$WORK/records" 2>/dev/null)" != "$RECORDS" ]; then
  log "generating $RECORDS records from the objects under $OBJS"
  rm -rf "$WORK/www"
  "$WIRE_SCALE" gen "$WORK" "$OBJS" "$RECORDS"
  echo "$RECORDS" > "$WORK/records"
fi
"$WIRE_SCALE" parse "$WORK" 5
python3 - "$WORK/manifest.txt" <<'EOF'
import subprocess, sys
raw = open(sys.argv[1], "rb").read()
z = subprocess.run(["zstd", "-3", "-c"], input=raw, capture_output=True, check=True).stdout
hdr, edge = raw.count(b"\nhdr "), raw.count(b"\nedge ")
print(f"manifest {len(raw)} bytes, zstd -3 {len(z)} bytes; hdr lines {hdr}, edge lines {edge}")
EOF

cleanup() {
  for p in ${NGINX_PID:-} ${PROXY1:-} ${PROXY2:-}; do kill "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  ip link del "$VETH" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "$VETH" type veth peer name "${VETH}p"
ip link set "${VETH}p" netns "$NS"
ip addr add "$HOST/24" dev "$VETH"
ip link set "$VETH" up
ip netns exec "$NS" ip addr add "$CLIENT/24" dev "${VETH}p"
ip netns exec "$NS" ip link set "${VETH}p" up
ip netns exec "$NS" ip link set lo up
# The bandwidth: a token bucket on the host's end (what the client receives).
tc qdisc add dev "$VETH" root tbf rate "$RATE" burst 256kb latency 200ms

PORT=18080
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    http2_max_concurrent_streams 1024;
    default_type application/octet-stream;
    server { listen 127.0.0.1:$PORT; root $WORK/www; }
    server { listen 127.0.0.1:$((PORT + 1)) http2; root $WORK/www; }
}
EOF
"$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
# The round trip: delay lines in front of nginx, on the host's end of the pair.
"$WIRE_SCALE" delay "$HOST:$PORT" "127.0.0.1:$PORT" "$RTT_MS" &
PROXY1=$!
"$WIRE_SCALE" delay "$HOST:$((PORT + 1))" "127.0.0.1:$((PORT + 1))" "$RTT_MS" &
PROXY2=$!
for _ in $(seq 100); do ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null && break; sleep 0.1; done
ip netns exec "$NS" bash -c "time (exec 3<>/dev/tcp/$HOST/$PORT; printf 'GET /cn/records HTTP/1.0\r\n\r\n' >&3; cat <&3 >/dev/null)" 2>&1 | grep real >&2

WIRE=$(cat "$WORK/wire-bytes")
RATE_BPS=$(python3 -c "
r='$RATE'.lower()
units={'kbit':1e3/8,'mbit':1e6/8,'gbit':1e9/8,'bps':1}
print(next(float(r[:-len(u)])*m for u,m in units.items() if r.endswith(u)))")
echo "floor: $WIRE wire bytes / $RATE = $(python3 -c "print(f'{$WIRE / $RATE_BPS:.2f}')") s (RTT $RTT_MS ms)"
for proto in $PROTOS; do
  for jobs in $JOBS; do
    port=$PORT; flag=""
    [ "$proto" = h2 ] && port=$((PORT + 1)) && flag=h2
    out=$(ip netns exec "$NS" "$WIRE_SCALE" pull "$WORK" "http://$HOST:$port/cn" "$jobs" "$WORK/cache" $flag)
    secs=$(echo "$out" | sed -n 's/.* seconds \([0-9.]*\) .*/\1/p')
    echo "$proto jobs $jobs: $out  ratio to floor $(python3 -c "print(f'{$secs / ($WIRE / $RATE_BPS):.2f}')")"
  done
done
rm -rf "$WORK/cache"
