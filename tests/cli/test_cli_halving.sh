#!/usr/bin/env bash
# Successive halving (issue 15) end to end on tests/grids/halving.yaml (9 configurations x 2
# folds, factor 3, resource epochs: 9 x 1 epoch, 3 x 3, 1 x 9): the journal's iterations and
# resources, promotions equal to halving's rule over the recorded means (halving_check.py),
# the refit of the last iteration's best with its resource; the same promotions, scores and
# model.fgm for 1 and 3 ranks (speculation on the leaders included); a resume after a kill in
# the middle of an iteration ending identical to an uninterrupted run; --shard refused; the
# schedule in the dry run and the iteration in the progress line.
BIN=$1 SRC=$2 MPIEXEC=${3:-}
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed"; exit 77; fi
GRID=$SRC/tests/grids/halving.yaml
CHECK="/usr/bin/python3 $SRC/tests/cli/halving_check.py"
records() { grep -c '"task":' "$1"; }

expect_exit 0 "dry run" -- "$BIN" --dry-run "$GRID"
expect_in "$TMP/out" "successive halving, factor 3, resource epochs: iteration 0: 9 candidates x 1 epoch, 1: 3 x 3, 2: 1 x 9; 26 tasks" \
  "the dry run prints the schedule"

expect_exit 0 "uninterrupted run" -- "$BIN" --out "$TMP/ref" "$GRID"
expect_in "$TMP/err" "] iter 1/3 " "the progress line shows the iteration"
expect_in "$TMP/err" "] iter 3/3 " "the progress line reaches the last iteration"
expect_in "$TMP/err" "done in" "the search ends"
[ "$(records "$TMP/ref/journal.jsonl")" -eq 27 ] && pass || fail "not 26 tasks + 1 refit on one rank"
$CHECK "$TMP/ref/journal.jsonl" 3 3 epochs > "$TMP/ref.check" 2> "$TMP/check.err" && pass ||
  { fail "the journal's promotions"; cat "$TMP/check.err" >&2; }
grep -q '^promoted to 1: \[.*, .*, .*\]$' "$TMP/ref.check" && grep -q '^refit config .* epochs ' "$TMP/ref.check" && pass ||
  fail "three promoted to iteration 1 and a refit"
[ -s "$TMP/ref/model.fgm" ] && pass || fail "no model.fgm"

# 1 and 3 ranks: the same results that count, the same promotions, best, refit and model.
if [ -n "$MPIEXEC" ]; then
  expect_exit 0 "3 ranks" -- "$MPIEXEC" --oversubscribe -np 3 "$BIN" -q --out "$TMP/r3" "$GRID"
  $CHECK "$TMP/r3/journal.jsonl" 3 3 > "$TMP/r3.check" 2> "$TMP/check.err" && pass ||
    { fail "3 ranks: the journal's promotions"; cat "$TMP/check.err" >&2; }
  cmp -s "$TMP/ref.check" "$TMP/r3.check" && pass || { fail "3 ranks: results differ"; diff "$TMP/ref.check" "$TMP/r3.check" >&2; }
  cmp -s "$TMP/ref/model.fgm" "$TMP/r3/model.fgm" && pass || fail "3 ranks: model.fgm differs"
  scores "$TMP/ref/cv_results.csv" > "$TMP/ref.scores"
  scores "$TMP/r3/cv_results.csv" > "$TMP/r3.scores"
  cmp -s "$TMP/ref.scores" "$TMP/r3.scores" && pass || fail "3 ranks: cv_results.csv scores differ"
fi

# Killed in the middle of iteration 0 (record 7 of 18) and of iteration 1 (record 21: 18 of
# iteration 0, then 3 of 6), resumed: the same as the uninterrupted run, nothing counted twice.
for k in 7 21; do
  expect_exit 137 "killed after journal record $k" -- env FG_FAULT=kill:$k "$BIN" -q --out "$TMP/k$k" "$GRID"
  [ "$(records "$TMP/k$k/journal.jsonl")" -eq "$k" ] && pass || fail "kill:$k: not $k records"
  expect_exit 0 "resume after kill:$k" -- "$BIN" --resume "$TMP/k$k"
  expect_in "$TMP/err" "$k of 26 tasks are in the journal" "resume counts the recorded tasks"
  [ "$(records "$TMP/k$k/journal.jsonl")" -eq 27 ] && pass || fail "kill:$k: not 26 tasks + 1 refit after the resume"
  $CHECK "$TMP/k$k/journal.jsonl" 3 3 > "$TMP/k$k.check" 2> "$TMP/check.err" && pass ||
    { fail "kill:$k: the journal's promotions"; cat "$TMP/check.err" >&2; }
  cmp -s "$TMP/ref.check" "$TMP/k$k.check" && pass || { fail "kill:$k: resumed results differ"; diff "$TMP/ref.check" "$TMP/k$k.check" >&2; }
  cmp -s "$TMP/ref/model.fgm" "$TMP/k$k/model.fgm" && pass || fail "kill:$k: model.fgm differs"
