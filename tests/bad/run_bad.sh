#!/usr/bin/env bash
# The bad-input corpus: every case must be refused with exit status 2 and exactly one line
# on stderr containing the expected fragment, without a crash and without creating a
# results directory.
#
#   run_bad.sh BIN SRCDIR
#
# Grid cases: tests/bad/grids/*.yaml, each starting with
#   # expect: 2
#   # message: NN-name.yaml:LINE:COL: fragment of the message
# and optionally "# needs: data" (the case is refused only once the real training data is
# loaded, so it is skipped without it). Each is run as `BIN --out TMP/o CASE`.
# Generated grid cases (files that cannot carry a header: empty, a directory, binary, a
# FIFO, files too big to keep in the repository ...) and damaged data files are made here,
# in a temporary directory, with bash printf, head, yes, dd, seq, mkfifo and gzip only; data
# cases run `BIN --data DIR --out TMP/o tests/grids/tiny.yaml` (some with more options).
# Command-line cases (options that do not apply to the command) need no file at all.
#
# Time limits: no case measures time. A case that hangs (a FIFO opened blocking) or runs in
# superlinear time is caught by the per-case timeout alone (FG_BAD_TIMEOUT, 120 s): the
# "linear-*" cases are sized so that the quadratic loaders they guard against run far past
# it (measured on the unmodified program: every one still running at 120 s; 200,000
# aliases of one anchor took 598 s), while the linear loader refuses each in about a
# second. A much larger FG_BAD_TIMEOUT would therefore let a quadratic regression pass.
#
# Also refused: control characters (ESC ...) on stderr, which a terminal would obey.
# Prints one line per failing (or skipped) case, then "N passed, M failed"; exits non-zero
# if any case failed. A case that shows a bug not fixed yet belongs in tests/bad/pending/.
set -u
BIN=${1:?usage: run_bad.sh BIN SRCDIR}
SRC=${2:?usage: run_bad.sh BIN SRCDIR}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
LIMIT=${FG_BAD_TIMEOUT:-120} # seconds per case; a hang is a failure
TMP=$(mktemp -d /tmp/fg-bad-XXXXXX)
trap 'chmod -R u+rwx "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
PASSES=0 FAILS=0
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
REAL_DATA=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
have_data() { [ -f "$REAL_DATA/train-images-idx3-ubyte.gz" ] || [ -f "$REAL_DATA/train-images-idx3-ubyte" ]; }

