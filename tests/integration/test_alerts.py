#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Alerting end to end: the built-in rules, their lifecycle across a restart, webhook
delivery (Alertmanager webhook format), a failing webhook, and a real Alertmanager.

The simulator's data changes mid-run: /_sim/late adds overdue dossiers to one agency, so
its on-time ratio for the month falls below the configured baseline; /_sim/recover
resolves them on time, so the alert clears. The baseline and the number of late
dossiers come from reference.py's reading of the simulator's dump, so the threshold is
crossed whatever the seed."""

import http.server
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402

AS_OF = "2022-12-20"
MONTH, YEAR = "2022-12", "2022"
SEED = int(os.environ.get("ONESTOP_TEST_SEED", "20230117"))
TIMEOUT_S = 1  # [alert] timeout: the slow webhook sleeps longer
HANG_S = 120  # the hanging webhook never answers in time


class Receiver:
    """Webhook receiver on 127.0.0.1:0. /hook answers 200 and records the payload;
    /bad answers 500 once, then sleeps past the daemon's timeout; /hang does not answer
    for two minutes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []
        self.bad_hits = 0
        self.hang_hits = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/hang"):
                    with outer.lock:
                        outer.hang_hits += 1
                    time.sleep(HANG_S)
                    return
                if self.path.startswith("/bad"):
                    with outer.lock:
                        outer.bad_hits += 1
                        first = outer.bad_hits == 1
                    if not first:
                        time.sleep(TIMEOUT_S + 2)
                    try:
                        self.send_response(500)
                        self.end_headers()
                    except OSError:
                        pass
                    return
                with outer.lock:
                    outer.posts.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                        "ctype": self.headers.get("Content-Type"),
                                        "body": json.loads(body.decode("utf-8"))})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return list(self.posts)

    def matching(self, alertname, agency, period=None, status=None):
        out = []
        for p in self.snapshot():
            for a in p["body"].get("alerts", []):
                lab = a["labels"]
                if (lab.get("alertname") == alertname and lab.get("agency") == agency
                        and (period is None or lab.get("period") == period)
                        and (status is None or a["status"] == status)):
                    out.append((p, a))
        return out

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


