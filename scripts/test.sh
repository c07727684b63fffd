#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets everything up and runs every test: unit and integration tests on a normal build,
# then the unit tests and the end-to-end test again under ASan+UBSan, then the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
python3 scripts/check-layers.py
bash scripts/build.sh build
ctest --test-dir build --output-on-failure -j2
bash scripts/build.sh build-asan -DONESTOP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -L unit -j2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -R 'integration.test_end_to_end'
if [ -d contrib/prometheus ]; then
  for t in contrib/prometheus/*_test.yml; do
    [ -e "$t" ] || continue
    promtool test rules "$t"
  done
fi
# Every libFuzzer target, 20 s each under ASan+UBSan, from its committed seed corpus.
bash scripts/fuzz.sh 20
echo "all tests passed"
