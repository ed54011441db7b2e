# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Prints C test vectors for tests/unit/test_linetable.c: a function's raw line table as each
# CPython version stores it, and the line CPython itself gives for every instruction offset.
# Regenerate: for v in 3.8 3.9 3.10 3.11 3.12 3.13; do python$v gen_linetable_vectors.py; done
import dis
import sys

SRC = (
    "def f(x):\n"
    "    y = 0\n"
    "    for i in range(x):\n"
    "        if i % 2:\n"
    "            y += (i *\n"
    "                  2)\n"
    "        else:\n"
    "            y -= 1\n"
    + "\n" * 200
    + "    z = [k for k in range(3)] if y else None\n"
    "    return (y +\n"
    "            z)\n"
)

ns = {}
exec(compile(SRC, "<vec>", "exec"), ns)
co = ns["f"].__code__
minor = sys.version_info[1]
tab = co.co_lnotab if minor <= 9 else co.co_linetable
pairs = []
if minor <= 9:
    starts = list(dis.findlinestarts(co))
    for off in range(0, len(co.co_code), 2):
        line = co.co_firstlineno
        for s, ln in starts:
            if s <= off:
                line = ln
        pairs.append((off, line))
else:
    for start, end, line in co.co_lines():
        for off in range(start, end, 2):
            pairs.append((off, line or 0))
name = "v3%d" % minor
print("static const uint8_t %s_tab[] = {%s};" % (name, ", ".join(str(b) for b in tab)))
print("static const int %s_lines[][2] = {%s};" % (
    name, ", ".join("{%d, %d}" % p for p in pairs)))
print("#define %s_first %d" % (name, co.co_firstlineno))
