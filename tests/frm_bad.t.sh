#!/bin/sh
# frm_bad.t.sh — `frtui info FILE` on every malformed bundle in tests/bad/frm/ must exit with
# status 2 and print exactly one line on stderr that names the file, and never crash.
# Prints "N passed, N failed".  Skips (0 passed, 0 failed) while $FRTUI_BIN has no `info`.
# Run from the repository root (tests/run.sh does).  Regenerate the corpus with
# `build/release/tests/test_frm --gen-bad tests/bad/frm`.
. tests/lib.sh
fr_t_init frm_bad
DIR=tests/bad/frm
{ [ -x "$BIN" ] && [ -d "$DIR" ]; } || fr_t_skip "$BIN or $DIR missing"
# Probe: `info` is wired when its error message for a bad bundle names that bundle.
probe=$(ls "$DIR"/*.frm | head -n 1)
"$BIN" info "$probe" >"$T/stdout" 2>"$T/stderr" </dev/null
grep -qF "$probe" "$T/stderr" || fr_t_skip "'$BIN info' not available yet"
for f in "$DIR"/*.frm; do fr_refused "$f" "$f" "$BIN" info "$f"; done
fr_t_done
