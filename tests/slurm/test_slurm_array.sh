#!/usr/bin/env bash
# slurm/submit.sh --array 3 on a real single-node Slurm: 3 array tasks running
# fmnist-grid --shard I/3 into one directory, then the merge job (afterok) running
# fmnist-grid report: every shard's journal, the refit, and the same scores as one process.
# Then a shard re-run alone with FMNIST_GRID_SHARDS (the README's way to redo a shard).
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/slurm/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
slurm_up
export FMNIST_GRID_BUILD=$BIN
GRID=$SRC/tests/grids/tiny.yaml
D=$TMP/arr
cd "$TMP" || exit 1

t0=$(now)
"$SRC/slurm/submit.sh" "$GRID" --out "$D" --array 3 -- -q > "$TMP/ids" 2> "$TMP/submit.err"
arr=$(awk '$1 == "array" { print $2 }' "$TMP/ids")
merge=$(awk '$1 == "merge" { print $2 }' "$TMP/ids")
if [ -n "$arr" ] && [ -n "$merge" ]; then pass; else
  fail "submit.sh printed no array and merge job ids"; cat "$TMP/ids" "$TMP/submit.err" >&2; finish; exit; fi
expect_in <(job_summary "$merge"; scontrol -o show job "$merge") "afterok:$arr" "merge job depends on the array"
wait_job "$merge" 120
wait_job "$arr" 10
echo "array of 3 + merge: $(seconds_since "$t0") s from submission to report (tiny grid)"
expect_job "$arr" "array tasks" "$D-${arr}_0.out" "$D-${arr}_1.out" "$D-${arr}_2.out"
[ "$(job_summary "$arr" | wc -l)" -eq 3 ] && pass || fail "the array has $(job_summary "$arr" | wc -l) tasks, expected 3"
expect_job "$merge" "merge job" "$D-merge-$merge.out"
for i in 0 1 2; do
  [ -s "$D/journal.shard-$i-of-3.jsonl" ] && pass || fail "no journal from shard $i"
done
expect_in "$D-merge-$merge.out" "12 of 12 tasks" "merge counts every task"
expect_in "$D/report.md" "test accuracy" "merge refits the best configuration"

expect_exit 0 "one process" -- "$BIN" -q --out "$TMP/one" "$GRID"
same_scores "$TMP/one/cv_results.csv" "$D/cv_results.csv" "array + merge vs one process"

# Re-running one shard alone (a 1-task array) needs the shard count; it resumes with
# nothing to run.
redo=$(sbatch --parsable --array=1 --export=ALL,FMNIST_GRID_SHARDS=3 --output="$TMP/redo-%A_%a.out" \
       "$SRC/slurm/fmnist-grid-array.sbatch" "$GRID" "$D")
wait_job "$redo" 60
expect_job "$redo" "re-run of shard 1" "$TMP/redo-${redo}_1.out"
expect_in "$TMP/redo-${redo}_1.out" "0 to run" "re-run shard finds its tasks done"
# Without FMNIST_GRID_SHARDS an array that is not 0-<N-1> is refused.
bad=$(sbatch --parsable --array=1-2 --output="$TMP/bad-%A_%a.out" \
      "$SRC/slurm/fmnist-grid-array.sbatch" "$GRID" "$D")
wait_job "$bad" 60
[ "$(job_summary "$bad" | awk '$2 == "FAILED" && $3 == "2:0"' | wc -l)" -eq 2 ] && pass ||
  fail "array 1-2 without FMNIST_GRID_SHARDS: $(job_summary "$bad" | tr '\n' ';'), expected FAILED 2:0"
expect_in "$TMP/bad-${bad}_1.out" "FMNIST_GRID_SHARDS" "refusal names FMNIST_GRID_SHARDS"
finish
