#!/bin/sh
# tfjs_bad.t.sh — `frtui import DIR/model.json -o OUT` on every malformed tfjs model in
# tests/bad/tfjs/*/ must exit with status 2, print exactly one line on stderr that names a file
# of that case, and write no output file.  Prints "N passed, N failed".  Skips (0 passed,
# 0 failed) while $FRTUI_BIN has no tfjs `import`.  Run from the repository root (tests/run.sh
# does).  Regenerate the corpus with `node tests/tools/make_tfjs_bad.js tests/tfjs tests/bad/tfjs`.
. tests/lib.sh
fr_t_init tfjs_bad
DIR=tests/bad/tfjs
{ [ -x "$BIN" ] && [ -d "$DIR" ]; } || fr_t_skip "$BIN or $DIR missing"
# Probe: `import` is wired for tfjs when a valid fixture imports and a bad one is refused with
# a message naming it.
good=tests/tfjs/seq_f32/model.json
probe=$(ls -d "$DIR"/*/ | head -n 1)
"$BIN" import "$good" -o "$T/good.frm" >"$T/stdout" 2>"$T/stderr" </dev/null
good_rc=$?
"$BIN" import "${probe}model.json" -o "$T/bad.frm" >"$T/stdout" 2>"$T/stderr" </dev/null
if [ "$good_rc" != 0 ] || [ ! -s "$T/good.frm" ] || ! grep -qF "$probe" "$T/stderr"; then
    fr_t_skip "'$BIN import' does not support tfjs models yet"
fi
for d in "$DIR"/*/; do fr_refused "$d" "$d" "$BIN" import "${d}model.json" -o "$T/out/x.frm"; done
fr_t_done
