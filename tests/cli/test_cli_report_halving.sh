#!/usr/bin/env bash
# The reports of a successive-halving search, end to end: a tiny halving grid (9
# configurations x 3 folds, factor 3: 9 x 1 epoch, 3 x 3 epochs, 1 x 9 epochs) searched,
# then cv_results.csv's iter and n_resources columns and rows (one per configuration and
# iteration, later iterations ranked first), report.md's Iterations section, report.yaml's
# halving block, the score-against-resource figure's data, and `report DIR` giving the same
# reports again, also without gnuplot.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"; exit 77; fi
cat > "$TMP/halving.yaml" <<'YAML'
name: tiny-halving
seed: 1
data:
  subset: 900
search:
  strategy: halving
  factor: 3
  resource: epochs
  min_resources: 1
cv:
  folds: 3
  shuffle: true
train:
  optimizer: sgd
  epochs: 9
  batch_size: 32
model:
  - {type: dense, units: $units, activation: relu, kernel_initializer: lecun_uniform}
  - {type: dense, units: 10, activation: softmax}
grid:
  units: [8, 16, 32]
  learning_rate: [0.01, 0.05, 0.2]
YAML
OUT=$TMP/run
expect_exit 0 "tiny halving search" -- "$BIN" -q --out "$OUT" "$TMP/halving.yaml"

# cv_results.csv: iter and n_resources first (where HalvingGridSearchCV's cv_results_ has
# them), 9 + 3 + 1 rows; the last iteration's row ranks 1, and every row of a later
# iteration ranks before every row of an earlier one.
CSV=$OUT/cv_results.csv
head -1 "$CSV" | grep -q '^iter,n_resources,mean_fit_time,std_fit_time,' && pass || fail "cv_results.csv header: $(head -1 "$CSV")"
sed 's/"[^"]*"//g' "$CSV" > "$TMP/noquotes.csv"
awk -F, 'NR==1 { for (i=1;i<=NF;i++) col[$i]=i; next }
  { n[$1]++; res[$1]=$2; r=$col["rank_test_score"]
    if (!($1 in lo) || r < lo[$1]) lo[$1]=r; if (!($1 in hi) || r > hi[$1]) hi[$1]=r
    if ($1 == 2) best=$col["config"] }
  END { ok = n[0]==9 && n[1]==3 && n[2]==1 && res[0]==1 && res[1]==3 && res[2]==9 && lo[2]==1 && hi[2] < lo[1] && hi[1] < lo[0]
        print best; exit !ok }' "$TMP/noquotes.csv" > "$TMP/best" \
  && pass || { fail "cv_results.csv rows (iter, n_resources, ranks)"; cat "$CSV" >&2; }
best=$(cat "$TMP/best")

# report.md: the Iterations section, per iteration its candidates, resource, tasks and promotions.
MD=$OUT/report.md
expect_in "$MD" "## Iterations" "report.md Iterations section"
expect_in "$MD" "factor 3, resource epochs from 1 to 9, 3 iterations" "report.md schedule"
expect_in "$MD" "| iteration | candidates | epochs | tasks done | CPU time | promoted |" "report.md Iterations table"
grep -qE '^\| 0 \| 9 \| 1 \| 27 / 27 \| [0-9.]+ (s|min|h) \| 3 \|$' "$MD" && pass || fail "report.md iteration 0 row"
grep -qE '^\| 1 \| 3 \| 3 \| 9 / 9 \| [0-9.]+ (s|min|h) \| 1 \|$' "$MD" && pass || fail "report.md iteration 1 row"
grep -qE '^\| 2 \| 1 \| 9 \| 3 / 3 \| [0-9.]+ (s|min|h) \| – \(last\) \|$' "$MD" && pass || fail "report.md iteration 2 row"
expect_in "$MD" "scikit-learn's \`best_index_\`): configuration $best." "report.md best of the last iteration"
expect_in "$MD" "Configuration $best: mean cross-validated accuracy" "report.md best configuration"
expect_in "$MD" "only the candidates of iteration 2" "report.md statistics of the last iteration"

# report.yaml: the iterations and each configuration's iter and n_resources.
Y=$OUT/report.yaml
expect_in "$Y" "halving:" "report.yaml halving block"
awk '/^  iterations:/ { b=1 } b && /n_candidates:/ { c=c $2 "," } b && / n_resources:/ { r=r $2 "," } /^  uncounted_tasks:/ { b=0 }
  END { exit !(c == "9,3,1," && r == "1,3,9,") }' "$Y" && pass || fail "report.yaml iterations"
awk '/^configurations:/ { b=1 } b && /^  iter:/ { n[$2]++ } END { exit !(n[0]==6 && n[1]==2 && n[2]==1) }' "$Y" \
  && pass || fail "report.yaml configurations' iter"
awk -v best="$best" '/^best:/ { b=1 } b && /^  config:/ { ok = $2 == best } b && /^  iter:/ { it=$2 } b && /^  n_resources:/ { exit !(ok && it == 2 && $2 == 9) }' "$Y" \
  && pass || fail "report.yaml best: iteration 2, 9 epochs"

# The figure's data: one line per candidate, 13 points, the best's 3 marked.
RC=$OUT/plots/resource.csv
[ -s "$RC" ] && pass || fail "plots/resource.csv missing"
awk -F, 'NR > 1 && NF == 5 { n++; b += $5 } END { exit !(n == 13 && b == 3) }' "$RC" && pass || fail "resource.csv points"

# report DIR: the same reports from the journal, and complete without gnuplot.
cp -a "$OUT" "$TMP/again"
FG_GNUPLOT=/nonexistent/gnuplot expect_exit 0 "report DIR" -- "$BIN" -q report "$TMP/again"
cmp -s "$CSV" "$TMP/again/cv_results.csv" && pass || fail "report DIR: another cv_results.csv"
cmp -s "$RC" "$TMP/again/plots/resource.csv" && pass || fail "report DIR: another resource.csv"
sed -n '/^## Iterations/,/^## Does/p' "$MD" > "$TMP/it1"
sed -n '/^## Iterations/,/^## Does/p' "$TMP/again/report.md" > "$TMP/it2"
[ -s "$TMP/it1" ] && cmp -s "$TMP/it1" "$TMP/it2" && pass || fail "report DIR: another Iterations section"
expect_in "$TMP/again/report.md" "Note: plots not drawn: gnuplot not found" "report DIR without gnuplot"
finish
