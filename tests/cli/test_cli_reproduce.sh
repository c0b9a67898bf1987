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

# A damaged report.yaml is refused (exit 2, one line naming report.yaml and the field), never
# retrained into "verdict: different": every field reproduce needs is checked.
R=$TMP/run/report.yaml
refused() { # refused NAME FRAGMENT: reproduce $TMP/NAME.yaml exits 2 with one line holding FRAGMENT
  expect_exit 2 "reproduce $1" -- timeout 60 "$BIN" reproduce "$TMP/$1.yaml"
  [ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || { fail "reproduce $1: not one line"; cat "$TMP/err" >&2; }
  expect_in "$TMP/err" "$TMP/$1.yaml: $2" "reproduce $1: the reason"
  grep -q "verdict" "$TMP/out" && fail "reproduce $1 retrained" || pass
}
sed 's/^  folds: 3$/  folds: 4/' "$R" > "$TMP/folds.yaml"
refused folds "configurations[0].split_test_scores: 3 fold scores, but cv.folds is 4"
sed 's/^seed: 1$//' "$R" > "$TMP/noseed.yaml"
refused noseed "seed: missing (a required field)"
sed 's/^seed: 1$/seed: banana/' "$R" > "$TMP/badseed.yaml"
refused badseed "seed: 'banana' is not an unsigned 64-bit integer"
awk '/^  text: \|/ { t=1 } t && /^    seed: 1$/ { sub(/1$/, "2"); t=0 } { print }' "$R" > "$TMP/text.yaml"
refused text "grid.text does not match its recorded hash grid.sha"
sed 's/^  configurations: 4$/  configurations: 5/' "$R" > "$TMP/nconf.yaml"
refused nconf "configurations: 4 entries, but grid.configurations is 5"
sed 's/^  configurations: 4$/  configurations: 9999999/' "$R" > "$TMP/bigconf.yaml"
refused bigconf "configurations: grid.configurations says 9999999 configurations of 3 folds, more than a"
awk '/^- config: 2$/ { c=1 } c && /split_test_scores:/ && !d { sub(/\[[0-9.]+/, "[1.5"); d=1 } { print }' "$R" > "$TMP/score.yaml"
refused score "configurations[2].split_test_scores: fold score 1.5 outside [0, 1]"
grep -v '^  train_labels_crc32:' "$R" > "$TMP/nocrc.yaml"
refused nocrc "data.train_labels_crc32: missing"
sed 's/^  fold_assignment_checksum: .*/  fold_assignment_checksum: "xyz"/' "$R" > "$TMP/checksum.yaml"
refused checksum "cv.fold_assignment_checksum: 'xyz' is not 16 hexadecimal digits"
sed 's/^  subset: 1200$/  subset: -5/' "$R" > "$TMP/subset.yaml"
refused subset "data.subset: '-5' is not an integer"
awk '/^refit:/ { r=1 } r && /^  config:/ { sub(/[0-9]+$/, "7"); r=0 } { print }' "$R" > "$TMP/refitcfg.yaml"
refused refitcfg "refit.config: 7 is outside 0..3"
awk '/^best:/ { b=1 } b && /^  config:/ && !d { d=1; next } { print }' "$R" > "$TMP/nobest.yaml"
refused nobest "best.config: missing (a required field)"
sed 's/^  test_images_crc32: .*/  test_images_crc32: "00000000"/; s/^  test_labels_crc32: .*/  test_labels_crc32: "00000000"/' "$R" > "$TMP/notest.yaml"
refused notest "data.test_images_crc32 and data.test_labels_crc32 are 00000000"
# A large report.yaml costs memory in proportion to what is kept, not to its size: 20 MB
# of padding under a 300 MB address-space limit (libyaml's document loader needs some 25
# times the file), refused for its real reason.
# (Sanitizer builds reserve terabytes of address space: there the limit is left out, and
# the padding is 2 MB: with the tests' LSAN_OPTIONS every allocation unwinds its stack, and
# libyaml's millions of them would take minutes on a loaded machine.)
VMLIMIT="ulimit -v 300000;" PAD=20000000
grep -q __asan_init "$BIN" 2>/dev/null && VMLIMIT="" PAD=2000000
{ sed 's/^seed: 1$//' "$R"; echo "padding:"; yes '  - 0' | head -c $PAD; } > "$TMP/large.yaml"
expect_exit 2 "reproduce a 20 MB report.yaml in 300 MB" -- bash -c "$VMLIMIT"' exec timeout 300 "$0" reproduce "$1"' "$BIN" "$TMP/large.yaml"
expect_in "$TMP/err" "$TMP/large.yaml: seed: missing (a required field)" "large report.yaml: the real reason"
rm -f "$TMP/large.yaml"
# Not a regular file: a FIFO (open would wait for a writer) and /dev/zero are refused at
# once, as report.yaml and as a model file.
mkfifo "$TMP/fifo.yaml" "$TMP/fifo.fgm"
ln -s /dev/zero "$TMP/zero.yaml"
ln -s /dev/zero "$TMP/zero.fgm"
for f in fifo zero; do
  kind=FIFO; [ $f = zero ] && kind="character device"
  expect_exit 2 "reproduce of a $f" -- timeout 20 "$BIN" reproduce "$TMP/$f.yaml"
  expect_in "$TMP/err" "$TMP/$f.yaml: not a regular file (a $kind)" "reproduce refuses a $f"
  expect_exit 2 "predict with a $f as the model" -- timeout 20 "$BIN" predict "$TMP/$f.fgm"
  expect_in "$TMP/err" "$TMP/$f.fgm: not a regular file (a $kind)" "predict refuses a $f"
  mkdir -p "$TMP/cmp-$f" && ln -s "$TMP/$f.yaml" "$TMP/cmp-$f/report.yaml"
  expect_exit 2 "compare of a $f report" -- timeout 20 "$BIN" compare "$TMP/cmp-$f"
  expect_in "$TMP/err" "report.yaml: not a regular file (a $kind)" "compare refuses a $f"
done
finish
