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
    SQL, for comparison;
  - /metrics against a static libmicrohttpd page of the same bytes (onestop-static), with
    wrk: requests per second and p99 of each, then /metrics again while one-year reports
    run back to back.

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
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

AS_OF = "2022-12-20"
FEED = os.path.join(ROOT, "bench", "feed.py")
PAGE = 1000
REPORT_PATH = "/api/v1/report?from=2021-01-01&to=2021-12-31"
# Rounds of wrk against each of /metrics and the static page, alternated so that a change
# in the machine's load hits both alike; the best round of each is kept.
WRK_ROUNDS = 2


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


class ApiDaemon:
    """onestopd on the filled database, without sources: it serves the report API and a
    /metrics page computed from the stored data."""

    def __init__(self, build, pg, work):
        port = harness.free_port()
        cfg = write_config(os.path.join(work, "api.conf"), pg, None, http_port=port,
                           sources=False)
        harness.ONESTOPD = os.path.join(build, "onestopd")
        self.d = harness.Daemon(cfg)
        try:
            self.d.wait_ready(120)
            # Ready can come before the first computation: wait for the indicators.
            deadline = time.time() + 120
            while not re.search(r"^onestop_metrics_computed_timestamp_seconds ",
                                self.d.metrics_text(), re.M):
                if time.time() > deadline:
                    raise RuntimeError("onestopd computed no indicators in 120 s")
                time.sleep(0.2)
        except BaseException:
            self.d.stop()
            raise
        self.url = self.d.url

    def stop(self):
        self.d.stop()


def peak_rss_mib(pid):
    """VmHWM of a live process: its peak resident set so far."""
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def report_over_http(api, runs):
    """The report API for one past year through the real HTTP server: median of runs."""
    api.d.http(REPORT_PATH)  # warm-up: the pool connects
    times = []
    for _ in range(max(runs, 10)):
        t = time.time()
        status, _, _ = api.d.http(REPORT_PATH)
        times.append((time.time() - t) * 1000)
        if status != 200:
            raise RuntimeError("report API answered %d" % status)
    return statistics.median(times)


class StaticPage:
    def __init__(self, build, path, work):
        port_file = os.path.join(work, "static.port")
        self.proc = subprocess.Popen([os.path.join(build, "onestop-static"), path, port_file])
        deadline = time.time() + 30
        while not os.path.exists(port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("onestop-static did not start")
            time.sleep(0.05)
        self.url = "http://127.0.0.1:%s" % open(port_file).read().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()


WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def wrk(url, seconds):
    """One wrk run of 2 threads and 16 connections: requests/s, p99 in ms, errors."""
    exe = shutil.which("wrk")
    if not exe:
        raise RuntimeError("wrk is not installed (bash scripts/deps.sh)")
    # A long socket timeout: a stalled request must show in the latencies, not be dropped
    # from them as a timeout.
    out = subprocess.run([exe, "-t2", "-c16", "-d%ds" % seconds, "--timeout", "30s", "--latency",
                          url], check=True, capture_output=True, text=True).stdout
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    if not rps or not p99:
        raise RuntimeError("cannot read wrk's output:\n" + out)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        raise RuntimeError("%s answered %s requests with an error:\n%s" % (url, m.group(1), out))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(rps.group(1)),
            "p99_ms": float(p99.group(1)) * WRK_UNITS_MS[p99.group(2)],
            "errors": sum(int(x) for x in sock.groups()) if sock else 0}


