#!/bin/sh
# outputs.t.sh — issue 14 items 8, 9, 14 at the CLI: what frtui does with the output paths it
# is given (every writer goes through fr_atomic_*, src/base/common.c).
#   - a descriptor name (/dev/fd/3) is written through the descriptor, not replaced;
#   - character devices (private mknod copies of /dev/null and /dev/full, root only: the real
#     ones are never risked) and FIFOs are written in place and stay what they were; /dev/full
#     gives exit 2 and one line;
#   - a symlink output is refused (exit 2, one line) and neither the link nor its target changes;
#   - a symlink planted at the old temp name "<out>.tmp.<pid>" does not redirect the write;
#   - leftover temp files of the same output whose writer is dead are removed by the next write,
#     a live writer's are not.
# Prints "N passed, N failed".  Run from the repository root (tests/run.sh does).
. tests/lib.sh
fr_t_init outputs
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
[ -f samples/mlp-fmnist.frm ] || fr_t_skip "samples/mlp-fmnist.frm missing"
export FRTUI_THREADS=1
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }

# One short run gives a checkpoint to export from and a reference export.
"$BIN" run samples/mlp-fmnist.frm --iters 1 --n-calib 64 --quiet --checkpoint "$T/r.frc" >/dev/null 2>"$T/err" ||
    { cat "$T/err"; fr_t_skip "the set-up run failed"; }
"$BIN" export "$T/r.frc" -o "$T/ref.frm" >/dev/null 2>&1 || bad "reference export"

# Descriptor name: the JSON goes to descriptor 3's file.
mkdir -p "$T/dev"
csv=$T/dev/csv.csv
if [ "$(id -u)" = 0 ] && mknod "$T/dev/null" c 1 3 2>/dev/null; then csv=$T/dev/null; fi
if $TO "$BIN" run samples/mlp-fmnist.frm --iters 1 --n-calib 64 --quiet --json /dev/fd/3 --csv "$csv" \
        3>"$T/j.json" >/dev/null 2>"$T/err"; then ok; else bad "run --json /dev/fd/3: $(head -c 300 "$T/err")"; fi
grep -q '"units"' "$T/j.json" && ok || bad "/dev/fd/3: the JSON did not reach descriptor 3's file"
ls "$T/dev" | grep -q 'tmp' && bad "temp file left in $T/dev: $(ls "$T/dev")" || ok
if [ "$csv" = "$T/dev/null" ]; then
    [ -c "$T/dev/null" ] && ok || bad "--csv to a null device replaced it: $(ls -l "$T/dev/null")"
fi

# /dev/full (a private copy): refused with one line, the device left alone.
if [ "$(id -u)" = 0 ] && mknod "$T/dev/full" c 1 7 2>/dev/null; then
    fr_refused "-o full device" "$T/dev/full: write failed: No space left on device" \
        "$BIN" export "$T/r.frc" -o "$T/dev/full"
    [ -c "$T/dev/full" ] && ok || bad "-o to a full device replaced it: $(ls -l "$T/dev/full")"
else
    echo "# not root: the character-device cases are skipped"
fi

# FIFO with a reader: the bytes go through it, byte-identical to a file export.
mkfifo "$T/fifo"
( $TO cat "$T/fifo" >"$T/fifo.got" ) &
reader=$!
sleep 0.2
if $TO "$BIN" export "$T/r.frc" -o "$T/fifo" >/dev/null 2>"$T/err"; then ok; else bad "-o FIFO: $(head -c 300 "$T/err")"; fi
wait $reader
[ -p "$T/fifo" ] && ok || bad "-o FIFO replaced it: $(ls -l "$T/fifo")"
cmp -s "$T/fifo.got" "$T/ref.frm" && ok || bad "-o FIFO: the reader got $(wc -c <"$T/fifo.got") bytes, not the export"
# A FIFO nobody reads: an error at once, not a hang.
mkfifo "$T/fifo2"
fr_refused "-o FIFO without a reader" "$T/fifo2: cannot write: a FIFO with no reader" \
    "$BIN" export "$T/r.frc" -o "$T/fifo2"

# Symlink output: refused; link and target unchanged.
mkdir -p "$T/l"
echo precious >"$T/l/victim"
ln -s "$T/l/victim" "$T/l/link.frm"
fr_refused "-o symlink" "$T/l/link.frm: is a symbolic link" "$BIN" export "$T/r.frc" -o "$T/l/link.frm"
[ -L "$T/l/link.frm" ] && ok || bad "-o symlink: the link was replaced"
[ "$(cat "$T/l/victim")" = precious ] && ok || bad "-o symlink: the link's target was written"

# A symlink planted at the old temp name (the pid is known: sh execs frtui).
echo precious >"$T/l/victim2"
sh -c 'ln -s "$1" "$2.tmp.$$" && exec "$0" export "$3" -o "$2"' "$BIN" "$T/l/victim2" "$T/l/p.frm" "$T/r.frc" \
    >/dev/null 2>"$T/err" || bad "export with a planted temp link: $(head -c 300 "$T/err")"
[ "$(cat "$T/l/victim2")" = precious ] && ok || bad "a planted <out>.tmp.<pid> symlink redirected the write"
[ -f "$T/l/p.frm" ] && [ ! -L "$T/l/p.frm" ] && cmp -s "$T/l/p.frm" "$T/ref.frm" && ok ||
    bad "with a planted temp link the output is not the export: $(ls -l "$T/l/p.frm")"

# Stale temp files: a dead writer's (new and old naming) go, a live writer's and another
# output's stay.
mkdir -p "$T/s"
dead=$(sh -c 'echo $$')
: >"$T/s/x.frm.tmp.$dead.k3j9q0"
: >"$T/s/x.frm.tmp.$dead"
: >"$T/s/x.frm.tmp.$$.a1b2c3"
: >"$T/s/y.frm.tmp.$dead.k3j9q0"
"$BIN" export "$T/r.frc" -o "$T/s/x.frm" >/dev/null 2>"$T/err" || bad "export -o s/x.frm: $(head -c 300 "$T/err")"
[ ! -e "$T/s/x.frm.tmp.$dead.k3j9q0" ] && [ ! -e "$T/s/x.frm.tmp.$dead" ] && ok ||
    bad "a dead writer's temp files were not removed: $(ls "$T/s" | tr '\n' ' ')"
[ -e "$T/s/x.frm.tmp.$$.a1b2c3" ] && [ -e "$T/s/y.frm.tmp.$dead.k3j9q0" ] && ok ||
    bad "a live writer's or another output's temp file was removed: $(ls "$T/s" | tr '\n' ' ')"
fr_t_done
