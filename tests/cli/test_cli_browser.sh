#!/usr/bin/env bash
# report.html in a real browser: headless Chromium loads the page from disk, the page's own
# script counts the images that decoded (body data-images-loaded="N/M"), and a screenshot
# of the page must show something (much larger than a screenshot of an empty page).
# Skipped (77) without chromium or gnuplot, unless FG_BROWSER_REQUIRE=1.
BIN=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
skip() {
  if [ "${FG_BROWSER_REQUIRE:-0}" = 1 ]; then echo "FAIL: $1 (FG_BROWSER_REQUIRE=1)"; exit 1; fi
  echo "SKIP: $1"; exit 77
}
if ! data_available; then skip "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"; fi
CHROMIUM=${FG_CHROMIUM:-}
if [ -z "$CHROMIUM" ]; then
  for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then CHROMIUM=$c; break; fi
  done
fi
{ [ -n "$CHROMIUM" ] && command -v "$CHROMIUM" >/dev/null 2>&1; } || skip "chromium not installed (apt-get install chromium)"
command -v "${FG_GNUPLOT:-gnuplot}" >/dev/null 2>&1 || skip "gnuplot not installed (apt-get install gnuplot-nox): no figures to show"

OUT=$TMP/run
expect_exit 0 "tiny search" -- "$BIN" -q --out "$OUT" "$SRC/tests/grids/tiny.yaml"
n_plots=$(ls "$OUT"/plots/*.png 2>/dev/null | wc -l)
[ "$n_plots" -eq 4 ] && pass || fail "$n_plots PNG figures, expected 4"

# As root Chromium needs --no-sandbox; a fresh profile keeps runs independent.
browse() {
  local profile
  profile=$(mktemp -d "$TMP/profile-XXXXXX")
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1200,2400 --virtual-time-budget=10000 "$@" 2>>"$TMP/chromium.log"
}
browse --dump-dom "file://$OUT/report.html" > "$TMP/dom.html"
loaded=$(grep -o 'data-images-loaded="[0-9]*/[0-9]*"' "$TMP/dom.html" | head -1 | sed 's/.*="\(.*\)"/\1/')
if [ "$loaded" = "$n_plots/$n_plots" ]; then pass; else
  fail "report.html: images loaded '$loaded', expected $n_plots/$n_plots"; tail -5 "$TMP/chromium.log" >&2; fi
grep -q '<h2>Does the best really beat the others?</h2>' "$TMP/dom.html" && pass || fail "report.html lacks its statistics section"

browse --screenshot="$TMP/report.png" "file://$OUT/report.html" >/dev/null
printf '<!DOCTYPE html><html><body></body></html>\n' > "$TMP/empty.html"
browse --screenshot="$TMP/empty.png" "file://$TMP/empty.html" >/dev/null
[ "$(head -c 8 "$TMP/report.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && pass || fail "no PNG screenshot"
rs=$(stat -c %s "$TMP/report.png" 2>/dev/null || echo 0)
es=$(stat -c %s "$TMP/empty.png" 2>/dev/null || echo 0)
# A blank 1200x2400 page compresses to a few kilobytes; text, tables and four figures do not.
[ "$es" -gt 0 ] && [ "$rs" -gt $((es * 5)) ] && pass || fail "the screenshot looks blank ($rs bytes; an empty page: $es bytes)"
finish
