#!/bin/sh
# ckpt.t.sh — checkpoints at the CLI level: a run killed mid-way and resumed ends byte-identical
# to an uninterrupted one; export / eval round trip; export-png; malformed checkpoints, other
# bundles, changed settings, unwritable and full outputs all exit 2 with one line and write
# nothing.  Uses samples/mlp-fmnist.frm when present, else a tiny bundle from test_ckpt.
# Prints "N passed, N failed".
BIN=${FRTUI_BIN:-./frtui}
TB=${BUILD:-build/release}/tests/test_ckpt
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
if [ ! -x "$BIN" ]; then echo "ckpt: $BIN missing; skipping"; echo "0 passed, 0 failed"; exit 0; fi
T=${TMPDIR:-/tmp}/ckpt_t.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT INT TERM
export FRTUI_THREADS=1
M=samples/mlp-fmnist.frm
ITERS=120
if [ ! -f "$M" ]; then
    echo "ckpt: $M not present; using a tiny generated bundle"
    M=$T/m.frm
    "$TB" --gen-model "$M" || { echo "cannot generate a bundle"; echo "0 passed, 1 failed"; exit 1; }
    ITERS=300
fi

# 0. the committed malformed corpus is at today's format: a format change (minor bump) must
# regenerate it (test_ckpt --gen-bad tests/bad/frc), or its files would fail for some other reason
# than the one they are for.  By header minor, not bytes: the generator's numbers depend on the
# OpenBLAS kernel of the machine.  (major-*.frc are about the version itself.)
want=$(sed -n 's/^#define FR_CKPT_MINOR \([0-9]*\).*/\1/p' include/frtui/ckpt.h 2>/dev/null)
if [ -n "$want" ]; then
    stale=""
    for f in tests/bad/frc/*.frc; do
        case $(basename "$f") in major-*) continue ;; esac
        [ "$(head -c 4 "$f" 2>/dev/null)" = FRTC ] || continue
        [ "$(wc -c <"$f")" -ge 8 ] || continue
        m=$(od -An -tu2 -j6 -N2 "$f" | tr -d ' ')
        [ "$m" = "$want" ] || stale="$stale $(basename "$f")($m)"
    done
    [ -z "$stale" ] && ok || bad "tests/bad/frc predates .frc 1.$want (run $TB --gen-bad tests/bad/frc):$stale"
fi

# 1. uninterrupted reference
"$BIN" run "$M" --iters $ITERS --checkpoint "$T/full.frc" --quiet >"$T/full.out" 2>"$T/err" && ok || bad "reference run: $(cat "$T/err")"

# 2. killed mid-run (time-based checkpoints), then resumed
"$BIN" run "$M" --iters $ITERS --checkpoint "$T/part.frc" --checkpoint-every 0.2s --quiet >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -f "$T/part.frc" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.3
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
if [ -f "$T/part.frc" ]; then
    "$BIN" run "$M" --resume "$T/part.frc" --checkpoint "$T/res.frc" --quiet >"$T/res.out" 2>"$T/err" && ok || bad "resume: $(cat "$T/err")"
    cmp -s "$T/full.frc" "$T/res.frc" && ok || bad "resumed run's final checkpoint differs from the uninterrupted run's"
    grep 'top-1' "$T/full.out" >"$T/a"; grep 'top-1' "$T/res.out" | sed 's/\[.*//' >"$T/b"; sed -i 's/\[.*//' "$T/a"
    cmp -s "$T/a" "$T/b" && ok || bad "resumed accuracy line differs"
else
    bad "no checkpoint was written before the kill"
fi
# interrupted at a unit boundary
"$BIN" run "$M" --iters $ITERS --checkpoint "$T/u.frc" --checkpoint-every 1 --quiet >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -f "$T/u.frc" ] && [ $i -lt 300 ]; do sleep 0.02; i=$((i + 1)); done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
if [ -f "$T/u.frc" ]; then
    "$BIN" run "$M" --resume "$T/u.frc" --checkpoint "$T/res2.frc" --quiet >/dev/null 2>"$T/err" && ok || bad "resume (unit boundary): $(cat "$T/err")"
    cmp -s "$T/full.frc" "$T/res2.frc" && ok || bad "unit-boundary resume differs"
fi

