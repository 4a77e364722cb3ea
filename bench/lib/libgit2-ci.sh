# Shared by bench scripts that publish libgit2 from "CI" to a WebDAV store (sourced, not run):
# the nginx store on loopback and CI's configure, build and publish. Needs REPO, WORK, CN and
# log() from the caller.

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx missing: apt-get install nginx-light" >&2; exit 1; }
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.org GIT_COMMITTER_NAME=ci \
  GIT_COMMITTER_EMAIL=ci@example.org GIT_CONFIG_NOSYSTEM=1
CMAKE_ARGS=(-DBUILD_TESTS=OFF -DBUILD_CLI=ON -DUSE_SSH=OFF -DUSE_HTTPS=OFF -DUSE_GSSAPI=OFF
  -DUSE_BUNDLED_ZLIB=ON -DCMAKE_BUILD_TYPE=Debug)

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; }

# nginx in $WORK/nginx with WebDAV PUT on a free loopback port, logging every request as
# `$msec $request_method $uri $status $body_bytes_sent` to $WORK/nginx/access.log; sets PORT
# and NGINX_PID. $1: worker_connections; $2: more lines for the http block (may be empty).
start_webdav_nginx() {
  rm -rf "$WORK/nginx" && mkdir -p "$WORK/nginx/www"
  PORT=$(free_port)
  cat > "$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections $1; }
http {
    log_format main '\$msec \$request_method \$uri \$status \$body_bytes_sent';
    access_log $WORK/nginx/access.log main;
    client_body_temp_path $WORK/nginx/body;
    default_type application/octet-stream;
$2
    server {
        listen 127.0.0.1:$PORT;
        location / { root $WORK/nginx/www; dav_methods PUT; create_full_put_path on; client_max_body_size 0; }
    }
}
EOF
  "$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" &
  NGINX_PID=$!
}

# CI: libgit2 committed in $WORK/ci/src, configured in $WORK/ci/obj with split DWARF, built
# and published to the store at URL $1 with a new publisher key ($WORK/ci.key, .pub).
ci_publish_libgit2() {
  rm -f "$WORK/ci.key" "$WORK/ci.pub"
  "$CN" key generate --out "$WORK/ci.key" > "$WORK/ci.pub"
  rm -rf "$WORK/ci" && mkdir -p "$WORK/ci"
  cp -r "$(bash "$REPO/tests/support/third-party-src.sh" libgit2)" "$WORK/ci/src"
  cat > "$WORK/ci/src/cached-ninja.toml" <<EOF
split_dwarf = true
[[store]]
url = "$1"
write = true
[trust]
publishers = ["$(cat "$WORK/ci.pub")"]
[publish]
key = "$WORK/ci.key"
EOF
  (cd "$WORK/ci/src" && git init -q && git add -A && git commit -qm ci)
  CACHED_NINJA_CACHE_DIR=$WORK/ci/cache "$CN" configure --enable-build-backend=cached-ninja \
    --objdir "$WORK/ci/obj" -- cmake -G Ninja "${CMAKE_ARGS[@]}" -S "$WORK/ci/src" -B "$WORK/ci/obj" >/dev/null
  CACHED_NINJA_CACHE_DIR=$WORK/ci/cache "$CN" build --publish -C "$WORK/ci/obj" >/dev/null
}
