#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as
# errors, runs the whole suite and a 90 s soak, then the concurrency tests
# (and the delta rebuild's two threads) again under ThreadSanitizer, the suite
# under AddressSanitizer + UBSan, and each libFuzzer target for 60 s.
# Usage: scripts/test.sh [--quick]   (--quick stops after the soak)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "scripts/test.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh

step() { printf '\n=== %s (%ds so far)\n' "$*" "$SECONDS"; }
# Line tables (-g1) are all a backtrace or a sanitizer report needs; full debug
# info makes the build a quarter slower. The ThreadSanitizer build uses -O1 (its
# tests swap thousands of times); the AddressSanitizer build -O0, which compiles
# three times faster than -O1 with ASan and UBSan on and finds the same errors.
plain_flags="-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
tsan_flags="-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
asan_flags="-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1 -DNDEBUG"
# The concurrency tests (they time swaps) and the ecosystem tests (they build
# whole projects) are marked RUN_SERIAL in CMake; the rest run side by side.
ctest_jobs=$(nproc)

step "build (warnings as errors)"
cmake -S . -B build "$plain_flags" -DGRAFT_WERROR=ON -DGRAFT_BUILD_BENCH=ON >/dev/null
cmake --build build -j2
step "tests"
(cd build && ctest -j"$ctest_jobs" --output-on-failure --timeout 300)

step "soak (90 s): 4 callers, 3 slots, random installs, rollbacks, swaps, control requests"
build/tests/soak/graft_soak --seconds 90

if [ "$quick" -eq 1 ]; then exit 0; fi

# ThreadSanitizer's runtime in gcc 12 cannot cope with the high mmap
# randomisation of recent kernels; run its tests with ASLR off.
step "ThreadSanitizer build: concurrency tests"
cmake -S . -B build-tsan "$tsan_flags" -DGRAFT_SANITIZE=thread -DGRAFT_WERROR=ON -DGRAFT_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j2 --target graft_concurrency_tests graft_control_unit_tests graft_delta_tests
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
   setarch "$(uname -m)" -R ctest -L concurrency --output-on-failure --timeout 600)
# A delta rebuild of 1 MiB or more hashes on a second thread trailing the decoder.
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1" setarch "$(uname -m)" -R \
   ctest -R '^DeltaApplyTest[.]' --output-on-failure --timeout 600)
# The status board's seqlock: one writer, readers that retry, no lock.
TSAN_OPTIONS="halt_on_error=1" setarch "$(uname -m)" -R \
  build-tsan/tests/control/graft_control_unit_tests --gtest_filter='StatusBoard.*' --gtest_brief=1

step "AddressSanitizer + UBSan build: all tests"
cmake -S . -B build-asan "$asan_flags" -DGRAFT_SANITIZE=address -DGRAFT_WERROR=ON -DGRAFT_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j2
(cd build-asan && ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1" \
   ctest -j"$ctest_jobs" --output-on-failure --timeout 600)

step "libFuzzer targets (clang 14, ASan + UBSan), all at once for 60 s"
scripts/fuzz.sh 60
step "all passed in ${SECONDS}s"
