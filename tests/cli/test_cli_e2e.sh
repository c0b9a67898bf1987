#!/usr/bin/env bash
# End to end, one process: a tiny search writes every result file, consistently.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"; exit 77; fi
OUT=$TMP/run
expect_exit 0 "tiny search" -- "$BIN" -q --out "$OUT" "$SRC/tests/grids/tiny.yaml"
for f in grid.yaml journal.jsonl cv_results.csv report.md report.yaml; do
  [ -s "$OUT/$f" ] && pass || fail "missing $f"
done
cmp -s "$OUT/grid.yaml" "$SRC/tests/grids/tiny.yaml" && pass || fail "grid.yaml is not a copy of the grid"
expect_in "$TMP/out" "$OUT/report.md" "report path on stdout"
# cv_results.csv: header with scikit-learn's columns, one row per configuration.
head -1 "$OUT/cv_results.csv" > "$TMP/header"
for col in mean_fit_time std_fit_time param_batch_size param_units params split0_test_score \
           split2_test_score mean_test_score std_test_score rank_test_score status; do
  expect_in "$TMP/header" "$col" "cv_results.csv header"
done
rows=$(($(wc -l < "$OUT/cv_results.csv") - 1))
[ "$rows" -eq 4 ] && pass || fail "cv_results.csv has $rows rows, expected 4"
# Journal: header + 12 tasks + 1 refit, and the session's start and end records.
lines=$(wc -l < "$OUT/journal.jsonl")
[ "$lines" -eq 16 ] && pass || fail "journal has $lines lines, expected 16"
[ "$(grep -c '"task":' "$OUT/journal.jsonl")" -eq 13 ] && pass || fail "journal does not hold 13 task records"
[ "$(grep -c '^{"session":1,' "$OUT/journal.jsonl")" -eq 2 ] && pass || fail "journal does not hold the session's 2 records"
# (quoted fields such as params hold commas: drop them before splitting on commas)
sed 's/"[^"]*"//g' "$OUT/cv_results.csv" > "$TMP/noquotes.csv"
# Scores are accuracies well above chance (10%), mean = average of splits, rank 1 exists.
awk -F, -v OFS=, 'NR==1 { for (i=1;i<=NF;i++) col[$i]=i; next }
  { s0=$col["split0_test_score"]; s1=$col["split1_test_score"]; s2=$col["split2_test_score"];
    m=$col["mean_test_score"];
    if (s0 < 0.3 || s0 > 1 || s1 < 0.3 || s2 < 0.3) { print "bad score " s0; bad=1 }
    d=(s0+s1+s2)/3 - m; if (d < 0) d=-d; if (d > 1e-6) { print "mean " m " != avg"; bad=1 }
    if ($col["rank_test_score"] == 1) ones++ ; if ($col["status"] != "ok") { print "status " $col["status"]; bad=1 } }
  END { if (ones < 1) { print "no rank 1"; bad=1 } exit bad }' "$TMP/noquotes.csv" > "$TMP/awk" \
  && pass || { fail "cv_results.csv content"; cat "$TMP/awk" >&2; }
expect_in "$OUT/report.md" "## Best configuration" "report.md"
expect_in "$OUT/report.md" "test accuracy" "report.md refit"
expect_in "$OUT/report.yaml" "fold_assignment_checksum" "report.yaml"
expect_in "$OUT/report.yaml" "test_accuracy" "report.yaml refit"
# The same search again gives bit-identical scores (determinism).
expect_exit 0 "second run" -- "$BIN" -q --out "$TMP/run2" "$SRC/tests/grids/tiny.yaml"
cut -d, -f5- "$OUT/cv_results.csv" | sed 's/,[^,]*$//' > "$TMP/a"
cut -d, -f5- "$TMP/run2/cv_results.csv" | sed 's/,[^,]*$//' > "$TMP/b"
cmp -s "$TMP/a" "$TMP/b" && pass || fail "two runs of the same grid differ"
# report DIR recomputes the same cv_results.csv from the journal alone.
cp "$OUT/cv_results.csv" "$TMP/before.csv"
rm "$OUT/cv_results.csv"
expect_exit 0 "report DIR" -- "$BIN" report "$OUT"
cmp -s "$OUT/cv_results.csv" "$TMP/before.csv" && pass || fail "report DIR gives a different cv_results.csv"
# `fit --config B` retrains the best configuration alone: the same seed gives the refit's
# test accuracy exactly.
best=$(awk '/^refit:/ { r=1 } r && /^  config:/ { print $2; exit }' "$OUT/report.yaml")
want=$(awk '/^refit:/ { r=1 } r && /test_accuracy:/ { print $2; exit }' "$OUT/report.yaml")
expect_exit 0 "fit --config $best" -- "$BIN" fit --config "$best" "$SRC/tests/grids/tiny.yaml"
got=$(sed -n 's/.*test accuracy \([0-9.]*\),.*/\1/p' "$TMP/out")
awk -v a="$want" -v b="$got" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d < 5e-5) }' \
  && pass || fail "fit --config $best: test accuracy $got, the refit recorded $want"
