#!/bin/sh
# kernels.t.sh — the same numbers on every machine (src/engine/blas.c, README "Determinism"):
#   1. by default frtui runs OpenBLAS's Haswell kernels on every AVX2 CPU, whatever the library
#      picks itself: a default run's checkpoint is byte-identical to one forced with
#      OPENBLAS_CORETYPE=Haswell, its JSON too (but for the elapsed time and how the core was
#      chosen), and both record "Haswell" (JSON, CSV, table header, checkpoint via replay);
#   2. the bit-identity tests pass under a second forced core (SkylakeX on AVX-512 CPUs, else
#      Sandybridge): two runs give identical JSON and checkpoints, tests/ckpt.t.sh (killed and
#      resumed == uninterrupted) passes, and every record names that core;
#   3. resuming a Haswell checkpoint under another core is refused (one line, exit 2);
#   4. FRTUI_BLAS_CORE=native uses the library's own choice and says so; a bad value is refused;
#   5. a 1.0 checkpoint (no core recorded; tests/compat/ckpt-1.0.frc, written by the previous
#      frtui with OPENBLAS_CORETYPE=Haswell at a unit boundary of `run tests/bad/frc/model.frm
#      --iters 3000`) still replays and resumes, and ends byte-identical to an uninterrupted run.
# Prints "N passed, N failed".
. tests/lib.sh
fr_t_init kernels
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
M=samples/mlp-fmnist.frm
[ -f "$M" ] || fr_t_skip "$M missing"
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "not ok - $1"; }
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { printf '%s\n' "$flags" | grep -qw "$1"; }
has avx2 && has fma || fr_t_skip "CPU without AVX2+FMA: the reproducible Haswell kernels cannot run here"
if has avx512f && has avx512bw && has avx512vl && has avx512dq; then OTHER=SkylakeX
elif has avx; then OTHER=Sandybridge
else OTHER=Prescott; fi
export FRTUI_THREADS=1
unset FRTUI_BLAS_CORE OPENBLAS_CORETYPE FRTUI_BLAS_REEXEC

# run TAG [ENV...]: a short FlexRound run with JSON, CSV and checkpoint under $T/TAG.*
run() {
    tag=$1; shift
    env "$@" "$BIN" run "$M" --iters 30 --n-calib 128 --json "$T/$tag.json" --csv "$T/$tag.csv" \
        --checkpoint "$T/$tag.frc" >"$T/$tag.out" 2>"$T/$tag.err" || no "run $tag: $(head -c 300 "$T/$tag.err")"
}
# The JSON without what legitimately differs between equal runs.
norm() { fr_json_results "$1" | sed 's/"blas_choice": "[a-z]*"//'; }
core_of_json() { sed -n 's/.*"blas_core": "\([^"]*\)".*/\1/p' "$1"; }
# The core a checkpoint records, as its replay shows it in the header.
core_of_frc() { "$BIN" "$1" --dump-screen --cols 120 --rows 36 2>/dev/null | sed -n 's/.*BLAS \([A-Za-z0-9?]*\) .*/\1/p' | head -n 1; }
same() { # LABEL A B: JSON (normalised) and checkpoint bytes identical
    if [ "$(norm "$T/$2.json" | md5sum)" = "$(norm "$T/$3.json" | md5sum)" ]; then ok "$1: identical JSON"
    else no "$1: JSON differs"; diff "$T/$2.json" "$T/$3.json" | head -n 6; fi
    if cmp -s "$T/$2.frc" "$T/$3.frc"; then ok "$1: identical checkpoint bytes"; else no "$1: checkpoints differ"; fi
}
records() { # TAG CORE: JSON, CSV, table header and checkpoint all name CORE
    j=$(core_of_json "$T/$1.json"); f=$(core_of_frc "$T/$1.frc")
    c=$(tail -n 1 "$T/$1.csv" | awk -F, '{print $NF}'); h=$(sed -n '1s/^OpenBLAS core \([^ ]*\) .*/\1/p' "$T/$1.out")
    if [ "$j" = "$2" ] && [ "$f" = "$2" ] && [ "$c" = "$2" ] && [ "$h" = "$2" ]; then ok "$1 records core $2 everywhere"
    else no "$1: want core $2; JSON '$j', checkpoint '$f', CSV '$c', table header '$h'"; fi
}

# 1. the reproducible default is Haswell, whatever the library detects
run dflt
run hsw OPENBLAS_CORETYPE=Haswell
records dflt Haswell
records hsw Haswell
same "default vs OPENBLAS_CORETYPE=Haswell" dflt hsw
grep -q '"blas_choice": "reproducible"' "$T/dflt.json" && ok "default run says reproducible" || no "default run: $(grep blas_ "$T/dflt.json")"
grep -q '"blas_choice": "user"' "$T/hsw.json" && ok "forced run says user-set" || no "forced run: $(grep blas_ "$T/hsw.json")"

