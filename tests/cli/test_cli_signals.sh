#!/usr/bin/env bash
# Signals at the points where they used to be ignored or misreported, injected at exact
# points with FG_FAULT (no timing; every run bounded by timeout, so a hang fails):
#  - during start-up (after parsing, while loading the data; once the node's image window
#    is built; once the results directory is set up): the program ends at once with
#    status 3, one line on stderr, and leaves no results directory, or a complete one
#    without records that --resume finishes to the uninterrupted run's scores;
#  - the same under mpirun: the job ends with status 3 on every rank, no hang;
#  - Ctrl-C (SIGINT) to mpirun mid-search (FG_FAULT=hold:N holds rank 0 after its N-th
#    journal record until a signal comes): OpenMPI 4.1's mpirun sends the ranks SIGCONT,
#    SIGTERM odls_base_sigkill_timeout seconds later, then SIGKILL, and exits 1 whatever
#    they return; the journal keeps what finished. What rank 0 does on a SIGTERM from its
#    launcher (no grace: it journals, writes the partial report, exits 3) is checked
#    without mpirun's SIGKILL deadline, by sending it from the parent. SIGUSR1 to mpirun is
#    forwarded to the ranks: the search stops gracefully and mpirun exits with rank 0's 3.
BIN=$1 SRC=$2 MPIEXEC=${3:-}
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
GRID=$SRC/tests/grids/tiny.yaml
records() { grep -c '"task":' "$1"; }
# one_line FILE DESCRIPTION: FILE holds exactly one line
one_line() {
  [ "$(wc -l < "$1")" -eq 1 ] && pass || { fail "$2: not one line on stderr"; sed 's/^/  | /' "$1" >&2; }
}

expect_exit 0 "uninterrupted run" -- "$BIN" -q --out "$TMP/ref" "$GRID"
scores "$TMP/ref/cv_results.csv" > "$TMP/ref.scores"

