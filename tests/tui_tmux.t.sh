#!/bin/sh
# tui_tmux.t.sh — drives the real inspector inside an isolated tmux server (tmux regress/
# style): start-up, key handling (help overlay, explain panel, pause), resize to a too-small
# terminal and back, Ctrl-L, quit with confirmation, and that the terminal is restored
# (icanon and echo back on) after a normal quit, SIGTERM and SIGINT.
# Prints "N passed, N failed".  Skips cleanly (0 passed, 0 failed) without tmux or without a
# frtui binary that has the inspector.
# Environment: FRTUI_BIN (default ./frtui), FRTUI_SAMPLE (default: first samples/*.frm).
BIN=${FRTUI_BIN:-./frtui}
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

if ! command -v tmux >/dev/null 2>&1; then
    echo "# tmux not installed: skipping (install it with 'make deps')"; finish
fi
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
if [ ! -x "$BIN" ] || ! "$BIN" --help-keys 2>/dev/null | grep -q "frtui keys"; then
    echo "# $BIN has no inspector yet (--help-keys missing): skipping"; finish
fi
SAMPLE=${FRTUI_SAMPLE:-}
if [ -z "$SAMPLE" ]; then
    for f in samples/*.frm; do [ -f "$f" ] && SAMPLE=$(pwd)/$f && break; done
fi
if [ -z "$SAMPLE" ] || [ ! -f "$SAMPLE" ]; then
    echo "# no sample bundle (samples/*.frm or FRTUI_SAMPLE): skipping"; finish
fi

SOCK=frtest$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/frtui-tmux.XXXXXX")
T="tmux -L $SOCK -f /dev/null"
cleanup() { $T kill-server 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
# Never the user's config file: a private one that has seen the tour (the tour test below
# starts from a missing file).  tmux's server inherits this environment.
FRTUI_CONFIG=$TMP/frtui.config; export FRTUI_CONFIG
printf 'tour_done = on\n' >"$FRTUI_CONFIG"

capture() { $T capture-pane -p -t fr 2>/dev/null; }
# Every wait below polls and returns as soon as its condition holds; the limits are scaled by
# FR_TMUX_SLOW (default 5) so that a loaded 2-core machine or a sanitizer build does not turn a
# slow repaint into a failure (a run once failed at the unscaled 2-4 s limits under load).
SLOW=${FR_TMUX_SLOW:-5}
# wait_for PATTERN [tenths]: polls the pane until grep -E matches
wait_for() {
    n=$((${2:-60} * SLOW))
    while [ "$n" -gt 0 ]; do
        capture | grep -Eq -- "$1" && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
# wait_gone PATTERN TENTHS: until PATTERN is no longer on screen (slow builds, e.g. ASan).
wait_gone() {
    n=$((${2:-60} * SLOW))
    while [ "$n" -gt 0 ]; do
        capture | grep -Eq -- "$1" || return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
wait_file() {
    n=$((${2:-60} * SLOW))
    while [ "$n" -gt 0 ]; do [ -s "$1" ] && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
# start NAME: runs the inspector in a fresh shell pane; its pid goes to $TMP/NAME.pid
# Killing the only session makes a tmux server exit; a new-session that reaches the server while
# it exits fails with "server exited unexpectedly" (seen once in CI on a loaded machine), so the
# server is told to stay (exit-empty off) and new-session is retried.
start() {
    $T kill-session -t fr 2>/dev/null
    tries=10
    until $T new-session -d -s fr -x 120 -y 36 "sh" 2>/dev/null; do
        tries=$((tries - 1)); [ "$tries" -gt 0 ] || return 1; sleep 0.2
    done
    $T set-option -g exit-empty off >/dev/null 2>&1
    $T set-option -t fr status off >/dev/null 2>&1
    $T send-keys -t fr "export LANG=C.UTF-8 TERM=xterm-256color; sh -c 'echo \$\$ > $TMP/$1.pid; exec \"$BIN\" --no-mouse $SAMPLE ${2:-}'" Enter
}
# restored NAME: once the inspector's pid is gone, the pane's shell records `stty -a`; it must
# list "icanon" and "echo" (not "-icanon"/"-echo").  (A separate command line: a shell drops
# the rest of a list whose job died of SIGINT.)
restored() {
    n=50
    while [ "$n" -gt 0 ] && kill -0 "$(cat "$TMP/$1.pid" 2>/dev/null)" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
    [ "$n" -gt 0 ] || return 1
    $T send-keys -t fr "stty -a > $TMP/$1.stty" Enter
    wait_file "$TMP/$1.stty" 50 || return 1
    sleep 0.1
    grep -Eq '(^| )icanon( |$)' "$TMP/$1.stty" && grep -Eq '(^| )echo( |$)' "$TMP/$1.stty"
}

# --- start-up and keys
# 100000 it/unit: the quit checks below need the optimiser still running (the confirmation
# prompt), and the teaching preset's 1000 it/unit finish the MLP sample in ~2 s.
start main "--iters 100000"
if wait_for "Units" 100 && wait_for "frtui" 10; then ok "inspector starts and shows the unit list"; else not_ok "inspector starts"; capture | head -5; fi
$T send-keys -t fr '?'
if wait_for "Keys \(Esc" 30; then ok "? opens the help overlay"; else not_ok "? opens the help overlay"; fi
$T send-keys -t fr Escape
if wait_gone "Keys \(Esc" 50 && wait_for "Units" 30; then ok "Esc closes the help overlay"; else not_ok "Esc closes the help overlay"; fi
$T send-keys -t fr F1
if wait_for "Keys \(Esc" 30; then ok "F1 is an alias of ?"; else not_ok "F1 is an alias of ?"; fi
$T send-keys -t fr q
sleep 0.2
$T send-keys -t fr i
if wait_for "Explain:" 30; then ok "i opens the explain panel"; else not_ok "i opens the explain panel"; fi
$T send-keys -t fr i
if wait_gone "Explain:" 50; then ok "i closes the explain panel"; else not_ok "i closes the explain panel"; fi
$T send-keys -t fr x Z
sleep 0.2
if capture | grep -q "Units"; then ok "unknown keys are ignored"; else not_ok "unknown keys are ignored"; fi
# --- resize via KEY_RESIZE only
$T resize-window -t fr -x 70 -y 20 2>/dev/null || $T resize-pane -t fr -x 70 -y 20
if wait_for "terminal too small: 70x20, need 80x24" 40; then ok "small window shows the too-small screen"; else not_ok "too-small screen"; capture | head -12; fi
$T resize-window -t fr -x 120 -y 36 2>/dev/null || $T resize-pane -t fr -x 120 -y 36
if wait_for "Units" 40; then ok "growing the window restores the layout"; else not_ok "layout after resize"; fi
$T send-keys -t fr C-l
if wait_for "Units" 20; then ok "Ctrl-L repaints"; else not_ok "Ctrl-L repaints"; fi
# --- quit (with confirmation while the optimiser runs)
$T send-keys -t fr q
if wait_for "Quit anyway" 20; then
    $T send-keys -t fr n
    sleep 0.2
    if capture | grep -q "Units"; then ok "n cancels the quit prompt"; else not_ok "n cancels the quit prompt"; fi
    $T send-keys -t fr q
    wait_for "Quit anyway" 20
    $T send-keys -t fr y
else
    not_ok "q asks 'Quit anyway' while the optimiser runs"; capture | head -3
    $T send-keys -t fr y
fi
if restored main; then ok "q quits and the terminal is restored"; else not_ok "q quits and restores the terminal"; fi

# --- after DONE the screen describes the run that happened (issue 13 §3)
start done "--iters 100"
if wait_for " DONE " 300; then
    if capture | head -1 | grep -q "it/s"; then not_ok "DONE header has no stale it/s"; capture | head -1; else ok "DONE header has no stale it/s and ETA"; fi
    $T send-keys -t fr m
    if wait_for "next run: rtn" 30 && capture | head -1 | grep -q "flexround" && ! capture | head -1 | grep -q " rtn "; then
        ok "m after a FlexRound run changes the status line, not the header"
    else
        not_ok "m after DONE: header keeps flexround, status says next run: rtn"; capture | head -1; capture | tail -2
    fi
    $T send-keys -t fr p
    if wait_for "run has finished: nothing to pause" 30 && ! capture | grep -q "pausing"; then ok "p after DONE says the run finished"; else not_ok "p after DONE"; capture | tail -2; fi
else
    not_ok "the short run reaches DONE"; capture | head -3
fi
$T send-keys -t fr q
restored done >/dev/null 2>&1
sleep 0.3   # let the pane settle before the next session replaces it

# --- first start: the tour shows once, is remembered, and a bad config line is reported
FRTUI_CONFIG=$TMP/first.config; export FRTUI_CONFIG
$T kill-server 2>/dev/null   # a new server picks up the new FRTUI_CONFIG
rm -f "$FRTUI_CONFIG"
start tour
if wait_for "tour 1/" 300; then ok "first start (no config file) opens the tour"; else not_ok "first start opens the tour"; capture | tail -4; fi
if wait_file "$FRTUI_CONFIG" 50 && grep -Eq '^tour_done *= *on' "$FRTUI_CONFIG"; then ok "the tour is remembered in the config file at once"; else not_ok "tour_done saved"; cat "$FRTUI_CONFIG" 2>/dev/null | head -3; fi
$T send-keys -t fr q
wait_for "Quit anyway" 20 && $T send-keys -t fr y
restored tour >/dev/null 2>&1
printf 'tour_done = on\nsmoothing = lots\n' >"$FRTUI_CONFIG"
start tour2
if wait_for "Units" 300 && wait_for "first.config:2" 50; then ok "a bad config line is named FILE:LINE in the status line"; else not_ok "bad config line reported"; capture | tail -3; fi
if ! capture | grep -q "tour 1/"; then ok "second start: no tour"; else not_ok "second start shows the tour again"; fi
$T send-keys -t fr q
wait_for "Quit anyway" 20 && $T send-keys -t fr y
restored tour2 >/dev/null 2>&1
sleep 0.3

# --- signals restore the terminal
for sig in TERM INT; do
    start sig$sig
    # 30 s: on a loaded 2-core machine the start (bundle load, caches) once took over 10 s.
    if wait_for "Units" 300 && wait_file "$TMP/sig$sig.pid" 20; then
        kill -s $sig "$(cat "$TMP/sig$sig.pid")"
        if restored sig$sig; then ok "SIG$sig restores the terminal"; else not_ok "SIG$sig restores the terminal"; fi
    else
        not_ok "SIG$sig: inspector did not start"
    fi
done
finish
