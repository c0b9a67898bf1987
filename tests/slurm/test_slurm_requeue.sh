#!/usr/bin/env bash
# A job that reaches its time limit: slurm/fmnist-grid.sbatch on 2 ranks with
# --time=2 --signal=B:USR1@70 and fmnist-grid --grace 20 on tests/slurm/requeue.yaml
# (24 tasks, about a minute of training on 2 ranks). Slurm sends USR1 to the batch shell,
# which passes it on; fmnist-grid checkpoints and exits 3; the script requeues the job;
# the requeued job (SLURM_RESTART_COUNT > 0) resumes from the journal, possibly more than
# once, and completes with the same scores as an uninterrupted one-process run.
#
# Timing (issue 5): slurmctld checks time limits every 30 s and sends the --signal warning
# at the first check where elapsed >= time - warning - 30 s, here 120 - 70 - 30 = 20 s, so
# each run trains for 20-50 s (on a cluster started by this test, about 28 s first, then
# about 43 s) and never comes near the 120 s limit itself; with AuthInfo=cred_expire=10
# and sched_interval=1 a requeued job starts again about 11 s later.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/slurm/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
slurm_up
[ "$STARTED_CLUSTER" -eq 1 ] || echo "note: the cluster was already running, so when its 30 s checks fall is unknown"
export FMNIST_GRID_BUILD=$BIN
GRID=$SRC/tests/slurm/requeue.yaml
D=$TMP/rq
cd "$TMP" || exit 1

t0=$(now)
job=$(sbatch --parsable --ntasks=2 --time=2 --signal=B:USR1@70 --output="$TMP/rq-%j.out" \
      "$SRC/slurm/fmnist-grid.sbatch" "$GRID" "$D" -q --no-refit --grace 20)
[ -n "$job" ] && pass || { fail "sbatch failed"; finish; exit; }
# The uninterrupted reference, meanwhile (it does not touch the cluster).
"$BIN" -q --no-refit --out "$TMP/one" "$GRID" > "$TMP/one.log" 2>&1 &
ref=$!
wait_job "$job" 400
echo "requeued job: $(seconds_since "$t0") s from submission to report," \
     "$(job_field "$job" Restarts) requeue(s) (--time=2 --signal=B:USR1@70, --grace 20)"
wait "$ref" && pass || { fail "reference run failed"; cat "$TMP/one.log" >&2; }
log=$TMP/rq-$job.out
expect_job "$job" "requeued job" "$log"
restarts=$(job_field "$job" Restarts)
if [ "${restarts:-0}" -ge 1 ]; then pass; else
  fail "job $job was never requeued (Restarts=${restarts:-?}): the search ended before the time-limit" \
       "signal; tests/slurm/requeue.yaml is too short for this machine (raise its epochs)"
fi
expect_in "$log" "SIGUSR1 received" "the batch shell got the time-limit signal"
expect_in "$log" "interrupted by signal 10" "fmnist-grid checkpointed on the forwarded signal"
expect_in "$log" "requeued, it will resume" "the script requeued the job"
expect_in "$log" "requeued 1 time(s): resuming" "the requeued job resumed"
# Every task exactly once in the journal: nothing finished was run again.
grep -o '"task":[0-9]*' "$D/journal.jsonl" | sort > "$TMP/tasks"
[ "$(wc -l < "$TMP/tasks")" -eq 24 ] && [ "$(sort -u "$TMP/tasks" | wc -l)" -eq 24 ] && pass ||
  fail "journal holds $(wc -l < "$TMP/tasks") task records ($(sort -u "$TMP/tasks" | wc -l) distinct), expected 24"
same_scores "$TMP/one/cv_results.csv" "$D/cv_results.csv" "requeued job vs one uninterrupted process"
finish
