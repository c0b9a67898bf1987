#!/usr/bin/env bash
# Fuzzes the grid parser with libFuzzer for SECONDS (default 60).
#
#   tests/fuzz/run.sh [SECONDS] [BUILD_DIR]
#
# Installs nothing: needs clang with its libFuzzer runtime (Debian 12: apt-get install clang
# libclang-rt-14-dev). Configures BUILD_DIR (default build-fuzz, next to tests/) with
# CC=clang -DFG_FUZZ=ON -DFG_SANITIZE=ON, builds fuzz_grid, and runs it on a copy of
# tests/fuzz/corpus (new inputs found go to the copy, not to the repository). Prints the
# number of executions and whether a crash was found; a crashing input is kept as
# BUILD_DIR/fuzz-run/crash-* (copy it to tests/fuzz/crashes/ when reporting it). Exits 0
# when no crash was found, 1 on a crash, 2 when the fuzzer cannot be built.
# A longer run: tests/fuzz/run.sh 3600; extra libFuzzer flags: FUZZ_FLAGS="-jobs=4 ...".
set -u
SECS=${1:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${2:-$SRC/build-fuzz}
command -v clang >/dev/null || { echo "run.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
mkdir -p "$BUILD"
LOG=$BUILD/fuzz-build.log
{ CC=clang cmake -S "$SRC" -B "$BUILD" -DFG_FUZZ=ON -DFG_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
  cmake --build "$BUILD" --target fuzz_grid -j"$(nproc)"; } >"$LOG" 2>&1 || {
  echo "run.sh: cannot build fuzz_grid (see $LOG):" >&2
  tail -n 20 "$LOG" >&2
  exit 2
}
RUN=$BUILD/fuzz-run
rm -rf "$RUN"
mkdir -p "$RUN/corpus"
cp "$HERE"/corpus/* "$RUN/corpus/"
# Leaks count as crashes; UBSan stops at the first report (-fno-sanitize-recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$BUILD/tests/fuzz_grid" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -dict="$HERE/grid.dict" -artifact_prefix="$RUN/" -print_final_stats=1 ${FUZZ_FLAGS:-} \
  "$RUN/corpus" >"$RUN/log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$RUN/log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$RUN/log" | tail -n 1)
crashes=$(find "$RUN" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
echo "fuzz_grid: ${SECS}s, ${execs:-?} executions, corpus $(ls "$RUN/corpus" | wc -l) inputs (log: $RUN/log)"
if [ "$rc" -ne 0 ] || [ -n "$crashes" ]; then
  echo "fuzz_grid: CRASH found (exit $rc):"
  for c in $crashes; do echo "  $c"; done
  grep -m 3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$RUN/log" | sed 's/^/  /'
  exit 1
fi
echo "fuzz_grid: no crash"
