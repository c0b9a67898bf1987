#!/usr/bin/env bash
# Two nodes on one machine (label multinode). OpenMPI's launcher starts its daemons through
# tests/cli/fake-ssh, which runs each in a UTS namespace named after its node, so that
# `mpirun --host nodeA:2,nodeB:2` runs 2 ranks on a "nodeA" and 2 on a "nodeB" with the
# shared-memory segments, session directories and image windows of two real nodes, and TCP
# over the loopback between them. Checks:
#  (a) the 2+2-rank search gives the scores (cv_results.csv, the journal) and the
#      byte-identical model.fgm of a one-process run of the same grid and seed;
#  (b) each node maps exactly one image window, shared by its two ranks (the program's
#      "node NAME: ranks ... share one image window" line, one per node), also with the
#      ranks dealt round-robin over the nodes;
#  (c) nodeA (rank 0's node) lost after the 2nd journal record (FG_FAULT=nodekill:2 kills
#      its ranks at that exact point: no timing), then --resume on nodeB alone: results
#      identical to the uninterrupted run.
# Skipped (exit 77, with the reason) where `unshare --uts` is not allowed (an unprivileged
# container), unless FG_MULTINODE_REQUIRE=1 (CI), which makes that a failure.
BIN=$1 SRC=$2 MPIEXEC=${3:-mpirun}
. "$SRC/tests/cli/lib.sh"
skip() {
  if [ "${FG_MULTINODE_REQUIRE:-0}" = 1 ]; then
    echo "FAIL: $1 (and FG_MULTINODE_REQUIRE=1)" >&2
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}
data_available || skip "Fashion-MNIST not installed"
command -v "$MPIEXEC" >/dev/null 2>&1 || skip "no mpirun ($MPIEXEC)"
"$MPIEXEC" --version 2>/dev/null | grep -qE "Open MPI|OpenRTE" || skip "$MPIEXEC is not Open MPI's (the test uses its rsh launcher)"
command -v unshare >/dev/null 2>&1 || skip "no unshare (util-linux)"
if ! why=$(unshare --uts sh -c 'hostname fg-probe && [ "$(hostname)" = fg-probe ]' 2>&1); then
  skip "unshare --uts is not allowed here (it needs CAP_SYS_ADMIN): ${why:-no reason given}"
fi

GRID=$SRC/tests/grids/tiny.yaml
AGENT=$SRC/tests/cli/fake-ssh
# What the suite sets for the ranks (the sanitizer build's options, tests/sanitize.sh's
# OpenBLAS threads) must reach the ranks of the simulated nodes, whose environment fake-ssh
# starts afresh as ssh would: mpirun -x passes it on, as on a real cluster.
FWD=()
for v in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS OPENBLAS_NUM_THREADS; do
  if [ -n "${!v:-}" ]; then FWD+=(-x "$v"); fi
done
# on_nodes HOSTS NP [MPIRUN OPTIONS] -- PROGRAM ARGUMENTS: the program on simulated nodes,
# bounded by timeout so that a hang fails instead of blocking the suite.
on_nodes() {
  local hosts=$1 np=$2 opts=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  timeout 300 "$MPIEXEC" --mca plm_rsh_agent "$AGENT" --host "$hosts" -np "$np" \
    --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo "${FWD[@]}" "${opts[@]}" "$BIN" "$@"
}
records() { grep -c '"task":' "$1"; }
folds() { grep -c '"task":.*"fold":[0-9]' "$1"; }
# config, fold, validation and test accuracy of the journal's records, in a fixed order:
# every fold record, then the refit of configuration $BEST (the best: the one process's
# only refit). With several ranks, the configuration leading while the last folds run may
# be refitted early as well: an extra refit record, which changes nothing else.
journal_scores() {
  grep '"task":' "$1" | sed -E 's/.*"config":([0-9-]+),"fold":([0-9-]+),.*"val_acc":([^,]*),.*"test_acc":([^,]*),.*/\1 \2 \3 \4/' |
    awk -v best="$BEST" '$2 >= 0 || $1 == best' | sort
}
hosts_of() { grep '"task":' "$1" | sed -E 's/.*"host":"([^"]*)".*/\1/'; }

# The reference: one process.
expect_exit 0 "one process" -- "$BIN" -q --out "$TMP/one" "$GRID"
scores "$TMP/one/cv_results.csv" > "$TMP/one.scores"
BEST=$(grep '"fold":-1,' "$TMP/one/journal.jsonl" | sed -E 's/.*"config":([0-9]+),.*/\1/')
journal_scores "$TMP/one/journal.jsonl" > "$TMP/one.journal"

