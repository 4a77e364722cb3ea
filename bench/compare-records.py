#!/usr/bin/env python3
"""Whether two caches' memo/ directories (bench/lookup-records.sh) record the same lookups.

Memos are matched by name (their keys). Within one, each holding directory's names are
compared as a set: a holder's line (`d`/`H` with its stamp, masked; `l`/`h` without) opens
its group, and `n`/`f` lines belong to it. A holder stamped in one memo and listed in the
other is counted apart: whether a directory's stamp had settled depends on when the compile
ran, not on the launcher. The `end` line (the text's digest), header facts' stamps and the
cache's size summary are left out, and so are header facts memos found in one only (written
only for settled headers). Exit status 1 when a memo differs otherwise, or a lookup record
is in one only.

Usage: python3 bench/compare-records.py A-memo-dir B-memo-dir
"""
import os
import re
import sys

STAMPED = re.compile(r"^(d|H) ((?:-?\d+ )+)(.*)$")
# The cache's size summary (bytes, files), kept among the memos: no lookup record.
SIZES = re.compile(r"^\d+ \d+$")


def parse(path):
    holders, other, current = {}, [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f.read().split("\n"):
            m = STAMPED.match(line)
            if m:
                current = m.group(3)
                holders.setdefault(current, ("stamped", set()))
            elif line.startswith("l ") or re.match(r"^h [^0-9]", line):
                current = line[2:]
                holders.setdefault(current, ("listed", set()))
            elif line[:2] in ("n ", "f ") and current is not None:
                holders[current][1].add(line)
            elif not line.startswith("end ") and not SIZES.match(line):
                other.append(re.sub(r"^h (\d+ ){5}", "h ", line))
    return holders, sorted(other)


def header_facts(path):
    """Whether a memo holds a directory's header facts (its first line an `h` record with a
    stamp): one is written only for headers whose stamps had settled, so a header the build
    generated may have one in one run and none in the other."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return re.match(r"^h \d+ \d+ ", f.readline()) is not None


def main(a, b):
    in_a, in_b = set(os.listdir(a)), set(os.listdir(b))
    alone = [os.path.join(a, n) for n in in_a - in_b] + [os.path.join(b, n) for n in in_b - in_a]
    facts_alone = [p for p in alone if header_facts(p)]
    names = sorted(in_a & in_b)
    differ, settled = [p for p in alone if p not in facts_alone], set()
    for name in names:
        ha, oa = parse(os.path.join(a, name))
        hb, ob = parse(os.path.join(b, name))
        if oa != ob or set(ha) != set(hb):
            differ.append(name)
            continue
        for d in ha:
            if ha[d][0] != hb[d][0]:
                settled.add(d)
            elif ha[d][1] != hb[d][1]:
                differ.append(name)
    print(f"{len(names)} memos in both; differing in what they record, or in one only: "
          f"{len(differ)} {differ[:5]}; header facts in one only: {len(facts_alone)}; "
          f"holders stamped in one and listed in the other: {sorted(settled)}")
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
