#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The generated unit under a real systemd: boots this machine's own systemd in a
throwaway systemd-nspawn container (a tmpfs root with the host's /usr, read-only) and
runs onestopd.service in it with the whole sandbox on, against a private PostgreSQL and
the feed simulator on loopback (the container shares the host's network). Checks that
it starts as a transient user with its credentials, syncs, reloads, stops with 0, fails
with 243/CREDENTIALS when a credential file is missing (and an empty LoadCredential= in
a drop-in resets the list), does not restart on a configuration error (78), and that
journald reads its priorities.

Skips (exit 0, with a note) where systemd-nspawn is missing or no container can boot."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BUILD = os.environ.get("ONESTOP_BUILD", os.path.join(harness.SRC, "build"))
DYNAMIC_UID_MIN, DYNAMIC_UID_MAX = 61184, 65519  # systemd's DynamicUser= range


def skip(why):
    print("systemd: SKIPPED: %s" % why, flush=True)
    print("systemd: 0 passed, 0 failed, 1 skipped", flush=True)
    sys.exit(0)


class Container:
    """systemd as PID 1 of a volatile nspawn container; commands run in it by nsenter."""

    def __init__(self, work, binds):
        self.name = "onestop-test-%d" % os.getpid()
        self.log = open(os.path.join(work, "boot.log"), "w")
        argv = ["systemd-nspawn", "--directory=/", "--volatile=yes", "--boot",
                # No D-Bus or machined needed on the host:
                "--register=no", "--keep-unit", "--machine=" + self.name, "--console=passive"]
        argv += ["--bind-ro=%s:%s" % b for b in binds]
        argv += ["--", "systemd.firstboot=off"]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
            if kids:
                self.pid = int(kids[0])
                break
            time.sleep(0.2)

    def booted(self):
        if self.pid is None:
            return False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.proc.poll() is None:
            rc, out = self.sh("systemctl is-system-running")
            if out in ("running", "degraded"):  # degraded: units that need real hardware
                return True
            time.sleep(0.5)
        return False

    def sh(self, cmd, timeout=60):
        p = subprocess.run(["nsenter", "-t", str(self.pid), "-a", "sh", "-c", cmd],
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).strip()

    def show(self, *props):
        _, out = self.sh("systemctl show onestopd.service -p " + ",".join(props))
        return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)

    def wait_state(self, want, timeout=30):
        deadline = time.monotonic() + timeout
        st = self.show("ActiveState")
        while st.get("ActiveState") not in want and time.monotonic() < deadline:
            time.sleep(0.3)
            st = self.show("ActiveState")
        return st.get("ActiveState")

    def stop(self):
        if self.proc.poll() is None:
            if self.pid:
                try:
                    self.sh("systemctl poweroff", timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)  # nspawn: orderly power-off
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        if self.pid:  # the container's init outlives a killed nspawn
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def metric(text, sample):
    m = re.search(r"^%s (\S+)$" % re.escape(sample), text, re.M)
    return float(m.group(1)) if m else None


def scrape(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            return r.read().decode("utf-8")
    except OSError:
        return ""


def main():
    if not shutil.which("systemd-nspawn") or not shutil.which("nsenter"):
        skip("systemd-nspawn (package systemd-container) or nsenter is not installed")
    if os.geteuid() != 0:
        skip("needs root to boot a container")
    unit_path = os.path.join(BUILD, "onestopd.service")
    if not os.path.isfile(unit_path):
        skip("no generated unit at %s" % unit_path)

    c = harness.Checker("systemd")
    work = tempfile.mkdtemp(prefix="onestop-sd-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 8, "--dossiers", 1200, "--as-of", "2022-12-20")
    box = None
    try:
        # /etc/onestopd as the package leaves it, plus the operator's secret files; only
        # the addresses of the test's database and feeds differ from the example.
        etc = os.path.join(work, "etc-onestopd")
        os.mkdir(etc)
        port = harness.free_port()
        conf = open(os.path.join(harness.SRC, "systemd", "onestopd.conf.example")).read()
        # The feeds by host name: resolving it must work without AF_NETLINK, which
        # RestrictAddressFamilies= leaves out (glibc's getaddrinfo falls back).
        feeds = sim.url.replace("127.0.0.1", "localhost")
        for key, value in (("conninfo", pg.conninfo), ("listen", "127.0.0.1:%d" % port),
                           ("base_url", feeds), ("token_url", feeds + "/token")):
            conf = re.sub(r"^%s = .*$" % key, "%s = %s" % (key, value), conf, flags=re.M)
        conf_path = os.path.join(etc, "onestopd.conf")
        open(conf_path, "w").write(conf)
        secrets = {"igate.secret": "s3cret", "vnpost.key": "vnpost-key", "db.password": "unused"}
        for name, value in secrets.items():
            with open(os.path.join(etc, name), "w") as f:
                f.write(value + "\n")
            os.chmod(os.path.join(etc, name), 0o600)
        # The generated unit, unchanged but for where the binary is.
        unit = open(unit_path).read()
        m = re.search(r"^ExecStart=(\S+)", unit, re.M)
        unit = unit.replace("ExecStart=" + m.group(1), "ExecStart=/opt/onestopd/onestopd")
        unit_copy = os.path.join(work, "onestopd.service")
        open(unit_copy, "w").write(unit)

        box = Container(work, [(harness.ONESTOPD, "/opt/onestopd/onestopd"),
                               ("/etc/hosts", "/etc/hosts"), ("/etc/nsswitch.conf", "/etc/nsswitch.conf"),
                               (etc, "/etc/onestopd"),
                               (unit_copy, "/etc/systemd/system/onestopd.service")])
        if not box.booted():
            log = open(os.path.join(work, "boot.log"), errors="replace").read()[-1500:]
            skip("no container could boot here:\n" + log)  # the finally cleans up

        rc, out = box.sh("systemctl start onestopd")
        c.eq(rc, 0, "systemctl start (Type=notify: returns after READY=1): " + out)
        st = box.show("ActiveState", "SubState", "MainPID", "StatusText")
        c.eq((st.get("ActiveState"), st.get("SubState")), ("active", "running"), "running")
        _, uid = box.sh("ps -o uid= -p %s" % st.get("MainPID", "0"))
        c.check(uid.isdigit() and DYNAMIC_UID_MIN <= int(uid) <= DYNAMIC_UID_MAX,
                "runs as a dynamic user (uid %r)" % uid)
        _, creds = box.sh("ls /run/credentials/onestopd.service")
        c.eq(sorted(creds.split()), sorted(secrets), "credentials handed over")

        text = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = scrape(port)
            if metric(text, 'onestop_source_up{source="igate"}') == 1.0 and \
                    metric(text, 'onestop_source_up{source="vnpost"}') == 1.0:
                break
            time.sleep(0.5)
        c.eq(metric(text, 'onestop_source_up{source="igate"}'), 1.0, "igate synced in the sandbox")
        c.eq(metric(text, 'onestop_source_up{source="vnpost"}'), 1.0, "vnpost synced in the sandbox")
        c.eq(metric(text, "onestop_leader"), 1.0, "leader")
        for fam in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                    "process_open_fds", "process_start_time_seconds"):
            c.check(re.search(r"^%s " % fam, text, re.M) is not None,
                    "%s exported under ProcSubset=pid" % fam)
        st = box.show("StatusText")
        c.check(st.get("StatusText", "").startswith("leader;"), "STATUS= reaches systemd: %r" % st)

        # journald parsed the <N> prefixes: the start notice is not a warning.
        _, notice = box.sh("journalctl -u onestopd -p notice -o cat --no-pager")
        _, warning = box.sh("journalctl -u onestopd -p warning -o cat --no-pager")
        c.check("starting" in notice and "starting" not in warning,
                "journald priorities from the <N> prefixes")
        c.check(not re.search(r"^<\d>", notice, re.M), "no raw <N> prefix left in the journal")

        rc, out = box.sh("systemctl reload onestopd")
        c.eq(rc, 0, "systemctl reload: " + out)
        c.eq(box.wait_state(("active",), 20), "active", "active after reload")
        time.sleep(1)
        _, log = box.sh("journalctl -u onestopd -o cat --no-pager")
        c.check("configuration reloaded" in log, "the reload reached the daemon")

        rc, out = box.sh("systemctl stop onestopd")
        st = box.show("ActiveState", "Result", "ExecMainStatus")
        c.eq((st.get("Result"), st.get("ExecMainStatus")), ("success", "0"), "stop: exit 0")

        # A missing credential file fails the start with 243/CREDENTIALS ...
        os.rename(os.path.join(etc, "db.password"), os.path.join(work, "db.password"))
        box.sh("systemctl start onestopd")
        st = box.show("ExecMainStatus")
        c.eq(st.get("ExecMainStatus"), "243", "a missing credential file: 243/CREDENTIALS")
        box.sh("systemctl stop onestopd; systemctl reset-failed onestopd")
        # ... and the documented drop-in (empty LoadCredential= resets the list) drops it.
        open(conf_path, "w").write(conf.replace("password_file = db.password\n", ""))
        rc, out = box.sh(
            "mkdir -p /etc/systemd/system/onestopd.service.d && printf '%s' > "
            "/etc/systemd/system/onestopd.service.d/credentials.conf && systemctl daemon-reload && "
            "systemctl start onestopd" % "[Service]\\nLoadCredential=\\n"
            "LoadCredential=igate.secret:/etc/onestopd/igate.secret\\n"
            "LoadCredential=vnpost.key:/etc/onestopd/vnpost.key\\n")
        c.eq(rc, 0, "starts with the drop-in that drops db.password: " + out)
        _, creds = box.sh("ls /run/credentials/onestopd.service")
        c.eq(sorted(creds.split()), ["igate.secret", "vnpost.key"], "the drop-in's credentials")
        box.sh("systemctl stop onestopd; rm -r /etc/systemd/system/onestopd.service.d; "
               "systemctl daemon-reload")
        os.rename(os.path.join(work, "db.password"), os.path.join(etc, "db.password"))

        # A configuration error is not retried (RestartPreventExitStatus=78).
        open(conf_path, "w").write(conf + "\nbogus_key = 1\n")
        box.sh("systemctl start onestopd")
        time.sleep(7)  # longer than RestartSec=5s
        st = box.show("ActiveState", "ExecMainStatus", "NRestarts")
        c.eq((st.get("ActiveState"), st.get("ExecMainStatus"), st.get("NRestarts")),
             ("failed", "78", "0"), "a config error fails once, without restarts")
    finally:
        if box:
            box.stop()
        sim.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
