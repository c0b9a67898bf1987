#!/usr/bin/env bash
# Keras HDF5 weights against PyTorch (label torch): files in both Keras layouts, written by
# tests/h5w/keras_weights.py with Debian's h5py and seeded random values, for a small
# VGG-shaped network (conv, batch norm, pooling, dense, LeakyReLU; Keras 2's save_weights
# layout) and for VGG16's full base (14,714,688 values, 59 MB in /tmp; the applications'
# notop layout). fmnist-grid's loader and forward pass (h5w_forward, through the grid's
# preprocessing layers) must match an independent float64 PyTorch forward pass with the
# kernels transposed from HWIO, to 1e-4 of each output's largest value.
# Skipped (77) without python3-torch or python3-h5py unless FG_TORCH_REQUIRE=1.
#   test_cli_weights_torch.sh BIN SRCDIR H5W_FORWARD
BIN=${1:?} SRC=${2:?} FWD=${3:?}
. "$SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
if ! $PY -c 'import torch, h5py' 2>/dev/null; then
  [ "${FG_TORCH_REQUIRE:-0}" = 1 ] && { echo "FAIL: python3-torch or python3-h5py missing"; exit 1; }
  echo "skipped: python3-torch or python3-h5py not installed (tests/bench/install-deps)"; exit 77
fi
KW="$PY $SRC/tests/h5w/keras_weights.py"
N=4
$KW images --n $N --seed 7 --out "$TMP/img.raw"

# the small network, Keras 2 layout, weights on the model, base frozen
$KW write --arch small --layout keras2 --seed 3 --out "$TMP/small.h5"
cat >"$TMP/small.yaml" <<YAML
name: small
model:
  weights: $TMP/small.h5
  freeze_until: b3p
  layers:
$(small_base "    ")
    - {type: flatten, name: flatten}
    - {type: dense, name: fc, units: 12, activation: relu}
    - {type: LeakyReLU, name: leaky, alpha: 0.1}
    - {type: dense, name: out, units: 10, activation: softmax}
YAML
expect_exit 0 "small: forward pass" -- "$FWD" "$TMP/small.yaml" "$TMP/img.raw" $N flatten "$TMP/l.txt" "$TMP/p.txt"
expect_exit 0 "small: against PyTorch" -- $KW torch --arch small --h5 "$TMP/small.h5" --images "$TMP/img.raw" --n $N --layer-out "$TMP/l.txt" --probs-out "$TMP/p.txt"
cat "$TMP/out"
# the same values in the applications' layout load to the same outputs
$KW write --arch small --layout apps --seed 3 --out "$TMP/small-apps.h5"
sed "s|$TMP/small.h5|$TMP/small-apps.h5|" "$TMP/small.yaml" >"$TMP/small-apps.yaml"
expect_exit 0 "small, apps layout: forward pass" -- "$FWD" "$TMP/small-apps.yaml" "$TMP/img.raw" $N flatten "$TMP/l2.txt" "$TMP/p2.txt"
if cmp -s "$TMP/l.txt" "$TMP/l2.txt" && cmp -s "$TMP/p.txt" "$TMP/p2.txt"; then pass; else fail "the two layouts give different outputs"; fi

# VGG16's full base, the applications' layout, through grids/vgg16.yaml
H5=/tmp/fg-vgg16-notop-$$.h5
trap 'rm -rf "$TMP" "$H5"' EXIT
$KW write --arch vgg16 --layout apps --seed 5 --out "$H5"
sed "s|^  weights: .*|  weights: $H5|" "$SRC/grids/vgg16.yaml" >"$TMP/vgg16.yaml"
expect_exit 0 "vgg16: dry run" -- "$BIN" --dry-run "$TMP/vgg16.yaml"
expect_in "$TMP/out" "Non-trainable params: 14714688" "vgg16 frozen base"
expect_in "$TMP/out" "weights of configuration 7: match" "vgg16 weights checked"
expect_exit 0 "vgg16: forward pass" -- "$FWD" "$TMP/vgg16.yaml" "$TMP/img.raw" $N block5_pool "$TMP/l.txt" "$TMP/p.txt"
expect_exit 0 "vgg16: against PyTorch" -- $KW torch --arch vgg16 --h5 "$H5" --images "$TMP/img.raw" --n $N --layer-out "$TMP/l.txt" --probs-out "$TMP/p.txt"
cat "$TMP/out"
finish
