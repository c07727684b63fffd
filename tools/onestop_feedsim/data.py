# SPDX-License-Identifier: Apache-2.0
"""The data set, generated deterministically from --seed around --as-of, and the
served state the admin endpoints change.

Every choice is drawn from one random.Random(seed) in a fixed order, so reordering
draws changes every dump.  In short:
  * dossiers received over the two years before --as-of, all ten statuses, every
    optional-field spelling the contract allows (codes as numbers or strings, "02",
    absent/null/"" dates and optional codes, NFD agency names), supplement rounds,
    apology slips, finishes before/on/after the due date, records at midnight and
    period boundaries, bursts of >1200 records sharing one NgayCapNhat, a few older
    duplicate versions of a MaHoSo, and about --bad-ratio records for every
    quarantine reason of docs/metrics.md;
  * a catalogue per agency (codes shared across agencies, a few bad rows, one
    older duplicate and one exact-tie duplicate row), one agency with dossiers but
    no catalogue and one agency with a catalogue but no dossiers;
  * shipments for postal dossiers (Direction 1 for KenhThucHien 3, Direction 2 for
    HinhThuc 1), unmatched ones, unknown/absent status codes, bad ones.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import random
import sys
import time
import unicodedata

# ----------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------

DATE_FMT = "%Y%m%d%H%M%S"
ONE_DAY = dt.timedelta(days=1)
ABSENT = object()        # sentinel: leave the key out of the record


def fmt(t: dt.datetime) -> str:
    """Format a naive local datetime as yyyyMMddHHmmss."""
    return t.strftime(DATE_FMT)


def parse_ts(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, DATE_FMT)


def add_workdays(d: dt.date, n: int) -> dt.date:
    """d plus n working days (Mon-Fri; public holidays are ignored here)."""
    weeks, rest = divmod(n, 5)
    d = d + dt.timedelta(days=7 * weeks)
    while rest > 0:
        d += ONE_DAY
        if d.weekday() < 5:
            rest -= 1
    while d.weekday() >= 5:       # n == 0 on a weekend: next Monday
        d += ONE_DAY
    return d


def month_last_day(y: int, m: int) -> dt.date:
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return nxt - ONE_DAY


def dumps(obj) -> bytes:
    """The one serialisation used for everything served (UTF-8, compact)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


# ----------------------------------------------------------------------------------
# Vocabulary (Vietnamese)
# ----------------------------------------------------------------------------------

AGENCY_NAMES = [
    "Sở Khoa học và Công nghệ", "Sở Tư pháp", "Sở Kế hoạch và Đầu tư",
    "Sở Tài nguyên và Môi trường", "Sở Xây dựng", "Sở Giao thông vận tải", "Sở Y tế",
    "Sở Giáo dục và Đào tạo", "Sở Lao động - Thương binh và Xã hội", "Sở Công Thương",
    "Sở Nông nghiệp và Phát triển nông thôn", "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Nội vụ", "Sở Tài chính", "Sở Thông tin và Truyền thông",
    "Ban Quản lý các khu công nghiệp", "Thanh tra tỉnh", "Công an tỉnh",
    "UBND thành phố Kon Tum", "UBND huyện Đắk Hà", "UBND huyện Đắk Tô",
    "UBND huyện Ngọc Hồi", "UBND huyện Sa Thầy", "UBND huyện Kon Rẫy",
    "UBND huyện Đắk Glei", "UBND huyện Tu Mơ Rông", "UBND huyện Kon Plông",
]
CATALOGUE_ONLY_AGENCY = ("000.00.90.H12", "Sở Ngoại vụ")

FIELD_NAMES = [
    "Hoạt động khoa học và công nghệ", "Hộ tịch", "Chứng thực", "Lý lịch tư pháp",
    "Đất đai", "Môi trường", "Tài nguyên nước", "Hoạt động xây dựng", "Đường bộ",
    "Khám bệnh, chữa bệnh", "Dược phẩm", "Giáo dục và đào tạo", "Việc làm",
    "Người có công", "Thương mại quốc tế", "Lưu thông hàng hóa trong nước", "Trồng trọt",
    "Thú y", "Du lịch", "Thể dục thể thao", "Thi đua - khen thưởng", "Quản lý công sản",
    "Báo chí", "Xuất bản, in và phát hành", "Đầu tư tại Việt Nam", "Thành lập doanh nghiệp",
    "Sở hữu trí tuệ", "Tiêu chuẩn đo lường chất lượng", "An toàn bức xạ và hạt nhân",
]
PROC_VERBS = ["Cấp", "Cấp lại", "Gia hạn", "Điều chỉnh", "Đăng ký", "Thu hồi", "Xác nhận",
              "Thẩm định", "Công nhận", "Chấp thuận", "Cấp đổi", "Bổ sung"]
PROC_OBJECTS = [
    "Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ", "giấy phép xây dựng",
    "giấy phép lái xe", "phiếu lý lịch tư pháp", "giấy chứng nhận quyền sử dụng đất",
    "giấy phép môi trường", "chứng chỉ hành nghề", "giấy phép kinh doanh",
    "giấy chứng nhận đủ điều kiện kinh doanh", "quyết định thành lập",
    "bản sao trích lục hộ tịch", "giấy phép hoạt động", "giấy phép tiến hành công việc bức xạ",
    "giấy xác nhận ưu đãi", "chứng nhận đăng ký kết quả thực hiện nhiệm vụ khoa học",
    "giấy phép khai thác nước mặt", "thẻ hướng dẫn viên du lịch", "giấy phép nhập khẩu",
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
          "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "A", "Y"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thùy", "Xuân"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khánh", "Lan",
         "Long", "Mai", "Nam", "Oanh", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trung",
         "Tuấn", "Uyên", "Việt", "Yến", "Blông", "H'Nga"]
APOLOGY_REASONS = ["Hồ sơ cần xác minh thêm thông tin", "Chờ ý kiến của cơ quan phối hợp",
                   "Số lượng hồ sơ tăng đột biến cuối năm", "Sự cố hệ thống phần mềm một cửa"]
SUPPLEMENT_REASONS = ["Bổ sung bản sao có chứng thực", "Bổ sung bản vẽ thiết kế",
                      "Hoàn thiện tờ khai theo mẫu", "Bổ sung giấy ủy quyền"]
PROVINCES = ["62", "01", "79", "48", "64", "66", "31", "92"]


