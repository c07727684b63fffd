#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Soak: the daemon against a misbehaving feed for a long while, with records changing
while it pages and scrapes and reports running all along. Not a CI test: it runs for
--minutes (30 by default) and prints what a long run should show flat or zero:

  - the slope of onestopd's resident memory and of its open file descriptors (least
    squares over samples taken every 5 s, after a warm-up), per hour;
  - records lost and duplicated: once the faults stop and a clean cycle ran, every
    dossier of the feed must be stored exactly once, at its latest version;
  - restarts: the daemon must never exit (its PID is checked at every sample).

    python3 scripts/soak.py                       # 30 min, 20 % faults
    python3 scripts/soak.py --minutes 5 --build build

Needs a build (build/onestopd by default) and the packages scripts/deps.sh installs.
"""

import argparse
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)


def slope_per_hour(samples):
    """Least-squares slope of (t seconds, v) pairs, in v per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    den = sum((t - mt) ** 2 for t, _ in samples)
    if den == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in samples) / den * 3600.0


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--fault-rate", type=float, default=0.2)
    ap.add_argument("--dossiers", type=int, default=20000)
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()

    os.environ.setdefault("ONESTOPD", os.path.join(args.build, "onestopd"))
    os.environ.setdefault("ONESTOP_SRC", SRC)
    os.environ.setdefault("ONESTOP_BUILD", args.build)
    sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
    import harness  # noqa: E402
    import reference  # noqa: E402

    rnd = random.Random(args.seed)
    work = harness.tempfile.mkdtemp(prefix="onestop-soak-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", args.seed, "--dossiers", args.dossiers,
                          "--fault-rate", args.fault_rate)
    stop = threading.Event()
    counts = {"scrapes": 0, "scrape_errors": 0, "reports": 0, "report_errors": 0,
              "mutations": 0}
    try:
        port = harness.free_port()
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim,
                                   http_port=port, page_size=200, interval="10s",
                                   metrics_interval="10s")
        d = harness.Daemon(cfg)
        d.wait_ready()
        pid = d.proc.pid
        base = "http://127.0.0.1:%d" % port

        def get(path):
            with urllib.request.urlopen(base + path, timeout=30) as r:
                return r.read()

        def scraper():
            while not stop.is_set():
                try:
                    get("/metrics")
                    counts["scrapes"] += 1
                except (urllib.error.URLError, OSError):
                    counts["scrape_errors"] += 1
                stop.wait(1.0)

        def reporter():
            years = ["2024", "2025", "2026"]
            while not stop.is_set():
                y = rnd.choice(years)
                try:
                    get("/api/v1/report?from=%s-01-01&to=%s-12-31&format=%s"
                        % (y, y, rnd.choice(["json", "csv"])))
                    counts["reports"] += 1
                except urllib.error.HTTPError as e:
                    # 503 is the pool saying "busy, come back": allowed, not an error
                    counts["reports" if e.code == 503 else "report_errors"] += 1
                except (urllib.error.URLError, OSError):
                    counts["report_errors"] += 1
                stop.wait(2.0)

        def mutator():
            while not stop.is_set():
                try:
                    sim.post("/_sim/mutate?n=%d" % rnd.randint(5, 50))
                    sim.post("/_sim/mutate-during-paging?n=3")
                    counts["mutations"] += 1
                except (urllib.error.URLError, OSError):
                    pass
                stop.wait(5.0)

        threads = [threading.Thread(target=f, daemon=True)
                   for f in (scraper, scraper, reporter, mutator)]
        for t in threads:
            t.start()

        t0 = time.time()
        end = t0 + args.minutes * 60
        warmup = min(120.0, args.minutes * 60 / 5)
        rss, fds, restarts = [], [], 0
        while time.time() < end:
            time.sleep(5)
            if d.proc.poll() is not None or d.proc.pid != pid:
                restarts += 1
                print("soak: onestopd exited with %s" % d.proc.returncode, flush=True)
                break
            t = time.time() - t0
            if t >= warmup:
                rss.append((t, rss_kib(pid)))
                fds.append((t, nfds(pid)))
        stop.set()
        for t in threads:
            t.join(30)

        # Quiet the feed, let one clean cycle pass, then count.
        sim.post("/_sim/faults?rate=0")
        time.sleep(25)
        alive = d.proc.poll() is None
        d.stop()
        dump = sim.dump()
        latest = reference.latest_dossiers(dump)
        rows = pg.psql("onestop", "SELECT code, to_char(updated_at, 'YYYYMMDDHH24MISS') "
                                  "FROM dossiers")
        got = {}
        dup = 0
        for code, upd in rows:
            dup += code in got
            got[code] = upd
        lost = sum(1 for k, v in latest.items() if got.get(k) != v["NgayCapNhat"])
        extra = len(set(got) - set(latest))
        stats = sim.get("/_sim/stats")

        print()
        print("soak: %.1f min, fault rate %.0f %%, %d dossiers, seed %d"
              % (args.minutes, args.fault_rate * 100, args.dossiers, args.seed))
        print("%-34s %s" % ("RSS slope (KiB/h)", "%.1f (from %d to %d KiB, %d samples)"
                            % (slope_per_hour(rss), rss[0][1] if rss else 0,
                               rss[-1][1] if rss else 0, len(rss))))
        print("%-34s %s" % ("open fds slope (/h)", "%.2f (from %d to %d)"
                            % (slope_per_hour(fds), fds[0][1] if fds else 0,
                               fds[-1][1] if fds else 0)))
        print("%-34s %d" % ("records lost or stale", lost))
        print("%-34s %d" % ("records duplicated", dup))
        print("%-34s %d" % ("records not in the feed", extra))
        print("%-34s %d" % ("restarts", restarts + (0 if alive else 1)))
        print("%-34s %s" % ("scrapes (errors)", "%d (%d)" % (counts["scrapes"],
                                                             counts["scrape_errors"])))
        print("%-34s %s" % ("reports (errors)", "%d (%d)" % (counts["reports"],
                                                             counts["report_errors"])))
        print("%-34s %d" % ("mutation rounds", counts["mutations"]))
        print("%-34s %s" % ("faults injected", stats.get("faults")))
        ok = lost == 0 and dup == 0 and extra == 0 and restarts == 0 and alive
        print("soak: %s" % ("OK" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        stop.set()
        sim.stop()
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