# One process: a signal while the data load ends the program at once, nothing created.
for sig in int:2 term:15 usr1:10; do
  name=${sig%%:*} num=${sig#*:}
  expect_exit 3 "SIG${name^^} while loading the data" -- \
    timeout 60 env FG_FAULT=startup:$name "$BIN" --out "$TMP/s-$name" "$GRID"
  expect_in "$TMP/err" "fmnist-grid: stopped by signal $num during start-up, before any task ran (nothing to lose)" \
    "start-up stop message"
  one_line "$TMP/err" "SIG${name^^} while loading the data"
  [ ! -e "$TMP/s-$name" ] && pass || fail "SIG${name^^} while loading the data left $TMP/s-$name"
done
expect_exit 3 "SIGTERM once the image window is built" -- \
  timeout 60 env FG_FAULT=startup:term:window "$BIN" -q --out "$TMP/s-window" "$GRID"
[ ! -e "$TMP/s-window" ] && pass || fail "a signal at the image window left a results directory"
# Once the results directory is set up: it stays complete (grid and journal header, no
# record) and the resume finishes the search.
expect_exit 3 "SIGINT once the results directory is set up" -- \
  timeout 60 env FG_FAULT=startup:int:dir "$BIN" -q --out "$TMP/s-dir" "$GRID"
expect_in "$TMP/err" "during start-up, before any task ran; $TMP/s-dir is set up: continue with: fmnist-grid --resume $TMP/s-dir" \
  "start-up stop message names the directory"
one_line "$TMP/err" "SIGINT once the results directory is set up"
[ -f "$TMP/s-dir/grid.yaml" ] && [ -f "$TMP/s-dir/journal.jsonl" ] && [ "$(records "$TMP/s-dir/journal.jsonl")" -eq 0 ] &&
  pass || fail "the directory set up before the signal is not a grid and a journal without records"
expect_exit 0 "resume after a start-up signal" -- timeout 120 "$BIN" -q --resume "$TMP/s-dir"
scores "$TMP/s-dir/cv_results.csv" > "$TMP/s-dir.scores"
cmp -s "$TMP/ref.scores" "$TMP/s-dir.scores" && pass || fail "resumed scores differ after a start-up signal"

if [ -z "$MPIEXEC" ]; then
  finish
  exit
fi
MPIRUN=(timeout 120 "$MPIEXEC" --oversubscribe -np 3)
# Under mpirun: rank 0 stopped while loading the data; the other ranks wait for it in a
# broadcast and are ended by mpirun (a signal that ends them at once, start-up as well).
expect_exit 3 "mpirun: SIGTERM to rank 0 while loading the data" -- \
  "${MPIRUN[@]}" -x FG_FAULT=startup:term "$BIN" -q --out "$TMP/m-data" "$GRID"
expect_in "$TMP/err" "fmnist-grid: stopped by signal 15 during start-up, before any task ran (nothing to lose)" \
  "mpirun: start-up stop message"
[ ! -e "$TMP/m-data" ] && pass || fail "mpirun: a signal while loading the data left a results directory"
# Every rank signalled once the directory is set up (rank 0 at "dir" holds the others).
expect_exit 3 "mpirun: SIGINT to rank 0 once the directory is set up" -- \
  "${MPIRUN[@]}" -x FG_FAULT=startup:int:dir "$BIN" -q --out "$TMP/m-dir" "$GRID"
[ "$(records "$TMP/m-dir/journal.jsonl")" -eq 0 ] && pass || fail "mpirun: records before the first task"
# The last rank stopped once its window is built: mpirun ends the job with its status 3;
# whatever rank 0 had recorded by then, a resume ends with the reference scores.
expect_exit 3 "mpirun: SIGUSR1 to the last rank at its image window" -- \
  "${MPIRUN[@]}" -x FG_FAULT=startup:usr1:window "$BIN" -q --out "$TMP/m-win" "$GRID"
for d in m-dir m-win; do
  if [ -f "$TMP/$d/journal.jsonl" ]; then
    expect_exit 0 "mpirun: resume of $d" -- "${MPIRUN[@]}" "$BIN" -q --resume "$TMP/$d"
  else
    expect_exit 0 "mpirun: rerun of $d" -- "${MPIRUN[@]}" "$BIN" -q --out "$TMP/$d" "$GRID"
  fi
  scores "$TMP/$d/cv_results.csv" > "$TMP/$d.scores"
  cmp -s "$TMP/ref.scores" "$TMP/$d.scores" && pass || fail "mpirun: $d: resumed scores differ"
done

# A signal to mpirun itself, once rank 0 holds 3 journal records (FG_FAULT=hold:3).
# bg_run DIR COMMAND...: starts COMMAND in the background (bounded by timeout); the pid of
# what it execs (mpirun) goes to $TMP/pid, its status to $TMP/rc.
bg_run() {
  local dir=$1
  shift
  rm -f "$TMP/pid" "$TMP/rc"
  (timeout 300 bash -c 'echo $$ > "$0"; exec "$@"' "$TMP/pid" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
   echo $? > "$TMP/rc") &
}
# wait_until COMMAND...: polls COMMAND for up to 120 s (a condition, not a delay)
wait_until() {
  for _ in $(seq 1200); do
    "$@" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
held() { [ -s "$TMP/pid" ] && [ -f "$1/journal.jsonl" ] && [ "$(records "$1/journal.jsonl")" -ge 3 ]; }

# Ctrl-C: mpirun sends the ranks SIGTERM and, a second later, SIGKILL, and exits 1. The
# journal keeps everything that finished; the resume completes the search. (What rank 0
# manages in that second is checked without mpirun's deadline below.)
bg_run "$TMP/ctrlc" "$MPIEXEC" --oversubscribe -np 3 -x FG_FAULT=hold:3 "$BIN" --out "$TMP/ctrlc" "$GRID"
wait_until held "$TMP/ctrlc" && pass || fail "mpirun: rank 0 never held 3 records"
kill -INT "$(cat "$TMP/pid")"
wait
rc=$(cat "$TMP/rc")
[ "$rc" -eq 1 ] && pass || { fail "mpirun after SIGINT exited $rc; OpenMPI 4.1's exits 1 (update README's Exit status if this changed)"; tail -5 "$TMP/err" >&2; }
n=$(records "$TMP/ctrlc/journal.jsonl")
[ "$n" -ge 3 ] && [ "$n" -le 13 ] && pass || fail "mpirun SIGINT: $n records"
expect_exit 0 "resume after Ctrl-C to mpirun" -- "${MPIRUN[@]}" "$BIN" -q --resume "$TMP/ctrlc"
scores "$TMP/ctrlc/cv_results.csv" > "$TMP/ctrlc.scores"
cmp -s "$TMP/ref.scores" "$TMP/ctrlc.scores" && pass || fail "resumed scores differ after Ctrl-C to mpirun"

# mpirun's SIGTERM, as a rank sees it: a SIGTERM from its parent, with mpirun's variable
# OMPI_MCA_orte_hnp_uri set (here one process whose parent is this shell, so that no
# SIGKILL follows and what rank 0 does is checked exactly). Rank 0 gives up the running
# task at once, journals what finished, writes the partial report, says how to resume and
# exits 3.
OMPI_MCA_orte_hnp_uri=test FG_FAULT=hold:3 "$BIN" --out "$TMP/pterm" "$GRID" >"$TMP/out" 2>"$TMP/err" </dev/null &
pid=$!
held_one() { [ -f "$1/journal.jsonl" ] && [ "$(records "$1/journal.jsonl")" -ge 3 ]; }
wait_until held_one "$TMP/pterm" && pass || fail "rank 0 never held 3 records"
kill -TERM "$pid"
wait_until eval '! kill -0 '"$pid" && pass || { fail "SIGTERM from the launcher: still running"; kill -KILL "$pid"; }
wait "$pid"
rc=$?
[ "$rc" -eq 3 ] && pass || fail "SIGTERM from the launcher: exit $rc, expected 3"
expect_in "$TMP/err" "fmnist-grid: interrupted by signal 15 after 3 of 12 tasks (running tasks abandoned); partial report in $TMP/pterm" \
  "SIGTERM from the launcher: running tasks abandoned at once"
expect_in "$TMP/pterm/report.md" "Partial report" "SIGTERM from the launcher: partial report written"
[ "$(records "$TMP/pterm/journal.jsonl")" -eq 3 ] && pass || fail "SIGTERM from the launcher: not 3 records"
expect_exit 0 "resume after the launcher's SIGTERM" -- timeout 120 "$BIN" -q --resume "$TMP/pterm"
scores "$TMP/pterm/cv_results.csv" > "$TMP/pterm.scores"
cmp -s "$TMP/ref.scores" "$TMP/pterm.scores" && pass || fail "resumed scores differ after the launcher's SIGTERM"
# The same SIGTERM from anyone else (not under mpirun): the graceful stop, running tasks
# finish within --grace.
FG_FAULT=hold:3 "$BIN" --out "$TMP/uterm" "$GRID" >"$TMP/out" 2>"$TMP/err" </dev/null &
pid=$!
wait_until held_one "$TMP/uterm" && pass || fail "rank 0 never held 3 records"
kill -TERM "$pid"
wait_until eval '! kill -0 '"$pid" && pass || { fail "SIGTERM: still running"; kill -KILL "$pid"; }
wait "$pid"
rc=$?
[ "$rc" -eq 3 ] && pass || fail "SIGTERM: exit $rc, expected 3"
expect_in "$TMP/err" "fmnist-grid: interrupted by signal 15 after" "SIGTERM: interruption reported"
grep -q "running tasks abandoned" "$TMP/err" && fail "SIGTERM not from a launcher: running tasks abandoned" || pass

# SIGUSR1 to mpirun: forwarded to every rank; graceful stop, and mpirun exits with 3.
bg_run "$TMP/usr1" "$MPIEXEC" --oversubscribe -np 3 -x FG_FAULT=hold:3 "$BIN" --out "$TMP/usr1" "$GRID"
wait_until held "$TMP/usr1" && pass || fail "mpirun: rank 0 never held 3 records"
kill -USR1 "$(cat "$TMP/pid")"
wait
rc=$(cat "$TMP/rc")
[ "$rc" -eq 3 ] && pass || { fail "mpirun after SIGUSR1 exited $rc, expected 3"; tail -5 "$TMP/err" >&2; }
expect_in "$TMP/err" "fmnist-grid: interrupted by signal 10 after" "mpirun SIGUSR1: rank 0 reports the interruption"
expect_in "$TMP/usr1/report.md" "Partial report" "mpirun SIGUSR1: partial report written"
expect_exit 0 "resume after SIGUSR1 to mpirun" -- "${MPIRUN[@]}" "$BIN" -q --resume "$TMP/usr1"
scores "$TMP/usr1/cv_results.csv" > "$TMP/usr1.scores"
cmp -s "$TMP/ref.scores" "$TMP/usr1.scores" && pass || fail "resumed scores differ after SIGUSR1 to mpirun"
finish
