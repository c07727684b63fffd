#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End to end: feed simulator -> onestopd -> private PostgreSQL -> /metrics.

The expected values come from reference.py, an independent Python reading of
metrics.md applied to the simulator's own dump of what it serves. The data set's seed
and size are not the ones the code was developed against (ONESTOP_TEST_SEED overrides).
Both the daemon's TZ and the PostgreSQL server's TimeZone are UTC."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402

AS_OF = "2022-12-20"
SEED = int(os.environ.get("ONESTOP_TEST_SEED", "20221220"))
FAMILIES_WITH_PERIOD = ("onestop_dossiers_carried_over", "onestop_dossiers_received",
                        "onestop_dossiers_resolved", "onestop_dossiers_pending")


def compare(c, got, want, what):
    """Every expected series present with its value, no unexpected series (a missing
    zero-valued series counts as 0 only where reference.py allows it)."""
    problems = reference.diff_metrics(want, got)
    for p in problems[:50]:
        c.check(False, "%s: %s" % (what, p))
    c.check(not problems, "%s: %d difference(s)" % (what, len(problems)))


def invariant(c, got):
    """carried over + received new = resolved + pending, for every agency and period."""
    sums = {}
    for (fam, labels), v in got.items():
        if fam not in FAMILIES_WITH_PERIOD:
            continue
        lab = dict(labels)
        k = (lab["agency"], lab["period"])
        s = sums.setdefault(k, [0, 0])
        if fam in ("onestop_dossiers_carried_over", "onestop_dossiers_received"):
            s[0] += v
        else:
            s[1] += v
    c.check(len(sums) > 0, "no Biểu 06 series at all")
    for k, (left, right) in sums.items():
        c.eq(left, right, "invariant carried+received = resolved+pending for %s" % (k,))


def main():
    c = harness.Checker("end_to_end")
    work = tempfile.mkdtemp(prefix="onestop-e2e-")
    pg = harness.PgCluster(timezone="UTC")
    sim = harness.FeedSim("--seed", SEED, "--dossiers", 6000, "--as-of", AS_OF, "--bad-ratio", 0.03)
    d = None
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                   page_size=250)
        d = harness.Daemon(cfg)
        d.wait_ready()
        text = d.metrics_text()
        status, headers, _ = d.http("/metrics")
        c.check(headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
                "Content-Type %r" % headers.get("Content-Type"))
        ok, out = harness.promtool_check(text)
        if ok is not None:
            c.check(ok, "promtool check metrics: " + out)
        got = reference.parse_exposition(text)
        dump = sim.dump()
        want = reference.expected_metrics(dump, AS_OF, period_mode="calendar")
        compare(c, got, want, "calendar")
        invariant(c, got)
        nonzero = [v for (f, l), v in got.items() if f == "onestop_dossiers_received" and v > 0]
        c.check(len(nonzero) > 0, "some dossiers received")
        for fam in ("onestop_source_up", "onestop_source_records_total",
                    "onestop_source_last_success_timestamp_seconds", "onestop_build_info",
                    "onestop_metrics_computed_timestamp_seconds"):
            c.check(any(k[0] == fam for k in got), "family %s present" % fam)
        c.eq(got.get(("onestop_source_up", frozenset({"source": "igate"}.items()))), 1.0, "igate up")
        # Every record stored exactly once: the database agrees with the dump.
        c.eq(int(pg.scalar("SELECT count(*) FROM dossiers")),
             int(want[("onestop_stored_records", frozenset({"kind": "dossier"}.items()))]),
             "stored dossiers")
        c.eq(pg.scalar("SELECT count(*) - count(DISTINCT code) FROM dossiers"), "0", "no duplicates")
        # Secrets never reach the log.
        log = open(d.logpath, encoding="utf-8", errors="replace").read()
        c.check("s3cret" not in log and "vnpost-key" not in log, "no secret in the log")
    finally:
        if d:
            d.stop()
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
