#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The layer check holds on the tree, and it catches what it is for: a planted include
cycle and an adapter that includes config.h each make it fail, naming the files."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SCRIPT = os.path.join(harness.SRC, "scripts", "check-layers.py")


def run(root):
    p = subprocess.run([sys.executable, SCRIPT, root], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def copy_tree(dst):
    for d in ("daemon", "adapters"):
        shutil.copytree(os.path.join(harness.SRC, d), os.path.join(dst, d))


def append_include(path, header):
    with open(path, "a", encoding="utf-8") as f:
        f.write('\n#include "%s"\n' % header)


def main():
    c = harness.Checker("layers")
    rc, out = run(harness.SRC)
    c.check(rc == 0, "the tree has no include cycle and adapters stay on their floor: " + out)
    generated = subprocess.run([sys.executable, SCRIPT, "--map", harness.SRC],
                               capture_output=True, text=True, check=True).stdout
    design = open(os.path.join(harness.SRC, "docs", "design.md"), encoding="utf-8").read()
    a, b = "<!-- BEGIN MODULE MAP -->\n", "<!-- END MODULE MAP -->"
    c.check(a in design and b in design, "docs/design.md has the module map markers")
    if a in design and b in design:
        shown = design[design.index(a) + len(a):design.index(b)]
        c.eq(shown, generated, "docs/design.md's module map is the one the tree has "
                               "(regenerate: python3 scripts/check-layers.py --map)")

    with tempfile.TemporaryDirectory(prefix="onestop-layers-") as work:
        copy_tree(work)
        # util.h is the floor; making it include sync.h closes a loop through everything.
        append_include(os.path.join(work, "daemon", "util.h"), "sync.h")
        rc, out = run(work)
        c.check(rc == 1, "a planted cycle fails the check (exit %d)" % rc)
        c.check("include cycle:" in out and "util" in out and "sync" in out,
                "the message names the cycle: " + out.strip()[:300])
        c.check("daemon/util.h:" in out, "the message names the planted line's file")

    with tempfile.TemporaryDirectory(prefix="onestop-layers-") as work:
        copy_tree(work)
        append_include(os.path.join(work, "adapters", "vnpost.c"), "config.h")
        rc, out = run(work)
        c.check(rc == 1, "an adapter including config.h fails the check (exit %d)" % rc)
        c.check("adapters/vnpost.c:" in out and "config.h" in out,
                "the message names the adapter file and config.h: " + out.strip()[:300])
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
