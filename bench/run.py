#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The standing benchmark (docs/performance.md): for each size, a private PostgreSQL is
filled through onestopd's own ingest path (`onestopd --once` against bench/feed.py's
pre-rendered iGate pages), then measured side by side:

  - ingest: dossiers stored per second by `onestopd --once` (fetch, decode, upsert,
    rollups, cursor), its peak RSS; and the raw COPY-staging upsert rate of the very rows
    it stored, in 1,000-row batches (onestop-copyrate), into a fresh database;
  - one computation of every indicator (onestop_compute_duration_seconds of the --once
    run, and model_compute timed by onestop-bench), a one-year report through the rollups
    (rollup_table) and through the report API over HTTP; the same tables by the reference
    SQL, for comparison.

    python3 bench/run.py --build DIR [--sizes 200000,1000000,5000000] [--runs 5]

Rendered feeds are kept in $ONESTOP_BENCH_CACHE (default /var/tmp/onestop-bench)."""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

AS_OF = "2022-12-20"
FEED = os.path.join(ROOT, "bench", "feed.py")
PAGE = 1000


def feed_dir(n, seed):
    cache = os.environ.get("ONESTOP_BENCH_CACHE", "/var/tmp/onestop-bench")
    d = os.path.join(cache, "feed-%d-s%d-p%d" % (n, seed, PAGE))
    if not os.path.exists(os.path.join(d, "index.json")):
        t = time.time()
        subprocess.run([sys.executable, FEED, "render", "--dossiers", str(n), "--out", d,
                        "--seed", str(seed), "--page-size", str(PAGE)], check=True)
        print("  rendered %d dossiers in %.0f s into %s" % (n, time.time() - t, d), flush=True)
    return d


class FeedServer:
    def __init__(self, d):
        self.dir = tempfile.mkdtemp(prefix="onestop-benchfeed-")
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen([sys.executable, FEED, "serve", d, "--port-file", port_file])
        deadline = time.time() + 60
        while not os.path.exists(port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the bench feed did not start")
            time.sleep(0.05)
        self.url = "http://127.0.0.1:%s" % open(port_file).read().strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def write_config(path, pg, url, http_port=None, sources=True):
    with open(os.path.join(os.path.dirname(path), "secret"), "w") as f:
        f.write("s3cret\n")
    lines = ["[database]", "conninfo = " + pg.conninfo, "", "[http]",
             "listen = 127.0.0.1:%d" % (http_port or harness.free_port()), "",
             "[metrics]", "as_of = " + AS_OF, ""]
    if sources:
        lines += ["[source.igate]", "adapter = igate", "base_url = " + url,
                  "token_url = " + url + "/token", "client_id = onestopd",
                  "client_secret_file = " + os.path.join(os.path.dirname(path), "secret"),
                  "page_size = %d" % PAGE, "timeout = 60s", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def pg_cpu(pg):
    """CPU seconds the cluster has used so far: its live processes, plus the backends that
    have exited (the postmaster reaps them, so they count in its children's times)."""
    tick = os.sysconf("SC_CLK_TCK")
    master = int(open(os.path.join(pg.data, "postmaster.pid")).readline())
    total = 0
    for pid in [master] + [int(x) for x in open("/proc/%d/task/%d/children" % (master, master)).read().split()]:
        try:
            f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12])
        if pid == master:
            total += int(f[13]) + int(f[14])
    return total / tick


def ingest(build, cfg):
    """onestopd --once: wall time, peak RSS and CPU from wait4, and the gauge."""
    start = time.time()
    p = subprocess.Popen([os.path.join(build, "onestopd"), "-c", cfg, "--once",
                          "--log-level", "warning"], stdout=subprocess.PIPE,
                         env=dict(os.environ, TZ="UTC"))
    out = p.stdout.read().decode("utf-8")
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - start
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise RuntimeError("onestopd --once exited %d" % rc)
    m = re.search(r"^onestop_compute_duration_seconds (\S+)$", out, re.M)
    return {"wall_s": wall, "rss_mib": ru.ru_maxrss / 1024.0,
            "cpu_s": ru.ru_utime + ru.ru_stime,
            "compute_gauge_ms": float(m.group(1)) * 1000 if m else float("nan")}


def copyrate(build, pg, work):
    """The raw rate, PostgreSQL's CPU counted over the load alone."""
    pg.psql("postgres", "DROP DATABASE IF EXISTS copyrate")
    pg.psql("postgres", "CREATE DATABASE copyrate")
    target = pg.conninfo.replace("dbname=onestop", "dbname=copyrate")
    rows = os.path.join(work, "rows.copy")
    tool = os.path.join(build, "onestop-copyrate")
    subprocess.run([tool, "export", pg.conninfo, rows], check=True, capture_output=True)
    cpu0 = pg_cpu(pg)
    out = subprocess.run([tool, "load", target, rows], check=True, capture_output=True,
                         text=True).stdout
    cpu = pg_cpu(pg) - cpu0
    os.unlink(rows)
    pg.psql("postgres", "DROP DATABASE copyrate")
    m = re.search(r"(\d+) rows in ([\d.]+) s", out)
    return int(m.group(1)), float(m.group(2)), cpu