# (a), (b): 2 ranks on nodeA, 2 on nodeB.
expect_exit 0 "2+2 ranks on nodeA and nodeB" -- on_nodes nodeA:2,nodeB:2 4 -- --out "$TMP/two" "$GRID"
cp "$TMP/err" "$TMP/two.err"
scores "$TMP/two/cv_results.csv" > "$TMP/two.scores"
grep -q split0_test_score "$TMP/one.scores" && pass || fail "no split scores compared"
cmp -s "$TMP/one.scores" "$TMP/two.scores" && pass || { fail "cv_results.csv scores differ between 1 process and 2+2 ranks"; diff "$TMP/one.scores" "$TMP/two.scores" >&2; }
journal_scores "$TMP/two/journal.jsonl" > "$TMP/two.journal"
[ "$(wc -l < "$TMP/one.journal")" -eq 13 ] && pass || fail "the reference journal holds other than 12 tasks + the best's refit"
cmp -s "$TMP/one.journal" "$TMP/two.journal" && pass || { fail "journal scores differ between 1 process and 2+2 ranks"; diff "$TMP/one.journal" "$TMP/two.journal" >&2; }
cmp -s "$TMP/one/model.fgm" "$TMP/two/model.fgm" && pass || fail "model.fgm of 2+2 ranks differs from one process's"
hosts_of "$TMP/two/journal.jsonl" | grep -qx nodeA && pass || fail "no journal record from nodeA"
# Which tasks nodeB's ranks get depends on timing; that they took part does not.
expect_in "$TMP/two/report.md" "| ranks | 4 (" "report records 4 ranks"
expect_in "$TMP/two.err" "fmnist-grid: node nodeA: ranks 0,1 share one image window" "nodeA's window"
expect_in "$TMP/two.err" "fmnist-grid: node nodeB: ranks 2,3 share one image window" "nodeB's window"
n=$(grep -c "^fmnist-grid: node " "$TMP/two.err")
[ "$n" -eq 2 ] && pass || { fail "$n node lines, expected one per node"; grep "^fmnist-grid: node " "$TMP/two.err" >&2; }

# The same with the ranks dealt round-robin (--map-by node): each node's window is shared
# by ranks that are not neighbours, and the scores do not change.
expect_exit 0 "2+2 ranks mapped by node" -- on_nodes nodeA:2,nodeB:2 4 --map-by node -- --out "$TMP/rr" "$GRID"
expect_in "$TMP/err" "fmnist-grid: node nodeA: ranks 0,2 share one image window" "nodeA's window, by node"
expect_in "$TMP/err" "fmnist-grid: node nodeB: ranks 1,3 share one image window" "nodeB's window, by node"
scores "$TMP/rr/cv_results.csv" > "$TMP/rr.scores"
cmp -s "$TMP/one.scores" "$TMP/rr.scores" && pass || fail "scores differ with ranks mapped by node"

# (c): nodeA (ranks 0 and 1) lost right after the 2nd journal record, then the search
# resumed on nodeB alone.
on_nodes nodeA:2,nodeB:2 4 -x FG_FAULT=nodekill:2 -- -q --out "$TMP/lost" "$GRID" >"$TMP/lost.out" 2>&1 </dev/null
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass || { fail "a job that lost a node exited $rc"; tail -5 "$TMP/lost.out" >&2; }
n=$(records "$TMP/lost/journal.jsonl")
[ "$n" -eq 2 ] && pass || fail "losing nodeA after record 2 left $n records"
expect_exit 0 "resume on nodeB alone" -- on_nodes nodeB:2 2 -- --resume "$TMP/lost"
expect_in "$TMP/err" "resuming: 2 of 12 tasks are in the journal, 10 to run" "resume skips the journal's tasks"
expect_in "$TMP/err" "fmnist-grid: node nodeB: ranks 0,1 share one image window" "nodeB's window on resume"
[ "$(folds "$TMP/lost/journal.jsonl")" -eq 12 ] && pass || fail "after the resume: not 12 fold records"
[ "$(hosts_of "$TMP/lost/journal.jsonl" | tail -n +3 | sort -u)" = nodeB ] && pass || fail "records after the resume are not all nodeB's"
scores "$TMP/lost/cv_results.csv" > "$TMP/lost.scores"
cmp -s "$TMP/one.scores" "$TMP/lost.scores" && pass || { fail "resumed scores differ"; diff "$TMP/one.scores" "$TMP/lost.scores" >&2; }
journal_scores "$TMP/lost/journal.jsonl" > "$TMP/lost.journal"
cmp -s "$TMP/one.journal" "$TMP/lost.journal" && pass || { fail "resumed journal scores differ"; diff "$TMP/one.journal" "$TMP/lost.journal" >&2; }
cmp -s "$TMP/one/model.fgm" "$TMP/lost/model.fgm" && pass || fail "model.fgm after losing a node and resuming differs"
finish