class Alertmanager:
    """Debian's prometheus-alertmanager on loopback, clustering off, a null receiver."""

    def __init__(self):
        self.exe = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        self.proc = None
        if not self.exe:
            return
        self.dir = tempfile.mkdtemp(prefix="onestop-am-")
        self.port = harness.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        cfg = os.path.join(self.dir, "am.yml")
        with open(cfg, "w") as f:
            f.write("route:\n  receiver: 'null'\n  group_wait: 1s\n  group_interval: 1s\n"
                    "receivers:\n  - name: 'null'\n")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [self.exe, "--config.file=" + cfg, "--storage.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.2)
        raise RuntimeError("alertmanager did not start: " + open(os.path.join(self.dir, "log")).read())

    def alerts(self):
        with urllib.request.urlopen(self.url + "/api/v2/alerts", timeout=10) as r:
            return json.loads(r.read().decode("utf-8"))

    def find(self, labels):
        return [a for a in self.alerts()
                if all(a["labels"].get(k) == v for k, v in labels.items())]

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(pred, timeout, step=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def vi_percent(ratio):
    return ("%.1f" % (ratio * 100)).replace(".", ",") + "%"


def pick_agency(want):
    """The agency whose month and year on-time ratios are both high, with enough dossiers
    in the month; returns (agency, good, total) of its month row."""
    best = None
    for (fam, labels), v in want.items():
        lab = dict(labels)
        if fam != "onestop_on_time_ratio" or lab["period"] != MONTH or lab["agency"] == "ALL":
            continue
        a = lab["agency"]
        year = want.get(("onestop_on_time_ratio", frozenset({"agency": a, "period": YEAR}.items())))
        if year is None:
            continue
        get = lambda f, t: want.get((f, frozenset({"agency": a, "period": MONTH, "timeliness": t}.items())), 0)
        total = sum(get("onestop_dossiers_resolved", t) for t in ("early", "on_time", "late")) + \
            sum(get("onestop_dossiers_pending", t) for t in ("within", "overdue"))
        good = get("onestop_dossiers_resolved", "early") + get("onestop_dossiers_resolved", "on_time") + \
            get("onestop_dossiers_pending", "within")
        if total < 5:
            continue
        score = min(v, year)
        if best is None or score > best[0]:
            best = (score, a, good, total)
    return best


def metric(text, family, **labels):
    got = reference.parse_exposition(text)
    return got.get((family, frozenset(labels.items())))


def check_rules_file(c):
    """contrib/prometheus: the rules load, and their unit tests pass."""
    exe = shutil.which("promtool")
    if not exe:
        print("alerts: promtool not installed; the rules file is not checked")
        return
    d = os.path.join(harness.SRC, "contrib", "prometheus")
    for argv in (["check", "rules", "onestopd.rules.yml"], ["test", "rules", "onestopd.rules_test.yml"]):
        p = subprocess.run([exe] + argv, cwd=d, capture_output=True, text=True)
        c.check(p.returncode == 0, "promtool %s: %s" % (" ".join(argv), p.stdout + p.stderr))


def main():
    c = harness.Checker("alerts")
    check_rules_file(c)
    work = tempfile.mkdtemp(prefix="onestop-alerts-")
    pg = harness.PgCluster(timezone="UTC")
    sim = harness.FeedSim("--seed", SEED, "--dossiers", 1500, "--as-of", AS_OF, "--bad-ratio", 0.01)
    rcv = Receiver()
    am = Alertmanager()
    d = None
    try:
        want = reference.expected_metrics(sim.dump(), AS_OF)
        score, agency, good, total = pick_agency(want)
        baseline = round(max(0.05, score - 0.03), 4)
        # Enough overdue dossiers to take the month ratio to or below the baseline.
        late = int(math.ceil(good / baseline - total)) + 2
        c.check(late > 0, "late dossiers needed: %d" % late)
        print("alerts: agency %s, month %d/%d, baseline %.4f, %d late dossiers" % (agency, good, total, baseline, late))

        token = os.path.join(work, "alert.token")
        with open(token, "w") as f:
            f.write("t0ken-xyz\n")
        hook = "http://127.0.0.1:%d/hook" % rcv.port
        # Credentials in the userinfo and the query: neither may reach the log.
        bad = "http://onestop:s3cr3tpw@127.0.0.1:%d/bad?key=q5ecret" % rcv.port
        hang = "http://127.0.0.1:%d/hang" % rcv.port

        def alert_extra(webhooks, timeout=TIMEOUT_S):
            extra = ("[targets]\non_time_baseline = %s\n\n[alert]\nwebhook_url = %s\n"
                     "bearer_token_file = %s\nfor = 0s\nrepeat_interval = 24h\ntimeout = %ds\n"
                     "max_retries = 2\nstale_after = 1h\n" % (baseline, webhooks, token, timeout))
            if am.proc:
                extra += "alertmanager_url = %s\n" % am.url
            return extra

        def config(webhooks, timeout=TIMEOUT_S):
            return harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                        metrics_interval="2s", interval="2s",
                                        extra=alert_extra(webhooks, timeout), http_port=port)

        port = harness.free_port()
        cfg = config(hook)
        d = harness.Daemon(cfg)
        d.wait_ready()

        # Before the change: evaluated, and nothing about this agency's month.
        c.check(wait_for(lambda: metric(d.metrics_text(), "onestop_on_time_ratio", agency=agency, period=MONTH),
                         30) is not None, "month ratio exposed")
        time.sleep(5)
        c.eq(len(rcv.matching("OnTimeRatioBelowTarget", agency, MONTH)), 0, "no alert before the change")
        status, headers, body = d.http("/api/v1/alerts")
        c.eq(status, 200, "/api/v1/alerts status")
        doc = json.loads(body)
        c.eq(doc.get("leader"), True, "/api/v1/alerts leader")

        # The change: a batch of overdue dossiers.
        sim.post("/_sim/late?n=%d&agency=%s" % (late, agency))
        fired = wait_for(lambda: rcv.matching("OnTimeRatioBelowTarget", agency, MONTH, "firing"), 60)
        c.check(bool(fired), "firing OnTimeRatioBelowTarget for %s %s received" % (agency, MONTH))
        time.sleep(6)  # a few more cycles: still one
        fired = rcv.matching("OnTimeRatioBelowTarget", agency, MONTH)
        c.eq(len(fired), 1, "exactly one notification for the firing alert")
        text = d.metrics_text()
        ratio = metric(text, "onestop_on_time_ratio", agency=agency, period=MONTH)
        c.check(ratio is not None and ratio <= baseline, "ratio %r <= baseline %r" % (ratio, baseline))
        if fired:
            post, alert = fired[0]
            body = post["body"]
            c.eq(alert["labels"], {"alertname": "OnTimeRatioBelowTarget", "agency": agency,
                                   "period": MONTH, "severity": "warning"}, "labels")
            c.eq(body["version"], "4", "payload version")
            c.eq(body["status"], "firing", "payload status")
            c.eq(alert["endsAt"], "0001-01-01T00:00:00Z", "endsAt while firing")
            c.check(len(alert["fingerprint"]) == 16, "fingerprint")
            c.check(body["groupKey"].startswith("{}:{"), "groupKey %r" % body["groupKey"])
            for k in ("receiver", "groupLabels", "commonLabels", "commonAnnotations", "externalURL"):
                c.check(k in body, "payload has %s" % k)
            c.check(alert["generatorURL"].endswith("/api/v1/alerts"), "generatorURL")
            c.eq(post["auth"], "Bearer t0ken-xyz", "bearer token sent")
            c.check((post["ctype"] or "").startswith("application/json"), "Content-Type")
            desc = alert["annotations"].get("description", "")
            names = [dict(l)["name"] for (f, l) in reference.parse_exposition(text)
                     if f == "onestop_agency_info" and dict(l)["agency"] == agency]
            name = names[0] if names else agency
            c.check(vi_percent(ratio) in desc, "description %r has the ratio %s" % (desc, vi_percent(ratio)))
            c.check(vi_percent(baseline) in desc, "description %r has the target %s" % (desc, vi_percent(baseline)))
            c.check(name in desc and MONTH in desc, "description %r names %s and %s" % (desc, name, MONTH))
        series = metric(text, "onestop_alert_active", alertname="OnTimeRatioBelowTarget", agency=agency,
                        period=MONTH, source="", severity="warning")
        c.eq(series, 1.0, "onestop_alert_active series")
        ok, out = harness.promtool_check(text)
        if ok is not None:
            c.check(ok, "promtool check metrics: " + out)
        doc = json.loads(d.http("/api/v1/alerts")[2])
        mine = [a for a in doc["alerts"] if a["labels"].get("alertname") == "OnTimeRatioBelowTarget"
                and a["labels"].get("agency") == agency and a["labels"].get("period") == MONTH]
        c.check(len(mine) == 1 and mine[0]["state"] == "firing" and mine[0]["activeSince"],
                "/api/v1/alerts lists it firing: %r" % mine)
        if mine:
            c.check(abs(mine[0]["values"]["ratio"] - ratio) < 1e-9, "values.ratio")
        c.eq(pg.scalar("SELECT count(*) FROM alert_outbox WHERE sent_at IS NULL AND superseded_at IS NULL"),
             "0", "every notification marked sent")
        c.check(int(pg.scalar("SELECT count(*) FROM indicator_daily WHERE day = '%s'" % AS_OF)) > 0,
                "daily indicators stored")
        labels = {"alertname": "OnTimeRatioBelowTarget", "agency": agency, "period": MONTH}
        if am.proc:
            got = wait_for(lambda: am.find(labels), 30)
            c.check(bool(got), "Alertmanager has the alert")
            if got:
                c.eq(got[0]["status"]["state"], "active", "Alertmanager state")
                c.eq(got[0]["labels"].get("severity"), "warning", "Alertmanager severity label")
                if fired:
                    c.eq(got[0]["fingerprint"], fired[0][1]["fingerprint"],
                         "the webhook's fingerprint is Alertmanager's")
        else:
            print("alerts: prometheus-alertmanager not installed; its checks are skipped")

        # A standby on the same database evaluates and sends nothing.
        before = len(rcv.snapshot())
        cfg2 = harness.write_config(os.path.join(work, "standby.conf"), pg, sim, as_of=AS_OF,
                                    metrics_interval="2s", interval="2s",
                                    extra=alert_extra(hook))
        d2 = harness.Daemon(cfg2)
        try:
            d2.wait_ready()
            time.sleep(5)
            doc2 = json.loads(d2.http("/api/v1/alerts")[2])
            c.eq((doc2.get("leader"), doc2.get("alerts")), (False, []), "standby's /api/v1/alerts")
            text2 = d2.metrics_text()
            c.check(not [l for l in text2.splitlines() if l.startswith("onestop_alert_active{")],
                    "no onestop_alert_active series on the standby")
            c.eq(metric(text2, "onestop_leader"), 0.0, "the second instance is a standby")
        finally:
            d2.stop()
        c.eq(len(rcv.snapshot()), before, "nothing sent while a standby ran")

        # A restart neither re-sends nor forgets.
        before = len(rcv.snapshot())
        c.eq(d.stop(), 0, "clean stop")
        d = harness.Daemon(cfg)
        d.wait_ready()
        time.sleep(8)
        c.eq(len(rcv.snapshot()), before, "nothing re-sent after the restart")
        c.eq(metric(d.metrics_text(), "onestop_alert_active", alertname="OnTimeRatioBelowTarget",
                    agency=agency, period=MONTH, source="", severity="warning"), 1.0,
             "still firing after the restart")

        # A row another instance has claimed is not sent until its claim runs out.
        marker = '{"marker":"claimed-elsewhere","alerts":[]}'
        pg.psql("onestop", "INSERT INTO alert_outbox (fingerprint, url, status, body, claimed_until,"
                " claimed_by) VALUES ('0000000000000000', '%s', 'firing', '%s',"
                " now() + interval '8 seconds', 'elsewhere:1:x')" % (hook, marker))
        claimed = lambda: [p for p in rcv.snapshot() if p["body"].get("marker") == "claimed-elsewhere"]
        time.sleep(5)
        c.eq(len(claimed()), 0, "a row claimed elsewhere is not sent meanwhile")
        c.check(wait_for(lambda: len(claimed()) == 1, 20), "sent once its claim ran out")
        c.eq(pg.scalar("SELECT (sent_at IS NOT NULL)::text || ' ' || coalesce(claimed_by, '-')"
                       " FROM alert_outbox WHERE body LIKE '%claimed-elsewhere%'"), "true -",
             "the row is marked sent and unclaimed")

        # The drop rule: yesterday-a-week's ratio was far higher.
        pg.psql("onestop", "INSERT INTO indicator_daily (day, period, agency, on_time_ratio, carried_over,"
                " received_online, received_direct, received_postal, resolved_early, resolved_on_time,"
                " resolved_late, pending_within, pending_overdue) VALUES ('2022-12-13', '%s', '%s', 0.999,"
                " 0, 0, 0, 0, 0, 0, 0, 0, 0)" % (MONTH, agency))
        dropped = wait_for(lambda: rcv.matching("OnTimeRatioDropped", agency, MONTH, "firing"), 30)
        c.eq(len(dropped), 1, "one OnTimeRatioDropped notification")
        if dropped:
            desc = dropped[0][1]["annotations"]["description"]
            c.check("99,9%" in desc and "2022-12-13" in desc, "drop description %r" % desc)

        # Recovery: exactly one resolved notice.
        sim.post("/_sim/recover?agency=%s" % agency)
        resolved = wait_for(lambda: rcv.matching("OnTimeRatioBelowTarget", agency, MONTH, "resolved"), 60)
        c.check(bool(resolved), "resolved notice received")
        time.sleep(6)
        resolved = rcv.matching("OnTimeRatioBelowTarget", agency, MONTH, "resolved")
        c.eq(len(resolved), 1, "exactly one resolved notice")
        if resolved:
            c.eq(resolved[0][0]["body"]["status"], "resolved", "resolved payload status")
            c.check(resolved[0][1]["endsAt"] != "0001-01-01T00:00:00Z", "resolved endsAt set")
        c.eq(len(rcv.matching("OnTimeRatioBelowTarget", agency, MONTH, "firing")), 1,
             "still only one firing notification")
        c.eq(metric(d.metrics_text(), "onestop_alert_active", alertname="OnTimeRatioBelowTarget",
                    agency=agency, period=MONTH, source="", severity="warning"), None,
             "no longer active on /metrics")
        if am.proc:
            gone = wait_for(lambda: not [a for a in am.find(labels)
                                         if a["status"]["state"] == "active"], 30)
            c.check(gone, "Alertmanager no longer has it active")

        # A failing webhook: 500, then too slow. Retried and counted; serving stays fast.
        # And a dead one (connection refused), to which a week-old notification is due.
        dead = "http://127.0.0.1:1/dead"
        config(hook + " " + bad + " " + dead)
        d.signal(signal.SIGHUP)  # reload
        time.sleep(3)
        pg.psql("onestop", "INSERT INTO alert_outbox (fingerprint, url, status, body, created_at)"
                " VALUES ('1111111111111111', '%s', 'firing', '{\"alerts\":[]}',"
                " now() - interval '8 days')" % dead)
        old_row = lambda: pg.psql("onestop", "SELECT (abandoned_at IS NOT NULL)::text, attempts,"
                                  " (sent_at IS NULL)::text, coalesce(last_error, '')"
                                  " FROM alert_outbox WHERE fingerprint = '1111111111111111'")[0]
        c.check(wait_for(lambda: old_row()[0] == "true", 20), "a week-old failing notification is abandoned")
        row = old_row()
        c.eq(row[1:3], ["1", "true"], "abandoned after one attempt, unsent")
        c.check(row[3] != "", "its last error is kept: %r" % row[3])
        c.check("abandoned after 1 failed attempt(s)" in d.logtext(), "the abandonment is logged")
        sim.post("/_sim/late?n=%d&agency=%s" % (late, agency))
        worst = 0.0
        deadline = time.time() + 20
        counts = {}
        while time.time() < deadline:
            t0 = time.monotonic()
            text = d.metrics_text()
            worst = max(worst, time.monotonic() - t0)
            counts = {r: metric(text, "onestop_alert_notifications_total", receiver="webhook", result=r)
                      for r in ("success", "failure", "retry")}
            # The abandoned row above already counts a failure: wait for the retry itself
            # to reach the bad webhook too, or a loaded machine ends the wait between the
            # two attempts.
            if (counts["retry"] or 0) >= 1 and (counts["failure"] or 0) >= 1 and rcv.bad_hits >= 2:
                break
            time.sleep(0.2)
        c.check((counts.get("retry") or 0) >= 1, "retries counted: %r" % counts)
        c.check((counts.get("failure") or 0) >= 1, "failures counted: %r" % counts)
        c.check(rcv.bad_hits >= 2, "the bad webhook was tried again (%d hits)" % rcv.bad_hits)
        c.check(worst < 1.0, "/metrics answered in %.3f s at worst while the webhook hung" % worst)
        c.check(wait_for(lambda: len(rcv.matching("OnTimeRatioBelowTarget", agency, MONTH, "firing")) == 2, 30),
                "the good webhook got the new episode")
        c.check(int(pg.scalar("SELECT count(*) FROM alert_outbox WHERE url = '%s' AND sent_at IS NULL" % bad)) >= 1,
                "the bad webhook's notification stays unsent")
        full_log = lambda: open(d.logpath, encoding="utf-8", errors="replace").read()
        c.check(wait_for(lambda: "webhook http://127.0.0.1:%d: timeout" % rcv.port in full_log(), 30),
                "the failing webhook is named in the log")
        log = full_log()
        c.check("t0ken-xyz" not in log, "the token never reaches the log")
        c.check("s3cr3tpw" not in log and "q5ecret" not in log and "/bad" not in log,
                "the webhook URL is logged as scheme://host:port only")

        # A webhook that hangs (timeout 60s, clamped to 30s): the good webhook and
        # Alertmanager still get the resolved notice, and a stop takes seconds, not 30.
        config(hook + " " + hang, timeout=60)
        d.signal(signal.SIGHUP)
        time.sleep(3)
        sim.post("/_sim/recover?agency=%s" % agency)
        c.check(wait_for(lambda: rcv.hang_hits >= 1, 60), "the hanging webhook was called")
        c.check(wait_for(lambda: len(rcv.matching("OnTimeRatioBelowTarget", agency, MONTH, "resolved")) == 2, 30),
                "the good webhook got the second resolved notice")
        if am.proc:
            gone = wait_for(lambda: not [a for a in am.find(labels)
                                         if a["status"]["state"] == "active"], 30)
            c.check(gone, "Alertmanager resolved it while a webhook hangs")
        c.check("time out after 30s at most" in d.logtext(), "the timeout clamp is logged")
        t0 = time.monotonic()
        rc = d.stop(timeout=30)
        took = time.monotonic() - t0
        c.eq(rc, 0, "clean stop with a webhook hanging")
        c.check(took < 10, "stopped in %.1f s with a webhook request in flight" % took)
        d = None
    finally:
        if d:
            d.stop()
        am.stop()
        rcv.stop()
        sim.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
