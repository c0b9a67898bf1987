#!/usr/bin/env bash
# The test suite under AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer.
#
#   tests/sanitize.sh [BUILD_DIR]      (default: build-asan in the source tree)
#
# Configures BUILD_DIR with -DFG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug, builds, and runs
# ctest. tests/CMakeLists.txt gives every test LSAN_OPTIONS with tests/lsan.supp, which
# suppresses OpenMPI's own allocations only; any other leak, any ASan error and any UBSan
# report (-fno-sanitize-recover: the program stops) fails the test that met it.
# Extra ctest arguments: CTEST_ARGS="-L cli" tests/sanitize.sh.
set -euo pipefail
# One OpenBLAS thread, as every rank uses: OpenBLAS then starts no worker threads when it
# loads, whose start-up allocations LeakSanitizer can report at exit now and then.
export OPENBLAS_NUM_THREADS=1
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-asan}
cmake -S "$SRC" -B "$BUILD" -DFG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build "$BUILD" -j2
# shellcheck disable=SC2086
ctest --test-dir "$BUILD" --output-on-failure -j2 ${CTEST_ARGS:-}
