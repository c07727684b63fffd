#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Ingest benchmark: N dossiers from the simulator into a private PostgreSQL through
`onestopd --once`, then the indicator and report timings (onestop-bench).

    python3 bench/ingest.py [--dossiers 200000] [--page-size 1000]

Prints records/s, wall time, the daemon's peak RSS (from wait4's rusage) and the
onestop-bench figures."""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("ONESTOPD", os.path.join(ROOT, "build", "onestopd"))
import harness  # noqa: E402

AS_OF = "2022-12-20"


def report_over_http(pg, work, runs):
    """The report API for one year through the real HTTP server, on the filled database."""
    port = harness.free_port()
    cfg = os.path.join(work, "api.conf")
    with open(cfg, "w") as f:
        f.write("[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%d\n"
                "[metrics]\nas_of = %s\n" % (pg.conninfo, port, AS_OF))
    d = harness.Daemon(cfg)
    try:
        d.wait_ready(60)
        for path in ("/api/v1/report?from=2022-01-01&to=2022-12-20",
                     "/api/v1/report?from=2021-01-01&to=2021-12-31&format=csv",
                     "/metrics"):
            d.http(path)  # warm-up
            times = []
            for _ in range(max(runs, 10)):
                t = time.time()
                status, _, body = d.http(path)
                times.append((time.time() - t) * 1000)
                assert status == 200, status
            times.sort()
            print("GET %-52s runs=%d median=%.1f ms max=%.1f ms (%d bytes)"
                  % (path, len(times), times[len(times) // 2], times[-1], len(body)))
    finally:
        d.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dossiers", type=int, default=200000)
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="onestop-bench-")
    pg = harness.PgCluster()
    t0 = time.time()
    sim = harness.FeedSim("--seed", 11, "--dossiers", args.dossiers, "--as-of", AS_OF)
    print("simulator ready in %.1f s" % (time.time() - t0))
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                   page_size=args.page_size, sources=("igate",))
        env = dict(os.environ, TZ="UTC")
        start = time.time()
        p = subprocess.Popen([os.environ["ONESTOPD"], "-c", cfg, "--once", "--log-level", "warning"],
                             env=env, stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.time() - start
        rc = os.waitstatus_to_exitcode(status)
        stored = int(pg.scalar("SELECT count(*) FROM dossiers"))
        quarantined = int(pg.scalar("SELECT count(*) FROM quarantine"))
        items = stored + quarantined
        print("onestopd --once exit %d" % rc)
        print("ingest: %d items (%d stored, %d quarantined) in %.2f s = %.0f records/s "
              "(page_size %d, includes fetching from the simulator and computing once)"
              % (items, stored, quarantined, wall, items / wall, args.page_size))
        print("onestopd peak RSS: %.1f MiB (ru_maxrss)" % (ru.ru_maxrss / 1024.0))
        print("onestopd CPU: user %.2f s, system %.2f s" % (ru.ru_utime, ru.ru_stime))
        bench = os.path.join(os.path.dirname(os.environ["ONESTOPD"]), "onestop-bench")
        subprocess.run([bench, cfg, AS_OF, str(args.runs)], check=True)
        report_over_http(pg, work, args.runs)
    finally:
        sim.stop()
        pg.stop()


if __name__ == "__main__":
    main()
