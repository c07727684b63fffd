#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Exactness of the incremental rollups: thousands of random upserts go through the
daemon's own ingest path (onestopd --once against a scripted iGate + VNPost server, one
page per run), and after every page `onestopd --check-rollups` compares the rollups with a
recomputation from the stored rows and every Biểu 06 table around several days, in both
period modes, with the reference SQL (rates_table_reference).

The pages hold new records; newer versions that move a dossier between agencies,
statuses, channels, due and finish dates; re-sent older versions (which must change
nothing) and re-sent current ones; versions that tie on NgayCapNhat (the one sent last
wins); two versions of one key in one page; bad versions (quarantined: a newer bad
version of a good record leaves the good one stored; a later good version releases it);
and shipments whose dossier arrives later. Some syncs read twenty full pages (the store
compacts the rollup deltas in their middle); between syncs, part of the compacted rollups
is moved back into the delta table, which must change no figure. Then a damaged rollup must be caught and
`--rebuild-rollups` must repair it, and the migration must build the rollups of an
existing database."""

import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SEED = int(os.environ.get("ONESTOP_TEST_SEED", "6061"))
STEPS = int(os.environ.get("ONESTOP_ROLLUP_STEPS", "240"))
AS_OF = "2022-12-20"
PAGE_SIZE = 50
AGENCIES = ["A1", "A2", "A3", "A4", "A5"]
CATALOGUE_ONLY = "A9"
# Days the checks are run at, a few per step in turn: period boundaries of both modes,
# the days either side of a midnight, and days before, inside and after the data.
CHECK_DAYS = ["2022-12-20", "2022-12-14", "2022-12-15", "2021-06-14", "2021-06-15",
              "2022-03-31", "2022-04-01", "2023-01-01", "2020-12-31", "2021-01-01",
              "2022-09-15", "2023-02-28", "2019-06-01", "2022-07-10", "2022-07-11"]


class Feed:
    """What the scripted server answers next: queues of dossier and shipment pages, one
    page per request, then empty pages."""

    def __init__(self):
        self.lock = threading.Lock()
        self.dossiers = []
        self.shipments = []

    def take(self, kind):
        with self.lock:
            pages = self.dossiers if kind == "dossier" else self.shipments
            return pages.pop(0) if pages else []


def handler_for(feed):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send_json(self, obj):
            body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            self.send_json({"access_token": "tok", "token_type": "Bearer", "expires_in": 300})

        def do_GET(self):
            path = self.path.split("?")[0]
            if path == "/pa/dossier/search":
                self.send_json({"content": feed.take("dossier"), "last": True})
            elif path == "/pa/procedure/search":
                self.send_json({"content": CATALOGUE, "number": 0, "totalPages": 1, "last": True})
            elif path == "/bcci/shipments":
                self.send_json({"Status": "100", "Message": "ok",
                                "Data": {"Items": feed.take("shipment"), "Page": 1, "TotalPages": 1}})
            else:
                self.send_response(404)
                self.end_headers()
    return Handler


CATALOGUE = [{"MaTTHC": "P%d" % i, "MaDonVi": a, "MucDo": 2 + i % 3, "BuuChinhCongIch": i % 2,
              "NgayCapNhat": "20200101000000"}
             for i, a in enumerate(["A1", "A2", CATALOGUE_ONLY, "A3"])]


def fmt(t):
    return t.strftime("%Y%m%d%H%M%S")


class Generator:
    """Random dossier and shipment versions over a small pool of keys, so that records
    change often, plus a memory of every version sent, to send old ones again."""

    def __init__(self, rnd):
        self.r = rnd
        self.clock = dt.datetime(2023, 3, 1, 8, 0, 0)
        self.codes = ["HS-%04d" % i for i in range(260)]
        self.items = ["EB%09dVN" % i for i in range(90)]
        self.sent = {}      # code -> [versions sent]
        self.latest = {}    # code -> NgayCapNhat of the newest version sent
        self.ship_sent = {}

    def tick(self):
        self.clock += dt.timedelta(seconds=self.r.randint(1, 90))
        return fmt(self.clock)

    def day(self):
        base = dt.datetime(2020, 6, 1)
        return base + dt.timedelta(days=self.r.randint(0, 1000), seconds=self.r.randint(0, 86399))

    def dossier(self, code, upd):
        r = self.r
        status = r.choice([1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10, 10, 10])
        rcv = self.day()
        d = {"MaHoSo": code, "MaTTHC": "P%d" % r.randint(0, 5), "MaDonVi": r.choice(AGENCIES),
             "TrangThaiHoSo": r.choice([status, str(status)]), "NgayCapNhat": upd}
        if r.random() < 0.9:
            d["DonViXuLy"] = "Đơn vị %s %d" % (d["MaDonVi"], r.randint(1, 3))
        ch = r.choice([None, "absent", 1, 2, 3, "2", ""])
        if ch != "absent":
            d["KenhThucHien"] = ch
        if status not in (1, 3) or r.random() < 0.5:
            d["NgayTiepNhan"] = fmt(rcv)
        due = None
        x = r.random()
        if x < 0.12:
            pass                                   # no due date
        elif x < 0.18:
            due = rcv - dt.timedelta(days=r.randint(0, 3))   # odd: due before receipt
        else:
            due = rcv + dt.timedelta(days=r.randint(0, 40), hours=r.randint(0, 9))
        if due:
            d["NgayHenTra"] = fmt(due)
        if status in (7, 9, 10) or r.random() < 0.1:
            y = r.random()
            if due and y < 0.25:
                fin = dt.datetime.combine(due.date(), dt.time(r.randint(0, 23), 0))
                fin = max(fin, rcv)                # finished on the due day
            elif y < 0.35:
                fin = rcv                           # the same instant
            else:
                fin = rcv + dt.timedelta(days=r.randint(0, 70), seconds=r.randint(0, 86399))
            if r.random() < 0.85:
                d["NgayKetThucXuLy"] = fmt(fin)
                if r.random() < 0.5:
                    d["NgayTra"] = fmt(fin + dt.timedelta(hours=2))
            else:
                d["NgayTra"] = fmt(fin)
        hinh = r.choice(["absent", 0, 1, "1", None])
        if hinh != "absent":
            d["HinhThuc"] = hinh
        a = r.random()
        if a < 0.25:
            d["PhieuXinLoi"] = [{"NgayXinLoi": fmt(rcv), "NgayHenTraMoi": fmt(rcv + dt.timedelta(days=9)),
                                 "LyDo": "trễ"}]
        elif a < 0.35:
            d["PhieuXinLoi"] = []
        return d

    def bad(self, good):
        """A version that must be quarantined."""
        d = dict(good)
        kind = self.r.choice(["status", "receipt", "finish", "date"])
        if kind == "status":
            d["TrangThaiHoSo"] = "11"
        elif kind == "receipt":
            d["TrangThaiHoSo"] = 4
            d.pop("NgayTiepNhan", None)
        elif kind == "finish":
            d["TrangThaiHoSo"] = 9
            d["NgayTiepNhan"] = "20220510100000"
            d["NgayKetThucXuLy"] = "20220510090000"
        else:
            d["NgayHenTra"] = "20220230120000"
        return d

    def dossier_page(self, size=None):
        r = self.r
        page = []
        for _ in range(size or r.randint(4, 22)):
            code = r.choice(self.codes)
            x = r.random()
            if x < 0.12 and self.sent.get(code):
                page.append(r.choice(self.sent[code]))            # an old (or the current) version again
                continue
            if x < 0.2 and code in self.latest:
                upd = self.latest[code]                           # a tie on NgayCapNhat
            else:
                upd = self.tick()
            d = self.dossier(code, upd)
            if r.random() < 0.08:
                d = self.bad(d)
            else:
                self.sent.setdefault(code, []).append(d)
            self.latest[code] = max(upd, self.latest.get(code, upd))
            page.append(d)
            if r.random() < 0.05 and len(page) < (size or 99):    # a second version in the page
                d2 = self.dossier(code, self.tick() if r.random() < 0.5 else upd)
                self.latest[code] = max(d2["NgayCapNhat"], self.latest[code])
                self.sent.setdefault(code, []).append(d2)
                page.append(d2)
        return page

    def shipment_page(self):
        r = self.r
        page = []
        for _ in range(r.randint(0, 6)):
            item = r.choice(self.items)
            if r.random() < 0.1 and self.ship_sent.get(item):
                page.append(r.choice(self.ship_sent[item]))
                continue
            s = {"ItemCode": item,
                 "OrderNumber": r.choice(self.codes + ["NO-SUCH-%d" % r.randint(0, 3)]),
                 "Direction": r.choice([1, 2, "2"]), "NgayCapNhat": self.tick()}
            st = r.choice(["absent", 6, 10, 14, 15, 22, 99, "14"])
            if st != "absent":
                s["StatusCode"] = st
            if r.random() < 0.06:
                s["Direction"] = 3                                # bad_code
            else:
                self.ship_sent.setdefault(item, []).append(s)
            page.append(s)
        return page


def uncompact(pg):
    """Moves a random third of the day rows of rollup_b06 back into rollup_b06_delta (out
    of their month and year sums too), as if their pages had not been compacted yet: the
    figures must not change, and the next sync compacts them again."""
    cols = ("received_online, received_direct, received_postal, resolved_early, "
            "resolved_on_time, resolved_late, resolved_returned, resolved_returned_by_post, "
            "overdue, overdue_no_apology").split(", ")
    sums = ", ".join("sum(%s) AS %s" % (k, k) for k in cols)
    sub = ", ".join("%s = r.%s - p.%s" % (k, k, k) for k in cols)
    grains = ""
    for g, unit in (("m", "month"), ("y", "year")):
        grains += (", %s AS (UPDATE rollup_b06 r SET %s FROM (SELECT date_trunc('%s', bucket::timestamp)::date"
                   " AS b, agency, %s FROM pick GROUP BY 1, 2) p WHERE r.grain = '%s' AND r.bucket = p.b"
                   " AND r.agency = p.agency)" % (g, sub, unit, sums, g))
    pg.psql("onestop", "WITH pick AS (DELETE FROM rollup_b06 WHERE grain = 'd' AND random() < 0.33"
            " RETURNING *), ins AS (INSERT INTO rollup_b06_delta SELECT bucket, agency, %s FROM pick)%s"
            " SELECT 1" % (", ".join(cols), grains))


def run(c, argv, what, expect=(0,)):
    p = subprocess.run([harness.ONESTOPD] + argv, capture_output=True, text=True,
                       env=dict(os.environ, TZ="UTC"), timeout=300)
    ok = c.check(p.returncode in expect, "%s: exit %d\n%s%s" % (what, p.returncode, p.stdout[-3000:],
                                                                p.stderr[-3000:]))
    return p, ok


def check(c, cfg, days, what):
    p, ok = run(c, ["-c", cfg, "--check-rollups"] + days, "check-rollups after " + what)
    if ok:
        c.check("0 difference(s)" in p.stdout, "summary line after %s: %r" % (what, p.stdout[-300:]))
    return ok


def main():
    c = harness.Checker("rollups")
    rnd = random.Random(SEED)
    gen = Generator(rnd)
    feed = Feed()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(feed))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % server.server_address[1]
    work = tempfile.mkdtemp(prefix="onestop-rollups-")
    pg = harness.PgCluster()
    try:
        sim = type("Sim", (), {"url": url})()
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                   page_size=PAGE_SIZE)
        upserts = 0
        failed = False
        for step in range(STEPS):
            with feed.lock:
                if step % 40 == 39:
                    # A long sync: full pages (the daemon asks for the next one at once,
                    # and compacts the rollup deltas in the middle), then a short one.
                    feed.dossiers = [gen.dossier_page(PAGE_SIZE) for _ in range(20)]
                else:
                    feed.dossiers = []
                feed.dossiers.append(gen.dossier_page())
                feed.shipments = [gen.shipment_page()]
                upserts += sum(len(p) for p in feed.dossiers + feed.shipments)
            _, ok = run(c, ["-c", cfg, "--once", "--log-level", "warning"], "sync %d" % step)
            if step % 3 == 1:
                uncompact(pg)
            days = [AS_OF] + [CHECK_DAYS[(2 * step + k) % len(CHECK_DAYS)] for k in range(2)]
            if not ok or not check(c, cfg, days, "page %d" % step):
                failed = True
                break
        print("%d items upserted in %d syncs; %d dossiers, %d shipments, %d quarantined stored"
              % (upserts, STEPS, int(pg.scalar("SELECT count(*) FROM dossiers")),
                 int(pg.scalar("SELECT count(*) FROM shipments")),
                 int(pg.scalar("SELECT count(*) FROM quarantine"))), flush=True)
        c.check(upserts >= 2000 or STEPS < 240, "thousands of upserts (%d)" % upserts)

        if not failed:
            # The store's choice for a good record whose newer version is bad: the good
            # version stays stored, the bad one waits in quarantine until a good version at
            # least as new releases it.
            code = gen.codes[0]
            good = gen.dossier(code, gen.tick())
            good["TrangThaiHoSo"], good["NgayTiepNhan"] = 4, "20221201090000"
            bad = gen.bad(dict(good, NgayCapNhat=gen.tick()))
            bad["TrangThaiHoSo"] = "11"
            for page in ([good], [bad]):
                feed.dossiers = [page]
                run(c, ["-c", cfg, "--once", "--log-level", "warning"], "sync bad version")
            c.eq(pg.scalar("SELECT to_char(updated_at, 'YYYYMMDDHH24MISS') FROM dossiers WHERE code = '%s'" % code),
                 good["NgayCapNhat"], "a newer bad version leaves the good one stored")
            c.eq(pg.scalar("SELECT count(*) FROM quarantine WHERE record_key = '%s'" % code), "1",
                 "the newer bad version is quarantined")
            check(c, cfg, [AS_OF, "2022-12-01", "2022-12-02"], "a bad newer version")
            feed.dossiers = [[dict(good, NgayCapNhat=gen.tick(), TrangThaiHoSo=10,
                                   NgayKetThucXuLy="20221215100000")]]
            run(c, ["-c", cfg, "--once", "--log-level", "warning"], "sync release")
            c.eq(pg.scalar("SELECT count(*) FROM quarantine WHERE record_key = '%s'" % code), "0",
                 "a newer good version releases it")
            check(c, cfg, [AS_OF, "2022-12-15", "2022-12-16"], "the release")

            # A damaged rollup is caught, and the rebuild repairs it.
            pg.psql("onestop", "UPDATE rollup_b06 SET overdue = overdue + 1 WHERE ctid ="
                    " (SELECT ctid FROM rollup_b06 WHERE grain = 'd' LIMIT 1)")
            pg.psql("onestop", "UPDATE rollup_agency SET dossiers = dossiers + 1 WHERE agency = 'A2'")
            p, _ = run(c, ["-c", cfg, "--check-rollups", AS_OF], "check a damaged rollup", expect=(1,))
            c.check("rollup_b06" in p.stdout and "rollup_agency" in p.stdout,
                    "the damage is named: %r" % p.stdout[-600:])
            run(c, ["-c", cfg, "--rebuild-rollups"], "rebuild")
            check(c, cfg, [AS_OF], "the rebuild")

            # An existing database without rollups: the migration builds them.
            pg.psql("onestop", "DROP VIEW rollup_b06_expected, rollup_agency_expected,"
                    " rollup_shipment_expected, rollup_quarantine_expected;"
                    " DROP TABLE rollup_b06, rollup_b06_delta, rollup_agency, rollup_shipment,"
                    " rollup_quarantine; DROP FUNCTION rollup_rebuild();"
                    " DROP FUNCTION rollup_b06_events; DROP FUNCTION rollup_shipment_status;"
                    " DELETE FROM schema_migrations WHERE version = 4")
            run(c, ["-c", cfg, "--migrate"], "migrate an existing database")
            check(c, cfg, [AS_OF, "2021-06-14"], "the migration")
    finally:
        server.shutdown()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
