#!/usr/bin/env bash
# The frozen base computed once per search per node (label h5py): a small VGG-shaped network
# whose convolutional base is frozen with weights from an h5py-written Keras file. Its base
# runs once per node (one log line per node, the ranks sharing the work) and every task
# trains the head on the features; the scores are identical on 1 and 3 ranks, after a
# resume, and to `reproduce --verify`, which trains each task's whole network (the base
# included) the ordinary way: the features give bit for bit the same scores. Two models
# with different freeze points get a base each. A weights file changed after the search
# makes `reproduce` refuse with one line.
#   test_cli_base.sh BIN SRCDIR
BIN=${1:?} SRC=${2:?}
. "$SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
if ! $PY -c 'import h5py, numpy' 2>/dev/null; then
  [ "${FG_H5PY_REQUIRE:-0}" = 1 ] && { echo "FAIL: python3-h5py missing"; exit 1; }
  echo "skipped: python3-h5py not installed (.ci/install-deps-dev)"; exit 77
fi
data_available || { echo "skipped: Fashion-MNIST not installed"; exit 77; }
command -v mpirun >/dev/null || { echo "skipped: no mpirun"; exit 77; }
$PY "$SRC/tests/h5w/keras_weights.py" write --arch small --layout keras2 --seed 3 --out "$TMP/w.h5"

layers() { # layers INDENT FREEZE: the small network, frozen up to FREEZE
  cat <<YAML
$1weights: $TMP/w.h5
$1freeze_until: $2
$1layers:
$(small_base "$1  ")
$1  - {type: flatten, name: flatten}
$1  - {type: dense, name: fc, units: 12, activation: relu}
$1  - {type: LeakyReLU, name: leaky, alpha: 0.1}
$1  - {type: dropout, name: drop, rate: \$d}
$1  - {type: dense, name: out, units: 10, activation: softmax}
YAML
}
{ printf 'name: base1\ncv: {validation_split: 0.25}\ntrain: {optimizer: adam, epochs: 2, batch_size: 32, learning_rate: $lr}\nmodel:\n'
  layers "  " b3p
  printf 'grid: {d: [0, 0.3], lr: [0.001, 0.01]}\n'; } > "$TMP/g.yaml"
{ printf 'name: base2\ncv: {folds: 2}\ntrain: {optimizer: adam, epochs: 2, batch_size: 32}\nmodels:\n  m2:\n'
  layers "    " b2p
  printf '  m3:\n'
  layers "    " b3p
  printf 'grid: {model: [m2, m3], d: [0, 0.3]}\n'; } > "$TMP/g2.yaml"

base_lines() { grep -c "frozen base computed once" "$1"; }

# One rank, then three ranks on one node: one base computation each, the same scores.
expect_exit 0 "search on 1 rank" -- "$BIN" --subset 240 -o "$TMP/r1" "$TMP/g.yaml"
[ "$(base_lines "$TMP/err")" -eq 1 ] && pass || fail "1 rank: not one base line"
expect_in "$TMP/err" "frozen base computed once for 4 configurations by 1 rank (1 base, 240 training + 10000 test images" "the base's log line"
scores "$TMP/r1/cv_results.csv" > "$TMP/r1.scores"
expect_in "$TMP/r1/journal.jsonl" '"base_configs":4,"base_blocks":1,"base_seconds":' "the journal header records the base"
expect_in "$TMP/r1/report.md" "| frozen base | computed once per node in" "report.md says the base was computed once"
expect_exit 0 "search on 3 ranks" -- mpirun -np 3 "$BIN" --subset 240 -o "$TMP/r3" "$TMP/g.yaml"
[ "$(base_lines "$TMP/err")" -eq 1 ] && pass || fail "3 ranks: the base not computed once for the node"
expect_in "$TMP/err" "by 3 ranks (1 base" "the node's 3 ranks share the work"
expect_in "$TMP/err" "MB of features shared" "the features in node-shared memory"
scores "$TMP/r3/cv_results.csv" > "$TMP/r3.scores"
cmp -s "$TMP/r1.scores" "$TMP/r3.scores" && pass || { fail "1 and 3 ranks differ"; diff "$TMP/r1.scores" "$TMP/r3.scores" >&2; }
grep -q "split0_test_score" "$TMP/r1/cv_results.csv" && ! grep -q "split1_test_score" "$TMP/r1/cv_results.csv" \
  && pass || fail "validation_split: not one fold in cv_results.csv"

expect_exit 0 "simulate" -- "$BIN" simulate "$TMP/r3"
expect_in "$TMP/out" "frozen base: " "simulate counts the base once"

# A search killed after its second record resumes to the same scores (the base computed again).
expect_exit 137 "killed after record 2" -- env FG_FAULT=kill:2 "$BIN" -q --subset 240 -o "$TMP/rk" "$TMP/g.yaml"
expect_exit 0 "resume" -- "$BIN" --resume "$TMP/rk"
scores "$TMP/rk/cv_results.csv" > "$TMP/rk.scores"
cmp -s "$TMP/r1.scores" "$TMP/rk.scores" && pass || { fail "resumed scores differ"; diff "$TMP/r1.scores" "$TMP/rk.scores" >&2; }

# reproduce trains the whole networks, base included, per task: bit for bit the same.
for k in 0 1 2 3; do
  expect_exit 0 "reproduce --verify --config $k (whole network per task)" -- "$BIN" reproduce --verify --config $k "$TMP/r3/report.yaml"
  expect_in "$TMP/out" "verdict: identical" "reproduce config $k identical"
done
expect_in "$TMP/r1/report.yaml" "\"$TMP/w.h5\": " "report.yaml records the weights file's CRC-32"
# The refit's model (the head's values in the whole network) is byte for byte the model that
# `report DIR` rebuilds by refitting the whole network on the images.
cp "$TMP/r1/model.fgm" "$TMP/m.fgm" && rm "$TMP/r1/model.fgm"
expect_exit 0 "report DIR rebuilds the model" -- "$BIN" report "$TMP/r1"
cmp -s "$TMP/m.fgm" "$TMP/r1/model.fgm" && pass || fail "the base path's model differs from the whole network's"

# Two freeze points: a base each, the configurations of one model sharing theirs.
expect_exit 0 "dry run of two bases" -- "$BIN" --dry-run "$TMP/g2.yaml"
expect_in "$TMP/out" "frozen base: 2 bases, computed once per node for 4 of 4 configurations" "dry run names the bases"
expect_exit 0 "two bases on 2 ranks" -- mpirun -np 2 "$BIN" --subset 200 -o "$TMP/t2" "$TMP/g2.yaml"
expect_in "$TMP/err" "for 4 configurations by 2 ranks (2 bases" "two bases, each shared"
for k in 0 3; do
  expect_exit 0 "two bases: reproduce --config $k" -- "$BIN" reproduce --verify --config $k "$TMP/t2/report.yaml"
done

# The weights file changed after the search: reproduce refuses, one line.
printf 'x' >> "$TMP/w.h5"
expect_exit 2 "reproduce with a changed weights file" -- "$BIN" reproduce "$TMP/r3/report.yaml"
expect_in "$TMP/err" "w.h5: the weights file differs from the report's: CRC-32" "the changed file named"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "changed weights file: not one line on stderr"
finish
