# SPDX-License-Identifier: Apache-2.0
"""onestop_feedsim: a deterministic simulator of the three feeds onestopd pulls.

It speaks docs/feeds.md sections 1-3:

    POST /token                  LGSP OAuth2 client_credentials token
    GET  /pa/dossier/search      iGate dossiers, keyset by (NgayCapNhat, MaHoSo)
    GET  /pa/procedure/search    iGate procedure catalogue, page/size
    GET  /bcci/shipments         VNPost BCCI shipments, keyset by (NgayCapNhat, ItemCode)

from a data set generated deterministically from --seed around --as-of (data.py),
and adds test-only admin endpoints under /_sim/ (dump, mutate, late, recover,
faults, mutate-during-paging, revoke, stats; server.py).  cli.py holds the options.
Python 3 standard library only.

The command is tools/feedsim.py.  The package is not named feedsim because it sits
next to that file: `import feedsim` from tools/ would then mean two things.
"""

from .cli import build, main, parse_args
from .data import Dataset

__all__ = ["Dataset", "build", "main", "parse_args"]
