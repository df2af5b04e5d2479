#!/bin/sh
# bad_corpus.t.sh — the malformed-input corpora through the CLI, as a user would hit them:
#   tests/bad/npy, tests/bad/idx   `frtui import MODEL --calib FILE -o OUT`   (samples files)
#                                  `frtui import MODEL --eval GOOD --labels FILE -o OUT` (*labels*)
#   tests/bad/png                  `frtui import MODEL --calib DIR -o OUT`, DIR holding that one PNG
#   tests/bad/frm                  `frtui eval FILE`  (frm_bad.t.sh covers `info`)
# Each must: exit 2 (so no crash: status < 128), finish within 10 s, print exactly one line on
# stderr naming the file, and leave no output file (nor a temp file) behind.
# A format whose CLI consumer is not wired yet is skipped with a note.  Prints "N passed, N failed".
# Run from the repository root (tests/run.sh does).  Regenerate the npy/idx/png corpora with
# /usr/bin/python3 tests/tools/gen_bad.py.
. tests/lib.sh
fr_t_init bad_corpus
MODEL=tests/onnx/mlp.onnx
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
export FRTUI_THREADS=1

# Valid inputs for the probes and for --eval next to a bad --labels.
# tests/onnx/mlp.onnx takes 8x1x1 inputs: a 4-dim IDX of 2 samples, N,C,H,W = 2,8,1,1.
printf '\000\000\010\004\000\000\000\002\000\000\000\010\000\000\000\001\000\000\000\001' >"$T/good.idx"
head -c 16 /dev/zero >>"$T/good.idx"
printf '\000\000\010\001\000\000\000\002\001\002' >"$T/good-labels.idx"

import_ok=0
if "$BIN" --help 2>&1 | grep -q 'import' && [ -f "$MODEL" ] &&
   "$BIN" import "$MODEL" --calib "$T/good.idx" -o "$T/probe.frm" >/dev/null 2>"$T/probe.err"; then
    import_ok=1
fi
rm -f "$T/probe.frm"

for fmt in npy idx; do
    [ -d tests/bad/$fmt ] || continue
    if [ "$import_ok" != 1 ]; then echo "bad_corpus: '$BIN import --calib' not usable yet; skipping $fmt"; continue; fi
    for f in tests/bad/$fmt/*; do
        case $f in
        *labels*) fr_refused "$f" "$f" "$BIN" import "$MODEL" --eval "$T/good.idx" --labels "$f" -o "$T/out/x.frm" ;;
        *)        fr_refused "$f" "$f" "$BIN" import "$MODEL" --calib "$f" -o "$T/out/x.frm" ;;
        esac
    done
done

if [ -d tests/bad/png ]; then
    if [ "$import_ok" != 1 ]; then echo "bad_corpus: '$BIN import --calib DIR' not usable yet; skipping png"; else
        for f in tests/bad/png/*.png; do
            rm -rf "$T/png"; mkdir -p "$T/png"; cp "$f" "$T/png/"
            fr_refused "$f" "$(basename "$f")" "$BIN" import "$MODEL" --calib "$T/png" -o "$T/out/x.frm"
        done
    fi
fi

if [ -d tests/bad/frm ]; then
    probe=$(ls tests/bad/frm/*.frm | head -n 1)
    "$BIN" eval "$probe" >/dev/null 2>"$T/probe.err" </dev/null
    if grep -qF "$probe" "$T/probe.err"; then
        for f in tests/bad/frm/*.frm; do fr_refused "$f" "$f" "$BIN" eval "$f"; done
    else
        echo "bad_corpus: '$BIN eval' not available yet; skipping frm"
    fi
fi
fr_t_done
