# SPDX-License-Identifier: Apache-2.0
"""`python3 -m onestop_feedsim` (from tools/), the same as tools/feedsim.py."""

import sys

from .cli import main

sys.exit(main(prog="onestop_feedsim"))
