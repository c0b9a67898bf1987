#!/usr/bin/env bash
# reproduce: a search's report.yaml alone re-runs its best configuration (every fold and the
# refit) to identical scores; a changed score is caught; different data are refused.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
DATA=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
expect_exit 0 "tiny search" -- "$BIN" -q --out "$TMP/run" "$SRC/tests/grids/tiny.yaml"
expect_exit 0 "reproduce --verify" -- "$BIN" reproduce --verify "$TMP/run/report.yaml"
expect_in "$TMP/out" "verdict: identical" "verdict"
expect_in "$TMP/out" "refit" "the refit is reproduced too"
expect_exit 0 "reproduce --config 3" -- "$BIN" reproduce --verify --config 3 "$TMP/run/report.yaml"
expect_in "$TMP/out" "configuration 3:" "another configuration"
# The refit is saved as model.fgm: loading it and predicting the test set gives the refit's
# test accuracy to the last digit (the same network, saved and loaded).
[ -s "$TMP/run/model.fgm" ] && pass || fail "no model.fgm"
want=$(awk '/^refit:/ { r=1 } r && /test_accuracy:/ { print $2; exit }' "$TMP/run/report.yaml")
expect_exit 0 "predict" -- "$BIN" predict "$TMP/run/model.fgm" --output "$TMP/pred.txt"
expect_in "$TMP/out" "accuracy $(printf '%.4f' "$want") ($want)" "predict accuracy equals the refit's"
expect_in "$TMP/out" "Ankle boot" "per-class table with class names"
expect_in "$TMP/out" "confusion matrix" "confusion matrix"
[ "$(wc -l < "$TMP/pred.txt")" -eq 10000 ] && pass || fail "--output does not hold 10000 labels"
# One byte changed in the model file: refused with a clear message.
cp "$TMP/run/model.fgm" "$TMP/bad.fgm"
size=$(wc -c < "$TMP/bad.fgm")
printf '\377' | dd of="$TMP/bad.fgm" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cmp -s "$TMP/run/model.fgm" "$TMP/bad.fgm" && printf '\001' | dd of="$TMP/bad.fgm" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_exit 2 "predict with a damaged model" -- "$BIN" predict "$TMP/bad.fgm"
expect_in "$TMP/err" "bad.fgm" "damaged model named"
expect_in "$TMP/err" "damaged" "damage reported"
echo "not a model" > "$TMP/foreign.fgm"
expect_exit 2 "predict with a foreign file" -- "$BIN" predict "$TMP/foreign.fgm"
expect_in "$TMP/err" "not a fmnist-grid model file" "foreign file refused"

# A report whose fold score was changed is not reproduced: --verify fails and says where.
best=$(awk '/^best:/ { b=1 } b && /^  config:/ { print $2; exit }' "$TMP/run/report.yaml")
awk -v best="$best" '/^configurations:/ { c=1 } c && $0 ~ "^- config: "best"$" { hit=1 }
  hit && /split_test_scores:/ && !done { sub(/\[[0-9.]+/, "[0.123456789"); done=1 } { print }' \
  "$TMP/run/report.yaml" > "$TMP/tampered.yaml"
cmp -s "$TMP/run/report.yaml" "$TMP/tampered.yaml" && fail "could not tamper with the report"
expect_exit 1 "reproduce --verify of a changed report" -- "$BIN" reproduce --verify "$TMP/tampered.yaml"
expect_in "$TMP/out" "verdict: different" "difference reported"
expect_in "$TMP/out" "first difference at fold 0" "where it first appeared"
# One label changed in the training data: refused before any training, naming the data.
mkdir -p "$TMP/data"
cp "$DATA"/train-images-idx3-ubyte.gz "$DATA"/t10k-*.gz "$TMP/data/"
gzip -dc "$DATA/train-labels-idx1-ubyte.gz" > "$TMP/data/train-labels-idx1-ubyte"
byte=$(od -An -tu1 -j100 -N1 "$TMP/data/train-labels-idx1-ubyte" | tr -d ' ')
printf "$(printf '\\%03o' $(( (byte + 1) % 10 )))" | dd of="$TMP/data/train-labels-idx1-ubyte" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_exit 2 "reproduce with changed data" -- "$BIN" reproduce --data "$TMP/data" "$TMP/run/report.yaml"
expect_in "$TMP/err" "the data differ from the report's" "data refusal"
expect_exit 2 "reproduce of a missing report" -- "$BIN" reproduce "$TMP/nope.yaml"
finish
