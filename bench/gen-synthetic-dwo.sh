#!/usr/bin/env bash
# Generates the large synthetic `.dwo` set for bench/package-vs-dwp.sh: N template-heavy C++
# translation units (each with its own tag type, so every unit's types are distinct), compiled
# by clang++ with `-gsplit-dwarf -gdwarf-4` through ninja (two-file split DWARF, so the
# `.dwo` files come straight from the compiler; DWARF 4 so GNU dwp can take part).
# Usage: bench/gen-synthetic-dwo.sh OUTDIR [N=2000] [JOBS=2]
set -euo pipefail
OUT=${1:?usage: gen-synthetic-dwo.sh OUTDIR [N] [JOBS]}
N=${2:-2000}
JOBS=${3:-2}
mkdir -p "$OUT/src"
cat > "$OUT/src/common.h" << 'H'
#pragma once
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>
template <typename Tag, int N> struct Node {
  std::map<std::string, std::vector<Node<Tag, N - 1>>> kids;
  std::tuple<int, double, std::string, Node<Tag, N - 1> *> extra;
  std::optional<std::variant<long, std::string, std::set<int>>> note;
  size_t count() const { size_t c = 1; for (auto &k : kids) for (auto &n : k.second) c += n.count(); return c; }
};
template <typename Tag> struct Node<Tag, 0> { int leaf = 0; size_t count() const { return 1; } };
template <typename Tag, typename T> struct Table {
  std::unordered_map<T, std::vector<std::shared_ptr<T>>> rows;
  std::function<bool(const T &, const T &)> less = [](const T &a, const T &b) { return a < b; };
  void add(const T &k) { rows[k].push_back(std::make_shared<T>(k)); }
  std::vector<T> sorted() const { std::vector<T> v; for (auto &r : rows) v.push_back(r.first); std::sort(v.begin(), v.end(), less); return v; }
};
H
{
  echo "rule cxx"
  # Only the .dwo files are kept: the objects are truncated to save disk space.
  echo "  command = clang++ -c -O0 -g -gdwarf-4 -gsplit-dwarf -std=c++17 -I src \$in -o \$out && truncate -s 0 \$out"
  for i in $(seq "$N"); do
    f=$OUT/src/tu$i.cc
    [ -f "$f" ] || cat > "$f" << CC
#include "common.h"
namespace tu$i {
struct Tag {};
struct Rec$i { std::string name; std::vector<int> values; std::map<int, std::string> index; bool operator<(const Rec$i &o) const { return name < o.name; } bool operator==(const Rec$i &o) const { return name == o.name; } };
}
namespace std { template <> struct hash<tu$i::Rec$i> { size_t operator()(const tu$i::Rec$i &r) const { return hash<string>()(r.name); } }; }
int work$i(int n) {
  Node<tu$i::Tag, 3> root;
  Table<tu$i::Tag, int> ints;
  Table<tu$i::Tag, tu$i::Rec$i> recs;
  for (int k = 0; k < n; k++) { ints.add(k); recs.add(tu$i::Rec$i{std::to_string(k), {k}, {{k, "v"}}}); }
  return int(root.count() + ints.sorted().size() + recs.sorted().size());
}
CC
    echo "build obj/tu$i.o: cxx src/tu$i.cc"
  done
} > "$OUT/build.ninja"
ninja -C "$OUT" -j "$JOBS" > /dev/null
echo "$(ls "$OUT"/obj/*.dwo | wc -l) .dwo files, $(cat "$OUT"/obj/*.dwo | wc -c) bytes in $OUT/obj"
