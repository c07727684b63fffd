#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Quarantine and keyset edge cases through the real daemon, against a small scripted
iGate whose pages this test controls exactly:
- a bad record never stops the page, and a bad LAST record still moves the cursor;
- a record is quarantined once per key (its latest bad version), and a good version at
  least as new releases it; keyless records count once per distinct JSON;
- a \\u0000 inside a string is stored (as U+FFFD), not a reason to stall the feed;
- "content": null is an empty page."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402


class Feed:
    """Items served in (NgayCapNhat, MaHoSo) order with iGate's keyset parameters."""

    def __init__(self):
        self.items = []  # raw JSON texts, so that \\u0000 reaches the client untouched
        self.requests = []

    def sort_key(self, text):
        try:
            d = json.loads(text)
        except ValueError:
            return ("", "")
        if not isinstance(d, dict):
            return ("", "")  # non-objects sort first
        return (str(d.get("NgayCapNhat", "")), str(d.get("MaHoSo", "")))

    def page(self, q):
        self.requests.append(q)
        size = int(q.get("size", ["500"])[0])
        start = (q.get("updated-from", [""])[0], q.get("after-code", [""])[0])
        rows = sorted(self.items, key=self.sort_key)
        if start[0]:
            rows = [r for r in rows if self.sort_key(r) > start]
        chunk = rows[:size]
        content = "null" if not chunk else "[" + ",".join(chunk) + "]"
        return ('{"content":%s,"number":0,"size":%d,"last":%s}'
                % (content, size, "true" if len(rows) <= size else "false"))


def serve(feed):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.reply('{"access_token":"tok","token_type":"Bearer","expires_in":300}')

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            if u.path == "/pa/dossier/search":
                self.reply(feed.page(urllib.parse.parse_qs(u.query)))
            else:
                self.reply('{"content":[],"number":0,"totalPages":1,"last":true}')

        def reply(self, body):
            b = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def dossier(code, upd, status="4", **kv):
    d = {"MaHoSo": code, "MaTTHC": "T-1", "MaDonVi": "A-1", "DonViXuLy": "Sở Thử",
         "TrangThaiHoSo": status, "NgayTiepNhan": "20221201080000",
         "NgayHenTra": "20221230170000", "NgayCapNhat": upd}
    d.update(kv)
    return json.dumps(d, ensure_ascii=False)


def once(cfg):
    p = subprocess.run([harness.ONESTOPD, "-c", cfg, "--once"], capture_output=True, text=True)
    return p.returncode, reference.parse_exposition(p.stdout), p.stderr


def q(got, reason):
    return got.get(("onestop_quarantined_records", frozenset({"source": "igate", "reason": reason}.items())), 0.0)


