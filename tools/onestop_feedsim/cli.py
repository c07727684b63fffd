# SPDX-License-Identifier: Apache-2.0
"""The command line: options, --dump-only, and serving until SIGTERM."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys

from .data import Dataset
from .server import Handler, Server, SimState


def parse_args(argv=None, prog=None):
    p = argparse.ArgumentParser(
        prog=prog,
        description="Deterministic simulator of the iGate / procedure catalogue / VNPost feeds "
                    "(docs/feeds.md sections 1-3) with test-only /_sim/ admin endpoints.")
    p.add_argument("--listen", default="127.0.0.1:0",
                   help="HOST:PORT to bind (port 0 picks a free one; default %(default)s)")
    p.add_argument("--port-file", help="write the bound port to this file (atomically)")
    p.add_argument("--seed", type=int, default=1, help="data set seed (default %(default)s)")
    p.add_argument("--dossiers", type=int, default=5000, help="good+bad dossiers to generate")
    p.add_argument("--agencies", type=int, default=12,
                   help="agencies with dossiers (one catalogue-only agency is added)")
    p.add_argument("--procedures", type=int, default=40, help="catalogue rows per agency (about)")
    p.add_argument("--shipments-ratio", type=float, default=0.9,
                   help="share of postal dossiers (KenhThucHien 3 / HinhThuc 1) with a shipment")
    p.add_argument("--unmatched-ratio", type=float, default=0.03,
                   help="extra shipments whose OrderNumber matches no dossier, as a share")
    p.add_argument("--as-of", default="2022-12-20", help="the generated world's today (YYYY-MM-DD)")
    p.add_argument("--client-id", default="onestopd")
    p.add_argument("--client-secret", default="s3cret")
    p.add_argument("--api-key", default="vnpost-key", help="VNPost access_token value")
    p.add_argument("--token-ttl", type=int, default=300, help="token lifetime in seconds")
    p.add_argument("--bad-ratio", type=float, default=0.02,
                   help="share of quarantine-worthy records; when > 0 every quarantine reason "
                        "is covered (needs >= ~150 dossiers and ~40 shipments)")
    p.add_argument("--dup-ratio", type=float, default=0.002,
                   help="share of dossiers also served as an older duplicate version; "
                        "0 also drops the two duplicate catalogue rows")
    p.add_argument("--burst", type=int, default=1300,
                   help="dossiers sharing one NgayCapNhat in the main burst")
    p.add_argument("--ship-burst", type=int, default=1100,
                   help="shipments sharing one NgayCapNhat (at most 60%% of eligible ones)")
    p.add_argument("--fault-rate", type=float, default=0.0,
                   help="probability that a data request gets an injected failure")
    p.add_argument("--delay", "--seconds-per-request-delay", dest="delay", type=float, default=0.0,
                   help="sleep this many seconds before answering each data request")
    p.add_argument("--dump-only", metavar="FILE", help="write the dump JSON to FILE and exit")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    a = p.parse_args(argv)
    try:
        a.as_of = dt.date.fromisoformat(a.as_of)
    except ValueError:
        p.error("--as-of must be YYYY-MM-DD")
    host, sep, port = a.listen.rpartition(":")
    if not sep or not port.isdigit():
        p.error("--listen must be HOST:PORT")
    a.host, a.port = host or "127.0.0.1", int(port)
    for name in ("bad_ratio", "fault_rate", "shipments_ratio", "unmatched_ratio", "dup_ratio"):
        v = getattr(a, name)
        if not 0 <= v <= 1:
            p.error("--%s must be in [0, 1]" % name.replace("_", "-"))
    if a.dossiers < 0 or a.agencies < 1 or a.procedures < 1 or a.token_ttl < 1:
        p.error("counts must be positive")
    return a


def write_atomic(path, data: bytes):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def build(cfg) -> Dataset:
    return Dataset(cfg)


def main(argv=None, prog=None):
    cfg = parse_args(argv, prog)
    data = build(cfg)
    if cfg.dump_only:
        write_atomic(cfg.dump_only, data.dump_bytes())
        print("feedsim: wrote %s (%d dossiers, %d procedures, %d shipments) in %.1fs"
              % (cfg.dump_only, len(data.dossiers), len(data.procedures), len(data.shipments),
                 data.gen_seconds), file=sys.stderr)
        return 0
    Handler.state = SimState(cfg, data)
    try:
        srv = Server((cfg.host, cfg.port), Handler)
    except OSError as e:
        print("feedsim: cannot listen on %s: %s" % (cfg.listen, e), file=sys.stderr)
        return 1
    port = srv.server_address[1]
    if cfg.port_file:
        write_atomic(cfg.port_file, b"%d\n" % port)
    print("feedsim listening on http://%s:%d" % (cfg.host, port), flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    # Skip freeing a large data set object by object: exit at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
