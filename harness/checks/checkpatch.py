#!/usr/bin/env python3
"""checkpatch.pl --strict on every patch of the series.

An ERROR fails the patch. A WARNING or CHECK fails it too unless
harness/checkpatch-allow.txt lists its type for that patch, with the reason.
A patch is named by its path below its series' "patches" folder
("net/0003-....patch" for 7.3's net series, "0003-....patch" for 6.12).

usage: checkpatch.py TREE PATCH...
"""
import fnmatch
import hashlib
import os
import re
import subprocess
import sys

ALLOW = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "checkpatch-allow.txt")
# checkpatch runs scripts/spdxcheck.py with the python3 found first on PATH: the
# system's, where deps.sh installs the modules it needs (ply, git).
ENV = dict(os.environ, PATH="/usr/bin:" + os.environ.get("PATH", ""))
REPORT = re.compile(r"^(ERROR|WARNING|CHECK):([A-Z0-9_]+): ")
# What checkpatch.pl reads besides the patch: its report is kept per patch,
# for a rerun of the same patch with the same checkpatch.
INPUTS = ("scripts/checkpatch.pl", "scripts/spelling.txt", "scripts/const_structs.checkpatch")


def checkpatch(tree, patch):
    h = hashlib.sha256(open(patch, "rb").read())
    for f in INPUTS:
        path = os.path.join(tree, f)
        h.update(open(path, "rb").read() if os.path.exists(path) else b"")
    kept = os.path.join(os.path.dirname(os.path.abspath(tree)), "checkpatch-kept",
                        h.hexdigest()[:24])
    if os.path.exists(kept):
        return open(kept).read()
    out = subprocess.run(
        ["perl", "scripts/checkpatch.pl", "--strict", "--show-types", "--no-summary",
         "--color=never", os.path.abspath(patch)],
        cwd=tree, capture_output=True, text=True, env=ENV, check=False)
    # Kept only when checkpatch ran to its end (it exits 1 on a report).
    if out.returncode in (0, 1) and not out.stderr.strip():
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        open(kept, "w").write(out.stdout)
    return out.stdout


def allowlist():
    rules = []
    for line in open(ALLOW):
        line = line.strip()
        if line and not line.startswith("#"):
            kind, glob, reason = line.split(None, 2)
            rules.append((kind, glob, reason))
    return rules


def series_name(patch):
    """The patch's path below the last "patches" folder of its path."""
    parts = os.path.abspath(patch).split(os.sep)
    if "patches" not in parts:
        return parts[-1]
    last = len(parts) - 1 - parts[::-1].index("patches")
    return "/".join(parts[last + 1:])


def main():
    tree, patches = sys.argv[1], sys.argv[2:]
    rules = allowlist()
    bad = 0
    for patch in patches:
        name = series_name(patch)
        out = checkpatch(tree, patch)
        blocks = out.split("\n\n")
        failed, allowed = [], []
        for block in blocks:
            m = REPORT.match(block)
            if not m:
                continue
            level, kind = m.groups()
            rule = next((r for r in rules if r[0] == kind and fnmatch.fnmatch(name, r[1])), None)
            if level != "ERROR" and rule:
                allowed.append(f"{level}:{kind} allowed: {rule[2]}")
            else:
                failed.append(block)
        for a in allowed:
            print(f"  {name}: {a}")
        print(f"{'FAIL' if failed else 'PASS'} checkpatch --strict: {name}")
        for block in failed:
            print(block)
        bad += bool(failed)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
