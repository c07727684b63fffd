#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""No secret ever reaches an output. Every secret the configuration can hold carries a
distinctive canary word: the passwords in the feed URLs, the OAuth2 client secret, the
VNPost API key, the database password, the webhook's path and query token, the bearer
token. --check-config, --print-config and a debug --once against a live feed and then
a dead one run, and none of their output (stdout, stderr) may hold a canary."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CANARIES = {
    "url_password": "CanaryUrlPw7x",
    "token_url_query": "CanaryTokQuery3q",
    "client_secret": "CanaryClientSecret9k",
    "api_key": "CanaryApiKey5m",
    "db_password": "CanaryDbPw2v",
    "webhook_path": "CanaryHookPath4r",
    "webhook_query": "CanaryHookQuery6t",
    "alertmanager_password": "CanaryAmPw8z",
    "bearer": "CanaryBearer1n",
}
# A percent-encoded '@' and ':' in a password are still one password.
URL_PW = "pre%40" + CANARIES["url_password"] + "%3Apost"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def config(work, pg, feed_url, hook_port):
    host = feed_url.split("://", 1)[1]
    write(os.path.join(work, "client.secret"), CANARIES["client_secret"] + "\n")
    write(os.path.join(work, "vnpost.key"), CANARIES["api_key"] + "\n")
    write(os.path.join(work, "db.password"), CANARIES["db_password"] + "\n")
    write(os.path.join(work, "bearer"), CANARIES["bearer"] + "\n")
    return write(os.path.join(work, "onestopd.conf"), """\
[daemon]
log_level = debug

[database]
conninfo = %(conninfo)s
password_file = db.password

[http]
listen = 127.0.0.1:%(http_port)d

[metrics]
as_of = 2022-12-20

[alert]
webhook_url = http://127.0.0.1:%(hook)d/hooks/%(path)s?token=%(query)s
bearer_token_file = bearer
alertmanager_url = http://am:%(am)s@127.0.0.1:%(hook)d
for = 0s

[source.igate]
adapter = igate
base_url = http://user:%(pw)s@%(host)s
token_url = http://%(host)s/token?audience=%(tpw)s
client_id = onestopd
client_secret_file = client.secret
max_retries = 1
backoff_max = 1s
timeout = 5s

[source.vnpost]
adapter = vnpost
base_url = http://user:%(pw)s@%(host)s
api_key_file = vnpost.key
max_retries = 1
backoff_max = 1s
timeout = 5s
""" % {"conninfo": pg.conninfo, "http_port": harness.free_port(), "hook": hook_port,
       "path": CANARIES["webhook_path"], "query": CANARIES["webhook_query"],
       "am": CANARIES["alertmanager_password"], "pw": URL_PW,
       "tpw": CANARIES["token_url_query"], "host": host})


def leaks(text):
    return sorted(name for name, word in CANARIES.items() if word.lower() in text.lower())


def main():
    c = harness.Checker("secrets")
    work = tempfile.mkdtemp(prefix="onestop-secrets-")
    pg = harness.PgCluster()
    sim = harness.FeedSim("--seed", 5, "--dossiers", 400, "--as-of", "2022-12-20",
                          "--client-secret", CANARIES["client_secret"],
                          "--api-key", CANARIES["api_key"])
    dead_port = harness.free_port()  # nothing listens: webhooks and the dead feed fail
    try:
        cfg = config(work, pg, sim.url, dead_port)
        runs = [("--check-config", ["-c", cfg, "--check-config"]),
                ("--print-config", ["-c", cfg, "--print-config"]),
                ("debug --once, live feed", ["-c", cfg, "--once", "--log-level", "debug"])]
        outputs = {}
        for what, args in runs:
            p = subprocess.run([harness.ONESTOPD] + args, capture_output=True, text=True,
                               timeout=300, cwd=work)
            outputs[what] = (p.returncode, p.stdout + p.stderr)
        c.eq(outputs["--check-config"][0], 0, "--check-config accepts the configuration: %s"
             % outputs["--check-config"][1][-300:])
        c.eq(outputs["--print-config"][0], 0, "--print-config exits 0")
        c.eq(outputs["debug --once, live feed"][0], 0, "--once against the live feed exits 0: %s"
             % outputs["debug --once, live feed"][1][-300:])
        c.check(re.search(r'onestop_stored_records\{kind="dossier"\} [1-9]',
                          outputs["debug --once, live feed"][1]) is not None,
                "the live run really synced (the secrets were used)")
        c.check("debug" in outputs["debug --once, live feed"][1].lower() or
                "<7>" in outputs["debug --once, live feed"][1], "debug lines were written")

        sim.stop()
        sim = None
        p = subprocess.run([harness.ONESTOPD, "-c", cfg, "--once", "--log-level", "debug"],
                           capture_output=True, text=True, timeout=300, cwd=work)
        outputs["debug --once, dead feed"] = (p.returncode, p.stdout + p.stderr)
        c.check(p.returncode != 0, "--once against a dead feed fails (exit %d)" % p.returncode)
        c.check("127.0.0.1" in p.stderr, "and says where it failed: %s" % p.stderr[-300:])

        for what, (_, text) in outputs.items():
            c.eq(leaks(text), [], "%s leaks no secret" % what)
        # The masks say what they hid, so an operator knows a secret is set.
        printed = outputs["--print-config"][1]
        c.check("***@" in printed, "--print-config shows that URLs carry userinfo")
    finally:
        if sim:
            sim.stop()
        pg.stop()
    c.done()


if __name__ == "__main__":
    main()