expect_exit 2 "fit with a configuration out of range" -- "$BIN" fit --config 99 "$SRC/tests/grids/tiny.yaml"
expect_in "$TMP/err" "configurations 0..3" "fit range message"

# A diverging configuration is recorded as such, ranked last with NaN scores, and the
# search (and its refit of the good one) goes on.
expect_exit 0 "search with a diverging configuration" -- "$BIN" -q --out "$TMP/fail" "$SRC/tests/grids/failing.yaml"
sed 's/"[^"]*"//g' "$TMP/fail/cv_results.csv" > "$TMP/fail.csv"
awk -F, 'NR==1 { for (i=1;i<=NF;i++) col[$i]=i; next }
  { st[$col["config"]] = $col["status"]; rk[$col["config"]] = $col["rank_test_score"]; m[$col["config"]] = $col["mean_test_score"] }
  END { exit !(st[0] == "ok" && st[1] == "diverged" && rk[0] == 1 && rk[1] == 2 && m[1] == "") }' "$TMP/fail.csv" \
  && pass || { fail "diverged configuration not ranked last with an empty (NaN) score"; cat "$TMP/fail/cv_results.csv" >&2; }
expect_in "$TMP/fail/report.md" "## Failed tasks" "report lists failed tasks"
expect_in "$TMP/fail/report.md" "loss became NaN or infinite" "failure message in the report"
expect_in "$TMP/fail/report.md" "test accuracy" "the good configuration is refitted"
# A per-task time limit: every task stops at its first check and is recorded as timeout.
sed 's/^seed: 3/seed: 3\ntask_timeout: 0.000001/' "$SRC/tests/grids/failing.yaml" > "$TMP/timeout.yaml"
expect_exit 0 "search whose tasks time out" -- "$BIN" -q --out "$TMP/to" "$TMP/timeout.yaml"
[ "$(grep -c '"status":"timeout"' "$TMP/to/journal.jsonl")" -ge 3 ] && pass || fail "no task recorded as timeout"

# Re-running the finished search into the same directory resumes it: nothing is trained
# again, nothing is counted twice, the scores stay.
cp "$OUT/journal.jsonl" "$TMP/journal.before"
expect_exit 0 "re-run into the same directory" -- "$BIN" --out "$OUT" "$SRC/tests/grids/tiny.yaml"
expect_in "$TMP/err" "12 of 12 tasks are in the journal, 0 to run" "resume message"
cmp -s "$OUT/journal.jsonl" "$TMP/journal.before" && pass || fail "a finished search was changed by re-running it"
cmp -s "$OUT/cv_results.csv" "$TMP/before.csv" && pass || fail "re-run changed cv_results.csv"
# A different grid (another seed) is refused, and the directory is left alone.
expect_exit 2 "different search in the same directory" -- "$BIN" -q --seed 7 --out "$OUT" "$SRC/tests/grids/tiny.yaml"
expect_in "$TMP/err" "holds a different search" "refusal message"
expect_in "$TMP/err" "seed 7, recorded 1" "refusal says what differs"
cmp -s "$OUT/journal.jsonl" "$TMP/journal.before" && pass || fail "a refused run changed the journal"
# simulate: the recorded task times replayed. One rank takes the sum of the fold tasks'
# times, as many ranks as tasks the longest one; the bound column is max(sum / ranks, longest).
expect_exit 0 "simulate" -- "$BIN" simulate "$OUT" --ranks 1,12,64 --csv
grep '"task":' "$OUT/journal.jsonl" | grep -v '"fold":-1' |
  sed 's/.*"fit_time":\([^,]*\),"score_time":\([^,]*\),.*/\1 \2/' |
  awk '{ t = $1 + $2; s += t; if (t > m) m = t } END { printf "%.3f %.3f\n", s, m }' > "$TMP/sums"
read -r sum longest < "$TMP/sums"
awk -F, -v s="$sum" -v m="$longest" 'function near(a, b) { d = a - b; return d < 0.0015 && d > -0.0015 }
  NR == 1 { ok = ($0 == "ranks,makespan_s,bound_s,ratio"); next }
  $1 == 1 { ok = ok && near($2, s) && near($3, s) }
  $1 == 12 || $1 == 64 { ok = ok && near($2, m) && near($3, m) && $4 == "1.0000" }
  END { exit !(ok && NR == 4) }' "$TMP/out" && pass || { fail "simulate: sum $sum longest $longest"; cat "$TMP/out" >&2; }
expect_exit 2 "simulate bad --ranks" -- "$BIN" simulate "$OUT" --ranks 4,x
expect_exit 2 "simulate no results" -- "$BIN" simulate "$TMP/nothing-here"
# Files of something else in the directory: refused, not overwritten.
mkdir -p "$TMP/other" && echo keep > "$TMP/other/report.md"
expect_exit 2 "directory with foreign files" -- "$BIN" -q --out "$TMP/other" "$SRC/tests/grids/tiny.yaml"
[ "$(cat "$TMP/other/report.md")" = keep ] && pass || fail "foreign report.md overwritten"
finish
