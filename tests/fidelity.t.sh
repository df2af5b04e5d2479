#!/bin/sh
# fidelity.t.sh — label-free fidelity at the CLI (issue 15 item 2; definitions in
# include/frtui/fidelity.h):
#   - a network against itself (`eval --reference` with the same bundle): cosine 1, relative MSE 0,
#     agreement 100 %, KL 0;
#   - `run --json` carries a "fidelity" object and per-layer aggressive fractions; stdout a
#     fidelity line;
#   - an eval set without labels imports, `run` reports fidelity only, `eval` without --reference
#     refuses it with one line;
#   - --feature names a node; an unknown one is refused with its name.
# Prints "N passed, N failed".  Run from the repository root (tests/run.sh does).
. tests/lib.sh
fr_t_init fidelity
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
[ -f samples/mlp-fmnist.frm ] || fr_t_skip "samples/mlp-fmnist.frm missing"
command -v python3 >/dev/null 2>&1 || fr_t_skip "python3 missing (writes the test .npy)"
export FRTUI_THREADS=1
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
MLP=samples/mlp-fmnist.frm

"$BIN" eval "$MLP" --reference "$MLP" >"$T/self" 2>&1
check "self: cosine 1" 'grep -q "cosine 1.0000, rel. MSE 0, top-1 agreement 100.00%, KL 0 " "$T/self"'
check "self: top-1 of both" 'grep -q "top-1 .*(reference" "$T/self"'

"$BIN" run "$MLP" --method rtn --bits 4 --n-calib 64 --quiet --json "$T/r.json" >"$T/run" 2>&1
check "run prints fidelity" 'grep -q "^fidelity to full precision (10000 eval samples, feature " "$T/run"'
check "json fidelity object" 'grep -q "\"fidelity\": {\"n\": 10000, \"feature\": " "$T/r.json" && grep -q "\"top1_agreement\": " "$T/r.json"'
check "json per-layer" 'grep -q "\"layers\": \[{\"name\": " "$T/r.json" && grep -q "\"mean_abs_w_aggressive\": " "$T/r.json"'
check "rtn W4 is not the FP network" 'python3 -c "import json,sys; f=json.load(open(sys.argv[1]))[\"fidelity\"]; sys.exit(not (0 < f[\"cosine\"] < 1 and f[\"rel_mse\"] > 0))" "$T/r.json"'
# The MLP's W4 features stay alive: the count of dead (all-zero) quantized features is there, 0,
# and the fidelity line has no remark about it.
check "json zero_features" 'grep -q "\"zero_features\": 0[,}]" "$T/r.json" && ! grep -q "all zeros" "$T/run"'

# A label-free eval set: 20 random 8-d uint8 samples (tests/onnx/mlp.onnx takes 8 inputs).
python3 - "$T/x.npy" <<'PY'
import random, struct, sys
random.seed(3)
n = 20
hdr = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, 8), }" % n
hdr += " " * (118 - len(hdr)) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
    f.write(bytes(random.randrange(256) for _ in range(n * 8)))
PY
if "$BIN" import tests/onnx/mlp.onnx --calib "$T/x.npy" --eval "$T/x.npy" -o "$T/nl.frm" >"$T/imp" 2>&1; then
    ok "import without labels"
    "$BIN" eval "$T/nl.frm" >"$T/o" 2>"$T/err"; rc=$?
    check "eval without labels needs --reference" '[ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q -- "--reference" "$T/err"'
    "$BIN" run "$T/nl.frm" --method rtn --quiet >"$T/o" 2>&1
    check "label-free run: no top-1, fidelity" 'grep -q "no labels" "$T/o" && grep -q "^fidelity to full precision (20 eval samples" "$T/o"'
else
    bad "import without labels ($(head -c 300 "$T/imp"))"
fi

node=$("$BIN" info "$MLP" | awk '$3 == "relu" {print $2; exit}')
"$BIN" eval "$MLP" --reference "$MLP" --feature "$node" >"$T/o" 2>&1
check "--feature names a node" 'grep -q "feature $node, " "$T/o"'
"$BIN" run "$MLP" --method rtn --n-calib 64 --quiet --feature no-such-node >"$T/o" 2>&1
check "--feature unknown" 'grep -q "no-such-node" "$T/o"'
fr_t_done
