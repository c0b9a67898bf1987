#!/usr/bin/env bash
# Job-array mode: --shard I/N runs a deterministic, disjoint, complete share of the tasks
# into a shared directory; `report DIR` merges the journals (partial while shards are
# missing) and gives the same scores as one run.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
GRID=$SRC/tests/grids/tiny.yaml
D=$TMP/shards
expect_exit 0 "one run" -- "$BIN" -q --out "$TMP/one" "$GRID"
# Shards 0 and 1 at the same time into the same directory.
"$BIN" -q --shard 0/3 --out "$D" "$GRID" > "$TMP/s0.out" 2>&1 &
p0=$!
"$BIN" -q --shard 1/3 --out "$D" "$GRID" > "$TMP/s1.out" 2>&1 &
p1=$!
wait $p0 && pass || { fail "shard 0 failed"; cat "$TMP/s0.out" >&2; }
wait $p1 && pass || { fail "shard 1 failed"; cat "$TMP/s1.out" >&2; }
expect_exit 0 "partial report" -- "$BIN" report "$D"
expect_in "$TMP/err" "tasks are missing; partial report" "partial report says so"
expect_in "$D/report.md" "Partial report" "report.md marked partial"
expect_exit 0 "shard 2" -- "$BIN" -q --shard 2/3 --out "$D" "$GRID"
# Every task in exactly one shard.
cat "$D"/journal.shard-*.jsonl | grep -o '"task":[0-9]*' | sort > "$TMP/tasks"
[ "$(wc -l < "$TMP/tasks")" -eq 12 ] && pass || fail "shards recorded $(wc -l < "$TMP/tasks") tasks, expected 12"
[ "$(sort -u "$TMP/tasks" | wc -l)" -eq 12 ] && pass || fail "a task ran in two shards"
for i in 0 1 2; do
  n=$(grep -c '"task"' "$D/journal.shard-$i-of-3.jsonl")
  [ "$n" -ge 3 ] && [ "$n" -le 5 ] && pass || fail "shard $i has $n of 12 tasks: not balanced"
done
# Re-running a finished shard runs nothing.
expect_exit 0 "re-run shard 1" -- "$BIN" --shard 1/3 --out "$D" "$GRID"
expect_in "$TMP/err" "0 to run" "finished shard resumes with nothing to run"
expect_exit 0 "merged report" -- "$BIN" report "$D"
expect_in "$TMP/out" "12 of 12 tasks" "merge counts every task"
expect_in "$D/report.md" "test accuracy" "merge refits the best configuration"
scores "$TMP/one/cv_results.csv" > "$TMP/a"
scores "$D/cv_results.csv" > "$TMP/b"
cmp -s "$TMP/a" "$TMP/b" && pass || { fail "merged scores differ from one run"; diff "$TMP/a" "$TMP/b" >&2; }
# A shard of a different grid cannot join the directory.
sed 's/seed: 1/seed: 2/' "$GRID" > "$TMP/other.yaml"
expect_exit 2 "foreign shard" -- "$BIN" -q --shard 0/3 --out "$D" "$TMP/other.yaml"
expect_exit 2 "foreign shard, new index" -- "$BIN" -q --shard 0/4 --out "$D" "$TMP/other.yaml"
expect_in "$TMP/err" "holds another grid file" "foreign shard refused"
expect_exit 2 "bad --shard" -- "$BIN" --shard 3/3 "$GRID"
finish
