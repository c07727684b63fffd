#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""contrib/grafana/onestopd-overview.json: every query (panels and variables), with the
variables set to real values, is evaluated by `promtool test rules` against the series of
a real scrape of onestopd (plus the recording rules of contrib/prometheus), and must
return at least one sample, so a query naming a metric or a label that does not exist
fails. Lint: the data source is the templated variable everywhere, every panel has a
query and a unit, queries use only the dashboard's variables and Grafana's built-ins, and
the labels they group or match by exist."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402

AS_OF = "2022-12-20"
DASHBOARD = os.path.join(harness.SRC, "contrib", "grafana", "onestopd-overview.json")
RULES = os.path.join(harness.SRC, "contrib", "prometheus", "onestopd.rules.yml")
VARIABLES = {"datasource", "job", "instance", "agency", "period"}
BUILTINS = {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms"}
STEP = "5m"       # input series resolution
POINTS = 2100     # a bit over 7 days of STEP, for "offset 7d"
EVAL = "7d4h"

PROMQL_WORDS = {
    "sum", "count", "avg", "min", "max", "by", "without", "on", "ignoring", "group_left",
    "group_right", "and", "or", "unless", "bool", "offset", "rate", "increase", "time",
    "label_values", "group", "topk", "bottomk", "abs", "clamp_min", "clamp_max", "absent",
}


def panels_of(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []):
            yield q


def var_refs(expr):
    return set(re.findall(r"\$\{?(\w+)", expr))


def substitute(expr, values):
    def rep(m):
        name = m.group(1) or m.group(2)
        return values[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", rep, expr)


def label_values_query(q):
    """label_values(metric{sel}, label) -> a PromQL expression that is empty exactly when
    the variable would have no value (the label must be there, not merely grouped by)."""
    m = re.match(r"^\s*label_values\(\s*(\w+)\s*(\{.*\})?\s*,\s*(\w+)\s*\)\s*$", q, re.S)
    if not m:
        return q
    metric, sel, label = m.group(1), m.group(2), m.group(3)
    inner = sel[1:-1].strip() if sel else ""
    return 'group by (%s) (%s{%s%s!=""})' % (label, metric, inner + ", " if inner else "", label)


def used_labels(expr):
    """Label names a query depends on: matchers, by/without/on/ignoring lists."""
    names = set()
    for inside in re.findall(r"\{([^}]*)\}", expr):
        names |= set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", inside))
    for inside in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        names |= {n.strip() for n in inside.split(",") if n.strip()}
    return names - {"__name__"}


def lint(c, dash):
    queries = []   # (where, expr, legend)
    c.check(dash.get("uid") and dash.get("title"), "uid and title")
    tvars = dash.get("templating", {}).get("list", [])
    c.eq({v["name"] for v in tvars}, VARIABLES, "the dashboard's variables")
    for v in tvars:
        if v["type"] == "datasource":
            c.eq(v.get("query"), "prometheus", "the datasource variable is of type prometheus")
            continue
        c.eq(v.get("datasource"), {"type": "prometheus", "uid": "${datasource}"},
             "variable %s uses the templated data source" % v["name"])
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        queries.append(("variable " + v["name"], q, ""))
    agency = [v for v in tvars if v["name"] == "agency"]
    c.check(agency and agency[0].get("multi") and "onestop_agency_info" in agency[0]["definition"],
            "agency is multi-value, from onestop_agency_info")
    n = 0
    for p in panels_of(dash):
        if p["type"] == "row":
            continue
        n += 1
        where = "panel %r" % p.get("title")
        c.eq(p.get("datasource"), {"type": "prometheus", "uid": "${datasource}"},
             where + ": templated data source")
        targets = p.get("targets", [])
        c.check(targets and all(t.get("expr", "").strip() for t in targets), where + ": has a query")
        for t in targets:
            c.eq(t.get("datasource"), {"type": "prometheus", "uid": "${datasource}"},
                 where + " " + t.get("refId", "") + ": templated data source")
            queries.append((where + " " + t.get("refId", ""), t["expr"], t.get("legendFormat", "")))
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        c.check(bool(unit), where + ": unit set")
    c.check(n >= 15, "panels: %d" % n)
    # No data source named anywhere: every "datasource" is the variable (or Grafana's own).
    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "datasource" and not (isinstance(v, dict) and v.get("uid") == "${datasource}"):
                    c.check(v == {"type": "grafana", "uid": "-- Grafana --"},
                            "datasource %r is templated or Grafana's built-in" % (v,))
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk({k: v for k, v in dash.items() if k != "templating"})
    for where, expr, legend in queries:
        refs = var_refs(expr) | var_refs(legend)
        c.check(refs <= (VARIABLES | BUILTINS) - {"datasource"},
                "%s: only the dashboard's variables and built-ins (%s)" % (where, sorted(refs)))
    return queries


def promtool_test(work, name, series, exprs):
    """Writes a promtool unit test of exprs over series; returns (ok, output)."""
    lines = ["rule_files:", "  - %s" % json.dumps(RULES), "evaluation_interval: %s" % STEP,
             "tests:", "  - interval: %s" % STEP, "    input_series:"]
    for s, v in series:
        lines.append("      - series: %s" % json.dumps(s))
        lines.append("        values: %s" % json.dumps("%s+0x%d" % (v, POINTS)))
    lines.append("    promql_expr_test:")
    for e in exprs:
        # Non-empty exactly when count() has a sample: then "> bool 0" gives {} 1.
        lines.append("      - expr: %s" % json.dumps("count(%s) > bool 0" % e))
        lines.append("        eval_time: %s" % EVAL)
        lines.append("        exp_samples:")
        lines.append("          - labels: '{}'")
        lines.append("            value: 1")
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True,
                       timeout=600)
    return p.returncode == 0, p.stdout + p.stderr


def fmt_value(v):
    if v != v:
        return "NaN"
    return repr(float(v))


def main():
    c = harness.Checker("grafana")
    dash = json.load(open(DASHBOARD, encoding="utf-8"))
    queries = lint(c, dash)
    if not shutil.which("promtool"):
        print("grafana: promtool not installed (Debian package prometheus); queries not evaluated")
        c.done()
    work = tempfile.mkdtemp(prefix="onestop-grafana-")
    pg = harness.PgCluster(timezone="UTC")
    sim = harness.FeedSim("--seed", 5, "--dossiers", 1500, "--as-of", AS_OF, "--bad-ratio", 0.03)
    d = None
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF)
        d = harness.Daemon(cfg)
        d.wait_ready()
        t0 = time.monotonic()
        d.metrics_text()  # a scrape before: the next one has the size of a /metrics answer
        text = d.metrics_text()
        took = time.monotonic() - t0
    finally:
        if d:
            d.stop()
        sim.stop()
        pg.stop()
    got = reference.parse_exposition(text)
    job, instance = "onestopd", "127.0.0.1:%d" % harness.listen_of(cfg)
    # What Prometheus adds to every scrape of the target, from this very scrape.
    extra = {("up", frozenset()): 1.0, ("scrape_samples_scraped", frozenset()): float(len(got)),
             ("scrape_duration_seconds", frozenset()): took}
    series, labels_seen = [], {"job", "instance"}
    for (fam, labels), v in list(got.items()) + list(extra.items()):
        lab = dict(labels, job=job, instance=instance)
        labels_seen |= set(dict(labels))
        body = ",".join('%s=%s' % (k, json.dumps(lab[k])) for k in sorted(lab))
        series.append(("%s{%s}" % (fam, body), fmt_value(v)))
    agencies = sorted(dict(k[1])["agency"] for k in got if k[0] == "onestop_agency_info")
    periods = sorted({dict(k[1])["period"] for k in got if k[0] == "onestop_on_time_ratio"})
    c.check(len(agencies) >= 2 and periods, "agencies %d, periods %s" % (len(agencies), periods))
    values = {
        "job": job, "instance": instance,
        # Grafana's multi-value interpolation for Prometheus: regex-escaped, joined by |.
        "agency": "(" + "|".join(re.escape(a).replace("\\", "\\\\") for a in agencies[:3]) + ")",
        "period": periods[0],
        "__rate_interval": "15m", "__interval": STEP, "__range": "1h",
    }
    # Every label a query matches or groups by exists on some series of the scrape (or is a
    # label a recording rule keeps): a typo in "by (agnecy)" would still return samples.
    for where, expr, legend in queries:
        for name in used_labels(expr) | set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend)):
            c.check(name in labels_seen, "%s: label %r exists in the scrape" % (where, name))
    exprs = []
    for where, expr, legend in queries:
        e = substitute(label_values_query(expr), values)
        exprs.append(e)
    ok, out = promtool_test(work, "dashboard_test.yml", series, exprs)
    c.check(ok, "every dashboard query returns samples over a real scrape:\n" + out[-4000:])
    c.eq(len(exprs), len(queries), "queries evaluated")
    print("grafana: %d queries evaluated over %d series" % (len(exprs), len(series)), flush=True)
    # The harness itself catches a wrong name: a missing metric and a missing label fail.
    for bad in ('onestop_no_such_metric{job="%s"}' % job,
                'onestop_on_time_ratio{job="%s", agnecy="ALL"}' % job,
                'onestop_on_time_ratio{job="%s", period="1999"}' % job):
        ok, _ = promtool_test(work, "bad_test.yml", series[:50] + [s for s in series if "on_time_ratio" in s[0]], [bad])
        c.check(not ok, "a query that names nothing fails the test: %s" % bad)
    shutil.rmtree(work, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
