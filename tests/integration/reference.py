#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Independent reference implementation of docs/metrics.md (Python 3 stdlib only).

Written from the specification (docs/metrics.md and docs/feeds.md), not from the
daemon's C code, so integration tests can compare the
daemon's /metrics page and report API against values computed a second way.

Input is a feed "dump": {"dossiers": [...], "procedures": [...], "shipments": [...]}
listing every raw item in the order the feeds serve it (tools/feedsim.py serves it
at GET /_sim/dump and writes it with --dump-only).  Extra keys (e.g. "meta") are
ignored.

Public API (dates may be datetime.date or "YYYY-MM-DD"):

    load_dump(path) -> dict
    classify(kind, item) -> (reason | None, parsed | None)
        kind in {"dossier", "procedure", "shipment"}
    build_store(dump) -> Store         quarantine + dedup: what the daemon holds
    latest_dossiers(dump) -> {MaHoSo: raw}      (also latest_procedures,
                                                 latest_shipments)
    standard_periods(today, mode="calendar") -> [(label, from, to), ...]
    previous_year(today, mode="calendar") -> (label, from, to)
    counts(store_or_dump, from, to, now=None) -> {agency|"ALL": Counts dict}
    ratios(counts_entry) -> {ratio_name: float | None}
    report(dump, from, to, today, agency=None) -> dict   (the report API JSON)
    expected_values(dump, today, period_mode="calendar", targets=None,
                    on_time_baseline=None) -> nested dict of everything
    expected_metrics(dump, today, period_mode="calendar", targets=None,
                     on_time_baseline=None, source_names=None)
        -> {(family, frozenset(labels.items())): float}
    parse_exposition(text) -> same shape as expected_metrics
    diff_metrics(expected, actual, families=None, ...) -> [mismatch text, ...]
    to_exposition(metrics) -> text (for debugging)

CLI:
    reference.py --selftest
    reference.py DUMP.json --today 2022-12-20 [--mode calendar|report]
                 [--report FROM TO [--agency CODE]] [--json]

AMBIGUITIES in metrics.md / feeds.md, and the reading this file takes
---------------------------------------------------------------------
 1. "Missing" required key: a key that is absent, JSON null or "" counts as missing
    (feeds.md: "an absent date is a missing key, null, or ''"; applied to every
    required key).  A required identifier (MaHoSo, MaTTHC, MaDonVi, ItemCode,
    OrderNumber) may be a string or an integer (read as its decimal text, like a
    code); any other type is missing.  A date may likewise be a 14-digit integer.
 2. Code syntax: a JSON integer (not true/false, not 2.0) or a non-empty string of
    ASCII digits; "02" is 2, negative integers are integers but fall outside every
    list, so bad_code.  StatusCode may be any integer; a non-integer StatusCode
    (e.g. "x14") is bad_code; absent/null/"" StatusCode counts as in transit.
 3. Dates checked for bad_date are exactly the date keys feeds.md lists:
    dossier NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra, NgayTuChoi,
    NgayCapNhat; DanhSachHoSoBoSung[].{NgayBoSung, NgayTiepNhanBoSung,
    NgayHenTraTruoc, NgayHenTraMoi}; PhieuXinLoi[].{NgayXinLoi, NgayHenTraMoi};
    shipment AcceptedDate, DeliveredDate, NgayCapNhat; catalogue NgayCapNhat.  Other
    keys (NgayNopHoSo, ...) are "not interpreted".  A non-string date is bad_date.
    Nested list elements that are not objects, and nested fields that are not
    lists, are ignored (not quarantined).  Dates are validated regardless of
    status (a bad NgayTuChoi on a status-4 dossier is bad_date).
 4. finish_before_receipt applies only to statuses {7, 9, 10} (the only ones with
    a "finish"); it compares full timestamps (equal is fine).  When
    NgayKetThucXuLy is present NgayTra is not compared at all.
 5. Quarantine before dedup: only records that pass every check take part in
    "greatest NgayCapNhat, tie -> sent last".  A bad newer version of a key does
    not displace (or delete) a good older one.  "Sent last" = later in the dump's
    served order.
 6. Distinct quarantined records: one per key (MaHoSo, ItemCode, MaTTHC+MaDonVi)
    holding its latest bad version, released once a good version at least as new
    (NgayCapNhat) is stored; items without a key are told apart by their canonical
    JSON (keys sorted).  The "source" label is not specified: by default
    dossiers and catalogue rows are source "igate", shipments "vnpost" (adapter
    names of feeds.md); pass source_names= to change it.  Only non-zero series are
    produced; diff_metrics treats a missing series of that family as 0.
 7. Known agencies: MaDonVi of stored (non-quarantined, deduplicated) dossiers of
    every status (1 and 3 included) and of stored catalogue rows.
 8. agency_info: DonViXuLy that is absent, null, "" or not a string means "no
    name".  Codes compared byte by byte = UTF-8 byte order.
 9. Report API with to > today: received and resolved use [from, to]; pending
    (received <= P, finish > P, due vs P) uses P = min(to, today).  With data
    dated after today the Biểu 06 invariant may then not hold for such a range.
10. Pending "within deadline" uses the status of the stored record: a dossier in
    {7,9,10} that finishes after P is pending and never "within" by the {5,6,8}
    clause (its stored status is 7/9/10).
11. overdue_without_apology: pending at today (as in the current periods), due
    present and due < today, status not in {5,6,8}, and PhieuXinLoi absent, null
    or an empty list (a non-empty list = an apology).  Produced (0 included) for
    every known agency and ALL.
12. On-time target: previous *calendar* year [Jan 1, Dec 31] in calendar mode, the
    previous report year [15 Dec Y-2, 14 Dec Y-1] in report mode, pending at that
    period's last day.  If that ratio is absent and no baseline is set, there is no
    on-time target: no onestop_target_ratio{indicator="on_time"} and no on_time
    target_met series.  on_time_baseline, when given, wins.
13. target_met is produced for every agency (and ALL) whose ratio exists; the
    procedure indicators repeat the same value under each standard period label.
14. onestop_postal_shipments: only non-zero (direction, status) pairs are produced;
    diff_metrics treats a missing pair as 0.  Direction 1 -> to_agency,
    2 -> to_applicant.
15. Ratio families are absent (not NaN) when the denominator is 0; count families
    exist for every known agency and ALL with 0 where nothing matched.
16. postal_return_ratio counts resolved dossiers in {9,10} only (withdrawn 7 is in
    "resolved" for the other figures but not here), as metrics.md's table says.
17. An agency coded literally "ALL" would be indistinguishable from the province
    total (ALL) on /metrics and in the report: such a dossier or catalogue row is
    bad_code (docs/metrics.md, "Quarantine reasons").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import sys
import unicodedata

# ----------------------------------------------------------------------------------
# Vocabulary
# ----------------------------------------------------------------------------------

NEVER = frozenset((1, 3))                 # never received: excluded everywhere
OPEN = frozenset((2, 4, 5, 6, 8))         # pending, supplement, suspended
HOLD = frozenset((5, 6, 8))               # pending but always "within deadline"
CLOSED = frozenset((7, 9, 10))            # withdrawn or resolved: has a finish
NEEDS_RECEIPT = frozenset((2, 4, 5, 6, 7, 8, 9, 10))

REASONS = ("bad_json", "missing_key", "bad_code", "bad_date", "missing_receipt",
           "missing_finish", "finish_before_receipt")
KINDS = ("dossier", "procedure", "shipment")
DEFAULT_SOURCES = {"dossier": "igate", "procedure": "igate", "shipment": "vnpost"}
DEFAULT_TARGETS = {"online_dossier": 0.25, "online_procedure": 0.75, "postal_procedure": 0.60}

CHANNELS = {1: "direct", 2: "online", 3: "postal"}
DIRECTIONS = {1: "to_agency", 2: "to_applicant"}
SHIP_STATUS = {6: "collected", 10: "in_transit", 14: "delivered", 15: "failed", 22: "cancelled"}

DOSSIER_DATES = ("NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi",
                 "NgayCapNhat")
NESTED_DATES = {
    "DanhSachHoSoBoSung": ("NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi"),
    "PhieuXinLoi": ("NgayXinLoi", "NgayHenTraMoi"),
}
SHIPMENT_DATES = ("AcceptedDate", "DeliveredDate", "NgayCapNhat")

RATIO_NAMES = ("on_time_ratio", "resolved_on_time_ratio", "online_dossier_ratio",
               "postal_receipt_ratio", "postal_return_ratio")
PROC_RATIO_NAMES = ("online_procedure_ratio", "full_online_procedure_ratio",
                    "postal_procedure_ratio")

