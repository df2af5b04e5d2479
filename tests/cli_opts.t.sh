#!/bin/sh
# Command-line behaviour (issue 13 section 7, issue 14 items 13 and 16): one option parser for
# every command (numbers checked by name, unknown options, --help, --version), output paths
# checked before any computation and never one of the inputs, escaped JSON/CSV reports and
# terminal output for names from imported files, checkpoints that find their bundle, and
# `make install`.  Prints "N passed, N failed".
. tests/lib.sh
fr_t_init frtui-cli-opts
DEV=${FRTUI_DEV_BIN:-./frtui-dev}
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
MLP=samples/mlp-fmnist.frm
[ -f "$MLP" ] || fr_t_skip "samples/mlp-fmnist.frm missing"
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$1" 2>/dev/null; }
have_py=0; command -v python3 >/dev/null 2>&1 && have_py=1

# --- names with quotes, backslashes, commas, newlines, ESC/CSI and broken UTF-8 (issue 14.16)
if [ "$have_py" = 1 ]; then
    python3 tests/tools/weird_names.py tests/onnx/mlp.onnx "$T/w.onnx" "$T/w.npy"
    "$BIN" import "$T/w.onnx" --calib "$T/w.npy" -o "$T/w.frm" >/dev/null 2>&1
    "$BIN" run "$T/w.frm" --iters 5 --json "$T/w.json" --csv "$T/w.csv" --quiet >"$T/w.out" 2>&1
    check "json report with odd node names parses" 'json_ok "$T/w.json"'
    check "json report keeps the quote and backslash of the name" \
        'python3 -c "import json,sys; n=json.load(open(sys.argv[1]))[\"units\"][0][\"name\"]; sys.exit(not (chr(34) in n and chr(92) in n and chr(27) in n))" "$T/w.json"'
    check "csv report with odd node names has 3 records, each as wide as the header" \
        'python3 -c "import csv,sys; r=list(csv.reader(open(sys.argv[1], encoding=\"utf-8\", newline=\"\"))); sys.exit(not (len(r)==3 and all(len(x)==len(r[0]) for x in r)))" "$T/w.csv"'
    "$BIN" info "$T/w.frm" >"$T/w.info" 2>&1
    check "info prints no ESC or C1 control bytes from node names" '! LC_ALL=C grep -q "$(printf "\033")" "$T/w.info" && ! LC_ALL=C grep -q "$(printf "\302\233")" "$T/w.info" && grep -q "31m" "$T/w.info"'
    check "run table prints no ESC from node names" '! LC_ALL=C grep -q "$(printf "\033")" "$T/w.out" && grep -q "31m" "$T/w.out"'

    # every unit falls back to RTN (calibration values overflow the loss): null, not -nan; exit 1
    python3 - "$T/big.npy" <<'PY'
import struct, sys
n, d = 64, 8
h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, d)
h += ' ' * (63 - (10 + len(h)) % 64) + '\n'
with open(sys.argv[1], 'wb') as f:
    f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode())
    f.write(struct.pack('<%df' % (n * d), *[3e38 if i % 2 else -3e38 for i in range(n * d)]))
PY
    "$BIN" import tests/onnx/mlp.onnx --calib "$T/big.npy" -o "$T/big.frm" >/dev/null 2>&1
    "$BIN" run "$T/big.frm" --iters 5 --json "$T/big.json" --csv "$T/big.csv" --quiet >/dev/null 2>"$T/big.err"; rc=$?
    check "all-fallback run: JSON parses (null, not -nan)" 'json_ok "$T/big.json" && ! grep -q nan "$T/big.json" && grep -q "\"loss_rtn\": null" "$T/big.json"'
    check "all-fallback run: CSV has no nan" '! grep -q nan "$T/big.csv"'
    check "all-fallback run exits 1 with a line saying so" '[ "$rc" = 1 ] && grep -q "every unit fell back to RTN" "$T/big.err"'
    check "no evaluation set: accuracies are null" 'grep -q "\"acc_fp\": null" "$T/big.json"'
else
    echo "python3 missing: skipping the escaper checks"
fi

BINABS=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
# expect2 LABEL WANT CMD...: exit 2, one stderr line containing WANT (fr_refused without $T/out)
expect2() { fr_refused "$@"; }

