#!/usr/bin/env python3
"""Merge Kconfig fragments into a .config, and check that olddefconfig kept them.

Uses the kernel tree's own KUnit Kconfig parser (tools/testing/kunit/kunit_config.py).

  kconfig.py TREE merge OUT FRAGMENT...   write the fragments, later ones winning, to OUT
  kconfig.py TREE verify CONFIG FRAGMENT... every option of the fragments is in CONFIG
"""
import os
import sys


def main():
    tree, cmd, target, *frags = sys.argv[1:]
    sys.path.insert(0, os.path.join(tree, "tools/testing/kunit"))
    import kunit_config

    want = kunit_config.Kconfig()
    for frag in frags:
        want.merge_in_entries(kunit_config.parse_file(frag))
    if cmd == "merge":
        # kunit_config's write_to_file() appends: start from an empty file.
        if os.path.exists(target):
            os.remove(target)
        want.write_to_file(target)
        return 0
    have = {e.name: e.value for e in kunit_config.parse_file(target).as_entries()}
    dropped = [e for e in want.as_entries()
               if have.get(e.name, "n") != e.value]
    for e in dropped:
        got = f"CONFIG_{e.name}={have[e.name]}" if e.name in have else "nothing"
        print(f"dropped: {e} (.config has {got}): olddefconfig removed it, a dependency is not met")
    if not dropped:
        print(f"all {len(have and list(want.as_entries()))} options of the fragments are set")
    return 1 if dropped else 0

if __name__ == "__main__":
    sys.exit(main())
