#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The command line through the real binary: exit codes (sysexits), --check-config
messages that name FILE:LINE, --version/--help on stdout, --once against a real
PostgreSQL and the simulator, journald priority prefixes in the log."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def run(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([harness.ONESTOPD] + list(args), capture_output=True, text=True, env=e)


def main():
    c = harness.Checker("cli")
    work = tempfile.mkdtemp(prefix="onestop-cli-")

    p = run("--version")
    c.eq(p.returncode, 0, "--version exit")
    c.check(p.stdout.startswith("onestopd "), "--version on stdout: %r" % p.stdout)
    p = run("--help")
    c.eq(p.returncode, 0, "--help exit")
    c.check("--check-config" in p.stdout, "--help lists --check-config")
    p = run("--bogus")
    c.eq(p.returncode, 64, "unknown option exits 64")

    bad = os.path.join(work, "bad.conf")
    with open(bad, "w") as f:
        f.write("[database]\nconninfo = dbname=x\n\n[http]\nlisten = 127.0.0.1:9787\nbogus_key = 1\n")
    p = run("-c", bad, "--check-config")
    c.eq(p.returncode, 78, "bad config exits 78")
    c.check("%s:6:" % bad in p.stderr, "error names FILE:6: %r" % p.stderr)

    with open(bad, "w") as f:
        f.write("[source.igate]\nadapter = igate\nbase_url = http://x\npage_size = 1001\n")
    p = run("-c", bad, "--check-config")
    c.eq(p.returncode, 78, "page_size 1001 exits 78")
    c.check("%s:4:" % bad in p.stderr, "page_size error names line 4: %r" % p.stderr)

    # A key the adapter needs (igate: token_url) is checked by --check-config too, not
    # only when the daemon starts; the error names the [source.NAME] header's line.
    secret = os.path.join(work, "igate.secret")
    with open(secret, "w") as f:
        f.write("s3cret\n")
    with open(bad, "w") as f:
        f.write("[http]\nlisten = 127.0.0.1:9787\n\n[source.igate]\nadapter = igate\n"
                "base_url = http://x\nclient_id = onestopd\nclient_secret_file = %s\n"
                "\n[metrics]\ninterval = 60s\n" % secret)
    p = run("-c", bad, "--check-config")
    c.eq(p.returncode, 78, "igate source without token_url exits 78")
    c.check("%s:4:" % bad in p.stderr and "token_url" in p.stderr,
            "missing token_url names FILE:4 (the section header) and the key: %r" % p.stderr)
    c.check("OK" not in p.stdout, "no OK on stdout: %r" % p.stdout)
    with open(bad, "w") as f:
        f.write("[source.vnpost]\nadapter = vnpost\nbase_url = http://x\n")
    p = run("-c", bad, "--check-config")
    c.eq(p.returncode, 78, "vnpost source without api_key_file exits 78")
    c.check("%s:1:" % bad in p.stderr and "api_key_file" in p.stderr,
            "missing api_key_file names FILE:1: %r" % p.stderr)

    p = run("-c", os.path.join(work, "missing.conf"), "--check-config")
    c.eq(p.returncode, 78, "missing config exits 78")

    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 5, "--dossiers", 800, "--as-of", "2022-12-20")
    try:
        cfg = harness.write_config(os.path.join(work, "ok.conf"), pg, sim, as_of="2022-12-20")
        p = run("-c", cfg, "--check-config")
        c.eq(p.returncode, 0, "good config exits 0 (%s)" % p.stderr)
        p = run("-c", cfg, "--print-config")
        c.eq(p.returncode, 0, "--print-config exits 0")
        c.check("s3cret" not in p.stdout, "--print-config masks secrets")
        # Webhook URLs often carry their secret in the path (Slack, Teams).
        hooked = harness.write_config(
            os.path.join(work, "hook.conf"), pg, sim, as_of="2022-12-20",
            extra="[alert]\nwebhook_url = https://hooks.example/services/T0/B0/Xsecretpath\n")
        p = run("-c", hooked, "--print-config")
        c.eq(p.returncode, 0, "--print-config with a webhook exits 0 (%s)" % p.stderr)
        c.check("Xsecretpath" not in p.stdout and
                "webhook_url = https://hooks.example/... ; masked: path hidden" in p.stdout,
                "--print-config hides the webhook's path: %r"
                % [l for l in p.stdout.splitlines() if "webhook" in l])
        p = run("-c", cfg, "--once", env={"TZ": "America/New_York"})
        c.eq(p.returncode, 0, "--once exits 0: %s" % p.stderr[-2000:])
        c.check("onestop_dossiers_received{" in p.stdout, "--once prints the metrics page")
        lines = [l for l in p.stderr.splitlines() if l]
        c.check(lines and all(l[0] == "<" and l[2] == ">" for l in lines),
                "every log line has a <N> priority prefix")
        c.check("s3cret" not in p.stderr, "no secret in the log")
        ok, out = harness.promtool_check(p.stdout)
        if ok is not None:
            c.check(ok, "promtool: " + out)
        # The database is down: --once says so with 69.
        cfg2 = harness.write_config(os.path.join(work, "nodb.conf"), pg, sim)
        txt = open(cfg2).read().replace("port=%d" % pg.port, "port=%d" % harness.free_port())
        open(cfg2, "w").write(txt)
        p = run("-c", cfg2, "--once")
        c.eq(p.returncode, 69, "--once with no database exits 69")
    finally:
        sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
