#!/bin/sh
# Runs every test binary given as arguments and every tests/*.t.sh script, sums their
# "N passed, N failed" lines, and prints the total as the last line (what CI reads).
# A binary that crashes or prints no count line counts as one failure.
# Environment: FRTUI_BIN (the frtui binary under test), BUILD (build dir), FR_TEST (run only the
# test function of that name, tests/fr_test.h), FR_TEST_JOBS (tests run at once; default the
# number of CPUs).  --bins-only: the test binaries, not the scripts (`make check`).
#
# Why in parallel: the suite is ~19 minutes of mostly single-threaded work, and CI has two cores.
# Every test already works in its own mktemp directory (or a pid-named file) and its own tmux
# server, and none may depend on timing (a loaded machine runs them), so two at a time is safe;
# a test that fails only when another one runs beside it is a bug in that test.  The slowest
# tests go first so the two lanes end together; the report is printed in the usual order once
# all are done, each test's output kept whole rather than interleaved.

# --one DIR TEST: run one test, leaving its output, exit status and wall time in DIR (xargs
# calls this).
if [ "$1" = --one ]; then
    d=$2; t=$3; name=$(basename "$t")
    t0=$(date +%s)
    case $t in *.sh) sh "$t" ;; *) "$t" ;; esac >"$d/$name.out" 2>&1 &
    echo $! >"$d/$name.pid"
    wait $!; echo $? >"$d/$name.rc"
    echo $(( $(date +%s) - t0 )) >"$d/$name.time"
    echo "# $name finished ($(cat "$d/$name.time") s)" >&2
    exit 0
fi
scripts=1
if [ "$1" = --bins-only ]; then scripts=0; shift; fi
jobs=${FR_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in ''|*[!0-9]*|0) jobs=1 ;; esac
total_p=0; total_f=0; found=0
D=$(mktemp -d "${TMPDIR:-/tmp}/frtui-run.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT
# Killed (a CI timeout, make interrupted): take the running tests down too, not only xargs.
trap 'for p in "$D"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; exit 130' INT TERM

list=
for t in "$@"; do list="$list $t"; done
if [ "$scripts" = 1 ]; then
    for s in tests/*.t.sh; do [ -f "$s" ] && list="$list $s"; done
fi
# Longest first (wall times of a 2-core run, Dec 2026); the rest keep their order.
slow="crash_kill.t.sh test_spill mem_spill.t.sh threads.t.sh gguf.t.sh test_gguf mem_info.t.sh
      test_ckpt cli.t.sh sweep.t.sh mpi.t.sh"
order=
for n in $slow; do
    for t in $list; do [ "$(basename "$t")" = "$n" ] && order="$order $t"; done
done
for t in $list; do
    case " $slow " in *[[:space:]]"$(basename "$t")"[[:space:]]*) ;; *) order="$order $t" ;; esac
done
# shellcheck disable=SC2086
printf '%s\n' $order | xargs -r -P "$jobs" -n 1 sh "$0" --one "$D"

for t in $list; do
    name=$(basename "$t")
    out=$(cat "$D/$name.out" 2>/dev/null); rc=$(cat "$D/$name.rc" 2>/dev/null || echo 1)
    dt=$(cat "$D/$name.time" 2>/dev/null || echo '?')
    if [ -n "$FR_TEST" ] && printf '%s\n' "$out" | grep -qxE "(ok|FAILED) - $FR_TEST"; then found=1; fi
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 20
        echo "FAILED: $name (exit $rc, no count line)"
        total_f=$((total_f + 1)); continue
    fi
    p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    total_p=$((total_p + p)); total_f=$((total_f + f))
    if [ "$f" != 0 ]; then printf '%s\n' "$out" | grep -v '^ok' | tail -n 40; fi
    echo "$name: $p passed, $f failed (${dt} s)"
done
if [ -n "$FR_TEST" ] && [ "$found" = 0 ]; then
    echo "no test function named '$FR_TEST' in the test binaries"; total_f=1
fi
echo "$total_p passed, $total_f failed"
[ "$total_f" = 0 ]
