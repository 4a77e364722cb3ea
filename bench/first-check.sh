#!/usr/bin/env bash
# The instructions of a first check: libgit2 (CMake, Debug, zero-setup launcher) built cold
# into a cache of each launcher's own, then built again at a new object directory over it,
# where every edge is a hit checked for the first time at that path (the engine benchmark's
# warm build at a new path). Three of those launches run under callgrind (`llhttp/api.c`,
# about 75 headers; `attrcache.c` and `repository.c`, about 350 and 470), through a wrapper
# that runs the others plainly; callgrind's totals do not vary with the machine's noise.
#
# Usage: WORK=/tmp/first-check bash bench/first-check.sh A/cached-ninja B/cached-ninja …
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bash bench/first-check.sh launcher…" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install -y valgrind" >&2; exit 1; }
WORK=${WORK:-$(mktemp -d /tmp/cn-first-check-XXXXXX)}
SRC=$(bash tests/support/third-party-src.sh libgit2)
mkdir -p "$WORK"
build() { # launcher objdir cache
  rm -rf "$2"; mkdir -p "$2"
  (cd "$2" && cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF \
    "-DCMAKE_C_COMPILER_LAUNCHER=$1" "$SRC" >cmake.log 2>&1 &&
    CACHED_NINJA_CACHE_DIR=$3 ninja -j2 >build.log 2>&1)
}
echo "| launcher | hits | llhttp/api.c | attrcache.c | repository.c |"
echo "|---|---|---|---|---|"
for l in "$@"; do
  tag=$(printf '%s' "$l" | md5sum | cut -c1-8)
  cache=$WORK/cache-$tag
  rm -rf "$cache"
  build "$l" "$WORK/fill-$tag" "$cache"
  wrap=$WORK/wrap-$tag.sh
  cat >"$wrap" <<EOF
#!/bin/sh
case "\$*" in
  *llhttp/api.c*) n=api.c ;;
  *src/libgit2/attrcache.c*) n=attrcache.c ;;
  *src/libgit2/repository.c*) n=repository.c ;;
  *) exec "$l" "\$@" ;;
esac
exec valgrind --tool=callgrind --callgrind-out-file="$WORK/cg-$tag-\$n.out" "$l" "\$@"
EOF
  chmod +x "$wrap"
  build "$wrap" "$WORK/new-$tag" "$cache"
  hits=$(awk '$1 == "hit"' "$WORK/new-$tag/.cached-ninja/stats" | wc -l)
  row="| $l | $hits"
  for n in api.c attrcache.c repository.c; do
    row="$row | $(sed -n 's/^summary: //p' "$WORK/cg-$tag-$n.out")"
  done
  echo "$row |"
done
