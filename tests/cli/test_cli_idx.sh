#!/usr/bin/env bash
# Any IDX data set: a synthetic one written here (16x16 images, 5 classes, gzip'd), searched
# end to end without data.shape or data.classes (the shape from the IDX header, the class
# count from the labels: search, report with the grid's class names, model file, predict,
# report DIR from the recorded shape and classes), once with data.classes and data.shape,
# and the errors of a data set that does not fit (class names, class count, the network's
# output count, a model's image shape).
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"

# idx_set DIR PREFIX N H W SEED: DIR/PREFIX-images-idx3-ubyte.gz and ...-labels-idx1-ubyte.gz,
# N images of HxW whose class k (label i mod 5) is a bright band of rows 3k..3k+2 (scaled to
# H) on a dark noisy background: a tiny MLP learns it.
idx_set() {
  local dir=$1 pre=$2 n=$3 h=$4 w=$5 seed=$6
  mkdir -p "$dir"
  LC_ALL=C awk -v n="$n" -v h="$h" -v w="$w" -v seed="$seed" -v img="$dir/$pre-images-idx3-ubyte" \
    -v lab="$dir/$pre-labels-idx1-ubyte" '
    function be32(f, x) { printf "%c%c%c%c", int(x / 16777216) % 256, int(x / 65536) % 256,
                                           int(x / 256) % 256, x % 256 > f }
    BEGIN {
      srand(seed)
      be32(img, 2051); be32(img, n); be32(img, h); be32(img, w)
      be32(lab, 2049); be32(lab, n)
      for (i = 0; i < n; i++) {
        k = i % 5
        printf "%c", k > lab
        lo = int(k * 3 * h / 16); hi = int((k * 3 + 3) * h / 16)
        for (r = 0; r < h; r++)
          for (c = 0; c < w; c++)
            printf "%c", (r >= lo && r < hi) ? 180 + int(rand() * 70) : int(rand() * 60) > img
      }
    }'
  gzip -f "$dir/$pre-images-idx3-ubyte" "$dir/$pre-labels-idx1-ubyte"
}

D=$TMP/data16
idx_set "$D" train 300 16 16 1
idx_set "$D" t10k 100 16 16 2
[ -s "$D/train-images-idx3-ubyte.gz" ] && [ -s "$D/t10k-labels-idx1-ubyte.gz" ] && pass || fail "synthetic IDX set"

# grid NAME CLASSES_LINE NAMES_LINE OUTPUTS [SHAPE_LINE]: a tiny MLP grid on $D
grid() {
  cat > "$TMP/$1.yaml" <<EOF
name: $1
seed: 0
data:
  dir: $D
$2
$3
${5-  shape: [16, 16]}
cv:
  folds: 3
train:
  optimizer: sgd
  learning_rate: 0.1
  batch_size: 20
  epochs: 6
model:
  - {type: flatten}
  - {type: dense, units: \$units, activation: relu}
  - {type: dense, units: $4, activation: softmax}
grid:
  units: [8, 16]
EOF
}

# 1) search, report, model file, predict: no data.shape, no data.classes
grid idx "" "  class_names: [top, upper, middle, lower, bottom]" 5 ""
OUT=$TMP/run
expect_exit 0 "search on a 16x16, 5-class IDX set" -- "$BIN" -q --out "$OUT" "$TMP/idx.yaml"
for f in cv_results.csv report.md report.yaml model.fgm; do
  [ -s "$OUT/$f" ] && pass || fail "missing $f"
done
expect_in "$OUT/report.md" "| true class | top | upper | middle | lower | bottom | accuracy |" \
  "report.md: the refit's confusion matrix with the grid's class names"
expect_in "$OUT/report.md" "scored on 100 test images" "report.md: the test images counted"
# the journal's refit record holds a 5x5 confusion matrix
conf=$(grep '"fold":-1' "$OUT/journal.jsonl" | sed -n 's/.*"confusion":\[\([0-9,]*\)\].*/\1/p' | tr ',' '\n' | wc -l)
[ "$conf" -eq 25 ] && pass || fail "the refit's confusion has $conf counts, expected 25"
# the journal's header and report.yaml record the data's shape and class count (not 28x28x1, 10)
head -1 "$OUT/journal.jsonl" | grep -q '"shape":"16x16x1","classes":5' && pass || fail "journal header: shape and classes"
expect_in "$OUT/report.yaml" "shape: 16x16x1" "report.yaml: data.shape"
expect_in "$OUT/report.yaml" "classes: 5" "report.yaml: data.classes"
want=$(awk '/^refit:/ { r=1 } r && /test_accuracy:/ { print $2; exit }' "$OUT/report.yaml")
awk -v a="$want" 'BEGIN { exit !(a + 0 > 0.6) }' && pass || fail "refit test accuracy $want, expected > 0.6"
expect_exit 0 "predict on the same data set" -- "$BIN" predict "$OUT/model.fgm" --data "$D"
expect_in "$TMP/out" "accuracy $(printf '%.4f' "$want") ($want)" "predict gives the refit's test accuracy"
expect_in "$TMP/out" "images $D/t10k-images-idx3-ubyte.gz: 100" "predict: the test images"
# report DIR rewrites the same report from the journal
cp "$OUT/report.md" "$TMP/before.md"
expect_exit 0 "report DIR" -- "$BIN" report "$OUT"
expect_in "$OUT/report.md" "| true class | top | upper | middle | lower | bottom | accuracy |" \
  "report DIR: the class names again"
