#!/usr/bin/env python3
"""Multiplies a set of DWARF 4 `.dwo` files for bench/package-vs-dwp.sh: writes COPIES - 1
extra copies of each input whose split unit gets a new `DW_AT_GNU_dwo_id` (the original id
with its top 16 bits xor-ed with the copy number), so every unit of the result is distinct.

Used when compiling the full synthetic set is too expensive on a shared machine: the bytes
(and the packager's work: unit parsing, string deduplication, index building) are those of
real compiler output; only the ids differ.

Usage: bench/relabel-dwo.py INDIR OUTDIR COPIES
"""
import os
import re
import struct
import subprocess
import sys


def section(data, name):
    """(offset, size) of section `name` in a little-endian ELF64 file."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def hdr(i):
        return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
    stroff = hdr(shstrndx)[4]
    for i in range(shnum):
        h = hdr(i)
        end = data.index(b"\0", stroff + h[0])
        if data[stroff + h[0]:end] == name:
            return h[4], h[5]
    raise SystemExit(f"no {name!r}")


def main():
    indir, outdir, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(outdir, exist_ok=True)
    for name in sorted(os.listdir(indir)):
        if not name.endswith(".dwo"):
            continue
        path = os.path.join(indir, name)
        data = open(path, "rb").read()
        dump = subprocess.run(["llvm-dwarfdump", "--debug-info", path], capture_output=True, text=True).stdout
        ids = re.findall(r"DW_AT_GNU_dwo_id\s+\((0x[0-9a-f]+)\)", dump)
        if len(ids) != 1:
            raise SystemExit(f"{path}: expected one split unit, found {len(ids)}")
        old = int(ids[0], 16)
        off, size = section(data, b".debug_info.dwo")
        at = data.index(struct.pack("<Q", old), off, off + size)
        stem = name[: -len(".dwo")]
        open(os.path.join(outdir, name), "wb").write(data)
        for k in range(1, copies):
            new = old ^ (k << 48)
            out = bytearray(data)
            out[at:at + 8] = struct.pack("<Q", new)
            open(os.path.join(outdir, f"{stem}-copy{k}.dwo"), "wb").write(out)


main()
