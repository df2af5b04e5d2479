#!/bin/sh
# CLI-level round trip for models exported by torch.onnx.export (fixtures in tests/torch, made by
# tests/tools/torch_fixture.py; see tests/torch/README.md):
#   frtui import X.onnx --calib/--eval images.npy --labels labels.npy --mean M --std S -o m.frm
#   frtui eval m.frm                  == torch's top-1 on the same 256 images (fixtures.txt)
#   frtui run m.frm --bits 4 ...      works and writes its JSON report
#   frtui run ... --checkpoint r.frc; frtui export r.frc -o q.frm; frtui eval q.frm == acc_q
#   frtui export r.frc --onnx q.onnx  (when that exists): size and non-weight bytes preserved,
#                                     re-imported accuracy == acc_q within one image
# Prints "N passed, N failed".  Skips cleanly without tests/torch or an `import` command.
BIN=${FRTUI_BIN:-./frtui}
D=tests/torch
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
note() { echo "# $1"; }

if [ ! -f "$D/fixtures.txt" ]; then
    echo "torch_onnx: $D/fixtures.txt is missing; skipping"; echo "0 passed, 0 failed"; exit 0
fi
if [ ! -x "$BIN" ] || ! "$BIN" --help 2>&1 | grep -q 'frtui import'; then
    echo "torch_onnx: $BIN has no 'import' command; skipping"; echo "0 passed, 0 failed"; exit 0
fi
T=$(mktemp -d /tmp/frtui-torch.XXXXXX)
trap 'rm -rf "$T"' EXIT

MEAN=$(awk '$1 == "mean" { print $2 }' "$D/fixtures.txt")
STD=$(awk '$1 == "std" { print $2 }' "$D/fixtures.txt")
NEVAL=$(awk '$1 == "n_eval" { print $2 }' "$D/fixtures.txt")
have_export=0; have_onnx=0
"$BIN" --help 2>&1 | grep -q 'frtui export ' && have_export=1
[ "$have_export" = 1 ] && "$BIN" export --help 2>&1 | grep -q -- '--onnx' && have_onnx=1
[ "$have_export" = 1 ] || note "frtui export is missing: checkpoint/export sub-steps skipped"
[ "$have_onnx" = 1 ] || note "frtui export --onnx is missing: fake-quant ONNX sub-steps skipped"

# count_of "top-1 P%" line -> number of correct answers out of NEVAL
correct_of() { sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p' "$1" | head -n 1 | awk -v n="$NEVAL" '{ printf "%d", $1 * n / 100 + 0.5 }'; }

import_model() { # FILE.onnx OUT.frm
    "$BIN" import "$1" --calib "$D/images.npy" --eval "$D/images.npy" --labels "$D/labels.npy" \
        --mean "$MEAN" --std "$STD" -o "$2" >"$T/imp.out" 2>"$T/imp.err"
}

# --- every fixture: import, then eval equals torch's top-1
awk '$1 == "model" { print $2, $4 }' "$D/fixtures.txt" >"$T/list"
while read -r onnx want; do
    if import_model "$D/$onnx" "$T/m.frm"; then ok "import $onnx"
    else bad "import $onnx: $(head -c 300 "$T/imp.err")"; continue; fi
    "$BIN" eval "$T/m.frm" >"$T/eval.out" 2>&1
    got=$(correct_of "$T/eval.out")
    if [ "$got" = "$want" ]; then ok "eval $onnx: $got/$NEVAL == torch"
    else bad "eval $onnx: frtui $got/$NEVAL, torch $want/$NEVAL ($(head -c 200 "$T/eval.out"))"; fi
done <"$T/list"

# --- quantize, checkpoint, export, re-import: each architecture, fused-BN and BatchNormalization forms
for onnx in resnet_op9.onnx mbv2_op17.onnx mbv2_op13_nofold.onnx; do
    [ -f "$D/$onnx" ] || { bad "$onnx missing from $D"; continue; }
    import_model "$D/$onnx" "$T/m.frm" || { bad "import $onnx"; continue; }
    params=$(sed -n 's/.*nodes, \([0-9]*\) parameters.*/\1/p' "$T/imp.out")
    ck=""
    [ "$have_export" = 1 ] && ck="--checkpoint $T/r.frc"
    rm -f "$T/r.json" "$T/r.frc"
    # shellcheck disable=SC2086
    if "$BIN" run "$T/m.frm" --bits 4 --iters 50 --n-calib 128 --quiet --json "$T/r.json" $ck \
        >"$T/run.out" 2>"$T/run.err" && [ -s "$T/r.json" ]; then ok "run $onnx W4"
    else bad "run $onnx: $(head -c 300 "$T/run.err")"; continue; fi
    accq=$(sed -n 's/.*"acc_q": *\([0-9.]*\).*/\1/p' "$T/r.json" | head -n 1)
    qwant=$(awk -v a="$accq" -v n="$NEVAL" 'BEGIN { printf "%d", a * n + 0.5 }')
    note "$onnx: quantized W4 top-1 $qwant/$NEVAL (acc_q $accq)"
    [ "$have_export" = 1 ] || continue
    if [ -s "$T/r.frc" ] && "$BIN" export "$T/r.frc" -o "$T/q.frm" >"$T/exp.out" 2>"$T/exp.err"; then
        ok "export $onnx checkpoint"
        "$BIN" eval "$T/q.frm" >"$T/qeval.out" 2>&1
        got=$(correct_of "$T/qeval.out")
        if [ "$got" = "$qwant" ]; then ok "eval exported $onnx: $got/$NEVAL == run's acc_q"
        else bad "eval exported $onnx: $got/$NEVAL, run reported $qwant ($(head -c 200 "$T/qeval.out"))"; fi
    else bad "export $onnx: $(head -c 300 "$T/exp.err")"; continue; fi
    [ "$have_onnx" = 1 ] || continue
    if "$BIN" export "$T/r.frc" --onnx "$T/q.onnx" >"$T/exo.out" 2>"$T/exo.err" && [ -s "$T/q.onnx" ]; then
        ok "export --onnx $onnx"
    else bad "export --onnx $onnx: $(head -c 300 "$T/exo.err")"; continue; fi
    sa=$(wc -c <"$D/$onnx"); sb=$(wc -c <"$T/q.onnx")
    nd=$(cmp -l "$D/$onnx" "$T/q.onnx" 2>/dev/null | wc -l)
    if [ "$sa" = "$sb" ] && [ "$nd" -gt 0 ] && [ "$nd" -le $((4 * ${params:-0})) ]; then
        ok "fake-quant $onnx: same size, $nd bytes changed (<= 4 x $params parameters)"
    else bad "fake-quant $onnx: size $sb vs $sa, $nd bytes changed, $params parameters"; fi
    if import_model "$T/q.onnx" "$T/q2.frm"; then
        "$BIN" eval "$T/q2.frm" >"$T/q2.out" 2>&1
        got=$(correct_of "$T/q2.out")
        d=$((got - qwant)); [ "$d" -lt 0 ] && d=$((-d))
        if [ "$d" -le 1 ]; then ok "re-imported fake-quant $onnx: $got/$NEVAL vs acc_q $qwant"
        else bad "re-imported fake-quant $onnx: $got/$NEVAL, run reported $qwant"; fi
    else bad "re-import fake-quant $onnx: $(head -c 300 "$T/imp.err")"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