class ReportLoop(threading.Thread):
    """Requests the one-year report back to back until stopped."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.answered = 0
        self.failed = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                status, _, _ = self.api.d.http(REPORT_PATH, timeout=120)
            except OSError:
                status = 0
            if status == 200:
                self.answered += 1
            else:
                self.failed += 1

    def stop(self):
        self.halt.set()
        self.join()


def metrics_vs_static(build, api, work, seconds):
    """/metrics against a static libmicrohttpd page holding the same bytes, each alone,
    then /metrics while one-year reports run back to back."""
    status, _, body = api.d.http("/metrics")
    if status != 200:
        raise RuntimeError("/metrics answered %d" % status)
    path = os.path.join(work, "metrics.txt")
    with open(path, "wb") as f:
        f.write(body)
    r = {"metrics_bytes": len(body)}
    static = StaticPage(build, path, work)
    try:
        runs = {"metrics": [], "static": []}
        for _ in range(WRK_ROUNDS):
            runs["static"].append(wrk(static.url + "/metrics", seconds))
            runs["metrics"].append(wrk(api.url + "/metrics", seconds))
    finally:
        static.stop()
    for k in runs:
        best = max(runs[k], key=lambda x: x["rps"])
        r[k + "_rps"], r[k + "_p99_ms"] = best["rps"], best["p99_ms"]
        r[k + "_socket_errors"] = sum(x["errors"] for x in runs[k])
    r["metrics_static_ratio"] = r["metrics_rps"] / r["static_rps"]
    loop = ReportLoop(api)
    loop.start()
    try:
        # wrk starts once a report is under way, so that the whole run is under load.
        deadline = time.time() + 120
        while loop.answered + loop.failed == 0 and time.time() < deadline:
            time.sleep(0.01)
        n0 = loop.answered
        loaded = wrk(api.url + "/metrics", seconds)
        n1 = loop.answered
    finally:
        loop.stop()
    if loop.failed:
        raise RuntimeError("%d one-year reports failed while /metrics was measured" % loop.failed)
    r["loaded_rps"], r["loaded_p99_ms"] = loaded["rps"], loaded["p99_ms"]
    r["loaded_socket_errors"] = loaded["errors"]
    r["loaded_reports"] = n1 - n0
    return r


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
        api = ApiDaemon(args.build, pg, work)
        try:
            r["api_report_ms"] = report_over_http(api, args.runs)
            print("  report API over HTTP, one year: median %.1f ms" % r["api_report_ms"],
                  flush=True)
            r.update(metrics_vs_static(args.build, api, work, args.wrk_seconds))
            r["serve_rss_mib"] = peak_rss_mib(api.d.proc.pid)
            print("  serving daemon (reports and wrk behind it): peak RSS %.1f MiB"
                  % r["serve_rss_mib"], flush=True)
        finally:
            api.stop()
        print("  /metrics (%d bytes): %.0f req/s, p99 %.2f ms; static page of the same bytes:"
              " %.0f req/s, p99 %.2f ms; ratio %.2f (best of %d rounds of %d s each)"
              % (r["metrics_bytes"], r["metrics_rps"], r["metrics_p99_ms"], r["static_rps"],
                 r["static_p99_ms"], r["metrics_static_ratio"], WRK_ROUNDS, args.wrk_seconds),
              flush=True)
        print("  /metrics while one-year reports run back to back: %.0f req/s, p99 %.2f ms;"
              " %d reports answered meanwhile"
              % (r["loaded_rps"], r["loaded_p99_ms"], r["loaded_reports"]), flush=True)
        errors = r["metrics_socket_errors"] + r["static_socket_errors"] + r["loaded_socket_errors"]
        if errors:
            print("  wrk socket errors: /metrics %d, static %d, under reports %d"
                  % (r["metrics_socket_errors"], r["static_socket_errors"],
                     r["loaded_socket_errors"]), flush=True)
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
    ap.add_argument("--wrk-seconds", type=int, default=8,
                    help="duration of each wrk run against /metrics and the static page")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    print("machine: " + machine(), flush=True)
    results = [one_size(args, int(s)) for s in args.sizes.split(",")]
    print()
    print("| dossiers | ingest rows/s | raw COPY upsert rows/s | ingest/raw | CPU s: onestopd, PostgreSQL"
          " (raw: PostgreSQL) | onestopd peak RSS | compute after ingest (gauge) | compute, new"
          " connection | compute, mean of %d | report 1 year (rollups) | report API 1 year |"
          " reference SQL: 4 tables | reference SQL: report 1 year | /metrics bytes |"
          " /metrics req/s | static req/s | ratio | p99 /metrics | p99 static |"
          " p99 /metrics while reports run | reports meanwhile | serving daemon peak RSS |"
          % args.runs)
    print("|---:" * 22 + "|")
    for r in results:
        print("| %s | %s | %s | %.2f | %.0f, %.0f (%.0f) | %.1f MiB | %s ms | %s ms | %s ms | %s ms |"
              " %s ms | %s ms | %s ms | %s | %s | %s | %.2f | %.2f ms | %.2f ms | %.2f ms | %d | %.1f MiB |" % (
                  "{:,}".format(r["stored"]), fmt(r["ingest_rows_s"]), fmt(r["copy_rows_s"]),
                  r["ratio"], r["cpu_s"], r["pg_cpu_s"], r["copy_pg_cpu_s"], r["rss_mib"],
                  fmt(r["compute_gauge_ms"], "%.1f"), fmt(r["compute_first_ms"], "%.1f"),
                  fmt(r["compute_mean_ms"], "%.1f"), fmt(r["report_mean_ms"], "%.1f"),
                  fmt(r["api_report_ms"], "%.1f"), fmt(r["reference_tables_ms"]),
                  fmt(r["reference_report_ms"]), "{:,}".format(r["metrics_bytes"]),
                  fmt(r["metrics_rps"]), fmt(r["static_rps"]), r["metrics_static_ratio"],
                  r["metrics_p99_ms"], r["static_p99_ms"], r["loaded_p99_ms"],
                  r["loaded_reports"], r["serve_rss_mib"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
