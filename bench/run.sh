#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The standing benchmark (docs/performance.md): builds a Release tree in build-bench/ and
# runs bench/run.py over it. Arguments go to run.py, e.g.
#   bash bench/run.sh                          # 200k, 1M and 5M dossiers
#   bash bench/run.sh --sizes 20000 --runs 2   # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ONESTOP_BENCH_BUILD:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DONESTOP_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
exec python3 bench/run.py --build "$build" "$@"
