#!/usr/bin/env bash
# A single-node Slurm 22.05 cluster for the tests, with no systemd and no munge: every
# file (slurm.conf, pid files, logs, spool and state) lives under one directory.
#
#   tests/slurm/cluster.sh start   write slurm.conf, start slurmctld and slurmd, wait until
#                                  the node is idle; prints `export SLURM_CONF=...`
#   tests/slurm/cluster.sh stop    cancel every job, stop both daemons by their pid files,
#                                  remove the directory (kept if FG_SLURM_KEEP=1)
#   tests/slurm/cluster.sh env     print `export SLURM_CONF=...` for a running cluster
#   tests/slurm/cluster.sh status  exit 0 if the cluster answers, 1 otherwise
#
# The directory is $FG_SLURM_DIR (default /tmp/fg-slurm); ports are $FG_SLURM_PORT and
# the next one (default 16817, away from a real Slurm's 6817/6818).
# `start` exits 77 (skip) with the reason when Slurm cannot run here (packages missing,
# not root), unless FG_SLURM_REQUIRE=1, which makes that a failure (exit 1); it exits 1
# with the daemons' logs when they are installed but do not come up.
set -u
DIR=${FG_SLURM_DIR:-/tmp/fg-slurm}
PORT=${FG_SLURM_PORT:-16817}
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF

say() { echo "cluster.sh: $*" >&2; }

skip() {
  if [ "${FG_SLURM_REQUIRE:-0}" = 1 ]; then say "FAIL: $* (FG_SLURM_REQUIRE=1)"; exit 1; fi
  echo "SKIP: Slurm cannot be started here: $*"; exit 77
}

# pid_alive FILE: the pid in FILE is a running process
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

answers() { [ -f "$CONF" ] && pid_alive "$DIR/slurmctld.pid" && timeout 5 sinfo -h >/dev/null 2>&1; }

write_conf() {
  local host
  host=$(hostname -s)
  mkdir -p "$DIR/state" "$DIR/spool"
  # Facts from issue 5: auth/none + cred/none need no munge; linuxproc + task/none need no
  # cgroups; config_overrides lets the node advertise 4 CPUs on a smaller machine;
  # batch_sched_delay=0 starts a batch job about a second after submission;
  # cred_expire=10 lets a requeued job become eligible again after about 11 s instead of
  # 120 s, and sched_interval=1 starts it then (by default the main scheduling loop runs
  # only every 60 s, and nothing else wakes it for a requeued job: measured 27 s).
  # No accounting daemon: job states and exit codes are read with `scontrol show job`,
  # which keeps finished jobs for MinJobAge seconds.
  cat > "$CONF" <<CONF
ClusterName=fgtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=30
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
PlugStackConfig=$DIR/plugstack.conf
NodeName=$host NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  : > "$DIR/plugstack.conf"
}

logs() {
  local f
  for f in "$DIR/slurmctld.log" "$DIR/slurmd.log"; do
    [ -f "$f" ] && { say "last lines of $f:"; tail -20 "$f" | sed 's/^/  | /' >&2; }
  done
}

start() {
  if answers; then say "already running in $DIR"; echo "export SLURM_CONF=$CONF"; return 0; fi
  local d
  for d in slurmctld slurmd sinfo sbatch squeue scontrol scancel srun; do
    command -v "$d" >/dev/null 2>&1 || skip "$d not installed (run .ci/install-deps-slurm)"
  done
  [ "$(id -u)" -eq 0 ] || skip "slurmd must run as root (uid $(id -u))"
  # Leftovers of a cluster that was not stopped: stop it first.
  [ -d "$DIR" ] && stop_daemons
  rm -rf "$DIR"
  write_conf
  # -c: a clean start, no saved jobs. Both fork into the background and write pid files.
  if ! slurmctld -c -f "$CONF"; then say "slurmctld did not start"; logs; exit 1; fi
  if ! slurmd -f "$CONF"; then say "slurmd did not start"; logs; stop_daemons; exit 1; fi
  local _ state=""
  for _ in $(seq 1 60); do                      # at most 30 s
    state=$(timeout 5 sinfo -h -o %T 2>/dev/null | head -1)
    [ "$state" = idle ] && break
    sleep 0.5
  done
  if [ "$state" != idle ]; then
    say "the node is not idle after 30 s (state '${state:-no answer}')"; logs; stop_daemons; exit 1
  fi
  say "single-node Slurm running in $DIR (node $(hostname -s), 4 CPUs)"
  echo "export SLURM_CONF=$CONF"
}

# stop_daemons: TERM each daemon by its pid file, KILL it after 10 s.
stop_daemons() {
  local f pid _
  for f in "$DIR/slurmd.pid" "$DIR/slurmctld.pid"; do
    pid_alive "$f" || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
}

stop() {
  [ -d "$DIR" ] || { say "nothing to stop in $DIR"; return 0; }
  if answers; then
    # Jobs first (issue 5: stop jobs before slurmd), and wait for them to be gone.
    local ids _
    ids=$(squeue -h -o %A 2>/dev/null)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086  # a list of numeric job ids
      scancel $ids 2>/dev/null
      for _ in $(seq 1 40); do                  # at most 20 s
        [ -z "$(squeue -h -t R,CG,PD,CF,S -o %A 2>/dev/null)" ] && break
        sleep 0.5
      done
    fi
  fi
  stop_daemons
  if [ "${FG_SLURM_KEEP:-0}" = 1 ]; then say "stopped; kept $DIR"; else rm -rf "$DIR"; say "stopped"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) if answers; then echo "export SLURM_CONF=$CONF"; else say "no cluster running in $DIR"; exit 1; fi ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
