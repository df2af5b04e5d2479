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
    check "csv report with odd node names has 3 records of 13 fields" \
        'python3 -c "import csv,sys; r=list(csv.reader(open(sys.argv[1], encoding=\"utf-8\", newline=\"\"))); sys.exit(not (len(r)==3 and all(len(x)==13 for x in r)))" "$T/w.csv"'
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

fr_t_done
