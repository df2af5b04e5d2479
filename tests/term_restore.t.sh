#!/bin/sh
# term_restore.t.sh — terminal safety (issue 8, item 5): the inspector runs in a pane of an
# isolated tmux server (its own socket, -f /dev/null) under /bin/sh; we send it SIGINT, SIGTERM,
# SIGSEGV, SIGABRT (and SIGHUP, SIGQUIT) while a run progresses -- and, issue 14 item 15, every
# other signal whose default action ends the process (USR1 USR2 ALRM PIPE XCPU XFSZ ILL TRAP SYS
# VTALRM PROF STKFLT PWR and a real-time one) -- then type `stty -a` into the pane and check,
# with capture-pane, that
#   - the process is gone (within 10 s) and its exit status is 128 + the signal number (the
#     handler restores the default action and re-raises, so the status still names it),
#   - the tty is back in cooked mode: icanon, echo, icrnl, opost (not -icanon, -echo, ...),
#   - the screen is readable: the normal screen is back (no alternate screen) and what we
#     typed after the exit is echoed and its output visible.
# /bin/sh (dash) does not touch tty modes between commands, so `stty -a` shows exactly what
# frtui left behind (bash's readline would repair the terminal and hide a failure).
# The failed-assertion path (FR_ASSERT -> fr_abort hook -> abort) ends in SIGABRT after the
# same hook; it has no trigger from outside, so SIGABRT stands in for it here.
# Skips ("0 passed, 0 failed") while tmux is missing or `frtui --help` shows no inspector.
# Prints "N passed, N failed".
. tests/lib.sh
fr_t_init term_restore
TB=${BUILD:-build/release}/tests/test_ckpt
fr_t_inspector "$TB"
# Under AddressSanitizer, ASan's own SIGSEGV/SIGABRT handlers would report and _exit before
# frtui's restore runs; let frtui's handlers see the signals (what a release build does).
case ${BUILD:-} in *san-*address*)
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0:handle_abort=0:allow_user_segv_handler=1" ;;
esac
SOCK=frtui-term-$$
TM="tmux -L $SOCK -f /dev/null"
trap '$TM kill-server 2>/dev/null; rm -rf "$T"' EXIT INT TERM

# wait_for PATTERN SECONDS: poll the pane until PATTERN (grep -E) shows up.
wait_for() {
    n=0
    while [ $n -lt $(($2 * 10)) ]; do
        $TM capture-pane -p -t s >"$T/screen" 2>/dev/null
        grep -qE "$1" "$T/screen" && return 0
        sleep 0.1; n=$((n + 1))
    done
    return 1
}

# Signals go by number (Linux x86/arm numbering): dash's kill knows no STKFLT and cannot turn
# a name into a number.
signum() {
    case $1 in
    HUP) echo 1 ;; INT) echo 2 ;; QUIT) echo 3 ;; ILL) echo 4 ;; TRAP) echo 5 ;; ABRT) echo 6 ;; BUS) echo 7 ;;
    FPE) echo 8 ;; USR1) echo 10 ;; SEGV) echo 11 ;; USR2) echo 12 ;; PIPE) echo 13 ;; ALRM) echo 14 ;;
    TERM) echo 15 ;; STKFLT) echo 16 ;; XCPU) echo 24 ;; XFSZ) echo 25 ;; VTALRM) echo 26 ;; PROF) echo 27 ;;
    IO) echo 29 ;; PWR) echo 30 ;; SYS) echo 31 ;; RTMIN+3) echo 37 ;;   # glibc's SIGRTMIN is 34
    *) echo 0 ;;
    esac
}
for sig in ${TR_SIGNALS:-INT TERM SEGV ABRT HUP QUIT USR1 USR2 ALRM PIPE XCPU XFSZ ILL TRAP SYS VTALRM PROF STKFLT PWR RTMIN+3}; do
    num=$(signum "$sig")
    $TM kill-server 2>/dev/null
    # The previous server may still be shutting down: retry until a new one starts.
    started=0
    for try in 1 2 3 4 5 6 7 8 9 10; do
        sleep 0.2
        if $TM new-session -d -s s -x 120 -y 40 "env PS1='$ ' /bin/sh" 2>/dev/null; then started=1; break; fi
        $TM kill-server 2>/dev/null
    done
    [ $started = 1 ] || { fail=$((fail + 1)); echo "not ok - $sig: tmux"; continue; }
    # A script, not a command list typed at the prompt: an interactive shell abandons the rest
    # of a list whose foreground job died of SIGINT, and the status line would never appear.
    printf 'cd %s\nFRTUI_THREADS=1 %s %s --iters 1000000\necho EXIT-STATUS:$?\n' "$T" "$BINABS" "$M" >"$T/run.sh"
    $TM send-keys -t s "sh $T/run.sh" Enter
    if ! wait_for 'RUNNING|running' 30; then
        fail=$((fail + 1)); echo "not ok - $sig: the inspector did not come up"; head -n 5 "$T/screen"; continue
    fi
    sleep 0.5
    shpid=$($TM display -p -t s '#{pane_pid}')
    spid=$(pgrep -P "$shpid" | head -n 1)               # sh run.sh
    pid=$([ -n "$spid" ] && pgrep -P "$spid" | head -n 1)   # frtui
    if [ -z "$pid" ]; then fail=$((fail + 1)); echo "not ok - $sig: no frtui process"; continue; fi
    kill -"$num" "$pid"
    if ! wait_for 'EXIT-STATUS:[0-9]+' 10; then
        fail=$((fail + 1)); echo "not ok - SIG$sig: frtui still running 10 s after the signal"
        tail -n 6 "$T/screen"; ps -o pid,stat,wchan:20,cmd -p "$pid"; kill -9 "$pid" 2>/dev/null; continue
    fi
    st=$(sed -n 's/.*EXIT-STATUS:\([0-9]*\).*/\1/p' "$T/screen" | tail -n 1)
    $TM send-keys -t s "stty -a; echo STTY-DONE" Enter
    wait_for '^STTY-DONE' 10
    $TM capture-pane -p -J -t s -S -60 >"$T/after"
    alt=$($TM display -p -t s '#{alternate_on}')
    modes=$(tr ' ' '\n' <"$T/after" | grep -E '^-?(icanon|echo|icrnl|opost|isig)$' | sort -u | tr '\n' ' ')
    why=
    for m in icanon echo icrnl opost isig; do
        echo " $modes" | grep -q " $m " || why="$why $m missing;"
        echo " $modes" | grep -q " -$m " && why="$why -$m;"
    done
    [ "$alt" = 1 ] && why="$why alternate screen still on;"
    [ "$st" = $((128 + num)) ] || why="$why exit status $st, want $((128 + num));"
    grep -q 'stty -a; echo STTY-DONE' "$T/after" || why="$why typed command not echoed;"
    grep -q '^STTY-DONE' "$T/after" || why="$why command output not visible;"
    if [ -z "$why" ]; then
        pass=$((pass + 1)); echo "ok - SIG$sig: exit status $st, terminal cooked and readable"
    else
        fail=$((fail + 1)); echo "not ok - SIG$sig (exit status $st):$why"
        tail -n 8 "$T/after"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
