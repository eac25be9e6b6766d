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
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  >/dev/null
cmake --build build-fuzz -j2 --target graft_fuzzers
# All targets at once, each for SECONDS of wall time: the stage takes SECONDS
# however many targets there are, and the cores are shared between them.
results=$(mktemp -d)
fuzz_one() {
  local bin=$1 name=$2 work log
  work=$(mktemp -d)
  log=$results/$name.log
  if "$bin" "$work" "tests/fuzz/corpus/$name" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    local runs
    runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    printf '%-12s ok: %s executions in %ss, %s new inputs\n' "$name" "${runs:-?}" "$seconds" \
      "$(ls "$work" | wc -l)" >"$results/$name.result"
  else
    { printf '%-12s FAILED\n' "$name"; tail -n 40 "$log"; } >"$results/$name.result"
    touch "$results/$name.failed"
  fi
  rm -rf "$work"
}
names=()
for bin in build-fuzz/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  names+=("$name")
  fuzz_one "$bin" "$name" &
done
wait
status=0
for name in "${names[@]}"; do
  cat "$results/$name.result"
  [ -e "$results/$name.failed" ] && status=1
done
rm -rf "$results"
exit $status
