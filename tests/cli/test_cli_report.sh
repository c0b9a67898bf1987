#!/usr/bin/env bash
# The report: statistics columns, "what to try next", the same report.md from the same
# journal every time, gnuplot's SVG and PNG figures with their CSV data, report.html with
# the figures embedded, and a complete report when gnuplot is missing or fails.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
if ! data_available; then echo "SKIP: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"; exit 77; fi
OUT=$TMP/run
expect_exit 0 "tiny search" -- "$BIN" -q --out "$OUT" "$SRC/tests/grids/tiny.yaml"
for f in report.md report.html report.yaml cv_results.csv; do
  [ -s "$OUT/$f" ] && pass || fail "missing $f"
done

# cv_results.csv: the new columns, a p-value of 1 and "true" for the best.
head -1 "$OUT/cv_results.csv" > "$TMP/header"
for col in std_error_test_score p_value_vs_best indistinguishable_from_best n_params epochs cost; do
  expect_in "$TMP/header" "$col" "cv_results.csv header"
done
best=$(awk '/^best:/ { b=1 } b && /^  config:/ { print $2; exit }' "$OUT/report.yaml")
sed 's/"[^"]*"//g' "$OUT/cv_results.csv" > "$TMP/noquotes.csv"
awk -F, -v best="$best" 'NR==1 { for (i=1;i<=NF;i++) col[$i]=i; next }
  $col["config"] == best { found=1; if ($col["p_value_vs_best"] != 1 || $col["indistinguishable_from_best"] != "true") bad=1 }
  { se=$col["std_error_test_score"]; if (se == "" || se < 0 || se > 0.5) bad=1
    p=$col["p_value_vs_best"]; if (p == "" || p < 0 || p > 1) bad=1
    # units u: 784u + u + 10u + 10 parameters, 4 epochs
    if ($col["n_params"] != 795 * $col["param_units"] + 10 || $col["cost"] != 4 * $col["n_params"]) bad=1 }
  END { exit !(found && !bad) }' "$TMP/noquotes.csv" \
  && pass || { fail "cv_results.csv statistics columns"; cat "$OUT/cv_results.csv" >&2; }
expect_in "$OUT/report.md" "corrected resampled paired t-test (Nadeau and Bengio, 2003)" "report.md names the test"
expect_in "$OUT/report.md" "**One-standard-error choice**: configuration" "report.md one-SE choice"
expect_in "$OUT/report.yaml" "one_se_choice:" "report.yaml one-SE choice"

# What to try next: tiny.yaml has two values per parameter, so the best sits at an edge
# of each; the suggestion names the direction and the value.
bs=$(awk '/^best:/ { b=1 } b && /batch_size:/ { gsub(/"/, "", $2); print $2; exit }' "$OUT/report.yaml")
un=$(awk '/^best:/ { b=1 } b && /units:/ { gsub(/"/, "", $2); print $2; exit }' "$OUT/report.yaml")
if [ "$bs" = 32 ]; then want="\`batch_size\`: the best configuration uses 32, the smallest value in the grid; extend the grid downwards (e.g. 16)."
else want="\`batch_size\`: the best configuration uses 64, the largest value in the grid; extend the grid upwards (e.g. 128)."; fi
expect_in "$OUT/report.md" "$want" "try next: batch_size"
if [ "$un" = 16 ]; then want="\`units\`: the best configuration uses 16, the smallest value in the grid; extend the grid downwards (e.g. 8)."
else want="\`units\`: the best configuration uses 32, the largest value in the grid; extend the grid upwards (e.g. 64)."; fi
expect_in "$OUT/report.md" "$want" "try next: units"

# The refit's confusion matrix is in the journal and the report, with the class names.
grep -q '"fold":-1,.*"confusion":\[' "$OUT/journal.jsonl" && pass || fail "refit record without confusion counts"
expect_in "$OUT/report.md" "| Ankle boot |" "confusion matrix with class names"