# --- one parser: numbers checked by name, unknown options, --version, --help everywhere
fr_refused "run --bits four names the flag" "frtui run: --bits: 'four' is not an integer" "$BIN" run "$MLP" --bits four
fr_refused "frtui --foo is an unknown option" "unknown option --foo" "$BIN" --foo
fr_refused "run --foo=1 is an unknown option" "unknown option --foo" "$BIN" run "$MLP" --foo=1
fr_refused "--qdrop takes no value" "--qdrop" "$BIN" run "$MLP" --qdrop=1
fr_refused "run --scale-lr -1 is refused" "--scale-lr must be in [0, 1000]" "$BIN" run "$MLP" --scale-lr -1
fr_refused "run --scale-lr nan is refused" "--scale-lr: 'nan' is not a number" "$BIN" run "$MLP" --scale-lr nan
fr_refused "run --keep-best 1 is refused" "--keep-best 1: give 0 (off) or 2..1000" "$BIN" run "$MLP" --keep-best 1
# --keep-best on the MLP at a lr where fc1 overshoots: the report records the setting, fc1 goes
# back to its RTN start (iteration 0) and says so, the others keep their last iterate.
FRTUI_THREADS=1 "$BIN" run "$MLP" --iters 60 --lr 0.05 --n-calib 256 --keep-best 4 -q --json "$T/kb.json" >/dev/null 2>&1
check "run --keep-best: the report names the kept iterate" \
    'grep -q "\"keep_best\": 4" "$T/kb.json" && grep -q "kept iteration 0 of 60 (--keep-best)" "$T/kb.json" && grep -q "kept the last iteration" "$T/kb.json"'
check "run: the report names the s1 parametrisation (log by default)" 'grep -q "\"s1_param\": \"log\"" "$T/kb.json"'
fr_refused "run --s1-param exp is refused" "--s1-param" "$BIN" run "$MLP" --s1-param exp
fr_refused "inspector --cols x" "--cols: 'x' is not an integer" "$BIN" "$MLP" --dump-screen --cols x
fr_refused "inspector --wait-unit x" "--wait-unit: 'x' is not an integer" "$BIN" "$MLP" --dump-screen --wait-unit x
fr_refused "report --bits x" "--bits: 'x' is not an integer" "$BIN" report --bits x "$MLP"
fr_refused "eval --batch x" "--batch: 'x' is not an integer" "$BIN" eval --batch x "$MLP"
fr_refused "import --n-calib x" "--n-calib: 'x' is not an integer" "$BIN" import tests/onnx/mlp.onnx --n-calib x -o "$T/out/x.frm"
fr_refused "export-png --layer x" "--layer" "$BIN" export-png x.frc --unit u --view loss --layer x -o "$T/out/x.png"
fr_refused "FRTUI_THREADS checked" "FRTUI_THREADS" env FRTUI_THREADS=lots "$BIN" info "$MLP"
if [ -x "$DEV" ]; then
    fr_refused "frtui-dev train-samples --epochs two" "--epochs: 'two' is not an integer" "$DEV" train-samples --epochs two --out "$T/out"
    fr_refused "frtui-dev bench --keys x" "--keys: 'x' is not an integer" "$DEV" bench --keys x
    fr_refused "frtui-dev build-real-sample --n-eval x" "--n-eval: 'x' is not an integer" "$DEV" build-real-sample --n-eval x -o "$T/out/r.frm"
    check "frtui-dev --version" '"$DEV" --version | grep -q "^frtui-dev [0-9]"'
    for c in bench train-samples build-real-sample; do
        check "frtui-dev $c --help" '"$DEV" $c --help >"$T/h" 2>&1 && grep -q "usage: frtui-dev $c" "$T/h"'
    done
fi
check "frtui --version" '"$BIN" --version | grep -q "^frtui [0-9]"'
check "frtui -V" '"$BIN" -V | grep -q "^frtui [0-9]"'
for c in info eval run compare report import export export-png sweep sweep-report; do
    check "frtui $c --help" '"$BIN" $c --help >"$T/h" 2>&1 && grep -q "usage: frtui $c" "$T/h"'
done
"$BIN" --help >"$T/help"
check "top-level help lists the inspector's options" '(for o in --ascii --color --no-mouse --palette --dump-screen --checkpoint --resume --model --version; do grep -q -- "$o" "$T/help" || exit 1; done)'
check "--name=value works" '"$BIN" run "$MLP" --iters=3 --n-calib=64 --quiet >"$T/eq" 2>&1 && grep -q "quantized" "$T/eq"'

