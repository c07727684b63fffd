#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates the option table in README.md from the binary's own option table.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/onestopd}
python3 - "$bin" <<'PY'
import subprocess, sys
ref = subprocess.run([sys.argv[1], "--print-config-reference"], check=True,
                     capture_output=True, text=True).stdout
text = open("README.md", encoding="utf-8").read()
a, b = "<!-- BEGIN CONFIG REFERENCE -->\n", "<!-- END CONFIG REFERENCE -->"
start, end = text.index(a) + len(a), text.index(b)
open("README.md", "w", encoding="utf-8").write(text[:start] + ref + text[end:])
PY