# report DIR twice: the same report.md, byte for byte, outside the timings section (wall
# time, host, start time); and the same as the search's own report.
stable() { sed '/^## Timings and environment/,$d' "$1"; }
stable "$OUT/report.md" > "$TMP/md.search"
expect_exit 0 "report DIR (1)" -- "$BIN" report "$OUT"
stable "$OUT/report.md" > "$TMP/md.1"
expect_exit 0 "report DIR (2)" -- "$BIN" report "$OUT"
stable "$OUT/report.md" > "$TMP/md.2"
[ -s "$TMP/md.1" ] && cmp -s "$TMP/md.1" "$TMP/md.2" && pass || fail "two runs of report DIR give different report.md"
cmp -s "$TMP/md.search" "$TMP/md.1" && pass || { fail "report DIR differs from the search's report.md"; diff "$TMP/md.search" "$TMP/md.1" | head >&2; }
grep -q "## Timings and environment" "$OUT/report.md" && pass || fail "no timings section"

# Figures: with gnuplot, four SVGs (XML with an <svg> element) and four PNGs (signature),
# each with its CSV data; report.html embeds the four PNGs and loads nothing from outside.
stems="params curves confusion cost"
for s in $stems; do
  [ -s "$OUT/plots/$s.csv" ] && pass || fail "no plots/$s.csv"