# /metrics families this module predicts (runtime families such as
# onestop_source_up or timestamps are not predictable from a dump).
EXPECTED_FAMILIES = (
    "onestop_dossiers_carried_over", "onestop_dossiers_received", "onestop_dossiers_resolved",
    "onestop_dossiers_pending", "onestop_dossiers_overdue_without_apology",
    "onestop_on_time_ratio", "onestop_resolved_on_time_ratio", "onestop_online_dossier_ratio",
    "onestop_postal_receipt_ratio", "onestop_postal_return_ratio",
    "onestop_online_procedure_ratio", "onestop_full_online_procedure_ratio",
    "onestop_postal_procedure_ratio", "onestop_target_ratio", "onestop_target_met",
    "onestop_agency_info", "onestop_postal_shipments", "onestop_postal_unmatched_shipments",
    "onestop_stored_records", "onestop_quarantined_records",
)
# Families where this module emits only non-zero series (ambiguities 6 and 14).
ZERO_OPTIONAL_FAMILIES = frozenset(("onestop_postal_shipments", "onestop_quarantined_records"))

_BAD = object()        # marker: value present but invalid


def _to_date(v) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(v)


def _bkey(code: str) -> bytes:
    """Byte-order sort key for codes."""
    return code.encode("utf-8")


# ----------------------------------------------------------------------------------
# Value parsing
# ----------------------------------------------------------------------------------

def _absent(v) -> bool:
    return v is None or v == ""


def _ident_missing(v) -> bool:
    """A key is a non-empty string or an integer (rendered in decimal)."""
    return _ident(v) is None


