#!/usr/bin/env bash
# Nothing lost: a search killed (SIGKILL) right after a journal write, or stopped by
# SIGUSR1, resumes to the same scores as an uninterrupted run, never counting a task twice.
# The faults are injected at exact points with FG_FAULT (no timing involved).
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
GRID=$SRC/tests/grids/tiny.yaml
records() { grep -c '"task":' "$1"; }

expect_exit 0 "uninterrupted run" -- "$BIN" -q --out "$TMP/ref" "$GRID"
scores "$TMP/ref/cv_results.csv" > "$TMP/ref.scores"

for k in 1 5 11 12; do
  expect_exit 137 "killed after journal record $k" -- env FG_FAULT=kill:$k "$BIN" -q --out "$TMP/k$k" "$GRID"
  n=$(records "$TMP/k$k/journal.jsonl")
  [ "$n" -eq "$k" ] && pass || fail "kill:$k left $n records"
  if [ "$k" -eq 5 ]; then  # a crash in the middle of a write leaves a torn line
    printf '{"task":3,"config":1,"fold":0,"hash":"00' >> "$TMP/k$k/journal.jsonl"
  fi
  expect_exit 0 "resume after kill:$k" -- "$BIN" --resume "$TMP/k$k"
  expect_in "$TMP/err" "$k of 12 tasks are in the journal, $((12 - k)) to run" "resume skips the journal's tasks"
  [ "$(records "$TMP/k$k/journal.jsonl")" -eq 13 ] && pass || fail "kill:$k: not 12 tasks + 1 refit after resume"
  scores "$TMP/k$k/cv_results.csv" > "$TMP/k$k.scores"
  cmp -s "$TMP/ref.scores" "$TMP/k$k.scores" && pass || { fail "kill:$k: resumed scores differ"; diff "$TMP/ref.scores" "$TMP/k$k.scores" >&2; }
done

# Killed after the refit is journaled, before any report is written: a resume writes the
# reports without training anything again.
expect_exit 137 "killed before the reports" -- env FG_FAULT=kill:report "$BIN" -q --out "$TMP/kr" "$GRID"
[ ! -e "$TMP/kr/cv_results.csv" ] && pass || fail "kill:report: reports exist"
expect_exit 0 "resume after kill:report" -- "$BIN" --resume "$TMP/kr"
expect_in "$TMP/err" "12 of 12 tasks are in the journal, 0 to run" "nothing re-run"
[ "$(records "$TMP/kr/journal.jsonl")" -eq 13 ] && pass || fail "kill:report: the refit ran twice"
scores "$TMP/kr/cv_results.csv" > "$TMP/kr.scores"
cmp -s "$TMP/ref.scores" "$TMP/kr.scores" && pass || fail "kill:report: resumed scores differ"

# SIGUSR1 (what Slurm sends before a time limit): exit 3, a partial report, then resume.
expect_exit 3 "SIGUSR1 mid-search" -- env FG_FAULT=signal:4 "$BIN" -q --out "$TMP/sig" "$GRID"
expect_in "$TMP/err" "interrupted by signal" "interruption message"
expect_in "$TMP/sig/report.md" "Partial report" "partial report written"
n=$(records "$TMP/sig/journal.jsonl")
[ "$n" -ge 4 ] && [ "$n" -lt 12 ] && pass || fail "SIGUSR1 run recorded $n tasks"
expect_exit 0 "resume after SIGUSR1" -- "$BIN" -q --out "$TMP/sig" "$GRID"
scores "$TMP/sig/cv_results.csv" > "$TMP/sig.scores"
cmp -s "$TMP/ref.scores" "$TMP/sig.scores" && pass || fail "resumed scores differ after SIGUSR1"
# --grace 0: running tasks are abandoned at once; still resumable to the same scores.
expect_exit 3 "SIGUSR1 with --grace 0" -- env FG_FAULT=signal:2 "$BIN" -q --grace 0 --out "$TMP/g0" "$GRID"
expect_in "$TMP/err" "running tasks abandoned" "abandon message"
[ "$(records "$TMP/g0/journal.jsonl")" -eq 2 ] && pass || fail "--grace 0 recorded other than 2 tasks"
expect_exit 0 "resume after abandoning" -- "$BIN" -q --resume "$TMP/g0"
scores "$TMP/g0/cv_results.csv" > "$TMP/g0.scores"
cmp -s "$TMP/ref.scores" "$TMP/g0.scores" && pass || fail "resumed scores differ after abandoning"
# The same under mpirun with 3 ranks: a resumed search matches the one-process reference.
if [ -n "${MPIEXEC:-}" ]; then
  expect_exit 3 "SIGUSR1 under mpirun" -- env FG_FAULT=signal:3 "$MPIEXEC" --oversubscribe -np 3 -x FG_FAULT "$BIN" -q --out "$TMP/mpi" "$GRID"
  expect_exit 0 "resume under mpirun" -- "$MPIEXEC" --oversubscribe -np 3 "$BIN" -q --resume "$TMP/mpi"
  scores "$TMP/mpi/cv_results.csv" > "$TMP/mpi.scores"
  cmp -s "$TMP/ref.scores" "$TMP/mpi.scores" && pass || fail "resumed scores under mpirun differ"
  # A worker rank dies (SIGKILL at its second task): whatever mpirun does next, the journal
  # keeps every finished task and a resume completes the search with the same scores.
  "$MPIEXEC" --oversubscribe -np 3 -x FG_FAULT=workerkill:2 "$BIN" -q --out "$TMP/wk" "$GRID" >/dev/null 2>&1 </dev/null
  rc=$?
  [ "$rc" -ne 0 ] && pass || fail "a job with a killed worker exited 0"
  expect_exit 0 "resume after a worker died" -- "$MPIEXEC" --oversubscribe -np 3 "$BIN" -q --resume "$TMP/wk"
  scores "$TMP/wk/cv_results.csv" > "$TMP/wk.scores"
  cmp -s "$TMP/ref.scores" "$TMP/wk.scores" && pass || fail "resumed scores after a worker death differ"
fi
# Nothing to resume.
expect_exit 2 "resume of an empty directory" -- "$BIN" --resume "$TMP/nothing"
finish
