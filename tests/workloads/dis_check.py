# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# For tests/unit/test_opcodes.c (here so that it is copied into the sid root with the workloads): runs some functions until 3.11+ has specialised them, then
# prints, per function, its bytecode as the interpreter runs it (the adaptive copy on 3.11+),
# every instruction as dis shows it (offset, name, operand symbol, line), and the loop depth
# each line marked "# depth N" must have.
import dis
import sys

minor = sys.version_info[1]


def member(items, table):
    n = 0
    for x in items:
        if x in table:  # depth 1
            n += 1
    return n


def nested(a, b):
    out = []
    for x in a:
        for y in b:
            if x == y:  # depth 2
                out.append(x)
        out.append(-1)
    return out


def build(parts):
    s = ""
    for p in parts:
        s += p  # depth 1
    return s


def arith(xs, ys):
    t = 0.0
    i = 0
    while i < len(xs):
        t += xs[i] * ys[i] - 1.5  # depth 1
        i += 1
    return t


def triple(n):
    c = 0
    for i in range(n):
        for j in range(n):
            k = 0
            while k < n:
                c += i ^ j ^ k  # depth 3
                k += 1
    return c


def flat(a, b):
    return a < b or a is b or a != b  # depth 0


def big(n):
    v = [0] * 300
    for i in range(n):
        v[299] = i + 100000  # depth 1
    return v


def run():
    for _ in range(200):
        member(list(range(50)), list(range(0, 100, 3)))
        member(range(10), set(range(5)))
        nested([1, 2, 3], [3, 4])
        build(["a", "bc", "d"])
        arith([1.0, 2.0], [3.0, 4.0])
        triple(3)
        flat(1, 2)
        big(3)


run()
src = open(__file__).read().splitlines()
for f in (member, nested, build, arith, triple, flat, big):
    co = f.__code__
    code = co._co_code_adaptive if minor >= 11 else co.co_code
    print("F", f.__name__)
    print("B", code.hex())
    kw = {"adaptive": True} if minor >= 11 else {}
    line = None
    starts = dict(dis.findlinestarts(co))
    for ins in dis.get_instructions(f, **kw):
        if minor >= 11:
            line = ins.positions.lineno
        elif ins.offset in starts:
            line = starts[ins.offset]
        sym = "-"
        if ins.opname.startswith("COMPARE_OP") and isinstance(ins.argval, str):
            sym = ins.argval
        elif ins.opname == "BINARY_OP":
            sym = ins.argrepr
        print("I", ins.offset, ins.opname, sym.replace(" ", "_"), line if line else 0)
    for i, text in enumerate(src, 1):
        if co.co_firstlineno <= i and "# depth " in text and i <= co.co_firstlineno + 30:
            d = int(text.split("# depth ")[1])
            # only lines of this function: up to the next def
            body = src[co.co_firstlineno:i]
            if not any(t.startswith("def ") for t in body):
                print("D", i, d)
print("E")
