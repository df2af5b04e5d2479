#!/bin/sh
# soak.t.sh — the inspector under a stream of random keys and resizes while a run progresses
# (issue 8, item 6).  An isolated tmux server (own socket, -f /dev/null) runs
# `frtui BUNDLE --iters 1000000`; for SOAK_SECONDS (default 20) we send a random key from the
# key table (every navigation / view / run-control key except those that quit, write files or
# pause the run: q F10 e s p o d and the F-keys) every ~50 ms and resize the window every ~1 s,
# and sample the process once a second.  Checks:
#   - the process is alive at every sample and at the end, and the screen is still drawn;
#   - RSS is flat: the smallest of the last three samples is < 20 % above the peak of the
#     first half of the samples (counted, not timed) — growth that persists is a leak;
#   - `q` then `y` (confirm) ends it with status 0 and a cooked terminal.
# Nothing here assumes a speed: a loaded 2-core machine delivers fewer keys per second, but
# every check waits for a state (start-up, redraw, exit) with a limit that only catches hangs,
# and quit no longer waits for a comparison in progress (the compare stops at the quit flag).
# Long version: SOAK_SECONDS=1800 sh tests/soak.t.sh (result goes in the README; see
# docs/TESTING.md).  Random choices come from awk's srand(SOAK_SEED).  Skips ("0 passed,
# 0 failed") while tmux is missing or `frtui --help` shows no inspector.
. tests/lib.sh
fr_t_init soak
TB=${BUILD:-build/release}/tests/test_ckpt
SECS=${SOAK_SECONDS:-20}
SEED=${SOAK_SEED:-7}
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
fr_t_inspector "$TB"
TM="tmux -L frtui-soak-$$ -f /dev/null"
trap '$TM kill-server 2>/dev/null; rm -rf "$T"' EXIT INT TERM

$TM new-session -d -s s -x 120 -y 40 "env PS1='$ ' /bin/sh" || { bad "tmux"; echo "$pass passed, $fail failed"; exit 1; }
printf 'cd %s\nFRTUI_THREADS=1 %s %s --iters 1000000\necho EXIT-STATUS:$?\n' "$T" "$BINABS" "$M" >"$T/run.sh"
$TM send-keys -t s "sh $T/run.sh" Enter
n=0
until $TM capture-pane -p -t s | grep -qE 'RUNNING|running'; do
    sleep 0.2; n=$((n + 1))
    [ $n -ge 1500 ] && { bad "the inspector did not come up"; echo "$pass passed, $fail failed"; exit 1; }
done
shpid=$($TM display -p -t s '#{pane_pid}')
spid=$(pgrep -P "$shpid" | head -n 1)
pid=$([ -n "$spid" ] && pgrep -P "$spid" | head -n 1)
[ -n "$pid" ] || { bad "no frtui process"; echo "$pass passed, $fail failed"; exit 1; }

# The key stream, precomputed; resizes and RSS samples happen once a second of wall time
# (tmux round trips are slow on a loaded machine, so ticks are not a clock).
KEYS="j k h l n N ] [ g G C-d C-u u Tab BTab z Enter Escape + - 0 t y { } v a R C-l i ? f c m b I r Up Down Left Right PPage NPage Home End"
awk -v seed="$SEED" -v n=$((SECS * 40 + 100)) -v keys="$KEYS" 'BEGIN {
    srand(seed); nk = split(keys, k, " ")
    for (t = 0; t < n; t++) printf "%s %d %d\n", k[1 + int(rand() * nk)], 40 + int(rand() * 160), 12 + int(rand() * 50)
}' >"$T/plan"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
start=$(date +%s); last_s=$start; tick=0; resizes=0; dead=0; : >"$T/rss"
while read -r key w h; do
    $TM send-keys -t s "$key" 2>/dev/null
    tick=$((tick + 1))
    sleep 0.05
    now=$(date +%s)
    if [ "$now" != "$last_s" ]; then
        last_s=$now
        r=$(rss "$pid")
        if [ -z "$r" ]; then dead=1; break; fi
        echo "$((now - start)) $r" >>"$T/rss"
        $TM resize-window -t s -x "$w" -y "$h" 2>/dev/null; resizes=$((resizes + 1))
    fi
    [ $((now - start)) -ge "$SECS" ] && break
done <"$T/plan"
# Confirm prompts and overlays may be open: back out with Escape, then sample once more.
$TM send-keys -t s Escape; sleep 0.3; $TM send-keys -t s Escape
$TM resize-window -t s -x 120 -y 40
drawn() { $TM capture-pane -p -t s | grep -qE 'RUNNING|running|PAUSED|paused|DONE|done'; }
n=0; until drawn || [ $n -ge 600 ]; do sleep 0.1; n=$((n + 1)); done   # the redraw, however slow
r=$(rss "$pid")
[ -n "$r" ] && [ $dead = 0 ] && echo "$(( $(date +%s) - start )) $r" >>"$T/rss"
if [ $dead = 0 ] && kill -0 "$pid" 2>/dev/null; then ok "alive after $tick keys and $resizes resizes in $(( $(date +%s) - start ))s"
else bad "frtui died during the soak (after $tick events)"; $TM capture-pane -p -t s | tail -n 5; fi
drawn && ok "screen still drawn" || bad "screen not drawn: $($TM capture-pane -p -t s | head -n 3)"
# RSS: the peak of the first half of the samples vs the smallest of the last three.  (RSS steps
# with the window size, compare results and restarts, so the baseline is a peak that saw a few
# of those, and one transient sample at the end does not count as growth.)  Samples, not
# seconds: a loaded machine takes fewer of them, not different ones.
ns=$(wc -l <"$T/rss")
base=$(head -n $(( (ns + 1) / 2 )) "$T/rss" | awk '{ print $2 }' | sort -n | tail -n 1)
last=$(tail -n 3 "$T/rss" | awk '{ print $2 }' | sort -n | head -n 1)
[ "$ns" -lt 4 ] && base=
case ${BUILD:-} in *san-*) sanitized=1 ;; *) sanitized=0 ;; esac
if [ "$sanitized" = 1 ]; then
    echo "# note: sanitizer build (${BUILD}); RSS is not checked (allocator quarantine grows by design)"
elif [ -n "$base" ] && [ -n "$last" ]; then
    if [ "$last" -lt $((base * 12 / 10)) ]; then ok "RSS flat: ${base} KiB after warm-up, ${last} KiB at the end ($(wc -l <"$T/rss") samples)"
    else bad "RSS grew from ${base} KiB (after warm-up) to ${last} KiB"; fi
    echo "# RSS samples (s KiB): $(tr '\n' ' ' <"$T/rss")"
else
    bad "not enough RSS samples (${SECS}s soak)"
fi
# Quit: q asks while the optimiser runs; y confirms.
$TM send-keys -t s q; sleep 0.5; $TM send-keys -t s y
n=0
until $TM capture-pane -p -t s | grep -qE 'EXIT-STATUS:[0-9]+'; do
    sleep 0.2; n=$((n + 1)); [ $n -ge 600 ] && break   # 120 s: a hang guard, not a speed test
done
st=$($TM capture-pane -p -t s | sed -n 's/.*EXIT-STATUS:\([0-9]*\).*/\1/p' | tail -n 1)
[ "$st" = 0 ] && ok "q, y quits with status 0" || { bad "quit: status '${st:-none}'"; kill -9 "$pid" 2>/dev/null; }
# Terminal restoration after quit and signals is checked by tests/term_restore.t.sh.

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
