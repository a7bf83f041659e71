#!/usr/bin/env python3
"""
Machine code of two builds of the same objects, function by function.

    mcdiff.py BASE_OUT SERIES_OUT OBJ... [--readme README --section TITLE]
              [--table FILE] [--show FUNC]

Disassembles each OBJ (a path below both build folders, e.g.
net/core/page_pool.o) with objdump -dr, after the compiler's inlining: what
a function's symbol holds is what runs when it is called, and its calls are
what was not inlined. Each function's instructions are normalised (no
addresses; a jump inside the function as an offset from its start; a
relocation by symbol, its section offset and GCC's numbered suffixes
dropped), so that the same code at another place compares equal. Counted
per function (x86-64, AT&T syntax): instructions, memory loads (an
instruction that reads memory other than the stack: a memory source
operand, or a read-modify-write; not lea, push, pop), stores, atomics
(lock prefix, xchg with memory), conditional branches, calls (direct and
indirect, tail calls included), and the functions it calls.

With --readme, the markdown table under the heading TITLE lists the
functions to compare, one a row: | function | object | what changes |. A
row whose last cell is "identical" must have the same instructions in both
builds; any other row must match the counted change, written as
"loads +1, insns +3" (the counts that differ, in the order of COUNTS, or
"identical"). Prints a PASS or FAIL line per row and exits non-zero on a
FAIL, so the README cannot claim what the builds do not show. --table
writes the measured table, the full counts of each function, for the
README to take.
"""

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

COUNTS = ("insns", "loads", "stores", "atomics", "branches", "calls")
SYM = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
RELOC = re.compile(r"^\s*([0-9a-f]+):\s+(R_X86_64_\S+)\s+(\S+)$")
# GCC's numbered names of local objects and clones: __func__.3, foo.isra.0
NUMBERED = re.compile(r"\.(\d+)\b")
PADDING = re.compile(r"^((data16|cs|ds) )*(nop|int3|xchg %ax,%ax)")


def norm_sym(sym):
    """A relocation's symbol without section offsets or GCC's numbering."""
    sym = re.sub(r"[+-]0x[0-9a-f]+$", "", sym)
    return NUMBERED.sub("", sym)


def disassemble(obj):
    """{function: [instruction text]} of an object's text sections."""
    out = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", str(obj)], check=True, capture_output=True,
                         text=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = SYM.match(line)
        if m:
            cur = NUMBERED.sub("", m.group(2))
            funcs[cur] = []
            continue
        if cur is None:
            continue
        m = RELOC.match(line)
        if m and funcs[cur]:
            funcs[cur][-1] += f" @{m.group(2)}:{norm_sym(m.group(3))}"
            continue
        m = INSN.match(line)
        if not m:
            continue
        text = re.sub(r"\s+", " ", m.group(2).split("#")[0]).strip()
        # A jump or call target in the function: its offset from the start.
        text = re.sub(r"\b[0-9a-f]+ <" + re.escape(cur) + r"(\+0x[0-9a-f]+)?>",
                      lambda t: f"<{t.group(1) or '+0x0'}>", text)
        # Elsewhere: the symbol alone.
        text = re.sub(r"\b[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>",
                      lambda t: f"<{NUMBERED.sub('', t.group(1))}>", text)
        funcs[cur].append(text)
    # The padding up to the next function is no part of this one.
    for insns in funcs.values():
        while insns and PADDING.match(insns[-1]):
            insns.pop()
    return funcs


def operands(text):
    """Mnemonic (prefixes dropped) and the operands of an instruction."""
    words = text.split(" @")[0].split(" ", 1)
    prefixes = []
    while words[0] in ("lock", "rep", "repz", "repnz", "notrack", "bnd",
                       "cs", "ds"):
        prefixes.append(words[0])
        words = words[1].split(" ", 1) if len(words) > 1 else [""]
    ops = []
    if len(words) > 1:
        depth, cur = 0, ""
        for ch in words[1]:
            if ch == "," and depth == 0:
                ops.append(cur)
                cur = ""
                continue
            depth += ch == "("
            depth -= ch == ")"
            cur += ch
        ops.append(cur)
    return prefixes, words[0], [o.strip() for o in ops if o.strip()]


def is_mem(op):
    """A memory operand other than the stack's (%rsp); %gs: is per-CPU data."""
    op = op.lstrip("*")
    if re.match(r"^%[c-g]s:", op):
        return True
    if op.startswith(("$", "%")):
        return False
    return "(%rsp)" not in op and ("(" in op or op.startswith("0x"))


# Instructions that read their operands and write none of them.
READ_ONLY = re.compile(r"^(cmp|test|bt[lqw]?$|ucomis|comis|push|call|jmp|j)")
NO_ACCESS = re.compile(r"^(lea|nop|prefetch|endbr|clflush)")
# Those that write their last operand without reading it.
WRITE_ONLY = re.compile(r"^(mov|set|stos|pop)")