diff <(grep -v '^This report was regenerated\|^$' "$TMP/before.md") <(grep -v '^This report was regenerated\|^$' "$OUT/report.md") \
  > /dev/null && pass || fail "report DIR: report.md differs from the search's (the recorded shape and classes)"
# reproduce takes the shape and the class count from report.yaml
expect_exit 0 "reproduce the best configuration" -- "$BIN" reproduce -q --verify "$OUT/report.yaml"

# 1b) the same search with data.classes and data.shape given
grid idxc "  classes: 5" "" 5 "  shape: [16, 16, 1]"
expect_exit 0 "search with data.classes and data.shape" -- "$BIN" -q --no-refit --out "$TMP/runc" "$TMP/idxc.yaml"
expect_in "$TMP/runc/cv_results.csv" "units" "cv_results.csv written"

# 2) a model trained on 16x16 images refused on 28x28 data: exit 2, one line
D28=$TMP/data28
idx_set "$D28" t10k 20 28 28 3
expect_exit 2 "predict on 28x28 images" -- "$BIN" predict "$OUT/model.fgm" --data "$D28"
expect_in "$TMP/err" "images are 28x28x1, but the model $OUT/model.fgm takes 16x16x1" "shape mismatch message"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "shape mismatch: $(wc -l < "$TMP/err") lines, expected 1"

# 3) errors: images of another shape than data.shape, names that do not match the classes,
# labels beyond data.classes
grid shape28 "  classes: 5" "" 5 "  shape: [28, 28]"
expect_exit 2 "16x16 images, the grid for 28x28" -- "$BIN" -q --out "$TMP/ns" "$TMP/shape28.yaml"
expect_in "$TMP/err" "train-images-idx3-ubyte.gz: images are 16x16, but the grid $TMP/shape28.yaml is built and checked for 28x28 images" \
  "images of another shape than the grid's data.shape"
grid shape3 "  classes: 5" "" 5 "  shape: [16, 16, 3]"
expect_exit 2 "one channel, the grid for three" -- "$BIN" -q --out "$TMP/s3" "$TMP/shape3.yaml"
expect_in "$TMP/err" "images are 16x16, but the grid $TMP/shape3.yaml is built and checked for 16x16x3 images" \
  "channels against data.shape"
grid names3 "  classes: 5" "  class_names: [a, b, c]" 5
expect_exit 2 "class_names shorter than data.classes" -- "$BIN" -q --out "$TMP/n3" "$TMP/names3.yaml"
expect_in "$TMP/err" "names3.yaml:6:16: data.class_names lists 3 names, but data.classes is 5" "class_names count"
grid names4 "" "  class_names: [a, b, c, d]" 5
expect_exit 2 "class_names against the labels' classes" -- "$BIN" -q --out "$TMP/n4" "$TMP/names4.yaml"
expect_in "$TMP/err" "names4.yaml:6:16: data.class_names lists 4 names, but the data have 5 classes" \
  "class_names against the labels' classes (without data.classes)"
grid four "  classes: 4" "" 4
expect_exit 2 "labels beyond data.classes" -- "$BIN" -q --out "$TMP/c4" "$TMP/four.yaml"
expect_in "$TMP/err" "train-labels-idx1-ubyte.gz: label 4 at index 4 is outside 0..3" "label outside data.classes"
# 4) a network whose output count is not the data's class count: one line at the last
# layer's units, before any training (without data.classes: the labels' count, and the hint)
grid out4 "" "" 4
expect_exit 2 "4 outputs for 5 classes" -- "$BIN" -q --out "$TMP/o4" "$TMP/out4.yaml"
expect_in "$TMP/err" "out4.yaml:18:26: the last layer outputs 4 values, but the data have 5 classes (labels 0..4; data.classes says the data have more) (configuration 0: units=8)" \
  "output count against the labels' classes"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "output count: $(wc -l < "$TMP/err") lines, expected 1"
[ ! -e "$TMP/o4/journal.jsonl" ] || ! grep -q '"task"' "$TMP/o4/journal.jsonl" && pass || fail "output count: a task ran"
grid out6 "  classes: 6" "" 5 "  shape: [16, 16]"
expect_exit 2 "5 outputs for data.classes 6" -- "$BIN" -q --out "$TMP/o6" "$TMP/out6.yaml"
expect_in "$TMP/err" "out6.yaml:18:26: the last layer outputs 5 values, but data.classes is 6" "output count against data.classes"
# the dry run reads no data: it says what it assumes
expect_exit 0 "dry run without data.shape and data.classes" -- "$BIN" --dry-run "$TMP/idx.yaml"
expect_in "$TMP/out" "input: 28x28 images assumed (a search takes the IDX header's shape; data.shape fixes it)" \
  "dry run: the shape assumed"
expect_in "$TMP/out" "classes: each model's output count assumed" "dry run: the class count assumed"
grid bad_shape "" "" 10 "  shape: [16, 16, 5]"
expect_exit 2 "data.shape with 5 channels" -- "$BIN" -q --out "$TMP/b5" "$TMP/bad_shape.yaml"
expect_in "$TMP/err" "bad_shape.yaml:7:19: data.shape 5 must be in [1, 4]" "data.shape's channels out of range"
finish
