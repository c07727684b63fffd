#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The endpoint under a slowloris: 300 half-sent requests held from eight loopback
addresses (127.0.0.2-127.0.0.9) for 16 s, re-opened whenever the server closes one (its
header deadline), while a scrape from 127.0.0.1 every second must answer in under a second
every time. Then a request target over 8 KiB is 414, an unknown method 405, an unknown path
404, and the daemon still serves and stops cleanly (exit 0).

Prints the scrape latencies (max and p99) for the record. The default configuration is
used for [http] (max_connections 512, header_timeout 5s) apart from the listen port."""

import os
import select
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

AS_OF = "2022-12-20"
HOLD_S = 16
ATTACKERS = 300
SOURCES = ["127.0.0.%d" % i for i in range(2, 10)]


class Slowloris:
    """ATTACKERS connections that send a request line and a header that never ends, a
    byte every 2 s; each one the server closes is opened again at once."""

    def __init__(self, port):
        self.port = port
        self.socks = {}  # fd -> (socket, source, last byte sent)
        self.opened = 0
        self.closed_by_server = 0
        self.failed_connects = 0
        self.stop = False
        self.min_held = ATTACKERS
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open_one(self, src):
        s = socket.socket()
        try:
            s.bind((src, 0))
            s.connect(("127.0.0.1", self.port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: onestopd\r\nUser-Agent: slow\r\nX-Slow: ")
        except OSError:
            s.close()
            self.failed_connects += 1
            return
        s.setblocking(False)
        self.socks[s.fileno()] = (s, src, time.monotonic())
        self.opened += 1

    def run(self):
        for i in range(ATTACKERS):
            self.open_one(SOURCES[i % len(SOURCES)])
        while not self.stop:
            held = len(self.socks)
            self.min_held = min(self.min_held, held)
            r, _, _ = select.select(list(self.socks), [], [], 0.2)
            for fd in r:
                s, src, _ = self.socks[fd]
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # closed by the server: come back at once, as an attacker would
                    del self.socks[fd]
                    s.close()
                    self.closed_by_server += 1
                    self.open_one(src)
            now = time.monotonic()
            for fd, (s, src, last) in list(self.socks.items()):
                if now - last >= 2:
                    try:
                        s.send(b"a")
                        self.socks[fd] = (s, src, now)
                    except OSError:
                        pass
            while len(self.socks) < ATTACKERS and not self.stop:
                self.open_one(SOURCES[self.opened % len(SOURCES)])
                if self.failed_connects > 10 * ATTACKERS:
                    break

    def start(self):
        self.thread.start()

    def finish(self):
        self.stop = True
        self.thread.join(10)
        for s, _, _ in self.socks.values():
            s.close()


def raw_request(port, data, timeout=10):
    """Sends data on a fresh connection, returns the status line (or '' if none came)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    return buf.split(b"\r\n", 1)[0].decode("latin-1")


def main():
    c = harness.Checker("http_limits")
    work = tempfile.mkdtemp(prefix="onestop-limits-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 7, "--dossiers", 2000, "--as-of", AS_OF)
    d = None
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF)
        d = harness.Daemon(cfg)
        d.wait_ready()
        full = d.metrics_text()
        c.check("onestop_dossiers_received{" in full, "the page has the indicators")

        attack = Slowloris(d.port)
        attack.start()
        time.sleep(1.0)  # let the flood build up
        latencies, errors = [], []
        t_end = time.monotonic() + HOLD_S
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(d.url + "/metrics", timeout=5) as r:
                    body = r.read()
                    ok = r.status == 200 and b"onestop_dossiers_received{" in body
            except (urllib.error.URLError, OSError) as e:
                ok = False
                errors.append(repr(e))
            dt = time.monotonic() - t0
            latencies.append(dt)
            if not ok:
                errors.append("scrape at +%.1f s failed" % (HOLD_S - (t_end - time.monotonic())))
            time.sleep(max(0.0, 1.0 - dt))
        held_min = attack.min_held
        attack.finish()

        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]
        print("slowloris: %d scrapes in %d s beside %d half-sent requests from %d addresses: "
              "max %.3f s, p99 %.3f s, median %.3f s; the attacker opened %d connections, the "
              "server closed %d of them (header deadline), at least %d held at any time"
              % (len(latencies), HOLD_S, ATTACKERS, len(SOURCES), latencies[-1], p99,
                 latencies[len(latencies) // 2], attack.opened, attack.closed_by_server,
                 held_min), flush=True)
        c.check(not errors, "every scrape answered: %s" % errors[:5])
        c.check(len(latencies) >= HOLD_S - 2, "a scrape about every second (%d)" % len(latencies))
        c.check(latencies[-1] < 1.0, "every scrape under 1 s (max %.3f s)" % latencies[-1])
        c.check(attack.opened >= ATTACKERS, "the attacker held its connections (%d opened)"
                % attack.opened)
        c.check(attack.closed_by_server >= ATTACKERS,
                "the header deadline closed the half-sent requests (%d closed)"
                % attack.closed_by_server)

        # Limits, and no crash from any of them.
        long_query = "/api/v1/report?from=2022-01-01&to=2022-12-31&x=" + "a" * 8200
        status, _, _ = d.http(long_query)
        c.eq(status, 414, "a query string over 8 KiB")
        status, _, _ = d.http("/api/v1/report?from=2022-01-01&to=2022-12-31&x=" + "a" * 7000)
        c.eq(status, 200, "a query string under 8 KiB")
        status, _, _ = d.http("/metrics?x=" + "b" * 60000)
        c.eq(status, 414, "a request target far beyond what a connection buffers")
        for method in ("DELETE", "PUT", "FOO", "PROPFIND", "OPTIONS"):
            line = raw_request(d.port, ("%s /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0"
                                        "\r\n\r\n" % method).encode())
            c.check(" 405 " in line, "%s is 405: %r" % (method, line))
        for path in ("/nope", "/metrics/x", "/api/v2/report", "/..%2f..%2fetc/passwd"):
            status, _, _ = d.http(path)
            c.eq(status, 404, "unknown path %s" % path)
        line = raw_request(d.port, b"GARBAGE\r\n\r\n")
        c.check(line == "" or " 400 " in line, "a malformed request line: %r" % line)

        c.eq(d.proc.poll(), None, "the daemon is still running")
        status, _, body = d.http("/metrics")
        c.eq(status, 200, "/metrics after all that")
        c.check(b"onestop_dossiers_received{" in body, "with its page")
        rc = d.stop()
        c.eq(rc, 0, "exit status after SIGTERM")
        log = open(d.logpath, encoding="utf-8", errors="replace").read()
        c.check("AddressSanitizer" not in log and "runtime error" not in log,
                "no sanitizer report in the log")
        c.check(log.count("\n") < 200, "the flood did not flood the log (%d lines)"
                % log.count("\n"))
        d = None
    finally:
        if d:
            d.stop()
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
