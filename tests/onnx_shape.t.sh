#!/bin/sh
# `frtui import` of an ONNX file with symbolic height and width (tests/torch/mbv3, a
# MobileNetV3-style torch export with dynamic_axes; issue 15 item 4):
#   - without a shape: exit 2, one line naming the file and the dim;
#   - --input-shape CxHxW or NxCxHxW, or the --calib data's shape, resolves it;
#   - a contradicting or malformed --input-shape: exit 2, one line, no output;
#   - the bundle runs, and export --onnx rewrites the symbolic file (re-imported at the
#     bundle's shape).
# Prints "N passed, N failed".
BIN=${FRTUI_BIN:-./frtui}
D=tests/torch/mbv3
T=$(mktemp -d /tmp/frtui-oshape.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
expect_exit2() {
    name=$1; pat=$2; shift 2
    rm -f "$T/x.frm"
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    lines=$(wc -l <"$T/err")
    if [ "$rc" = 2 ] && [ "$lines" = 1 ] && grep -q -- "$pat" "$T/err" && [ ! -e "$T/x.frm" ]; then ok "$name"
    else bad "$name (rc=$rc, $lines stderr lines: $(head -c 300 "$T/err"))"; fi
}
if [ ! -f "$D/mbv3_op13.onnx" ]; then echo "onnx_shape: $D missing; skipping"; echo "0 passed, 0 failed"; exit 0; fi
M=$D/mbv3_op13.onnx

expect_exit2 "symbolic height without a shape" "mbv3_op13.onnx: input input: dimension 2 ('height') is symbolic" \
    "$BIN" import "$M" -o "$T/x.frm"
"$BIN" import "$M" --input-shape 3x40x48 -o "$T/a.frm" >/dev/null 2>"$T/err"
check "--input-shape 3x40x48" '"$BIN" info "$T/a.frm" | grep -q "^input *3x40x48"'
"$BIN" import "$M" --input-shape 1x3x32x32 -o "$T/b.frm" >/dev/null 2>"$T/err"
check "--input-shape with the batch" '"$BIN" info "$T/b.frm" | grep -q "^input *3x32x32"'
"$BIN" import "$M" --calib "$D/input_40x48.npy" -o "$T/c.frm" >"$T/out" 2>"$T/err"
check "shape from the --calib data, no resize" '"$BIN" info "$T/c.frm" | grep -q "^input *3x40x48" && ! grep -q resized "$T/err" &&
    grep -q "2 calibration" "$T/out"'
expect_exit2 "--input-shape contradicting a static dim" "fixes at 3" "$BIN" import "$M" --input-shape 1x40x48 -o "$T/x.frm"
expect_exit2 "--input-shape of the wrong rank" "rank 4" "$BIN" import "$M" --input-shape 40x48 -o "$T/x.frm"
expect_exit2 "malformed --input-shape" "--input-shape" "$BIN" import "$M" --input-shape 3x224x -o "$T/x.frm"

"$BIN" info --input-shape 3x64x64 "$M" >"$T/info" 2>"$T/err"
check "info on the ONNX file itself, with --input-shape" 'grep -q "^input *3x64x64" "$T/info" && grep -q "rule brecq (default), 7 units" "$T/info"'
expect_exit2 "info on the ONNX file without a shape" "'height') is symbolic" "$BIN" info "$M"

"$BIN" run "$T/c.frm" --iters 3 --checkpoint "$T/r.frc" --quiet >/dev/null 2>"$T/err"
check "run on the imported bundle" '[ -s "$T/r.frc" ]'
"$BIN" export "$T/r.frc" -o "$T/q.frm" --onnx "$T/q.onnx" >/dev/null 2>"$T/err"
check "export --onnx of the symbolic file keeps its size" \
    '[ -s "$T/q.onnx" ] && [ "$(wc -c <"$T/q.onnx")" = "$(wc -c <"$M")" ] && ! cmp -s "$T/q.onnx" "$M"'
"$BIN" import "$T/q.onnx" --calib "$D/input_40x48.npy" -o "$T/q2.frm" >/dev/null 2>"$T/err"
check "the exported file imports again" '[ -s "$T/q2.frm" ]'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
