# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Copy an ELF binary and move the pc of some of its USDT notes back by a byte (into the
# previous instruction), the corruption of issue 15 item 1. .note.stapsdt is not loaded: the
# copy runs as before, only a tracer trusting the note would probe inside an instruction.
# usage: usdt_corrupt.py SRC DST PROVIDER:NAME [PROVIDER:NAME ...]
# prints "moved PROVIDER:NAME 0xOLD -> 0xNEW" per note moved; exit 1 when one is missing.
import shutil
import struct
import sys

src, dst, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
shutil.copy2(src, dst)
with open(dst, "r+b") as f:
    data = bytearray(f.read())
    assert data[:4] == b"\x7fELF" and data[4] == 2, "64-bit ELF only"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = secs[shstrndx][4]

    def name(s):
        o = stroff + s[0]
        return data[o:data.index(0, o)].decode()

    moved = set()
    for s in secs:
        if name(s) != ".note.stapsdt":
            continue
        off, end = s[4], s[4] + s[5]
        while off + 12 <= end:
            namesz, descsz, typ = struct.unpack_from("<III", data, off)
            desc = off + 12 + ((namesz + 3) & ~3)
            if typ == 3 and descsz >= 24:
                pc, base, sema = struct.unpack_from("<QQQ", data, desc)
                strs = data[desc + 24:desc + descsz].split(b"\0")
                probe = "%s:%s" % (strs[0].decode(), strs[1].decode())
                if probe in wanted:
                    struct.pack_into("<Q", data, desc, pc - 1)
                    moved.add(probe)
                    print("moved %s 0x%x -> 0x%x" % (probe, pc, pc - 1))
            off = desc + ((descsz + 3) & ~3)
    f.seek(0)
    f.write(data)
missing = wanted - moved
if missing:
    print("not found:", ", ".join(sorted(missing)))
    sys.exit(1)
