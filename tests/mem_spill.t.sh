#!/bin/sh
# mem_spill.t.sh — issue 19 at the CLI: a run under a memory budget too small for its calibration
# caches spills them to disk and gives the same per-unit results as the unbudgeted run.
#   1. samples/resnet-fmnist.frm, 512 calibration samples (~170 MB of caches in memory at peak):
#      FlexRound and AdaRound under --max-mem 100M (every unit spilled; the largest ones gather
#      their mini-batches from disk) vs no budget: the --json unit reports are identical except
#      the elapsed time and the memory section, which says spill: true and a peak RSS within
#      the budget.  The memory plan is printed before the run.
#   2. --max-mem too small even for spilling: refused, exit 2, one line naming --max-mem.
#   3. A real memory cgroup of 110M (when this machine lets us make one): the same run with no
#      --max-mem (the default budget is a share of the cgroup's room) finishes, is not
#      OOM-killed, has the same results, and the cgroup's peak usage stayed under its limit.
# Prints "N passed, N failed".  Run from the repository root (tests/run.sh does).
. tests/lib.sh
fr_t_init mem_spill
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
[ -f samples/resnet-fmnist.frm ] || fr_t_skip "samples/resnet-fmnist.frm missing"
export FRTUI_THREADS=1
unset FRTUI_SPILL
M=samples/resnet-fmnist.frm
ARGS="--n-calib 512 --iters 8 --batch 16 --init minmax"

# Sanitizer builds: ASan's shadow memory and quarantine are not in frtui's plan, so the RSS limits
# and the cgroup case are skipped there (the bit-identity checks still run).
san=0
case ${BUILD:-} in *san-*) san=1; echo "# sanitizer build: peak-RSS limits and the cgroup case skipped" ;; esac

# The unit reports without what may differ: elapsed time and the memory section.
units() { fr_json_results "$1"; }
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "not ok - $*"; }

for method in flexround adaround; do
    "$BIN" run "$M" $ARGS --method $method --json "$T/ref-$method.json" >/dev/null 2>"$T/ref.err" || no "$method: unbudgeted run failed: $(tail -n 2 "$T/ref.err")"
    "$BIN" run "$M" $ARGS --method $method --max-mem 100M --json "$T/b-$method.json" >/dev/null 2>"$T/b.err" ||
        no "$method: run under --max-mem 100M failed: $(tail -n 2 "$T/b.err")"
    grep -q "^memory plan: budget 100.0 MiB (--max-mem)" "$T/b.err" && grep -q " disk$" "$T/b.err" && ok ||
        no "$method: no memory plan with disk units printed: $(head -n 3 "$T/b.err")"
    grep -q '"spill": true' "$T/b-$method.json" && ok || no "$method: the budgeted run did not spill"
    if units "$T/ref-$method.json" >"$T/u1" && units "$T/b-$method.json" >"$T/u2" && [ -s "$T/u1" ] && cmp -s "$T/u1" "$T/u2"; then ok
    else no "$method: per-unit results differ under --max-mem 100M: $(diff "$T/u1" "$T/u2" | head -n 4)"; fi
    peak=$(sed -n 's/.*"peak_rss_bytes": \([0-9]*\).*/\1/p' "$T/b-$method.json")
    [ "$san" = 1 ] || { [ -n "$peak" ] && [ "$peak" -le 104857600 ] && ok || no "$method: peak RSS $peak over the 100M budget"; }
done

fr_refused "--max-mem below what spilling needs" "more than the" "$BIN" run "$M" $ARGS --max-mem 30M
grep -q -- "--max-mem budget" "$T/stderr" || no "refusal does not name --max-mem: $(cat "$T/stderr")"

cg=
[ "$san" = 1 ] || fr_t_cgroup 110M
if [ -n "$cg" ]; then
    if sh -c "$cg_join" "$cg" "$BIN" run "$M" $ARGS --json "$T/cg.json" >/dev/null 2>"$T/cg.err"; then ok
    else no "cgroup 110M: run failed (status $?): $(tail -n 2 "$T/cg.err")"; fi
    units "$T/ref-flexround.json" >"$T/u1"
    units "$T/cg.json" >"$T/u2" 2>/dev/null
    cmp -s "$T/u1" "$T/u2" && ok || no "cgroup 110M: per-unit results differ from the unbudgeted run"
    grep -q '"spill": true' "$T/cg.json" && ok || no "cgroup 110M: the default budget did not spill"
    max=$(cat "$cg/memory.max_usage_in_bytes" 2>/dev/null || cat "$cg/memory.peak" 2>/dev/null)
    lim=$(cat "$cg/memory.limit_in_bytes" 2>/dev/null || cat "$cg/memory.max" 2>/dev/null)
    [ -n "$max" ] && [ "$max" -le "$lim" ] && ok || no "cgroup 110M: peak usage $max over the limit $lim"
    if grep -q "oom_kill [1-9]" "$cg/memory.oom_control" "$cg/memory.events" 2>/dev/null; then no "cgroup 110M: OOM kill recorded"; else ok; fi
elif [ "$san" = 0 ]; then
    echo "# no writable memory cgroup here (not root, or the hierarchy is read-only): the cgroup case is skipped"
fi
fr_t_done
