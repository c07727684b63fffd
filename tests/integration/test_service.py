#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""onestopd as a systemd service, without systemd: the sd_notify datagrams it sends
(READY, WATCHDOG, RELOADING+MONOTONIC_USEC, STOPPING) to a socket the test binds, both
a path and an abstract one; reloads that add a source or fail; SIGTERM in the middle of
a sync against a slow feed; and two instances on one database, where the advisory lock
makes exactly one the writer and a kill -9 hands the role over."""

import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

try:
    import reference  # noqa: E402
except ImportError:  # the independent reading of metrics.md; optional here
    reference = None

AS_OF = "2022-12-20"


class NotifySocket:
    """An AF_UNIX datagram socket like the one systemd hands a Type=notify service.
    Each datagram is kept as (monotonic time, [lines])."""

    def __init__(self, address):
        self.address = address  # the NOTIFY_SOCKET value
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode("utf-8", "replace").split("\n")))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, pred, start, timeout):
        """Waits for a datagram at index >= start whose lines satisfy pred. Returns its
        index, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.snapshot()
            for i in range(start, len(msgs)):
                if pred(msgs[i][1]):
                    return i
            time.sleep(0.05)
        return None

    def close(self):
        self.closed = True
        self.thread.join(2)
        self.sock.close()
        if not self.address.startswith("@"):
            try:
                os.unlink(self.address)
            except OSError:
                pass


def has(key):
    return lambda lines: key in lines


def metric(text, name, labels=None):
    """The value of one sample of the exposition text, or None."""
    lab = ""
    if labels:
        lab = "{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(lab)), text, re.M)
    return float(m.group(1)) if m else None


def poll(fn, timeout, step=0.2):
    """Calls fn until it returns something truthy or timeout passes; returns the last
    value."""
    deadline = time.monotonic() + timeout
    v = fn()
    while not v and time.monotonic() < deadline:
        time.sleep(step)
        v = fn()
    return v


def metrics_or_empty(d):
    try:
        status, _, body = d.http("/metrics", timeout=10)
        return body.decode("utf-8") if status == 200 else ""
    except OSError:
        return ""


