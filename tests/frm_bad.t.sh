#!/bin/sh
# frm_bad.t.sh — `frtui info FILE` on every malformed bundle in tests/bad/frm/ must exit with
# status 2 and print exactly one line on stderr that names the file, and never crash.
# Prints "N passed, N failed".  Skips (0 passed, 0 failed) while $FRTUI_BIN has no `info`.
# Run from the repository root (tests/run.sh does).  Regenerate the corpus with
# `build/release/tests/test_frm --gen-bad tests/bad/frm`.
BIN=${FRTUI_BIN:-./frtui}
DIR=tests/bad/frm
pass=0; fail=0
if [ ! -x "$BIN" ] || [ ! -d "$DIR" ]; then
    echo "frm_bad: $BIN or $DIR missing; skipping"
    echo "0 passed, 0 failed"; exit 0
fi
tmp=${TMPDIR:-/tmp}/frm_bad.$$
trap 'rm -f "$tmp.out" "$tmp.err"' EXIT INT TERM
# Probe: `info` is wired when its error message for a bad bundle names that bundle.
probe=$(ls "$DIR"/*.frm | head -n 1)
"$BIN" info "$probe" >"$tmp.out" 2>"$tmp.err" </dev/null
if ! grep -qF "$probe" "$tmp.err"; then
    echo "frm_bad: '$BIN info' not available yet; skipping"
    echo "0 passed, 0 failed"; exit 0
fi
for f in "$DIR"/*.frm; do
    "$BIN" info "$f" >"$tmp.out" 2>"$tmp.err" </dev/null
    rc=$?
    lines=$(wc -l <"$tmp.err" | tr -d ' ')
    if [ "$rc" = 2 ] && [ "$lines" = 1 ] && grep -qF "$f" "$tmp.err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "not ok - $f: exit $rc, $lines stderr line(s): $(head -c 300 "$tmp.err")"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