done
# A record whose resource is not its iteration's (its CRC made right) is skipped with a
# warning naming it, and its task runs again.
expect_exit 137 "killed after journal record 7 (a record edited next)" -- env FG_FAULT=kill:7 "$BIN" -q --out "$TMP/kb" "$GRID"
/usr/bin/python3 - "$TMP/kb/journal.jsonl" <<'PY'
import sys, zlib
path = sys.argv[1]
lines = open(path).read().split('\n')
i = next(k for k, l in enumerate(lines) if '"iter":0,"n_resources":1,' in l)
body = lines[i][:lines[i].index(',"crc32":"')].replace('"n_resources":1,', '"n_resources":2,')
lines[i] = body + ',"crc32":"%08x"}' % zlib.crc32(body.encode())
open(path, 'w').write('\n'.join(lines))
PY
expect_exit 0 "resume with a record of another resource" -- "$BIN" --resume "$TMP/kb"
expect_in "$TMP/err" "skipped: configuration" "the record is skipped, named"
expect_in "$TMP/err" "iteration 0 with n_resources 2, not the schedule's 1" "the warning says why"
expect_in "$TMP/err" "6 of 26 tasks are in the journal" "the skipped record does not count"
grep -v '"n_resources":2,' "$TMP/kb/journal.jsonl" > "$TMP/kb.jsonl"
$CHECK "$TMP/kb.jsonl" 3 3 > "$TMP/kb.check" 2> "$TMP/check.err" && pass ||
  { fail "bad record: the journal's promotions"; cat "$TMP/check.err" >&2; }
cmp -s "$TMP/ref.check" "$TMP/kb.check" && pass || { fail "bad record: resumed results differ"; diff "$TMP/ref.check" "$TMP/kb.check" >&2; }

if [ -n "$MPIEXEC" ]; then # killed under 2 ranks (speculative work journaled), resumed under 3
  "$MPIEXEC" --oversubscribe -np 2 -x FG_FAULT=kill:20 "$BIN" -q --out "$TMP/km" "$GRID" >/dev/null 2>&1 </dev/null
  [ "$(records "$TMP/km/journal.jsonl")" -eq 20 ] && pass || fail "kill:20 under mpirun: not 20 records"
  expect_exit 0 "resume under 3 ranks" -- "$MPIEXEC" --oversubscribe -np 3 "$BIN" -q --resume "$TMP/km"
  $CHECK "$TMP/km/journal.jsonl" 3 3 > "$TMP/km.check" 2> "$TMP/check.err" && pass ||
    { fail "kill:20 under mpirun: the journal's promotions"; cat "$TMP/check.err" >&2; }
  cmp -s "$TMP/ref.check" "$TMP/km.check" && pass || { fail "kill:20 under mpirun: resumed results differ"; diff "$TMP/ref.check" "$TMP/km.check" >&2; }
  cmp -s "$TMP/ref/model.fgm" "$TMP/km/model.fgm" && pass || fail "kill:20 under mpirun: model.fgm differs"
fi

# max_resources below the configured epochs: 2 iterations (9 x 1 epoch, 3 x 3), every task
# and the refit capped at their resource. resource samples: 9 x 66 images, 3 x 198, 1 x 594
# (fold images subsampled), the refit on all 600.
sed 's/  resource: epochs/  resource: epochs\n  max_resources: 6/' "$GRID" > "$TMP/cap.yaml"
expect_exit 0 "max_resources 6" -- "$BIN" -q --out "$TMP/cap" "$TMP/cap.yaml"
$CHECK "$TMP/cap/journal.jsonl" 3 2 epochs > "$TMP/cap.check" 2> "$TMP/check.err" && pass ||
  { fail "max_resources 6: the journal"; cat "$TMP/check.err" >&2; }
grep -q '^refit config .* epochs [1-3]$' "$TMP/cap.check" && pass || fail "max_resources 6: the refit not capped at 3 epochs"
sed 's/  resource: epochs/  resource: samples/' "$GRID" > "$TMP/samples.yaml"
expect_exit 0 "resource samples" -- "$BIN" --dry-run "$TMP/samples.yaml"
expect_in "$TMP/out" "resource samples: iteration 0: 9 candidates x 66 images, 1: 3 x 198, 2: 1 x 594" "the samples schedule"
expect_exit 0 "resource samples" -- "$BIN" -q --out "$TMP/samples" "$TMP/samples.yaml"
$CHECK "$TMP/samples/journal.jsonl" 3 3 samples > /dev/null 2> "$TMP/check.err" && pass ||
  { fail "resource samples: the journal"; cat "$TMP/check.err" >&2; }
grep '"fold":-1' "$TMP/samples/journal.jsonl" | grep -q '"n_train":600,' && pass || fail "resource samples: the refit not on all 600 images"

# simulate replays the halving policy (iterations, promotions, speculation) on the recorded
# times: one rank does all the work that counts back to back (ratio 1), more never beat the
# bound.
expect_exit 0 "simulate" -- "$BIN" simulate "$TMP/ref" --ranks 1,3,64 --csv
awk -F, 'NR == 2 && $1 == 1 && $4 == "1.0000" { ok++ } NR > 2 && $4 + 0 >= 1 { ok++ } END { exit ok != 3 }' "$TMP/out" &&
  pass || { fail "simulate: not ratio 1 on one rank and >= 1 on more"; cat "$TMP/out" >&2; }
expect_exit 0 "simulate, table" -- "$BIN" simulate "$TMP/ref" --ranks 2
expect_in "$TMP/out" "successive halving, 3 iterations; 26 tasks recorded" "simulate says what it replays"

# --shard: refused in one line naming the grid's search.strategy, nothing written.
expect_exit 2 "--shard refused" -- "$BIN" -q --shard 0/2 --out "$TMP/sh" "$GRID"
expect_in "$TMP/err" "search.strategy halving cannot run as shards (--shard)" "the refusal says why"
expect_in "$TMP/err" "halving.yaml:11:" "the refusal names file:line of search.strategy"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "--shard refusal is not one line"
[ ! -e "$TMP/sh" ] && pass || fail "--shard refused but wrote $TMP/sh"
finish
