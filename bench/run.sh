#!/usr/bin/env bash
# Builds the benchmarks (Release), runs them, and writes BENCHMARKS.md from
# that run, naming the machine. Usage: bench/run.sh [build-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build-bench}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGRAFT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target graft_benchmarks >/dev/null

# bench_delta measures the objects the tree ships, so it comes from a build
# of the default type (RelWithDebInfo: -O2 -g1, components then stripped);
# -O3 code makes other objects and other deltas.
shipped=${build}-shipped
cmake -S "$root" -B "$shipped" -DGRAFT_BUILD_TESTS=OFF -DGRAFT_BUILD_BENCH=ON >/dev/null
cmake --build "$shipped" -j2 --target bench_delta >/dev/null

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  if [ "$name" = bench_delta ]; then b="$shipped/bench/bench_delta"; fi
  echo "running $name ..." >&2
  "$b" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
       --benchmark_out="$out/$name.json" --benchmark_out_format=json >/dev/null
done
python3 "$here/write_benchmarks_md.py" "$out" > "$root/BENCHMARKS.md"
echo "wrote $root/BENCHMARKS.md" >&2
# [fleet] Fleet figures need a tests build (test host, fixtures) and etcd + nginx.
fleet_build=${GRAFT_FLEET_BUILD:-$root/build}
if [ -x "$fleet_build/tests/control/graft_control_test_host" ] && command -v etcd >/dev/null; then
  echo "running bench/fleet.sh ..." >&2
  BUILD=$fleet_build "$here/fleet.sh" >> "$root/BENCHMARKS.md"
fi
