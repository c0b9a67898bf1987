#!/usr/bin/env bash
# Random search (issue 15) end to end on tests/grids/random.yaml (5 draws from a log-uniform
# learning rate, a randint width and a list): the dry run lists the draws; the search trains
# exactly those configurations (cv_results.csv's params = the dry run's, in draw order) within
# their bounds; 1 and 2 ranks give the same scores; a resume after a kill ends identical;
# reproduce --verify of the best is identical.
BIN=$1 SRC=$2 MPIEXEC=${3:-}
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
GRID=$SRC/tests/grids/random.yaml

expect_exit 0 "dry run" -- "$BIN" --dry-run "$GRID"
expect_in "$TMP/out" "random draws: 5 configurations drawn with seed 4 from the grid's lists and distributions" \
  "the dry run says how the configurations were drawn"
# the draws as the dry run lists them: "act=..., learning_rate=..., units=..."
grep -E '^ +[0-4] +[0-9]+ +[0-9.]+ +act=' "$TMP/out" | sed -E 's/^ +[0-9]+ +[0-9]+ +[0-9.]+ +//' > "$TMP/dry.params"
[ "$(wc -l < "$TMP/dry.params")" -eq 5 ] && pass || fail "the dry run does not list 5 draws"
awk -F'[=,]' '{ lr = $4 + 0; u = $6 + 0; if (!(lr >= 1e-3 && lr <= 0.3 && u >= 8 && u < 40 && u == int(u))) bad = 1 }
              END { exit bad }' "$TMP/dry.params" && pass || fail "a draw outside its bounds"

expect_exit 0 "search" -- "$BIN" -q --out "$TMP/r1" "$GRID"
# cv_results.csv's params column (quoted), in configuration order
python3 - "$TMP/r1/cv_results.csv" > "$TMP/run.params" <<'PY'
import csv, sys
rows = sorted(csv.DictReader(open(sys.argv[1])), key=lambda r: int(r["config"]))
for r in rows:
    print(r["params"])
PY
cmp -s "$TMP/dry.params" "$TMP/run.params" && pass || { fail "the search did not train the dry run's draws"; diff "$TMP/dry.params" "$TMP/run.params" >&2; }
scores "$TMP/r1/cv_results.csv" > "$TMP/r1.scores"

if [ -n "$MPIEXEC" ]; then
  expect_exit 0 "2 ranks" -- "$MPIEXEC" --oversubscribe -np 2 "$BIN" -q --out "$TMP/r2" "$GRID"
  scores "$TMP/r2/cv_results.csv" > "$TMP/r2.scores"
  cmp -s "$TMP/r1.scores" "$TMP/r2.scores" && pass || fail "1 and 2 ranks differ"
fi

expect_exit 137 "killed after record 3" -- env FG_FAULT=kill:3 "$BIN" -q --out "$TMP/rk" "$GRID"
expect_exit 0 "resume" -- "$BIN" -q --resume "$TMP/rk"
scores "$TMP/rk/cv_results.csv" > "$TMP/rk.scores"
cmp -s "$TMP/r1.scores" "$TMP/rk.scores" && pass || fail "the resumed random search differs"

expect_exit 0 "reproduce --verify" -- "$BIN" reproduce --verify "$TMP/r1/report.yaml"
expect_in "$TMP/out" "verdict: identical" "reproduce of the best draw is identical"
finish
