# SPDX-License-Identifier: Apache-2.0
"""The HTTP side: the contract endpoints of docs/feeds.md sections 1-3 and the
test-only /_sim/ endpoints over one Dataset, with fault injection.  Records are kept
pre-serialised, so a page is the same bytes every time it is served."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import random
import sys
import threading
import time
import urllib.parse

from .data import Dataset, dumps, fmt

MAX_SIZE = 1000          # feeds.md: size / pageSize are at most 1000 (server caps)
VNPOST_HEAD = '{"Status":"100","Message":"Thành công","Data":{"Items":['.encode("utf-8")
IGATE_FAULTS = ["500", "429", "html", "truncated", "401"]
VNPOST_FAULTS = ["500", "429", "html", "truncated", "status"]
HTML_PAGE = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Lỗi hệ thống</title>"
             "</head><body><h1>502 Bad Gateway</h1><p>Hệ thống đang bảo trì, vui lòng thử "
             "lại sau.</p></body></html>").encode("utf-8")


class SimState:
    def __init__(self, cfg, data: Dataset):
        self.cfg = cfg
        self.data = data
        self.lock = threading.Lock()
        self.tokens = {}                      # token -> expiry (epoch seconds)
        self.secret = hashlib.sha256(b"feedsim-%d" % cfg.seed).digest()
        self.fault_rate = cfg.fault_rate
        self.fault_kinds = None               # None: every kind that fits the feed
        self.fault_rng = random.Random(cfg.seed + 1)
        self.mut_rng = random.Random(cfg.seed + 2)
        self.mdp_remaining = 0
        self.token_counter = 0
        self.stats = {"requests": {}, "faults": {}, "unauthorized": 0, "tokens_issued": 0,
                      "mutations": 0, "bad_requests": 0}

    def count(self, section, name, n=1):
        with self.lock:
            if isinstance(self.stats[section], dict):
                self.stats[section][name] = self.stats[section].get(name, 0) + n
            else:
                self.stats[section] += n

    def issue_token(self, client_id):
        with self.lock:
            self.token_counter += 1
            exp = int(time.time()) + self.cfg.token_ttl
            b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
            head = b64(b'{"alg":"HS256","typ":"JWT"}')
            body = b64(dumps({"sub": client_id, "exp": exp, "jti": self.token_counter,
                              "iss": "feedsim-lgsp"}))
            sig = b64(hmac.new(self.secret, head + b"." + body, hashlib.sha256).digest())
            tok = (head + b"." + body + b"." + sig).decode("ascii")
            self.tokens[tok] = exp
            self.stats["tokens_issued"] += 1
            # forget long-expired tokens
            if len(self.tokens) > 10000:
                cut = time.time() - 3600
                self.tokens = {k: v for k, v in self.tokens.items() if v > cut}
            return tok

    def token_ok(self, tok):
        with self.lock:
            exp = self.tokens.get(tok)
            return exp is not None and time.time() < exp

    def revoke(self, tok=None):
        with self.lock:
            if tok is None:
                self.tokens.clear()
            else:
                self.tokens.pop(tok, None)

    def pick_fault(self, kinds):
        with self.lock:
            if self.fault_rate <= 0 or self.fault_rng.random() >= self.fault_rate:
                return None
            allowed = [k for k in kinds if self.fault_kinds is None or k in self.fault_kinds]
            if not allowed:
                return None
            k = self.fault_rng.choice(allowed)
            self.stats["faults"][k] = self.stats["faults"].get(k, 0) + 1
            return k


class BadRequest(Exception):
    pass


def page_envelope(texts, page, size, total):
    """The Spring-style page envelope of iGate's lists around pre-serialised items."""
    pages = -(-total // size)
    return b"".join([b'{"content":[', b",".join(texts), b"],",
                     dumps({"number": page, "size": size, "totalElements": total,
                            "totalPages": pages, "last": page >= pages - 1,
                            "numberOfElements": len(texts)})[1:]])


def q_int(q, name, default, lo=None):
    v = q.get(name, [None])[-1]
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise BadRequest("%s must be an integer" % name)
    if lo is not None and n < lo:
        raise BadRequest("%s must be >= %d" % (name, lo))
    return n


def q_ts(q, name):
    v = q.get(name, [None])[-1]
    if v is None or v == "":
        return None
    if len(v) != 14 or not v.isascii() or not v.isdigit():
        raise BadRequest("%s must be yyyyMMddHHmmss" % name)
    return v


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "feedsim/1.0"
    state: SimState = None          # set on the class by cli.main()

    # -- plumbing -------------------------------------------------------------

    def log_message(self, fmt_, *args):
        if self.state.cfg.verbose:
            sys.stderr.write("feedsim: %s - %s\n" % (self.address_string(), fmt_ % args))

    def send(self, status, body: bytes, ctype="application/json; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=()):
        self.send(status, dumps(obj), headers=headers)

    def read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        return u.path.rstrip("/") or "/", urllib.parse.parse_qs(u.query, keep_blank_values=True)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    ROUTES = {
        "/token": ("POST", "token"),
        "/pa/dossier/search": ("GET", "dossiers"),
        "/pa/procedure/search": ("GET", "procedures"),
        "/bcci/shipments": ("GET", "shipments"),
        "/_sim/dump": ("GET", "sim_dump"),
        "/_sim/stats": ("GET", "sim_stats"),
        "/_sim/mutate": ("POST", "sim_mutate"),
        "/_sim/late": ("POST", "sim_late"),
        "/_sim/recover": ("POST", "sim_recover"),
        "/_sim/faults": ("POST", "sim_faults"),
        "/_sim/mutate-during-paging": ("POST", "sim_mdp"),
        "/_sim/revoke": ("POST", "sim_revoke"),
    }

    def dispatch(self, method):
        try:
            path, q = self.route()
            if method == "POST":
                body = self.read_body()
            else:
                body = b""
            r = self.ROUTES.get(path)
            if r is None:
                self.state.count("requests", "not_found")
                return self.send_json(404, {"error": "not_found", "path": path})
            if r[0] != method:
                return self.send_json(405, {"error": "method_not_allowed"},
                                      headers=[("Allow", r[0])])
            name = r[1]
            self.state.count("requests", name)
            getattr(self, "h_" + name)(q, body)
        except BadRequest as e:
            self.state.count("bad_requests", None)
            self.send_json(400, {"error": "bad_request", "message": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # keep serving; report the bug to the client
            import traceback
            traceback.print_exc()
            try:
                self.send_json(500, {"error": "internal", "message": repr(e)})
            except Exception:
                pass

    def delay(self):
        if self.state.cfg.delay > 0:
            time.sleep(self.state.cfg.delay)

    def fault(self, kinds, ok_body: bytes) -> bool:
        """Maybe answer with an injected failure instead; True when it did."""
        k = self.state.pick_fault(kinds)
        if k is None:
            return False
        if k == "500":
            self.send_json(500, {"error": "internal_server_error"})
        elif k == "429":
            self.send_json(429, {"error": "too_many_requests"}, headers=[("Retry-After", "1")])
        elif k == "html":
            self.send(200, HTML_PAGE, ctype="text/html; charset=utf-8")
        elif k == "truncated":
            self.send(200, ok_body[: max(1, len(ok_body) // 2)])
        elif k == "401":
            tok = self.bearer()
            if tok:
                self.state.revoke(tok)
            self.send_json(401, {"error": "invalid_token"},
                           headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')])
        elif k == "status":
            self.send_json(200, {"Status": "500", "Message": "Lỗi hệ thống, vui lòng thử lại",
                                 "Data": None})
        return True

    def bearer(self):
        h = self.headers.get("Authorization") or ""
        if h[:7].lower() == "bearer ":
            return h[7:].strip()
        return None

    def igate_auth(self) -> bool:
        tok = self.bearer()
        if tok and self.state.token_ok(tok):
            return True
        self.state.count("unauthorized", None)
        self.send_json(401, {"error": "invalid_token", "error_description": "token missing, expired or revoked"},
                       headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')])
        return False

    # -- contract endpoints -----------------------------------------------------

    def h_token(self, q, body):
        cfg = self.state.cfg
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype and ctype != "application/x-www-form-urlencoded":
            raise BadRequest("expected application/x-www-form-urlencoded")
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        get = lambda k: (form.get(k) or [None])[-1]
        cid, secret = get("client_id"), get("client_secret")
        auth = self.headers.get("Authorization") or ""
        if auth[:6].lower() == "basic ":
            try:
                raw = base64.b64decode(auth[6:].strip()).decode("utf-8")
                u, _, p = raw.partition(":")
                cid, secret = urllib.parse.unquote(u), urllib.parse.unquote(p)
            except Exception:
                pass
        if get("grant_type") != "client_credentials":
            return self.send_json(400, {"error": "unsupported_grant_type"})
        if cid != cfg.client_id or secret != cfg.client_secret:
            self.state.count("unauthorized", None)
            return self.send_json(401, {"error": "invalid_client"})
        tok = self.state.issue_token(cid)
        self.send_json(200, {"access_token": tok, "token_type": "Bearer",
                             "expires_in": cfg.token_ttl, "scope": "default"})

    def h_dossiers(self, q, body):
        if not self.igate_auth():
            return
        frm = q_ts(q, "updated-from")
        after = (q.get("after-code") or [None])[-1] or None
        page = q_int(q, "page", 0, lo=0)
        size = min(q_int(q, "size", 20, lo=1), MAX_SIZE)
        self.delay()
        st, data = self.state, self.state.data
        with st.lock:
            start = data.dossiers.start(frm, after)
            if st.mdp_remaining > 0:
                st.mdp_remaining -= 1
                data.mutate_while_paging(start, st.mut_rng)
                st.stats["mutations"] += 1
                start = data.dossiers.start(frm, after)
            total = len(data.dossiers) - start
            off = start + page * size
            texts = data.dossiers.texts[off: off + size]
        body = page_envelope(texts, page, size, total)
        if self.fault(IGATE_FAULTS, body):
            return
        self.send(200, body)

    def h_procedures(self, q, body):
        if not self.igate_auth():
            return
        page = q_int(q, "page", 0, lo=0)
        size = min(q_int(q, "size", 20, lo=1), MAX_SIZE)
        self.delay()
        rows = self.state.data.procedures
        total = len(rows)
        texts = rows[page * size: page * size + size]
        body = page_envelope(texts, page, size, total)
        if self.fault(IGATE_FAULTS, body):
            return
        self.send(200, body)

    def h_shipments(self, q, body):
        key = self.headers.get("access_token")
        if key != self.state.cfg.api_key:
            self.state.count("unauthorized", None)
            return self.send_json(401, {"Status": "401", "Message": "Sai access_token", "Data": None})
        frm = q_ts(q, "from")
        after = (q.get("after") or [None])[-1] or None
        page = q_int(q, "page", 1, lo=1)
        size = min(q_int(q, "pageSize", 20, lo=1), MAX_SIZE)
        self.delay()
        data = self.state.data
        with self.state.lock:
            start = data.shipments.start(frm, after)
            total = len(data.shipments) - start
            off = start + (page - 1) * size
            texts = data.shipments.texts[off: off + size]
        pages = -(-total // size)
        body = b"".join([VNPOST_HEAD,
                         b",".join(texts), b"],",
                         dumps({"Page": page, "TotalPages": pages, "TotalItems": total})[1:],
                         b"}"])
        if self.fault(VNPOST_FAULTS, body):
            return
        self.send(200, body)

    # -- admin endpoints ----------------------------------------------------------

    def h_sim_dump(self, q, body):
        with self.state.lock:
            out = self.state.data.dump_bytes()
        self.send(200, out)

    def h_sim_stats(self, q, body):
        st = self.state
        with st.lock:
            d = json.loads(json.dumps(st.stats))
            d.update({"fault_rate": st.fault_rate, "fault_kinds": st.fault_kinds,
                      "mutate_during_paging_remaining": st.mdp_remaining,
                      "records": {"dossiers": len(st.data.dossiers),
                                  "procedures": len(st.data.procedures),
                                  "shipments": len(st.data.shipments)},
                      "clock": fmt(st.data.clock), "as_of": st.data.as_of.isoformat(),
                      "generation_seconds": round(st.data.gen_seconds, 3)})
        self.send_json(200, d)

    def h_sim_mutate(self, q, body):
        n = q_int(q, "n", 1, lo=0)
        seed = q_int(q, "seed", None)
        st = self.state
        with st.lock:
            rng = random.Random(seed) if seed is not None else st.mut_rng
            changed = st.data.mutate(n, rng)
            st.stats["mutations"] += len(changed)
        self.send_json(200, {"codes": [c["MaHoSo"] for c in changed], "changes": changed})

    def _agency(self, q):
        ag = (q.get("agency") or [None])[-1]
        if not ag:
            raise BadRequest("agency is required")
        if ag not in self.state.data.agencies:
            raise BadRequest("unknown agency %s" % ag)
        return ag

    def h_sim_late(self, q, body):
        n = q_int(q, "n", 1, lo=0)
        ag = self._agency(q)
        kind = (q.get("kind") or ["pending"])[-1]
        if kind not in ("pending", "resolved"):
            raise BadRequest("kind must be pending or resolved")
        st = self.state
        with st.lock:
            codes = st.data.make_late(ag, n, kind, st.mut_rng)
            st.stats["mutations"] += len(codes)
        self.send_json(200, {"codes": codes, "agency": ag, "kind": kind})

    def h_sim_recover(self, q, body):
        ag = self._agency(q)
        st = self.state
        with st.lock:
            codes = st.data.recover(ag, st.mut_rng)
            st.stats["mutations"] += len(codes)
        self.send_json(200, {"codes": codes, "agency": ag})

    def h_sim_faults(self, q, body):
        v = (q.get("rate") or [None])[-1]
        try:
            rate = float(v)
        except (TypeError, ValueError):
            raise BadRequest("rate must be a number in [0, 1]")
        if not 0 <= rate <= 1:
            raise BadRequest("rate must be a number in [0, 1]")
        kinds = (q.get("kinds") or [None])[-1]
        kl = None
        if kinds:
            kl = [k for k in kinds.split(",") if k]
            unknown = set(kl) - set(IGATE_FAULTS) - set(VNPOST_FAULTS)
            if unknown:
                raise BadRequest("unknown fault kinds: %s" % ",".join(sorted(unknown)))
        with self.state.lock:
            self.state.fault_rate = rate
            self.state.fault_kinds = kl
        self.send_json(200, {"fault_rate": rate, "fault_kinds": kl})

    def h_sim_mdp(self, q, body):
        n = q_int(q, "n", 1, lo=0)
        with self.state.lock:
            self.state.mdp_remaining = n
        self.send_json(200, {"mutate_during_paging_remaining": n})

    def h_sim_revoke(self, q, body):
        self.state.revoke()
        self.send_json(200, {"revoked": True})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False      # SIGTERM exits at once even with idle keep-alive clients
    allow_reuse_address = True
    request_queue_size = 64
