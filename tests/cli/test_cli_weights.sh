#!/usr/bin/env bash
# Keras HDF5 weights in a search (label h5py): weights files written by
# tests/h5w/keras_weights.py with Debian's h5py (seeded random values, Keras 2's
# save_weights layout) for a small VGG-shaped network; the dry run checks them and splits
# the parameters into trainable and non-trainable; a search with the frozen base runs; and
# every bad file is refused before any work with exit 2 and one line naming the file, the
# layer and both shapes: a wrong layer name, a wrong shape, a layer missing from the file,
# a truncated file, a file that is not HDF5, a missing file.
# Skipped (77) without python3-h5py unless FG_H5PY_REQUIRE=1.
#   test_cli_weights.sh BIN SRCDIR H5W_FORWARD
BIN=${1:?} SRC=${2:?} FWD=${3:?}
. "$SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
if ! $PY -c 'import h5py, numpy' 2>/dev/null; then
  [ "${FG_H5PY_REQUIRE:-0}" = 1 ] && { echo "FAIL: python3-h5py missing"; exit 1; }
  echo "skipped: python3-h5py not installed (.ci/install-deps-dev)"; exit 77
fi
data_available || { echo "skipped: Fashion-MNIST not installed"; exit 77; }
KW="$PY $SRC/tests/h5w/keras_weights.py"
$KW write --arch small --layout keras2 --seed 3 --out "$TMP/w.h5"

grid() { # grid FILE WEIGHTS [LAYER-WEIGHTS]: the small network with its base frozen
  cat >"$1" <<YAML
name: wsmall
cv: {folds: 2}
train: {optimizer: adam, epochs: 1, batch_size: 50}
model:
  weights: $2
  freeze_until: b3p
  layers:
$(small_base "    ")
    - {type: flatten, name: flatten}
    - {type: dense, name: fc, units: 12, activation: relu${3:+, weights: $3}}
    - {type: LeakyReLU, name: leaky, alpha: 0.1}
    - {type: dense, name: out, units: 10, activation: softmax}
YAML
}

grid "$TMP/g.yaml" "$TMP/w.h5"
expect_exit 0 "dry run" -- "$BIN" --dry-run "$TMP/g.yaml"
expect_in "$TMP/out" "weights of configuration 0: match" "weights checked"
# b1c1 224 + b1c2 584 + b2c1 1168 + bn 64 + b3c1 2320 = 4360 frozen; fc 780 + out 130
expect_in "$TMP/out" "Trainable params: 910" "trainable count"
expect_in "$TMP/out" "Non-trainable params: 4360" "non-trainable count"
expect_exit 0 "search with a frozen base" -- "$BIN" -q --subset 300 -o "$TMP/run" "$TMP/g.yaml"
n_ok=$(grep -c '"status":"ok"' "$TMP/run/journal.jsonl")
if [ "$n_ok" -eq 3 ]; then pass; else fail "expected 2 ok folds and the refit, journal has $n_ok ok"; fi
# the refitted model (preprocessing and frozen layers: model file format 2) loads and predicts
expect_exit 0 "predict with the refitted model" -- "$BIN" predict "$TMP/run/model.fgm"
# the same accuracy as the refit's (a frozen layer's arrays or a preprocessing field lost in
# the file would change it)
want=$(sed -n 's/.*test_accuracy=\([0-9.]*\).*/\1/p' "$TMP/out" | head -n 1)
expect_in "$TMP/out" "($want)" "predict reproduces the refit's test accuracy $want"
# reproduce: the same scores from report.yaml (the weights file read again)
expect_exit 0 "reproduce --verify" -- "$BIN" reproduce --verify "$TMP/run/report.yaml"
expect_in "$TMP/out" "verdict: identical" "reproduced identically"

# refused: exit 2, one line, naming the file and the layer, before any results directory
refused() { # refused WHAT FRAGMENT GRID
  rm -rf "$TMP/o"
  expect_exit 2 "$1" -- "$BIN" -q --subset 300 -o "$TMP/o" "$3"
  expect_in "$TMP/err" "$2" "$1: message"
  [ "$(wc -l <"$TMP/err")" -eq 1 ] && pass || fail "$1: stderr is not one line"
  [ ! -e "$TMP/o" ] && pass || fail "$1: a results directory was created"
}
$KW write --arch small --layout keras2 --seed 3 --rename b1c2=conv_x --out "$TMP/name.h5"
grid "$TMP/g1.yaml" "$TMP/name.h5"
refused "wrong layer name" "$TMP/name.h5: layer 'conv_x' of the file is not a layer of the model" "$TMP/g1.yaml"
$KW write --arch small --layout keras2 --seed 3 --filters b2c1=12 --out "$TMP/shape.h5"
grid "$TMP/g2.yaml" "$TMP/shape.h5"
refused "wrong shape" "$TMP/shape.h5: layer 'b2c1': kernel has shape (3, 3, 8, 12) in the file but (3, 3, 8, 16) in the model" "$TMP/g2.yaml"
$KW write --arch small --layout keras2 --seed 3 --rename fc=fc2 --out "$TMP/nofc.h5"
grid "$TMP/g3.yaml" "$TMP/w.h5" "$TMP/nofc.h5"
refused "layer missing from the file" "$TMP/nofc.h5: has no layer 'fc'" "$TMP/g3.yaml"
head -c 4000 "$TMP/w.h5" >"$TMP/trunc.h5"
grid "$TMP/g4.yaml" "$TMP/trunc.h5"
refused "truncated file" "$TMP/trunc.h5: " "$TMP/g4.yaml"
echo "not hdf5" >"$TMP/text.h5"
grid "$TMP/g5.yaml" "$TMP/text.h5"
refused "not HDF5" "$TMP/text.h5: not an HDF5 file" "$TMP/g5.yaml"
grid "$TMP/g6.yaml" "$TMP/none.h5"
refused "missing file" "$TMP/none.h5: cannot open the Keras weights file: No such file" "$TMP/g6.yaml"
finish
