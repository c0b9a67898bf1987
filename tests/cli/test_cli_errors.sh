#!/usr/bin/env bash
# Bad usage and bad input: a one-line error naming the file (and line:column), exit 2,
# and nothing trained or written.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"

expect_exit 2 "no arguments" -- "$BIN"
expect_in "$TMP/err" "no grid file given" "no-argument message"
expect_exit 2 "unknown option" -- "$BIN" --frobnicate x.yaml
expect_in "$TMP/err" "--frobnicate" "unknown option named"
expect_exit 2 "bad --threads" -- "$BIN" --threads 0 x.yaml
expect_exit 2 "bad --seed" -- "$BIN" --seed -3 x.yaml
expect_exit 0 "--help" -- "$BIN" --help
expect_in "$TMP/out" "Usage: fmnist-grid" "help text"
expect_in "$TMP/out" "--dry-run" "help lists --dry-run"
expect_exit 0 "--version" -- "$BIN" --version
expect_in "$TMP/out" "BLAS:" "version names BLAS"
expect_exit 2 "missing grid file" -- "$BIN" "$TMP/nope.yaml"
expect_in "$TMP/err" "nope.yaml" "missing file named"

# A grid with an error on a known line and column.
cat > "$TMP/bad.yaml" <<'YAML'
name: bad
model:
  - {type: dense, units: 10, activation: softmax}
grid:
  learning_rate: [0.1, -1]
YAML
expect_exit 2 "negative learning rate" -- "$BIN" --out "$TMP/o1" "$TMP/bad.yaml"
expect_in "$TMP/err" "bad.yaml:5:24:" "line:column of the bad value"
[ ! -e "$TMP/o1" ] && pass || fail "a results directory was created for a bad grid"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "error is not one line"

printf 'name: x\nmodel: [\n' > "$TMP/broken.yaml"
expect_exit 2 "malformed YAML" -- "$BIN" "$TMP/broken.yaml"
expect_in "$TMP/err" "broken.yaml:" "malformed YAML names the file"

# Data problems name the file.
mkdir -p "$TMP/data"
expect_exit 2 "empty data directory" -- "$BIN" --data "$TMP/data" --out "$TMP/o2" "$SRC/tests/grids/tiny.yaml"
expect_in "$TMP/err" "$TMP/data" "data directory named"
printf 'garbage' | gzip > "$TMP/data/train-images-idx3-ubyte.gz"
printf 'garbage' | gzip > "$TMP/data/train-labels-idx1-ubyte.gz"
expect_exit 2 "corrupt data" -- "$BIN" --data "$TMP/data" --out "$TMP/o3" "$SRC/tests/grids/tiny.yaml"
expect_in "$TMP/err" "train-images-idx3-ubyte.gz" "corrupt data file named"
FMNIST_DATA="$TMP/data" expect_exit 2 "FMNIST_DATA is used" -- "$BIN" --out "$TMP/o4" "$SRC/tests/grids/tiny.yaml"
expect_in "$TMP/err" "$TMP/data" "FMNIST_DATA directory named"

# A model that needs more memory than the machine has is refused before any work.
cat > "$TMP/huge.yaml" <<'YAML'
name: huge
model:
  - {type: dense, units: 200000, activation: relu}
  - {type: dense, units: 100000, activation: relu}
  - {type: dense, units: 10, activation: softmax}
YAML
if data_available; then
  expect_exit 2 "absurd memory need" -- "$BIN" --out "$TMP/o5" "$TMP/huge.yaml"
  expect_in "$TMP/err" "huge.yaml: configuration 0" "memory refusal names the file and configuration"
  expect_in "$TMP/err" "more than this machine" "memory refusal says why"
  [ ! -e "$TMP/o5" ] && pass || fail "a results directory was created for an absurd grid"
fi

# --dry-run of the study's MLP search: 16 + 3 configurations, 5 folds.
expect_exit 0 "dry run" -- "$BIN" --dry-run "$SRC/grids/mlp.yaml"
expect_in "$TMP/out" "19 configurations x 5 folds = 95 tasks" "mlp.yaml expansion"
expect_in "$TMP/out" "Total params" "model summary"
finish
