#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SIGTERM while the computation thread is blocked inside a query (waiting on a lock
another session holds) exits 0 within 10 s: the stop cancels the query."""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    c = harness.Checker("shutdown")
    work = tempfile.mkdtemp(prefix="onestop-stop-")
    pg = harness.PgCluster()
    holder = None
    d = None
    try:
        cfg = os.path.join(work, "onestopd.conf")
        port = harness.free_port()
        with open(cfg, "w") as f:
            f.write("[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%d\n"
                    "[metrics]\ninterval = 1s\nas_of = 2022-12-20\n" % (pg.conninfo, port))
        d = harness.Daemon(cfg)
        d.wait_ready(60)
        # Another session takes the dossiers table and keeps it for 60 s.
        holder = subprocess.Popen(
            ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
             "-d", "onestop", "-c",
             "BEGIN; LOCK TABLE dossiers IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait until the daemon's computation is waiting on that lock.
        deadline = time.time() + 20
        waiting = False
        while time.time() < deadline and not waiting:
            rows = pg.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE "
                           "application_name = 'onestopd-compute' AND wait_event_type = 'Lock'")
            waiting = rows and rows[0][0] != "0"
            time.sleep(0.2)
        c.check(waiting, "the daemon's computation is blocked on the lock")
        # The main thread is not: /metrics and /healthz still answer meanwhile.
        status, _, _ = d.http("/healthz")
        c.eq(status, 200, "/healthz while the computation waits")
        start = time.time()
        d.signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.time() - start
        print("shutdown took %.2f s" % took)
        c.eq(rc, 0, "exit status after SIGTERM")
        c.check(took < 10, "stopped within 10 s (%.2f s)" % took)
    finally:
        if holder:
            holder.kill()
        if d:
            d.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
