#!/usr/bin/env python3
"""CPU time of one launcher hit, two launcher binaries compared (issue 14: the launcher's size).

Each binary serves the same hit (`cached-ninja cc -- gcc -g -c b.c -o b.o`, a small C file,
one shared cache) N times per round, ROUNDS rounds, the binaries interleaved (the order swapped
each round). Per round: user + system time of the launcher processes (getrusage of the
children) and wall time, per hit. CPU time stays usable on a loaded machine, wall time not.

Usage: python3 bench/launcher-hit-cpu.py A/cached-ninja B/cached-ninja [N=200] [ROUNDS=10]
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

SOURCE = """static inline __attribute__((always_inline)) int twice(int v) { return v * 2; }
int helper(int x) { int step = 1; return twice(x) + step; }
"""


def main():
    bins = sys.argv[1:3]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    work = tempfile.mkdtemp(prefix="cn-hit-cpu-")
    with open(os.path.join(work, "b.c"), "w") as f:
        f.write(SOURCE)
    env = dict(os.environ, CACHED_NINJA_CACHE_DIR=os.path.join(work, "cache"))

    def cmd(b):
        return [b, "cc", "--", "gcc", "-g", "-c", "b.c", "-o", "b.o"]

    for b in bins:  # the first run stores, the rest hit
        subprocess.run(cmd(b), env=env, cwd=work, check=True)
    cpu = {b: [] for b in bins}
    wall = {b: [] for b in bins}

    def used():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    for r in range(rounds):
        for b in bins if r % 2 == 0 else bins[::-1]:
            c0, t0 = used(), time.perf_counter()
            for _ in range(n):
                subprocess.run(cmd(b), env=env, cwd=work, check=True)
            cpu[b].append((used() - c0) / n * 1000)
            wall[b].append((time.perf_counter() - t0) / n * 1000)
    for b in bins:
        rows = " ".join(f"{x:.3f}" for x in cpu[b])
        print(f"{b}: CPU {statistics.median(cpu[b]):.3f} ms, wall {statistics.median(wall[b]):.3f} ms; CPU per round {rows}")


main()
