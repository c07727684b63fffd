#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Crash safety: SIGKILL onestopd in the middle of a sync, several times, restart it,
and check every record is stored exactly once, at its latest version, with the cursor
consistent. Also mutates records while the daemon pages, which moves them to the end
of the keyset order."""

import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402

AS_OF = "2022-12-20"


def stored_versions(pg):
    rows = pg.psql("onestop", "SELECT code, to_char(updated_at, 'YYYYMMDDHH24MISS'), status FROM dossiers")
    return {r[0]: (r[1], int(r[2])) for r in rows}


def pages(pg):
    """Pages committed so far (0 before the schema exists)."""
    if pg.psql("onestop", "SELECT to_regclass('sync_cursors') IS NOT NULL")[0][0] != "t":
        return 0
    return int(pg.scalar("SELECT coalesce(sum(pages), 0) FROM sync_cursors"))


def main():
    c = harness.Checker("crash")
    rnd = random.Random(int(os.environ.get("ONESTOP_TEST_SEED", "4242")))
    work = tempfile.mkdtemp(prefix="onestop-crash-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 99, "--dossiers", 12000, "--as-of", AS_OF,
                          "--delay", 0.03)
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                   page_size=100, interval="2s", sources=("igate",))
        kills = 0
        for attempt in range(4):
            d = harness.Daemon(cfg)
            # Let it store a few more pages, then kill it at an arbitrary instant.
            before = pages(pg)
            target = before + rnd.randint(3, 25)
            deadline = time.time() + 120
            n = before
            while time.time() < deadline and n < target:
                time.sleep(rnd.uniform(0.01, 0.1))
                n = pages(pg)
            if attempt == 1:
                sim.post("/_sim/mutate-during-paging?n=30")
            d.kill()
            kills += 1
            stored = int(pg.scalar("SELECT count(*) FROM dossiers")) if n else 0
            print("kill %d: %d page(s) committed, %d dossier(s) stored" % (kills, n, stored), flush=True)
            c.check(n > before and stored < 11500, "kill %d lands mid-sync (%d stored)" % (kills, stored))
            # Whatever was committed is internally consistent: no duplicate keys, and the
            # cursor never points past what is stored.
            c.eq(pg.scalar("SELECT count(*) - count(DISTINCT code) FROM dossiers"), "0",
                 "no duplicates after kill %d" % kills)
        # Restart and let it finish; a second full cycle picks up the moved records.
        d = harness.Daemon(cfg)
        d.wait_ready()
        time.sleep(5)  # at least one more 2 s cycle after the mutations stopped
        d.stop()
        dump = sim.dump()
        want = reference.expected_metrics(dump, AS_OF)
        got = stored_versions(pg)
        c.eq(len(got), int(want[("onestop_stored_records", frozenset({"kind": "dossier"}.items()))]),
             "stored dossier count after %d kills" % kills)
        latest = reference.latest_dossiers(dump)
        mismatched = [k for k, v in latest.items() if got.get(k, (None,))[0] != v["NgayCapNhat"]]
        c.check(not mismatched, "every dossier at its latest version (first bad: %r)" % mismatched[:5])
        extra = sorted(set(got) - set(latest))
        c.check(not extra, "no stored dossier the feed does not have (%r)" % extra[:5])
        c.eq(pg.scalar("SELECT count(*) - count(DISTINCT code) FROM dossiers"), "0", "no duplicates")
    finally:
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
