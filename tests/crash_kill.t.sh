#!/bin/sh
# crash_kill.t.sh — crash safety of checkpoints (issue 8, item 4).
#
# CRASH_TRIALS times (default 100): start `frtui run M --checkpoint P --checkpoint-every E`,
# SIGKILL it after a random delay (see below), then check
#   - P is either absent (killed before the first checkpoint) or a complete checkpoint:
#     `frtui run M --resume P --checkpoint R` succeeds (a partial/corrupt P fails the load), and
#   - the resumed run's final checkpoint R is byte-identical to the uninterrupted run's
#     (checkpoints hold no clock or pid, see include/frtui/ckpt.h), as is P when the run ended
#     before the kill.
# E alternates between every unit ("1") and every 20 ms ("0.02s"); nine trials in ten wait for
# the first checkpoint and kill at a random moment of the rest of the run, so kills land during
# checkpoint writes as well as between them; one in ten kills before the first checkpoint.  Two trials run at a time (FRTUI_THREADS=1 each).
# Delays come from awk's srand(CRASH_SEED + trial) so a failing trial can be replayed.
# Budget: < 3 minutes on 2 idle cores; CRASH_MAX_SECONDS (default 170) stops early with a note.
# Skips ("0 passed, 0 failed") until `frtui run --help` lists --resume.
# Uses a tiny bundle from `test_ckpt --gen-model` (BUILD/tests/test_ckpt).
BIN=${FRTUI_BIN:-./frtui}
TB=${BUILD:-build/release}/tests/test_ckpt
TRIALS=${CRASH_TRIALS:-100}
SEED=${CRASH_SEED:-1}
MAXS=${CRASH_MAX_SECONDS:-170}
ITERS=${CRASH_ITERS:-150}
if [ ! -x "$BIN" ] || ! "$BIN" run --help 2>&1 | grep -q -- '--resume'; then
    echo "crash_kill: '$BIN run' has no --resume yet; skipping"
    echo "0 passed, 0 failed"; exit 0
fi
if [ ! -x "$TB" ]; then
    echo "crash_kill: $TB missing (needs test_ckpt --gen-model); skipping"
    echo "0 passed, 0 failed"; exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/crash_kill.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
export FRTUI_THREADS=1
M=$T/m.frm
"$TB" --gen-model "$M" >/dev/null 2>&1 || { echo "crash_kill: cannot generate a bundle"; echo "0 passed, 1 failed"; exit 1; }

now_ms() { date +%s%3N; }
t0=$(now_ms)
"$BIN" run "$M" --iters "$ITERS" --checkpoint "$T/full.frc" --quiet >/dev/null 2>"$T/ref.err" ||
    { echo "crash_kill: reference run failed: $(cat "$T/ref.err")"; echo "0 passed, 1 failed"; exit 1; }
# Calibration: when does the first checkpoint appear (T1) and when does the run end (D)?
t0=$(now_ms)
"$BIN" run "$M" --iters "$ITERS" --checkpoint "$T/cal.frc" --checkpoint-every 0.02s --quiet >/dev/null 2>&1 &
pid=$!
while [ ! -e "$T/cal.frc" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
T1=$(( $(now_ms) - t0 ))
wait $pid
D=$(( $(now_ms) - t0 ))
Q=$((D - T1)); [ $Q -lt 50 ] && Q=50
echo "# run: first checkpoint after ${T1} ms, end after ${D} ms; seed $SEED, $TRIALS trials"

# trial I: writes "ok KIND" or "fail WHY" to $T/r.I
trial() {
    i=$1; d=$T/t$i; mkdir -p "$d"
    every=1; [ $((i % 2)) = 0 ] && every=0.02s
    # Every 10th trial: a kill anywhere before the first checkpoint is due.  The others wait
    # for the first checkpoint to exist, then kill within the remaining run time, so kills land
    # while later checkpoints are being written (every 20 ms or every unit).
    r=$(awk -v s=$((SEED * 100003 + i)) 'BEGIN { srand(s); printf "%.6f", rand() }')
    "$BIN" run "$M" --iters "$ITERS" --checkpoint "$d/p.frc" --checkpoint-every "$every" --quiet >/dev/null 2>&1 &
    pid=$!
    if [ $((i % 10)) = 0 ]; then
        delay=$(awk -v r="$r" -v a="$T1" 'BEGIN { printf "%.3f", r * a / 1000 }')
    else
        while [ ! -e "$d/p.frc" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
        delay=$(awk -v r="$r" -v q="$Q" 'BEGIN { printf "%.3f", r * q / 2000 }')   # first half of the rest
    fi
    sleep "$delay"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null; st=$?
    if [ ! -e "$d/p.frc" ]; then
        if [ "$st" = 0 ]; then echo "fail run ended (exit 0) without a checkpoint" >"$T/r.$i"
        else echo "ok none" >"$T/r.$i"; fi
    elif [ "$st" = 0 ]; then
        if cmp -s "$d/p.frc" "$T/full.frc"; then echo "ok finished" >"$T/r.$i"
        else echo "fail completed run's checkpoint differs from the reference" >"$T/r.$i"; fi
    elif ! "$BIN" run "$M" --resume "$d/p.frc" --checkpoint "$d/r.frc" --quiet >/dev/null 2>"$d/err"; then
        cp "$d/p.frc" "$T/../crash_kill_bad_$SEED.$i.frc" 2>/dev/null
        echo "fail checkpoint left by kill after ${delay}s (every $every) does not resume: $(head -c 200 "$d/err")" >"$T/r.$i"
    elif ! cmp -s "$d/r.frc" "$T/full.frc"; then
        echo "fail resume after kill at ${delay}s (every $every) ends differently from the uninterrupted run" >"$T/r.$i"
    else
        echo "ok resumed" >"$T/r.$i"
    fi
    rm -rf "$d"
}

start=$(now_ms); i=1; done_n=0
while [ $i -le "$TRIALS" ]; do
    if [ $(( ($(now_ms) - start) / 1000 )) -ge "$MAXS" ]; then
        echo "# note: time guard (${MAXS}s) reached after $done_n trials"
        break
    fi
    trial $i &
    p1=$!
    p2=
    if [ $((i + 1)) -le "$TRIALS" ]; then trial $((i + 1)) & p2=$!; fi
    wait $p1; [ -n "$p2" ] && wait $p2
    i=$((i + 2)); done_n=$((i - 1)); [ $done_n -gt "$TRIALS" ] && done_n=$TRIALS
done
pass=0; fail=0; none=0; fin=0; res=0
for r in "$T"/r.*; do
    [ -f "$r" ] || continue
    read -r k why <"$r"
    if [ "$k" = ok ]; then
        pass=$((pass + 1))
        case $why in none) none=$((none + 1)) ;; finished) fin=$((fin + 1)) ;; resumed) res=$((res + 1)) ;; esac
    else
        fail=$((fail + 1)); echo "not ok - trial ${r##*.}: $why"
    fi
done
echo "# kills: $res resumed from a checkpoint, $none before the first checkpoint, $fin after the run ended; $(( ($(now_ms) - start) / 1000 ))s"
if [ "$res" -lt $((pass / 2)) ] && [ "$fail" = 0 ]; then
    echo "# note: fewer than half the kills landed mid-run (run ${D} ms)"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
