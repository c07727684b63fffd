#!/usr/bin/env python3
"""The docs stay true: README's option table is what the binary prints, the README
opens with the two commands, every metric family the daemon can emit is documented
in docs/metrics.md, and the example configuration passes --check-config."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    c = harness.Checker("docs")
    readme = open(os.path.join(harness.SRC, "README.md"), encoding="utf-8").read()
    ref = subprocess.run([harness.ONESTOPD, "--print-config-reference"], check=True,
                         capture_output=True, text=True).stdout
    c.check(ref in readme, "README's option table matches --print-config-reference "
                           "(run scripts/update-readme.sh)")
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    lines = [l for l in block.group(1).splitlines() if l.strip()] if block else []
    c.check(len(lines) >= 2 and lines[0].startswith("bash scripts/demo.sh")
            and lines[1].startswith("bash scripts/test.sh"),
            "README's first code block opens with the demo and test commands")

    # Every family name that metrics.c can write is documented.
    src = open(os.path.join(harness.SRC, "daemon", "metrics.c"), encoding="utf-8").read()
    families = set(re.findall(r'"(onestop_[a-z_]+)"', src))
    doc = open(os.path.join(harness.SRC, "docs", "metrics.md"), encoding="utf-8").read()
    c.check(len(families) > 20, "found the families in metrics.c (%d)" % len(families))
    for fam in sorted(families):
        c.check(fam in doc, "docs/metrics.md documents %s" % fam)
        c.check(fam in readme, "README lists %s" % fam)

    # The shipped example configuration is valid once its secret files exist.
    work = tempfile.mkdtemp(prefix="onestop-docs-")
    example = open(os.path.join(harness.SRC, "systemd", "onestopd.conf.example"), encoding="utf-8").read()
    for name in set(re.findall(r"^\s*\w+_file\s*=\s*(\S+)", example, re.M)):
        path = os.path.join(work, os.path.basename(name))
        with open(path, "w") as f:
            f.write("x\n")
    conf = os.path.join(work, "onestopd.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(example)
    p = subprocess.run([harness.ONESTOPD, "-c", conf, "--check-config"], capture_output=True,
                       text=True, env=dict(os.environ, CREDENTIALS_DIRECTORY=work))
    c.eq(p.returncode, 0, "example config passes --check-config: %s" % p.stderr.strip())
    c.done()


if __name__ == "__main__":
    main()
