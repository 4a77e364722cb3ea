#!/bin/sh
# gen-ninja.sh SRCDIR OBJDIR: writes OBJDIR/build.ninja from SRCDIR/build.ninja.in, for
# machines without CMake or Meson (`configure --with-generator=ninja`). CC, CXX, CFLAGS and
# CXXFLAGS come from the environment.
set -eu
srcdir=$1
objdir=$2
esc() { printf '%s' "$1" | sed -e 's/[$]/$$/g' -e 's/ /$ /g' -e 's/[|&\\]/\\&/g'; }
sed -e "s|@srcdir@|$(esc "$srcdir")|g" \
    -e "s|@CC@|${CC:-cc}|g" -e "s|@CXX@|${CXX:-c++}|g" \
    -e "s|@CFLAGS@|${CFLAGS:-}|g" -e "s|@CXXFLAGS@|${CXXFLAGS:-}|g" \
    "$srcdir/build.ninja.in" > "$objdir/build.ninja.tmp"
mv "$objdir/build.ninja.tmp" "$objdir/build.ninja"
