#!/bin/sh
# Block rules (issue 15 item 6): `--units brecq|split` on a torch-exported MobileNet-style model
# (tests/torch/mbv2_op13.onnx: hard-swish written out as HardSigmoid+Mul between the convs of
# an inverted residual without skip), where the two rules give different units.
#   - `frtui info` names the rule and shows both tables;
#   - run --json records unit_rule and the unit count of the rule asked for;
#   - a checkpoint resumes with its own rule, and --units that differs is refused;
#   - a bad --units value exits 2 with one line.
# Prints "N passed, N failed".
BIN=${FRTUI_BIN:-./frtui}
D=tests/torch
T=$(mktemp -d /tmp/frtui-units.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
n_units() { sed '/"memory"/,$d' "$1" | grep -c '"index":'; }   # the memory section lists units too

if [ ! -f "$D/mbv2_op13.onnx" ]; then echo "units: $D/mbv2_op13.onnx missing; skipping"; echo "0 passed, 0 failed"; exit 0; fi
"$BIN" import "$D/mbv2_op13.onnx" --calib "$D/images.npy" --n-calib 64 -o "$T/m.frm" >/dev/null 2>"$T/err" ||
    { bad "import: $(head -c 300 "$T/err")"; echo "$pass passed, $fail failed"; exit 1; }

"$BIN" info "$T/m.frm" >"$T/info" 2>&1
check "info names the default rule" 'grep -q "BRECQ blocks, rule brecq (default), 5 units" "$T/info"'
check "info shows the split rule where it differs" 'grep -q "rule split (--units split), 7 units" "$T/info"'
check "the hard-swish inverted residual is one unit under brecq" \
    'grep -q "block:/b2/b2.0/Conv *block *3 .*conv,hardsigmoid,mul,dwconv,hardsigmoid,mul,conv" "$T/info"'
check "samples: the split rule gives the same units" \
    '"$BIN" info samples/mobilenetv2-fmnist.frm | grep -q "Block rule split (--units split): the same units"'

"$BIN" run "$T/m.frm" --iters 2 --quiet --json "$T/b.json" >/dev/null 2>"$T/err"
check "default run: brecq, 5 units" 'grep -q "\"unit_rule\": \"brecq\"" "$T/b.json" && [ "$(n_units "$T/b.json")" = 5 ]'
"$BIN" run "$T/m.frm" --units split --iters 2 --quiet --json "$T/s.json" >/dev/null 2>"$T/err"
check "--units split: 7 units" 'grep -q "\"unit_rule\": \"split\"" "$T/s.json" && [ "$(n_units "$T/s.json")" = 7 ]'

# An interrupted split run (stopped after its third unit) resumes with the split rule.
FRTUI_THREADS=1 "$BIN" run "$T/m.frm" --units split --iters 2 --unit /b2/b2.3/Conv --checkpoint "$T/c.frc" --quiet \
    >/dev/null 2>"$T/err" || bad "split run with --unit: $(head -c 300 "$T/err")"
FRTUI_THREADS=1 "$BIN" run "$T/m.frm" --resume "$T/c.frc" --quiet --json "$T/r.json" >/dev/null 2>"$T/err"
check "resume keeps the checkpoint's split rule" 'grep -q "\"unit_rule\": \"split\"" "$T/r.json" && [ "$(n_units "$T/r.json")" = 7 ]'
FRTUI_THREADS=1 "$BIN" run "$T/m.frm" --resume "$T/c.frc" --units brecq --quiet >/dev/null 2>"$T/err"; rc=$?
check "resume with a different --units is refused, by name" '[ "$rc" = 2 ] && grep -q -- "--units brecq differs from the checkpoint'"'"'s split" "$T/err"'

"$BIN" run "$T/m.frm" --units blocks >/dev/null 2>"$T/err"; rc=$?
check "bad --units value: exit 2, one line" '[ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "brecq or split" "$T/err"'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
