#!/bin/sh
# restart_tmux.t.sh — the run-control keys through the real inspector in an isolated tmux
# server (tui_tmux.t.sh style), as issue 13 §1/§4 and 14 §11 reproduced them:
#   A. after DONE: select fc2, m (rtn), r, y  ->  fc2 runs again: the Stats panel shows rtn
#      and a new loss (before: still "flexround W4 N/N" and the old loss);
#   B. during a run: m m (adaround), r, y on the running unit  ->  it starts again as adaround
#      and is still running (before: cut off, marked done, the next unit started);
#   C. p, then s while paused  ->  the checkpoint file exists at once and replays the paused
#      run (before: "checkpoint requested", nothing written, lost on quit);
#   D. c with 20000 it/unit  ->  the compare panel shows its progress and that the run waits;
#      q (y) quits and the shell gets its prompt back.
# No step depends on how fast the machine is: every wait polls the screen for a state, with
# a generous limit that only turns a hang into a failure.  Skips without tmux or a sample.
. tests/lib.sh
fr_t_init restart_tmux
TB=${BUILD:-build/release}/tests/test_ckpt
fr_t_inspector "$TB"
TM="tmux -L frtui-restart-$$-0 -f /dev/null"
trap '$TM kill-server 2>/dev/null; rm -rf "$T"' EXIT INT TERM
n_start=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
cap() { $TM capture-pane -p -t s 2>/dev/null; }
# wait_for PATTERN [tenths, default 120 s]
wait_for() {
    n=${2:-1200}
    while [ "$n" -gt 0 ]; do cap | grep -Eq -- "$1" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
stat_line() { cap | grep -Eo "$1 [^│]*" | head -n 1 | sed 's/ *$//'; }
# start ARGS: the inspector in a fresh pane, working directory $T (where `s` writes)
start() {
    $TM kill-server 2>/dev/null
    n_start=$((n_start + 1)); TM="tmux -L frtui-restart-$$-$n_start -f /dev/null"   # a fresh server each time
    $TM new-session -d -s s -x 120 -y 40 "env PS1='$ ' /bin/sh" || { bad "tmux"; fr_t_done; exit 1; }
    printf 'cd %s\nFRTUI_THREADS=1 %s --no-mouse %s %s\necho EXIT-STATUS:$?\n' "$T" "$BINABS" "$M" "$1" >"$T/run.sh"
    $TM send-keys -t s "sh $T/run.sh" Enter
}
quit() {
    $TM send-keys -t s q
    wait_for 'Quit anyway|EXIT-STATUS' 100 && cap | grep -q 'Quit anyway' && $TM send-keys -t s y
    wait_for 'EXIT-STATUS:[0-9]+' 1200
}

# --- A. restart after DONE
start "--iters 30"
if wait_for ' DONE ' 3000; then
    $TM send-keys -t s g g j
    if wait_for '│unit +fc2 ' 100; then
        m0=$(stat_line '│method'); l0=$(stat_line '│loss')
        $TM send-keys -t s m
        wait_for 'next run: rtn' 100
        $TM send-keys -t s r
        wait_for 'Restart unit' 100 && $TM send-keys -t s y
        if wait_for '│unit +fc2 +done' 3000 && wait_for '│method rtn ' 100 && wait_for '│loss ' 100; then
            m1=$(stat_line '│method'); l1=$(stat_line '│loss')
            if [ -n "$l1" ] && [ "$l1" != "$l0" ]; then ok "after DONE, m r y re-runs fc2: '$m0' '$l0' -> '$m1' '$l1'"
            else bad "fc2 re-ran as rtn but its loss did not change: '$l0' -> '$l1'"; cap | sed -n 1,6p; fi
        else
            bad "after DONE, m r y did not re-run fc2: $(stat_line '│method') ($(stat_line '│loss'))"
        fi
    else
        bad "g g j did not select fc2"; cap | head -n 8
    fi
else
    bad "the 30-iteration run did not reach DONE"; cap | head -n 3
fi
quit || bad "A: no exit status"

# --- B. restart the running unit, C. s while paused, D. compare progress and quit
start "--iters 100000"
if wait_for 'unit +fc1 +running' 3000 && wait_for 'method flexround W[0-9]+ [1-9][0-9]*/100000' 3000; then
    $TM send-keys -t s m m
    wait_for 'next run: adaround' 100
    $TM send-keys -t s r
    wait_for 'Restart unit' 100 && $TM send-keys -t s y
    if wait_for 'method adaround W[0-9]+ [0-9]+/100000' 3000; then
        if cap | grep -Eq 'unit +fc1 +running' && cap | grep -Eq '· fc2 '; then ok "m m r y restarts the running fc1 as adaround: $(stat_line '│method')"
        else bad "fc1 is not running again after the restart: $(stat_line '│unit')"; cap | sed -n 2,6p; fi
    else
        bad "m m r y on the running unit: $(stat_line '│unit') $(stat_line '│method')"
    fi
    # C. s while paused
    $TM send-keys -t s p
    if wait_for ' PAUSED ' 600; then
        $TM send-keys -t s s
        n=600; while [ $n -gt 0 ] && ! ls "$T"/frtui-*.frc >/dev/null 2>&1; do sleep 0.1; n=$((n - 1)); done
        f=$(ls "$T"/frtui-*.frc 2>/dev/null | head -n 1)
        if [ -n "$f" ] && "$BINABS" "$f" --dump-screen --cols 120 --rows 40 >"$T/replay.txt" 2>&1 &&
           grep -q 'adaround' "$T/replay.txt" && grep -Eq 'fc1' "$T/replay.txt"; then
            ok "s while paused writes $(basename "$f") holding the paused adaround run"
        else
            bad "s while paused: no checkpoint (or it does not replay): $(ls "$T"); $(head -c 300 "$T/replay.txt" 2>/dev/null)"
        fi
        $TM send-keys -t s p
    else
        bad "p did not pause"
    fi
    # D. compare with 20000 iterations per method, then quit while it computes
    $TM send-keys -t s I I I I I I I I
    wait_for 'next run:.* 20000 it' 100
    $TM send-keys -t s m
    wait_for 'next run: flexround' 100
    $TM send-keys -t s m
    wait_for 'next run: rtn' 100
    $TM send-keys -t s r
    wait_for 'Restart unit' 100 && $TM send-keys -t s y
    # every unit now runs rtn (0 iterations): DONE soon; then compare fc1 (20000 it per method)
    if wait_for ' DONE ' 3000; then
        $TM send-keys -t s g g c
        if wait_for 'computing [1-9][0-9]*/20000 it' 1200 && wait_for '[1-9][0-9]* it/s  ETA [0-9]' 600 &&
           cap | grep -q 'the run waits for it'; then
            ok "c shows the comparison's progress: $(cap | grep -Eo 'computing [^│]*' | head -n 1 | sed 's/ *$//'), $(cap | grep -Eo '[0-9]+ it/s  ETA [^│]*' | head -n 1 | sed 's/ *$//')"
        else
            bad "no compare progress on screen"; cap | grep -E 'not computed|computing|compar' | head -n 4
        fi
    else
        bad "the rtn restart did not reach DONE"
    fi
fi
if quit; then
    st=$(cap | sed -n 's/.*EXIT-STATUS:\([0-9]*\).*/\1/p' | tail -n 1)
    [ "$st" = 0 ] && ok "q quits while the comparison computes (status 0)" || bad "quit status '$st'"
else
    bad "quit while comparing: the process did not exit"; cap | tail -n 3
fi
fr_t_done