done
expect_in "$OUT/plots/params.csv" "parameter,position,value,config,mean_test_score,std_error_test_score" "params.csv header"
expect_in "$OUT/plots/confusion.csv" "Ankle boot" "confusion.csv class names"
[ "$(awk -F, 'NR > 1 { n++ } END { print n }' "$OUT/plots/confusion.csv")" = 100 ] && pass || fail "confusion.csv is not 10 x 10"
if command -v "${FG_GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
  for s in $stems; do
    svg=$OUT/plots/$s.svg png=$OUT/plots/$s.png
    { head -c 5 "$svg" | grep -q '<?xml' && grep -q '<svg' "$svg" && grep -q '</svg>' "$svg"; } && pass || fail "$s.svg is not an SVG document"
    [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && pass || fail "$s.png is not a PNG"
    expect_in "$OUT/report.md" "](plots/$s.svg)" "report.md shows $s"
  done
  [ "$(grep -o 'src="data:image/png;base64,iVBORw0KGgo' "$OUT/report.html" | wc -l)" -eq 4 ] && pass || fail "report.html does not embed 4 PNGs"
  grep -qE '(src|href)="(https?:|file:|//)' "$OUT/report.html" && fail "report.html refers to outside resources" || pass
  grep -q "plots not drawn" "$OUT/report.md" && fail "report.md says plots not drawn although gnuplot is here" || pass
else
  echo "note: gnuplot not installed; figure checks skipped"
fi

# Without gnuplot: exit 0, a warning, the report complete and saying why, the CSVs written,
# and report.md otherwise the same as with figures.
cp -r "$OUT" "$TMP/nognu" && rm -rf "$TMP/nognu/plots"
FG_GNUPLOT=/nonexistent/gnuplot expect_exit 0 "report DIR without gnuplot" -- "$BIN" report "$TMP/nognu"
expect_in "$TMP/err" "warning: plots not drawn: gnuplot not found (install gnuplot-nox)" "warning on stderr"
expect_in "$TMP/nognu/report.md" "plots not drawn: gnuplot not found (install gnuplot-nox)" "report.md says gnuplot is missing"
for section in "## Best configuration" "## Does the best really beat the others?" "## What to try next" \
               "## Refit on all training images" "## Top configurations" "## Mean score per parameter value"; do
  expect_in "$TMP/nognu/report.md" "$section" "report without gnuplot"
done
for s in $stems; do
  [ -s "$TMP/nognu/plots/$s.csv" ] && pass || fail "no plots/$s.csv without gnuplot"
  [ ! -e "$TMP/nognu/plots/$s.svg" ] && pass || fail "plots/$s.svg without gnuplot"
done
[ -s "$TMP/nognu/report.html" ] && ! grep -q "<img" "$TMP/nognu/report.html" && pass || fail "report.html without gnuplot"
drop_plots() { stable "$1" | sed '/^## Plots/,/^## Refit/d'; }
drop_plots "$OUT/report.md" > "$TMP/a"; drop_plots "$TMP/nognu/report.md" > "$TMP/b"
cmp -s "$TMP/a" "$TMP/b" && pass || fail "report.md without gnuplot differs outside the plots section"
cmp -s "$OUT/cv_results.csv" "$TMP/nognu/cv_results.csv" && pass || fail "cv_results.csv depends on gnuplot"

# A gnuplot that fails: its first error line is reported, the report is still written.
printf '#!/bin/sh\necho "plots.gp, line 3: simulated failure" >&2\nexit 1\n' > "$TMP/badgnuplot"
chmod +x "$TMP/badgnuplot"
FG_GNUPLOT=$TMP/badgnuplot expect_exit 0 "report DIR with a failing gnuplot" -- "$BIN" report "$TMP/nognu"
expect_in "$TMP/err" "simulated failure" "gnuplot's error on stderr"
expect_in "$TMP/nognu/report.md" "plots not drawn: gnuplot failed (exit status 1): plots.gp, line 3: simulated failure" "report.md says gnuplot failed"

# A search without gnuplot succeeds (exit 0) with its report.
FG_GNUPLOT=/nonexistent/gnuplot expect_exit 0 "search without gnuplot" -- "$BIN" --out "$TMP/run2" "$SRC/tests/grids/tiny.yaml"
expect_in "$TMP/run2/report.md" "plots not drawn: gnuplot not found" "search report without gnuplot"
expect_in "$TMP/run2/report.md" "test accuracy" "search without gnuplot refits"

# compare: the best configurations side by side; a missing directory or report is one line
# naming the directory, exit 2.
expect_exit 0 "compare two searches" -- "$BIN" compare "$OUT" "$TMP/run2"
expect_in "$TMP/out" "search" "compare table"
[ "$(grep -c '^best configuration  *'"$best"'  *'"$best"' *$' "$TMP/out")" = 1 ] && pass || { fail "compare: best configuration row"; cat "$TMP/out" >&2; }
mse=$(awk '/^best:/ { b=1 } b && /std_error_test_score:/ { print $2; exit }' "$OUT/report.yaml")
mm=$(awk '/^best:/ { b=1 } b && /mean_test_score:/ { print $2; exit }' "$OUT/report.yaml")
want=$(awk -v m="$mm" -v s="$mse" 'BEGIN { printf "%.4f ± %.4f (3 folds)", m, s }')
expect_in "$TMP/out" "$want" "compare: mean ± SE"
expect_in "$TMP/out" "  units  " "compare: parameter rows"
expect_exit 2 "compare with a missing directory" -- "$BIN" compare "$OUT" "$TMP/nosuch"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "compare error is not one line"
expect_in "$TMP/err" "compare: $TMP/nosuch: no such directory" "compare names the missing directory"
mkdir -p "$TMP/empty"
expect_exit 2 "compare a directory without a report" -- "$BIN" compare "$TMP/empty"
expect_in "$TMP/err" "compare: $TMP/empty: no report.yaml" "compare names the directory without a report"
expect_exit 2 "compare without directories" -- "$BIN" compare

# ---- report DIR keeps the search's environment ----------------------------------------------
# The report of a search, regenerated: the search's command, start, hosts, ranks, wall time
# and test-set CRC-32 stay (not `report DIR`'s own process: "ranks 1 (0 training)", 0.0 s,
# CRC 00000000), and a line says when and by what command it was regenerated.
yget() { awk -v sec="$2" -v key="$3" '$0 ~ "^"sec":" { s=1; next } s && /^[^ ]/ { s=0 }
         s && $1 == key":" { sub(/^[^:]*: */, ""); print; exit }' "$1"; }
ENV=$TMP/env
expect_exit 0 "search for the environment" -- "$BIN" -q --out "$ENV" "$SRC/tests/grids/tiny.yaml"
for k in command_line started_utc wall_time_s ranks blas_threads host; do
  eval "was_$k=\$(yget \"\$ENV/report.yaml\" program $k)"
done
was_test=$(yget "$ENV/report.yaml" data test_images_crc32)
sleep 1 # a later second: a regenerated start time would show
expect_exit 0 "report DIR of a finished search" -- "$BIN" report "$ENV"
for k in command_line started_utc wall_time_s ranks blas_threads host; do
  eval "want=\$was_$k"
  got=$(yget "$ENV/report.yaml" program $k)
  [ -n "$want" ] && [ "$got" = "$want" ] && pass || fail "report DIR changed program.$k: '$want' -> '$got'"
done
got=$(yget "$ENV/report.yaml" data test_images_crc32)
[ "$got" = "$was_test" ] && [ "$got" != '"00000000"' ] && pass || fail "report DIR changed the test CRC: $was_test -> $got"
expect_in "$ENV/report.md" "| ranks | 1 (1 training) |" "regenerated report keeps the search's ranks"
grep -q "(0 training)" "$ENV/report.md" && fail "regenerated report.md shows report DIR's own ranks" || pass
expect_in "$ENV/report.md" "This report was regenerated from the journals at " "report.md says it was regenerated"
expect_in "$ENV/report.md" "by \`$BIN report $ENV\`" "report.md names the regenerating command"
expect_in "$ENV/report.yaml" "  command_line: \"$BIN report $ENV\"" "report.yaml records the regenerating command"
expect_exit 0 "reproduce a regenerated report" -- "$BIN" reproduce --verify "$ENV/report.yaml"
expect_in "$TMP/out" "verdict: identical" "a regenerated report reproduces"
# The search's own report has no such line.
expect_exit 0 "second search" -- "$BIN" -q --out "$TMP/env2" "$SRC/tests/grids/tiny.yaml"
grep -q "regenerated" "$TMP/env2/report.md" && fail "the search's own report says regenerated" || pass
expect_in "$TMP/env2/report.yaml" "regenerated: null" "report.yaml of the search: regenerated null"

# Every session that contributed is listed: a search killed after 5 records, resumed by
# another command; shards run separately, then merged (and refitted) by report DIR.
expect_exit 137 "search killed after 5 records" -- env FG_FAULT=kill:5 "$BIN" -q --out "$TMP/sess" "$SRC/tests/grids/tiny.yaml"
expect_exit 0 "resumed" -- "$BIN" -q --resume "$TMP/sess"
expect_exit 0 "report DIR after a resume" -- "$BIN" report "$TMP/sess"
expect_in "$TMP/sess/report.md" "| 1 | journal.jsonl |" "session 1 listed"
expect_in "$TMP/sess/report.md" "| search | $(hostname)" "the first session's role and host"
expect_in "$TMP/sess/report.md" "| search (resumed) | $(hostname)" "the resume's role and host"
expect_in "$TMP/sess/report.md" "| 2 | journal.jsonl |" "session 2 listed"
expect_in "$TMP/sess/report.md" "| 5 | not recorded |" "the killed session: 5 tasks, no end"
expect_in "$TMP/sess/report.md" "| 7 + 1 refit |" "the resumed session: 7 tasks and the refit"
expect_in "$TMP/sess/report.md" "\`$BIN -q --resume $TMP/sess\`" "the resume's command"
[ "$(grep -c '^- journal: ' "$TMP/sess/report.yaml")" -eq 2 ] && pass || fail "report.yaml does not list 2 sessions"
SH=$TMP/shards
expect_exit 0 "shard 0/2" -- "$BIN" -q --shard 0/2 --out "$SH" "$SRC/tests/grids/tiny.yaml"
expect_exit 0 "shard 1/2" -- "$BIN" -q --shard 1/2 --out "$SH" "$SRC/tests/grids/tiny.yaml"
expect_exit 0 "report DIR merges and refits" -- "$BIN" -q report "$SH"
for role in "shard 0/2" "shard 1/2" "report"; do
  expect_in "$SH/report.md" "| $role |" "session of $role listed"
done
expect_in "$SH/report.md" "| 0 + 1 refit |" "the report session's refit"
[ "$(yget "$SH/report.yaml" data test_images_crc32)" != '"00000000"' ] && pass || fail "merged report without the test CRC"
expect_exit 0 "reproduce a merged report" -- "$BIN" reproduce --verify "$SH/report.yaml"

# ---- journal records are checked, not trusted ------------------------------------------------
# A partial search's journal gets CRC-valid records it never wrote: copied from another
# search (another seed), an accuracy of 7.5, a fold beyond the grid's. Each is skipped with
# a warning naming the file and line, its task counts as missing, a resume trains it, and
# the scores end as an uninterrupted run's.
J=$TMP/trust
expect_exit 0 "another search (seed 7)" -- "$BIN" -q --seed 7 --out "$TMP/seed7" "$SRC/tests/grids/tiny.yaml"
expect_exit 137 "partial search" -- env FG_FAULT=kill:3 "$BIN" -q --out "$J" "$SRC/tests/grids/tiny.yaml"
done_tasks=$(grep -o '"config":[0-9]*,"fold":[0-9]*' "$J/journal.jsonl" | sort)
copy=$(grep '"task":' "$TMP/seed7/journal.jsonl" | grep -v '"fold":-1' | while read -r l; do
  k=$(printf '%s' "$l" | grep -o '"config":[0-9]*,"fold":[0-9]*'); printf '%s\n' "$done_tasks" | grep -qx "$k" || { printf '%s\n' "$l"; break; }; done)
[ -n "$copy" ] && printf '%s\n' "$copy" >> "$J/journal.jsonl"
forge() { # forge LINE: LINE (without its CRC) appended with a correct CRC-32
  printf '%s,"crc32":"%s"}\n' "$1" "$(printf '%s' "$1" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')" >> "$J/journal.jsonl"
}
first=$(grep '"task":' "$J/journal.jsonl" | head -1 | sed 's/,"crc32":"[0-9a-f]*"}$//')
forge "$(printf '%s' "$first" | sed 's/"val_acc":[0-9.e-]*/"val_acc":7.5/')"
forge "$(printf '%s' "$first" | sed 's/"fold":[0-9]*/"fold":9/')"
lines=$(wc -l < "$J/journal.jsonl")
expect_exit 0 "report DIR with foreign records" -- "$BIN" report "$J"
expect_in "$TMP/err" "warning: $J/journal.jsonl:$((lines - 2)): skipped: a record of another search" "copied record named by line"
expect_in "$TMP/err" "warning: $J/journal.jsonl:$((lines - 1)): skipped: validation accuracy 7.5 outside [0, 1]" "7.5 named by line"
expect_in "$TMP/err" "warning: $J/journal.jsonl:$lines: skipped: fold 9 outside 0..2" "fold 9 named by line"
expect_in "$TMP/out" "3 of 12 tasks" "skipped records do not count as done"
grep -q '7\.5' "$J/cv_results.csv" && fail "an accuracy of 7.5 reached cv_results.csv" || pass
expect_exit 0 "resume trains the skipped tasks" -- "$BIN" --resume "$J"
expect_in "$TMP/err" "3 of 12 tasks are in the journal, 9 to run" "resume counts only the accepted records"
scores "$OUT/cv_results.csv" > "$TMP/ref.scores"
scores "$J/cv_results.csv" > "$TMP/trust.scores"
cmp -s "$TMP/ref.scores" "$TMP/trust.scores" && pass || { fail "scores after foreign records differ"; diff "$TMP/ref.scores" "$TMP/trust.scores" >&2; }

# DIR/grid.yaml edited after the search: report DIR would relabel the scores with
# parameters never searched. Refused, naming the file, and so is a resume.
cp -r "$ENV" "$TMP/edited"
sed -i 's/units: \[16, 32\]/units: [16, 64]/' "$TMP/edited/grid.yaml"
expect_exit 2 "report DIR with an edited grid.yaml" -- "$BIN" report "$TMP/edited"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && pass || fail "edited grid.yaml: not one line"
expect_in "$TMP/err" "$TMP/edited/grid.yaml: edited since the search started" "edited grid.yaml named"
expect_exit 2 "resume with an edited grid.yaml" -- "$BIN" --resume "$TMP/edited"
expect_in "$TMP/err" "$TMP/edited/grid.yaml: edited since the search started" "resume names the edited grid.yaml"
expect_exit 2 "re-run with the original grid but an edited copy" -- "$BIN" --out "$TMP/edited" "$SRC/tests/grids/tiny.yaml"
expect_in "$TMP/err" "$TMP/edited/grid.yaml: edited since the search started" "the copy is checked too"
grep -q 'units=64' "$TMP/edited/cv_results.csv" && fail "cv_results.csv relabelled with units=64" || pass
finish
