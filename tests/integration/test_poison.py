#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One record that jansson cannot decode, among 3,000 good ones in pages of 500, no
longer stops the feed: onestopd --once stores every good record, quarantines the bad
one (bad_json with its bytes kept, or the field's own reason for a number too big to
hold), moves the cursor past it, exits 0 with the source up."""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import reference  # noqa: E402

GOOD = 3000
POISON_AT = 1500  # in the middle of the fourth page


def stamp(i):
    s = 9 * 3600 + i
    return "20221202%02d%02d%02d" % (s // 3600, s // 60 % 60, s % 60)


def dossier(i, **extra):
    d = {"MaHoSo": "P-%05d" % i, "MaTTHC": "T-1", "MaDonVi": "A-1", "DonViXuLy": "Sở Thử",
         "TrangThaiHoSo": "4", "NgayTiepNhan": "20221201080000",
         "NgayHenTra": "20221230170000", "NgayCapNhat": stamp(i)}
    d.update(extra)
    return json.dumps(d, ensure_ascii=False).encode("utf-8")


def poisoned(i, member):
    """A good dossier with member (raw bytes, `"Key":value`) spliced in before its end."""
    return dossier(i)[:-1] + b"," + member + b"}"


CASES = [
    ("invalid UTF-8 in DonViXuLy", b'"DonViXuLy2":"S\xc3\x28 T\xc6 ph\xe1p"', "bad_json"),
    ("a lone surrogate", b'"GhiChu":"emoji \\ud800 cut"', "bad_json"),
    ("MucDo 1e400", b'"MucDo":1e400', "bad_code"),
    ("TrangThaiHoSo beyond 64 bits", b'"TrangThaiHoSo":123456789012345678901234567890',
     "bad_code"),
    ("5,000 nested arrays", b'"Extra":' + b"[" * 5000 + b"]" * 5000, "bad_json"),
]


class Feed:
    def __init__(self, items):
        self.items = items  # (NgayCapNhat, MaHoSo, raw bytes), sorted

    def page(self, q):
        size = int(q.get("size", ["500"])[0])
        start = (q.get("updated-from", [""])[0], q.get("after-code", [""])[0])
        rows = [r for r in self.items if not start[0] or (r[0], r[1]) > start][:size]
        return (b'{"content":[' + b",".join(r[2] for r in rows)
                + b'],"number":0,"size":%d,"last":%s}' % (size, b"true" if len(rows) < size
                                                           else b"false"))


def serve(holder):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.reply(b'{"access_token":"tok","token_type":"Bearer","expires_in":300}')

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            if u.path == "/pa/dossier/search":
                self.reply(holder[0].page(urllib.parse.parse_qs(u.query)))
            else:
                self.reply(b'{"content":[],"number":0,"totalPages":1,"last":true}')

        def reply(self, b):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    c = harness.Checker("poison")
    work = tempfile.mkdtemp(prefix="onestop-poison-")
    holder = [None]
    srv = serve(holder)
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    pg = harness.PgCluster()
    try:
        with open(os.path.join(work, "secret"), "w") as f:
            f.write("x\n")
        for n, (what, member, reason) in enumerate(CASES):
            db = "poison%d" % n
            pg.psql("postgres", "CREATE DATABASE %s" % db)
            items = []
            for i in range(GOOD + 1):
                raw = poisoned(i, member) if i == POISON_AT else dossier(i)
                items.append((stamp(i), "P-%05d" % i, raw))
            holder[0] = Feed(items)
            cfg = os.path.join(work, "%s.conf" % db)
            with open(cfg, "w") as f:
                f.write("[database]\nconninfo = %s\n[metrics]\nas_of = 2022-12-20\n"
                        "[source.igate]\nadapter = igate\nbase_url = %s\ntoken_url = %s/token\n"
                        "client_id = x\nclient_secret_file = secret\nprocedure_path =\n"
                        "page_size = 500\nmax_retries = 1\nbackoff_max = 1s\n"
                        % (pg.conninfo.replace("dbname=onestop", "dbname=" + db), url, url))
            p = subprocess.run([harness.ONESTOPD, "-c", cfg, "--once"], capture_output=True,
                               text=True, timeout=300)
            got = reference.parse_exposition(p.stdout)
            c.eq(p.returncode, 0, "%s: --once exits 0 (%s)" % (what, p.stderr[-400:]))
            c.eq(got.get(("onestop_source_up", frozenset({"source": "igate"}.items()))), 1.0,
                 "%s: the source is up" % what)

            def scalar(sql):
                rows = pg.psql(db, sql)
                return rows[0][0] if rows else None

            c.eq(scalar("SELECT count(*) FROM dossiers"), str(GOOD),
                 "%s: every good record stored" % what)
            c.eq(scalar("SELECT count(*) FROM dossiers WHERE code = 'P-%05d'" % POISON_AT), "0",
                 "%s: not the bad one" % what)
            c.eq(scalar("SELECT reason FROM quarantine WHERE record_key = 'P-%05d'" % POISON_AT), reason,
                 "%s: quarantined under its key with the reason %s" % (what, reason))
            c.eq(scalar("SELECT cursor_key FROM sync_cursors WHERE feed = 'dossier'"),
                 "P-%05d" % GOOD, "%s: the cursor is at the last record" % what)
            if reason == "bad_json":
                b64 = scalar("SELECT raw->>'bytes_base64' FROM quarantine WHERE record_key = 'P-%05d'"
                             % POISON_AT)
                c.eq(base64.b64decode(b64 or ""), items[POISON_AT][2],
                     "%s: the raw bytes are kept losslessly" % what)
                detail = scalar("SELECT detail FROM quarantine WHERE record_key = 'P-%05d'" % POISON_AT)
                c.check((detail or "").startswith("item does not decode: byte "),
                        "%s: the detail names the position: %s" % (what, (detail or "")[:200]))
        # A page larger than max_body fails that page, naming the source and the size,
        # and the sync stops there: never an out-of-memory.
        db = "maxbody"
        pg.psql("postgres", "CREATE DATABASE %s" % db)
        holder[0] = Feed([(stamp(i), "P-%05d" % i, dossier(i)) for i in range(600)])
        cfg = os.path.join(work, "maxbody.conf")
        with open(cfg, "w") as f:
            f.write("[database]\nconninfo = %s\n[metrics]\nas_of = 2022-12-20\n"
                    "[source.igate]\nadapter = igate\nbase_url = %s\ntoken_url = %s/token\n"
                    "client_id = x\nclient_secret_file = secret\nprocedure_path =\n"
                    "page_size = 500\nmax_retries = 1\nbackoff_max = 1s\nmax_body = 64KiB\n"
                    % (pg.conninfo.replace("dbname=onestop", "dbname=" + db), url, url))
        p = subprocess.run([harness.ONESTOPD, "-c", cfg, "--once"], capture_output=True,
                           text=True, timeout=300)
        c.eq(p.returncode, 69, "a page over max_body fails the sync (exit 69)")
        c.check(re.search(r"igate.*body larger than max_body \(65536 bytes\)", p.stderr)
                is not None, "the error names the source and the size: %s" % p.stderr[-300:])
        c.eq(pg.psql(db, "SELECT count(*) FROM dossiers")[0][0], "0", "nothing half-stored")
    finally:
        srv.shutdown()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