def agency_code(i: int) -> str:
    n = 12 + i
    if n < 90:
        return "000.00.%02d.H12" % n
    return "000.%02d.%02d.H12" % (n // 100 + 1, n % 100)


# ----------------------------------------------------------------------------------
# Keyset-ordered feed storage
# ----------------------------------------------------------------------------------

class KeyedFeed:
    """Records served in (update time, code) order, pre-serialised.

    keys[i] = (upd, code, serial) where upd/code are the record's NgayCapNhat and
    key code as served, or hidden values when the record lacks them (a real server
    sorts on its own columns even when it fails to export them).  serial only
    makes keys unique.  texts[i] is the record's exact JSON (UTF-8 bytes).
    """

    def __init__(self, entries):
        entries.sort(key=lambda e: e[0])
        self.keys = [e[0] for e in entries]
        self.texts = [e[1] for e in entries]

    def __len__(self):
        return len(self.keys)

    def start(self, frm, after) -> int:
        """Index of the first record at or after `frm` (strictly after the pair
        (frm, after) when `after` is given)."""
        if frm is None:
            return 0
        if after is None:
            return bisect.bisect_left(self.keys, (frm,))
        return bisect.bisect_right(self.keys, (frm, after, sys.maxsize))

    def remove(self, key) -> bytes:
        i = bisect.bisect_left(self.keys, key)
        if i >= len(self.keys) or self.keys[i] != key:
            raise KeyError(key)
        del self.keys[i]
        return self.texts.pop(i)

    def append(self, key, text: bytes) -> None:
        if self.keys and key <= self.keys[-1]:
            raise ValueError("appended key must be greater than every key")
        self.keys.append(key)
        self.texts.append(text)


# ----------------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------------

class Agency:
    def __init__(self, index, code, name):
        self.index = index
        self.code = code
        self.name = name
        self.old_name = None          # older dossiers carry this name (a rename)
        self.nameless_latest = False  # its latest dossier has no DonViXuLy
        self.has_catalogue = True
        self.has_dossiers = True
        self.weight = 1.0
        self.online_p = 0.4
        self.postal_p = 0.12
        self.return_p = 0.3


class Rec:
    """A generated dossier plus what later passes need to know about it."""
    __slots__ = ("d", "agency", "code", "status", "channel", "hinh_thuc", "receipt",
                 "finish", "tra", "last", "upd", "bad", "dup", "hidden")

    def __init__(self, d, agency):
        self.d = d
        self.agency = agency
        self.code = d["MaHoSo"]
        self.bad = None       # intended quarantine reason, or None
        self.dup = False      # an older duplicate version of another record
        self.hidden = None    # (upd, code) used for ordering when not exported


class Generator:
    def __init__(self, cfg):
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.as_of: dt.date = cfg.as_of
        # "now" of the generated world: the afternoon of --as-of.
        self.now = dt.datetime.combine(self.as_of, dt.time(16, 0, 0))
        self.start = self.as_of - dt.timedelta(days=730)
        self.start_dt = dt.datetime.combine(self.start, dt.time(0, 0))
        self.days = (self.as_of - self.start).days
        self.months = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.as_of.year, self.as_of.month):
            self.months.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        self.seq = {}                  # (agency, yymmdd) -> last sequence number
        self.intended = {"dossier": {}, "procedure": {}, "shipment": {}}

    # -- value spellings ----------------------------------------------------------

    def code_val(self, v: int):
        """A required code as the wire sends it: number, string, rarely "0N"."""
        r = self.rng.random()
        if r < 0.30:
            return v
        if r < 0.31:
            return "0" + str(v)
        return str(v)

    def opt_code(self, v: int, default: int):
        """An optional code; when it equals its default it may be absent/null/""."""
        if v == default:
            r = self.rng.random()
            if r < 0.08:
                return ABSENT
            if r < 0.11:
                return None
            if r < 0.14:
                return ""
        return self.code_val(v)

    def date_val(self, t):
        """A date, or one of the three spellings of an absent date."""
        if t is not None:
            return fmt(t)
        r = self.rng.random()
        if r < 0.80:
            return ABSENT
        if r < 0.92:
            return None
        return ""

    @staticmethod
    def put(d, key, val):
        if val is not ABSENT:
            d[key] = val

    def person(self):
        r = self.rng
        return "%s %s %s" % (r.choice(FAMILY), r.choice(MIDDLE), r.choice(GIVEN))

    def work_time(self, day: dt.date, lo=7 * 3600, hi=17 * 3600) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0)) + dt.timedelta(
            seconds=self.rng.randrange(lo, hi))

    def new_code(self, agency: Agency, day: dt.date, base=0) -> str:
        key = (agency.code, day, base)
        n = self.seq.get(key, base) + 1
        self.seq[key] = n
        return "%s-%s-%04d" % (agency.code, day.strftime("%y%m%d"), n)

    # -- agencies and catalogue ---------------------------------------------------

    def make_agencies(self):
        rng = self.rng
        n = max(1, self.cfg.agencies)
        ags = []
        for i in range(n):
            name = AGENCY_NAMES[i] if i < len(AGENCY_NAMES) else "UBND xã số %d" % (i + 1)
            a = Agency(i, agency_code(i), name)
            a.weight = rng.choice([0.5, 1.0, 1.0, 1.5, 2.0, 3.0])
            a.online_p = rng.uniform(0.15, 0.7)
            a.postal_p = rng.uniform(0.03, 0.25)
            a.return_p = rng.uniform(0.1, 0.5)
            ags.append(a)
        if n >= 2:
            ags[1].old_name = ags[1].name + " tỉnh Kon Tum"
        if n >= 3:
            ags[2].has_catalogue = False      # dossiers but no catalogue rows
        if n >= 4:
            ags[3].nameless_latest = True     # latest dossier without DonViXuLy
        extra = Agency(n, *CATALOGUE_ONLY_AGENCY)
        extra.has_dossiers = False            # catalogue rows but no dossiers
        self.agencies = ags
        self.catalogue_agencies = [a for a in ags if a.has_catalogue] + [extra]
        self.all_agencies = ags + [extra]

    def proc_name(self):
        return "%s %s" % (self.rng.choice(PROC_VERBS), self.rng.choice(PROC_OBJECTS))

    def make_catalogue(self):
        """Returns the served catalogue rows (dicts and bad items, in order)."""
        rng = self.rng
        per = max(1, self.cfg.procedures)
        used = set()

        def national_code():
            while True:
                c = "1.%06d.000.00.00.H12" % rng.randrange(1000, 1000000)
                if c not in used:
                    used.add(c)
                    return c

        shared = [(national_code(), self.proc_name()) for _ in range(max(3, per // 5))]
        rows = []
        self.procs_by_agency = {}
        for a in self.all_agencies:
            fields = [("LV%03d%02d" % (12 + a.index, k), rng.choice(FIELD_NAMES))
                      for k in range(rng.randint(2, 5))]
            p4 = rng.uniform(0.15, 0.6)
            p3 = rng.uniform(0.15, 0.5) * (1 - p4)
            p_post = rng.uniform(0.3, 0.95)
            count = max(1, int(per * rng.uniform(0.8, 1.2)))
            procs = []
            for sc, sn in shared:
                if len(procs) < count and rng.random() < 0.5:
                    procs.append((sc, sn))
            while len(procs) < count:
                procs.append((national_code(), self.proc_name()))
            lst = []
            for code, name in procs:
                r = rng.random()
                mucdo = 4 if r < p4 else 3 if r < p4 + p3 else 2
                post = 1 if rng.random() < p_post else 0
                fee = 1 if rng.random() < 0.5 else 0
                f = rng.choice(fields)
                upd = self.work_time(self.start + dt.timedelta(days=rng.randrange(self.days)))
                info = {"MaTTHC": code, "TenTTHC": name, "MaLinhVuc": f[0],
                        "TenLinhVuc": f[1], "MucDo": mucdo, "BuuChinhCongIch": post}
                lst.append(info)
                if not a.has_catalogue:
                    continue
                d = {"MaTTHC": code, "TenTTHC": name, "MaLinhVuc": f[0], "MaDonVi": a.code,
                     "MucDo": self.code_val(mucdo)}
                self.put(d, "BuuChinhCongIch", self.opt_code(post, 0))
                self.put(d, "CoPhiLePhi", self.opt_code(fee, 0))
                d["NgayCapNhat"] = fmt(upd)
                rows.append(d)
            self.procs_by_agency[a.code] = lst
        good = list(rows)
        # An older duplicate served after the newer one (stored: the newer one) and
        # an exact NgayCapNhat tie (stored: the one sent last).  Off with --dup-ratio 0.
        if len(good) >= 4 and self.cfg.dup_ratio > 0:
            x = good[rng.randrange(len(good) // 2)]
            older = dict(x)
            older["MucDo"] = "2" if str(x["MucDo"]).lstrip("0") != "2" else "4"
            older["NgayCapNhat"] = fmt(parse_ts(x["NgayCapNhat"]) - dt.timedelta(days=30))
            rows.insert(rng.randrange(rows.index(x) + 1, len(rows) + 1), older)
            y = good[len(good) // 2 + rng.randrange(len(good) - len(good) // 2)]
            if y is not x:
                tie = dict(y)
                tie["BuuChinhCongIch"] = "0" if str(y.get("BuuChinhCongIch") or 0) in ("1", "01") else 1
                tie["CoPhiLePhi"] = 1
                rows.insert(rng.randrange(rows.index(y) + 1, len(rows) + 1), tie)
        # Bad rows, inserted at random positions.
        if self.cfg.bad_ratio > 0:
            for item, reason in self.bad_procedures(good, len(good)):
                rows.insert(rng.randrange(len(rows) + 1), item)
                self.note_bad("procedure", reason)
        return rows

    def bad_procedures(self, good, total):
        rng = self.rng

        def base():
            d = dict(rng.choice(good))
            d["MaTTHC"] = "9.%06d.000.00.00.H12" % rng.randrange(10 ** 6)   # no good row has it
            return d

        def without(k):
            d = base()
            d.pop(k, None)
            return d

        def with_(k, v):
            d = base()
            d[k] = v
            return d

        variants = [
            (lambda i: "lỗi dữ liệu thủ tục %d" % i, "bad_json"),
            (lambda i: [i, "MaTTHC"], "bad_json"),
            (lambda i: without("MaTTHC"), "missing_key"),
            (lambda i: without("MaDonVi"), "missing_key"),
            (lambda i: without("MucDo"), "missing_key"),
            (lambda i: without("NgayCapNhat"), "missing_key"),
            (lambda i: with_("MucDo", 1), "bad_code"),
            (lambda i: with_("MucDo", "4a"), "bad_code"),
            (lambda i: with_("BuuChinhCongIch", 2), "bad_code"),
            (lambda i: with_("CoPhiLePhi", "có"), "bad_code"),
            (lambda i: with_("NgayCapNhat", "20221131000000"), "bad_date"),
            (lambda i: with_("NgayCapNhat", "2022-06-01"), "bad_date"),
        ]
        n = max(len(variants), round(self.cfg.bad_ratio * total))
        for i in range(n):
            make, reason = variants[i % len(variants)]
            yield make(i), reason

    def note_bad(self, kind, reason):
        self.intended[kind][reason] = self.intended[kind].get(reason, 0) + 1

    # -- dossiers -----------------------------------------------------------------

    def boundary_receipt(self):
        """A receipt time just around a local midnight at a period boundary."""
        rng = self.rng
        y, m = rng.choice(self.months)
        kind = rng.randrange(4)
        if kind == 0:
            t = dt.datetime.combine(month_last_day(y, m), dt.time(23, 30)) + \
                dt.timedelta(seconds=rng.randrange(1800))
        elif kind == 1:
            t = dt.datetime(y, m, 1) + dt.timedelta(seconds=rng.randrange(600))
        elif kind == 2:
            t = dt.datetime(y, m, 14, 23, 50) + dt.timedelta(seconds=rng.randrange(600))
        else:
            t = dt.datetime(y, m, 15) + dt.timedelta(seconds=rng.randrange(300))
        if t > self.now or t < self.start_dt:
            return None
        return t

    def fixed_receipts(self):
        """Receipts that must exist whatever the seed (midnight/period edges)."""
        y = self.as_of.year
        q_first = dt.date(y, 3 * ((self.as_of.month - 1) // 3) + 1, 1)
        m_first = self.as_of.replace(day=1)
        cands = [
            dt.datetime(y - 1, 12, 31, 23, 30), dt.datetime(y, 1, 1, 0, 5),
            dt.datetime(y - 1, 12, 31, 23, 59, 59), dt.datetime(y, 1, 1, 0, 0, 0),
            dt.datetime.combine(q_first - ONE_DAY, dt.time(23, 45)),
            dt.datetime.combine(q_first, dt.time(0, 1)),
            dt.datetime.combine(m_first - ONE_DAY, dt.time(23, 59, 59)),
            dt.datetime.combine(m_first, dt.time(0, 0, 30)),
            dt.datetime(y, self.as_of.month, 14, 23, 59, 59),
            dt.datetime(y, self.as_of.month, 15, 0, 0, 0),
            dt.datetime(y - 1, 12, 14, 23, 58), dt.datetime(y - 1, 12, 15, 0, 2),
        ]
        return [t for t in cands if self.start_dt <= t <= self.now]

    def sample_receipt(self):
        rng = self.rng
        if rng.random() < 0.08:
            t = self.boundary_receipt()
            if t is not None:
                return t
        day = self.start + dt.timedelta(days=rng.randrange(self.days + 1))
        wd = day.weekday()
        if wd >= 5 and rng.random() < 0.85:
            day -= dt.timedelta(days=wd - 4)
        t = self.work_time(day)
        if t > self.now:
            t = self.now - dt.timedelta(seconds=rng.randrange(60, 6 * 3600))
        return t

    def choose_agency(self):
        return self.rng.choices(self.agencies, weights=[a.weight for a in self.agencies])[0]

    def gen_dossier(self, agency: Agency, receipt_hint=None) -> Rec:
        rng = self.rng
        now = self.now
        procs = self.procs_by_agency[agency.code]
        proc = rng.choice(procs)
        if rng.random() < 0.02:               # a procedure missing from the catalogue
            proc = dict(proc, MaTTHC="2.%06d.000.00.00.H12" % rng.randrange(1000000))
        mucdo = proc["MucDo"]
        # channel: 2 online needs an online-capable procedure; 3 postal needs BCCI
        r = rng.random()
        if mucdo >= 3 and r < agency.online_p * (1.2 if mucdo == 4 else 0.8):
            channel = 2
        elif rng.random() < (agency.postal_p if proc["BuuChinhCongIch"] else 0.01):
            channel = 3
        else:
            channel = 1
        hinh_thuc = 1 if rng.random() < (agency.return_p if proc["BuuChinhCongIch"] else 0.02) else 0

        r = rng.random()
        status = None
        receipt = receipt_hint or self.sample_receipt()
        refused = submitted = None
        due = due0 = finish = tra = None
        rounds = []
        apologies = None
        if receipt_hint is None and r < 0.02:
            # 1: an online registration not yet received
            status, channel = 1, 2
            if rng.random() < 0.7:
                submitted = now - dt.timedelta(seconds=rng.randrange(7 * 86400))
            else:
                submitted = receipt
            receipt = None
        elif receipt_hint is None and r < 0.05:
            # 3: refused at intake (NgayTiepNhan present about half the time)
            status = 3
            refused = min(now, receipt + dt.timedelta(seconds=rng.randrange(2 * 86400)))
            if rng.random() < 0.5:
                submitted, receipt = receipt, None
        if status is None:
            n = rng.choice([1, 2, 3, 5, 5, 7, 10, 10, 12, 15, 20, 30])
            if rng.random() >= 0.08:
                due_hour = rng.choice([(17, 0), (17, 0), (16, 30), (11, 0)])
                due0 = dt.datetime.combine(add_workdays(receipt.date(), n), dt.time(*due_hour))
            due = due0
            # a supplement round moves the due date by the pause length
            sup = None
            if rng.random() < 0.10:
                span = (due0 - receipt) if due0 else dt.timedelta(days=3)
                t_sup = receipt + span * rng.uniform(0.1, 0.5)
                gap = rng.randint(1, 6)
                t_rcv = t_sup + dt.timedelta(days=gap, seconds=rng.randrange(-3600, 3600))
                sup = [t_sup, t_rcv, due0, (due0 + dt.timedelta(days=gap)) if due0 else None]
                due = sup[3]
            withdrawn = rng.random() < 0.04
            if withdrawn:
                finish = receipt + dt.timedelta(seconds=rng.randrange(0, (n + 5) * 86400))
            elif due is None:
                finish = receipt + dt.timedelta(seconds=rng.randrange(0, 20 * 86400))
            else:
                c = rng.random()
                span_days = (due.date() - receipt.date()).days
                if c < 0.60 and span_days >= 1:                       # early
                    fday = receipt.date() + dt.timedelta(days=rng.randrange(span_days))
                    finish = self.work_time(fday, 7 * 3600 + 1800, 18 * 3600)
                elif c < 0.80:                                        # on the due date
                    finish = self.work_time(due.date(), 7 * 3600 + 1800, 18 * 3600)
                else:                                                 # late
                    extra = rng.randint(1, 10) if rng.random() < 0.8 else rng.randint(11, 90)
                    finish = self.work_time(due.date() + dt.timedelta(days=extra))
                x = rng.random()
                if x < 0.003:
                    finish = receipt                                  # same instant
                elif x < 0.04:
                    finish = dt.datetime.combine(finish.date(), dt.time(23, 55)) + \
                        dt.timedelta(seconds=rng.randrange(299))
            if finish < receipt:
                finish = receipt + dt.timedelta(seconds=rng.randrange(0, 4 * 3600))
            if sup and finish < sup[1]:
                finish = sup[1] + dt.timedelta(seconds=rng.randrange(3600, 3 * 86400))
            if rng.random() < 0.01 and receipt < now - dt.timedelta(days=200):
                finish = now + ONE_DAY                               # stalled for ages
            if finish > now:
                # still open
                finish = None
                if sup and sup[0] > now:
                    sup, due = None, due0
                age = now - receipt
                status = 2 if (age < dt.timedelta(days=2) and rng.random() < 0.6) else 4
                x = rng.random()
                if sup and sup[1] > now:
                    status = 5
                    sup[1] = sup[3] = None
                    due = due0
                elif x < 0.10 and not sup:
                    status = 5
                    t_sup = receipt + (now - receipt) * rng.uniform(0.3, 0.95)
                    sup = [t_sup, None, due0, None]
                elif 0.10 <= x < 0.17:
                    status = 6
                elif 0.17 <= x < 0.23:
                    status = 8
                if due and due.date() < self.as_of and status in (2, 4) and rng.random() < 0.45:
                    t = max(receipt, dt.datetime.combine(due.date() - ONE_DAY, dt.time(9)))
                    apologies = [(t, dt.datetime.combine(self.as_of + dt.timedelta(days=rng.randint(2, 15)),
                                                         dt.time(17)))]
            else:
                if withdrawn:
                    status = 7
                else:
                    tra = self.work_time(finish.date() + dt.timedelta(days=rng.randint(0, 3)))
                    if tra < finish:
                        tra = finish + dt.timedelta(seconds=rng.randrange(60, 7200))
                    if tra > now:
                        status, tra = 9, None
                    elif rng.random() < 0.8:
                        status = 10
                    else:
                        status, tra = 9, None
                    if due and finish.date() > due.date() and rng.random() < 0.4:
                        t = max(receipt, dt.datetime.combine(due.date() - ONE_DAY, dt.time(9)))
                        apologies = [(t, dt.datetime.combine(finish.date() + ONE_DAY, dt.time(17)))]
            if sup:
                rounds.append(sup)

        # ---- build the wire record --------------------------------------------
        day_for_code = (receipt or submitted or refused).date()
        code = self.new_code(agency, day_for_code)
        name = agency.name
        if agency.old_name and (receipt or submitted or refused) < self.now - dt.timedelta(days=365):
            name = agency.old_name
        d = {"MaHoSo": code, "MaTTHC": proc["MaTTHC"]}
        tt = proc["TenTTHC"]
        d["TenTTHC"] = nfd(tt) if rng.random() < 0.05 else tt
        d["MaLinhVuc"] = proc["MaLinhVuc"]
        d["TenLinhVuc"] = proc["TenLinhVuc"]
        d["MaDonVi"] = agency.code
        d["DonViXuLy"] = nfd(name) if rng.random() < 0.15 else name
        if agency.nameless_latest and rng.random() < 0.3:
            del d["DonViXuLy"]
        d["ChuHoSo"] = self.person()
        self.put(d, "KenhThucHien", self.opt_code(channel, 1))
        mucdo_val = self.code_val(mucdo) if rng.random() >= 0.08 else rng.choice([ABSENT, None, ""])
        self.put(d, "MucDo", mucdo_val)
        d["TrangThaiHoSo"] = self.code_val(status)
        ngay_kt, ngay_tra = finish, tra
        if status == 10 and rng.random() < 0.03:
            ngay_kt = None                                 # only NgayTra
        if status == 9 and rng.random() < 0.01:
            ngay_kt, ngay_tra = None, finish               # odd but legal: only NgayTra
        if status == 7 and rng.random() < 0.15:
            ngay_kt, ngay_tra = None, finish
        self.put(d, "NgayTiepNhan", self.date_val(receipt))
        self.put(d, "NgayHenTra", self.date_val(due))
        self.put(d, "NgayKetThucXuLy", self.date_val(ngay_kt))
        self.put(d, "NgayTra", self.date_val(ngay_tra))
        if status == 3:
            d["NgayTuChoi"] = fmt(refused)
        self.put(d, "HinhThuc", self.opt_code(hinh_thuc, 0))
        if rounds:
            lst = []
            for i, (t_sup, t_rcv, before, after) in enumerate(rounds):
                e = {"HoSoBoSungId": "%s-BS%d" % (code, i + 1),
                     "NoiDungBoSung": rng.choice(SUPPLEMENT_REASONS),
                     "NgayBoSung": fmt(t_sup)}
                self.put(e, "NgayTiepNhanBoSung", self.date_val(t_rcv))
                self.put(e, "NgayHenTraTruoc", self.date_val(before))
                self.put(e, "NgayHenTraMoi", self.date_val(after))
                lst.append(e)
            d["DanhSachHoSoBoSung"] = lst
        elif rng.random() < 0.3:
            d["DanhSachHoSoBoSung"] = []
        if apologies:
            d["PhieuXinLoi"] = [{"NgayXinLoi": fmt(a), "NgayHenTraMoi": fmt(b),
                                 "LyDo": rng.choice(APOLOGY_REASONS)} for a, b in apologies]
        elif rng.random() < 0.03:
            d["PhieuXinLoi"] = []
        if rng.random() < 0.1:
            d["DanhSachLePhi"] = [{"TenPhiLePhi": "Lệ phí cấp giấy", "MaPhiLePhi": "LP01",
                                   "HinhThucThu": "1", "Gia": rng.choice([50000, 100000, 200000]),
                                   "LoaiPhiLePhi": "2"}]

        events = [t for t in (receipt, submitted, refused, finish, tra) if t]
        for t_sup, t_rcv, _, _ in rounds:
            events.append(t_sup)
            if t_rcv:
                events.append(t_rcv)
        if apologies:
            events.extend(a for a, _ in apologies)
        last = max(events)
        if status in (2, 4, 5, 6, 8):
            upd = last + (now - last) * rng.uniform(0, 0.3)
            upd = upd.replace(microsecond=0)
        else:
            upd = min(now, last + dt.timedelta(seconds=rng.randrange(4 * 3600)))
        rec = Rec(d, agency)
        rec.status, rec.channel, rec.hinh_thuc = status, channel, hinh_thuc
        rec.receipt, rec.finish, rec.tra = receipt, finish, tra
        rec.last, rec.upd = last, upd
        return rec

    def make_dossiers(self):
        rng = self.rng
        n = max(0, self.cfg.dossiers)
        recs = []
        fixed = self.fixed_receipts()
        for i in range(n):
            ag = self.choose_agency()
            hint = fixed[i] if i < len(fixed) else None
            recs.append(self.gen_dossier(ag, hint))

        # Bursts: many records sharing one NgayCapNhat (a bulk re-index), so paging
        # has to cross a tie on the update time.
        bursts = [(dt.datetime.combine(self.as_of - dt.timedelta(days=150), dt.time(2, 0)),
                   self.cfg.burst),
                  (dt.datetime.combine(self.as_of - dt.timedelta(days=40), dt.time(1, 30)),
                   min(1001, self.cfg.burst))]
        taken = set()
        for when, size in bursts:
            elig = [i for i, r in enumerate(recs) if r.last < when and i not in taken]
            k = min(size, len(elig))
            for i in rng.sample(elig, k):
                recs[i].upd = when
                taken.add(i)
        for r in recs:
            r.d["NgayCapNhat"] = fmt(r.upd)

        # The nameless agency: its latest dossier has no DonViXuLy.
        for ag in self.agencies:
            if ag.nameless_latest:
                mine = [r for r in recs if r.agency is ag]
                if mine:
                    latest = max(mine, key=lambda r: (r.d["NgayCapNhat"], r.code.encode()))
                    latest.d.pop("DonViXuLy", None)

        # Older duplicate versions of a MaHoSo (stored: the one with the greater
        # NgayCapNhat, which the keyset order also serves last).
        dups = []
        dup_ids = set()
        cands = [r for r in recs if r.status == 10 and r.finish and r.tra
                 and r.finish > r.receipt + dt.timedelta(minutes=10) and r.upd > r.finish]
        ndup = 0
        if self.cfg.dup_ratio > 0:
            ndup = min(len(cands), max(2 if n >= 100 else 0, round(self.cfg.dup_ratio * n)))
        for r in rng.sample(cands, ndup):
            old = json.loads(json.dumps(r.d))
            old["TrangThaiHoSo"] = "4"
            for k in ("NgayKetThucXuLy", "NgayTra"):
                old.pop(k, None)
            t_old = r.receipt + (r.finish - r.receipt) / 2
            old["NgayCapNhat"] = fmt(t_old)
            dr = Rec(old, r.agency)
            dr.dup, dr.status = True, 4
            dups.append(dr)
            dup_ids.add(id(r))

        # Bad records: broken copies of good ones (they keep their place in the
        # order through a hidden key when the exported key fields are broken).
        if self.cfg.bad_ratio > 0 and recs:
            protected = {id(r) for r in recs if r.agency.nameless_latest and "DonViXuLy" not in r.d}
            protected |= dup_ids     # never break a record that has an older duplicate
            pool = [r for r in recs if r.status not in (1, 3) and id(r) not in protected]
            if pool:
                variants = self.dossier_variants()
                # every variant at least once, but never more than a third of the
                # data set (tiny data sets then cover only some reasons)
                nbad = max(len(variants), round(self.cfg.bad_ratio * n))
                nbad = min(nbad, len(pool) // 3)
                for j, r in enumerate(rng.sample(pool, nbad)):
                    fn, reason = variants[j % len(variants)]
                    r.hidden = (r.d["NgayCapNhat"], r.code)
                    r.d = fn(r, j)
                    r.bad = reason
                    self.note_bad("dossier", reason)
        self.recs = recs
        return recs + dups

    def dossier_variants(self):
        """(transform, reason) pairs; each transform returns the broken item."""
        rng = self.rng

        def copy(r):
            return json.loads(json.dumps(r.d))

        def drop(k):
            def f(r, j):
                d = copy(r)
                d.pop(k, None)
                return d
            return f

        def setk(**kv):
            def f(r, j):
                d = copy(r)
                d.update(kv)
                return d
            return f

        def closed(r, status=9):
            """A copy turned into a valid resolved record (status, finish)."""
            d = copy(r)
            rcv = parse_ts(d["NgayTiepNhan"])
            d["TrangThaiHoSo"] = str(status)
            d["NgayKetThucXuLy"] = fmt(min(parse_ts(d["NgayCapNhat"]), rcv + dt.timedelta(hours=1)))
            return d, rcv

        def nested_sup(field, value):
            def f(r, j):
                d = copy(r)
                d["DanhSachHoSoBoSung"] = [{"HoSoBoSungId": d["MaHoSo"] + "-BS1",
                                            "NgayBoSung": d["NgayTiepNhan"],
                                            "NgayTiepNhanBoSung": d["NgayTiepNhan"],
                                            field: value}]
                return d
            return f

        def apology_bad(r, j):
            d = copy(r)
            d["PhieuXinLoi"] = [{"NgayXinLoi": "20221232090000", "NgayHenTraMoi": d["NgayTiepNhan"],
                                 "LyDo": APOLOGY_REASONS[0]}]
            return d

        def no_receipt(status, spelling):
            def f(r, j):
                d, _ = closed(r, status) if status in (7, 9, 10) else (copy(r), None)
                d["TrangThaiHoSo"] = status if j % 2 else str(status)
                if spelling is ABSENT:
                    d.pop("NgayTiepNhan", None)
                else:
                    d["NgayTiepNhan"] = spelling
                return d
            return f

        def no_finish(status, spelling):
            def f(r, j):
                d = copy(r)
                d["TrangThaiHoSo"] = str(status)
                for k in ("NgayKetThucXuLy", "NgayTra"):
                    if spelling is ABSENT:
                        d.pop(k, None)
                    else:
                        d[k] = spelling
                return d
            return f

        def before(kind):
            def f(r, j):
                d = copy(r)
                rcv = parse_ts(d["NgayTiepNhan"])
                d["TrangThaiHoSo"] = "10"
                if kind == "day":
                    d["NgayKetThucXuLy"] = fmt(rcv - dt.timedelta(days=1))
                    d["NgayTra"] = fmt(rcv)
                elif kind == "hour":        # same day, one hour earlier
                    rcv = rcv.replace(hour=10, minute=0, second=0)
                    d["NgayTiepNhan"] = fmt(rcv)
                    d["NgayKetThucXuLy"] = fmt(rcv.replace(hour=9))
                    d.pop("NgayTra", None)
                else:                       # NgayTra fallback is the (early) finish
                    d.pop("NgayKetThucXuLy", None)
                    d["NgayTra"] = fmt(rcv - dt.timedelta(seconds=1))
                return d
            return f

        def bad_code_and_date(r, j):
            d = copy(r)
            d["HinhThuc"] = 7
            d["NgayHenTra"] = "20220631170000"
            return d

        def bad_date_and_receipt(r, j):
            d = copy(r)
            d["TrangThaiHoSo"] = "4"
            d.pop("NgayTiepNhan", None)
            d["NgayHenTra"] = "20221301080000"
            return d

        def receipt_and_finish(r, j):
            d = copy(r)
            d["TrangThaiHoSo"] = 10
            for k in ("NgayTiepNhan", "NgayKetThucXuLy", "NgayTra"):
                d.pop(k, None)
            return d

        return [
            (lambda r, j: "hồ sơ lỗi số %d" % j, "bad_json"),
            (lambda r, j: 100000 + j, "bad_json"),
            (lambda r, j: [r.code, j], "bad_json"),
            (lambda r, j: None if j < 4 else "null-%d" % j, "bad_json"),   # null once
            (drop("MaHoSo"), "missing_key"),
            (drop("MaTTHC"), "missing_key"),
            (drop("MaDonVi"), "missing_key"),
            (drop("TrangThaiHoSo"), "missing_key"),
            (drop("NgayCapNhat"), "missing_key"),
            (setk(TrangThaiHoSo="2a"), "bad_code"),
            (setk(TrangThaiHoSo=" 2"), "bad_code"),
            (setk(TrangThaiHoSo="11"), "bad_code"),
            (setk(TrangThaiHoSo=0), "bad_code"),
            (setk(TrangThaiHoSo=-4), "bad_code"),
            (setk(TrangThaiHoSo=True), "bad_code"),
            (setk(KenhThucHien=4), "bad_code"),
            (setk(KenhThucHien="trực tuyến"), "bad_code"),
            (setk(HinhThuc="2"), "bad_code"),
            (setk(MucDo=5), "bad_code"),
            (setk(MucDo="4 "), "bad_code"),
            (bad_code_and_date, "bad_code"),
            (setk(NgayTiepNhan="20220230120000"), "bad_date"),
            (setk(NgayHenTra="20221301080000"), "bad_date"),
            (setk(NgayHenTra="20220103250000"), "bad_date"),
            (setk(NgayTra="2022-01-03 08:30:00"), "bad_date"),
            (setk(NgayTiepNhan="2022010308300"), "bad_date"),
            (setk(NgayKetThucXuLy="20221215235960"), "bad_date"),
            (setk(NgayTuChoi="20211131090000"), "bad_date"),
            (setk(NgayCapNhat="20220229101500"), "bad_date"),
            (nested_sup("NgayBoSung", "20220231080000"), "bad_date"),
            (nested_sup("NgayHenTraMoi", "20220631170000"), "bad_date"),
            (apology_bad, "bad_date"),
            (bad_date_and_receipt, "bad_date"),
            (no_receipt(4, ABSENT), "missing_receipt"),
            (no_receipt(9, ""), "missing_receipt"),
            (no_receipt(5, None), "missing_receipt"),
            (no_receipt(7, ABSENT), "missing_receipt"),
            (no_receipt(2, ""), "missing_receipt"),
            (receipt_and_finish, "missing_receipt"),
            (no_finish(9, ABSENT), "missing_finish"),
            (no_finish(10, None), "missing_finish"),
            (no_finish(7, ""), "missing_finish"),
            (before("day"), "finish_before_receipt"),
            (before("hour"), "finish_before_receipt"),
            (before("tra"), "finish_before_receipt"),
        ]

    # -- shipments ----------------------------------------------------------------

    def item_code(self, used):
        rng = self.rng
        while True:
            c = "E%s%09dVN" % (chr(65 + rng.randrange(26)), rng.randrange(10 ** 9))
            if c not in used:
                used.add(c)
                return c

    def make_shipments(self):
        rng = self.rng
        now = self.now
        used = set()
        ships = []          # (dict, last_event)

        def status_val(v):
            r = rng.random()
            if r < 0.02:
                return ABSENT
            if r < 0.03:
                return None
            return v if r < 0.5 else str(v)

        def ship(order, direction, accepted, delivered, status):
            d = {"ItemCode": self.item_code(used), "OrderNumber": order,
                 "Direction": direction if rng.random() < 0.5 else str(direction)}
            self.put(d, "StatusCode", status_val(status))
            self.put(d, "AcceptedDate", self.date_val(accepted))
            self.put(d, "DeliveredDate", self.date_val(delivered))
            prov = PROVINCES[0]
            other = rng.choice(PROVINCES)
            d["SenderProvince"], d["ReceiverProvince"] = (other, prov) if direction == 1 else (prov, other)
            fee = rng.choice([15000, 22000, 28000, 35000, 46000])
            d["Fee"] = fee
            d["CODAmount"] = rng.choice([0, 0, 0, fee, 50000])
            last = max(t for t in (accepted, delivered) if t)
            ships.append([d, min(now, last + dt.timedelta(seconds=rng.randrange(6 * 3600)))])

        ratio = self.cfg.shipments_ratio
        good = [r for r in self.recs if r.bad is None]
        for r in good:
            if r.channel == 3 and r.receipt is not None and rng.random() < ratio:
                acc = r.receipt - dt.timedelta(seconds=rng.randrange(86400, 3 * 86400))
                dlv = r.receipt - dt.timedelta(seconds=rng.randrange(0, 7200))
                st = rng.choices([14, 15, 22, 10, 3, 99], weights=[90, 3, 2, 3, 1, 1])[0]
                ship(r.code, 1, acc, dlv if st == 14 else None, st)
            if r.hinh_thuc == 1 and r.status in (9, 10) and r.finish and rng.random() < ratio:
                acc = (r.tra or r.finish) + dt.timedelta(seconds=rng.randrange(0, 86400))
                if acc > now:
                    acc = now
                dlv = acc + dt.timedelta(seconds=rng.randrange(86400, 4 * 86400))
                if dlv <= now:
                    st = rng.choices([14, 15, 22, 99], weights=[85, 8, 4, 3])[0]
                else:
                    st, dlv = rng.choices([10, 6, 3], weights=[6, 3, 1])[0], None
                ship(r.code, 2, acc, dlv if st == 14 else None, st)
        # unmatched: order numbers of no dossier, and of quarantined dossiers
        n_unmatched = max(2, round(self.cfg.unmatched_ratio * len(ships))) if ships or good else 0
        for i in range(n_unmatched):
            day = self.start + dt.timedelta(days=rng.randrange(self.days))
            order = "%s-%s-9%03d" % (rng.choice(self.agencies).code, day.strftime("%y%m%d"), i)
            acc = self.work_time(day)
            ship(order, rng.choice([1, 2]), acc, acc + dt.timedelta(days=2) if acc + dt.timedelta(days=2) < now else None, 14)
        bad_codes = [r.hidden[1] for r in self.recs if r.bad and r.hidden]
        for code in bad_codes[:2]:
            acc = self.work_time(self.as_of - dt.timedelta(days=rng.randint(5, 60)))
            ship(code, 1, acc, None, 10)

        # burst of shipments sharing one NgayCapNhat
        when = dt.datetime.combine(self.as_of - dt.timedelta(days=100), dt.time(3, 0))
        elig = [s for s in ships if s[1] < when]
        for s in rng.sample(elig, min(self.cfg.ship_burst, int(0.6 * len(elig)))):
            s[1] = when
        for d, upd in ships:
            d["NgayCapNhat"] = fmt(upd)

        out = [(d, None, False) for d, _ in ships]
        if self.cfg.bad_ratio > 0 and ships:
            variants = self.shipment_variants()
            nbad = max(len(variants), round(self.cfg.bad_ratio * len(ships)))
            nbad = min(nbad, len(ships) // 3)
            victims = rng.sample(range(len(ships)), nbad)
            for j, idx in enumerate(victims):
                d = ships[idx][0]
                fn, reason = variants[j % len(variants)]
                hidden = (d["NgayCapNhat"], d["ItemCode"])
                out[idx] = (fn(dict(d), j), hidden, True)
                self.note_bad("shipment", reason)
        return out

    def shipment_variants(self):
        def setk(**kv):
            def f(d, j):
                d.update(kv)
                return d
            return f

        def drop(k):
            def f(d, j):
                d.pop(k, None)
                return d
            return f

        return [
            (lambda d, j: "EB-lỗi-%d" % j, "bad_json"),
            (lambda d, j: [d.get("ItemCode"), j], "bad_json"),
            (drop("ItemCode"), "missing_key"),
            (drop("OrderNumber"), "missing_key"),
            (drop("Direction"), "missing_key"),
            (drop("NgayCapNhat"), "missing_key"),
            (setk(Direction=5), "bad_code"),
            (setk(Direction=0), "bad_code"),
            (setk(Direction="1a"), "bad_code"),
            (setk(StatusCode="x14"), "bad_code"),
            (setk(AcceptedDate="20220230083000"), "bad_date"),
            (setk(DeliveredDate="20221301080000"), "bad_date"),
        ]


class Dataset:
    """The served state: three feeds plus what the admin endpoints need."""

    def __init__(self, cfg):
        t0 = time.monotonic()
        self.cfg = cfg
        g = Generator(cfg)
        g.make_agencies()
        proc_rows = g.make_catalogue()
        recs = g.make_dossiers()
        ship_rows = g.make_shipments()
        self.gen = g
        self.now = g.now
        self.as_of = g.as_of

        # dossiers
        entries = []
        self.dossier_keys = {}     # MaHoSo -> key of its current (good, newest) version
        for serial, r in enumerate(recs):
            key = self._key(r.d, "MaHoSo", r.hidden, serial)
            entries.append((key, dumps(r.d)))
            if r.bad is None and not r.dup:
                self.dossier_keys[r.code] = key
        self.dossiers = KeyedFeed(entries)
        self.serial = len(recs)
        self.good_codes = sorted(self.dossier_keys)
        # catalogue
        self.procedures = [dumps(p) for p in proc_rows]
        self.proc_info = g.procs_by_agency
        # shipments
        entries = []
        for d, hidden, _bad in ship_rows:
            self.serial += 1
            entries.append((self._key(d, "ItemCode", hidden, self.serial), dumps(d)))
        self.shipments = KeyedFeed(entries)
        self.agencies = {a.code: a.name for a in g.all_agencies}
        self.dossier_agencies = {a.code for a in g.agencies}
        # mutation clock: strictly after every served NgayCapNhat
        latest = self.now
        for feed in (self.dossiers, self.shipments):
            for k in feed.keys[-50:]:
                try:
                    latest = max(latest, parse_ts(k[0]))
                except ValueError:
                    pass
        self.clock = latest
        self.late = {}             # agency -> codes made late by /_sim/late
        self.late_seq = 0
        self.meta = {
            "seed": cfg.seed, "as_of": self.as_of.isoformat(), "now": fmt(self.now),
            "intended_quarantine": g.intended,
            "agencies": self.agencies,
        }
        self.gen_seconds = time.monotonic() - t0
        del g.recs

    @staticmethod
    def _key(item, code_field, hidden, serial):
        upd = code = None
        if isinstance(item, dict):
            u, c = item.get("NgayCapNhat"), item.get(code_field)
            upd = u if isinstance(u, str) and u else None
            code = c if isinstance(c, str) and c else None
        if upd is None or code is None:
            if hidden is None:
                raise ValueError("record without a sort key: %r" % (item,))
            upd = upd if upd is not None else hidden[0]
            code = code if code is not None else hidden[1]
        return (upd, code, serial)

    # -- mutations (callers hold the lock) --------------------------------------

    def tick(self, rng) -> dt.datetime:
        self.clock += dt.timedelta(seconds=rng.randint(1, 30))
        return self.clock

    def _load(self, code):
        key = self.dossier_keys[code]
        i = bisect.bisect_left(self.dossiers.keys, key)
        return json.loads(self.dossiers.texts[i]), key

    def _store(self, code, old_key, d):
        if old_key is not None:
            self.dossiers.remove(old_key)
        self.serial += 1
        key = (d["NgayCapNhat"], code, self.serial)
        self.dossiers.append(key, dumps(d))
        if code not in self.dossier_keys:
            bisect.insort(self.good_codes, code)
        self.dossier_keys[code] = key

    def mutate_one(self, code, rng) -> str:
        """Move one good dossier one step forward; returns a description."""
        d, key = self._load(code)
        t = self.tick(rng)
        st = int(str(d["TrangThaiHoSo"]))
        due_fmt = lambda day: fmt(dt.datetime.combine(add_workdays(day, 5), dt.time(17)))
        if st == 1:
            d["TrangThaiHoSo"] = "2"
            d["NgayTiepNhan"] = fmt(t)
            d["NgayHenTra"] = due_fmt(t.date())
            change = "1->2"
        elif st == 2:
            d["TrangThaiHoSo"] = 4
            change = "2->4"
        elif st == 4:
            d["TrangThaiHoSo"] = "9"
            d["NgayKetThucXuLy"] = fmt(t)
            change = "4->9"
        elif st == 5:
            rounds = d.get("DanhSachHoSoBoSung") or []
            new_due = due_fmt(t.date())
            for e in rounds:
                if isinstance(e, dict) and not e.get("NgayTiepNhanBoSung"):
                    e["NgayTiepNhanBoSung"] = fmt(t)
                    e["NgayHenTraMoi"] = new_due
            if d.get("NgayHenTra"):
                d["NgayHenTra"] = new_due
            d["TrangThaiHoSo"] = "4"
            change = "5->4"
        elif st in (6, 8):
            d["TrangThaiHoSo"] = "4"
            change = "%d->4" % st
        elif st == 9:
            d["TrangThaiHoSo"] = 10
            if not d.get("NgayTra"):
                d["NgayTra"] = fmt(t)
            change = "9->10"
        else:
            d["GhiChu"] = "Cập nhật thông tin chủ hồ sơ lúc %s" % fmt(t)
            change = "%d (note)" % st
        d["NgayCapNhat"] = fmt(t)
        self._store(code, key, d)
        return change

    ADVANCEABLE = ("1", "2", "4", "5", "6", "8", "9")

    def _status_of(self, code):
        d, _ = self._load(code)
        return str(d.get("TrangThaiHoSo")).lstrip("0")

    def mutate(self, n, rng):
        """Change n distinct random good dossiers.  Most picks (80%) prefer a
        dossier whose status can advance (1->2, 2->4, 4->9, 5/6/8->4, 9->10), so
        the indicators move; the rest may be a closed one (a note is added)."""
        n = min(n, len(self.good_codes))
        chosen, out = set(), []
        while len(out) < n:
            tries = 8 if rng.random() < 0.8 else 1
            code = None
            for _ in range(tries):
                c = rng.choice(self.good_codes)
                if c in chosen:
                    continue
                code = c
                if self._status_of(c) in self.ADVANCEABLE:
                    break
            if code is None:
                code = next(c for c in self.good_codes if c not in chosen)
            chosen.add(code)
            out.append({"MaHoSo": code, "change": self.mutate_one(code, rng),
                        "NgayCapNhat": fmt(self.clock)})
        return out

    def mutate_while_paging(self, start, rng):
        """Mutate one record: half the time one already behind the client's
        position (shifts every later offset), else one not yet served."""
        keys = self.dossiers.keys
        for _ in range(20):
            if keys and rng.random() < 0.5 and start > 0:
                i = rng.randrange(min(start, len(keys)))
            elif keys and start < len(keys):
                i = rng.randrange(start, len(keys))
            else:
                break
            code = keys[i][1]
            if self.dossier_keys.get(code) == keys[i]:
                self.mutate_one(code, rng)
                return code
        if self.good_codes:
            code = rng.choice(self.good_codes)
            self.mutate_one(code, rng)
            return code
        return None

    def make_late(self, agency, n, kind, rng):
        """Add n dossiers of `agency` that are overdue (kind=pending) or resolved
        late today (kind=resolved).  They are remembered for /_sim/recover."""
        procs = self.proc_info.get(agency) or []
        out = []
        rcv = dt.datetime.combine(self.as_of - dt.timedelta(days=2), dt.time(8, 0))
        due = dt.datetime.combine(self.as_of - ONE_DAY, dt.time(17, 0))
        for _ in range(n):
            t = self.tick(rng)
            self.late_seq += 1
            code = "%s-%s-8%04d" % (agency, rcv.strftime("%y%m%d"), self.late_seq)
            proc = rng.choice(procs) if procs else {"MaTTHC": "1.000001.000.00.00.H12",
                                                    "TenTTHC": "Thủ tục thử nghiệm",
                                                    "MaLinhVuc": "LV000", "TenLinhVuc": "Thử nghiệm"}
            d = {"MaHoSo": code, "MaTTHC": proc["MaTTHC"], "TenTTHC": proc["TenTTHC"],
                 "MaLinhVuc": proc["MaLinhVuc"], "TenLinhVuc": proc["TenLinhVuc"],
                 "MaDonVi": agency, "DonViXuLy": self.agencies.get(agency, agency),
                 "KenhThucHien": "1", "TrangThaiHoSo": "4",
                 "NgayTiepNhan": fmt(rcv), "NgayHenTra": fmt(due), "HinhThuc": "0"}
            if kind == "resolved":
                d["TrangThaiHoSo"] = "10"
                d["NgayKetThucXuLy"] = fmt(t)
                d["NgayTra"] = fmt(t)
            d["NgayCapNhat"] = fmt(t)
            self._store(code, None, d)
            self.late.setdefault(agency, []).append(code)
            out.append(code)
        return out

    def recover(self, agency, rng):
        """Resolve the /_sim/late dossiers of `agency` on time (finish on the due
        date), bumping their NgayCapNhat."""
        out = []
        for code in self.late.pop(agency, []):
            d, key = self._load(code)
            t = self.tick(rng)
            due = parse_ts(d["NgayHenTra"])
            fin = dt.datetime.combine(due.date(), dt.time(16, 0))
            d["TrangThaiHoSo"] = "10"
            d["NgayKetThucXuLy"] = fmt(fin)
            d["NgayTra"] = fmt(fin)
            d["NgayCapNhat"] = fmt(t)
            self._store(code, key, d)
            out.append(code)
        return out

    def dump_bytes(self) -> bytes:
        return b"".join([
            b'{"dossiers":[', b",".join(self.dossiers.texts),
            b'],"procedures":[', b",".join(self.procedures),
            b'],"shipments":[', b",".join(self.shipments.texts),
            b'],"meta":', dumps(self.meta), b"}"])
