#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds every libFuzzer target (tests/fuzz/fuzz_*.c) with clang under ASan+UBSan and runs
# each for SECONDS (default 20) from its seed corpus in tests/fuzz/corpus/NAME. New inputs
# go to a scratch copy, so the committed corpus changes only by hand. Exits non-zero on the
# first crash, leak or timeout, leaving the input under $FUZZ_BUILD/artifacts/.
#   bash scripts/fuzz.sh            # 20 s each, as the test command runs it
#   bash scripts/fuzz.sh 3600       # an hour each
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
dir=${FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$dir" -DONESTOP_FUZZ=ON -DONESTOP_TESTS=OFF -DONESTOP_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for src in tests/fuzz/fuzz_*.c; do
  targets+=("$(basename "$src" .c)")
done
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
mkdir -p "$dir/artifacts"
printf '%-16s %14s %10s %8s\n' target executions exec/s corpus > "$dir/fuzz-summary.txt"
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/$t
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds/." "$work/"
  log=$dir/artifacts/$t.log
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=${FUZZ_MAX_LEN:-8192} -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" "$work" \
    >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz: $t failed; the input is under $dir/artifacts/" >&2
    rm -rf "$work"
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  printf '%-16s %14s %10s %8s\n' "$t" "$execs" "$rate" "$(ls "$work" | wc -l)" \
    >> "$dir/fuzz-summary.txt"
  rm -rf "$work"
done
cat "$dir/fuzz-summary.txt"
