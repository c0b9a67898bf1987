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

# Killed right after the refit's record, before model.fgm is written: the model is not lost.
# A resume refits again (deterministic) and writes the same model.fgm; so does `report DIR`
# where it has the data; the "no model.fgm" warning only when the file really is missing.
expect_exit 137 "killed after the refit's record" -- env FG_FAULT=kill:refit "$BIN" -q --out "$TMP/km" "$GRID"
grep -q '"fold":-1' "$TMP/km/journal.jsonl" && [ ! -e "$TMP/km/model.fgm" ] && pass ||
  fail "kill:refit: not a journaled refit without model.fgm"
expect_exit 0 "resume after kill:refit" -- "$BIN" --resume "$TMP/km"
cmp -s "$TMP/ref/model.fgm" "$TMP/km/model.fgm" && pass || fail "kill:refit: the resume did not rebuild the same model.fgm"
! grep -q "no model.fgm" "$TMP/err" && pass || fail "kill:refit: 'no model.fgm' warning with the model rebuilt"
[ "$(records "$TMP/km/journal.jsonl")" -eq 13 ] && pass || fail "kill:refit: the refit was journaled twice"
rm "$TMP/km/model.fgm"
expect_exit 0 "report DIR without model.fgm" -- "$BIN" -q report "$TMP/km"
cmp -s "$TMP/ref/model.fgm" "$TMP/km/model.fgm" && pass || fail "report DIR did not rebuild the same model.fgm"
rm "$TMP/km/model.fgm"
expect_exit 0 "report DIR without model.fgm or data" -- "$BIN" -q report --data "$TMP/nodata" "$TMP/km"
expect_in "$TMP/err" "no model.fgm" "the warning when the model cannot be rebuilt"
# The same when `report DIR` merges shards and is killed between its refit's record and
# model.fgm: the next `report DIR` rebuilds it.
for i in 0 1; do "$BIN" -q --shard $i/2 --out "$TMP/kms" "$GRID" >/dev/null 2>&1 </dev/null; done
expect_exit 137 "report DIR killed after its refit's record" -- env FG_FAULT=kill:refit "$BIN" -q report "$TMP/kms"
grep -q '"fold":-1' "$TMP/kms/journal.refit.jsonl" && [ ! -e "$TMP/kms/model.fgm" ] && pass ||
  fail "report DIR kill:refit: not a journaled refit without model.fgm"
expect_exit 0 "report DIR after its kill:refit" -- "$BIN" -q report "$TMP/kms"
cmp -s "$TMP/ref/model.fgm" "$TMP/kms/model.fgm" && pass || fail "report DIR did not rebuild its lost model.fgm"
if [ -n "${MPIEXEC:-}" ]; then # 2 ranks: the refit may run early, while the last folds do
  "$MPIEXEC" --oversubscribe -np 2 -x FG_FAULT=kill:refit "$BIN" -q --out "$TMP/kmpi" "$GRID" >/dev/null 2>&1 </dev/null
  [ $? -ne 0 ] && grep -q '"fold":-1' "$TMP/kmpi/journal.jsonl" && [ ! -e "$TMP/kmpi/model.fgm" ] && pass ||
    fail "kill:refit under mpirun: not a journaled refit without model.fgm"
  expect_exit 0 "resume under mpirun after kill:refit" -- "$MPIEXEC" --oversubscribe -np 2 "$BIN" -q --resume "$TMP/kmpi"
  cmp -s "$TMP/ref/model.fgm" "$TMP/kmpi/model.fgm" && pass || fail "kill:refit under mpirun: model.fgm not rebuilt the same"
  scores "$TMP/kmpi/cv_results.csv" > "$TMP/kmpi.scores"
  cmp -s "$TMP/ref.scores" "$TMP/kmpi.scores" && pass || fail "kill:refit under mpirun: resumed scores differ"
fi

# --resume DIR alone takes every result-changing option from the journal (subset, seed,
# data directory, BLAS threads), from any working directory, as slurm/README.md says;
# only an option given with another value is refused, in one line naming both values.
mkdir -p "$TMP/data2"  # a smaller data set (2000 training images): other checksums
D=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
{ printf '\x00\x00\x08\x03\x00\x00\x07\xd0\x00\x00\x00\x1c\x00\x00\x00\x1c'
  gzip -dc "$D/train-images-idx3-ubyte.gz" | tail -c +17 | head -c $((2000 * 784)); } | gzip > "$TMP/data2/train-images-idx3-ubyte.gz"
{ printf '\x00\x00\x08\x01\x00\x00\x07\xd0'
  gzip -dc "$D/train-labels-idx1-ubyte.gz" | tail -c +9 | head -c 2000; } | gzip > "$TMP/data2/train-labels-idx1-ubyte.gz"
ln -s "$D/t10k-images-idx3-ubyte.gz" "$D/t10k-labels-idx1-ubyte.gz" "$TMP/data2/"
OPTS=(--data "$TMP/data2" --subset 600 --seed 7)
expect_exit 0 "reference with options" -- "$BIN" -q "${OPTS[@]}" --out "$TMP/oref" "$GRID"
scores "$TMP/oref/cv_results.csv" > "$TMP/oref.scores"
expect_exit 137 "options run killed" -- env FG_FAULT=kill:4 "$BIN" -q "${OPTS[@]}" --out "$TMP/opt" "$GRID"
expect_exit 2 "--resume with another --threads" -- "$BIN" -q --resume "$TMP/opt" --threads 2
expect_in "$TMP/err" "2 BLAS threads, recorded 1 (--threads 2 given" "the conflict names both values"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "the --threads conflict is not one line"
expect_exit 2 "--resume with another --subset" -- "$BIN" -q --resume "$TMP/opt" --subset 700
expect_in "$TMP/err" "subset 700, recorded 600 (--subset 700 given" "the subset conflict names both values"
expect_exit 2 "--resume with another --seed" -- "$BIN" -q --resume "$TMP/opt" --seed 8
expect_in "$TMP/err" "seed 8, recorded 7 (--seed 8 given" "the seed conflict names both values"
[ "$(records "$TMP/opt/journal.jsonl")" -eq 4 ] && pass || fail "a refused resume ran tasks"
expect_exit 0 "--resume DIR alone, elsewhere" -- env -u FMNIST_DATA -C / "$BIN" -q --resume "$TMP/opt"
scores "$TMP/opt/cv_results.csv" > "$TMP/opt.scores"
cmp -s "$TMP/oref.scores" "$TMP/opt.scores" && pass || fail "--resume alone: scores differ from the run with the options"
cmp -s "$TMP/oref/model.fgm" "$TMP/opt/model.fgm" && pass || fail "--resume alone: model.fgm differs"
expect_exit 0 "the same options given again" -- "$BIN" -q "${OPTS[@]}" --threads 1 --resume "$TMP/opt"
# report DIR takes the recorded data directory and threads too (here to rebuild the model).
expect_exit 2 "report DIR with another --threads" -- "$BIN" -q report --threads 2 "$TMP/opt"
expect_in "$TMP/err" "2 BLAS threads, recorded 1 (--threads 2 given" "report names both thread counts"
rm "$TMP/opt/model.fgm"
expect_exit 0 "report DIR elsewhere rebuilds from the recorded data" -- env -u FMNIST_DATA -C / "$BIN" -q report "$TMP/opt"
cmp -s "$TMP/oref/model.fgm" "$TMP/opt/model.fgm" && pass || fail "report DIR: model.fgm not rebuilt from the recorded data"

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
