#!/usr/bin/env bash
# Nothing written where it must not be: a results directory that is not empty and not a
# search of this grid is refused untouched; a bad --out (too long, a component longer than
# NAME_MAX, not UTF-8, a control character) is refused before anything is created; a
# search, a resume or `report DIR` is refused while another process writes the same
# journal (the lock names its holder), while shards of one directory still run at once;
# and any failed file write (a full disk, here RLIMIT_FSIZE) gives exactly one line.
# A search is held at an exact point with FG_FAULT=hold:N:FIFO: no timing involved.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
GRID=$SRC/tests/grids/tiny.yaml

# one_line DESCRIPTION: the last command's stderr ($TMP/err) is exactly one line.
one_line() {
  local n; n=$(wc -l < "$TMP/err")
  if [ "$n" -eq 1 ]; then pass; else fail "$1: stderr has $n lines"; sed 's/^/  | /' "$TMP/err" | head -5 >&2; fi
}

# ---- bad --out: exit 2, one full line, nothing created (no data needed) ----------------
long=$(printf 'a%.0s' $(seq 300))
expect_exit 2 "--out component longer than NAME_MAX" -- "$BIN" -q --out "$TMP/n1/$long/x" "$GRID"
expect_in "$TMP/err" "NAME_MAX" "the reason is given"; one_line "NAME_MAX"
[ ! -e "$TMP/n1" ] && pass || fail "an over-long component left directories behind"
deep=$TMP/n2; for i in $(seq 21); do deep="$deep/$(printf 'b%.0s' $(seq 200))"; done
expect_exit 2 "--out longer than PATH_MAX allows" -- "$BIN" -q --out "$deep" "$GRID"
expect_in "$TMP/err" "bytes long, more than the" "the length is given"; one_line "PATH_MAX"
[ ! -e "$TMP/n2" ] && pass || fail "an over-long --out left directories behind"
expect_exit 2 "non-UTF-8 --out" -- "$BIN" -q --out "$TMP/n3"$'\xff\xfe' "$GRID"
expect_in "$TMP/err" "not valid UTF-8" "non-UTF-8 named"; one_line "non-UTF-8"
expect_exit 2 "non-UTF-8 --resume" -- "$BIN" -q --resume "$TMP/n3"$'\xc3'
expect_in "$TMP/err" "--resume: the path is not valid UTF-8" "--resume checked too"
expect_exit 2 "non-UTF-8 --data" -- "$BIN" -q --data "$TMP/d"$'\xff' --out "$TMP/n5" "$GRID"
expect_in "$TMP/err" "--data: the path is not valid UTF-8" "--data checked too"; one_line "non-UTF-8 --data"
[ ! -e "$TMP/n5" ] && pass || fail "a refused --data created the results directory"
expect_exit 2 "control character in --out" -- "$BIN" -q --out "$TMP/n4"$'\nx' "$GRID"
expect_in "$TMP/err" "control character" "control character named"; one_line "control character"
[ -z "$(ls "$TMP" | grep '^n[34]')" ] && pass || fail "a refused --out was created"

if ! data_available; then echo "SKIP: Fashion-MNIST not installed (the rest needs it)"; finish; exit $?; fi

# ---- a directory that is not a search of this grid is never written into -------------
mkdir "$TMP/notes" && echo "my notes" > "$TMP/notes/notes.txt"
expect_exit 2 "a directory with the user's notes" -- "$BIN" -q --out "$TMP/notes" "$GRID"
expect_in "$TMP/err" "not empty and not a search of this grid" "refusal says why"; one_line "notes"
[ "$(ls -A "$TMP/notes")" = "notes.txt" ] && pass || fail "files written into the user's directory: $(ls -A "$TMP/notes")"
mkdir "$TMP/own" && echo "# my report" > "$TMP/own/report.md"
expect_exit 2 "a directory with the user's report.md" -- "$BIN" -q --out "$TMP/own" "$GRID"
[ "$(ls -A "$TMP/own")" = "report.md" ] && [ "$(cat "$TMP/own/report.md")" = "# my report" ] && pass ||
  fail "the user's report.md directory was written into"
expect_exit 2 "a shard into the user's directory" -- "$BIN" -q --shard 0/2 --out "$TMP/own" "$GRID"
[ "$(ls -A "$TMP/own")" = "report.md" ] && pass || fail "a shard wrote into the user's directory"
: > "$TMP/afile"
expect_exit 2 "--out is a file" -- "$BIN" -q --out "$TMP/afile" "$GRID"
expect_in "$TMP/err" "not a directory" "a file is named as such"
mkdir "$TMP/empty"
expect_exit 0 "an empty existing directory" -- "$BIN" -q --out "$TMP/empty" "$GRID"
[ -f "$TMP/empty/report.md" ] && pass || fail "no report in the empty directory"
scores "$TMP/empty/cv_results.csv" > "$TMP/ref.scores"
# A search of this grid with a note added by the user: still that search (resumed).
echo "note" > "$TMP/empty/notes.txt"
expect_exit 0 "a search of this grid with the user's note" -- "$BIN" -q --out "$TMP/empty" "$GRID"

