#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets everything up and runs the demo: a private PostgreSQL, the feed simulator and
# onestopd serving real indicators on http://127.0.0.1:9787/metrics until Ctrl-C.
# DEMO_SECONDS=N stops it after N seconds (for unattended checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
exec python3 tools/demo.py "$@"
