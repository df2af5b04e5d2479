#!/bin/sh
# contrast.t.sh — `frtui-dev contrast` (src/tools/contrast.c): the per-block aggressive-rounding
# table and PNG from run checkpoints, fidelity on held-out samples, and its refusals (exit 2,
# one line).  Uses a 2-iteration run of samples/resnet-fmnist.frm.  Prints "N passed, N failed".
. tests/lib.sh
fr_t_init contrast
DEV=${FRTUI_DEV_BIN:-./frtui-dev}
S=samples/resnet-fmnist.frm
{ [ -x "$BIN" ] && [ -x "$DEV" ] && [ -f "$S" ]; } || fr_t_skip "$BIN, $DEV or $S missing"
"$DEV" contrast --help 2>/dev/null | grep -q 'RUN.frc' || fr_t_skip "'$DEV' has no contrast command"
command -v python3 >/dev/null 2>&1 || fr_t_skip "python3 missing"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }

FRTUI_THREADS=1 "$BIN" run "$S" --iters 2 --n-calib 32 -q --checkpoint "$T/r.frc" >/dev/null 2>"$T/run.err" ||
    { echo "not ok - run: $(head -c 300 "$T/run.err")"; fail=1; fr_t_done; exit 1; }
# 6 held-out samples of the bundle's 1x28x28 input, as a uint8 .npy
python3 - "$T/ev.npy" "$T/wrong.npy" <<'PY'
import struct, sys
def npy(path, shape):
    h = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }" % (tuple(shape),)
    h += ' ' * ((64 - (10 + len(h) + 1) % 64) % 64) + '\n'
    n = 1
    for d in shape: n *= d
    open(path, 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode() + bytes((i * 37) % 256 for i in range(n)))
npy(sys.argv[1], [6, 1, 28, 28])
npy(sys.argv[2], [2, 3, 8, 8])
PY

FRTUI_THREADS=1 "$DEV" contrast --label A --label B --eval "$T/ev.npy" --eval "$T/ev.npy" --md "$T/c.md" --png "$T/c.png" \
    "$T/r.frc" "$T/r.frc" >"$T/out.md" 2>"$T/err"
rc=$?
[ "$rc" = 0 ] && ok || bad "contrast exit $rc: $(head -c 300 "$T/err")"
cmp -s "$T/out.md" "$T/c.md" && ok || bad "stdout and --md differ"
# both rows, every block of the sample (5), the fidelity column filled in
[ "$(grep -c '^| [AB] | flexround W4' "$T/c.md")" = 2 ] && ok || bad "summary rows: $(head -n 4 "$T/c.md")"
grep -q '^| 5 | ' "$T/c.md" && ! grep -q '^| 6 | ' "$T/c.md" && ok || bad "per-block rows"
grep -q 'cosine [01]\.[0-9]* (min [-0-9.]*), rel. MSE [0-9.]* at .*, 6 samples' "$T/c.md" && ok || bad "fidelity: $(grep '^| A' "$T/c.md")"
[ "$(head -c 8 "$T/c.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok || bad "--png is not a PNG"
# the same run twice: identical numbers (determinism of the measurement)
[ "$(grep '^| A' "$T/c.md" | cut -d'|' -f4-)" = "$(grep '^| B' "$T/c.md" | cut -d'|' -f4-)" ] && ok || bad "rows differ"

fr_refused "missing checkpoint" "$T/none.frc" "$DEV" contrast "$T/none.frc"
fr_refused "eval count" "--eval" "$DEV" contrast --eval "$T/ev.npy" "$T/r.frc" "$T/r.frc"
fr_refused "label count" "--label" "$DEV" contrast --label A "$T/r.frc" "$T/r.frc"
fr_refused "eval shape" "wrong.npy" "$DEV" contrast --eval "$T/wrong.npy" "$T/r.frc"
fr_refused "png is the input" "--png" "$DEV" contrast --png "$T/r.frc" "$T/r.frc"
fr_t_done