# ---- the lock: one writer per journal -----------------------------------------------
mkfifo "$TMP/fifo"
# held DIR EXTRA-ARGS...: starts a search that stops after its 2nd record ("held PID" in
# the FIFO; HPID = PID) or, if it never gets there, says "exited STATUS" instead, so that
# nothing waits forever. Returns 1 when it did not hold.
held() {
  local d=$1 line; shift
  ( FG_FAULT=hold:2:$TMP/fifo "$BIN" -q --out "$d" "$@" "$GRID" >"$TMP/held.out" 2>"$TMP/held.err" </dev/null
    echo "exited $?" > "$TMP/fifo" ) &
  read -r line < "$TMP/fifo"
  HPID=${line#held }
  if [ "${line%% *}" = held ]; then pass; return 0; fi
  fail "the search did not reach its hold point ($line)"; sed 's/^/  | /' "$TMP/held.err" >&2; wait; return 1
}
# release: lets the held search go on; HRC = its exit status.
release() { local line; echo go > "$TMP/fifo"; read -r line < "$TMP/fifo"; wait; HRC=${line#exited }; }

if held "$TMP/lk"; then
expect_exit 2 "a second search into a running one" -- "$BIN" -q --out "$TMP/lk" "$GRID"
expect_in "$TMP/err" "pid $HPID" "the holder's pid is named"
expect_in "$TMP/err" "host $(hostname)" "the holder's host is named"; one_line "lock refusal"
expect_exit 2 "--resume of a running search" -- "$BIN" -q --resume "$TMP/lk"
expect_in "$TMP/err" "pid $HPID" "resume refusal names the holder"
expect_exit 2 "report DIR of a running search" -- "$BIN" -q report "$TMP/lk"
expect_in "$TMP/err" "a search is running in it" "report refusal says why"
expect_in "$TMP/err" "pid $HPID" "report refusal names the holder"
[ ! -e "$TMP/lk/report.md" ] && pass || fail "report DIR wrote while the search ran"
release
[ "$HRC" -eq 0 ] && pass || fail "the held search ended with $HRC"
[ "$(grep -c '"task":' "$TMP/lk/journal.jsonl")" -eq 13 ] && pass || fail "the held search's journal is not 12 tasks + 1 refit"
scores "$TMP/lk/cv_results.csv" > "$TMP/lk.scores"
cmp -s "$TMP/ref.scores" "$TMP/lk.scores" && pass || fail "the held search's scores differ"
expect_exit 0 "report DIR once the search ended" -- "$BIN" -q report "$TMP/lk"
fi

# Shards of one directory run at once; the same shard twice does not.
if held "$TMP/sh" --shard 0/2; then
expect_exit 0 "another shard while shard 0 runs" -- "$BIN" -q --shard 1/2 --out "$TMP/sh" "$GRID"
expect_exit 2 "the same shard twice" -- "$BIN" -q --shard 0/2 --out "$TMP/sh" "$GRID"
expect_in "$TMP/err" "pid $HPID" "shard refusal names the holder"
expect_exit 0 "a partial report while a shard runs" -- "$BIN" -q report "$TMP/sh"
release
[ "$HRC" -eq 0 ] && pass || fail "the held shard ended with $HRC"
expect_exit 0 "merge of the shards" -- "$BIN" -q report "$TMP/sh"
scores "$TMP/sh/cv_results.csv" > "$TMP/sh.scores"
cmp -s "$TMP/ref.scores" "$TMP/sh.scores" && pass || fail "the shards' merged scores differ"
fi

# ---- a failed write is one line, then nothing more is written -------------------------
# RLIMIT_FSIZE (ulimit -f, KiB) with SIGXFSZ ignored: a write past the limit fails with
# EFBIG as on a full disk. Each limit stops a different file: the journal, model.fgm, a
# report. stderr goes through a pipe (a file would be limited too).
limited() { # limited KIB ARGS...: runs BIN under the limit; exit status in LRC
  local kib=$1; shift
  (trap '' XFSZ; ulimit -f "$kib"; exec "$BIN" -q "$@") 2>&1 >/dev/null </dev/null | cat > "$TMP/err"
  LRC=${PIPESTATUS[0]}
}
for kib in 0 2 8 16 64 128; do
  rm -rf "$TMP/full"
  limited "$kib" --out "$TMP/full" "$GRID"
  if [ "$LRC" -ne 0 ]; then
    [ "$LRC" -eq 1 ] && pass || fail "ulimit -f $kib: exit $LRC, expected 1"
    one_line "ulimit -f $kib"
    expect_in "$TMP/err" "File too large" "ulimit -f $kib: the reason is given"
  fi
  # Whatever stopped, a resume without the limit completes the same search.
  if [ -f "$TMP/full/journal.jsonl" ]; then
    expect_exit 0 "resume after ulimit -f $kib" -- "$BIN" -q --resume "$TMP/full"
    scores "$TMP/full/cv_results.csv" > "$TMP/full.scores"
    cmp -s "$TMP/ref.scores" "$TMP/full.scores" && pass || fail "ulimit -f $kib: resumed scores differ"
    [ -f "$TMP/full/model.fgm" ] && pass || fail "ulimit -f $kib: no model.fgm after the resume"
  fi
done
# report DIR under a limit: its refit journal or model.fgm or a report fails, one line.
for kib in 8 64 128; do
  [ -d "$TMP/sh" ] || break
  rm -rf "$TMP/rep"; cp -r "$TMP/sh" "$TMP/rep"; rm -f "$TMP/rep"/*.md "$TMP/rep"/*.csv "$TMP/rep/model.fgm"
  rm -f "$TMP/rep/journal.refit.jsonl"
  limited "$kib" report "$TMP/rep"
  [ "$LRC" -eq 1 ] && pass || fail "report DIR under ulimit -f $kib: exit $LRC, expected 1"
  one_line "report DIR under ulimit -f $kib"
done
finish