# --- outputs checked before any computation (a 2 M-iteration run must not start)
fr_refused "run --json into a missing directory fails before the run" "/nonexistent/dir" "$BIN" run "$MLP" --iters 2000000 --json /nonexistent/dir/r.json --quiet
fr_refused "run --csv into a missing directory fails before the run" "/nonexistent/dir" "$BIN" run "$MLP" --iters 2000000 --csv /nonexistent/dir/r.csv --quiet
fr_refused "run --checkpoint into a missing directory fails before the run" "/nonexistent/dir" "$BIN" run "$MLP" --iters 2000000 --checkpoint /nonexistent/dir/r.frc --quiet
fr_refused "compare --json into a missing directory fails before the runs" "/nonexistent/dir" "$BIN" compare "$MLP" --iters 2000000 --json /nonexistent/dir/r --quiet
fr_refused "run --json that is a directory" "is a directory" "$BIN" run "$MLP" --iters 2000000 --json "$T" --quiet
fr_refused "run --n-calib 0 is refused" "--n-calib" "$BIN" run "$MLP" --n-calib 0
"$BIN" run "$MLP" --iters 2 --n-calib 999999 >/dev/null 2>"$T/nc"
check "run --n-calib beyond the bundle gives a note" 'grep -q "note: --n-calib 999999" "$T/nc" && grep -q "using all" "$T/nc"'

# --- an output that is one of the inputs is refused, the input untouched (issue 14.13)
cp "$MLP" "$T/m.frm"; sum0=$(cksum <"$T/m.frm")
fr_refused "run --json onto the bundle" "refusing to overwrite" "$BIN" run "$T/m.frm" --iters 3 --json "$T/m.frm"
ln "$T/m.frm" "$T/hard.frm" 2>/dev/null && fr_refused "run --csv onto a hard link of the bundle (same inode)" "refusing to overwrite" "$BIN" run "$T/m.frm" --iters 3 --csv "$T/hard.frm"
fr_refused "run --checkpoint onto the bundle via ./" "refusing to overwrite" "$BIN" run "$T/m.frm" --iters 3 --checkpoint "$T/./m.frm"
fr_refused "run --json and --csv the same file" "also the --json output" "$BIN" run "$T/m.frm" --iters 3 --json "$T/out/r" --csv "$T/out/r"
check "the bundle is untouched" '[ "$(cksum <"$T/m.frm")" = "$sum0" ]'
cp tests/onnx/mlp.onnx "$T/model.onnx"; osum=$(cksum <"$T/model.onnx")
fr_refused "import -o onto the ONNX model" "refusing to overwrite" "$BIN" import "$T/model.onnx" -o "$T/model.onnx"
check "the ONNX model is untouched" '[ "$(cksum <"$T/model.onnx")" = "$osum" ]'
"$BIN" run "$T/m.frm" --iters 3 --n-calib 64 --checkpoint "$T/r.frc" --quiet >/dev/null 2>&1
rsum=$(cksum <"$T/r.frc")
fr_refused "export -o onto the checkpoint" "refusing to overwrite" "$BIN" export "$T/r.frc" -o "$T/r.frc"
fr_refused "export -o onto the checkpoint's bundle" "refusing to overwrite" "$BIN" export "$T/r.frc" -o "$T/m.frm"
fr_refused "export -o and --safetensors the same file" "also the -o output" "$BIN" export "$T/r.frc" -o "$T/out/q" --safetensors "$T/out/q"
check "the checkpoint and bundle are untouched" '[ "$(cksum <"$T/r.frc")" = "$rsum" ] && [ "$(cksum <"$T/m.frm")" = "$sum0" ]'
fr_refused "eval RUN.frc points to frtui export" "frtui export" "$BIN" eval "$T/r.frc"

# --- checkpoints record the bundle's absolute path: export works from another directory
mkdir -p "$T/rel"; cp "$MLP" "$T/rel/b.frm"
(cd "$T/rel" && "$BINABS" run b.frm --iters 3 --n-calib 64 --checkpoint r.frc --quiet >/dev/null 2>&1)
check "checkpoint made with a relative bundle path exports from another directory" \
    '"$BIN" export "$T/rel/r.frc" -o "$T/rel/q.frm" >/dev/null 2>"$T/e" && [ -s "$T/rel/q.frm" ]'
