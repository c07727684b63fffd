#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""feedsim: the feed simulator's command.  The code is the onestop_feedsim package
next to this file (its docstring says what the simulator does).

Run `feedsim.py --help` for the options.  `--dump-only FILE` writes the data set
(the same JSON as GET /_sim/dump) and exits.  The names imported below stay
importable from this file for callers that load it by path.
"""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

from onestop_feedsim.cli import build, main, parse_args, write_atomic  # noqa: E402,F401
from onestop_feedsim.data import Dataset, Generator, KeyedFeed, dumps, fmt, parse_ts  # noqa: E402,F401
from onestop_feedsim.server import Handler, Server, SimState  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
