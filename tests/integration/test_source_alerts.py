#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SourceDown across a restart: a source whose feed is unreachable fires SourceDown (a
webhook gets it), and a clean restart neither resolves it nor sends anything: the first
computations after the start must see every configured source, not an empty list."""

import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_alerts import Receiver  # noqa: E402

ACTIVE = re.compile(r'^onestop_alert_active\{alertname="SourceDown",[^}]*source="vnpost"[^}]*\} 1$',
                    re.M)


def metrics(d):
    try:
        status, _, body = d.http("/metrics", timeout=5)
    except OSError:
        return ""
    return body.decode("utf-8") if status == 200 else ""


def source_down(rcv, status):
    return [a for p in rcv.snapshot() for a in p["body"].get("alerts", [])
            if a["labels"].get("alertname") == "SourceDown"
            and a["labels"].get("source") == "vnpost" and a["status"] == status]


def main():
    c = harness.Checker("source_alerts")
    work = tempfile.mkdtemp(prefix="onestop-srcalert-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--dossiers", 400, "--seed", 5)
    rcv = Receiver()
    d = None
    try:
        extra = ("[alert]\nwebhook_url = http://127.0.0.1:%d/hook\nfor = 0s\ndown_after = 2\n"
                 "repeat_interval = 24h\n" % rcv.port)
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim,
                                   as_of="2022-12-20", interval="2s", metrics_interval="1s",
                                   extra=extra)
        # VNPost at a port nothing listens on, tried once per attempt.
        text = open(cfg).read()
        head, vn = text.split("[source.vnpost]", 1)
        vn = vn.replace("base_url = " + sim.url, "base_url = http://127.0.0.1:%d"
                        % harness.free_port()).replace("max_retries = 8", "max_retries = 0")
        open(cfg, "w").write(head + "[source.vnpost]" + vn)

        d = harness.Daemon(cfg)
        deadline = time.time() + 90
        while time.time() < deadline and not (ACTIVE.search(metrics(d))
                                              and source_down(rcv, "firing")):
            time.sleep(0.3)
        c.check(ACTIVE.search(metrics(d)) is not None, "SourceDown fires for vnpost")
        c.check(len(source_down(rcv, "firing")) == 1, "the webhook got it once")

        sent = len(rcv.snapshot())
        c.eq(d.stop(), 0, "clean stop")
        d = harness.Daemon(cfg)
        # From the first page served after the start, for 10 s: still firing, nothing sent.
        seen, gone = 0, 0
        deadline = time.time() + 10
        while time.time() < deadline:
            text = metrics(d)
            # (the HELP line of onestop_leader also holds "onestop_leader 1")
            if re.search(r"^onestop_metrics_computed_timestamp_seconds ", text, re.M) and \
                    re.search(r"^onestop_leader 1$", text, re.M):
                seen += 1
                if not ACTIVE.search(text):
                    gone += 1
                    print("without SourceDown:\n" + "\n".join(
                        l for l in text.splitlines() if l.startswith(("onestop_alert_active{",
                                                                      "onestop_source_"))))
            time.sleep(0.1)
        c.check(seen > 10, "the restarted leader's page was read (%d times)" % seen)
        c.eq(gone, 0, "SourceDown never left the leader's page after the restart")
        c.eq(source_down(rcv, "resolved"), [], "no resolved notification")
        # SourceStale may fire now (vnpost has never synced for 3 intervals); SourceDown,
        # firing all along, is not sent again.
        c.eq(len(source_down(rcv, "firing")), 1, "SourceDown not sent again")
    finally:
        if d:
            d.stop()
        rcv.stop()
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
