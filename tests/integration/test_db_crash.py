#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The database dies in the middle of a sync and comes back 12 s later. Meanwhile
/metrics keeps serving the last indicators, onestop_database_up is 0, /readyz says 503
and onestop_source_up still speaks of the feed. The daemon reconnects by itself and
never exits; afterwards every dossier is stored exactly once at its latest version and
every family equals the reference."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402

AS_OF = "2022-12-20"


def pages(pg):
    return int(pg.scalar("SELECT coalesce(sum(pages), 0) FROM sync_cursors"))


def sample(got, fam, **labels):
    return got.get((fam, frozenset(labels.items())))


def main():
    c = harness.Checker("db_crash")
    work = tempfile.mkdtemp(prefix="onestop-dbcrash-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 31, "--dossiers", 6000, "--as-of", AS_OF, "--delay", 0.02)
    d = None
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                   page_size=50, interval="2s", metrics_interval="1s")
        d = harness.Daemon(cfg)
        d.wait_ready()
        before = reference.parse_exposition(d.metrics_text())
        c.eq(sample(before, "onestop_source_up", source="igate"), 1.0, "igate up after the first sync")
        c.eq(sample(before, "onestop_database_up"), 1.0, "database up")

        # Changes to page through: the next cycles walk tens of pages of 50.
        sim.post("/_sim/mutate?n=3000")
        start = pages(pg)
        deadline = time.time() + 60
        while time.time() < deadline and pages(pg) < start + 3:
            time.sleep(0.05)
        c.check(pages(pg) >= start + 3, "a sync of the changes is under way")
        pg.crash()
        crashed = time.time()
        print("database crashed in the middle of a sync", flush=True)

        saw_down = False
        while time.time() - crashed < 12:
            status, _, body = d.http("/metrics", timeout=5)
            c.eq(status, 200, "/metrics answers while the database is down")
            got = reference.parse_exposition(body.decode("utf-8"))
            c.check(any(k[0] == "onestop_on_time_ratio" for k in got),
                    "the indicators stay on the page")
            if sample(got, "onestop_database_up") == 0.0:
                saw_down = True
                c.eq(sample(got, "onestop_source_up", source="igate"), 1.0,
                     "the feed is still up while the database is down")
                rstatus, _, _ = d.http("/readyz", timeout=5)
                c.eq(rstatus, 503, "/readyz says 503 while the database is down")
            c.check(d.proc.poll() is None, "the daemon is still running")
            time.sleep(1)
        c.check(saw_down, "onestop_database_up fell to 0")

        pg.start()
        deadline = time.time() + 90
        ready = False
        while time.time() < deadline:
            rstatus, _, _ = d.http("/readyz", timeout=5)
            got = reference.parse_exposition(d.metrics_text())
            if rstatus == 200 and sample(got, "onestop_database_up") == 1.0:
                ready = True
                break
            time.sleep(0.5)
        c.check(ready, "the daemon reconnected by itself and is ready again")
        c.check(d.proc.poll() is None, "and it never exited")
        # Let the interrupted sync finish and one more cycle run, then compare.
        sim.post("/_sim/faults?rate=0")
        time.sleep(8)
        dump = sim.dump()
        latest = reference.latest_dossiers(dump)
        rows = pg.psql("onestop", "SELECT code, to_char(updated_at, 'YYYYMMDDHH24MISS') FROM dossiers")
        got_rows = {}
        for code, upd in rows:
            c.check(code not in got_rows, "dossier %s stored once" % code)
            got_rows[code] = upd
        stale = [k for k, v in latest.items() if got_rows.get(k) != v["NgayCapNhat"]]
        c.check(not stale, "every dossier at its latest version (first bad: %r)" % stale[:5])
        c.check(not (set(got_rows) - set(latest)), "nothing the feed does not have")
        got = reference.parse_exposition(d.metrics_text())
        want = reference.expected_metrics(dump, AS_OF, period_mode="calendar")
        problems = reference.diff_metrics(want, got)
        for p in problems[:20]:
            c.check(False, "after recovery: %s" % p)
        c.check(not problems, "every family equals the reference (%d differences)" % len(problems))
    finally:
        if d:
            d.stop()
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
