#!/usr/bin/env bash
# slurm/submit.sh -> slurm/fmnist-grid.sbatch on a real single-node Slurm: the tiny search
# as one 4-rank job (srun --mpi=pmix), its report, its exit code, and the same scores as
# one process; a job with a bad grid fails with fmnist-grid's exit status 2.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/slurm/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
slurm_up
export FMNIST_GRID_BUILD=$BIN
GRID=$SRC/tests/grids/tiny.yaml
cd "$TMP" || exit 1

expect_exit 0 "submit.sh --help" -- "$SRC/slurm/submit.sh" --help
expect_in "$TMP/out" "--array N" "help describes --array"
expect_exit 2 "submit.sh without a grid" -- "$SRC/slurm/submit.sh"
expect_exit 2 "submit.sh with a bad option" -- "$SRC/slurm/submit.sh" "$GRID" --bogus

t0=$(now)
"$SRC/slurm/submit.sh" "$GRID" --out "$TMP/single" --ntasks 4 -- -q > "$TMP/ids" 2> "$TMP/submit.err"
job=$(awk '$1 == "job" { print $2 }' "$TMP/ids")
if [ -n "$job" ]; then pass; else fail "submit.sh printed no job id"; cat "$TMP/submit.err" >&2; fi
[ "$(awk '$1 == "out" { print $2 }' "$TMP/ids")" = "$TMP/single" ] && pass || fail "submit.sh did not print the results directory"
wait_job "$job" 120
echo "single job: $(seconds_since "$t0") s from submission to report (tiny grid, 4 ranks)"
expect_job "$job" "single job" "$TMP/single-$job.out"
for f in report.md cv_results.csv report.yaml journal.jsonl; do
  [ -s "$TMP/single/$f" ] && pass || fail "single job wrote no $f"
done
expect_in "$TMP/single/report.md" "| ranks | 4 (4 training)" "report records 4 training ranks"
expect_in "$TMP/single/report.md" "test accuracy" "the job refitted the best configuration"
expect_in "$TMP/single-$job.out" "$TMP/single/report.md" "the job log ends with the report path"

expect_exit 0 "one process" -- "$BIN" -q --out "$TMP/one" "$GRID"
same_scores "$TMP/one/cv_results.csv" "$TMP/single/cv_results.csv" "single job vs one process"

# A bad grid: the job fails with fmnist-grid's exit status, not silently.
printf 'name: bad\nbogus: 1\n' > "$TMP/bad.yaml"
bad=$(sbatch --parsable --ntasks=1 --output="$TMP/bad-%j.out" "$SRC/slurm/fmnist-grid.sbatch" "$TMP/bad.yaml" "$TMP/badout")
wait_job "$bad" 60
[ "$(job_summary "$bad")" = "$bad FAILED 2:0" ] && pass || fail "bad grid job: $(job_summary "$bad"), expected FAILED 2:0"
expect_in "$TMP/bad-$bad.out" "bad.yaml" "bad grid job log names the grid file"
finish
