#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The report API, targets and period modes through the real daemon:
- /api/v1/report for the current periods equals /metrics, number for number;
- a past period (2021-Q3) equals reference.report() computed independently;
- the CSV (BOM, Vietnamese header, CRLF) parses back to the JSON;
- bad parameters are 400 with the parameter named;
- /api/v1/overdue agrees with the pending-overdue counts;
- target_met flips when [targets] change (SIGHUP reload);
- period_mode = report matches the reference's report-mode periods."""

import csv
import io
import json
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402

AS_OF = "2022-12-20"


def get_json(d, path):
    status, headers, body = d.http(path)
    return status, headers, (json.loads(body.decode("utf-8")) if body else None)


def metric(got, fam, **labels):
    return got.get((fam, frozenset(labels.items())))


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9


def check_row_vs_metrics(c, row, got, agency, period):
    c.eq(row["carried_over"], metric(got, "onestop_dossiers_carried_over", agency=agency, period=period),
         "%s %s carried_over" % (agency, period))
    for ch in ("online", "direct", "postal"):
        c.eq(row["received"][ch], metric(got, "onestop_dossiers_received", agency=agency, period=period, channel=ch),
             "%s %s received %s" % (agency, period, ch))
    for t in ("early", "on_time", "late"):
        c.eq(row["resolved"][t], metric(got, "onestop_dossiers_resolved", agency=agency, period=period, timeliness=t),
             "%s %s resolved %s" % (agency, period, t))
    for t in ("within", "overdue"):
        c.eq(row["pending"][t], metric(got, "onestop_dossiers_pending", agency=agency, period=period, timeliness=t),
             "%s %s pending %s" % (agency, period, t))
    for r in ("on_time", "resolved_on_time", "online_dossier", "postal_receipt", "postal_return"):
        m = metric(got, "onestop_%s_ratio" % r, agency=agency, period=period)
        c.check(close(row[r + "_ratio"], m), "%s %s %s_ratio: api %r, metrics %r" % (agency, period, r, row[r + "_ratio"], m))


def reload_with(d, cfg, replace):
    text = open(cfg).read()
    for a, b in replace:
        text = text.replace(a, b)
    open(cfg, "w").write(text)
    d.signal(signal.SIGHUP)
    # The reload marks the data dirty, so the next loop tick (at most 1 s) recomputes.
    time.sleep(3)
    return reference.parse_exposition(d.metrics_text())