fail() { FAILS=$((FAILS + 1)); echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# check NAME WANT FRAGMENT -- COMMAND...: runs COMMAND (whose results directory, if any,
# must be $TMP/o) and checks the exit status, the one-line stderr and the fragment.
check() {
  local name=$1 want=$2 frag=$3
  shift 4
  rm -rf "$TMP/o"
  # -k: a program that ignores the SIGTERM of timeout is killed 10 s later (exit 137)
  timeout -k 10 "$LIMIT" "$@" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
  local got=$? lines first
  lines=$(wc -l <"$TMP/stderr")
  first=$(head -c 300 "$TMP/stderr" | head -n 1)
  [ -n "${FG_BAD_VERBOSE:-}" ] && echo "$name: exit $got: $first"
  if [ "$got" -eq 124 ]; then
    fail "$name" "timed out after ${LIMIT}s"
  elif [ "$got" -eq 137 ]; then
    fail "$name" "killed (SIGKILL): timed out after ${LIMIT}s and ignored SIGTERM, or killed from outside"
  elif [ "$got" -ge 128 ]; then
    fail "$name" "crashed: exit $got (signal $((got - 128))): $first"
  elif [ "$got" -ne "$want" ]; then
    fail "$name" "exit $got, expected $want: $first"
  elif [ "$lines" -ne 1 ] || [ -n "$(tail -c 1 "$TMP/stderr" | tr -d '\n')" ]; then
    fail "$name" "stderr is not exactly one line ($lines newlines): $first"
  elif tr -d '\n' <"$TMP/stderr" | LC_ALL=C grep -aq '[[:cntrl:]]'; then
    fail "$name" "stderr holds control characters: $(head -n 1 "$TMP/stderr" | cat -v | head -c 300)"
  elif ! grep -aqF -- "$frag" "$TMP/stderr"; then
    fail "$name" "expected '$frag' in: $first"
  elif [ -e "$TMP/o" ]; then
    fail "$name" "a results directory was created"
  else
    PASSES=$((PASSES + 1))
  fi
}

# ---- grid files from the corpus ------------------------------------------------------------
n_grid=0
for f in "$SRC"/tests/bad/grids/*.yaml; do
  name=$(basename "$f")
  hdr=$(head -n 5 "$f" | tr -d '\0')
  want=$(printf '%s\n' "$hdr" | sed -n 's/^# expect: *//p' | head -n 1)
  frag=$(printf '%s\n' "$hdr" | sed -n 's/^# message: //p' | head -n 1)
  if [ -z "$want" ] || [ -z "$frag" ]; then
    fail "$name" "no '# expect:' and '# message:' header"
    continue
  fi
  n_grid=$((n_grid + 1))
  if printf '%s\n' "$hdr" | grep -q '^# needs: data' && ! have_data; then
    skip "$name" "needs the training data in $REAL_DATA"
    continue
  fi
  check "$name" "$want" "$frag" -- "$BIN" --out "$TMP/o" "$f"
done

# ---- generated grid files ------------------------------------------------------------------
G=$TMP/g
mkdir -p "$G"
# gen NAME FRAGMENT FILE: a generated grid file, run as a search.
gen() {
  n_gen=$((n_gen + 1))
  check "gen-$1" 2 "$2" -- "$BIN" --out "$TMP/o" "$3"
}
: >"$G/empty.yaml"
check gen-empty-file 2 "empty.yaml:1:1: the grid file is empty" -- "$BIN" --out "$TMP/o" "$G/empty.yaml"
printf '# nothing but a comment\n\n' >"$G/comment.yaml"
check gen-comment-only 2 "comment.yaml:" -- "$BIN" --out "$TMP/o" "$G/comment.yaml"
mkdir -p "$G/dir.yaml"
check gen-directory 2 "dir.yaml: not a regular file (a directory); a grid file must be a regular file" -- "$BIN" --out "$TMP/o" "$G/dir.yaml"
check gen-missing-file 2 "nope.yaml: cannot" -- "$BIN" --out "$TMP/o" "$G/nope.yaml"
ln -s loop.yaml "$G/loop.yaml"
check gen-symlink-loop 2 "loop.yaml: cannot" -- "$BIN" --out "$TMP/o" "$G/loop.yaml"
# An ELF-like binary: NUL bytes and control characters.
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000>\000' >"$G/binary.yaml"
head -c 512 /dev/zero >>"$G/binary.yaml"
check gen-binary-file 2 "binary.yaml:1:1: control characters are not allowed" -- "$BIN" --out "$TMP/o" "$G/binary.yaml"
# UTF-16 with a byte-order mark (NUL bytes after every ASCII character).
printf '\377\376n\000a\000m\000e\000:\000 \000x\000\n\000' >"$G/utf16.yaml"
check gen-utf16 2 "utf16.yaml:" -- "$BIN" --out "$TMP/o" "$G/utf16.yaml"
# A 2 MB name: refused as a name, in one line.
{ printf 'name: '; head -c 2000000 /dev/zero | tr '\0' a; printf '\nmodel:\n  - {type: dense, units: 10, activation: softmax}\n'; } >"$G/longname.yaml"
check gen-2mb-name 2 "longname.yaml:1:7: name 'aaaa" -- "$BIN" --out "$TMP/o" "$G/longname.yaml"
# A million levels of nesting: no stack overflow.
{ printf 'name: deep\nx: '; head -c 1000000 /dev/zero | tr '\0' '['; head -c 1000000 /dev/zero | tr '\0' ']'; echo; } >"$G/deep.yaml"
check gen-million-levels 2 "deep.yaml:2:103: nested more than" -- "$BIN" --out "$TMP/o" "$G/deep.yaml"
if [ "$IS_ROOT" -eq 1 ]; then
  skip gen-unreadable-grid "running as root, which reads any file"
else
  printf 'name: x\n' >"$G/unreadable.yaml"
  chmod 000 "$G/unreadable.yaml"
  check gen-unreadable-grid 2 "unreadable.yaml: cannot" -- "$BIN" --out "$TMP/o" "$G/unreadable.yaml"
fi
n_gen=10

# Special files and sizes: refused at once, without blocking or reading the file whole.
mkfifo "$G/fifo.yaml"
gen fifo-grid "fifo.yaml: not a regular file (a FIFO); a grid file must be a regular file" "$G/fifo.yaml"
dd if=/dev/zero of="$G/sparse.yaml" bs=1 count=0 seek=100M 2>/dev/null # 100 MB, no disk used
gen grid-over-size-limit "sparse.yaml: 104857600 bytes, more than the 16777216-byte limit for a grid file" "$G/sparse.yaml"

# Linear loading: each of these took minutes to hours in a loader that compared every key,
# value, anchor, model or reference with every other one (see "Time limits" above).
M='model:\n  - {type: dense, units: 10, activation: softmax}\n'
{ printf "name: keys\n$M"; seq -f 'k%06g: 0' 0 399999; } >"$G/keys.yaml" # 400,000 keys, 4 MB
gen linear-400k-top-keys "keys.yaml:4:1: unknown key 'k000000'" "$G/keys.yaml"
{ printf "name: dupkeys\n${M}train:\n"; seq -f '  k%g: 0' 1 300000; echo '  k1: 1'; } >"$G/dupkeys.yaml"
gen linear-duplicate-key "dupkeys.yaml:300005:3: duplicate key 'k1' (first at line 5, column 3)" "$G/dupkeys.yaml"
{ printf "name: values\nmax_tasks: 1e12\ntrain: {learning_rate: \$lr}\n${M}grid:\n  lr: ["; seq -s, -f '%ge-6' 1 200000; echo ', 1e-6]'; } >"$G/values.yaml"
gen linear-duplicate-value "values.yaml:8:3: grid parameter 'lr': duplicate value '1e-6' (same as '1e-6' at line 7, column 8)" "$G/values.yaml"
{ printf 'name: models\nmax_tasks: 1e12\nmodels:\n  m0: &l [{type: dense, units: 10, activation: softmax}]\n'
  seq -f '  m%g: *l' 1 79999; printf 'grid:\n  zz: [1]\n  model: ['; seq -s, -f 'm%g' 0 79999; echo ']'; } >"$G/models.yaml"
gen linear-80k-models "models.yaml:80005:3: grid parameter 'zz' is not used" "$G/models.yaml"
{ printf "name: anchors\n${M}x:\n"; seq -f '  - &a%g 0' 1 200000; yes '  - *a1' | head -n 200000; } >"$G/anchors.yaml"
gen linear-200k-aliases "anchors.yaml:4:1: unknown key 'x'" "$G/anchors.yaml"
{ printf 'name: refs\nmodel:\n  - {type: dense, units: 10, activation: softmax, kernel_size: ['; seq -s, -f '$r%g' 1 200000
  printf ']}\ngrid:\n'; seq -f '  r%g: [1]' 1 200000; } >"$G/refs.yaml"
gen linear-200k-references "refs.yaml:3:51: field 'kernel_size' is not valid for a dense layer" "$G/refs.yaml"

# Configuration counts above the program's limits, whatever max_tasks says: refused at the
# parameter (or sub-grid) that crosses the limit, never "out of memory". Products are
# formed only once they are known not to overflow.
v220=$(seq -s, 1 220) v1000=$(seq -s, 1 1000) v600=$(seq -s, 1 600)
printf "name: over\nmax_tasks: 1e18\n${M}train: {learning_rate: \$a, momentum: \$b}\ngrid:\n  a: [$v220]\n  b: [$v220]\n  batch_size: [$v220]\n  epochs: [$v220]\n" >"$G/over.yaml"
gen configs-over-limit "over.yaml:9:3: grid parameter 'batch_size' (220 values) brings the grid to more than 1000000 configurations (48400 x 220)" "$G/over.yaml"
printf "name: subs\nmax_tasks: 1e18\n${M}grid:\n  - {batch_size: [$v1000], epochs: [$v600]}\n  - {batch_size: [$v1000], epochs: [$v600]}\n" >"$G/subs.yaml"
gen configs-over-limit-sub-grids "subs.yaml:7:5: sub-grid 2 (line 7) (600000 configurations) brings the grid to 1200000 configurations, more than the limit of 1000000" "$G/subs.yaml"
printf "name: tasks\nmax_tasks: 1e18\ncv: {folds: 20}\n${M}grid:\n  batch_size: [$v1000]\n  epochs: [$v1000]\n" >"$G/tasks.yaml"
gen tasks-over-limit "tasks.yaml:6:1: the grid has 1000000 configurations x 20 folds = 20000000 tasks, more than the limit of 10000000 tasks" "$G/tasks.yaml"

# ---- damaged data files --------------------------------------------------------------------
# be32 N: N as 4 big-endian bytes.
be32() {
  printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"
}
# images N [H W] / labels N [FIRST_LABEL]: a valid IDX file on stdout, N black images of
# HxW (28x28) or N labels cycling through 0..9 (from FIRST_LABEL, default 0).
images() { be32 2051; be32 "$1"; be32 "${2:-28}"; be32 "${3:-28}"; head -c $(($1 * ${2:-28} * ${3:-28})) /dev/zero; }
labels() {
  local i l=${2:-0}
  be32 2049; be32 "$1"
  for ((i = 0; i < $1; i++)); do printf "\\$(printf '%03o' $(((l + i) % 10)))"; done
}
TR=train-images-idx3-ubyte TL=train-labels-idx1-ubyte
TE=t10k-images-idx3-ubyte TEL=t10k-labels-idx1-ubyte
# newdata NAME: a fresh directory $D holding a valid gzipped train and test set of 30 images.
newdata() {
  D=$TMP/data/$1
  mkdir -p "$D"
  images 30 | gzip -c >"$D/$TR.gz"
  labels 30 | gzip -c >"$D/$TL.gz"
  images 30 | gzip -c >"$D/$TE.gz"
  labels 30 | gzip -c >"$D/$TEL.gz"
}
TINY=$SRC/tests/grids/tiny.yaml
n_data=0
# data NAME FRAGMENT: runs the tiny grid on $D.
data() {
  n_data=$((n_data + 1))
  check "data-$1" 2 "$2" -- "$BIN" --data "$D" --out "$TMP/o" "$TINY"
}

D=$TMP/data/does-not-exist
data missing-directory "does-not-exist: cannot open data directory"
mkdir -p "$TMP/data"
printf 'x' >"$TMP/data/a-file"
D=$TMP/data/a-file
data directory-is-a-file "a-file: not a directory"
newdata empty-directory && rm -f "$D"/*
data empty-directory "empty-directory: no train image file"
newdata labels-missing && rm "$D/$TL.gz"
data labels-missing "labels-missing: no train label file"
newdata test-labels-missing && rm "$D/$TEL.gz"
data test-labels-missing "test-labels-missing: no t10k label file"
if [ "$IS_ROOT" -eq 1 ]; then
  skip data-unreadable "running as root, which reads any file"; n_data=$((n_data + 1))
else
  newdata unreadable && chmod 000 "$D/$TR.gz"
  data unreadable "$TR.gz: cannot open data file: Permission denied"
fi
newdata empty-file && : >"$D/$TR.gz"
data empty-file "$TR.gz: truncated: expected a 16-byte IDX header, file has 0 bytes"
newdata short-header && images 30 | head -c 10 | gzip -c >"$D/$TR.gz"
data short-header "$TR.gz: truncated: expected a 16-byte IDX header, file has 10 bytes"
newdata truncated-pixels && images 30 | head -c $((16 + 20 * 784)) | gzip -c >"$D/$TR.gz"
data truncated-pixels "$TR.gz: truncated: expected 30 images of 28x28, file has 20"
newdata truncated-labels && labels 30 | head -c 20 | gzip -c >"$D/$TL.gz"
data truncated-labels "$TL.gz: truncated: expected 30 labels, file has 12"
newdata truncated-plain && rm "$D/$TR.gz" && images 30 | head -c 5000 >"$D/$TR"
data truncated-plain "$TR: truncated: expected 30 images of 28x28"
newdata swapped-files && labels 30 | gzip -c >"$D/$TR.gz" && images 30 | gzip -c >"$D/$TL.gz"
data swapped-files "$TR.gz: wrong magic number 0x00000801 (2049) (a label file), expected 0x00000803"
newdata wrong-magic && { printf 'GIF89a'; head -c 5000 /dev/zero; } | gzip -c >"$D/$TR.gz"
data wrong-magic "$TR.gz: wrong magic number 0x47494638"
newdata zero-images && images 0 | gzip -c >"$D/$TR.gz"
data zero-images "$TR.gz: bad dimension 0 of 0 (must be 1..100000000)"
newdata huge-side && { be32 2051; be32 1; be32 5000; be32 5000; } | gzip -c >"$D/$TR.gz"
data huge-side "$TR.gz: bad dimension 1 of 5000 (must be 1..4096)"
newdata huge-count && { be32 2051; be32 4000000000; be32 28; be32 28; } | gzip -c >"$D/$TR.gz"
data huge-count "$TR.gz: bad dimension 0 of 4000000000 (must be 1..100000000)"
newdata trailing-garbage && { images 30; printf 'extra'; } | gzip -c >"$D/$TR.gz"
data trailing-garbage "$TR.gz: trailing garbage: 5 bytes after the 30 images"
newdata count-mismatch && labels 29 | gzip -c >"$D/$TL.gz"
data count-mismatch "$TL.gz: count mismatch: 29 labels, but"
# The class count is data.classes when given (tiny10.yaml), else the training labels' largest
# + 1: a label 10 then makes 11 classes, which the network's 10 outputs do not fit.
TINY10=$TMP/tiny10.yaml
sed 's/^  subset: 1200$/  subset: 1200\n  classes: 10/' "$TINY" >"$TINY10"
newdata label-10 && { be32 2049; be32 30; labels 29 | tail -c 29; printf '\012'; } | gzip -c >"$D/$TL.gz"
n_data=$((n_data + 1))
check data-label-10 2 "$TL.gz: label 10 at index 29 is outside 0..9" -- "$BIN" --data "$D" --out "$TMP/o" "$TINY10"
data label-10-without-classes "tiny.yaml:16:26: the last layer outputs 10 values, but the data have 11 classes (labels 0..10; data.classes says the data have more)"
newdata test-label-255 && { be32 2049; be32 30; labels 5 | tail -c 5; printf '\377'; labels 24 | tail -c 24; } | gzip -c >"$D/$TEL.gz"
data test-label-255 "$TEL.gz: label 255 at index 5 is outside 0..9"
newdata corrupt-gzip && { printf '\037\213\010\000\000\000\000\000\000\003'; head -c 3000 /dev/zero | tr '\0' '\377'; } >"$D/$TR.gz"
data corrupt-gzip "$TR.gz: corrupt gzip data"
newdata truncated-gzip && images 30 | gzip -c | head -c 40 >"$D/$TR.gz.part" && mv "$D/$TR.gz.part" "$D/$TR.gz"
data truncated-gzip "$TR.gz: truncated"
# A flipped byte in the gzip trailer's CRC-32 (the 8th byte from the end).
newdata bad-gzip-crc && images 30 | gzip -c >"$D/x.gz" && size=$(wc -c <"$D/x.gz") &&
  { head -c $((size - 8)) "$D/x.gz"; printf '\125\125\125\125'; tail -c 4 "$D/x.gz"; } >"$D/$TR.gz" && rm "$D/x.gz"
data bad-gzip-crc "$TR.gz: corrupt gzip data"
newdata image-file-is-directory && rm "$D/$TR.gz" && mkdir "$D/$TR.gz"
data image-file-is-directory "$TR.gz: "
# Data that is valid but holds one class only: stratified 3-fold CV cannot work.
# (With data.classes: without it, the class count is the one training label's, 1, and the
# test labels 1..9 are refused.)
newdata one-image && images 1 | gzip -c >"$D/$TR.gz" && labels 1 | gzip -c >"$D/$TL.gz"
n_data=$((n_data + 1))
check data-one-image 2 "folds" -- "$BIN" --data "$D" --out "$TMP/o" "$TINY10"
data one-image-without-classes "$TEL.gz: label 1 at index 1 is outside 0..0 (the training labels' classes; data.classes says the data have more)"

# Special files: refused at once (the open is non-blocking), never waited on or read.
newdata fifo-images && rm "$D/$TR.gz" && mkfifo "$D/$TR.gz"
data fifo-images "$TR.gz: not a regular file (a FIFO); a data file must be a regular file"
newdata fifo-test-labels && rm "$D/$TEL.gz" && mkfifo "$D/$TEL.gz"
data fifo-test-labels "$TEL.gz: not a regular file (a FIFO)"
newdata dev-zero && rm "$D/$TR.gz" && ln -s /dev/zero "$D/$TR.gz"
data dev-zero "$TR.gz: not a regular file (a character device)"
# Headers that announce more than the file can hold, refused before anything is allocated:
# 100,000,000 images of 28x28 (78 GB) with 30 images behind, plain and gzipped; a plain
# labels file announcing 100,000,000 labels.
newdata huge-header-plain && rm "$D/$TR.gz" && { be32 2051; be32 100000000; be32 28; be32 28; images 30 | tail -c +17; } >"$D/$TR"
data huge-header-plain "$TR: truncated: expected 100000000 images of 28x28, file has 30 (23520 of 78400000000 pixel bytes)"
newdata huge-header-gzip && { be32 2051; be32 100000000; be32 28; be32 28; images 30 | tail -c +17; } | gzip -c >"$D/$TR.gz"
data huge-header-gzip "$TR.gz: truncated or damaged: header says 100000000 images of 28x28 (78400000000 bytes), but a gzip file of"
newdata huge-labels-header && rm "$D/$TL.gz" && { be32 2049; be32 100000000; labels 30 | tail -c +9; } >"$D/$TL"
data huge-labels-header "$TL: truncated: expected 100000000 labels, file has 30"
# A gzip bomb: the header announces 30 images, the stream then goes on for 100 MB of zeros
# (100 KB of gzip). Decompression stops 64 KiB after the announced images.
newdata gzip-bomb && { images 30; head -c 100000000 /dev/zero; } | gzip -c >"$D/$TR.gz"
data gzip-bomb "$TR.gz: trailing garbage: more than 65536 bytes decompress after the 30 images the header announces"
# Counts compared before either file is read whole: the labels' header against the images'.
newdata count-mismatch-header && labels 31 | gzip -c >"$D/$TL.gz"
data count-mismatch-header "$TL.gz: count mismatch: 31 labels, but the header of $D/$TR.gz says 30 images of 28x28"

# The grid's settings against the data, before any task: the image shape every
# configuration is built for, the subset within the data, and enough images of every class
# for stratified k-fold cross-validation (tiny.yaml: data.subset 1200, cv.folds 3 at 7:10;
# the generated data sets hold 30 images, 3 of each class).
# The shape is data.shape when given (tiny28.yaml), else the IDX header's: 32x32 images are
# then searched, and the next check (data.subset) speaks.
TINY28=$TMP/tiny28.yaml
sed 's/^  subset: 1200$/  subset: 1200\n  shape: [28, 28]/' "$TINY" >"$TINY28"
newdata images-32x32 && images 30 32 32 | gzip -c >"$D/$TR.gz" && images 30 32 32 | gzip -c >"$D/$TE.gz"
n_data=$((n_data + 1))
check data-images-32x32 2 "$TR.gz: images are 32x32, but the grid $TINY28 is built and checked for 28x28 images" \
  -- "$BIN" --data "$D" --out "$TMP/o" "$TINY28"
data images-32x32-without-shape "tiny.yaml:5:11: data.subset 1200 is more than the 30 training images in $D"
newdata test-images-32x32 && images 30 32 32 | gzip -c >"$D/$TE.gz"
data test-images-32x32 "$TE.gz: test images are 32x32, but the training images ($D/$TR.gz) are 28x28"
newdata grid-subset-too-large
data grid-subset-too-large "tiny.yaml:5:11: data.subset 1200 is more than the 30 training images in $D"
# datacmd NAME FRAGMENT ARGS...: the tiny grid on $D with more options.
datacmd() {
  local name=$1 frag=$2
  shift 2
  n_data=$((n_data + 1))
  check "data-$name" 2 "$frag" -- "$BIN" --data "$D" --out "$TMP/o" "$@" "$TINY"
}
newdata subset-too-large
datacmd subset-too-large "--subset 31 is more than the 30 training images in $D" --subset 31
datacmd subset-too-small "tiny.yaml:7:10: cv.folds 3 is more than the 1 image of class 0 (T-shirt/top) among the 5 images of --subset 5" --subset 5
datacmd subset-short-of-one-class "tiny.yaml:7:10: cv.folds 3 is more than the 2 images of class 9 (Ankle boot) among the 29 images of --subset 29: stratified cross-validation needs at least one image of every class in every fold; a subset of at least 30 images would do" --subset 29
FOLDS=$TMP/folds40.yaml
printf 'name: folds\nseed: 1\ncv:\n  folds: 40\nmodel:\n  - {type: dense, units: 10, activation: softmax}\n' >"$FOLDS"
n_data=$((n_data + 1))
check data-folds-more-than-data 2 "folds40.yaml:4:10: cv.folds 40 is more than the 3 images of class 0 (T-shirt/top) among the 30 training images in $D" \
  -- "$BIN" --data "$D" --out "$TMP/o" "$FOLDS"

# ---- options that do not apply to the command -----------------------------------------------
# Refused while the command line is read, before any file is opened (none of these exist).
n_opt=0
opt() {
  local frag=$1
  shift
  n_opt=$((n_opt + 1))
  check "option: $*" 2 "$frag" -- "$BIN" "$@"
}
X=$TMP/none
opt "--ranks does not apply to a search" --ranks 4 --out "$TMP/o" "$X.yaml"
opt "--config does not apply to a search" --config 1 --out "$TMP/o" "$X.yaml"
opt "--verify does not apply to a search" --out "$TMP/o" --verify "$X.yaml"
opt "--output does not apply to a search" --output "$X.txt" --out "$TMP/o" "$X.yaml"
opt "--csv does not apply to a search" --resume "$TMP/o" --csv
opt "--out does not apply to a dry run" -n -o "$TMP/o" "$X.yaml"
opt "--grace does not apply to a dry run" --grace 5 --dry-run "$X.yaml"
opt "--shard does not apply to a dry run" --dry-run --shard 0/2 "$X.yaml"
opt "--out does not apply to the report command" report "$X" --out "$TMP/o"
opt "--resume does not apply to the report command" --resume "$TMP/o" report "$X"
opt "--threads does not apply to the compare command" compare "$X" "$X" --threads 2
opt "--no-refit does not apply to the simulate command" simulate "$X" --no-refit
opt "--subset does not apply to the predict command" predict "$X.fgm" --subset 10
opt "--data does not apply to predict with IMAGES given" predict "$X.fgm" "$X-images-idx3-ubyte" -d "$X"
opt "--csv does not apply to the reproduce command" reproduce "$X.yaml" --csv
opt "--ranks does not apply to the fit command" fit "$X.yaml" --ranks 2
opt "--dry-run does not apply to the fit command" fit -n "$X.yaml"


# ---- files read back: results directories, report.yaml, model files ------------------------
# A real search (a tiny convolutional network on the generated 30 images) gives a results
# directory; copies of it then get special files (a FIFO, whose open() would wait for a
# writer for ever; /dev/zero, endless), oversized claims, an edited grid copy and another
# search's journal. Each is refused at once, in one line naming the file.
n_res=0
res() { n_res=$((n_res + 1)); check "res-$1" 2 "$2" -- "${@:3}"; }
newdata results && RD=$D
cat >"$TMP/conv.yaml" <<'EOF'
name: conv
seed: 1
cv:
  folds: 3
train:
  optimizer: sgd
  learning_rate: 0.1
  epochs: 1
model:
  - {type: conv2d, filters: 2, kernel_size: 3, activation: relu}
  - {type: global_average_pooling2d}
  - {type: dense, units: 10, activation: softmax}
grid:
  batch_size: [10]
EOF
R=$TMP/res
if ! timeout "$LIMIT" "$BIN" -q --data "$RD" --out "$R" "$TMP/conv.yaml" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null ||
  [ ! -s "$R/model.fgm" ]; then
  fail res-setup "the search for the results cases failed: $(head -n 1 "$TMP/stderr")"
else
  timeout "$LIMIT" "$BIN" -q --seed 2 --data "$RD" --out "$TMP/res-seed2" "$TMP/conv.yaml" >/dev/null 2>&1 </dev/null
  fresh() { rm -rf "$TMP/r-$1" && cp -r "$R" "$TMP/r-$1" && C=$TMP/r-$1; }
  fresh journal-fifo && rm "$C/journal.jsonl" && mkfifo "$C/journal.jsonl"
  res journal-fifo "$C/journal.jsonl: not a regular file (a FIFO); a journal must be a regular file" "$BIN" report "$C"
  res journal-fifo-resume "$C/journal.jsonl: not a regular file (a FIFO)" "$BIN" --data "$RD" --resume "$C"
  fresh journal-zero && ln -s /dev/zero "$C/journal.shard-0-of-2.jsonl"
  res journal-zero "$C/journal.shard-0-of-2.jsonl: not a regular file (a character device)" "$BIN" report "$C"
  fresh journal-zero-resume && rm "$C/journal.jsonl" && ln -s /dev/zero "$C/journal.jsonl"
  res journal-zero-resume "$C/journal.jsonl: not a regular file (a character device)" "$BIN" --data "$RD" --resume "$C"
  fresh journal-dir && rm "$C/journal.jsonl" && mkdir "$C/journal.jsonl"
  res journal-dir "$C/journal.jsonl: not a regular file (a directory)" "$BIN" report "$C"
  fresh grid-fifo && rm "$C/grid.yaml" && mkfifo "$C/grid.yaml"
  res grid-fifo "$C/grid.yaml: not a regular file (a FIFO)" "$BIN" report "$C"
  res grid-fifo-resume "$C/grid.yaml: not a regular file (a FIFO)" "$BIN" --data "$RD" --resume "$C"
  fresh grid-edited && sed -i 's/filters: 2/filters: 3/' "$C/grid.yaml"
  res grid-edited "$C/grid.yaml: edited since the search started" "$BIN" report "$C"
  res grid-edited-resume "$C/grid.yaml: edited since the search started" "$BIN" --data "$RD" --resume "$C"
  res grid-edited-simulate "$C/grid.yaml: edited since the search started" "$BIN" simulate "$C"
  # Another search's journal (another seed) beside this one's: not merged.
  fresh foreign-journal && cp "$TMP/res-seed2/journal.jsonl" "$C/journal.shard-0-of-2.jsonl"
  res foreign-journal "$C/journal.shard-0-of-2.jsonl: not part of the same search" "$BIN" report "$C"
  # report.yaml: special files, and a claim the file cannot hold.
  fresh report-fifo && rm "$C/report.yaml" && mkfifo "$C/report.yaml"
  res report-fifo "$C/report.yaml: not a regular file (a FIFO)" "$BIN" reproduce --data "$RD" "$C/report.yaml"
  res report-fifo-compare "$C/report.yaml: not a regular file (a FIFO)" "$BIN" compare "$C"
  fresh report-zero && rm "$C/report.yaml" && ln -s /dev/zero "$C/report.yaml"
  res report-zero "$C/report.yaml: not a regular file (a character device)" "$BIN" reproduce --data "$RD" "$C/report.yaml"
  fresh report-claim && sed -i 's/^  configurations: 1$/  configurations: 9999999/' "$C/report.yaml"
  res report-claim "$C/report.yaml: configurations: grid.configurations says 9999999 configurations" \
    "$BIN" reproduce --data "$RD" "$C/report.yaml"
  # Model files: special files, and small files whose header claims far more than they hold.
  TI=$RD/$TE.gz TIL=$RD/$TEL.gz
  fresh model-fifo && rm "$C/model.fgm" && mkfifo "$C/model.fgm"
  res model-fifo "$C/model.fgm: not a regular file (a FIFO); a model file must be a regular file" \
    "$BIN" predict "$C/model.fgm" "$TI" "$TIL"
  fresh model-zero && rm "$C/model.fgm" && ln -s /dev/zero "$C/model.fgm"
  res model-zero "$C/model.fgm: not a regular file (a character device)" "$BIN" predict "$C/model.fgm" "$TI" "$TIL"
  # le N BYTES: N little-endian; crc32le: the CRC-32 of stdin, little-endian (from gzip's
  # trailer); adler32be FILE: its Adler-32, big-endian.
  le() { local i; for ((i = 0; i < $2; i++)); do printf "\\$(printf '%03o' $((($1 >> (8 * i)) & 255)))"; done; }
  crc32le() { gzip -c | tail -c 8 | head -c 4; }
  adler32be() { local a=1 b=0 x; for x in $(od -An -v -tu1 "$1"); do a=$(((a + x) % 65521)); b=$(((b + a) % 65521)); done; be32 $(((b << 16) | a)); }
  # model_payload MODEL OUT: the payload of a model file (its deflate data in a gzip frame
  # with the payload's CRC-32 and size from the model's trailer).
  model_payload() {
    local size usize csize
    size=$(wc -c <"$1")
    usize=$(od -An -tu8 -j $((size - 24)) -N 8 "$1" | tr -d ' ')
    csize=$(od -An -tu8 -j $((size - 16)) -N 8 "$1" | tr -d ' ')
    { printf '\037\213\010\000\000\000\000\000\000\003'; tail -c +19 "$1" | head -c $((csize - 6))
      tail -c 8 "$1" | head -c 4; le $((usize & 0xffffffff)) 4; } | gzip -dc >"$2"
  }
  # model_file PAYLOAD OUT: a model file around PAYLOAD (< 64 KiB): one stored deflate block,
  # every size and checksum right.
  model_file() {
    local n
    n=$(wc -c <"$1")
    { printf 'FMNGMDL\000'; le 1 4; le 0 4; printf '\170\001\001'; le "$n" 2; le $((~n & 0xffff)) 2; cat "$1"
      adler32be "$1"; le "$n" 8; le $((n + 11)) 8; crc32le <"$1"; } >"$2.part"
    { cat "$2.part"; crc32le <"$2.part"; } >"$2" && rm -f "$2.part"
  }
  model_payload "$R/model.fgm" "$TMP/payload"
  model_file "$TMP/payload" "$TMP/same.fgm" # the re-packer itself: the model still loads
  if timeout "$LIMIT" "$BIN" predict "$TMP/same.fgm" "$TI" "$TIL" >/dev/null 2>&1; then
    PASSES=$((PASSES + 1))
  else
    fail res-model-repack "a re-packed model file does not load"
  fi
  n_res=$((n_res + 1))
  # A 1024x1024 input: the same parameters (convolution, global pooling), a file of under
  # 2 kB, and activations of several GB for a batch: refused on the images' shape before
  # any network is built (under a 1.5 GB address-space limit: nothing big is touched).
  { le 1024 4; le 1024 4; tail -c +9 "$TMP/payload"; } >"$TMP/p1024" && model_file "$TMP/p1024" "$TMP/m1024.fgm"
  # (Sanitizer builds reserve terabytes of address space: there the limit is left out.)
  VMLIMIT="ulimit -v 1500000;"
  grep -q __asan_init "$BIN" 2>/dev/null && VMLIMIT=""
  res model-1024-input "images are 28x28x1, but the model $TMP/m1024.fgm takes 1024x1024x1" \
    bash -c "$VMLIMIT"' exec "$@"' - "$BIN" predict "$TMP/m1024.fgm" "$TI" "$TIL"
  # 100 layers claimed by a payload that holds 3.
  { head -c 16 "$TMP/payload"; le 100 4; tail -c +21 "$TMP/payload"; } >"$TMP/p100" && model_file "$TMP/p100" "$TMP/m100.fgm"
  res model-100-layers "$TMP/m100.fgm: damaged: payload ends inside the network description: the header says 100 layers" \
    "$BIN" predict "$TMP/m100.fgm" "$TI" "$TIL"
fi

echo "grid cases: $n_grid from files + $n_gen generated; data cases: $n_data; option cases: $n_opt; results cases: $n_res"
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
