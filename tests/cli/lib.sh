# Shared helpers for the command-line tests. Each test script sources this file.
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep OpenMPI quiet and local in tests.
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
FAILS=0
PASSES=0
TMP=$(mktemp -d /tmp/fg-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { PASSES=$((PASSES + 1)); }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }

# expect_exit CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit status, keeps
# its stderr in $TMP/err and stdout in $TMP/out.
expect_exit() {
  local want=$1 what=$2; shift 3
  "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then pass; else
    fail "$what: exit $got, expected $want"; sed 's/^/  | /' "$TMP/err" | head -20 >&2; fi
}

# expect_in FILE TEXT DESCRIPTION: FILE contains TEXT (fixed string)
expect_in() {
  if grep -qF -- "$2" "$1"; then pass; else
    fail "$3: '$2' not found in $(basename "$1")"; sed 's/^/  | /' "$1" | head -20 >&2; fi
}

finish() {
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}

# scores CSV: the score columns of a cv_results.csv (parameters, split/mean/std scores,
# rank, status; not timings), quoted fields (params) dropped first, for comparing runs.
scores() {
  awk -F, 'NR==1 { for (i=1;i<=NF;i++) if ($i ~ /^param_|split|mean_test|std_test|rank_test|status/) keep[i]=1 }
           { line=""; for (i=1;i<=NF;i++) if (keep[i]) line=line $i ","; print line }' <(sed 's/"[^"]*"//g' "$1")
}

data_available() { [ -f "${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}/train-images-idx3-ubyte.gz" ]; }

# small_base INDENT: the layers of tests/h5w/keras_weights.py's "small" network up to the end
# of its frozen base (b3p), one YAML list item a line, each after INDENT: the names and
# shapes the tests' weights files hold.
small_base() {
  printf '%s- {type: rescaling, name: to_255, scale: 255}\n' "$1"
  printf '%s- {type: resizing, name: resize, height: 20, width: 20}\n' "$1"
  printf '%s- {type: grayscale_to_rgb, name: rgb}\n' "$1"
  printf '%s- {type: vgg16_preprocess, name: pre}\n' "$1"
  printf '%s- {type: conv2d, name: b1c1, filters: 8, kernel_size: 3, padding: same, activation: relu}\n' "$1"
  printf '%s- {type: conv2d, name: b1c2, filters: 8, kernel_size: 3, padding: same, activation: relu}\n' "$1"
  printf '%s- {type: max_pooling2d, name: b1p}\n' "$1"
  printf '%s- {type: conv2d, name: b2c1, filters: 16, kernel_size: 3, padding: same, activation: relu}\n' "$1"
  printf '%s- {type: batch_normalization, name: bn}\n' "$1"
  printf '%s- {type: max_pooling2d, name: b2p}\n' "$1"
  printf '%s- {type: conv2d, name: b3c1, filters: 16, kernel_size: 3, padding: same, activation: relu}\n' "$1"
  printf '%s- {type: max_pooling2d, name: b3p}\n' "$1"
}
