#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The benchmark command still runs: bench/run.py at a tiny size over the build under test
(the real benchmark, docs/performance.md, is not part of the test suite)."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    c = harness.Checker("bench_smoke")
    build = os.environ.get("ONESTOP_BUILD", os.path.join(harness.SRC, "build"))
    cache = tempfile.mkdtemp(prefix="onestop-benchcache-")
    out = os.path.join(cache, "result.json")
    p = subprocess.run([sys.executable, os.path.join(harness.SRC, "bench", "run.py"),
                        "--build", build, "--sizes", "3000", "--runs", "1", "--json", out],
                       env=dict(os.environ, ONESTOP_BENCH_CACHE=cache), capture_output=True,
                       text=True, timeout=600)
    c.eq(p.returncode, 0, "bench/run.py exit (stderr: %s)" % p.stderr[-2000:])
    c.check("| 3,000 |" in p.stdout, "the table has the run: %s" % p.stdout[-1500:])
    if os.path.exists(out):
        import json
        r = json.load(open(out))["results"][0]
        c.eq(r["stored"], 3000, "every generated dossier stored")
        c.check(r["compute_mean_ms"] > 0 and r["report_mean_ms"] > 0, "query timings measured")
        c.check(r["reference_report_ms"] > 0, "reference timing measured")
        c.check(r["rss_mib"] > 0, "peak RSS measured")
    c.done()


if __name__ == "__main__":
    main()
