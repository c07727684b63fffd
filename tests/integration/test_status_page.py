#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The status page (GET /) in a real headless Chromium, from the real daemon over the
feed simulator: every agency's row shows exactly what /metrics has (ratios rounded half
up to one decimal, "87,8%"; counts "12.345"), "Toàn tỉnh" is the province and the rows
add up to it, the targets say what onestop_target_met says, the trend shows the stored
indicator_daily rows, and /qua-han lists exactly the overdue dossiers /metrics counts.
Screenshots go to BUILD/artifacts/ (docs/status-page.png is one of them)."""

import decimal
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402

AS_OF = "2022-12-20"
SEED = int(os.environ.get("ONESTOP_TEST_SEED", "20221221"))
PROVINCE = "Tỉnh Quảng Nam"
CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'")
ARTIFACTS = os.path.join(os.environ.get("ONESTOP_BUILD", os.path.join(harness.SRC, "build")),
                         "artifacts")
CHROMIUM_FLAGS = ["--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
NO_SCRIPT = "--blink-settings=scriptEnabled=false"


# ---- /metrics, raw ----

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def raw_samples(text):
    """{(family, frozenset(labels)): the value exactly as /metrics wrote it}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        labels = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                  for k, v in LABEL.findall(m.group(2) or "")}
        out[(m.group(1), frozenset(labels.items()))] = m.group(3)
    return out