def _ident(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return str(v)
    return v if isinstance(v, str) and v != "" else None


def parse_code(v):
    """A code: None when absent (null / ""), int when valid syntax, _BAD otherwise."""
    if _absent(v):
        return None
    if isinstance(v, bool):
        return _BAD
    if isinstance(v, int):
        return v
    if isinstance(v, str) and all("0" <= c <= "9" for c in v):
        return int(v)
    return _BAD


def parse_date(v):
    """yyyyMMddHHmmss local -> naive datetime; None when absent; _BAD when invalid."""
    if _absent(v):
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        v = "%d" % v  # a 14-digit JSON integer is the same date
    if not isinstance(v, str) or len(v) != 14 or not all("0" <= c <= "9" for c in v):
        return _BAD
    try:
        return dt.datetime(int(v[0:4]), int(v[4:6]), int(v[6:8]),
                           int(v[8:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return _BAD


def _code_in(v, lo, hi, default):
    """Optional code in [lo, hi]; returns (ok, value)."""
    c = parse_code(v)
    if c is None:
        return True, default
    if c is _BAD or not lo <= c <= hi:
        return False, None
    return True, c


# ----------------------------------------------------------------------------------
# Classification (quarantine) of one raw item
# ----------------------------------------------------------------------------------

class Dossier:
    __slots__ = ("code", "agency", "status", "channel", "hinh_thuc", "receipt", "due",
                 "finish", "upd", "name", "apology", "raw")


class Procedure:
    __slots__ = ("code", "agency", "mucdo", "postal", "fee", "upd", "raw")


class Shipment:
    __slots__ = ("item", "order", "direction", "status", "upd", "raw")


def _classify_dossier(d):
    if not isinstance(d, dict):
        return "bad_json", None
    for k in ("MaHoSo", "MaTTHC", "MaDonVi"):
        if _ident_missing(d.get(k)):
            return "missing_key", None
    if _absent(d.get("TrangThaiHoSo")) or _absent(d.get("NgayCapNhat")):
        return "missing_key", None
    if _ident(d["MaDonVi"]) == "ALL":
        return "bad_code", None  # reserved for the province total (ambiguity 17)
    status = parse_code(d["TrangThaiHoSo"])
    if status is _BAD or not 1 <= status <= 10:
        return "bad_code", None
    ok1, channel = _code_in(d.get("KenhThucHien"), 1, 3, 1)
    ok2, hinh = _code_in(d.get("HinhThuc"), 0, 1, 0)
    ok3, _ = _code_in(d.get("MucDo"), 2, 4, None)
    if not (ok1 and ok2 and ok3):
        return "bad_code", None
    dates = {}
    for k in DOSSIER_DATES:
        v = parse_date(d.get(k))
        if v is _BAD:
            return "bad_date", None
        dates[k] = v
    for field, keys in NESTED_DATES.items():
        lst = d.get(field)
        if isinstance(lst, list):
            for e in lst:
                if isinstance(e, dict):
                    for k in keys:
                        if parse_date(e.get(k)) is _BAD:
                            return "bad_date", None
    receipt = dates["NgayTiepNhan"]
    if status in NEEDS_RECEIPT and receipt is None:
        return "missing_receipt", None
    finish = None
    if status in CLOSED:
        finish = dates["NgayKetThucXuLy"] or dates["NgayTra"]
        if finish is None:
            return "missing_finish", None
        if finish < receipt:
            return "finish_before_receipt", None
    r = Dossier()
    r.code, r.agency, r.status = _ident(d["MaHoSo"]), _ident(d["MaDonVi"]), status
    r.channel, r.hinh_thuc = channel, hinh
    r.receipt = receipt
    r.due = dates["NgayHenTra"]
    r.finish = finish
    r.upd = _ident(d["NgayCapNhat"])
    name = d.get("DonViXuLy")
    r.name = unicodedata.normalize("NFC", name) if isinstance(name, str) and name else None
    slips = d.get("PhieuXinLoi")
    r.apology = isinstance(slips, list) and len(slips) > 0
    r.raw = d
    return None, r


def _classify_procedure(d):
    if not isinstance(d, dict):
        return "bad_json", None
    if _ident_missing(d.get("MaTTHC")) or _ident_missing(d.get("MaDonVi")):
        return "missing_key", None
    if _absent(d.get("MucDo")) or _absent(d.get("NgayCapNhat")):
        return "missing_key", None
    if _ident(d["MaDonVi"]) == "ALL":
        return "bad_code", None
    mucdo = parse_code(d["MucDo"])
    if mucdo is _BAD or not 2 <= mucdo <= 4:
        return "bad_code", None
    ok1, post = _code_in(d.get("BuuChinhCongIch"), 0, 1, 0)
    ok2, fee = _code_in(d.get("CoPhiLePhi"), 0, 1, 0)
    if not (ok1 and ok2):
        return "bad_code", None
    if parse_date(d["NgayCapNhat"]) is _BAD:
        return "bad_date", None
    p = Procedure()
    p.code, p.agency, p.mucdo, p.postal, p.fee = _ident(d["MaTTHC"]), _ident(d["MaDonVi"]), mucdo, post, fee
    p.upd, p.raw = _ident(d["NgayCapNhat"]), d
    return None, p


def _classify_shipment(d):
    if not isinstance(d, dict):
        return "bad_json", None
    if _ident_missing(d.get("ItemCode")) or _ident_missing(d.get("OrderNumber")):
        return "missing_key", None
    if _absent(d.get("Direction")) or _absent(d.get("NgayCapNhat")):
        return "missing_key", None
    direction = parse_code(d["Direction"])
    if direction is _BAD or direction not in (1, 2):
        return "bad_code", None
    status = parse_code(d.get("StatusCode"))
    if status is _BAD:
        return "bad_code", None
    for k in SHIPMENT_DATES:
        if parse_date(d.get(k)) is _BAD:
            return "bad_date", None
    s = Shipment()
    s.item, s.order, s.direction, s.status = _ident(d["ItemCode"]), _ident(d["OrderNumber"]), direction, status
    s.upd, s.raw = _ident(d["NgayCapNhat"]), d
    return None, s


_CLASSIFIERS = {"dossier": _classify_dossier, "procedure": _classify_procedure,
                "shipment": _classify_shipment}


def classify(kind: str, item):
    """(reason, None) for a quarantined item, (None, parsed record) otherwise.
    The reason is the first that applies in metrics.md's order."""
    return _CLASSIFIERS[kind](item)


# ----------------------------------------------------------------------------------
# The store: what the daemon should hold after fetching a dump
# ----------------------------------------------------------------------------------

class Store:
    """dossiers {MaHoSo: Dossier}, procedures {(MaTTHC, MaDonVi): Procedure},
    shipments {ItemCode: Shipment}, quarantine {kind: {reason: set(raw json)}},
    agencies: sorted known agency codes, names {agency: NFC name}."""

    def __init__(self):
        self.dossiers = {}
        self.procedures = {}
        self.shipments = {}
        self.quarantine = {k: {} for k in KINDS}
        self.agencies = []
        self.names = {}


def _canonical(item) -> str:
    return json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _reject_identity(kind, item):
    """A quarantined record is identified by its key when it has one (the latest bad
    version of a key is the one held), else by its canonical JSON."""
    if isinstance(item, dict):
        if kind == "procedure":
            a, b = _ident(item.get("MaTTHC")), _ident(item.get("MaDonVi"))
            if a is not None and b is not None:
                return ("key", kind, (a, b))
        else:
            k = _ident(item.get("MaHoSo" if kind == "dossier" else "ItemCode"))
            if k is not None:
                return ("key", kind, k)
    return ("raw", kind, _canonical(item))


def _reject_updated(item):
    if not isinstance(item, dict):
        return None
    v = item.get("NgayCapNhat")
    return _ident(v) if parse_date(v) not in (None, _BAD) else None


def build_store(dump) -> Store:
    if isinstance(dump, Store):
        return dump
    st = Store()
    targets = {"dossier": (st.dossiers, lambda r: r.code),
               "procedure": (st.procedures, lambda r: (r.code, r.agency)),
               "shipment": (st.shipments, lambda r: r.item)}
    for kind, field in (("dossier", "dossiers"), ("procedure", "procedures"),
                        ("shipment", "shipments")):
        table, keyf = targets[kind]
        held = {}  # quarantine identity -> (reason, NgayCapNhat or None)
        for item in dump.get(field) or []:
            reason, rec = classify(kind, item)
            if reason:
                held[_reject_identity(kind, item)] = (reason, _reject_updated(item))
                continue
            k = keyf(rec)
            old = table.get(k)
            # greatest NgayCapNhat wins; on a tie the one sent last (>=)
            if old is None or rec.upd >= old.upd:
                table[k] = rec
        # A quarantined key is released by a stored version at least as new.
        for ident, (reason, upd) in held.items():
            if ident[0] == "key":
                rec = table.get(ident[2])
                if rec is not None and (upd is None or rec.upd >= upd):
                    continue
            st.quarantine[kind].setdefault(reason, set()).add(ident)
    agencies = {d.agency for d in st.dossiers.values()} | {p.agency for p in st.procedures.values()}
    st.agencies = sorted(agencies, key=_bkey)
    latest = {}
    for d in st.dossiers.values():
        cur = latest.get(d.agency)
        if cur is None or (d.upd, _bkey(d.code)) > (cur.upd, _bkey(cur.code)):
            latest[d.agency] = d
    st.names = {a: d.name for a, d in latest.items() if d.name}
    return st


def latest_dossiers(dump) -> dict:
    """{MaHoSo: raw record} of the stored dossiers (after quarantine and dedup):
    the version the daemon should hold for each code."""
    return {k: d.raw for k, d in build_store(dump).dossiers.items()}


def latest_procedures(dump) -> dict:
    """{(MaTTHC, MaDonVi): raw row} of the stored catalogue."""
    return {k: p.raw for k, p in build_store(dump).procedures.items()}


def latest_shipments(dump) -> dict:
    """{ItemCode: raw record} of the stored shipments."""
    return {k: s.raw for k, s in build_store(dump).shipments.items()}


# ----------------------------------------------------------------------------------
# Periods
# ----------------------------------------------------------------------------------

def _report_month(today: dt.date):
    """(year, month) of the report month containing today (15th..14th cut-off)."""
    y, m = today.year, today.month
    if today.day >= 15:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return y, m


def _prev_month(y, m):
    return (y - 1, 12) if m == 1 else (y, m - 1)


def standard_periods(today, mode: str = "calendar"):
    """[(label, from, to)] for the current year, quarter and month; to = today."""
    today = _to_date(today)
    if mode == "calendar":
        y, m = today.year, today.month
        q = (m - 1) // 3 + 1
        return [("%d" % y, dt.date(y, 1, 1), today),
                ("%d-Q%d" % (y, q), dt.date(y, 3 * q - 2, 1), today),
                ("%d-%02d" % (y, m), dt.date(y, m, 1), today)]
    if mode != "report":
        raise ValueError("period_mode must be calendar or report")
    ry, rm = _report_month(today)
    q = (rm - 1) // 3 + 1
    py, pm = _prev_month(ry, rm)
    qy, qm = _prev_month(ry, 3 * q - 2)
    return [("report:%d" % ry, dt.date(ry - 1, 12, 15), today),
            ("report:%d-Q%d" % (ry, q), dt.date(qy, qm, 15), today),
            ("report:%d-%02d" % (ry, rm), dt.date(py, pm, 15), today)]


def previous_year(today, mode: str = "calendar"):
    """The complete year before the current one (for the on-time target)."""
    today = _to_date(today)
    if mode == "calendar":
        y = today.year - 1
        return ("%d" % y, dt.date(y, 1, 1), dt.date(y, 12, 31))
    ry, _ = _report_month(today)
    y = ry - 1
    return ("report:%d" % y, dt.date(y - 1, 12, 15), dt.date(y, 12, 14))


# ----------------------------------------------------------------------------------
# Counts and ratios
# ----------------------------------------------------------------------------------

def _zero():
    return {"carried_over": 0,
            "received": {"online": 0, "direct": 0, "postal": 0},
            "resolved": {"early": 0, "on_time": 0, "late": 0},
            "pending": {"within": 0, "overdue": 0},
            "returned_by_post": 0, "resolved_9_10": 0}


def counts(store, frm, to, now=None):
    """Biểu 06 counts for [frm, to] per known agency and "ALL".  Pending is taken
    at `now` (default: to).  Every date comparison is on local calendar dates."""
    st = build_store(store)
    frm, to = _to_date(frm), _to_date(to)
    now = to if now is None else _to_date(now)
    out = {a: _zero() for a in st.agencies}
    out["ALL"] = _zero()
    for d in st.dossiers.values():
        if d.status in NEVER:
            continue
        rd = d.receipt.date()
        fd = d.finish.date() if d.finish is not None else None
        due = d.due.date() if d.due is not None else None
        is_open = d.status in OPEN
        targets = (out[d.agency], out["ALL"])
        if rd < frm and (is_open or fd >= frm):
            for c in targets:
                c["carried_over"] += 1
        if frm <= rd <= to:
            ch = CHANNELS[d.channel]
            for c in targets:
                c["received"][ch] += 1
        if not is_open and frm <= fd <= to:
            if d.status == 7 or due is None or fd == due:
                t = "on_time"
            elif fd < due:
                t = "early"
            else:
                t = "late"
            for c in targets:
                c["resolved"][t] += 1
                if d.status in (9, 10):
                    c["resolved_9_10"] += 1
                    if d.hinh_thuc == 1:
                        c["returned_by_post"] += 1
        if rd <= now and (is_open or fd > now):
            t = "within" if (due is None or due >= now or d.status in HOLD) else "overdue"
            for c in targets:
                c["pending"][t] += 1
    return out


def _ratio(num, den):
    return None if den == 0 else num / den


def ratios(c) -> dict:
    """The five period ratios of one counts entry (None when the denominator is 0)."""
    res, pen, rec = c["resolved"], c["pending"], c["received"]
    n_res = res["early"] + res["on_time"] + res["late"]
    n_pen = pen["within"] + pen["overdue"]
    n_rec = rec["online"] + rec["direct"] + rec["postal"]
    return {
        "on_time_ratio": _ratio(res["early"] + res["on_time"] + pen["within"], n_res + n_pen),
        "resolved_on_time_ratio": _ratio(res["early"] + res["on_time"], n_res),
        "online_dossier_ratio": _ratio(rec["online"], n_rec),
        "postal_receipt_ratio": _ratio(rec["postal"], n_rec),
        "postal_return_ratio": _ratio(c["returned_by_post"], c["resolved_9_10"]),
    }


def procedure_ratios(store) -> dict:
    """{agency|"ALL": {ratio: value|None}} over stored catalogue rows."""
    st = build_store(store)
    tally = {a: [0, 0, 0, 0] for a in st.agencies}
    tally["ALL"] = [0, 0, 0, 0]
    for p in st.procedures.values():
        for t in (tally[p.agency], tally["ALL"]):
            t[0] += 1
            t[1] += p.mucdo in (3, 4)
            t[2] += p.mucdo == 4
            t[3] += p.postal == 1
    return {a: {"online_procedure_ratio": _ratio(t[1], t[0]),
                "full_online_procedure_ratio": _ratio(t[2], t[0]),
                "postal_procedure_ratio": _ratio(t[3], t[0])} for a, t in tally.items()}


def overdue_without_apology(store, today) -> dict:
    st = build_store(store)
    today = _to_date(today)
    out = {a: 0 for a in st.agencies}
    out["ALL"] = 0
    for d in st.dossiers.values():
        if d.status in NEVER or d.status in HOLD or d.due is None or d.apology:
            continue
        if d.receipt.date() > today:
            continue
        if d.status in CLOSED and d.finish.date() <= today:
            continue
        if d.due.date() < today:
            out[d.agency] += 1
            out["ALL"] += 1
    return out


def shipment_counts(store):
    """({(direction, status): n}, unmatched)."""
    st = build_store(store)
    res = {}
    unmatched = 0
    for s in st.shipments.values():
        k = (DIRECTIONS[s.direction], SHIP_STATUS.get(s.status, "in_transit"))
        res[k] = res.get(k, 0) + 1
        if s.order not in st.dossiers:
            unmatched += 1
    return res, unmatched


def quarantine_counts(store, source_names=None) -> dict:
    """{(source, reason): distinct records}."""
    st = build_store(store)
    names = dict(DEFAULT_SOURCES, **(source_names or {}))
    out = {}
    for kind, by_reason in st.quarantine.items():
        for reason, items in by_reason.items():
            k = (names[kind], reason)
            out[k] = out.get(k, 0) + len(items)
    return out


# ----------------------------------------------------------------------------------
# Report API
# ----------------------------------------------------------------------------------

def _row(c, agency, name=None, with_name=True):
    row = {"agency": agency}
    if with_name:
        row["name"] = name
    row["carried_over"] = c["carried_over"]
    row["received"] = dict(c["received"])
    row["resolved"] = dict(c["resolved"])
    row["pending"] = dict(c["pending"])
    row.update(ratios(c))
    return row


def report(dump, frm, to, today, agency=None) -> dict:
    """The JSON of GET /api/v1/report?from=&to=[&agency=] (metrics.md "Report API").
    Pending is counted at min(to, today)."""
    st = build_store(dump)
    frm, to, today = _to_date(frm), _to_date(to), _to_date(today)
    c = counts(st, frm, to, now=min(to, today))
    agencies = [a for a in st.agencies if agency is None or a == agency]
    return {"from": frm.isoformat(), "to": to.isoformat(),
            "rows": [_row(c[a], a, st.names.get(a)) for a in agencies],
            "total": _row(c["ALL"], "ALL", with_name=False)}


# ----------------------------------------------------------------------------------
# Expected /metrics
# ----------------------------------------------------------------------------------

def expected_values(dump, today, period_mode="calendar", targets=None, on_time_baseline=None):
    """Everything the daemon should compute, as a nested dict (see expected_metrics)."""
    st = build_store(dump)
    today = _to_date(today)
    tg = dict(DEFAULT_TARGETS, **(targets or {}))
    periods = standard_periods(today, period_mode)
    per = {}
    for label, f, t in periods:
        c = counts(st, f, t)
        per[label] = {"from": f, "to": t, "counts": c,
                      "ratios": {a: ratios(x) for a, x in c.items()}}
    prev_label, pf, pt = previous_year(today, period_mode)
    prev_ratio = ratios(counts(st, pf, pt)["ALL"])["on_time_ratio"]
    on_time_target = on_time_baseline if on_time_baseline is not None else prev_ratio
    if on_time_target is not None:
        tg["on_time"] = on_time_target
    else:
        tg.pop("on_time", None)
    proc = procedure_ratios(st)
    met = {}
    for label in per:
        for a in st.agencies + ["ALL"]:
            r = per[label]["ratios"][a]
            checks = [("online_dossier", r["online_dossier_ratio"], False),
                      ("online_procedure", proc[a]["online_procedure_ratio"], False),
                      ("postal_procedure", proc[a]["postal_procedure_ratio"], False),
                      ("on_time", r["on_time_ratio"], True)]
            for ind, value, strict in checks:
                if value is None or ind not in tg:
                    continue
                ok = value > tg[ind] if strict else value >= tg[ind]
                met[(ind, a, label)] = 1 if ok else 0
    ships, unmatched = shipment_counts(st)
    return {
        "store": st, "periods": per, "previous_year": (prev_label, pf, pt, prev_ratio),
        "targets": tg, "target_met": met, "procedure_ratios": proc,
        "overdue_without_apology": overdue_without_apology(st, today),
        "agency_info": dict(st.names), "postal_shipments": ships, "unmatched": unmatched,
        "stored_records": {"dossier": len(st.dossiers), "procedure": len(st.procedures),
                           "shipment": len(st.shipments)},
    }


def expected_metrics(dump, today, period_mode="calendar", targets=None, on_time_baseline=None,
                     source_names=None) -> dict:
    """{(family, frozenset(labels.items())): value} for the families in
    EXPECTED_FAMILIES.  targets: {"online_dossier"|"online_procedure"|
    "postal_procedure": value} overrides; on_time_baseline: the configured baseline."""
    v = expected_values(dump, today, period_mode, targets, on_time_baseline)
    st = v["store"]
    out = {}

    def put(family, value, **labels):
        k = (family, frozenset(labels.items()))
        if k in out:
            raise AssertionError("duplicate series %r" % (k,))
        out[k] = float(value)

    agencies = st.agencies + ["ALL"]
    for label, p in v["periods"].items():
        for a in agencies:
            c = p["counts"][a]
            put("onestop_dossiers_carried_over", c["carried_over"], agency=a, period=label)
            for ch, n in c["received"].items():
                put("onestop_dossiers_received", n, agency=a, period=label, channel=ch)
            for t, n in c["resolved"].items():
                put("onestop_dossiers_resolved", n, agency=a, period=label, timeliness=t)
            for t, n in c["pending"].items():
                put("onestop_dossiers_pending", n, agency=a, period=label, timeliness=t)
            for name, r in p["ratios"][a].items():
                if r is not None:
                    put("onestop_" + name, r, agency=a, period=label)
    for a in agencies:
        put("onestop_dossiers_overdue_without_apology", v["overdue_without_apology"][a], agency=a)
        for name, r in v["procedure_ratios"][a].items():
            if r is not None:
                put("onestop_" + name, r, agency=a)
    for ind, t in v["targets"].items():
        put("onestop_target_ratio", t, indicator=ind)
    for (ind, a, label), m in v["target_met"].items():
        put("onestop_target_met", m, indicator=ind, agency=a, period=label)
    for a, name in v["agency_info"].items():
        put("onestop_agency_info", 1, agency=a, name=name)
    for (direction, status), n in v["postal_shipments"].items():
        put("onestop_postal_shipments", n, direction=direction, status=status)
    put("onestop_postal_unmatched_shipments", v["unmatched"])
    for kind, n in v["stored_records"].items():
        put("onestop_stored_records", n, kind=kind)
    for (source, reason), n in quarantine_counts(st, source_names).items():
        put("onestop_quarantined_records", n, source=source, reason=reason)
    return out


# ----------------------------------------------------------------------------------
# Prometheus text format
# ----------------------------------------------------------------------------------

def _parse_value(s: str) -> float:
    low = s.lower()
    if low in ("nan",):
        return math.nan
    if low in ("+inf", "inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    return float(s)


def parse_exposition(text: str) -> dict:
    """Parse Prometheus text format 0.0.4 into {(name, frozenset(labels)): value}.
    Comments, HELP and TYPE lines are skipped; label values are unescaped (\\\\,
    \\", \\n); an optional timestamp is ignored.  Raises ValueError on malformed
    lines and on a repeated series."""
    out = {}
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        s = line.lstrip(" \t")
        if not s or s.startswith("#"):
            continue
        i, n = 0, len(s)
        while i < n and (s[i].isalnum() or s[i] in "_:") and s[i].isascii():
            i += 1
        name = s[:i]
        if not name or name[0].isdigit():
            raise ValueError("line %d: bad metric name: %r" % (lineno, line))
        labels = {}
        if i < n and s[i] == "{":
            i += 1
            while True:
                while i < n and s[i] in " \t":
                    i += 1
                if i < n and s[i] == "}":
                    i += 1
                    break
                j = i
                while i < n and (s[i].isalnum() or s[i] == "_") and s[i].isascii():
                    i += 1
                lname = s[j:i]
                if not lname or i >= n or s[i] != "=":
                    raise ValueError("line %d: bad label: %r" % (lineno, line))
                i += 1
                if i >= n or s[i] != '"':
                    raise ValueError("line %d: label value must be quoted: %r" % (lineno, line))
                i += 1
                buf = []
                while True:
                    if i >= n:
                        raise ValueError("line %d: unterminated label value" % lineno)
                    ch = s[i]
                    if ch == "\\":
                        if i + 1 >= n:
                            raise ValueError("line %d: dangling escape" % lineno)
                        nx = s[i + 1]
                        buf.append({"\\": "\\", '"': '"', "n": "\n"}.get(nx, "\\" + nx))
                        i += 2
                    elif ch == '"':
                        i += 1
                        break
                    else:
                        buf.append(ch)
                        i += 1
                if lname in labels:
                    raise ValueError("line %d: repeated label %s" % (lineno, lname))
                labels[lname] = "".join(buf)
                while i < n and s[i] in " \t":
                    i += 1
                if i < n and s[i] == ",":
                    i += 1
                    continue
                if i < n and s[i] == "}":
                    i += 1
                    break
                raise ValueError("line %d: expected , or }: %r" % (lineno, line))
        rest = s[i:].split()
        if not rest or len(rest) > 2:
            raise ValueError("line %d: expected value [timestamp]: %r" % (lineno, line))
        try:
            value = _parse_value(rest[0])
        except ValueError:
            raise ValueError("line %d: bad value %r" % (lineno, rest[0]))
        k = (name, frozenset(labels.items()))
        if k in out:
            raise ValueError("line %d: repeated series %s" % (lineno, _fmt_series(k)))
        out[k] = value
    return out


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _fmt_series(k) -> str:
    name, labels = k
    if not labels:
        return name
    return "%s{%s}" % (name, ",".join('%s="%s"' % (a, _esc(b)) for a, b in sorted(labels)))


def to_exposition(metrics: dict) -> str:
    """Render {(family, labels): value} as exposition text (no HELP/TYPE)."""
    return "".join("%s %s\n" % (_fmt_series(k), repr(v)) for k, v in
                   sorted(metrics.items(), key=lambda kv: (kv[0][0], sorted(kv[0][1]))))


def diff_metrics(expected: dict, actual: dict, families=None, rel_tol=1e-9, abs_tol=1e-9,
                 zero_optional=ZERO_OPTIONAL_FAMILIES) -> list:
    """Differences between expected and actual series of the given families
    (default EXPECTED_FAMILIES) as human-readable lines; [] when they agree.
    For families in zero_optional a missing series equals 0."""
    fams = set(families or EXPECTED_FAMILIES)
    problems = []
    for k, v in sorted(expected.items(), key=lambda kv: _fmt_series(kv[0])):
        if k[0] not in fams:
            continue
        a = actual.get(k)
        if a is None:
            if k[0] in zero_optional and v == 0:
                continue
            problems.append("missing  %s (expected %r)" % (_fmt_series(k), v))
        elif not math.isclose(a, v, rel_tol=rel_tol, abs_tol=abs_tol):
            problems.append("value    %s: got %r, expected %r" % (_fmt_series(k), a, v))
    for k, a in sorted(actual.items(), key=lambda kv: _fmt_series(kv[0])):
        if k[0] in fams and k not in expected:
            if k[0] in zero_optional and a == 0:
                continue
            problems.append("extra    %s = %r" % (_fmt_series(k), a))
    return problems


def load_dump(path) -> dict:
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


# ----------------------------------------------------------------------------------
# Self-test
# ----------------------------------------------------------------------------------

def _check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def _eq(got, want, what):
    if isinstance(want, float) and isinstance(got, float):
        ok = math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)
    else:
        ok = got == want
    _check(ok, "%s: got %r, want %r" % (what, got, want))


def _dossier(code, status, rcv=None, due=None, kt=None, tra=None, ch=None, ht=None,
             upd=None, agency="000.00.01.H12", name="Sở Tư pháp", **extra):
    d = {"MaHoSo": code, "MaTTHC": "1.000001.000.00.00.H12", "MaDonVi": agency}
    if name is not None:
        d["DonViXuLy"] = name
    if ch is not None:
        d["KenhThucHien"] = ch
    d["TrangThaiHoSo"] = status
    for k, v in (("NgayTiepNhan", rcv), ("NgayHenTra", due), ("NgayKetThucXuLy", kt),
                 ("NgayTra", tra)):
        if v is not None:
            d[k] = v
    if ht is not None:
        d["HinhThuc"] = ht
    d.update(extra)
    d["NgayCapNhat"] = upd or max(v for v in (rcv, kt, tra, "20200101000000") if v)
    return d


A1, A2, A3 = "000.00.01.H12", "000.00.02.H12", "000.00.03.H12"


def _tiny_dump():
    """Nine dossiers whose counts are worked out by hand in _selftest_tiny."""
    ds = [
        _dossier("D1", "4", "20211231233000", "20220110170000"),                    # KenhThucHien absent
        _dossier("D2", 10, "20220101000500", "20220105170000", "20220105100000", "20220105150000",
                 ch="1", ht=0),
        _dossier("D3", "9", "20221201080000", "20221210170000", "20221202090000", ch=2, ht="1"),
        _dossier("D4", 7, "20221130090000", "20221201170000", "20221203100000", ch="3"),
        _dossier("D5", "05", "20221210080000", "20221215170000", ch=""),
        _dossier("D6", 1, ch=2, upd="20221215080000"),
        _dossier("D7", "3", "20221205080000", ch="2", NgayTuChoi="20221205100000"),
        _dossier("D8", 10, "20221001080000", "20221219170000", "20221220090000", "20221220100000",
                 ch=None, ht="0", KenhThucHien=None),
        _dossier("D9", "2", "20221220080000", ch=1,
                 name=unicodedata.normalize("NFD", "Sở Tư pháp tỉnh"), upd="20221220110000"),
        _dossier("E1", "10", "20221102080000", "20221110170000", "20221109100000", "20221109100000",
                 agency=A2, name=None, upd="20221109100000"),
    ]
    procs = [
        {"MaTTHC": "T1", "MaDonVi": A1, "MucDo": 4, "BuuChinhCongIch": 1, "NgayCapNhat": "20220101000000"},
        {"MaTTHC": "T2", "MaDonVi": A1, "MucDo": "3", "BuuChinhCongIch": "0", "NgayCapNhat": "20220201000000"},
        {"MaTTHC": "T3", "MaDonVi": A1, "MucDo": "2", "BuuChinhCongIch": "", "NgayCapNhat": "20220101000000"},
        {"MaTTHC": "T4", "MaDonVi": A1, "MucDo": "04", "BuuChinhCongIch": "1", "CoPhiLePhi": None,
         "NgayCapNhat": "20220101000000"},
        # older duplicate of T2 sent after it: ignored
        {"MaTTHC": "T2", "MaDonVi": A1, "MucDo": "2", "NgayCapNhat": "20220115000000"},
        {"MaTTHC": "T1", "MaDonVi": A3, "MucDo": 2, "BuuChinhCongIch": 1, "NgayCapNhat": "20220101000000"},
        {"MaTTHC": "T9", "MaDonVi": A3, "MucDo": 5, "NgayCapNhat": "20220101000000"},   # bad_code
    ]
    ships = [
        {"ItemCode": "EA000000001VN", "OrderNumber": "D4", "Direction": 1, "StatusCode": 14,
         "NgayCapNhat": "20221130080000"},
        {"ItemCode": "EA000000002VN", "OrderNumber": "D3", "Direction": "2",
         "NgayCapNhat": "20221203080000"},
        {"ItemCode": "EA000000003VN", "OrderNumber": "NOPE", "Direction": 2, "StatusCode": "99",
         "NgayCapNhat": "20221204080000"},
        {"ItemCode": "EA000000004VN", "OrderNumber": "D9", "Direction": 1, "StatusCode": "22",
         "NgayCapNhat": "20221205080000"},
        {"ItemCode": "EA000000005VN", "OrderNumber": "Q-BAD", "Direction": 1, "StatusCode": 6,
         "NgayCapNhat": "20221206080000"},
        {"ItemCode": "EA000000006VN", "OrderNumber": "D1", "Direction": 5,
         "NgayCapNhat": "20221206080000"},                                             # bad_code
    ]
    ds.append(_dossier("Q-BAD", "9", "20221201080000"))                             # missing_finish
    return {"dossiers": ds, "procedures": procs, "shipments": ships}


def _selftest_tiny():
    dump = _tiny_dump()
    today = "2022-12-20"
    st = build_store(dump)
    _eq(st.agencies, [A1, A2, A3], "known agencies")
    _eq(st.names, {A1: "Sở Tư pháp tỉnh"}, "agency names (NFC, latest dossier)")

    def flat(c):
        return (c["carried_over"], c["received"], c["resolved"], c["pending"])

    year = counts(st, "2022-01-01", today)
    _eq(flat(year[A1]), (1, {"online": 1, "direct": 4, "postal": 1},
                         {"early": 1, "on_time": 2, "late": 1}, {"within": 2, "overdue": 1}),
        "year counts")
    r = ratios(year[A1])
    _eq(r["on_time_ratio"], 5 / 7, "year on_time")
    _eq(r["resolved_on_time_ratio"], 3 / 4, "year resolved_on_time")
    _eq(r["online_dossier_ratio"], 1 / 6, "year online")
    _eq(r["postal_receipt_ratio"], 1 / 6, "year postal receipt")
    _eq(r["postal_return_ratio"], 1 / 3, "year postal return")
    q4 = counts(st, "2022-10-01", today)
    _eq(flat(q4[A1]), (1, {"online": 1, "direct": 3, "postal": 1},
                       {"early": 1, "on_time": 1, "late": 1}, {"within": 2, "overdue": 1}),
        "Q4 counts")
    _eq(ratios(q4[A1])["postal_return_ratio"], 1 / 2, "Q4 postal return")
    month = counts(st, "2022-12-01", today)
    _eq(flat(month[A1]), (3, {"online": 1, "direct": 2, "postal": 0},
                          {"early": 1, "on_time": 1, "late": 1}, {"within": 2, "overdue": 1}),
        "month counts")
    _eq(ratios(month[A1])["postal_receipt_ratio"], 0.0, "month postal receipt")
    # A2: E1 received 2022-11-02, finished 2022-11-09 early
    _eq(flat(year[A2]), (0, {"online": 0, "direct": 1, "postal": 0},
                         {"early": 1, "on_time": 0, "late": 0}, {"within": 0, "overdue": 0}),
        "A2 year")
    _eq(ratios(month[A2]), dict.fromkeys(RATIO_NAMES), "A2 month ratios absent")
    _eq(flat(month[A3]), (0, {"online": 0, "direct": 0, "postal": 0},
                          {"early": 0, "on_time": 0, "late": 0}, {"within": 0, "overdue": 0}),
        "catalogue-only agency has zero counts")
    _eq(year["ALL"]["received"], {"online": 1, "direct": 5, "postal": 1}, "ALL received")

    # report API
    rep = report(dump, "2022-01-01", "2022-06-30", today)
    row = rep["rows"][0]
    _eq((row["agency"], row["name"], row["carried_over"], row["received"], row["resolved"],
         row["pending"]),
        (A1, "Sở Tư pháp tỉnh", 1, {"online": 0, "direct": 1, "postal": 0},
         {"early": 0, "on_time": 1, "late": 0}, {"within": 0, "overdue": 1}), "report H1")
    _eq(row["on_time_ratio"], 0.5, "report H1 on_time")
    _eq([r["agency"] for r in rep["rows"]], [A1, A2, A3], "report rows sorted")
    _eq(rep["rows"][2]["name"], None, "catalogue-only agency has no name")
    _eq(rep["rows"][2]["on_time_ratio"], None, "null ratio")
    _check("name" not in rep["total"] and rep["total"]["agency"] == "ALL", "report total")
    rep2 = report(dump, "2022-12-01", "2022-12-31", today, agency=A1)
    _eq(len(rep2["rows"]), 1, "agency filter")
    _eq(flat({k: rep2["rows"][0][k] for k in ("carried_over", "received", "resolved", "pending")}),
        flat(month[A1]), "to after today: pending at today")

    # targets, overdue without apology, /metrics
    _eq(previous_year(today), ("2021", dt.date(2021, 1, 1), dt.date(2021, 12, 31)), "previous year")
    m = expected_metrics(dump, today)
    g = lambda fam, **lb: m.get((fam, frozenset(lb.items())))
    _eq(g("onestop_target_ratio", indicator="on_time"), 1.0, "on-time target = 2021 ratio")
    _eq(g("onestop_target_met", indicator="on_time", agency="ALL", period="2022"), 0.0,
        "on_time not met (6/8 < 1)")
    _eq(g("onestop_target_met", indicator="online_procedure", agency=A1, period="2022-12"), 1.0,
        "0.75 >= 0.75")
    _eq(g("onestop_target_met", indicator="postal_procedure", agency="ALL", period="2022-Q4"), 1.0,
        "3/5 >= 0.60")
    _eq(g("onestop_target_met", indicator="postal_procedure", agency=A1, period="2022"), 0.0,
        "2/4 < 0.60")
    _eq(g("onestop_online_procedure_ratio", agency=A3), 0.0, "A3 online procedures")
    _eq(g("onestop_online_procedure_ratio", agency="ALL"), 3 / 5, "ALL online procedures")
    _eq(g("onestop_full_online_procedure_ratio", agency=A1), 2 / 4, "A1 full online")
    _eq(g("onestop_postal_procedure_ratio", agency=A3), 1.0, "A3 postal procedures")
    _eq(g("onestop_online_procedure_ratio", agency=A2), None, "no catalogue: no ratio")
    _eq(g("onestop_dossiers_overdue_without_apology", agency=A1), 1.0, "D1 overdue, no slip")
    _eq(g("onestop_dossiers_overdue_without_apology", agency=A3), 0.0, "zero series exists")
    _eq(g("onestop_agency_info", agency=A1, name="Sở Tư pháp tỉnh"), 1.0, "agency_info")
    _eq(len([k for k in m if k[0] == "onestop_agency_info"]), 1, "one agency_info series")
    _eq(g("onestop_postal_shipments", direction="to_agency", status="delivered"), 1.0, "delivered")
    _eq(g("onestop_postal_shipments", direction="to_applicant", status="in_transit"), 2.0,
        "absent and unknown status -> in transit")
    _eq(g("onestop_postal_shipments", direction="to_agency", status="cancelled"), 1.0, "cancelled")
    _eq(g("onestop_postal_shipments", direction="to_agency", status="collected"), 1.0, "collected")
    _eq(g("onestop_postal_unmatched_shipments"), 2.0, "unmatched (unknown + quarantined order)")
    _eq(g("onestop_stored_records", kind="dossier"), 10.0, "stored dossiers")
    _eq(g("onestop_stored_records", kind="procedure"), 5.0, "stored procedures")
    _eq(g("onestop_stored_records", kind="shipment"), 5.0, "stored shipments")
    _eq(g("onestop_quarantined_records", source="igate", reason="missing_finish"), 1.0, "q dossier")
    _eq(g("onestop_quarantined_records", source="igate", reason="bad_code"), 1.0, "q procedure")
    _eq(g("onestop_quarantined_records", source="vnpost", reason="bad_code"), 1.0, "q shipment")
    _eq(g("onestop_on_time_ratio", agency=A1, period="2022-12"), 4 / 6, "month on_time")
    _eq(g("onestop_resolved_on_time_ratio", agency=A2, period="2022-12"), None, "absent ratio")
    _eq(g("onestop_dossiers_carried_over", agency=A2, period="2022-12"), 0.0, "zero count exists")

    # an apology slip removes D1 from overdue_without_apology; [] does not
    d2 = json.loads(json.dumps(dump))
    d2["dossiers"][0]["PhieuXinLoi"] = []
    _eq(overdue_without_apology(d2, today)[A1], 1, "empty slip list")
    d2["dossiers"][0]["PhieuXinLoi"] = [{"NgayXinLoi": "20220109090000", "NgayHenTraMoi": None}]
    _eq(overdue_without_apology(d2, today)[A1], 0, "apology")
    _eq(counts(d2, "2022-12-01", today)[A1]["pending"]["overdue"], 1, "apology keeps it overdue")
    # on_time_baseline overrides; with target 0.5, 5/7 > 0.5 is met
    m2 = expected_metrics(dump, today, on_time_baseline=0.5)
    _eq(m2[("onestop_target_met", frozenset(dict(indicator="on_time", agency=A1,
                                                  period="2022").items()))], 1.0, "baseline")

    # report-mode periods
    _eq(standard_periods("2022-12-20", "report"),
        [("report:2023", dt.date(2022, 12, 15), dt.date(2022, 12, 20)),
         ("report:2023-Q1", dt.date(2022, 12, 15), dt.date(2022, 12, 20)),
         ("report:2023-01", dt.date(2022, 12, 15), dt.date(2022, 12, 20))], "report 12-20")
    _eq(standard_periods("2022-12-14", "report"),
        [("report:2022", dt.date(2021, 12, 15), dt.date(2022, 12, 14)),
         ("report:2022-Q4", dt.date(2022, 9, 15), dt.date(2022, 12, 14)),
         ("report:2022-12", dt.date(2022, 11, 15), dt.date(2022, 12, 14))], "report 12-14")
    _eq(standard_periods("2022-03-15", "report")[1:],
        [("report:2022-Q2", dt.date(2022, 3, 15), dt.date(2022, 3, 15)),
         ("report:2022-04", dt.date(2022, 3, 15), dt.date(2022, 3, 15))], "report 03-15")
    _eq(standard_periods("2022-01-10", "report"),
        [("report:2022", dt.date(2021, 12, 15), dt.date(2022, 1, 10)),
         ("report:2022-Q1", dt.date(2021, 12, 15), dt.date(2022, 1, 10)),
         ("report:2022-01", dt.date(2021, 12, 15), dt.date(2022, 1, 10))], "report 01-10")
    _eq(previous_year("2022-12-20", "report"),
        ("report:2022", dt.date(2021, 12, 15), dt.date(2022, 12, 14)), "previous report year")
    _eq(standard_periods("2022-05-31"),
        [("2022", dt.date(2022, 1, 1), dt.date(2022, 5, 31)),
         ("2022-Q2", dt.date(2022, 4, 1), dt.date(2022, 5, 31)),
         ("2022-05", dt.date(2022, 5, 1), dt.date(2022, 5, 31))], "calendar periods")
    # report mode on the tiny dump: report:2023 = [2022-12-15, 2022-12-20]
    rc = counts(st, "2022-12-15", today)[A1]
    _eq(flat(rc), (3, {"online": 0, "direct": 1, "postal": 0},
                   {"early": 0, "on_time": 0, "late": 1}, {"within": 2, "overdue": 1}),
        "report-mode month")


def _selftest_quarantine():
    B = {"MaHoSo": "Q-1", "MaTTHC": "T", "MaDonVi": A1, "TrangThaiHoSo": "4",
         "NgayTiepNhan": "20221201080000", "NgayCapNhat": "20221201080000"}

    def w(**kv):
        d = dict(B)
        for k, v in kv.items():
            if v is _DEL:
                d.pop(k, None)
            else:
                d[k] = v
        return d

    cases = [
        ("x", "bad_json"), (5, "bad_json"), ([], "bad_json"), (None, "bad_json"),
        ([B], "bad_json"), (B, None),
        (w(MaHoSo=_DEL), "missing_key"), (w(MaDonVi=""), "missing_key"),
        (w(MaTTHC=None), "missing_key"), (w(TrangThaiHoSo=_DEL), "missing_key"),
        (w(NgayCapNhat=_DEL), "missing_key"), (w(NgayCapNhat=""), "missing_key"),
        (w(TrangThaiHoSo="2a"), "bad_code"), (w(TrangThaiHoSo=" 2"), "bad_code"),
        (w(TrangThaiHoSo="11"), "bad_code"), (w(TrangThaiHoSo="02"), None),
        (w(TrangThaiHoSo=0), "bad_code"), (w(TrangThaiHoSo=True), "bad_code"),
        (w(TrangThaiHoSo=4.0), "bad_code"), (w(TrangThaiHoSo=-4), "bad_code"),
        (w(TrangThaiHoSo="٤"), "bad_code"),                       # non-ASCII digit
        (w(KenhThucHien=""), None), (w(KenhThucHien=None), None), (w(KenhThucHien="03"), None),
        (w(KenhThucHien=4), "bad_code"), (w(KenhThucHien=0), "bad_code"),
        (w(HinhThuc="2"), "bad_code"), (w(HinhThuc=""), None), (w(MucDo=1), "bad_code"),
        (w(MucDo=""), None), (w(MucDo="4 "), "bad_code"),
        (w(NgayTiepNhan="20220230120000"), "bad_date"), (w(NgayTiepNhan="20221301080000"), "bad_date"),
        (w(NgayTiepNhan="20220103250000"), "bad_date"), (w(NgayTiepNhan="2022010308300"), "bad_date"),
        (w(NgayTiepNhan="20221215235960"), "bad_date"), (w(NgayTiepNhan=20221201080000), None),
        (w(NgayTiepNhan=2022120108000), "bad_date"), (w(MaHoSo=17), None), (w(MaHoSo=True), "missing_key"),
        (w(NgayHenTra="20220229000000"), "bad_date"), (w(NgayHenTra="20240229000000"), None),
        (w(NgayTuChoi="2022-12-01"), "bad_date"), (w(NgayHenTra=None), None),
        (w(DanhSachHoSoBoSung=[{"NgayBoSung": "20220231080000"}]), "bad_date"),
        (w(DanhSachHoSoBoSung=[{"NgayBoSung": "20220201080000", "NgayHenTraMoi": ""}]), None),
        (w(PhieuXinLoi=[{"NgayXinLoi": "x"}]), "bad_date"),
        (w(PhieuXinLoi=[{"NgayHenTraMoi": "20221232000000"}]), "bad_date"),
        (w(NgayCapNhat="20220230000000"), "bad_date"),
        (w(TrangThaiHoSo="2a", NgayHenTra="bad"), "bad_code"),
        (w(NgayTiepNhan=_DEL), "missing_receipt"), (w(NgayTiepNhan=""), "missing_receipt"),
        (w(NgayTiepNhan=_DEL, TrangThaiHoSo=1), None), (w(NgayTiepNhan=_DEL, TrangThaiHoSo=3), None),
        (w(NgayTiepNhan=_DEL, NgayHenTra="x"), "bad_date"),
        (w(TrangThaiHoSo=9), "missing_finish"), (w(TrangThaiHoSo=7, NgayTra=""), "missing_finish"),
        (w(TrangThaiHoSo=9, NgayTiepNhan=""), "missing_receipt"),
        (w(TrangThaiHoSo=9, NgayKetThucXuLy="20221201070000"), "finish_before_receipt"),
        (w(TrangThaiHoSo=9, NgayKetThucXuLy="20221201080000"), None),
        (w(TrangThaiHoSo=10, NgayTra="20221130235959"), "finish_before_receipt"),
        (w(TrangThaiHoSo=10, NgayKetThucXuLy="20221202080000", NgayTra="20221130000000"), None),
        (w(TrangThaiHoSo=4, NgayKetThucXuLy="20221130000000"), None),
    ]
    for i, (item, want) in enumerate(cases):
        got, _ = classify("dossier", item)
        _eq(got, want, "dossier case %d %r" % (i, item))
    P = {"MaTTHC": "T", "MaDonVi": A1, "MucDo": "3", "NgayCapNhat": "20221201080000"}
    pcases = [(P, None), ("p", "bad_json"), (dict(P, MucDo=None), "missing_key"),
              ({k: v for k, v in P.items() if k != "MaDonVi"}, "missing_key"),
              (dict(P, MucDo=5), "bad_code"), (dict(P, BuuChinhCongIch=2), "bad_code"),
              (dict(P, CoPhiLePhi=""), None), (dict(P, CoPhiLePhi="có"), "bad_code"),
              (dict(P, NgayCapNhat="2022"), "bad_date")]
    for i, (item, want) in enumerate(pcases):
        _eq(classify("procedure", item)[0], want, "procedure case %d" % i)
    S = {"ItemCode": "EB1VN", "OrderNumber": "Q-1", "Direction": "1", "NgayCapNhat": "20221201080000"}
    scases = [(S, None), (dict(S, StatusCode="x"), "bad_code"), (dict(S, StatusCode=999), None),
              (dict(S, StatusCode=None), None), (dict(S, Direction=3), "bad_code"),
              (dict(S, Direction=None), "missing_key"), ([S], "bad_json"),
              ({k: v for k, v in S.items() if k != "OrderNumber"}, "missing_key"),
              (dict(S, AcceptedDate="20221301000000"), "bad_date"),
              (dict(S, Direction=3, AcceptedDate="x"), "bad_code")]
    for i, (item, want) in enumerate(scases):
        _eq(classify("shipment", item)[0], want, "shipment case %d" % i)

    # dedup: greatest NgayCapNhat wins whatever the order; a tie goes to the last sent
    x_new = _dossier("X", "4", "20221101080000", upd="20221201000000")
    x_old = _dossier("X", "9", "20221101080000", kt="20221102080000", upd="20221130000000")
    y1 = _dossier("Y", "4", "20221101080000", upd="20221201000000")
    y2 = _dossier("Y", "2", "20221101080000", upd="20221201000000")
    z_bad = _dossier("Z", "9", "20221101080000", upd="20221202000000")      # missing_finish
    z_ok = _dossier("Z", "4", "20221101080000", upd="20221201000000")
    st = build_store({"dossiers": [x_new, x_old, y1, y2, z_ok, z_bad, z_bad]})
    _eq(st.dossiers["X"].status, 4, "dedup: greatest NgayCapNhat")
    _eq(st.dossiers["Y"].status, 2, "dedup: tie -> last sent")
    _eq(latest_dossiers({"dossiers": [x_new, x_old]}), {"X": x_new}, "latest_dossiers")
    _eq(st.dossiers["Z"].status, 4, "a bad newer version does not replace a good one")
    _eq(quarantine_counts(st), {("igate", "missing_finish"): 1}, "a record fetched twice counts once")
    z_fixed = _dossier("Z", "4", "20221101080000", upd="20221202000000")
    st2 = build_store({"dossiers": [z_bad, z_fixed]})
    _eq(quarantine_counts(st2), {}, "a good version as new releases the key from quarantine")
    st3 = build_store({"dossiers": [z_ok, z_bad]})
    _eq(quarantine_counts(st3), {("igate", "missing_finish"): 1}, "an older good version does not")
    nokey = dict(z_bad)
    del nokey["MaHoSo"]
    st4 = build_store({"dossiers": [nokey, nokey, dict(nokey, MaTTHC="other")]})
    _eq(quarantine_counts(st4), {("igate", "missing_key"): 2}, "keyless records by their JSON")
    _eq(quarantine_counts(st, {"dossier": "igate_dossiers"}),
        {("igate_dossiers", "missing_finish"): 1}, "source names")

    # exposition parsing
    text = ('# HELP x y\n# TYPE onestop_agency_info gauge\n'
            'onestop_agency_info{agency="A",name="S\\"ở\\\\ T\\nư"} 1\n'
            'onestop_postal_unmatched_shipments 3\n'
            'onestop_on_time_ratio{agency="ALL",period="2022",} 0.5 1700000000000\n'
            'onestop_x{a="1"} NaN\nonestop_y +Inf\n')
    p = parse_exposition(text)
    _eq(p[("onestop_agency_info", frozenset({"agency": "A", "name": 'S"ở\\ T\nư'}.items()))], 1.0,
        "escaped label")
    _eq(p[("onestop_postal_unmatched_shipments", frozenset())], 3.0, "no labels")
    _eq(p[("onestop_on_time_ratio", frozenset({"agency": "ALL", "period": "2022"}.items()))], 0.5,
        "trailing comma + timestamp")
    _check(math.isnan(p[("onestop_x", frozenset({"a": "1"}.items()))]), "NaN")
    _eq(p[("onestop_y", frozenset())], math.inf, "+Inf")
    for bad in ('x{a=1} 2\n', 'x{a="1"\n', 'x 1\nx 2\n', '{a="b"} 1\n', 'x{a="1"} one\n'):
        try:
            parse_exposition(bad)
        except ValueError:
            continue
        raise AssertionError("parse_exposition accepted %r" % bad)
    m = expected_metrics(_tiny_dump(), "2022-12-20")
    _eq(parse_exposition(to_exposition(m)), m, "exposition round trip")
    _eq(diff_metrics(m, parse_exposition(to_exposition(m))), [], "diff of equal pages")
    bad = dict(m)
    k = next(k for k in bad if k[0] == "onestop_dossiers_received")
    bad[k] += 1
    _eq(len(diff_metrics(m, bad)), 1, "diff finds a changed value")


_DEL = object()


def _load_feedsim():
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, os.pardir, os.pardir, "tools", "feedsim.py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("feedsim", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["feedsim"] = mod
    spec.loader.exec_module(mod)
    return mod


def check_invariants(dump, today, modes=("calendar", "report")) -> int:
    """Assert carried_over + received = resolved + pending for every agency and
    standard period (and the previous year); returns the number of checks."""
    st = build_store(dump)
    n = 0
    for mode in modes:
        for label, f, t in standard_periods(today, mode) + [previous_year(today, mode)]:
            for a, c in counts(st, f, t).items():
                lhs = c["carried_over"] + sum(c["received"].values())
                rhs = sum(c["resolved"].values()) + sum(c["pending"].values())
                _check(lhs == rhs, "invariant broken: %s %s %s: %d != %d" % (mode, label, a, lhs, rhs))
                n += 1
    return n


def _selftest_generated(verbose=True):
    fs = _load_feedsim()
    if fs is None:
        print("reference selftest: tools/feedsim.py not found, generated-dump checks skipped")
        return
    cfg = fs.parse_args(["--dossiers", "4000", "--seed", "7", "--as-of", "2022-12-20"])
    data = fs.build(cfg)
    dump = json.loads(data.dump_bytes())
    today = "2022-12-20"
    st = build_store(dump)
    # the simulator's intended quarantine reasons agree with this classifier
    want = dump["meta"]["intended_quarantine"]
    for kind in KINDS:
        got = {r: len(s) for r, s in st.quarantine[kind].items()}
        _eq(got, want[kind], "quarantine reasons of %s" % kind)
        _check(set(got) >= ({"bad_json", "missing_key", "bad_code", "bad_date"}),
               "every reason covered for %s" % kind)
    _check(set(st.quarantine["dossier"]) == set(REASONS), "every dossier reason covered")
    n = check_invariants(st, today)
    # sums over agencies equal ALL
    for label, f, t in standard_periods(today):
        c = counts(st, f, t)
        for key in ("received", "resolved", "pending"):
            for sub in c["ALL"][key]:
                _eq(sum(c[a][key][sub] for a in st.agencies), c["ALL"][key][sub],
                    "sum of agencies %s %s %s" % (label, key, sub))
        _check(all(x > 0 for x in (c["ALL"]["carried_over"], sum(c["ALL"]["received"].values()),
                                   sum(c["ALL"]["resolved"].values()),
                                   sum(c["ALL"]["pending"].values()))),
               "non-trivial counts in %s" % label)
    # random report ranges: invariant holds when to <= today
    rng = random.Random(3)
    for _ in range(20):
        a = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(700))
        b = min(a + dt.timedelta(days=rng.randrange(400)), dt.date(2022, 12, 20))
        rep = report(st, a, b, today)
        for row in rep["rows"] + [rep["total"]]:
            _eq(row["carried_over"] + sum(row["received"].values()),
                sum(row["resolved"].values()) + sum(row["pending"].values()),
                "report invariant %s..%s %s" % (a, b, row["agency"]))
    m = expected_metrics(st, today)
    _eq(parse_exposition(to_exposition(m)), m, "generated round trip")
    mr = expected_metrics(st, today, "report")
    _check(any(k[0] == "onestop_agency_info" for k in m), "agency_info present")
    _check(any(dict(k[1]).get("period") == "report:2023" for k in mr), "report labels")
    # after mutations, late and recover the invariant still holds
    rng2 = random.Random(5)
    data.mutate(200, rng2)
    ag = sorted(data.dossier_agencies)[0]
    data.make_late(ag, 5, "pending", rng2)
    data.make_late(ag, 3, "resolved", rng2)
    before = counts(json.loads(data.dump_bytes()), today, today)[ag]["pending"]["overdue"]
    data.recover(ag, rng2)
    dump2 = json.loads(data.dump_bytes())
    n += check_invariants(dump2, today)
    after = counts(dump2, today, today)[ag]["pending"]["overdue"]
    _check(after == before - 5, "recover resolves the late dossiers (%d -> %d)" % (before, after))
    if verbose:
        c = counts(st, "2022-01-01", today)["ALL"]
        print("reference selftest: generated dump: %d dossiers stored, %d invariant checks; "
              "2022 ALL carried=%d received=%s resolved=%s pending=%s"
              % (len(st.dossiers), n, c["carried_over"], c["received"], c["resolved"], c["pending"]))


def selftest():
    _selftest_quarantine()
    _selftest_tiny()
    _selftest_generated()
    print("reference selftest: OK")


# ----------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Reference values of docs/metrics.md for a feed dump.")
    ap.add_argument("dump", nargs="?", help="dump JSON (GET /_sim/dump or feedsim --dump-only)")
    ap.add_argument("--selftest", action="store_true", help="run the self-checks and exit")
    ap.add_argument("--today", default=None, help="YYYY-MM-DD (default: the dump's meta.as_of)")
    ap.add_argument("--mode", default="calendar", choices=("calendar", "report"))
    ap.add_argument("--report", nargs=2, metavar=("FROM", "TO"), help="print the report API JSON")
    ap.add_argument("--agency", help="with --report: one agency")
    ap.add_argument("--on-time-baseline", type=float)
    ap.add_argument("--json", action="store_true", help="print metrics as JSON instead of text")
    a = ap.parse_args(argv)
    if a.selftest:
        selftest()
        return 0
    if not a.dump:
        ap.error("a dump file is required (or --selftest)")
    dump = load_dump(a.dump)
    today = a.today or (dump.get("meta") or {}).get("as_of")
    if not today:
        ap.error("--today is required (the dump has no meta.as_of)")
    if a.report:
        print(json.dumps(report(dump, a.report[0], a.report[1], today, a.agency),
                         ensure_ascii=False, indent=1))
        return 0
    m = expected_metrics(dump, today, a.mode, on_time_baseline=a.on_time_baseline)
    if a.json:
        print(json.dumps([{"name": k[0], "labels": dict(k[1]), "value": v}
                          for k, v in sorted(m.items(), key=lambda kv: _fmt_series(kv[0]))],
                         ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(to_exposition(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