mkdir -p "$T/compat"; cp tests/bad/frc/model.frm tests/frc_compat/relative-1.0.frc "$T/compat/"
check "an older checkpoint with a relative bundle path finds the bundle beside it" \
    '"$BIN" export "$T/compat/relative-1.0.frc" -o "$T/compat/q.frm" >/dev/null 2>"$T/e" && [ -s "$T/compat/q.frm" ]'

# --- the inspector's --checkpoint, --resume and --model
"$BIN" "$T/m.frm" --iters 3 --n-calib 64 --dump-screen --wait-done --checkpoint "$T/i.frc" >"$T/frame" 2>"$T/e"; rc=$?
check "inspector --checkpoint writes the checkpoint at the end" '[ "$rc" = 0 ] && [ -s "$T/i.frc" ] && "$BIN" export "$T/i.frc" -o "$T/iq.frm" >/dev/null 2>&1'
FRTUI_THREADS=1 "$BIN" run "$T/m.frm" --iters 20 --n-calib 64 --checkpoint "$T/full.frc" --quiet >/dev/null 2>&1
FRTUI_THREADS=1 "$BIN" run "$T/m.frm" --iters 20 --n-calib 64 --unit fc1 --checkpoint "$T/part.frc" --quiet >/dev/null 2>&1
FRTUI_THREADS=1 "$BIN" "$T/m.frm" --resume "$T/part.frc" --checkpoint "$T/res.frc" --dump-screen --wait-done >"$T/frame" 2>"$T/e"; rc=$?
check "inspector --resume continues the run to the same checkpoint as an uninterrupted run" \
    '[ "$rc" = 0 ] && [ -s "$T/full.frc" ] && cmp -s "$T/full.frc" "$T/res.frc"'
cp "$T/m.frm" "$T/mv.frm"
"$BIN" run "$T/mv.frm" --iters 3 --n-calib 64 --checkpoint "$T/mv.frc" --quiet >/dev/null 2>&1
mv "$T/mv.frm" "$T/moved.frm"
"$BIN" "$T/mv.frc" --model "$T/moved.frm" --dump-screen --cols 120 --rows 36 >"$T/frame" 2>"$T/e"; rc=$?
check "inspector RUN.frc --model FILE replays when the recorded bundle moved" '[ "$rc" = 0 ] && grep -q "fc1" "$T/frame"'
fr_refused "inspector RUN.frc without --model names the missing bundle" "mv.frm" "$BIN" "$T/mv.frc" --dump-screen
fr_refused "inspector --model with a bundle is refused" "--model" "$BIN" "$T/m.frm" --model "$T/m.frm" --dump-screen

# --- make install PREFIX=...: binaries, man pages, samples; the installed binary runs on an
# installed sample and, started elsewhere without a file, finds the installed default sample
if command -v make >/dev/null 2>&1 && [ -f Makefile ] && [ -x "$DEV" ]; then
    DEVABS=$(cd "$(dirname "$DEV")" && pwd)/$(basename "$DEV")
    make -s install PREFIX="$T/prefix" BIN="$BINABS" DEVBIN="$DEVABS" >"$T/inst" 2>&1
    P=$T/prefix
    check "make install puts frtui, frtui-dev, the man pages and the samples under PREFIX" \
        '[ -x "$P/bin/frtui" ] && [ -x "$P/bin/frtui-dev" ] && [ -s "$P/share/man/man1/frtui.1" ] &&
         [ -s "$P/share/man/man1/frtui-dev.1" ] && [ -s "$P/share/frtui/samples/mlp-fmnist.frm" ]'
    check "the installed frtui evaluates an installed sample" \
        '"$P/bin/frtui" eval "$P/share/frtui/samples/mlp-fmnist.frm" | grep -q "top-1"'
    # the header drops the model name first when it is crowded (a RUNNING frame), so the ResNet
    # sample is also recognised by its first block in the unit list
    check "the installed frtui finds the installed default sample from another directory" \
        '(cd "$T" && "$P/bin/frtui" --dump-screen --iters 1 --n-calib 16 --cols 100 --rows 30 >"$T/def" 2>&1) && grep -q -i -e resnet -e "layer1\.0" "$T/def"'
    if command -v man >/dev/null 2>&1; then
        check "man frtui renders and lists the inspector's options" \
            'MANWIDTH=100 man -l "$P/share/man/man1/frtui.1" 2>/dev/null | grep -q -- "--no-mouse"'
    fi
fi

fr_t_done
