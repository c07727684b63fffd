#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""HTTPS and basic authentication, as the Prometheus exporters' web config does them:
- a real Prometheus (Debian's /usr/bin/prometheus) scrapes the daemon over HTTPS with
  basic_auth and tls_config (ca_file: a CA made here with `openssl req -x509`), and its
  `up` for the job is 1;
- no password and a wrong one are 401 with `WWW-Authenticate: Basic realm="onestopd"`,
  and onestop_http_auth_failures_total grows; /healthz needs none;
- plain HTTP against the HTTPS port gets no HTTP answer;
- after the certificate files are replaced and SIGHUP sent, new connections get the new
  certificate (SHA-256 of the served certificate, read with Python's ssl) while a
  connection opened before goes on working, and the listener never refuses a connection;
  Prometheus keeps scraping (the new certificate comes from the same CA);
- a bad certificate on reload keeps the current one, with an error in the log;
- users (htpasswd -nBC 10) are re-read on reload.
Skips (exit 0) without openssl, htpasswd or prometheus."""

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

AS_OF = "2022-12-20"
PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")


def skip(why):
    print("https_auth: SKIPPED: %s" % why, flush=True)
    print("https_auth: 0 passed, 0 failed, 1 skipped", flush=True)
    sys.exit(0)


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)


def make_ca(work):
    ca_key, ca_crt = os.path.join(work, "ca.key"), os.path.join(work, "ca.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "2", "-subj", "/CN=onestop test CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
    return ca_key, ca_crt


def make_leaf(work, name, ca_key, ca_crt):
    """A server certificate for 127.0.0.1 and localhost, signed by the CA. (cert, key)."""
    key, csr, crt = (os.path.join(work, name + ext) for ext in (".key", ".csr", ".pem"))
    ext = os.path.join(work, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
         "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext])
    return crt, key


def fingerprint_of_file(pem):
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(pem).read())).hexdigest()


def served_fingerprint(port):
    """SHA-256 of the certificate a new TLS connection gets."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


class Client:
    """HTTPS requests that verify the server against the CA."""

    def __init__(self, port, ca):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)

    def get(self, path, user=None, password=None, conn=None):
        own = conn is None
        if own:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                               timeout=30)
        headers = {}
        if user is not None:
            token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            headers["Authorization"] = "Basic " + token
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            if own:
                conn.close()