# 2. bit identity under a second core
run o1 OPENBLAS_CORETYPE=$OTHER
run o2 OPENBLAS_CORETYPE=$OTHER
records o1 $OTHER
same "two runs with OPENBLAS_CORETYPE=$OTHER" o1 o2
out=$(OPENBLAS_CORETYPE=$OTHER sh tests/ckpt.t.sh 2>&1)
line=$(printf '%s\n' "$out" | tail -n 1)
case $line in
    *" passed, 0 failed") ok "tests/ckpt.t.sh under OPENBLAS_CORETYPE=$OTHER: $line" ;;
    *) no "tests/ckpt.t.sh under OPENBLAS_CORETYPE=$OTHER: $line"; printf '%s\n' "$out" | grep 'not ok' | head -n 5 ;;
esac
if cmp -s "$T/o1.frc" "$T/hsw.frc"; then echo "# note: $OTHER and Haswell kernels gave the same bits on this run"; fi

# 3. resume under another core is refused
OPENBLAS_CORETYPE=$OTHER "$BIN" run "$M" --resume "$T/hsw.frc" --quiet >/dev/null 2>"$T/err"; rc=$?
if [ $rc = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "OpenBLAS core Haswell" "$T/err"; then ok "resume under $OTHER refused"
else no "resume of a Haswell checkpoint under $OTHER: exit $rc: $(head -c 300 "$T/err")"; fi

# 4. the opt-out, and a bad value
run nat FRTUI_BLAS_CORE=native
grep -q '"blas_choice": "native"' "$T/nat.json" && ok "FRTUI_BLAS_CORE=native is recorded ($(core_of_json "$T/nat.json"))" ||
    no "native run: $(grep blas_ "$T/nat.json")"
fr_refused "bad FRTUI_BLAS_CORE" "FRTUI_BLAS_CORE=fastest" env FRTUI_BLAS_CORE=fastest "$BIN" run "$M" --iters 1

# 5. checkpoints from before the core was recorded
old=tests/compat/ckpt-1.0.frc
f=$(core_of_frc "$old")
[ "$f" = "?" ] && ok "1.0 checkpoint replays, core unknown" || no "1.0 checkpoint replay: core '$f'"
# The 1.0 file was written by a binary with only the per-sample kernels, so it resumes with them
# (checkpoints before 1.2 read as legacy); the uninterrupted reference asks for them by name.
FRTUI_KERNELS=legacy "$BIN" run tests/bad/frc/model.frm --iters 3000 --checkpoint "$T/new-full.frc" --json "$T/new-full.json" --quiet \
    >/dev/null 2>"$T/err" || no "uninterrupted run: $(head -c 300 "$T/err")"
if "$BIN" run tests/bad/frc/model.frm --resume "$old" --checkpoint "$T/old-res.frc" --json "$T/old-res.json" --quiet \
    >/dev/null 2>"$T/err"; then
    # The old binary snapped the RTN step through expf(logf(s)) (issue 13 §6); the unit it had
    # begun keeps that step's RTN reference loss, so loss_rtn / rel_vs_rtn of that unit may differ
    # in the last digits.  Everything the resumed run learned must be identical.
    python3 - "$T/new-full.json" "$T/old-res.json" <<'PY' && ok "1.0 checkpoint resumes to the uninterrupted run's results" ||
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
skip = {"loss_rtn", "rel_vs_rtn"}
ua = [{k: v for k, v in u.items() if k not in skip} for u in a["units"]]
ub = [{k: v for k, v in u.items() if k not in skip} for u in b["units"]]
sys.exit(not (ua == ub and a["acc_q"] == b["acc_q"]))
PY
        no "1.0 checkpoint resumed: results differ from an uninterrupted run's"
    [ "$(core_of_frc "$T/old-res.frc")" = Haswell ] && ok "resumed run records its core" || no "resumed run: core '$(core_of_frc "$T/old-res.frc")'"
else
    no "resume of a 1.0 checkpoint: $(head -c 300 "$T/err")"
fi

# 6. the kernels a run used are the ones it resumes with: a legacy-kernel run stopped after its
#    first unit and resumed without FRTUI_KERNELS ends as the uninterrupted legacy run
FRTUI_KERNELS=legacy "$BIN" run "$M" --iters 30 --n-calib 128 --json "$T/lg-full.json" --quiet >/dev/null 2>"$T/err" ||
    no "legacy run: $(head -c 300 "$T/err")"
FRTUI_KERNELS=legacy "$BIN" run "$M" --iters 30 --n-calib 128 --unit fc1 --checkpoint "$T/lg.frc" --quiet >/dev/null 2>"$T/err" ||
    no "legacy run to fc1: $(head -c 300 "$T/err")"
"$BIN" run "$M" --resume "$T/lg.frc" --json "$T/lg-res.json" --quiet >/dev/null 2>"$T/err" || no "legacy resume: $(head -c 300 "$T/err")"
[ "$(norm "$T/lg-full.json" | md5sum)" = "$(norm "$T/lg-res.json" | md5sum)" ] &&
    ok "a legacy-kernel checkpoint resumes with the legacy kernels" || no "legacy checkpoint resumed with other kernels"
fr_refused "bad FRTUI_KERNELS" "FRTUI_KERNELS=fast" env FRTUI_KERNELS=fast "$BIN" run "$M" --iters 1
fr_t_done
