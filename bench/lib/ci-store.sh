# Shared by bench scripts that publish a third-party project from "CI" to a WebDAV store
# (sourced, not run): the nginx store on loopback, the project's configure through
# `cached-ninja configure` and CI's build and publish. Needs REPO, WORK, CN and log() from the
# caller.
#
# PROJECT (default libgit2) picks the project, from tests/support/third-party-src.sh:
#   libgit2         libgit2 1.9.1, C, CMake: CLI on, tests off, bundled zlib; links `git2`,
#                   `libgit2.so.*`
#   harfbuzz        harfbuzz (harfbuzz-sys 0.6.1), C++, CMake: the library only, built from
#                   the amalgamated `src/harfbuzz.cc` (one compile), shared, subset off; links
#                   `libharfbuzz.so*`.
#   harfbuzz-meson  the same sources through Meson: one compile per `src/*.cc`, gcc,
#                   optional dependencies, tests and utilities off; links
#                   `src/libharfbuzz*.so*` (the library and its subsetter).
#   generated       $N (default 120) generated C sources of a few functions each and a `main`,
#                   CMake; links `app` (small and quick: for timing what is not the compiles).
# All Debug (`-g`). Sets GEN (cmake or meson), GEN_ARGS, LINKED (name patterns of the linked
# binaries) and LINKED_DIR (where they are, below the object directory).

PROJECT=${PROJECT:-libgit2}
LINKED_DIR=.
case "$PROJECT" in
  libgit2)
    GEN=cmake
    GEN_ARGS=(-DBUILD_TESTS=OFF -DBUILD_CLI=ON -DUSE_SSH=OFF -DUSE_HTTPS=OFF -DUSE_GSSAPI=OFF
      -DUSE_BUNDLED_ZLIB=ON -DCMAKE_BUILD_TYPE=Debug)
    LINKED=(git2 'libgit2.so.*') ;;
  harfbuzz)
    GEN=cmake
    GEN_ARGS=(-DCMAKE_BUILD_TYPE=Debug -DBUILD_SHARED_LIBS=ON -DHB_BUILD_SUBSET=OFF)
    LINKED=('libharfbuzz.so*') ;;
  harfbuzz-meson)
    GEN=meson
    GEN_ARGS=(--buildtype=debug -Ddefault_library=shared)
    for o in tests docs glib gobject cairo icu freetype introspection utilities chafa; do
      GEN_ARGS+=("-D$o=disabled")
    done
    LINKED_DIR=src
    LINKED=('libharfbuzz*.so*') ;;
  generated)
    GEN=cmake
    GEN_ARGS=(-DCMAKE_BUILD_TYPE=Debug)
    LINKED=(app) ;;
  *) echo "PROJECT=$PROJECT: libgit2, harfbuzz, harfbuzz-meson or generated" >&2; exit 2 ;;
esac
SOURCE_NAME=${PROJECT%-meson}

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx missing: apt-get install nginx-light" >&2; exit 1; }
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.org GIT_COMMITTER_NAME=ci \
  GIT_COMMITTER_EMAIL=ci@example.org GIT_CONFIG_NOSYSTEM=1

# SINGLE=1 in the caller's environment: clang with `-gsplit-dwarf=single -gdwarf-4` (one file
# per compile, split by the launcher) instead of the default compiler with the policy's split.
single_split_args() {
  [ "$GEN" = cmake ] || { echo "SINGLE=1 is for the CMake projects" >&2; exit 2; }
  GEN_ARGS+=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
    "-DCMAKE_C_FLAGS=-gsplit-dwarf=single -gdwarf-4" "-DCMAKE_CXX_FLAGS=-gsplit-dwarf=single -gdwarf-4")
}

# `cached-ninja configure` of the sources in $1 into the object directory $2 (the caller sets
# CACHED_NINJA_CACHE_DIR). Meson is given the compilers itself, so that it does not put a
# ccache it finds on PATH in front of them.
configure_project() {
  if [ "$GEN" = meson ]; then
    CC=gcc CXX=g++ "$CN" configure --enable-build-backend=cached-ninja --objdir "$2" \
      -- meson setup "${GEN_ARGS[@]}" "$2" "$1" >/dev/null
  else
    "$CN" configure --enable-build-backend=cached-ninja --objdir "$2" \
      -- cmake -G Ninja "${GEN_ARGS[@]}" -S "$1" -B "$2" >/dev/null
  fi
}

# The newest mtime (seconds) of the linked binaries in LINKED_DIR of the object directory $1.
last_link_in() {
  local pats=() p
  for p in "${LINKED[@]}"; do pats+=(-o -name "$p"); done
  find "$1/$LINKED_DIR" -maxdepth 1 -type f \( "${pats[@]:1}" \) -printf '%T@\n' | sort -n | tail -1
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

# Writes $PROJECT's sources into the new directory $1: a copy of the third-party tree, or the
# generated project.
project_source() {
  if [ "$PROJECT" != generated ]; then
    cp -r "$(bash "$REPO/tests/support/third-party-src.sh" "$SOURCE_NAME")" "$1"
    return
  fi
  local n=${N:-120} i
  mkdir -p "$1"
  {
    echo 'cmake_minimum_required(VERSION 3.16)'
    echo 'project(gen C)'
    printf 'add_library(gen STATIC'
    for i in $(seq 1 "$n"); do printf ' f%d.c' "$i"; done
    echo ')'
    echo 'add_executable(app main.c)'
    echo 'target_link_libraries(app gen)'
  } > "$1/CMakeLists.txt"
  for i in $(seq 1 "$n"); do
    cat > "$1/f$i.c" <<EOF
#include <stdio.h>
#include <string.h>
struct s$i { int a[16]; double d; char name[32]; };
static int mix$i(struct s$i *s, int k) { int t = 0; for (int j = 0; j < 16; j++) t += s->a[j] * (k + j); return t; }
int f$i(int k) {
  struct s$i s; memset(&s, 0, sizeof s); snprintf(s.name, sizeof s.name, "f%d", k);
  for (int j = 0; j < 16; j++) s.a[j] = j * k + $i;
  s.d = k * 0.5; return mix$i(&s, k) + (int)s.d + (int)strlen(s.name);
}
EOF
  done
  { for i in $(seq 1 "$n"); do echo "int f$i(int);"; done
    echo 'int main(void) { int t = 0;'
    for i in $(seq 1 "$n"); do echo "  t += f$i($i);"; done
    echo '  return t == 42; }'; } > "$1/main.c"
}

# CI: $PROJECT committed in $WORK/ci/src, configured in $WORK/ci/obj with split DWARF, built
# and published to the store at URL $1 with a new publisher key ($WORK/ci.key, .pub).
ci_publish() {
  rm -f "$WORK/ci.key" "$WORK/ci.pub"
  "$CN" key generate --out "$WORK/ci.key" > "$WORK/ci.pub"
  rm -rf "$WORK/ci" && mkdir -p "$WORK/ci"
  project_source "$WORK/ci/src"
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
  CACHED_NINJA_CACHE_DIR=$WORK/ci/cache configure_project "$WORK/ci/src" "$WORK/ci/obj"
  CACHED_NINJA_CACHE_DIR=$WORK/ci/cache "$CN" build --publish -C "$WORK/ci/obj" >/dev/null
}