def main():
    c = harness.Checker("report_api")
    work = tempfile.mkdtemp(prefix="onestop-report-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 31337, "--dossiers", 5000, "--as-of", AS_OF)
    d = None
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                   metrics_interval="1s",
                                   extra="[targets]\nonline_dossier_ratio = 0.25\n")
        d = harness.Daemon(cfg)
        d.wait_ready()
        dump = sim.dump()
        got = reference.parse_exposition(d.metrics_text())

        # 1. Current periods: API == /metrics.
        for label, frm, to in (("2022", "2022-01-01", AS_OF), ("2022-Q4", "2022-10-01", AS_OF),
                               ("2022-12", "2022-12-01", AS_OF)):
            status, headers, rep = get_json(d, "/api/v1/report?from=%s&to=%s" % (frm, to))
            c.eq(status, 200, "report %s status" % label)
            c.check(headers.get("Content-Type", "").startswith("application/json"), "json content type")
            c.check(len(rep["rows"]) > 0, "rows for %s" % label)
            for row in rep["rows"]:
                check_row_vs_metrics(c, row, got, row["agency"], label)
            check_row_vs_metrics(c, rep["total"], got, "ALL", label)
            c.eq(rep["total"]["agency"], "ALL", "total is ALL")
            c.eq([r["agency"] for r in rep["rows"]], sorted([r["agency"] for r in rep["rows"]],
                                                             key=lambda s: s.encode()), "rows sorted by code")

        # 2. A past period against the independent reference.
        status, _, rep = get_json(d, "/api/v1/report?from=2021-07-01&to=2021-09-30")
        want = reference.report(dump, "2021-07-01", "2021-09-30", AS_OF)
        c.eq(status, 200, "2021-Q3 status")
        c.eq(rep["from"], "2021-07-01", "from echoed")
        c.eq(len(rep["rows"]), len(want["rows"]), "2021-Q3 row count")
        for g, w in zip(rep["rows"], want["rows"]):
            for k in ("agency", "name", "carried_over", "received", "resolved", "pending"):
                c.eq(g[k], w[k], "2021-Q3 %s %s" % (w["agency"], k))
            for k in ("on_time_ratio", "resolved_on_time_ratio", "online_dossier_ratio",
                      "postal_receipt_ratio", "postal_return_ratio"):
                c.check(close(g[k], w[k]), "2021-Q3 %s %s: %r vs %r" % (w["agency"], k, g[k], w[k]))
        for k in ("carried_over", "received", "resolved", "pending"):
            c.eq(rep["total"][k], want["total"][k], "2021-Q3 total %s" % k)
        c.check(sum(rep["total"]["received"].values()) > 0, "2021-Q3 has dossiers")

        # One agency only.
        one = want["rows"][0]["agency"]
        status, _, rep1 = get_json(d, "/api/v1/report?from=2021-07-01&to=2021-09-30&agency=" + one)
        c.eq([r["agency"] for r in rep1["rows"]], [one], "agency filter")
        c.eq(rep1["total"], rep["total"], "total stays province-wide")

        # 3. CSV parses back to the JSON.
        status, headers, body = d.http("/api/v1/report?from=2021-07-01&to=2021-09-30&format=csv")
        c.eq(status, 200, "csv status")
        c.check(headers.get("Content-Type", "").startswith("text/csv"), "csv content type")
        c.check("attachment" in headers.get("Content-Disposition", ""), "csv is an attachment")
        c.check(body.startswith(b"\xef\xbb\xbf"), "csv starts with a UTF-8 BOM")
        c.check(b"\r\n" in body, "csv uses CRLF")
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
        c.eq(rows[0][:3], ["Mã đơn vị", "Tên đơn vị", "Từ kỳ trước"], "Vietnamese header")
        c.eq(len(rows), 1 + len(rep["rows"]) + 1, "csv line count")
        for line, row in zip(rows[1:], rep["rows"] + [rep["total"]]):
            c.eq(line[0], row["agency"], "csv agency")
            c.eq(line[1], row.get("name") or "", "csv name")
            nums = [int(x) for x in line[2:11]]
            c.eq(nums, [row["carried_over"], row["received"]["online"], row["received"]["direct"],
                        row["received"]["postal"], row["resolved"]["early"], row["resolved"]["on_time"],
                        row["resolved"]["late"], row["pending"]["within"], row["pending"]["overdue"]],
                 "csv counts of %s" % row["agency"])
            r = row["on_time_ratio"]
            c.check((line[11] == "" and r is None) or (r is not None and abs(float(line[11]) - r) < 1e-6),
                    "csv on-time ratio of %s" % row["agency"])

        # 4. Bad parameters.
        for q, param in (("from=2022-13-01&to=2022-12-31", "from"), ("from=2022-01-01", "to"),
                         ("from=2022-02-30&to=2022-03-01", "from"),
                         ("from=2022-12-31&to=2022-01-01", "from"),
                         ("from=2022-01-01&to=2022-12-31&agency=NOPE", "agency"),
                         ("from=2022-01-01&to=2022-12-31&format=xml", "format")):
            status, headers, err = get_json(d, "/api/v1/report?" + q)
            c.eq(status, 400, "400 for %s" % q)
            c.eq(err and err.get("parameter"), param, "error names %s" % param)
        status, _, _ = get_json(d, "/api/v1/overdue?limit=0")
        c.eq(status, 400, "overdue limit=0 is 400")

        # 5. Overdue list agrees with the counts.
        agencies = sorted({dict(k[1])["agency"] for k in got if k[0] == "onestop_dossiers_carried_over"} - {"ALL"})
        for ag in agencies[:4]:
            status, _, ov = get_json(d, "/api/v1/overdue?agency=%s&limit=1000" % ag)
            c.eq(status, 200, "overdue status")
            c.eq(len(ov["dossiers"]), metric(got, "onestop_dossiers_pending", agency=ag, period="2022-12", timeliness="overdue"),
                 "overdue list size of %s" % ag)
            c.eq(sum(1 for x in ov["dossiers"] if not x["apology"]),
                 metric(got, "onestop_dossiers_overdue_without_apology", agency=ag),
                 "overdue without apology of %s" % ag)
            days = [x["days_overdue"] for x in ov["dossiers"]]
            c.eq(days, sorted(days, reverse=True), "most overdue first")

        # 6. target_met flips with the configured targets.
        key = ("onestop_target_met", frozenset({"indicator": "online_dossier", "agency": "ALL", "period": "2022"}.items()))
        ratio = metric(got, "onestop_online_dossier_ratio", agency="ALL", period="2022")
        c.eq(got.get(key), 1.0 if ratio >= 0.25 else 0.0, "target_met at 0.25")
        lo, hi = ("0.25", "%.4f" % min(1.0, ratio + 0.05))
        got2 = reload_with(d, cfg, [("online_dossier_ratio = " + lo, "online_dossier_ratio = " + hi)])
        c.eq(got2.get(key), 0.0, "target_met flips to 0 when the target rises above the ratio")
        c.eq(got2.get(("onestop_target_ratio", frozenset({"indicator": "online_dossier"}.items()))), float(hi), "new target exposed")
        got3 = reload_with(d, cfg, [("online_dossier_ratio = " + hi, "online_dossier_ratio = 0.0\non_time_baseline = 0.0")])
        c.eq(got3.get(key), 1.0, "target_met back to 1")
        c.eq(got3.get(("onestop_target_met", frozenset({"indicator": "on_time", "agency": "ALL", "period": "2022"}.items()))),
             1.0 if metric(got3, "onestop_on_time_ratio", agency="ALL", period="2022") > 0 else 0.0,
             "on_time target_met with baseline 0")

        # 7. Unmatched shipments are counted.
        c.check((metric(got, "onestop_postal_unmatched_shipments") or 0) > 0, "unmatched shipments counted")

        # 8. Report mode, after a reload.
        got4 = reload_with(d, cfg, [("[metrics]\n", "[metrics]\nperiod_mode = report\n")])
        want4 = reference.expected_metrics(dump, AS_OF, period_mode="report",
                                           targets={"online_dossier": 0.0}, on_time_baseline=0.0)
        problems = reference.diff_metrics(want4, got4)
        for p in problems[:30]:
            c.check(False, "report mode: " + p)
        c.check(not problems, "report mode matches the reference (%d differences)" % len(problems))
        c.check(any(k[0] == "onestop_dossiers_received" and dict(k[1]).get("period") == "report:2023-01" for k in got4),
                "report-mode labels carry the report: prefix")
    finally:
        if d:
            d.stop()
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
