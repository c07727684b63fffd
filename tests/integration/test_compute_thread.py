#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The computation runs off the sync path (docs/design.md, "Threads and data flow"):

1. A long sync never delays the snapshot: while a slow feed is read page by page, /metrics
   is recomputed on time, from the pages committed so far, and shows the sync getting on.
2. A slow query never delays a page: with the computation blocked on a lock another
   session holds, the next sync still stores its pages and moves its cursor, and /healthz
   answers; once the lock goes the page catches up.
3. onestop_source_sync_duration_seconds and onestop_compute_duration_seconds are there and
   tell the two apart."""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DELAY = 0.3
PAGE = 100


def sample(text, name, labels=""):
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else None


def metrics(d):
    status, _, body = d.http("/metrics")
    return body.decode("utf-8") if status == 200 else ""


def metrics_or_none(d):
    try:
        return metrics(d)
    except (OSError, ConnectionError):
        return None


def compute_waiting(pg):
    rows = pg.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                   "'onestopd-compute' AND wait_event_type = 'Lock'")
    return bool(rows) and rows[0][0] != "0"


def main():
    c = harness.Checker("compute_thread")
    work = tempfile.mkdtemp(prefix="onestop-cmp-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--dossiers", 3000, "--delay", DELAY, "--seed", 11)
    holder = None
    d = None
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim,
                                   as_of="2022-12-20", page_size=PAGE, interval="4s",
                                   metrics_interval="1s", sources=("igate",))
        d = harness.Daemon(cfg)
        # Not wait_ready: the leader is ready only once the first sync has ended.
        deadline = time.time() + 60
        while time.time() < deadline and not metrics_or_none(d):
            time.sleep(0.1)

        # 1. The first sync reads about 30 pages, DELAY s each.
        computed, fetched, stored = set(), set(), set()
        deadline = time.time() + 120
        text = ""
        while time.time() < deadline:
            text = metrics(d)
            if sample(text, "onestop_source_sync_duration_seconds", '{source="igate"}') is not None:
                break
            ts = sample(text, "onestop_metrics_computed_timestamp_seconds")
            if ts is not None:
                computed.add(ts)
            fetched.add(sample(text, "onestop_source_records_total", '{source="igate"}'))
            stored.add(sample(text, "onestop_stored_records", '{kind="dossier"}'))
            time.sleep(0.25)
        took = sample(text, "onestop_source_sync_duration_seconds", '{source="igate"}')
        c.check(took is not None, "the first sync ended (sync duration gauge present)")
        print("first sync: %.1f s; %d computations, %d records_total values, %d stored values "
              "seen meanwhile" % (took or 0, len(computed), len(fetched), len(stored)))
        c.check(took is not None and took >= 20 * DELAY,
                "the sync duration covers the slow pages (%s s)" % took)
        c.check(len(computed) >= 3, "recomputed during the sync (%d distinct computed "
                "timestamps)" % len(computed))
        c.check(len(fetched - {None}) >= 3, "records_total moved during the sync (%s)"
                % sorted(fetched - {None}))
        c.check(len(stored - {None}) >= 3, "the stored count moved during the sync (%s)"
                % sorted(stored - {None}))
        cd = sample(text, "onestop_compute_duration_seconds")
        c.check(cd is not None and took is not None and cd < took, "the computation (%s s) is not the sync (%s s)"
                % (cd, took))

        # 2. Block the computation on indicator_daily (it reads and, on the leader, writes
        # it; no sync touches it), then give the feed new versions to sync.
        cursor0 = pg.scalar("SELECT cursor_time FROM sync_cursors WHERE source = 'igate' AND "
                            "feed = 'dossier'")
        holder = subprocess.Popen(
            ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
             "-d", "onestop", "-c",
             "BEGIN; LOCK TABLE indicator_daily IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300);"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, PGAPPNAME="lockholder"))
        deadline = time.time() + 30
        while time.time() < deadline and not compute_waiting(pg):
            time.sleep(0.2)
        c.check(compute_waiting(pg), "the computation is blocked on the lock")
        blocked_ts = sample(metrics(d), "onestop_metrics_computed_timestamp_seconds")
        changed = sim.post("/_sim/mutate?n=250&seed=5")["codes"]
        deadline = time.time() + 60
        cursor = cursor0
        while time.time() < deadline and cursor == cursor0:
            cursor = pg.scalar("SELECT cursor_time FROM sync_cursors WHERE source = 'igate' "
                               "AND feed = 'dossier'")
            time.sleep(0.3)
        c.check(cursor != cursor0, "the next sync stored its pages while the computation "
                "waited (cursor %s -> %s)" % (cursor0, cursor))
        # Let that sync end: its pages are in, and the main loop is still free.
        time.sleep(3 * DELAY + 1)
        c.check(compute_waiting(pg), "the computation still waits")
        status, _, _ = d.http("/healthz")
        c.eq(status, 200, "/healthz while the computation waits")
        text = metrics(d)
        c.eq(sample(text, "onestop_metrics_computed_timestamp_seconds"), blocked_ts,
             "/metrics still serves the last snapshot")
        arr = "ARRAY[" + ",".join("'%s'" % x for x in changed) + "]"
        moved = int(pg.scalar("SELECT count(*) FROM dossiers WHERE code = ANY(%s) AND "
                              "to_char(updated_at, 'YYYYMMDDHH24MISS') > '%s'" % (arr, cursor0)))
        c.eq(moved, len(changed), "every changed dossier is stored in its new version")

        # A killed psql leaves its backend asleep with the lock: end the backend.
        pg.psql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "application_name = 'lockholder'")
        holder.wait()
        holder = None
        deadline = time.time() + 30
        ts = blocked_ts
        while time.time() < deadline and (ts is None or blocked_ts is not None and ts <= blocked_ts):
            ts = sample(metrics(d), "onestop_metrics_computed_timestamp_seconds")
            time.sleep(0.3)
        c.check(ts is not None and (blocked_ts is None or ts > blocked_ts),
                "the page is recomputed once the lock is gone")
    finally:
        if holder:
            holder.kill()
        if d:
            d.stop()
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
