#!/usr/bin/env bash
# The same tiny search with mpirun -np 3 and as one process: identical fold scores.
BIN=$1 SRC=$2 MPIEXEC=$3
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
expect_exit 0 "one process" -- "$BIN" -q --out "$TMP/one" "$SRC/tests/grids/tiny.yaml"
expect_exit 0 "mpirun -np 3" -- "$MPIEXEC" --oversubscribe -np 3 "$BIN" -q --out "$TMP/three" "$SRC/tests/grids/tiny.yaml"
scores "$TMP/one/cv_results.csv" > "$TMP/a"
scores "$TMP/three/cv_results.csv" > "$TMP/b"
if cmp -s "$TMP/a" "$TMP/b"; then pass; else fail "scores differ between 1 and 3 ranks"; diff "$TMP/a" "$TMP/b" >&2; fi
grep -q split0_test_score "$TMP/a" && pass || fail "no split scores compared"
# report.yaml: the same best configuration, parameters, fold scores and refit accuracy.
section() { awk '/^best:/ { p=1 } /^configurations:/ { p=0 } p && !/fit_time_s/ { print }' "$1"; }
section "$TMP/one/report.yaml" > "$TMP/ya"
section "$TMP/three/report.yaml" > "$TMP/yb"
grep -q "test_accuracy" "$TMP/ya" && pass || fail "report.yaml has no refit section"
cmp -s "$TMP/ya" "$TMP/yb" && pass || { fail "report.yaml best/refit differ between 1 and 3 ranks"; diff "$TMP/ya" "$TMP/yb" >&2; }
# The refitted model is the same file whichever rank trained it. With FG_FAULT=workerkill:N
# (N never reached) rank 0 only coordinates, so the refit runs on a worker rank and its
# parameters travel back to rank 0, which writes model.fgm.
cmp -s "$TMP/one/model.fgm" "$TMP/three/model.fgm" && pass || fail "model.fgm differs between 1 and 3 ranks"
FG_FAULT=workerkill:1000000 expect_exit 0 "mpirun -np 3, rank 0 coordinating only" -- \
  "$MPIEXEC" --oversubscribe -np 3 "$BIN" -q --out "$TMP/remote" "$SRC/tests/grids/tiny.yaml"
cmp -s "$TMP/one/model.fgm" "$TMP/remote/model.fgm" && pass || fail "model.fgm of a refit on a worker rank differs"
scores "$TMP/remote/cv_results.csv" > "$TMP/c"
cmp -s "$TMP/a" "$TMP/c" && pass || fail "scores differ when rank 0 only coordinates"
grep -q '"fold":-1.*"rank":[12],' "$TMP/remote/journal.jsonl" && pass || fail "the refit did not run on a worker rank"
# Every rank joined as a worker (which tasks each got depends on timing, so not checked).
expect_in "$TMP/three/report.md" "| ranks | 3 (3 training)" "report records 3 training ranks"
# The session records every host with its rank count, and report DIR keeps it.
expect_in "$TMP/three/journal.jsonl" "\"hosts\":\"$(hostname):3\",\"ranks\":3,\"workers\":3," "session records the hosts"
expect_exit 0 "report DIR of the 3-rank search" -- "$BIN" report "$TMP/three"
expect_in "$TMP/three/report.md" "| ranks | 3 (3 training)" "report DIR keeps the 3 training ranks"
expect_in "$TMP/three/report.md" "| $(hostname) (3) | 3 (3) |" "report DIR lists the host and its ranks"
finish