def bench_queries(build, cfg, runs, reference):
    argv = [os.path.join(build, "onestop-bench"), cfg, AS_OF, str(runs)]
    if reference:
        argv.append("--reference")
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    sys.stdout.write("".join("    " + line + "\n" for line in out.splitlines()
                             if not line.startswith("RESULT")))
    res = json.loads(out.split("RESULT ", 1)[1])
    return {k: (v if v >= 0 else float("nan")) for k, v in res.items()}


def report_over_http(build, pg, work, runs):
    """The report API for one past year through the real HTTP server: median of runs."""
    port = harness.free_port()
    cfg = write_config(os.path.join(work, "api.conf"), pg, None, http_port=port, sources=False)
    env = dict(os.environ, ONESTOPD=os.path.join(build, "onestopd"))
    harness.ONESTOPD = env["ONESTOPD"]
    d = harness.Daemon(cfg)
    try:
        d.wait_ready(120)
        path = "/api/v1/report?from=2021-01-01&to=2021-12-31"
        d.http(path)  # warm-up: the pool connects
        times = []
        for _ in range(max(runs, 10)):
            t = time.time()
            status, _, _ = d.http(path)
            times.append((time.time() - t) * 1000)
            if status != 200:
                raise RuntimeError("report API answered %d" % status)
        return statistics.median(times)
    finally:
        d.stop()


def one_size(args, n):
    print("== %d dossiers" % n, flush=True)
    work = tempfile.mkdtemp(prefix="onestop-bench-")
    d = feed_dir(n, args.seed)
    pg = harness.PgCluster()
    srv = FeedServer(d)
    try:
        cfg = write_config(os.path.join(work, "onestopd.conf"), pg, srv.url)
        subprocess.run([os.path.join(args.build, "onestopd"), "-c", cfg, "--migrate"],
                       check=True, capture_output=True)
        r = {"dossiers": n}
        cpu0 = pg_cpu(pg)
        r.update(ingest(args.build, cfg))
        r["pg_cpu_s"] = pg_cpu(pg) - cpu0
        r["stored"] = int(pg.scalar("SELECT count(*) FROM dossiers"))
        r["quarantined"] = int(pg.scalar("SELECT count(*) FROM quarantine"))
        r["ingest_rows_s"] = r["stored"] / r["wall_s"]
        print("  ingest: %d stored in %.1f s = %.0f rows/s, peak RSS %.1f MiB, CPU %.1f s"
              " (PostgreSQL %.1f s)" % (r["stored"], r["wall_s"], r["ingest_rows_s"], r["rss_mib"],
                                        r["cpu_s"], r["pg_cpu_s"]), flush=True)
        rows, secs, r["copy_pg_cpu_s"] = copyrate(args.build, pg, work)
        r["copy_rows_s"] = rows / secs
        r["ratio"] = r["ingest_rows_s"] / r["copy_rows_s"]
        print("  raw COPY-staging upsert: %d rows in %.1f s = %.0f rows/s (PostgreSQL %.1f s CPU);"
              " ingest/raw = %.2f"
              % (rows, secs, r["copy_rows_s"], r["copy_pg_cpu_s"], r["ratio"]), flush=True)
        srv.stop()
        srv = None
        r.update(bench_queries(args.build, cfg, args.runs, not args.no_reference))
        r["api_report_ms"] = report_over_http(args.build, pg, work, args.runs)
        print("  report API over HTTP, one year: median %.1f ms" % r["api_report_ms"], flush=True)
        return r
    finally:
        if srv:
            srv.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(open("/proc/meminfo").readline().split()[1]) // 1024 // 1024
    pgv = subprocess.run([os.path.join(harness.pg_bindir(), "postgres"), "--version"],
                         capture_output=True, text=True).stdout.strip()
    return "%s, %d cores, %d GiB RAM, %s, %s; load average at start %s" % (
        cpu, os.cpu_count(), mem, platform.platform(), pgv,
        open("/proc/loadavg").read().split()[0])


def fmt(v, spec="%.0f"):
    return "n/a" if v != v else spec % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="a Release build directory")
    ap.add_argument("--sizes", default="200000,1000000,5000000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the reference SQL timings (slow at 5M)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    print("machine: " + machine(), flush=True)
    results = [one_size(args, int(s)) for s in args.sizes.split(",")]
    print()
    print("| dossiers | ingest rows/s | raw COPY upsert rows/s | ingest/raw | CPU s: onestopd, PostgreSQL"
          " (raw: PostgreSQL) | onestopd peak RSS | compute after ingest (gauge) | compute, new"
          " connection | compute, mean of %d | report 1 year (rollups) | report API 1 year |"
          " reference SQL: 4 tables | reference SQL: report 1 year |" % args.runs)
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print("| %s | %s | %s | %.2f | %.0f, %.0f (%.0f) | %.1f MiB | %s ms | %s ms | %s ms | %s ms |"
              " %s ms | %s ms | %s ms |" % (
                  "{:,}".format(r["stored"]), fmt(r["ingest_rows_s"]), fmt(r["copy_rows_s"]),
                  r["ratio"], r["cpu_s"], r["pg_cpu_s"], r["copy_pg_cpu_s"], r["rss_mib"],
                  fmt(r["compute_gauge_ms"], "%.1f"), fmt(r["compute_first_ms"], "%.1f"),
                  fmt(r["compute_mean_ms"], "%.1f"), fmt(r["report_mean_ms"], "%.1f"),
                  fmt(r["api_report_ms"], "%.1f"), fmt(r["reference_tables_ms"]),
                  fmt(r["reference_report_ms"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
