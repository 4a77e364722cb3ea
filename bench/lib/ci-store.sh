# Shared by bench scripts that publish a third-party CMake project from "CI" to a WebDAV store
# (sourced, not run): the nginx store on loopback and CI's configure, build and publish. Needs
# REPO, WORK, CN and log() from the caller.
#
# PROJECT (default libgit2) picks the project, from tests/support/third-party-src.sh:
#   libgit2   libgit2 1.9.1, C: CLI on, tests off, bundled zlib; links `git2`, `libgit2.so.*`
#   harfbuzz  harfbuzz (harfbuzz-sys 0.6.1), C++: the library only (CMake builds it from the
#             amalgamated `src/harfbuzz.cc`), shared, subset off; links `libharfbuzz.so*`.
#             CI's copy has its 64 `#include "../…"` lines rewritten to name the header from
#             `src/` (the same file, found through `-I src`): publish refuses a record whose
#             include list names a path with a `..` component (`@src/src/OT/Layout/GDEF/
#             ../../../hb.hh`), and without it the one compile is never published.
# Both Debug (`-g`). Sets CMAKE_ARGS and LINKED (name patterns of the linked binaries).

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx missing: apt-get install nginx-light" >&2; exit 1; }
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.org GIT_COMMITTER_NAME=ci \
  GIT_COMMITTER_EMAIL=ci@example.org GIT_CONFIG_NOSYSTEM=1
PROJECT=${PROJECT:-libgit2}
case "$PROJECT" in
  libgit2)
    CMAKE_ARGS=(-DBUILD_TESTS=OFF -DBUILD_CLI=ON -DUSE_SSH=OFF -DUSE_HTTPS=OFF -DUSE_GSSAPI=OFF
      -DUSE_BUNDLED_ZLIB=ON -DCMAKE_BUILD_TYPE=Debug)
    LINKED=(git2 'libgit2.so.*') ;;
  harfbuzz)
    CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Debug -DBUILD_SHARED_LIBS=ON -DHB_BUILD_SUBSET=OFF)
    LINKED=('libharfbuzz.so*') ;;
  *) echo "PROJECT=$PROJECT: libgit2 or harfbuzz" >&2; exit 2 ;;
esac

# SINGLE=1 in the caller's environment: clang with `-gsplit-dwarf=single -gdwarf-4` (one file
# per compile, split by the launcher) instead of the default compiler with the policy's split.
single_split_args() {
  CMAKE_ARGS+=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
    "-DCMAKE_C_FLAGS=-gsplit-dwarf=single -gdwarf-4" "-DCMAKE_CXX_FLAGS=-gsplit-dwarf=single -gdwarf-4")
}

# The newest mtime (seconds) of the linked binaries directly in the object directory $1.
last_link_in() {
  local pats=() p
  for p in "${LINKED[@]}"; do pats+=(-o -name "$p"); done
  find "$1" -maxdepth 1 -type f \( "${pats[@]:1}" \) -printf '%T@\n' | sort -n | tail -1
}

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

# harfbuzz: each `#include "../x"` or `"./x"` under $1/src rewritten to name x from $1/src.
flatten_relative_includes() {
  python3 - "$1/src" <<'PY'
import os, re, sys
top = sys.argv[1]
inc = re.compile(r'^(\s*#\s*include\s*")(\.\.?/[^"]+)(")', re.M)
for d, _, names in os.walk(top):
    for n in names:
        if not n.endswith((".hh", ".cc", ".h")):
            continue
        p = os.path.join(d, n)
        text = open(p, encoding="utf-8").read()
        def fix(m):
            target = os.path.normpath(os.path.join(d, m.group(2)))
            assert os.path.isfile(target), (p, m.group(2))
            return m.group(1) + os.path.relpath(target, top) + m.group(3)
        new = inc.sub(fix, text)
        if new != text:
            open(p, "w", encoding="utf-8").write(new)
PY
}

# CI: $PROJECT committed in $WORK/ci/src, configured in $WORK/ci/obj with split DWARF, built
# and published to the store at URL $1 with a new publisher key ($WORK/ci.key, .pub).
ci_publish() {
  rm -f "$WORK/ci.key" "$WORK/ci.pub"
  "$CN" key generate --out "$WORK/ci.key" > "$WORK/ci.pub"
  rm -rf "$WORK/ci" && mkdir -p "$WORK/ci"
  cp -r "$(bash "$REPO/tests/support/third-party-src.sh" "$PROJECT")" "$WORK/ci/src"
  if [ "$PROJECT" = harfbuzz ]; then flatten_relative_includes "$WORK/ci/src"; fi
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
