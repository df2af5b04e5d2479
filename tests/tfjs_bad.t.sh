#!/bin/sh
# tfjs_bad.t.sh — `frtui import DIR/model.json -o OUT` on every malformed tfjs model in
# tests/bad/tfjs/*/ must exit with status 2, print exactly one line on stderr that names a file
# of that case, and write no output file.  Prints "N passed, N failed".  Skips (0 passed,
# 0 failed) while $FRTUI_BIN has no tfjs `import`.  Run from the repository root (tests/run.sh
# does).  Regenerate the corpus with `node tests/tools/make_tfjs_bad.js tests/tfjs tests/bad/tfjs`.
BIN=${FRTUI_BIN:-./frtui}
DIR=tests/bad/tfjs
pass=0; fail=0
if [ ! -x "$BIN" ] || [ ! -d "$DIR" ]; then
    echo "tfjs_bad: $BIN or $DIR missing; skipping"
    echo "0 passed, 0 failed"; exit 0
fi
tmp=${TMPDIR:-/tmp}/tfjs_bad.$$
out="$tmp.frm"
trap 'rm -f "$tmp.out" "$tmp.err" "$out"' EXIT INT TERM
# Probe: `import` is wired for tfjs when a valid fixture imports and a bad one is refused with
# a message naming it.
good=tests/tfjs/seq_f32/model.json
probe=$(ls -d "$DIR"/*/ | head -n 1)
rm -f "$out"
"$BIN" import "$good" -o "$out" >"$tmp.out" 2>"$tmp.err" </dev/null
good_rc=$?
"$BIN" import "${probe}model.json" -o "$out.bad" >"$tmp.out" 2>"$tmp.err" </dev/null
if [ "$good_rc" != 0 ] || [ ! -s "$out" ] || ! grep -qF "$probe" "$tmp.err"; then
    rm -f "$out.bad"
    echo "tfjs_bad: '$BIN import' does not support tfjs models yet; skipping"
    echo "0 passed, 0 failed"; exit 0
fi
for d in "$DIR"/*/; do
    rm -f "$out"
    "$BIN" import "${d}model.json" -o "$out" >"$tmp.out" 2>"$tmp.err" </dev/null
    rc=$?
    lines=$(wc -l <"$tmp.err" | tr -d ' ')
    if [ "$rc" = 2 ] && [ "$lines" = 1 ] && grep -qF "$d" "$tmp.err" && [ ! -e "$out" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "not ok - $d: exit $rc, $lines stderr line(s), output $( [ -e "$out" ] && echo present || echo absent): $(head -c 300 "$tmp.err")"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