def pct(raw):
    """The page's form of a /metrics ratio: percent, one decimal, half up, "87,8%"."""
    if raw is None:
        return "—"
    t = (decimal.Decimal(raw) * 1000).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP)
    t = int(t)
    return "%d,%d%%" % (t // 10, t % 10)


def count_text(n):
    return "{:,}".format(int(n)).replace(",", ".")


def count_value(text):
    return int(text.replace(".", ""))


# ---- the DOM ----

class Dom(html.parser.HTMLParser):
    """Collects, for every <tr> with data-agency / data-period / data-day / data-code, the
    text of its cells by data-col (and the row's first <th>), the cards' text by
    data-indicator, the links, and whether a <script> or an on* attribute exists."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows = []          # (table id, attrs of tr, {col: text}, header text)
        self.cards = {}
        self.links = []
        self.scripts = 0
        self.handlers = 0
        self.svgs = []          # attrs of each svg
        self.titles_in_svg = 0
        self.h1 = ""
        self._table = None
        self._tr = None
        self._cell = None
        self._card = None
        self._in_svg = False
        self._in_h1 = False
        self._stack_text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if any(k.startswith("on") for k in a):
            self.handlers += 1
        if tag == "script":
            self.scripts += 1
        if tag == "table":
            self._table = a.get("id")
        if tag == "tr":
            self._tr = (self._table, a, {}, [])
        if tag in ("td", "th") and self._tr is not None:
            self._cell = (a.get("data-col") or ("_th" if tag == "th" else None), [])
        if tag == "div" and "data-indicator" in a:
            self._card = (a["data-indicator"], [])
        if tag == "a":
            self.links.append(a.get("href", ""))
        if tag == "svg":
            self._in_svg = True
            self.svgs.append(a)
        if tag == "title" and self._in_svg:
            self.titles_in_svg += 1
        if tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._tr is not None:
            col, parts = self._cell
            text = "".join(parts).strip()
            if col == "_th":
                self._tr[3].append(text)
            elif col:
                self._tr[2][col] = text
            self._cell = None
        if tag == "tr" and self._tr is not None:
            self.rows.append(self._tr)
            self._tr = None
        if tag == "table":
            self._table = None
        if tag == "div" and self._card is not None:
            self.cards[self._card[0]] = " ".join("".join(self._card[1]).split())
            self._card = None
        if tag == "svg":
            self._in_svg = False
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1].append(data)
        if self._card is not None:
            self._card[1].append(data)
        if self._in_h1:
            self.h1 += data

    def table(self, table_id, key):
        return {r[1].get(key): (r[2], r[3]) for r in self.rows if r[0] == table_id and key in r[1]}


def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise RuntimeError("chromium not installed: run scripts/deps.sh (Debian package chromium)")
    return exe


def browser(args, url, profile):
    argv = [chromium()] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + args + [url]
    if os.geteuid() == 0:
        argv.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run(argv, capture_output=True, timeout=120)


def dump_dom(url, work, note=[]):
    """The DOM after Chromium loaded url, scripts disabled. The newer headless mode reads
    the DOM through its own script: where scriptEnabled=false leaves it empty, the dump is
    taken again without it (the page has no script, and its CSP forbids any)."""
    p = browser([NO_SCRIPT, "--dump-dom"], url, tempfile.mkdtemp(dir=work))
    out = p.stdout.decode("utf-8", "replace")
    if not out.strip():
        if not note:
            note.append(1)
            print("note: this Chromium dumps no DOM with scriptEnabled=false; dumping with its "
                  "default settings", flush=True)
        out = browser(["--dump-dom"], url, tempfile.mkdtemp(dir=work)).stdout.decode("utf-8", "replace")
    return out


def screenshot(url, path, work, size="1280,1850"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for extra in ([NO_SCRIPT], []):
        if os.path.exists(path):
            os.unlink(path)
        browser(extra + ["--screenshot=" + path, "--window-size=" + size, "--hide-scrollbars"],
                url, tempfile.mkdtemp(dir=work))
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return True
    return False


def parse(text):
    d = Dom()
    d.feed(text)
    d.close()
    return d


# ---- the trend's past days ----

def backfill(pg, dump, days=89):
    """indicator_daily rows for the 89 days before AS_OF, as the leader would have stored
    them, computed by reference.py; returns {(day, label, agency): (on_time, online)}."""
    import datetime as dt
    store = reference.build_store(dump)
    today = dt.date.fromisoformat(AS_OF)
    rows, vals = [], {}
    for i in range(days, 0, -1):
        day = today - dt.timedelta(days=i)
        for label, frm, to in reference.standard_periods(day):
            for agency, c in reference.counts(store, frm, to, now=day).items():
                r = reference.ratios(c)
                vals[(day.isoformat(), label, agency)] = (r["on_time_ratio"], r["online_dossier_ratio"])

                def f(v):
                    return "NULL" if v is None else repr(v)
                rows.append("('%s','%s','%s',%s,%s,%s,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d)" % (
                    day.isoformat(), label, agency.replace("'", "''"), f(r["on_time_ratio"]),
                    f(r["resolved_on_time_ratio"]), f(r["online_dossier_ratio"]),
                    f(r["postal_receipt_ratio"]), f(r["postal_return_ratio"]), c["carried_over"],
                    c["received"]["online"], c["received"]["direct"], c["received"]["postal"],
                    c["resolved"]["early"], c["resolved"]["on_time"], c["resolved"]["late"],
                    c["pending"]["within"], c["pending"]["overdue"]))
    for k in range(0, len(rows), 500):
        pg.psql("onestop", "INSERT INTO indicator_daily (day, period, agency, on_time_ratio,"
                " resolved_on_time_ratio, online_dossier_ratio, postal_receipt_ratio,"
                " postal_return_ratio, carried_over, received_online, received_direct,"
                " received_postal, resolved_early, resolved_on_time, resolved_late,"
                " pending_within, pending_overdue) VALUES " + ",".join(rows[k:k + 500]))
    return vals


# ---- checks ----

def sample(raw, family, **labels):
    return raw.get((family, frozenset(labels.items())))


def check_agency_table(c, dom, raw, got, label, agencies, names):
    rows = dom.table("agencies", "data-agency")
    c.eq(sorted(rows), sorted(agencies + ["ALL"]), "%s: one row per agency and the province" % label)
    c.eq(rows.get("ALL", ({}, [""]))[1][:1], ["Toàn tỉnh"], "%s: the province row is Toàn tỉnh" % label)
    sums = {}
    for agency in agencies + ["ALL"]:
        cells, heads = rows.get(agency, ({}, []))

        def num(family, key=None, **lab):
            fams = [k for k in got if k[0] == family and dict(k[1]).get("agency") == agency
                    and dict(k[1]).get("period") == label
                    and all(dict(k[1]).get(a) == b for a, b in lab.items())]
            return sum(got[k] for k in fams)
        want = {
            "carried_over": num("onestop_dossiers_carried_over"),
            "received": num("onestop_dossiers_received"),
            "resolved": num("onestop_dossiers_resolved"),
            "pending": num("onestop_dossiers_pending"),
            "overdue": num("onestop_dossiers_pending", timeliness="overdue"),
        }
        for col, v in want.items():
            c.eq(cells.get(col), count_text(v), "%s %s: %s" % (label, agency, col))
            if agency != "ALL":
                sums[col] = sums.get(col, 0) + count_value(cells.get(col, "0"))
        for col, fam in (("on_time", "onestop_on_time_ratio"), ("online", "onestop_online_dossier_ratio"),
                         ("postal", "onestop_postal_receipt_ratio")):
            c.eq(cells.get(col), pct(sample(raw, fam, agency=agency, period=label)),
                 "%s %s: %s as on /metrics" % (label, agency, col))
        if agency != "ALL" and names.get(agency):
            c.check(heads and heads[0].startswith(names[agency]) and heads[0].endswith(agency),
                    "%s %s: name and code shown (%r)" % (label, agency, heads[:1]))
    for col, s in sums.items():
        c.eq(s, count_value(rows["ALL"][0].get(col, "0")), "%s: the agencies add up to Toàn tỉnh: %s"
             % (label, col))
    # Ranked by on-time ratio, best first, the agencies without one last.
    order = [r[1]["data-agency"] for r in dom.rows
             if r[0] == "agencies" and r[1].get("data-agency") not in (None, "ALL")]
    keys = []
    for a in order:
        v = sample(raw, "onestop_on_time_ratio", agency=a, period=label)
        keys.append((v is None, -float(v) if v is not None else 0.0, a.encode()))
    c.check(keys == sorted(keys), "%s: rows sorted by on-time ratio" % label)


def check_targets(c, dom, raw, label, agency="ALL"):
    for ind in ("online_dossier", "online_procedure", "postal_procedure", "on_time"):
        met = sample(raw, "onestop_target_met", indicator=ind, agency=agency, period=label)
        text = dom.cards.get(ind, "")
        want = {"1": "✓ Đạt", "0": "✗ Chưa đạt"}.get(met)
        if want:
            c.check(text.endswith(want), "%s %s target %s: %r ends with %r" % (label, agency, ind, text, want))
        else:
            c.check("Đạt" not in text.replace("Chưa đạt", ""), "%s target %s: no verdict" % (label, ind))


def main():
    c = harness.Checker("status_page")
    work = tempfile.mkdtemp(prefix="onestop-page-")
    os.chmod(work, 0o755)
    pg = harness.PgCluster(timezone="UTC")
    sim = harness.FeedSim("--seed", SEED, "--dossiers", 5000, "--as-of", AS_OF, "--bad-ratio", 0.02)
    d = None
    try:
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                   page_size=500)
        text = open(cfg, encoding="utf-8").read().replace("[metrics]\n", "[metrics]\nprovince = %s\n" % PROVINCE)
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(text)
        subprocess.run([harness.ONESTOPD, "-c", cfg, "--migrate"], check=True, capture_output=True)
        dump = sim.dump()
        past = backfill(pg, dump)
        d = harness.Daemon(cfg)
        d.wait_ready()
        metrics = d.metrics_text()
        raw = raw_samples(metrics)
        got = reference.parse_exposition(metrics)
        agencies = sorted({dict(k[1])["agency"] for k in got if k[0] == "onestop_dossiers_received"} - {"ALL"},
                          key=lambda a: a.encode())
        names = {dict(k[1])["agency"]: dict(k[1])["name"] for k in got if k[0] == "onestop_agency_info"}
        labels = [p[0] for p in reference.standard_periods(AS_OF)]
        c.check(len(agencies) >= 5, "agencies on /metrics: %d" % len(agencies))

        status, headers, body = d.http("/")
        c.eq(status, 200, "GET / status")
        c.eq(headers.get("Content-Type"), "text/html; charset=utf-8", "GET / Content-Type")
        c.eq(headers.get("Content-Security-Policy"), CSP, "GET / CSP")
        page = body.decode("utf-8")
        c.check('<html lang="vi">' in page, "lang vi")
        c.check('name="viewport"' in page and "@media print" in page and "size:A4" in page,
                "viewport and A4 print stylesheet")
        c.check(not re.search(r'(src|href)="(https?:)?//', page), "no resource from another origin")
        c.check(PROVINCE in page, "the province in the header")
        c.check("Số liệu đến ngày <b>20/12/2022</b>" in page, "the as_of date in the header")
        c.check(re.search(r"iGate: đồng bộ lúc \d\d:\d\d", page) is not None, "iGate health in words")
        c.check(re.search(r"VNPost: đồng bộ lúc \d\d:\d\d", page) is not None, "VNPost health in words")

        for i, label in enumerate(labels):
            url = d.url + ("/" if i == 0 else "/?period=" + label)
            dom = parse(dump_dom(url, work))
            c.eq(dom.scripts + dom.handlers, 0, "%s: no script in the DOM" % label)
            check_agency_table(c, dom, raw, got, label, agencies, names)
            check_targets(c, dom, raw, label)
            for other in labels:
                c.check("/?period=" + other in dom.links, "%s: a switch to %s" % (label, other))
            c.check(any(h.startswith("/api/v1/report?from=") and h.endswith("format=csv") for h in dom.links),
                    "%s: CSV link" % label)
            c.check(len(dom.svgs) == 2 and all(s.get("role") == "img" for s in dom.svgs)
                    and dom.titles_in_svg == 2, "%s: two charts with role=img and a title" % label)
            trend = dom.table("trend", "data-day")
            c.eq(len(trend), 90, "%s: 90 days in the trend table" % label)
            for day, (cells, _) in list(trend.items())[::17]:
                on, online = past.get((day, reference.standard_periods(day)[i][0], "ALL"), (None, None))
                if day == AS_OF:
                    on = sample(raw, "onestop_on_time_ratio", agency="ALL", period=label)
                    online = sample(raw, "onestop_online_dossier_ratio", agency="ALL", period=label)
                else:
                    on = None if on is None else repr(on)
                    online = None if online is None else repr(online)
                c.eq(cells.get("on_time"), pct(on), "%s trend %s on time" % (label, day))
                c.eq(cells.get("online"), pct(online), "%s trend %s online" % (label, day))
            if i == 0:
                c.check(screenshot(d.url + "/", os.path.join(ARTIFACTS, "status-page.png"), work),
                        "screenshot of / saved")
                c.check(screenshot(d.url + "/", os.path.join(ARTIFACTS, "status-page-phone.png"), work,
                                   size="390,1600"), "phone-width screenshot saved")

        # One agency's own page: its Biểu 06 and targets for each period.
        busiest = max(agencies, key=lambda a: got.get(("onestop_dossiers_pending", frozenset(
            {"agency": a, "period": labels[0], "timeliness": "overdue"}.items())), 0))
        dom = parse(dump_dom(d.url + "/?agency=" + busiest + "&period=" + labels[2], work))
        c.check(dom.h1.strip() == names.get(busiest, busiest), "agency page heading %r" % dom.h1)
        b06 = dom.table("b06", "data-period")
        for label in labels:
            cells = b06.get(label, ({}, []))[0]
            for col, fam, lab in (("carried_over", "onestop_dossiers_carried_over", {}),
                                  ("received_online", "onestop_dossiers_received", {"channel": "online"}),
                                  ("resolved_late", "onestop_dossiers_resolved", {"timeliness": "late"}),
                                  ("pending_overdue", "onestop_dossiers_pending", {"timeliness": "overdue"})):
                v = got.get((fam, frozenset(dict(lab, agency=busiest, period=label).items())))
                c.eq(cells.get(col), count_text(v or 0), "agency page %s %s" % (label, col))
        check_targets(c, dom, raw, labels[2], agency=busiest)
        screenshot(d.url + "/?agency=" + busiest, os.path.join(ARTIFACTS, "status-page-agency.png"), work)

        # The overdue list: exactly the dossiers the pending-overdue count counts.
        for agency in (busiest, None):
            key = agency or "ALL"
            url = d.url + "/qua-han" + ("?agency=" + agency if agency else "")
            status, headers, _ = d.http(url[len(d.url):])
            c.eq(status, 200, "/qua-han %s status" % key)
            c.eq(headers.get("Content-Security-Policy"), CSP, "/qua-han CSP")
            dom = parse(dump_dom(url, work))
            rows = dom.table("overdue", "data-code")
            want = got.get(("onestop_dossiers_pending", frozenset(
                {"agency": key, "period": labels[0], "timeliness": "overdue"}.items())), 0)
            c.eq(len(rows), min(int(want), 1000), "/qua-han %s: one row per overdue dossier" % key)
            without = sum(1 for cells, _ in rows.values() if "Chưa có" in cells.get("apology", ""))
            c.eq(without, int(got.get(("onestop_dossiers_overdue_without_apology",
                                       frozenset({"agency": key}.items())), 0)),
                 "/qua-han %s: the ones without an apology slip" % key)
            c.check(all(re.match(r"\d\d:\d\d \d\d/\d\d/\d{4}$", cells.get("due", "")) and cells.get("code")
                        and cells.get("procedure") for cells, _ in rows.values()),
                    "/qua-han %s: code, procedure and due date on each row" % key)
        screenshot(d.url + "/qua-han?agency=" + busiest, os.path.join(ARTIFACTS, "overdue-page.png"), work,
                   size="1280,900")
        c.eq(d.http("/qua-han?agency=NOPE")[0], 404, "/qua-han unknown agency")
        c.eq(d.http("/?agency=NOPE")[0], 404, "unknown agency")
        c.eq(d.http("/?period=2021")[0], 404, "a period that is not current")
        c.eq(d.http("/?agency=%3Cscript%3E")[0], 404, "a hostile agency parameter")
        c.check("<script>" not in d.http("/?agency=%3Cscript%3E")[2].decode("utf-8"), "never echoed")
    finally:
        if d:
            d.stop()
        sim.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