def count(insns):
    """The COUNTS of a function's instructions, and what it calls."""
    c = dict.fromkeys(COUNTS, 0)
    callees = set()
    for text in insns:
        prefixes, mnem, ops = operands(text)
        c["insns"] += 1
        # A call, or a jump out of the function: a tail call (to another
        # symbol, or through a pointer).
        if mnem.startswith("call") or mnem.startswith("jmp") and (
                "@R_X86_64" in text or "*" in text or
                re.search(r"<[^+]", text)):
            c["calls"] += 1
            target = re.search(r"@R_X86_64_\w+:(\S+)", text) or \
                re.search(r"<([^>+]+)>", text)
            callees.add(target.group(1) if target else "(indirect)")
        elif mnem.startswith("j") and not mnem.startswith("jmp"):
            c["branches"] += 1
        mem = [i for i, o in enumerate(ops) if is_mem(o)]
        if "lock" in prefixes or (mnem.startswith("xchg") and mem):
            c["atomics"] += 1
        if not mem or NO_ACCESS.match(mnem) or mnem in ("push", "pop"):
            continue
        dest = len(ops) - 1
        if READ_ONLY.match(mnem) or any(i != dest for i in mem) or \
                not WRITE_ONLY.match(mnem):
            c["loads"] += 1
        if dest in mem and not READ_ONLY.match(mnem):
            c["stores"] += 1
    return c, sorted(callees)


def change(cb, cs):
    """"loads +1, insns +3", or "identical" when nothing differs."""
    parts = [f"{k} {cs[k] - cb[k]:+d}" for k in COUNTS if cs[k] != cb[k]]
    return ", ".join(parts)


def readme_rows(readme, title):
    """(function, object, expectation) rows of the table under TITLE."""
    lines = Path(readme).read_text(encoding="utf-8").splitlines()
    try:
        at = next(i for i, l in enumerate(lines)
                  if l.startswith("#") and l.lstrip("#").strip() == title)
    except StopIteration:
        sys.exit(f"mcdiff: no heading \"{title}\" in {readme}")
    rows = []
    for line in lines[at + 1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`") or \
                set(cells[0]) <= set("-: "):
            continue
        rows.append((cells[0].strip("`"), cells[1].strip("`"), cells[-1]))
    if not rows:
        sys.exit(f"mcdiff: no function rows under \"{title}\" in {readme}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base")
    ap.add_argument("series")
    ap.add_argument("objs", nargs="*")
    ap.add_argument("--readme")
    ap.add_argument("--section", default="Machine code")
    ap.add_argument("--table")
    ap.add_argument("--show", action="append", default=[])
    args = ap.parse_args()

    rows = readme_rows(args.readme, args.section) if args.readme else []
    objs = list(dict.fromkeys(args.objs + [r[1] for r in rows]))
    code = {}
    for obj in objs:
        for side, out in (("base", args.base), ("series", args.series)):
            path = Path(out) / obj
            if not path.is_file():
                sys.exit(f"mcdiff: no {path}: was it built?")
            code[side, obj] = disassemble(path)

    fail = 0
    table = ["| function | object | base: " + ", ".join(COUNTS) +
             " | series | calls (series) | what changes |",
             "|---|---|---|---|---|---|"]
    wanted = rows or [(f, o, None) for o in objs
                      for f in sorted(set(code["base", o]) |
                                      set(code["series", o]))]
    for func, obj, want in wanted:
        base, series = code["base", obj].get(func), code["series", obj].get(func)
        if base is None or series is None:
            side = "base" if base is None else "series"
            print(f"FAIL machine code: {func} not in the {side}'s {obj} "
                  "(inlined, renamed or gone)")
            fail = 1
            continue
        cb, _ = count(base)
        cs, callees = count(series)
        same = base == series
        got = "identical" if same else (change(cb, cs) or
                                        "same counts, other instructions")
        table.append(f"| `{func}` | `{obj}` | "
                     + " ".join(str(cb[k]) for k in COUNTS) + " | "
                     + " ".join(str(cs[k]) for k in COUNTS) + " | "
                     + (", ".join(callees) or "none") + f" | {got} |")
        if want is not None:
            ok = want == got
            print(f"{'PASS' if ok else 'FAIL'} machine code: {func} "
                  f"({obj}): {got}" + ("" if ok else f", README says: {want}"))
            fail |= not ok
        if func in args.show or (want == "identical" and not same):
            for line in difflib.unified_diff(base, series, "base", "series",
                                             lineterm="", n=2):
                print(f"  | {line}")
    if args.table:
        Path(args.table).write_text("\n".join(table) + "\n", encoding="utf-8")
    if not rows:
        print("\n".join(table))
    return fail


if __name__ == "__main__":
    sys.exit(main())
