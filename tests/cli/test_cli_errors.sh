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

# Options that do not apply to the command are refused (exit 2, one line naming the option
# and the command) before anything is read: none of these files exist.
while IFS='|' read -r frag args; do
  # shellcheck disable=SC2086 # $args is a list of words
  expect_exit 2 "$args" -- "$BIN" $args
  expect_in "$TMP/err" "$frag" "$args: refusal"
  [ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "$args: not one line"
done <<EOF
--ranks does not apply to a search|--ranks 4 --out $TMP/o6 $TMP/g.yaml
--config does not apply to a search|--config 1 --out $TMP/o6 $TMP/g.yaml
--verify does not apply to a search|--verify --out $TMP/o6 $TMP/g.yaml
--output does not apply to a search|--output $TMP/p.txt --out $TMP/o6 $TMP/g.yaml
--csv does not apply to a search|--csv $TMP/g.yaml
--out does not apply to a dry run|--dry-run --out $TMP/o6 $TMP/g.yaml
--threads does not apply to a dry run|--dry-run -t 2 $TMP/g.yaml
--data does not apply to a dry run|--dry-run -d $TMP/data $TMP/g.yaml
--resume does not apply to a dry run|--dry-run --resume $TMP/o6
--seed does not apply to the report command|report $TMP/o6 --seed 3
--subset does not apply to the report command|report $TMP/o6 --subset 100
--grace does not apply to the report command|report $TMP/o6 --grace 5
--ranks does not apply to the report command|report $TMP/o6 --ranks 2
--data does not apply to the compare command|compare $TMP/o6 $TMP/o7 --data $TMP/data
--quiet does not apply to the compare command|-q compare $TMP/o6
--config does not apply to the simulate command|simulate $TMP/o6 --config 1
--verify does not apply to the predict command|predict $TMP/m.fgm --verify
--data does not apply to predict with IMAGES given|predict $TMP/m.fgm $TMP/i $TMP/l --data $TMP/data
--seed does not apply to the reproduce command|reproduce $TMP/r.yaml --seed 1
--output does not apply to the reproduce command|reproduce $TMP/r.yaml --output $TMP/p.txt
--no-refit does not apply to the fit command|fit $TMP/g.yaml --no-refit
--shard does not apply to the fit command|fit $TMP/g.yaml --shard 0/2
--dry-run does not apply to the fit command|fit --dry-run $TMP/g.yaml
EOF
[ ! -e "$TMP/o6" ] && pass || fail "a results directory was created for an option that does not apply"

# A FIFO is refused at once, as a grid file and as a data file: opening one for reading
# would wait for a writer for ever (timeout 60 only turns such a hang into a failure).
mkfifo "$TMP/fifo.yaml"
expect_exit 2 "grid file is a FIFO" -- timeout -k 5 60 "$BIN" --out "$TMP/o8" "$TMP/fifo.yaml"
expect_in "$TMP/err" "fifo.yaml: not a regular file (a FIFO)" "FIFO grid refused"

# Small generated data sets (30 images, 3 of each class) for the checks of the grid's
# settings against the data: be32 N prints N as 4 big-endian bytes; images N H W and
# labels N print IDX files.
be32() { printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"; }
images() { be32 2051; be32 "$1"; be32 "$2"; be32 "$3"; head -c $(($1 * $2 * $3)) /dev/zero; }
labels() { local i; be32 2049; be32 "$1"; for ((i = 0; i < $1; i++)); do printf "\\$(printf '%03o' $((i % 10)))"; done; }
mkdata() { # DIR H W [TEST_H TEST_W]
  mkdir -p "$1"
  images 30 "$2" "$3" | gzip -c > "$1/train-images-idx3-ubyte.gz"
  labels 30 | gzip -c > "$1/train-labels-idx1-ubyte.gz"
  images 30 "${4:-$2}" "${5:-$3}" | gzip -c > "$1/t10k-images-idx3-ubyte.gz"
  labels 30 | gzip -c > "$1/t10k-labels-idx1-ubyte.gz"
}
mkdata "$TMP/d28" 28 28
mkdata "$TMP/d32" 32 32
mkdata "$TMP/d28t32" 28 28 32 32
printf 'name: small\ncv:\n  folds: 3\nmodel:\n  - {type: dense, units: 10, activation: softmax}\n' > "$TMP/small.yaml"
printf 'name: small\ndata:\n  shape: [28, 28]\ncv:\n  folds: 3\nmodel:\n  - {type: dense, units: 10, activation: softmax}\n' > "$TMP/small28.yaml"
expect_exit 2 "images of another size than data.shape" -- "$BIN" --data "$TMP/d32" --out "$TMP/o9" "$TMP/small28.yaml"
expect_in "$TMP/err" "train-images-idx3-ubyte.gz: images are 32x32, but the grid $TMP/small28.yaml is built and checked for 28x28 images" "32x32 images refused"
expect_exit 0 "without data.shape: the images' shape" -- "$BIN" -q --no-refit --data "$TMP/d32" --out "$TMP/o32" "$TMP/small.yaml"
expect_exit 2 "test images of another size" -- "$BIN" --data "$TMP/d28t32" --out "$TMP/o9" "$TMP/small.yaml"
expect_in "$TMP/err" "t10k-images-idx3-ubyte.gz: test images are 32x32" "32x32 test images refused"
expect_exit 2 "--subset larger than the data" -- "$BIN" --data "$TMP/d28" --subset 31 --out "$TMP/o9" "$TMP/small.yaml"
expect_in "$TMP/err" "--subset 31 is more than the 30 training images in $TMP/d28" "--subset too large refused"
expect_exit 2 "--subset too small for the folds" -- "$BIN" --data "$TMP/d28" --subset 20 --out "$TMP/o9" "$TMP/small.yaml"
expect_in "$TMP/err" "small.yaml:3:10: cv.folds 3 is more than the 2 images of class 0 (T-shirt/top) among the 20 images of --subset 20" "--subset too small refused at cv.folds"
expect_in "$TMP/err" "a subset of at least 30 images would do" "--subset too small: the smallest that would do"
expect_exit 2 "fit: --subset too small" -- "$BIN" fit --data "$TMP/d28" --subset 5 "$TMP/small.yaml"
expect_in "$TMP/err" "small.yaml:3:10: cv.folds 3" "fit: --subset too small refused"
printf 'name: small\ndata: {subset: 40}\ncv: {folds: 3}\nmodel:\n  - {type: dense, units: 10, activation: softmax}\n' > "$TMP/sub40.yaml"
expect_exit 2 "data.subset larger than the data" -- "$BIN" --data "$TMP/d28" --out "$TMP/o9" "$TMP/sub40.yaml"
expect_in "$TMP/err" "sub40.yaml:2:16: data.subset 40 is more than the 30 training images" "data.subset too large refused at its line:column"
printf 'name: small\ndata: {subset: 20}\nmodel:\n  - {type: dense, units: 10, activation: softmax}\n' > "$TMP/sub20.yaml"
expect_exit 2 "data.subset too small for the default folds" -- "$BIN" --data "$TMP/d28" --out "$TMP/o9" "$TMP/sub20.yaml"
expect_in "$TMP/err" "sub20.yaml:2:16: data.subset 20 leaves 2 images of class 0 (T-shirt/top) to search, fewer than the 5 folds" "data.subset too small refused"
printf 'name: small\nseed: 1\ncv:\n  shuffle: false\n  folds: 40\nmodel:\n  - {type: dense, units: 10, activation: softmax}\n' > "$TMP/folds40.yaml"
expect_exit 2 "cv.folds larger than the data" -- "$BIN" --data "$TMP/d28" --out "$TMP/o9" "$TMP/folds40.yaml"
expect_in "$TMP/err" "folds40.yaml:5:10: cv.folds 40 is more than the 3 images of class 0 (T-shirt/top) among the 30 training images in $TMP/d28" "cv.folds refused at its line:column"
[ ! -e "$TMP/o9" ] && pass || fail "a results directory was created for data that do not fit the grid"
if data_available; then
  expect_exit 2 "--subset larger than Fashion-MNIST" -- "$BIN" --subset 70000 --out "$TMP/o10" "$SRC/tests/grids/tiny.yaml"
  expect_in "$TMP/err" "--subset 70000 is more than the 60000 training images" "--subset 70000 refused"
  expect_exit 2 "--subset 5 with 3 folds" -- "$BIN" --subset 5 --out "$TMP/o10" "$SRC/tests/grids/tiny.yaml"
  expect_in "$TMP/err" "tiny.yaml:7:10: cv.folds 3 is more than the" "--subset 5 refused at cv.folds"
  expect_in "$TMP/err" "a subset of at least 30 images would do" "--subset 5: the smallest that would do"
  [ ! -e "$TMP/o10" ] && pass || fail "a results directory was created for a subset out of range"
fi

# --dry-run of the study's MLP search: 16 + 3 configurations, 5 folds.
expect_exit 0 "dry run" -- "$BIN" --dry-run "$SRC/grids/mlp.yaml"
expect_in "$TMP/out" "19 configurations x 5 folds = 95 tasks" "mlp.yaml expansion"
expect_in "$TMP/out" "Total params" "model summary"
finish
