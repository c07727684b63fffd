#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The licence stays stated: LICENSE is the Apache License 2.0, and every source file the
repository tracks names it in an SPDX line near its top. The SQL migrations that were
released before the line was introduced are the exception: their checksums are stored in
every database they migrated, so their text never changes."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TAG = "SPDX-License-Identifier: Apache-2.0"
SOURCE_EXT = (".c", ".h", ".py", ".sh", ".cmake", ".sql", ".yml", ".yaml", ".in")
RELEASED_MIGRATIONS = ("sql/0001_", "sql/0002_", "sql/0003_")


def main():
    c = harness.Checker("license")
    lic = open(os.path.join(harness.SRC, "LICENSE"), encoding="utf-8").read()
    c.check("Apache License" in lic and "Version 2.0, January 2004" in lic,
            "LICENSE is the Apache License 2.0")
    try:
        files = subprocess.run(["git", "ls-files"], cwd=harness.SRC, capture_output=True,
                               text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        files = []
        for top, _, names in os.walk(harness.SRC):
            rel = os.path.relpath(top, harness.SRC)
            if rel != "." and rel.split(os.sep)[0].startswith((".", "_", "build")):
                continue
            files += [os.path.relpath(os.path.join(top, n), harness.SRC) for n in names]
    checked = 0
    for f in sorted(files):
        base = os.path.basename(f)
        if not (f.endswith(SOURCE_EXT) or base in ("CMakeLists.txt",)
                or f.endswith(".conf.example")):
            continue
        if f.startswith(RELEASED_MIGRATIONS) or f.startswith("tests/fixtures/"):
            continue
        path = os.path.join(harness.SRC, f)
        if not os.path.isfile(path):
            continue
        head = open(path, encoding="utf-8", errors="replace").read(400)
        checked += 1
        c.check(TAG in head, "%s carries the SPDX line" % f)
    c.check(checked > 100, "checked the sources (%d files)" % checked)
    c.done()


if __name__ == "__main__":
    main()
