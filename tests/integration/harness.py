# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the integration tests: a private PostgreSQL cluster, the feed
simulator and the real onestopd, all on loopback.

PostgreSQL refuses to run as root, so when the tests run as root the cluster is owned
by the unprivileged "postgres" account that Debian's postgresql package creates (or by
$ONESTOP_TEST_PGUSER)."""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.environ.get("ONESTOP_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
ONESTOPD = os.environ.get("ONESTOPD", os.path.join(SRC, "build", "onestopd"))
FEEDSIM = os.path.join(SRC, "tools", "feedsim.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir():
    if os.environ.get("PG_BINDIR"):
        return os.environ["PG_BINDIR"]
    for v in ("17", "16", "15"):
        d = "/usr/lib/postgresql/%s/bin" % v
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    raise RuntimeError("PostgreSQL server binaries not found (install postgresql-15)")


class PgCluster:
    """A throwaway cluster in a temp dir, listening on 127.0.0.1:port with trust auth.
    Its TimeZone is UTC on purpose: onestopd must not depend on it."""

    def __init__(self, timezone="UTC"):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="onestop-pg-")
        self.data = os.path.join(self.dir, "data")
        self.bindir = pg_bindir()
        self.user = None
        if os.geteuid() == 0:
            self.user = os.environ.get("ONESTOP_TEST_PGUSER", "postgres")
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        self._run(["initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--locale=C.UTF-8" if self._has_locale("C.UTF-8") else "--no-locale"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nlisten_addresses = '127.0.0.1'\nport = %d\n" % self.port)
            f.write("unix_socket_directories = '%s'\n" % self.dir)
            f.write("timezone = '%s'\nlog_timezone = '%s'\n" % (timezone, timezone))
            f.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
            f.write("max_connections = 50\nshared_buffers = 128MB\n")
        self._run(["pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "start"])
        self.conninfo = "host=127.0.0.1 port=%d dbname=onestop user=postgres" % self.port
        self.psql("postgres", "CREATE DATABASE onestop")

    @staticmethod
    def _has_locale(name):
        try:
            out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout
            return name.lower().replace("-", "") in out.lower().replace("-", "")
        except OSError:
            return False

    def _run(self, argv, **kw):
        argv = [os.path.join(self.bindir, argv[0])] + argv[1:]
        if self.user:
            argv = ["runuser", "-u", self.user, "--"] + argv
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd="/", **kw)

    def psql(self, db, sql):
        """Runs sql, returns rows as lists of strings (tab separated, unaligned)."""
        out = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
            check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line != ""]

    def scalar(self, sql):
        return self.psql("onestop", sql)[0][0]

    def crash(self):
        """Stops the server in immediate mode: no checkpoint, clients cut off, as a crash."""
        self._run(["pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"])

    def start(self):
        """Starts it again (crash recovery runs first)."""
        self._run(["pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t",
                   "60", "start"])

    def stop(self):
        try:
            self._run(["pg_ctl", "-D", self.data, "-m", "immediate", "stop"])
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class FeedSim:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="onestop-sim-")
        port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen([sys.executable, FEEDSIM, "--listen", "127.0.0.1:0",
                                      "--port-file", port_file] + [str(a) for a in args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 180
        while time.time() < deadline:
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read().strip())
                break
            if self.proc.poll() is not None:
                raise RuntimeError("feedsim exited: " + open(os.path.join(self.dir, "log")).read())
            time.sleep(0.1)
        else:
            raise RuntimeError("feedsim did not start")
        self.url = "http://127.0.0.1:%d" % self.port

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=120) as r:
            return json.loads(r.read().decode("utf-8"))

    def post(self, path):
        req = urllib.request.Request(self.url + path, data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read().decode("utf-8") or "null")

    def dump(self):
        return self.get("/_sim/dump")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def write_config(path, pg, sim, as_of=None, http_port=None, page_size=500, interval="300s",
                 metrics_interval="60s", period_mode=None, extra="", sources=("igate", "vnpost"),
                 secret_dir=None):
    secret_dir = secret_dir or os.path.dirname(path)
    with open(os.path.join(secret_dir, "igate.secret"), "w") as f:
        f.write("s3cret\n")
    with open(os.path.join(secret_dir, "vnpost.key"), "w") as f:
        f.write("vnpost-key\n")
    lines = ["[database]", "conninfo = " + pg.conninfo, "",
             "[http]", "listen = 127.0.0.1:%d" % (http_port or free_port()), "",
             "[metrics]", "interval = " + metrics_interval]
    if as_of:
        lines.append("as_of = " + as_of)
    if period_mode:
        lines.append("period_mode = " + period_mode)
    lines.append("")
    if "igate" in sources:
        lines += ["[source.igate]", "adapter = igate", "base_url = " + sim.url,
                  "token_url = " + sim.url + "/token", "client_id = onestopd",
                  "client_secret_file = " + os.path.join(secret_dir, "igate.secret"),
                  "interval = " + interval, "page_size = %d" % page_size,
                  "timeout = 20s", "max_retries = 8", "backoff_max = 2s", ""]
    if "vnpost" in sources:
        lines += ["[source.vnpost]", "adapter = vnpost", "base_url = " + sim.url,
                  "api_key_file = " + os.path.join(secret_dir, "vnpost.key"),
                  "interval = " + interval, "page_size = %d" % page_size,
                  "timeout = 20s", "max_retries = 8", "backoff_max = 2s", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)
    return path


def listen_of(config_path):
    m = re.search(r"^listen = 127\.0\.0\.1:(\d+)$", open(config_path).read(), re.M)
    return int(m.group(1))


class Daemon:
    def __init__(self, config_path, env=None, args=()):
        self.config = config_path
        self.port = listen_of(config_path)
        self.url = "http://127.0.0.1:%d" % self.port
        e = dict(os.environ)
        e["TZ"] = "UTC"  # onestopd must not care
        e.update(env or {})
        self.logpath = config_path + ".log"
        self.log = open(self.logpath, "a")
        self.proc = subprocess.Popen([ONESTOPD, "-c", config_path] + list(args), env=e,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def http(self, path, timeout=30):
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def wait_ready(self, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("onestopd exited %s:\n%s" % (self.proc.returncode, self.logtext()))
            try:
                status, _, _ = self.http("/readyz", timeout=5)
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.2)
        raise RuntimeError("onestopd not ready in %ss:\n%s" % (timeout, self.logtext()))

    def metrics_text(self):
        status, headers, body = self.http("/metrics")
        assert status == 200, status
        return body.decode("utf-8")

    def logtext(self):
        self.log.flush()
        return open(self.logpath, encoding="utf-8", errors="replace").read()[-6000:]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def promtool_check(text):
    """Runs promtool check metrics on text; returns (ok, output). Skips if absent."""
    exe = shutil.which("promtool")
    if not exe:
        return None, "promtool not installed"
    p = subprocess.run([exe, "check", "metrics"], input=text.encode("utf-8"), capture_output=True)
    return p.returncode == 0, (p.stdout + p.stderr).decode("utf-8", "replace")


class Checker:
    """Collects failures so one run reports all of them, and prints the closing line."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s: %s" % (self.name, what), flush=True)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, "%s: got %r, want %r" % (what, got, want))

    def done(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed), flush=True)
        if self.passed == 0:
            print("%s: no assertion ran" % self.name)
            sys.exit(1)
        sys.exit(1 if self.failed else 0)
