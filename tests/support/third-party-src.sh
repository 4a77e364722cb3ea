#!/usr/bin/env bash
# Prints the path of a third-party source tree vendored by a package of the Rust package registry, fetching it
# with cargo into the normal cargo registry cache (nothing is committed to this repository).
#   third-party-src.sh libgit2   -> libgit2 1.9.1 (CMake project), from libgit2-sys 0.18.2
#   third-party-src.sh dav1d     -> dav1d 1.4.3 (Meson project), from libdav1d-sys 0.7.1
#   third-party-src.sh harfbuzz  -> harfbuzz (Meson and CMake, C++), from harfbuzz-sys 0.6.1
set -euo pipefail
case "${1:-}" in
  libgit2) crate=libgit2-sys; version=0.18.2; sub=libgit2 ;;
  dav1d)   crate=libdav1d-sys; version=0.7.1; sub=vendor ;;
  harfbuzz) crate=harfbuzz-sys; version=0.6.1; sub=harfbuzz ;;
  *) echo "usage: $0 libgit2|dav1d|harfbuzz" >&2; exit 2 ;;
esac
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
find_src() { ls -d "$registry"/*/"$crate-$version"*/"$sub" 2>/dev/null | head -n1; }
src=$(find_src || true)
if [ -z "$src" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/src"
  printf '[package]\nname = "fetch-third-party"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
    "$crate" "$version" > "$work/Cargo.toml"
  echo 'fn main() {}' > "$work/src/main.rs"
  cargo fetch --quiet --manifest-path "$work/Cargo.toml" >&2 \
    || { echo "third-party-src.sh: could not fetch $crate $version from the Rust package registry" >&2; exit 1; }
  src=$(find_src || true)
fi
[ -n "$src" ] || { echo "third-party-src.sh: $crate $version fetched but $sub/ not found under $registry" >&2; exit 1; }
echo "$src"