def notify_protocol(c, work, pg, sim, address, tag):
    """(a) READY=1, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1+MONOTONIC_USEC then
    READY=1 on SIGHUP, STOPPING=1 on SIGTERM, in that order, and exit 0."""
    cfg = harness.write_config(os.path.join(work, "notify-%s.conf" % tag), pg, sim, as_of=AS_OF,
                               sources=("igate",))
    ns = NotifySocket(address)
    # WATCHDOG_PID empty: as if unset, whatever the test runner's environment holds.
    d = harness.Daemon(cfg, env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000",
                                 "WATCHDOG_PID": ""})
    try:
        ready = ns.wait_for(has("READY=1"), 0, 120)
        if not c.check(ready is not None, "%s: READY=1 received" % tag):
            return
        t0 = time.monotonic()
        # 2 s watchdog: a ping every second; ask for two within five.
        first = ns.wait_for(has("WATCHDOG=1"), ready + 1, 5)
        second = ns.wait_for(has("WATCHDOG=1"), first + 1, 5 - (time.monotonic() - t0)) \
            if first is not None else None
        c.check(first is not None and second is not None,
                "%s: two WATCHDOG=1 within 5 s of READY=1" % tag)
        msgs = ns.snapshot()
        pings = [t for t, lines in msgs[ready:] if "WATCHDOG=1" in lines]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        c.check(all(g < 2.0 for g in gaps), "%s: watchdog pings closer than WATCHDOG_USEC: %r"
                % (tag, [round(g, 2) for g in gaps]))
        c.check(any(l.startswith("STATUS=") for _, lines in msgs for l in lines),
                "%s: a STATUS= line" % tag)
        # STATUS= only when the text changes, not every loop pass (about once a second).
        statuses = [l for _, lines in msgs for l in lines if l.startswith("STATUS=")]
        repeats = [a for a, b in zip(statuses, statuses[1:]) if a == b]
        c.check(not repeats, "%s: no STATUS= sent twice in a row: %r" % (tag, repeats[:3]))

        # SIGTERM, SIGINT and SIGHUP go to the main thread only (its sleep must end at
        # once): every other thread (HTTP, alert delivery) has them blocked.
        want = (1 << (signal.SIGHUP - 1)) | (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
        masks = {}
        for tid in os.listdir("/proc/%d/task" % d.proc.pid):
            try:
                st = open("/proc/%d/task/%s/status" % (d.proc.pid, tid)).read()
            except OSError:
                continue  # a thread that just ended
            masks[int(tid)] = int(re.search(r"^SigBlk:\s*([0-9a-f]+)$", st, re.M).group(1), 16)
        c.eq(masks.get(d.proc.pid, -1) & want, 0, "%s: the main thread takes the signals" % tag)
        others = {t: m for t, m in masks.items() if t != d.proc.pid}
        c.check(others and all(m & want == want for m in others.values()),
                "%s: the other threads block SIGTERM, SIGINT, SIGHUP: %r"
                % (tag, {t: hex(m) for t, m in others.items()}))

        mark = len(ns.snapshot())
        before_us = time.monotonic_ns() // 1000
        d.signal(signal.SIGHUP)
        rel = ns.wait_for(has("RELOADING=1"), mark, 20)
        if c.check(rel is not None, "%s: RELOADING=1 after SIGHUP" % tag):
            lines = ns.snapshot()[rel][1]
            mono = [l for l in lines if l.startswith("MONOTONIC_USEC=")]
            c.check(len(mono) == 1 and re.fullmatch(r"MONOTONIC_USEC=\d+", mono[0]),
                    "%s: RELOADING=1 carries MONOTONIC_USEC=<digits> in the same datagram: %r"
                    % (tag, lines))
            if mono and re.fullmatch(r"MONOTONIC_USEC=\d+", mono[0]):
                # CLOCK_MONOTONIC, as systemd compares it with its own reload request time.
                us = int(mono[0].split("=", 1)[1])
                now_us = time.monotonic_ns() // 1000
                c.check(before_us <= us <= now_us,
                        "%s: MONOTONIC_USEC %d within the reload window [%d, %d]"
                        % (tag, us, before_us, now_us))
            again = ns.wait_for(has("READY=1"), rel + 1, 20)
            c.check(again is not None, "%s: READY=1 after RELOADING=1" % tag)

        mark = len(ns.snapshot())
        d.signal(signal.SIGTERM)
        stopping = ns.wait_for(has("STOPPING=1"), mark, 10)
        c.check(stopping is not None, "%s: STOPPING=1 after SIGTERM" % tag)
        try:
            rc = d.proc.wait(10)
        except Exception:  # subprocess.TimeoutExpired
            rc = None
        c.eq(rc, 0, "%s: exit status within 10 s of SIGTERM" % tag)
        # Nothing but the expected sequence's keys, in order.
        seq = [k for _, lines in ns.snapshot() for k in lines
               if k in ("READY=1", "RELOADING=1", "STOPPING=1")]
        c.eq(seq, ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"], "%s: state sequence" % tag)
    finally:
        d.stop()
        ns.close()


def reload_sources(c, work, pg, sim):
    """(b) A reload that adds [source.vnpost] takes effect; one with a syntax error is
    logged and changes nothing, and the daemon keeps serving."""
    path = os.path.join(work, "reload.conf")
    port = harness.free_port()
    harness.write_config(path, pg, sim, as_of=AS_OF, http_port=port, sources=("igate",))
    address = os.path.join(work, "reload.notify")
    ns = NotifySocket(address)
    d = harness.Daemon(path, env={"NOTIFY_SOCKET": address})
    try:
        d.wait_ready()
        text = d.metrics_text()
        c.eq(metric(text, "onestop_source_up", {"source": "igate"}), 1.0, "igate up before reload")
        c.eq(metric(text, "onestop_source_up", {"source": "vnpost"}), None,
             "no vnpost series before reload")

        harness.write_config(path, pg, sim, as_of=AS_OF, http_port=port, sources=("igate", "vnpost"))
        d.signal(signal.SIGHUP)
        up = poll(lambda: metric(metrics_or_empty(d), "onestop_source_up", {"source": "vnpost"}) == 1.0, 120)
        c.check(up, "onestop_source_up{source=\"vnpost\"} 1 after the reload that adds it")
        c.check("configuration reloaded: 2 source(s)" in d.logtext(), "reload logged")

        mark = len(ns.snapshot())
        with open(path, "a") as f:
            f.write("\n[source.broken\nadapter = igate\n")
        d.signal(signal.SIGHUP)
        logged = poll(lambda: "keeping the old configuration" in d.logtext(), 20)
        c.check(logged, "a broken config logs 'keeping the old configuration'")
        # systemd waits in "reloading" until READY=1: a failed reload must still send it.
        rel = ns.wait_for(has("RELOADING=1"), mark, 10)
        c.check(rel is not None and ns.wait_for(has("READY=1"), rel + 1, 10) is not None,
                "a failed reload still sends RELOADING=1 then READY=1")
        time.sleep(1.5)
        c.check(d.proc.poll() is None, "still running after the broken reload")
        text = metrics_or_empty(d)
        c.check(text != "", "still serving /metrics after the broken reload")
        c.eq(metric(text, "onestop_source_up", {"source": "igate"}), 1.0, "igate kept")
        c.eq(metric(text, "onestop_source_up", {"source": "vnpost"}), 1.0, "vnpost kept")
        status, _, _ = d.http("/readyz")
        c.eq(status, 200, "/readyz after the broken reload")
    finally:
        c.eq(d.stop(), 0, "reload daemon exits 0")
        ns.close()


def sigterm_during_sync(c, work, pg):
    """(d) SIGTERM while a page request is in flight to a feed that takes 2 s a page (and
    the sync has many pages to go): the request is aborted and the daemon exits 0 well
    within systemd's stop timeout, not after the sync."""
    pg.psql("postgres", "CREATE DATABASE onestop_stop")
    conninfo = pg.conninfo.replace("dbname=onestop", "dbname=onestop_stop")
    slow = harness.FeedSim("--seed", 7, "--dossiers", 1500, "--as-of", AS_OF, "--delay", 2)
    address = os.path.join(work, "stop.notify")
    ns = NotifySocket(address)
    d = None
    try:
        path = harness.write_config(os.path.join(work, "stop.conf"), pg, slow, as_of=AS_OF,
                                    page_size=50, sources=("igate",))
        txt = open(path).read().replace(pg.conninfo, conninfo)
        open(path, "w").write(txt)
        d = harness.Daemon(path, env={"NOTIFY_SOCKET": address})

        def pages():
            return slow.get("/_sim/stats")["requests"].get("dossiers", 0)
        # The second page is requested: the sync is under way, 30 pages (60 s) to go.
        c.check(poll(lambda: pages() >= 2, 120, 0.05), "the slow sync reached its second page")
        mark = len(ns.snapshot())
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(10)
        except Exception:  # subprocess.TimeoutExpired
            rc = None
        elapsed = time.monotonic() - t0
        print("service: SIGTERM during a sync: exited %.3f s later" % elapsed, flush=True)
        c.eq(rc, 0, "exit status 0 within 10 s of SIGTERM during a sync (%.1f s)" % elapsed)
        c.check(pages() < 10, "the sync did not run to its end first (%d pages)" % pages())
        c.check(ns.wait_for(has("STOPPING=1"), mark, 1) is not None,
                "STOPPING=1 after SIGTERM during a sync")
    finally:
        if d:
            d.stop()
        ns.close()
        slow.stop()


def two_instances(c, work, pg, sim):
    """(c) Two daemons, one database: one writer, one standby; kill -9 the writer and
    the standby takes over within one interval and stores what changed since."""
    pg.psql("postgres", "CREATE DATABASE onestop_ha")
    conninfo = pg.conninfo.replace("dbname=onestop", "dbname=onestop_ha")

    def q(sql):
        return pg.psql("onestop_ha", sql)

    daemons = []
    for name in ("a", "b"):
        path = harness.write_config(os.path.join(work, "ha-%s.conf" % name), pg, sim, as_of=AS_OF,
                                    interval="3s", page_size=250, sources=("igate",))
        txt = open(path).read().replace(pg.conninfo, conninfo)
        open(path, "w").write(txt)
        daemons.append(path)
    a = harness.Daemon(daemons[0])
    b = None
    try:
        a.wait_ready()  # a has finished its first full sync: it is the writer
        tokens_before = sim.get("/_sim/stats")["tokens_issued"]
        b = harness.Daemon(daemons[1])
        b.wait_ready()
        time.sleep(7)  # two more 3 s cycles of the writer while both run
        ta, tb = a.metrics_text(), b.metrics_text()
        la, lb = metric(ta, "onestop_leader"), metric(tb, "onestop_leader")
        c.check(sorted([la, lb]) == [0.0, 1.0], "exactly one leader: a=%r b=%r" % (la, lb))
        leader, standby = (a, b) if la == 1.0 else (b, a)
        tl, ts = (ta, tb) if leader is a else (tb, ta)
        # Only the writer fetches: the standby never even asked for a token, never synced.
        stats = sim.get("/_sim/stats")
        c.eq(stats["tokens_issued"], tokens_before, "no token issued to the standby")
        c.check((metric(tl, "onestop_source_records_total", {"source": "igate"}) or 0) > 0,
                "the writer's records counter moved")
        c.eq(metric(ts, "onestop_source_records_total", {"source": "igate"}), 0.0,
             "the standby fetched no record")
        c.check(not re.search(r"^<\d>sync", standby.logtext(), re.M), "the standby logged no sync")
        # The standby serves the same indicators, computed from the shared database.
        c.eq(metric(ts, "onestop_stored_records", {"kind": "dossier"}),
             metric(tl, "onestop_stored_records", {"kind": "dossier"}),
             "standby and writer agree on onestop_stored_records")

        leader.kill()
        killed = time.monotonic()
        took = poll(lambda: metric(metrics_or_empty(standby), "onestop_leader") == 1.0, 30, 0.1)
        elapsed = time.monotonic() - killed
        c.check(took, "the standby becomes the writer after kill -9")
        print("service: the standby took over %.1f s after kill -9" % elapsed, flush=True)
        # One 3 s interval, plus the rendering that follows a sync.
        c.check(elapsed <= 3.0 + 1.0, "took over in %.1f s (interval 3 s)" % elapsed)
        c.check("now the writer" in standby.logtext(), "the takeover is logged")

        changed = sim.post("/_sim/mutate?n=20")["changes"]
        c.eq(len(changed), 20, "the simulator changed 20 dossiers")
        want = {ch["MaHoSo"]: ch["NgayCapNhat"] for ch in changed}
        codes = ",".join("'%s'" % k.replace("'", "''") for k in want)

        def stored():
            rows = q("SELECT code, to_char(updated_at, 'YYYYMMDDHH24MISS') FROM dossiers "
                     "WHERE code IN (%s)" % codes)
            got = {r[0]: r[1] for r in rows}
            return got if got == want else None
        c.check(poll(stored, 30), "the new writer stored the 20 changed dossiers at their new version")
        c.check(sim.get("/_sim/stats")["tokens_issued"] > tokens_before,
                "the new writer asked for its own token")

        n = int(q("SELECT count(*) FROM dossiers")[0][0])
        c.eq(q("SELECT count(*) - count(DISTINCT code) FROM dossiers")[0][0], "0", "no duplicates")
        if reference is not None and hasattr(reference, "expected_metrics"):
            want_m = reference.expected_metrics(sim.dump(), AS_OF)
            c.eq(n, int(want_m[("onestop_stored_records", frozenset({"kind": "dossier"}.items()))]),
                 "stored dossiers = the distinct valid dossiers of the feed")
        else:
            print("service: reference.py not found; checked distinct codes only", flush=True)
            c.check(n > 0, "dossiers stored")
    finally:
        if b:
            b.stop()
        a.stop()


def main():
    c = harness.Checker("service")
    work = tempfile.mkdtemp(prefix="onestop-svc-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 31, "--dossiers", 1500, "--as-of", AS_OF)
    try:
        notify_protocol(c, work, pg, sim, os.path.join(work, "notify.sock"), "path socket")
        notify_protocol(c, work, pg, sim, "@onestop-test-%d-%s" % (os.getpid(), os.urandom(4).hex()),
                        "abstract socket")
        reload_sources(c, work, pg, sim)
        sigterm_during_sync(c, work, pg)
        two_instances(c, work, pg, sim)
    finally:
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
