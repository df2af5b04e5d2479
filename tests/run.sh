#!/bin/sh
# Runs every test binary given as arguments and every tests/*.t.sh script, sums their
# "N passed, N failed" lines, and prints the total as the last line (what CI reads).
# A binary that crashes or prints no count line counts as one failure.
# Environment: FRTUI_BIN (the frtui binary under test), BUILD (build dir), FR_TEST (run only the
# test function of that name, tests/fr_test.h).  --bins-only: the test binaries, not the scripts
# (`make check`).
scripts=1
if [ "$1" = --bins-only ]; then scripts=0; shift; fi
total_p=0; total_f=0; found=0
run_one() {
    name=$1; shift
    t0=$(date +%s)
    out=$("$@" 2>&1); rc=$?
    dt=$(( $(date +%s) - t0 ))
    if [ -n "$FR_TEST" ] && printf '%s\n' "$out" | grep -qxE "(ok|FAILED) - $FR_TEST"; then found=1; fi
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 20
        echo "FAILED: $name (exit $rc, no count line)"
        total_f=$((total_f + 1)); return
    fi
    p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    total_p=$((total_p + p)); total_f=$((total_f + f))
    if [ "$f" != 0 ]; then printf '%s\n' "$out" | grep -v '^ok' | tail -n 40; fi
    echo "$name: $p passed, $f failed (${dt} s)"
}
for t in "$@"; do run_one "$(basename "$t")" "$t"; done
for s in tests/*.t.sh; do
    [ "$scripts" = 1 ] && [ -f "$s" ] || continue
    run_one "$(basename "$s")" sh "$s"
done
if [ -n "$FR_TEST" ] && [ "$found" = 0 ]; then
    echo "no test function named '$FR_TEST' in the test binaries"; total_f=1
fi
echo "$total_p passed, $total_f failed"
[ "$total_f" = 0 ]
