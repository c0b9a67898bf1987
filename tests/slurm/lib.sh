# Shared helpers for the Slurm tests: sourced after tests/cli/lib.sh (pass/fail/finish,
# $TMP). Starts the single-node cluster of tests/slurm/cluster.sh unless one is already
# running, and stops it at exit only if this test started it.
CLUSTER=$SRC/tests/slurm/cluster.sh
STARTED_CLUSTER=0

slurm_cleanup() {
  [ "$STARTED_CLUSTER" -eq 1 ] && "$CLUSTER" stop >/dev/null 2>&1
  rm -rf "$TMP"
}
trap slurm_cleanup EXIT

# slurm_up: a cluster answers (started here if needed), SLURM_CONF is exported; exits 77
# with the reason printed when Slurm cannot be started here, 1 when it fails to start.
slurm_up() {
  local envline rc
  if "$CLUSTER" status; then
    envline=$("$CLUSTER" env) || exit 1
    echo "using the running cluster ($envline)"
  else
    envline=$("$CLUSTER" start)
    rc=$?
    if [ "$rc" -eq 77 ]; then echo "$envline"; exit 77; fi
    if [ "$rc" -ne 0 ]; then echo "FAIL: the Slurm cluster did not start"; exit 1; fi
    STARTED_CLUSTER=1
  fi
  export SLURM_CONF=${envline#export SLURM_CONF=}
}

# job_field ID FIELD: the value of FIELD (JobState, ExitCode, Restarts...) of job ID from
# `scontrol show job` (finished jobs are kept for MinJobAge = 600 s).
job_field() { scontrol -o show job "$1" 2>/dev/null | head -1 | grep -o "\b$2=[^ ]*" | cut -d= -f2; }

# wait_job ID SECONDS: polls until job ID (every element of an array) has ended; returns 1
# after SECONDS. Polling scontrol is much faster than sbatch --wait.
wait_job() {
  local id=$1 limit=$2 t0 states
  t0=$(date +%s)
  while :; do
    states=$(scontrol -o show job "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*')
    if [ -n "$states" ] && ! echo "$states" | grep -qE 'PENDING|RUNNING|COMPLETING|CONFIGURING|REQUEUE|SUSPENDED|RESIZING|SIGNALING|STAGE_OUT'; then
      return 0
    fi
    if [ $(($(date +%s) - t0)) -ge "$limit" ]; then
      fail "job $id has not ended after $limit s"
      squeue >&2
      scontrol show job "$id" >&2
      return 1
    fi
    sleep 0.5
  done
}

# job_summary ID: "JOBID STATE EXIT" for each element of job ID.
job_summary() {
  scontrol -o show job "$1" 2>/dev/null | awk '{ id = st = ex = "?"
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "JobId") id = kv[2];
      else if (kv[1] == "JobState") st = kv[2]; else if (kv[1] == "ExitCode") ex = kv[2] }
    print id, st, ex }'
}

# expect_job ID WHAT [LOG...]: every element of job ID COMPLETED with exit code 0:0;
# shows the logs otherwise.
expect_job() {
  local id=$1 what=$2 bad f
  shift 2
  bad=$(job_summary "$id" | awk '$2 != "COMPLETED" || $3 != "0:0"')
  if [ -z "$bad" ] && [ -n "$(job_summary "$id")" ]; then pass; else
    fail "$what (job $id): $(echo "${bad:-no such job}" | tr '\n' ';')"
    for f in "$@"; do [ -f "$f" ] && { echo "  $f:" >&2; tail -20 "$f" | sed 's/^/  | /' >&2; }; done
  fi
}

# scores CSV: the param/split/mean/std/rank/status columns of cv_results.csv (quoted
# fields, which hold commas, dropped first): everything but the timings.
scores() { awk -F, 'NR==1 { for (i=1;i<=NF;i++) if ($i ~ /^param_|split|mean_test|std_test|rank_test|status/) keep[i]=1 }
                   { line=""; for (i=1;i<=NF;i++) if (keep[i]) line=line $i ","; print line }' <(sed 's/"[^"]*"//g' "$1"); }

# same_scores A.csv B.csv WHAT
same_scores() {
  scores "$1" > "$TMP/scores.a"
  scores "$2" > "$TMP/scores.b"
  if [ -s "$TMP/scores.a" ] && grep -q split0_test_score "$TMP/scores.a" && cmp -s "$TMP/scores.a" "$TMP/scores.b"; then pass; else
    fail "$3: scores differ"; diff "$TMP/scores.a" "$TMP/scores.b" | head -20 >&2; fi
}

now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