def metric_value(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


class Prometheus:
    def __init__(self, work, target_port, ca, password_file):
        self.dir = os.path.join(work, "prom")
        os.makedirs(os.path.join(self.dir, "data"))
        self.port = harness.free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: onestopd
    scheme: https
    basic_auth:
      username: prom
      password_file: %s
    tls_config:
      ca_file: %s
    static_configs:
      - targets: ['127.0.0.1:%d']
""" % (password_file, ca, target_port))
        self.log = open(os.path.join(self.dir, "log"), "w")
        # Runs as whoever runs the test; it needs no privilege, only its own data dir.
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)

    def api(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=10) as r:
            return json.loads(r.read().decode())

    def up(self):
        """The value of up{job="onestopd"}, or None."""
        try:
            res = self.api("/api/v1/query?query=" + urllib.parse.quote('up{job="onestopd"}'))
        except OSError:
            return None
        rs = res.get("data", {}).get("result", [])
        return float(rs[0]["value"][1]) if rs else None

    def target(self):
        try:
            ts = self.api("/api/v1/targets")["data"]["activeTargets"]
        except (OSError, KeyError):
            return None
        return ts[0] if ts else None

    def logtext(self):
        self.log.flush()
        return open(os.path.join(self.dir, "log")).read()[-3000:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def poll(fn, timeout, step=0.25):
    deadline = time.monotonic() + timeout
    v = fn()
    while not v and time.monotonic() < deadline:
        time.sleep(step)
        v = fn()
    return v


def replace_file(src, dst):
    """As a certificate tool would: write beside, then rename over."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


class Prober:
    """Opens a TCP connection to the port every 20 ms and counts the refusals."""

    def __init__(self, port):
        self.port = port
        self.tries = self.refused = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            self.tries += 1
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
            except OSError:
                self.refused += 1
            time.sleep(0.02)

    def finish(self):
        self.stop = True
        self.thread.join(5)


def main():
    for exe in ("openssl", "htpasswd"):
        if not shutil.which(exe):
            skip("%s not installed (scripts/deps.sh installs it)" % exe)
    if not os.access(PROMETHEUS, os.X_OK):
        skip("%s not installed" % PROMETHEUS)
    c = harness.Checker("https_auth")
    work = tempfile.mkdtemp(prefix="onestop-tls-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 11, "--dossiers", 1500, "--as-of", AS_OF)
    d = prom = None
    try:
        ca_key, ca = make_ca(work)
        crt1, key1 = make_leaf(work, "first", ca_key, ca)
        crt2, key2 = make_leaf(work, "second", ca_key, ca)
        live_crt, live_key = os.path.join(work, "server.pem"), os.path.join(work, "server.key")
        shutil.copyfile(crt1, live_crt)
        shutil.copyfile(key1, live_key)
        users = os.path.join(work, "users")
        with open(users, "w") as f:
            f.write(run(["htpasswd", "-nbBC", "10", "prom", "s3cret-pw"]).stdout)
        pwfile = os.path.join(work, "prom.password")
        with open(pwfile, "w") as f:
            f.write("s3cret-pw")

        port = harness.free_port()
        cfg = harness.write_config(os.path.join(work, "onestopd.conf"), pg, sim, as_of=AS_OF,
                                   http_port=port)
        text = open(cfg).read().replace(
            "listen = 127.0.0.1:%d\n" % port,
            "listen = 127.0.0.1:%d\ntls_cert_file = %s\ntls_key_file = %s\n"
            "basic_auth_users_file = %s\n" % (port, live_crt, live_key, users))
        open(cfg, "w").write(text)
        p = subprocess.run([harness.ONESTOPD, "-c", cfg, "--check-config"], capture_output=True,
                           text=True)
        c.eq(p.returncode, 0, "--check-config accepts the TLS and auth keys: %s" % p.stderr.strip())

        d = harness.Daemon(cfg)
        cl = Client(port, ca)

        def ready():
            if d.proc.poll() is not None:
                raise RuntimeError("onestopd exited:\n" + d.logtext())
            try:
                return cl.get("/readyz", "prom", "s3cret-pw")[0] == 200
            except OSError:
                return False
        c.check(poll(ready, 300), "ready over HTTPS with the password")

        # Authentication.
        status, headers, body = cl.get("/metrics", "prom", "s3cret-pw")
        c.eq(status, 200, "/metrics with the password")
        text = body.decode()
        c.check("onestop_dossiers_received{" in text, "the page has the indicators")
        before = metric_value(text, "onestop_http_auth_failures_total")
        c.eq(before, 0.0, "no auth failure yet")
        for what, user, pw in (("no password", None, None), ("a wrong password", "prom", "nope"),
                               ("an unknown user", "root", "s3cret-pw")):
            status, headers, body = cl.get("/metrics", user, pw)
            c.eq(status, 401, "%s is 401" % what)
            c.eq(headers.get("www-authenticate"), 'Basic realm="onestopd"',
                 "%s: the challenge" % what)
            c.eq(headers.get("x-content-type-options"), "nosniff", "%s: nosniff" % what)
            c.check(b"onestop_" not in body, "%s: nothing of the page" % what)
        for path in ("/", "/api/v1/report?from=2022-01-01&to=2022-12-31", "/api/v1/alerts"):
            c.eq(cl.get(path)[0], 401, "%s needs the password" % path)
        status, _, body = cl.get("/healthz")
        c.eq((status, body), (200, b"ok\n"), "/healthz needs none")
        status, headers, _ = cl.get("/", "prom", "s3cret-pw")
        c.eq(status, 200, "landing page with the password")
        c.check("frame-ancestors 'none'" in headers.get("content-security-policy", ""),
                "the landing page has a CSP")
        status, headers, body = cl.get("/api/v1/report?from=2022-01-01&to=2022-12-31",
                                       "prom", "s3cret-pw")
        c.eq(status, 200, "the report API over HTTPS (on a worker)")
        c.eq(headers.get("cache-control"), "no-store", "the API is no-store")
        c.check(b'"rows"' in body, "a report")
        after = metric_value(cl.get("/metrics", "prom", "s3cret-pw")[2].decode(),
                             "onestop_http_auth_failures_total")
        c.eq(after, 6.0, "onestop_http_auth_failures_total counted the six 401s")

        # Plain HTTP on the HTTPS port.
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            plain = r.status
        except (OSError, http.client.HTTPException):
            plain = None
        c.eq(plain, None, "plain HTTP against the HTTPS port gets no HTTP answer")

        # A real Prometheus scrapes it.
        prom = Prometheus(work, port, ca, pwfile)
        up = poll(lambda: prom.up() == 1.0, 90, 0.5)
        c.check(up, "Prometheus: up{job=\"onestopd\"} is 1 (target: %s; log: %s)"
                % (prom.target(), prom.logtext()[-800:]))

        # Certificate reload: new handshakes get the new certificate; a connection opened
        # before goes on; the listener never refuses.
        fp1, fp2 = fingerprint_of_file(crt1), fingerprint_of_file(crt2)
        c.eq(served_fingerprint(port), fp1, "the first certificate is served")
        kept = http.client.HTTPSConnection("127.0.0.1", port, context=cl.ctx, timeout=30)
        c.eq(cl.get("/metrics", "prom", "s3cret-pw", conn=kept)[0], 200, "a connection opened before")
        prober = Prober(port)
        replace_file(crt2, live_crt)
        replace_file(key2, live_key)
        reload_at = time.time()
        d.signal(signal.SIGHUP)
        changed = poll(lambda: served_fingerprint(port) == fp2, 20)
        c.check(changed, "after SIGHUP the new certificate is served")
        status, _, _ = cl.get("/metrics", "prom", "s3cret-pw", conn=kept)
        c.eq(status, 200, "the connection opened before the reload still works")
        kept.close()
        time.sleep(1)
        prober.finish()
        c.check(prober.tries > 20, "the prober ran (%d connections)" % prober.tries)
        c.eq(prober.refused, 0, "no connection refused during the reload")
        scraped = poll(lambda: (prom.target() or {}).get("health") == "up" and
                       _after(prom.target().get("lastScrape"), reload_at + 1), 30, 0.5)
        c.check(scraped, "Prometheus scrapes the new certificate (same CA): %s" % prom.target())

        # A bad certificate on reload: the current one stays, the log says why.
        with open(live_crt, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        d.signal(signal.SIGHUP)
        logged = poll(lambda: "reload failed" in d.logtext() and "server.pem" in d.logtext(), 20)
        c.check(logged, "the bad certificate is logged: %s" % d.logtext()[-600:])
        c.eq(served_fingerprint(port), fp2, "the current certificate stays")
        c.eq(cl.get("/metrics", "prom", "s3cret-pw")[0], 200, "and serves")

        # Users are re-read on reload (with a good certificate back).
        replace_file(crt2, live_crt)
        with open(users, "a") as f:
            f.write(run(["htpasswd", "-nbBC", "10", "grafana", "other-pw"]).stdout)
        d.signal(signal.SIGHUP)
        c.check(poll(lambda: cl.get("/metrics", "grafana", "other-pw")[0] == 200, 20),
                "a user added to the file is let in after SIGHUP")
        c.eq(cl.get("/metrics", "prom", "s3cret-pw")[0], 200, "the first user still is")

        c.eq(d.proc.poll(), None, "the daemon is still running")
        c.eq(d.stop(), 0, "exit status after SIGTERM")
        d = None
    finally:
        if prom:
            prom.stop()
        if d:
            d.stop()
        sim.stop()
        pg.stop()
    c.done()


def _after(stamp, t):
    """Whether Prometheus's RFC 3339 lastScrape (nanoseconds, Z or an offset) is later than
    unix time t."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", stamp or "")
    if not m or stamp.startswith("0001"):
        return False
    frac = (m.group(2) or "0")[:6]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat("%s.%s%s" % (m.group(1), frac, tz)).timestamp() > t


if __name__ == "__main__":
    main()
