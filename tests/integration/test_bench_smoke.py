#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The benchmark command still runs: bench/run.py at a tiny size over the build under test
(the real benchmark, docs/performance.md, is not part of the test suite)."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


HTTP_COLUMNS = ("/metrics bytes", "/metrics req/s", "static req/s", "ratio", "p99 /metrics",
                "p99 static", "p99 /metrics while reports run", "reports meanwhile")


def check_http_columns(c, out):
    """The final table names the /metrics columns, and the run's row has a number in each."""
    lines = [ln for ln in out.splitlines() if ln.startswith("| ")]
    head = next((ln for ln in lines if ln.startswith("| dossiers |")), None)
    row = next((ln for ln in lines if ln.startswith("| 3,000 |")), None)
    if not c.check(head is not None and row is not None, "the final table: %s" % out[-1500:]):
        return
    names = [x.strip() for x in head.strip("|").split("|")]
    cells = [x.strip() for x in row.strip("|").split("|")]
    c.eq(len(cells), len(names), "cells in the row")
    for col in HTTP_COLUMNS:
        if not c.check(col in names, "column %r in %s" % (col, head)):
            continue
        cell = cells[names.index(col)] if names.index(col) < len(cells) else ""
        c.check(re.fullmatch(r"[\d,]+(\.\d+)?( ms)?", cell) is not None,
                "column %r holds a number: %r" % (col, cell))


def main():
    c = harness.Checker("bench_smoke")
    build = os.environ.get("ONESTOP_BUILD", os.path.join(harness.SRC, "build"))
    cache = tempfile.mkdtemp(prefix="onestop-benchcache-")
    out = os.path.join(cache, "result.json")
    p = subprocess.run([sys.executable, os.path.join(harness.SRC, "bench", "run.py"),
                        "--build", build, "--sizes", "3000", "--runs", "1", "--wrk-seconds", "1",
                        "--json", out],
                       env=dict(os.environ, ONESTOP_BENCH_CACHE=cache), capture_output=True,
                       text=True, timeout=600)
    c.eq(p.returncode, 0, "bench/run.py exit (stderr: %s)" % p.stderr[-2000:])
    c.check("| 3,000 |" in p.stdout, "the table has the run: %s" % p.stdout[-1500:])
    check_http_columns(c, p.stdout)
    if os.path.exists(out):
        import json
        r = json.load(open(out))["results"][0]
        c.eq(r["stored"], 3000, "every generated dossier stored")
        c.check(r["compute_mean_ms"] > 0 and r["report_mean_ms"] > 0, "query timings measured")
        c.check(r["reference_report_ms"] > 0, "reference timing measured")
        c.check(r["rss_mib"] > 0, "peak RSS measured")
        c.check(r["serve_rss_mib"] > 0, "the serving daemon's peak RSS measured")
        c.check(r["metrics_bytes"] > 1000, "the /metrics body measured: %r" % r.get("metrics_bytes"))
        for k in ("metrics_rps", "static_rps", "loaded_rps", "metrics_p99_ms", "static_p99_ms",
                  "loaded_p99_ms"):
            c.check(r[k] > 0, "%s measured: %r" % (k, r[k]))
        c.check(abs(r["metrics_static_ratio"] - r["metrics_rps"] / r["static_rps"]) < 1e-9,
                "the ratio is /metrics over static")
        c.check(r["loaded_reports"] >= 1, "reports ran during the loaded run: %r"
                % r["loaded_reports"])
    c.done()


if __name__ == "__main__":
    main()
