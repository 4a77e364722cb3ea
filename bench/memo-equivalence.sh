#!/usr/bin/env bash
# Whether two launcher builds write the same lookup memos: the check behind a change to the
# lookup rule's code that should not change what it decides. libgit2 (CMake, Debug) is
# configured once with a launcher path that is a symbolic link, so both launchers run the
# same command lines. Per launcher: a cold build in `obj` (empty cache), then a warm build in
# a fresh `obj2` on the same sources (every hit a first check in a new object directory),
# then a snapshot of every memo, canonicalised:
#   - directory stamps masked (`d <stamp> DIR` -> a holder line, as `l DIR`; a record's
#     `H <stamp> DIR` -> `h DIR`; a stamp is three or four numbers), and the first names after an `l`
#     line dropped (whether a holder was settled when it was listed depends on timing);
#   - lines sorted within each file (the order within a holder is a hash order);
#   - the seal's checksum line dropped; the cap check's walk record left out.
# Prints, per launcher, the warm build's outcomes; then how many memos differ, the candidates'
# records (`h`, `H` lines) counted apart. Exit 1 when a memo other than a record differs.
#
# With PROJECT=harfbuzz the project is harfbuzz (CMake, C++: the C++ library's directories and
# its `#include_next` wrappers) instead of libgit2.
#
# Usage: WORK=/tmp/memo-eq [PROJECT=harfbuzz] bash bench/memo-equivalence.sh A/cached-ninja B/cached-ninja
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/cn-memo-eq-XXXXXX)}
[ $# = 2 ] || { echo "usage: bash bench/memo-equivalence.sh A/cached-ninja B/cached-ninja" >&2; exit 2; }
PROJECT=${PROJECT:-libgit2}
SRC=$(bash tests/support/third-party-src.sh "$PROJECT")
export CACHED_NINJA_CACHE_DIR=$WORK/cache
mkdir -p "$WORK/obj"
ln -sfn "$(realpath "$1")" "$WORK/launcher"
configure() {
  (cd "$1" && cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTS=OFF \
    "-DCMAKE_C_COMPILER_LAUNCHER=$WORK/launcher" "-DCMAKE_CXX_COMPILER_LAUNCHER=$WORK/launcher" \
    "$SRC" >cmake.log 2>&1)
}
[ -f "$WORK/obj/build.ninja" ] || configure "$WORK/obj"
i=0
for b in "$1" "$2"; do
  i=$((i + 1))
  ln -sfn "$(realpath "$b")" "$WORK/launcher"
  (cd "$WORK/obj" && ninja -t clean >/dev/null)
  rm -rf "$WORK/cache" "$WORK/obj2"
  (cd "$WORK/obj" && ninja -j2 >build.log 2>&1)
  mkdir -p "$WORK/obj2"
  configure "$WORK/obj2"
  (cd "$WORK/obj2" && ninja -j2 >build.log 2>&1)
  echo "$b: warm build in obj2: $(awk '{print $1}' "$WORK/obj2/.cached-ninja/stats" | sort | uniq -c | tr -s ' \n' ' ')"
  # Kept for a look at what differs (diff -r "$WORK/memo-1" "$WORK/memo-2").
  rm -rf "$WORK/memo-$i" && cp -r "$WORK/cache/memo" "$WORK/memo-$i"
  python3 - "$WORK/cache/memo" "$WORK/memos-$i.txt" <<'PY'
import hashlib, os, sys
src, out = sys.argv[1], sys.argv[2]
rows = []
for name in sorted(os.listdir(src)):
    lines = open(os.path.join(src, name), errors="replace").read().split("\n")
    body = [l for l in lines if l and not l.startswith("end ")]
    if len(body) == 1 and all(w.isdigit() for w in body[0].split(" ")):
        continue  # the cap check's walk record
    kind = "record" if any(l.startswith(("h ", "H ")) for l in body) else "memo"
    def holder(l):  # a `d` or `H` line's directory, after its stamp's numbers
        w = l.split(" ")
        k = 1
        while k < len(w) - 1 and w[k].lstrip("-").isdigit():
            k += 1
        return " ".join(w[k:])
    res, skip, block = [], False, ""
    for l in body:
        if l.startswith("l "):
            res.append("H " + l[2:]); skip = True
        elif l.startswith("d "):
            res.append("H " + holder(l)); skip = False
        elif l.startswith("h ") or (l.startswith("H ") and kind == "record"):
            block = "h " + (l[2:] if l.startswith("h ") else holder(l))
            res.append(block); skip = False
        elif l.startswith("n ") and skip:
            continue
        else:
            res.append(block + " | " + l if block else l)
    res.sort()
    rows.append(f"{name} {kind} {hashlib.sha1(chr(10).join(res).encode()).hexdigest()}")
open(out, "w").write("\n".join(rows) + "\n")
PY
done
python3 - "$WORK/memos-1.txt" "$WORK/memos-2.txt" <<'PY'
import sys
a, b = ({n: (k, h) for n, k, h in (l.split() for l in open(p) if l.strip())} for p in sys.argv[1:3])
diff = {"record": 0, "memo": 0}
for n in set(a) | set(b):
    if a.get(n) != b.get(n):
        diff[(a.get(n) or b.get(n))[0]] += 1
print(f"memos: {len(a)} and {len(b)}; differing: {diff['memo']} memos, {diff['record']} candidates' records")
sys.exit(1 if diff["memo"] else 0)
PY