# 3. resume refusals: changed setting, other thread count
"$BIN" run "$M" --resume "$T/full.frc" --bits 3 --quiet >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q -- '--bits' "$T/err" && [ "$(wc -l <"$T/err")" = 1 ] && ok || bad "--bits mismatch: exit $rc $(cat "$T/err")"
FRTUI_THREADS=2 "$BIN" run "$M" --resume "$T/full.frc" --quiet >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'threads' "$T/err" && ok || bad "threads mismatch: exit $rc $(cat "$T/err")"

# 4. export + eval reproduces the run's quantized accuracy; safetensors
"$BIN" export "$T/full.frc" -o "$T/q.frm" --safetensors "$T/q.safetensors" >"$T/exp.out" 2>"$T/err" && ok || bad "export: $(cat "$T/err")"
qrun=$(sed -n 's/.*quantized ([^)]*) \([0-9.]*\)%.*/\1/p' "$T/full.out")
qeval=$("$BIN" eval "$T/q.frm" 2>/dev/null | sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p')
[ -n "$qrun" ] && [ "$qrun" = "$qeval" ] && ok || bad "eval of the exported bundle: '$qeval' vs run '$qrun'"
[ -s "$T/q.safetensors" ] && head -c 40 "$T/q.safetensors" | tail -c 32 | grep -q '__metadata__' && ok || bad "safetensors header"

# 5. export-png of every view (compare needs a compare run: exit 2)
unit=$(awk '$1 == "1" {print $2; exit}' "$T/full.out")   # the run table counts units from 1
for v in heatmap scatter loss hist; do
    "$BIN" export-png "$T/full.frc" --unit "$unit" --view $v -o "$T/$v.png" >/dev/null 2>"$T/err" &&
        [ "$(head -c 4 "$T/$v.png" | tail -c 3)" = "PNG" ] && ok || bad "export-png $v: $(cat "$T/err")"
done
"$BIN" export-png "$T/full.frc" --unit "$unit" --view compare -o "$T/c.png" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'run compare first' "$T/err" && [ ! -e "$T/c.png" ] && ok || bad "compare without alternatives: exit $rc"
# numbers as a person reads them (issue 13 §3): --unit 1 is the first unit, --layer 1 its first
# layer; 0 and one past the end are refused with a 1-based range
"$BIN" export-png "$T/full.frc" --unit 1 --layer 1 --view scatter -o "$T/n1.png" >/dev/null 2>"$T/err" &&
    cmp -s "$T/n1.png" "$T/scatter.png" && ok || bad "export-png --unit 1 --layer 1 is not the first unit: $(cat "$T/err")"
"$BIN" export-png "$T/full.frc" --unit 0 --view scatter -o "$T/n0.png" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ ! -e "$T/n0.png" ] && ok || bad "export-png --unit 0: exit $rc"
"$BIN" export-png "$T/full.frc" --unit 1 --layer 0 --view scatter -o "$T/n0.png" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'out of range 1\.\.' "$T/err" && ok || bad "export-png --layer 0: exit $rc: $(cat "$T/err")"
"$BIN" export-png "$T/full.frc" --unit 1 --layer 9 --view scatter -o "$T/n0.png" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'out of range (1\.\.' "$T/err" && ok || bad "export-png --layer 9: exit $rc: $(cat "$T/err")"

# 6. unwritable / full outputs: exit 2, one line, previous file intact
"$BIN" export "$T/full.frc" -o "$T/no/such/dir/q.frm" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && ok || bad "unwritable export: exit $rc"
echo old >"$T/keep.frm"
( ulimit -f 8; trap '' XFSZ; exec "$BIN" export "$T/full.frc" -o "$T/keep.frm" ) >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ "$(cat "$T/keep.frm")" = old ] && ok || bad "full disk (ulimit -f): exit $rc, $(cat "$T/err")"
echo old >"$T/keep.frc"
( ulimit -f 8; trap '' XFSZ; exec "$BIN" run "$M" --iters 5 --checkpoint "$T/keep.frc" --quiet ) >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ "$(cat "$T/keep.frc")" = old ] && ok || bad "full disk on checkpoint: exit $rc, $(cat "$T/err")"

