# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The opcode table of the interpreter running this script, from its own opcode and dis modules,
# for user/cpython/opcodes_tab.c. Nothing is typed by hand: names (specialised and
# instrumented forms included), the base opcode each maps to, inline cache entries and which
# opcodes jump backward or to an absolute target.
#
#   python3.X scripts/gen-opcodes.py        C block for user/cpython/opcodes_tab.c
#   python3.X scripts/gen-opcodes.py --dump one line per opcode: "op name deopt caches jump"
#   (or "python3.X - [--dump] < scripts/gen-opcodes.py", as the tests run it in the sid root)
#                                           (what tests/unit/test_opcodes.c compares with C)
# Regenerate the whole file: scripts/gen-opcodes.sh > user/cpython/opcodes_tab.c
import dis
import opcode
import sys

minor = sys.version_info[1]
allname = getattr(dis, "_all_opname", opcode.opname)
opmap = getattr(dis, "_all_opmap", opcode.opmap)

# jump kinds (user/cpython/opcodes.h enum py_jump)
J_NONE, J_BACK, J_BACK_NOINT, J_ABS, J_FWD = 0, 1, 2, 3, 4


def name_of(op):
    n = allname[op] if op < len(allname) else None
    if not n or n.startswith("<"):
        return None
    return n


def deopt_of(op):
    n = name_of(op)
    if n is None:
        return op
    d = dis._deoptop(op) if hasattr(dis, "_deoptop") else op
    # an instrumented instruction keeps its oparg and caches: count it as its base form
    if d == op and n.startswith("INSTRUMENTED_") and n[len("INSTRUMENTED_"):] in opmap:
        d = opmap[n[len("INSTRUMENTED_"):]]
        if d >= 256:
            d = op
    return d


def caches_of(op):
    d = deopt_of(op)
    ice = getattr(opcode, "_inline_cache_entries", None)
    if ice is None:
        return 0
    if hasattr(ice, "get"):  # a dict (3.13, 3.14) or frozendict (3.15) by name
        return ice.get(name_of(d), 0)
    return ice[d]


def jump_of(op):
    d = deopt_of(op)
    n = name_of(d)
    if n is None:
        return J_NONE
    if d in opcode.hasjabs:
        return J_ABS
    if d in opcode.hasjrel:
        if "JUMP_BACKWARD" in n:
            return J_BACK_NOINT if "NO_INTERRUPT" in n else J_BACK
        return J_FWD
    return J_NONE


def cstr(s):
    return '"%s"' % s if s else "NULL"


if "--dump" in sys.argv:
    for op in range(256):
        print(op, name_of(op) or "-", deopt_of(op), caches_of(op), jump_of(op))
    sys.exit(0)

v = "%d%d" % sys.version_info[:2]
print("/* CPython %d.%d (generated from %s) */" % (3, minor, sys.version.split()[0]))
print("static const char *const names_%s[256] = {" % v)
for op in range(256):
    if name_of(op):
        print("\t[%d] = %s," % (op, cstr(name_of(op))))
print("};")
for what, fn in (("deopt", deopt_of), ("caches", caches_of), ("jump", jump_of)):
    print("static const uint8_t %s_%s[256] = {" % (what, v))
    vals = [fn(op) for op in range(256)]
    for i in range(0, 256, 16):
        print("\t" + " ".join("%d," % x for x in vals[i:i + 16]))
    print("};")
if hasattr(dis, "_nb_ops"):
    print("static const char *const nb_ops_%s[] = {" % v)
    for _, sym in dis._nb_ops:
        print("\t%s," % cstr(sym))
    print("};")
    nb = "nb_ops_%s, .n_nb_ops = %d" % (v, len(dis._nb_ops))
else:
    nb = "NULL, .n_nb_ops = 0"
cmp = getattr(opcode, "cmp_op", ())
print("static const char *const cmp_ops_%s[] = { %s };" % (v, ", ".join(cstr(c) for c in cmp)))
# 3.8 has no CONTAINS_OP: membership is COMPARE_OP with the "in"/"not in" operand
cshift = 5 if minor >= 13 else 4 if minor == 12 else 0
print("static const struct py_optab optab_%s = {" % v)
print("\t.minor = %d, .names = names_%s, .deopt = deopt_%s, .caches = caches_%s," % (minor, v, v, v))
print("\t.jump = jump_%s, .nb_ops = %s, .cmp_ops = cmp_ops_%s, .ncmp_ops = %d," % (v, nb, v, len(cmp)))
print("\t.cmp_shift = %d, .extended_arg = %d, .compare_op = %d," % (cshift, opcode.opmap["EXTENDED_ARG"], opcode.opmap["COMPARE_OP"]))
print("\t.binary_op = %d, .contains_op = %d," % (opcode.opmap.get("BINARY_OP", -1), opcode.opmap.get("CONTAINS_OP", -1)))
print("};")
