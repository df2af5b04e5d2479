#!/bin/sh
# sweep_view.t.sh — the sweep view (`frtui DIR`) and the loss plot of `frtui sweep-report` on a
# real, tiny sweep of samples/mlp-fmnist.frm (issue 17 item 3): the view's frame lists the
# points with their states while the sweep runs (a running point is seen as running, through
# the sweep's own directory lock) and after; Enter on a point prints that point's replay frame
# (the rest of --keys drive it); sweep-report writes the loss-against-iterations PNG from the
# points' run.frc files; a sweep folder refuses the bundle-only flags.  Prints "N passed, N failed".
. tests/lib.sh
fr_t_init sweep_view
M=samples/mlp-fmnist.frm
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
[ -f "$M" ] || fr_t_skip "$M not present"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
S=$T/sw
view() { "$BIN" "$S" --dump-screen --ascii --color never --cols 130 --rows 30 "$@" 2>"$T/err"; }

# 1. while it runs: one job, so the flexround points wait (pending) while one runs
"$BIN" sweep "$M" -o "$S" --methods rtn,flexround --bits 3 --seeds 1,2 --iters 300 --jobs 1 >"$T/sweep.out" 2>&1 &
SP=$!
seen_running=0 seen_pending=0 i=0
while [ $i -lt 600 ] && kill -0 $SP 2>/dev/null; do
    if [ -d "$S/points" ]; then
        view >"$T/live.txt" || true
        grep -q ' running ' "$T/live.txt" && seen_running=1
        grep -q 'flexround .* pending ' "$T/live.txt" && seen_pending=1
        [ $seen_running = 1 ] && [ $seen_pending = 1 ] && break
    fi
    sleep 0.05; i=$((i + 1))
done
[ $seen_running = 1 ] && ok || bad "the view never showed a running point: $(cat "$T/live.txt" "$T/err")"
[ $seen_pending = 1 ] && ok || bad "the view never showed a pending flexround point"
wait $SP && ok || bad "the sweep failed: $(tail -3 "$T/sweep.out")"

# 2. after: every point done, the table rows and the plots' legend
view >"$T/done.txt" && ok || bad "--dump-screen of the sweep folder: $(cat "$T/err")"
grep -q '4 point(s): 4 done, 0 running, 0 pending, 0 interrupted, 0 failed' "$T/done.txt" && ok || bad "title: $(head -1 "$T/done.txt")"
[ "$(grep -c 'mlp-fmnist .* 3   - tensor .* done .*%' "$T/done.txt")" = 4 ] && ok || bad "want 4 done rows: $(cat "$T/done.txt")"
grep -q -- '-- rtn  -- flexround  band: seed min..max' "$T/done.txt" && ok || bad "plot legend missing"
grep -q '^|>mlp-fmnist   rtn ' "$T/done.txt" && ok || bad "the first row is not selected"

# 3. Enter opens the selected point's run: the last one, flexround seed 2; keys after it go to the replay
view --keys 'G<Enter>' >"$T/open.txt" && ok || bad "Enter: $(cat "$T/err")"
grep -q 'REPLAY.*flexround W3' "$T/open.txt" && ok || bad "Enter did not open the flexround replay: $(head -2 "$T/open.txt")"
view --keys 'G<Enter>?' >"$T/openhelp.txt" && grep -q -i 'help' "$T/openhelp.txt" && ! cmp -s "$T/open.txt" "$T/openhelp.txt" &&
    ok || bad "the keys after Enter did not reach the replay"

# 4. the report's loss-against-iterations plot (from the points' run.frc)
"$BIN" sweep-report "$S" >"$T/rep.out" 2>"$T/err" && ok || bad "sweep-report: $(cat "$T/err")"
L=$S/plots/mlp-fmnist_tensor_lrdef_it300_W3.loss.png
[ "$(head -c 4 "$L" 2>/dev/null | tail -c 3)" = PNG ] && ok || bad "loss plot $L missing: $(ls "$S/plots")"
[ "$(wc -c <"$L")" -gt 5000 ] && ok || bad "loss plot suspiciously small"
grep -q '3 plot(s)' "$T/rep.out" && ok || bad "want 3 plots (top-1, aggressive, loss): $(cat "$T/rep.out")"

# 5. a sweep folder is read-only: bundle flags refused with one line
fr_refused "resume on a sweep folder" "sweep folder" "$BIN" "$S" --resume "$S/x.frc"
fr_t_done
