#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The demo: a private PostgreSQL cluster, the feed simulator with a data set around
today, and onestopd serving /metrics. Runs until Ctrl-C (or DEMO_SECONDS)."""

import argparse
import os
import signal
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("ONESTOPD", os.path.join(ROOT, "build", "onestopd"))
os.environ.setdefault("ONESTOP_SRC", ROOT)

import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "9787")))
    ap.add_argument("--dossiers", type=int, default=20000)
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("DEMO_SECONDS", "0")))
    args = ap.parse_args()

    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))
    work = tempfile.mkdtemp(prefix="onestop-demo-")
    print("demo: starting a private PostgreSQL cluster ...", flush=True)
    pg = harness.PgCluster()
    print("demo: starting the feed simulator (%d dossiers around %s) ..." % (args.dossiers, today), flush=True)
    sim = harness.FeedSim("--seed", 7, "--dossiers", args.dossiers, "--as-of", today)
    cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, http_port=args.port,
                               interval="60s", metrics_interval="30s", page_size=1000)
    print("demo: configuration in %s" % cfg, flush=True)
    d = harness.Daemon(cfg, env={"TZ": os.environ.get("TZ", "UTC")})
    stopping = []

    def on_signal(sig, frame):
        stopping.append(sig)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        d.wait_ready()
        text = d.metrics_text()
        sample = [l for l in text.splitlines() if l.startswith("onestop_on_time_ratio{agency=\"ALL\"")]
        print("\nonestopd is serving real indicators at %s/metrics" % d.url)
        print("  report API: %s/api/v1/report?from=%s-01-01&to=%s" % (d.url, today[:4], today))
        print("  log: %s" % d.logpath)
        for l in sample:
            print("  " + l)
        print("Press Ctrl-C to stop.", flush=True)
        start = time.time()
        while not stopping and d.proc.poll() is None:
            if args.seconds and time.time() - start > args.seconds:
                break
            time.sleep(0.5)
    finally:
        rc = d.stop()
        sim.stop()
        pg.stop()
        print("demo: stopped (onestopd exit %s)" % rc, flush=True)


if __name__ == "__main__":
    main()