def main():
    c = harness.Checker("quarantine")
    work = tempfile.mkdtemp(prefix="onestop-q-")
    feed = Feed()
    srv = serve(feed)
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    pg = harness.PgCluster()
    try:
        with open(os.path.join(work, "secret"), "w") as f:
            f.write("x\n")
        cfg = os.path.join(work, "onestopd.conf")
        with open(cfg, "w") as f:
            f.write("[database]\nconninfo = %s\n[metrics]\nas_of = 2022-12-20\n"
                    "[source.igate]\nadapter = igate\nbase_url = %s\ntoken_url = %s/token\n"
                    "client_id = x\nclient_secret_file = secret\npage_size = 3\n"
                    "max_retries = 1\nbackoff_max = 1s\n" % (pg.conninfo, url, url))

        feed.items = [
            dossier("A", "20221201090000"),
            dossier("B", "20221201090001", status="9"),                      # missing_finish
            '"not an object"',                                               # bad_json
            dossier("D", "20221201090002").replace('"Sở Thử"', '"Sở\\u0000Thử"'),  # NUL
            dossier("E", "20221201090003", status="11"),                     # bad_code, last of page 2
            dossier("F", "20221201090004"),
        ]
        rc, got, err = once(cfg)
        c.eq(rc, 0, "first sync exits 0 (%s)" % err[-500:])
        c.eq(pg.scalar("SELECT string_agg(code, ',' ORDER BY code) FROM dossiers"), "A,D,F",
             "good records stored around the bad ones")
        c.eq(q(got, "missing_finish"), 1.0, "B quarantined")
        c.eq(q(got, "bad_json"), 1.0, "the non-object quarantined")
        c.eq(q(got, "bad_code"), 1.0, "E quarantined")
        c.check("\ufffd" in pg.scalar("SELECT raw->>'DonViXuLy' FROM dossiers WHERE code = 'D'"),
                "a NUL is stored as U+FFFD in the raw JSON")
        c.eq(pg.scalar("SELECT agency_name FROM dossiers WHERE code = 'D'"), "Sở\ufffdThử",
             "and in the name column")
        c.eq(pg.scalar("SELECT cursor_key FROM sync_cursors WHERE feed = 'dossier'"), "F",
             "the cursor is past every item")
        # pages of 3: ["not an object", A, B] then [D, E, F]
        c.check(any(r.get("after-code") == ["B"] for r in feed.requests),
                "a page ending in a quarantined record moves the cursor past it")

        # Second round: B is fixed, E changes but stays bad for another reason, the same
        # keyless item comes again, and one more keyless one that differs.
        feed.requests.clear()
        feed.items += [
            dossier("B", "20221201100000", status="9", NgayKetThucXuLy="20221202080000"),
            dossier("E", "20221201100001", NgayHenTra="20221399000000"),     # bad_date
            dossier("", "20221201100002"),                                   # missing_key ...
            dossier("", "20221201100002"),                                   # ... the same again
            dossier("", "20221201100003", status="2"),                       # another one
        ]
        rc, got, err = once(cfg)
        c.eq(rc, 0, "second sync exits 0 (%s)" % err[-500:])
        c.eq(q(got, "missing_finish"), 0.0, "B left quarantine once a good version was stored")
        c.eq(pg.scalar("SELECT status FROM dossiers WHERE code = 'B'"), "9", "B stored")
        c.eq(q(got, "bad_code"), 0.0, "E's older bad version is replaced ...")
        c.eq(q(got, "bad_date"), 1.0, "... by its latest one")
        c.eq(q(got, "bad_json"), 1.0, "the non-object is still held")
        c.eq(q(got, "missing_key"), 2.0, "keyless items: the same JSON twice counts once")
        c.eq(pg.scalar("SELECT count(*) FROM quarantine"), "4", "quarantine rows")
        c.eq(got.get(("onestop_stored_records", frozenset({"kind": "dossier"}.items()))), 4.0,
             "stored dossiers A, B, D, F")
        rc, got, err = once(cfg)
        c.eq(rc, 0, "a sync with nothing new ('content': null) exits 0 (%s)" % err[-300:])

        # A record stamped with the cursor's own second but a smaller code, committed
        # after that second was read: the keyset protocol alone cannot see it; `overlap`
        # re-reads a stretch before the cursor and picks it up.
        feed.items += [dossier("Z2", "20221201110000"), dossier("Z3", "20221201110000")]
        once(cfg)
        feed.items.append(dossier("Z1", "20221201110000"))
        once(cfg)
        c.eq(pg.scalar("SELECT count(*) FROM dossiers WHERE code = 'Z1'"), "0",
             "without overlap the late same-second record is not seen (the protocol's limit)")
        with open(cfg, "a") as f:
            f.write("overlap = 60s\n")
        feed.requests.clear()
        rc, got, err = once(cfg)
        c.eq(rc, 0, "sync with overlap exits 0 (%s)" % err[-300:])
        c.eq(pg.scalar("SELECT count(*) FROM dossiers WHERE code = 'Z1'"), "1",
             "with overlap = 60s it is stored")
        first = feed.requests[0] if feed.requests else {}
        c.eq(first.get("updated-from"), ["20221201105900"], "the cycle starts 60 s before the cursor")
        c.check("after-code" not in first, "and inclusive (no after-code)")
        c.eq(pg.scalar("SELECT count(*) - count(DISTINCT code) FROM dossiers"), "0",
             "re-reading duplicates nothing")
    finally:
        srv.shutdown()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
