#!/usr/bin/env bash
# The training recipe end to end (tests/grids/recipe.yaml): its configurations that leave
# the recipe off score exactly as tiny.yaml's; an augmented search gives identical scores,
# report and model file on 1 and 3 ranks; reproduce --verify re-runs an augmented
# configuration (and the refit) to identical scores; a killed search resumes to the same
# scores; the model file carries the recipe.
BIN=$1 SRC=$2 MPIEXEC=${3:-mpirun}
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
GRID=$SRC/tests/grids/recipe.yaml
expect_exit 0 "recipe search, one process" -- "$BIN" -q --out "$TMP/one" "$GRID"
expect_exit 0 "tiny search" -- "$BIN" -q --out "$TMP/tiny" "$SRC/tests/grids/tiny.yaml"
# split scores (columns named split*) of the first four rows
splits() {
  awk -F, 'NR==1 { for (i=1;i<=NF;i++) if ($i ~ /^split/) keep[i]=1; next }
           NR<=5 { line=""; for (i=1;i<=NF;i++) if (keep[i]) line=line $i ","; print line }' \
    <(sed 's/"[^"]*"//g' "$1")
}
splits "$TMP/one/cv_results.csv" > "$TMP/a"
splits "$TMP/tiny/cv_results.csv" > "$TMP/b"
[ "$(wc -l < "$TMP/a")" -eq 4 ] && pass || fail "no four configurations compared"
cmp -s "$TMP/a" "$TMP/b" && pass || { fail "the recipe left off does not score as tiny.yaml"; diff "$TMP/a" "$TMP/b" >&2; }
grep -q '"config":4,.*"status":"ok"' "$TMP/one/journal.jsonl" && pass || fail "augmented configuration 4 did not train"
grep -q '"config":5,.*"status":"ok"' "$TMP/one/journal.jsonl" && pass || fail "adamw configuration 5 did not train"

if [ -x "$(command -v "$MPIEXEC")" ]; then
  expect_exit 0 "recipe search, mpirun -np 3" -- "$MPIEXEC" --oversubscribe -np 3 "$BIN" -q --out "$TMP/three" "$GRID"
  scores "$TMP/one/cv_results.csv" > "$TMP/s1"
  scores "$TMP/three/cv_results.csv" > "$TMP/s3"
  cmp -s "$TMP/s1" "$TMP/s3" && pass || { fail "scores differ between 1 and 3 ranks"; diff "$TMP/s1" "$TMP/s3" >&2; }
  cmp -s "$TMP/one/model.fgm" "$TMP/three/model.fgm" && pass || fail "model.fgm differs between 1 and 3 ranks"
else
  echo "note: no $MPIEXEC, the 3-rank comparison is skipped" >&2
fi

# Killed after 9 of 18 journal records, then resumed: the same scores as uninterrupted.
expect_exit 137 "killed after journal record 9" -- env FG_FAULT=kill:9 "$BIN" -q --out "$TMP/kill" "$GRID"
expect_exit 0 "resume" -- "$BIN" -q --resume "$TMP/kill"
scores "$TMP/one/cv_results.csv" > "$TMP/s1"
scores "$TMP/kill/cv_results.csv" > "$TMP/sk"
cmp -s "$TMP/s1" "$TMP/sk" && pass || { fail "resumed scores differ"; diff "$TMP/s1" "$TMP/sk" >&2; }

for k in 4 5; do
  expect_exit 0 "reproduce --verify --config $k" -- "$BIN" reproduce --verify --config $k "$TMP/one/report.yaml"
  expect_in "$TMP/out" "verdict: identical" "configuration $k reproduced"
done
expect_exit 0 "reproduce --verify (best and refit)" -- "$BIN" reproduce --verify "$TMP/one/report.yaml"
expect_in "$TMP/out" "verdict: identical" "best configuration reproduced"
# The refit's model predicts the test set to the refit's accuracy.
want=$(awk '/^refit:/ { r=1 } r && /test_accuracy:/ { print $2; exit }' "$TMP/one/report.yaml")
expect_exit 0 "predict" -- "$BIN" predict "$TMP/one/model.fgm"
expect_in "$TMP/out" "accuracy $(printf '%.4f' "$want") ($want)" "predict accuracy equals the refit's"

# A search whose only configuration is augmented: its refit (and model.fgm, format version
# 2) carries the recipe; reproduce --verify repeats the refit; predict gives its accuracy.
cat > "$TMP/aug.yaml" <<'YAML'
name: aug
seed: 2
data: {subset: 600}
cv: {folds: 2}
train: {optimizer: adamw, learning_rate: 0.003, epochs: 2, batch_size: 32, augment_translate: 1,
        augment_flip: true, augment_erase: 0.2, label_smoothing: 0.1, use_ema: true,
        ema_momentum: 0.9, lr_schedule: cosine, tta_flip: true}
model:
  - {type: flatten}
  - {type: dense, units: 32, activation: relu}
  - {type: dense, units: 10, activation: softmax}
YAML
expect_exit 0 "augmented-only search" -- "$BIN" -q --out "$TMP/aug" "$TMP/aug.yaml"
[ "$(od -An -tu1 -j8 -N1 "$TMP/aug/model.fgm" | tr -d ' ')" = 2 ] && pass || fail "model.fgm is not format version 2"
expect_exit 0 "reproduce --verify of the augmented refit" -- "$BIN" reproduce --verify "$TMP/aug/report.yaml"
expect_in "$TMP/out" "identical (test accuracy)" "augmented refit reproduced"
want=$(awk '/^refit:/ { r=1 } r && /test_accuracy:/ { print $2; exit }' "$TMP/aug/report.yaml")
expect_exit 0 "predict with the augmented model" -- "$BIN" predict "$TMP/aug/model.fgm"
expect_in "$TMP/out" "accuracy $(printf '%.4f' "$want") ($want)" "predict accuracy equals the augmented refit's"
finish