# 6b. several outputs are written all or none (issue 14, item 12): a later one that cannot be
#     opened, or that fails only at the rename (a directory), leaves the earlier ones unwritten
"$BIN" export "$T/full.frc" -o "$T/set.frm" --safetensors "$T/nodir/x.safetensors" >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ ! -e "$T/set.frm" ] && [ "$(wc -l <"$T/err")" = 1 ] && ! grep -q quantized "$T/out" && ok ||
    bad "export with an unwritable second output: exit $rc, set.frm $([ -e "$T/set.frm" ] && echo left || echo absent)"
mkdir -p "$T/adir"
"$BIN" export "$T/full.frc" -o "$T/set.frm" --safetensors "$T/adir" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ ! -e "$T/set.frm" ] && [ -d "$T/adir" ] && [ "$(wc -l <"$T/err")" = 1 ] && ok ||
    bad "export with a directory as second output: exit $rc, set.frm $([ -e "$T/set.frm" ] && echo left || echo absent)"
"$BIN" export "$T/full.frc" -o "$T/set.frm" --safetensors "$T/set.frm" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ ! -e "$T/set.frm" ] && ok || bad "export with one path for two outputs: exit $rc"
# a checkpoint with no finished unit is refused, not exported as a "quantized" FP model
mkdir -p "$T/unf"
if "$TB" --gen-unfinished "$T/unf" >/dev/null 2>&1; then
    "$BIN" export "$T/unf/unfinished.frc" --model "$T/unf/model.frm" -o "$T/unf/q.frm" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc = 2 ] && grep -q 'no finished unit' "$T/err" && [ "$(wc -l <"$T/err")" = 1 ] && [ ! -e "$T/unf/q.frm" ] &&
        ! grep -q quantized "$T/out" && ok || bad "export of an unfinished checkpoint: exit $rc, $(cat "$T/out" "$T/err")"
else
    bad "$TB --gen-unfinished failed"
fi

# 7. another bundle
if [ -f tests/bad/frc/model.frm ]; then
    "$BIN" export "$T/full.frc" --model tests/bad/frc/model.frm -o "$T/o.frm" >/dev/null 2>"$T/err"; rc=$?
    [ $rc = 2 ] && [ ! -e "$T/o.frm" ] && [ "$(wc -l <"$T/err")" = 1 ] && ok || bad "other bundle: exit $rc $(cat "$T/err")"
fi

# 8. the malformed corpus: export and resume refuse each with one line naming the file
for f in tests/bad/frc/*.frc; do
    [ -f "$f" ] || continue
    rm -f "$T/x.frm"
    "$BIN" export "$f" --model tests/bad/frc/model.frm -o "$T/x.frm" >/dev/null 2>"$T/err"; rc=$?
    if [ $rc = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -qF "$f" "$T/err" && [ ! -e "$T/x.frm" ]; then ok
    else bad "$f (export): exit $rc: $(head -c 300 "$T/err")"; fi
    "$BIN" run tests/bad/frc/model.frm --resume "$f" --quiet >/dev/null 2>"$T/err"; rc=$?
    if [ $rc = 2 ] && [ "$(wc -l <"$T/err")" = 1 ]; then ok; else bad "$f (resume): exit $rc: $(head -c 300 "$T/err")"; fi
done

# 9. --step (issue 14 item 10): a batch run refuses it (nobody could resume the pause), and a
# checkpoint written in the inspector's debugger mode resumes in batch without pausing.
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 120"
$TO "$BIN" run "$M" --iters 5 --step --quiet >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q -- '--step' "$T/err" && ok || bad "run --step: exit $rc: $(cat "$T/err")"
BINABS=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN"); MABS=$(cd "$(dirname "$M")" && pwd)/$(basename "$M")
mkdir -p "$T/step"
( cd "$T/step" && $TO "$BINABS" "$MABS" --step --iters 5 --dump-screen --wait-unit 0 --keys s ) >/dev/null 2>"$T/err"
f=$(ls "$T"/step/*.frc 2>/dev/null | head -n 1)
if [ -n "$f" ]; then
    $TO "$BIN" run "$M" --resume "$f" --quiet >"$T/step.out" 2>"$T/err"; rc=$?
    [ $rc = 0 ] && grep -q 'top-1' "$T/step.out" && ok || bad "resume of a --step checkpoint: exit $rc (137: it paused forever): $(cat "$T/err")"
else
    bad "the inspector with --step did not write a checkpoint on s: $(cat "$T/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
