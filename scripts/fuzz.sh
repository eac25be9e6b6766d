#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 14 (ASan + UBSan) and runs each for
# a bounded time, starting from its checked-in seed corpus. Fails on any
# crash, leak, timeout or out-of-memory. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
case "$seconds" in ''|*[!0-9]*) echo "scripts/fuzz.sh: SECONDS must be a whole number" >&2; exit 2 ;; esac
cd "$root"
scripts/install-deps.sh --fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DGRAFT_FUZZ=ON -DGRAFT_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 --target graft_fuzzers
status=0
for bin in build-fuzz/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  seeds=tests/fuzz/corpus/$name
  work=$(mktemp -d)
  log=$(mktemp)
  printf '%-12s ' "$name"
  if "$bin" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "ok: ${runs:-?} executions in ${seconds}s, corpus $(ls "$work" | wc -l) new inputs"
  else
    echo "FAILED"
    tail -n 40 "$log"
    status=1
  fi
  rm -rf "$work" "$log"
done
exit $status
