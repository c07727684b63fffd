#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A fast iGate feed for the benchmark: pages rendered once to a file, then served as
they are (docs/feeds.md §1-2), so that the daemon, not the feed, is what is measured.

    feed.py render --dossiers N --out DIR [--seed S] [--page-size 1000]
    feed.py serve DIR --port-file FILE

render writes DIR/pages (the JSON bodies, one after the other) and DIR/index.json (each
page's offset and length, and the cursor that asks for it). Records are spread over the
five years before 2022-12-20 across 20 agencies, in NgayCapNhat order, with every status,
channel, timeliness and apology case. serve answers POST /token, GET /pa/dossier/search
(the page after the cursor given by updated-from and after-code) and GET
/pa/procedure/search (a small catalogue), over HTTP/1.1 keep-alive. Python 3 standard
library only."""

import argparse
import datetime as dt
import json
import os
import random
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AS_OF = dt.datetime(2022, 12, 20, 17, 0, 0)
START = dt.datetime(2017, 12, 20, 7, 0, 0)
AGENCIES = 20
AGENCY_NAMES = ["Sở Khoa học và Công nghệ", "Sở Tư pháp", "Sở Xây dựng", "Sở Y tế",
                "Sở Giáo dục và Đào tạo", "Sở Tài nguyên và Môi trường", "Sở Công Thương",
                "Sở Giao thông vận tải", "Sở Nội vụ", "Sở Lao động - Thương binh và Xã hội"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hùng", "Lan", "Minh", "Nam", "Thảo"]
PROCS = ["Cấp giấy phép xây dựng", "Đăng ký khai sinh", "Cấp lại giấy chứng nhận",
         "Gia hạn giấy phép lao động", "Xác nhận tình trạng hôn nhân"]
FMT = "%Y%m%d%H%M%S"


def agency_code(i):
    return "000.00.%02d.H12" % (12 + i)


def agency_name(i):
    return AGENCY_NAMES[i] if i < len(AGENCY_NAMES) else "UBND huyện số %d" % (i + 1)


def catalogue():
    rows = []
    for a in range(AGENCIES):
        for p in range(40):
            rows.append({"MaTTHC": "1.%06d.000.00.00.H12" % (1000 + p), "MaDonVi": agency_code(a),
                         "TenTTHC": PROCS[p % len(PROCS)], "MaLinhVuc": "LV%02d" % (p % 12),
                         "MucDo": 2 + p % 3, "BuuChinhCongIch": p % 2, "CoPhiLePhi": p % 3 == 0,
                         "NgayCapNhat": "20200101000000"})
    for r in rows:
        r["CoPhiLePhi"] = int(r["CoPhiLePhi"])
    return rows


def render(args):
    """Record i is updated at START + i * step, so NgayCapNhat strictly increases and the
    file is already in keyset order; its other dates come before that."""
    rnd = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    n, size = args.dossiers, args.page_size
    span = (AS_OF - START).total_seconds()
    step = span / max(n, 1)
    names = [agency_name(a) for a in range(AGENCIES)]
    codes = [agency_code(a) for a in range(AGENCIES)]
    pages = open(os.path.join(args.out, "pages.tmp"), "wb")
    index = []
    page = []
    off = 0
    last = None
    for i in range(n):
        upd = START + dt.timedelta(seconds=int(i * step) + 1)
        a = rnd.randrange(AGENCIES)
        lag = rnd.randrange(0, 40 * 86400)
        rcv = upd - dt.timedelta(seconds=lag)
        due = rcv + dt.timedelta(days=rnd.choice([3, 5, 7, 10, 15, 20, 30]))
        recent = (AS_OF - upd).days < 45
        x = rnd.random()
        if x < 0.02:
            status = 1
        elif x < 0.04:
            status = 3
        elif recent and x < 0.5:
            status = rnd.choice([2, 4, 4, 4, 5, 6, 8])
        elif x < 0.08:
            status = 7
        else:
            status = rnd.choice([9, 10, 10, 10])
        ch = rnd.choice([1, 1, 2, 2, 2, 3])
        code = "%s-%s-%07d" % (codes[a], rcv.strftime("%y%m%d"), i)
        parts = ['{"MaHoSo":"%s","MaTTHC":"1.%06d.000.00.00.H12","TenTTHC":"%s","MaLinhVuc":"LV%02d",'
                 '"TenLinhVuc":"Lĩnh vực %d","MaDonVi":"%s","DonViXuLy":"%s","ChuHoSo":"%s %s",'
                 '"KenhThucHien":"%d","MucDo":"%d","TrangThaiHoSo":"%d"'
                 % (code, 1000 + i % 40, PROCS[i % len(PROCS)], i % 12, i % 12, codes[a], names[a],
                    FAMILY[i % 10], GIVEN[(i // 10) % 10], ch, 2 + i % 3, status)]
        if status != 1:
            parts.append(',"NgayTiepNhan":"%s"' % rcv.strftime(FMT))
        if rnd.random() < 0.93:
            parts.append(',"NgayHenTra":"%s"' % due.strftime(FMT))
        if status in (7, 9, 10):
            fin = rcv + dt.timedelta(seconds=rnd.randrange(0, lag + 1))
            parts.append(',"NgayKetThucXuLy":"%s"' % fin.strftime(FMT))
            if status == 10:
                parts.append(',"NgayTra":"%s"' % upd.strftime(FMT))
        parts.append(',"HinhThuc":"%d"' % (rnd.random() < 0.2))
        if rnd.random() < 0.05:
            parts.append(',"PhieuXinLoi":[{"NgayXinLoi":"%s","NgayHenTraMoi":"%s","LyDo":"Quá tải"}]'
                         % (rcv.strftime(FMT), due.strftime(FMT)))
        parts.append(',"DanhSachHoSoBoSung":[],"NgayCapNhat":"%s"}' % upd.strftime(FMT))
        page.append("".join(parts))
        if len(page) == size or i == n - 1:
            body = ('{"content":[%s],"number":0,"size":%d,"last":%s}'
                    % (",".join(page), size, "true" if i == n - 1 else "false")).encode("utf-8")
            pages.write(body)
            index.append([last, off, len(body)])
            off += len(body)
            last = [upd.strftime(FMT), code]
            page = []
    pages.close()
    os.replace(os.path.join(args.out, "pages.tmp"), os.path.join(args.out, "pages"))
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump({"dossiers": n, "page_size": size, "pages": index}, f)


class Feed:
    def __init__(self, d):
        meta = json.load(open(os.path.join(d, "index.json")))
        self.size = meta["page_size"]
        self.fd = os.open(os.path.join(d, "pages"), os.O_RDONLY)
        # The cursor a page is asked with -> (offset, length); None: the first page.
        self.after = {}
        for cur, off, n in meta["pages"]:
            self.after[tuple(cur) if cur else None] = (off, n)
        end = meta["pages"][-1] if meta["pages"] else None
        self.empty = b'{"content":[],"number":0,"last":true}'
        self.last_cursor = end
        self.catalogue = json.dumps({"content": catalogue(), "number": 0, "totalPages": 1,
                                     "last": True}, ensure_ascii=False).encode("utf-8")

    def page(self, query):
        q = urllib.parse.parse_qs(query)
        t, k = q.get("updated-from", [None])[0], q.get("after-code", [""])[0]
        where = self.after.get((t, k) if t else None)
        if where is None:
            return self.empty          # past the end (or an unknown cursor): nothing newer
        return os.pread(self.fd, where[1], where[0])


def serve(args):
    feed = Feed(args.dir)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, body):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send(b'{"access_token":"bench","token_type":"Bearer","expires_in":86400}')

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path == "/pa/dossier/search":
                self.send(feed.page(query))
            elif path == "/pa/procedure/search":
                self.send(feed.catalogue)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    srv.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("--dossiers", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--page-size", type=int, default=1000)
    s = sub.add_parser("serve")
    s.add_argument("dir")
    s.add_argument("--port-file", required=True)
    args = ap.parse_args()
    render(args) if args.cmd == "render" else serve(args)


if __name__ == "__main__":
    sys.exit(main())
