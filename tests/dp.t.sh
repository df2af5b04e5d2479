#!/bin/sh
# dp.t.sh — data parallel inside one unit (issue 17): `mpirun -n K build/mpi/frtui run ...` with
# the calibration cache sharded over K ranks (rank r holds about the r-th K-th of the samples
# and computes the draws of every mini-batch that fall in its shard, and its part of every full
# pass), the partial gradients and losses added in rank order (src/recon/dp.c, calib.c,
# recon.c fr_recon_step), against the plain single-process run; `--dp-cache replicate` (every
# rank the whole cache, an even K-th of each mini-batch) the same way.
#   - K = 1 under mpirun is the single-process run: the same report, number for number.
#   - K = 2 and 4 (4 oversubscribed on this 2-core machine) against the plain run, unit by unit
#     (cmp_runs): the rounding decisions (the integer codes of `frtui export --safetensors`)
#     equal on all but 0.1 % of the weights, and the losses within a relative 1e-4 wherever the
#     decisions that shape them are the same.  Why: a rank adds its share of the batch in its
#     own GEMMs and the shares are then added, so a step's sums differ from the single
#     process's in the order of float additions only (relative ~B * 2^-24 ~ 2e-6 for B = 32);
#     that moves a loss by about as much, unless it moves a weight across a rounding boundary:
#     a discrete step that also changes every later unit's inputs, so downstream of a flipped
#     code the losses are held to 5e-2 only.  Runs are short (10 iterations): over hundreds,
#     Adam turns such differences in near-zero gradients into different steps and the
#     trajectories part, as between two machines (README "Scaling out" has the measured spread).
#   - Determinism: the same command twice at K = 2 gives identical reports and codes.
#   - FlexRound on the MLP sample and on a generated ResNet (convs); AdaRound (its regulariser
#     makes the gradient's scale matter, which Adam alone would hide) with activation
#     quantization split unevenly (--batch 5 over 2 ranks: the LSQ step gradient's rescaling);
#     a rank with no sample at all (--batch 3 over 4 ranks); --resume of a checkpoint taken
#     inside a unit.  Only rank 0 prints the table and writes the report and the checkpoint.
#   - Sharding: activation quantizers initialised from the samples of several shards (AdaRound
#     W4A8 above), uneven shards (--n-calib 200 over 4 ranks: 64, 64, 64, 8) with --keep-best
#     (its decisions rest on the ranks' summed losses), fewer samples than pass batches per rank
#     (--n-calib 6 over 4: split by samples); a sharded cache spilled to disk gives the bits of a
#     resident one; the plan halves each rank's caches at K = 2, and a --max-mem that makes the
#     replicated ranks spill keeps the sharded ones in memory.
#   - Refusals, once and exit 2: --qdrop under several ranks, the plain build under mpirun, the
#     inspector and compare under several ranks, fewer calibration samples than ranks to shard.
# Nothing here measures speed (make bench-dp does).  FRTUI_THREADS=1 everywhere: 4 ranks share
# 2 cores.  Skips only when Open MPI is absent and cannot be installed (not root).
# Prints "N passed, N failed".
. tests/lib.sh
fr_t_init dp
M=samples/mlp-fmnist.frm
TB=${BUILD:-build/release}/tests/test_ckpt
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
[ -f "$M" ] || fr_t_skip "$M not present"
command -v python3 >/dev/null 2>&1 || fr_t_skip "python3 missing"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
fr_t_mpi 120
FRTUI_THREADS=1; export FRTUI_THREADS

cat >"$T/cmp.py" <<'EOF'
import json, struct, sys
def codes(f):
    b = open(f, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k[:-7]: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items()
            if k.endswith(".qcodes")}   # one byte per code (I8/U8)
A, B = (json.load(open(f + ".json")) for f in sys.argv[1:3])
ca, cb = (codes(f + ".st") for f in sys.argv[1:3])
if len(A["units"]) != len(B["units"]) or ca.keys() != cb.keys() or not ca:
    print("different units or tensors"); sys.exit(1)
flipped, total, strict, worst, where, ok = 0, 0, True, 0.0, "-", True
for x, y in zip(A["units"], B["units"]):
    own = 0
    for l in x["layers"]:
        if l["name"] in ca:
            own += sum(p != q for p, q in zip(ca[l["name"]], cb[l["name"]]))
            total += len(ca[l["name"]])
    for k in ("loss_rtn", "loss_before", "loss_after"):
        tight = strict and (k != "loss_after" or own == 0)
        tol = 1e-4 if tight else 5e-2
        p, q = x[k], y[k]
        d = abs(p - q) / max(abs(p), 1e-30)
        if tight and d > worst: worst, where = d, "%s %s %.9g vs %.9g" % (x["name"], k, p, q)
        if d > tol:
            ok = False
            print("%s %s: %.9g vs %.9g (rel %.3g > %g)" % (x["name"], k, p, q, d, tol))
    flipped += own
    strict = strict and own == 0
ok = ok and flipped <= 1e-3 * total
print("max rel %.3g where decided alike (%s); %d of %d codes differ" % (worst, where, flipped, total))
sys.exit(0 if ok else 1)
EOF
# cmp_runs A B: runs A and B (A.json, A.st: report and exported codes), unit by unit: the losses
# a unit's inputs decide (loss_rtn, loss_before) within 1e-4 while every code of the units
# before it is the same in both, loss_after while its own codes are the same too, else 5e-2;
# at most 0.1 % of the codes differ
cmp_runs() { python3 "$T/cmp.py" "$1" "$2"; }
# run_codes OUT MODEL CMD...: OUT.json, OUT.frc, OUT.out and the codes OUT.st of a run
run_codes() {
    out=$1 model=$2; shift 2
    "$@" --json "$out.json" --checkpoint "$out.frc" >"$out.out" 2>"$T/err" &&
        "$BIN" export "$out.frc" --model "$model" -o "$out.frm" --safetensors "$out.st" >/dev/null 2>>"$T/err"
}
# same_as_plain LABEL K MODEL ARGS...: the plain run and mpirun -n K, compared
same_as_plain() {
    lab=$1 K=$2 mo=$3; shift 3
    run_codes "$T/x1" "$mo" "$BIN" run "$mo" "$@" || { bad "$lab: plain run: $(tail -3 "$T/err")"; return; }
    run_codes "$T/xk" "$mo" $MPIRUN -n "$K" "$MBIN" run "$mo" "$@" || { bad "$lab: mpirun -n $K: $(tail -3 "$T/err")"; return; }
    r=$(cmp_runs "$T/x1" "$T/xk") && ok || bad "$lab: against the plain run: $r"
    echo "# $lab: $(echo "$r" | tail -1)"
}

# 1. the single-process reference, the plain build
RUN="--iters 10 --n-calib 256 -q"
run_codes "$T/p" "$M" "$BIN" run "$M" $RUN && ok || bad "plain reference run: $(cat "$T/err")"

# 2. one rank under mpirun: the single-process run exactly
$MPIRUN -n 1 "$MBIN" run "$M" $RUN --json "$T/k1.json" >"$T/k1.out" 2>"$T/err"; rc=$?
[ $rc = 0 ] && ok || bad "mpirun -n 1: exit $rc: $(tail -3 "$T/err")"
fr_json_results "$T/p.json" >"$T/a"; fr_json_results "$T/k1.json" >"$T/b"
cmp -s "$T/a" "$T/b" && ok || bad "mpirun -n 1: the report differs from the plain run's: $(diff "$T/a" "$T/b" | head -4)"

# 3. two and four ranks: as the plain run within tolerance, one table, rank 0's files
for K in 2 4; do
    run_codes "$T/k$K" "$M" $MPIRUN -n $K "$MBIN" run "$M" $RUN && ok || bad "mpirun -n $K: $(tail -3 "$T/err")"
    r=$(cmp_runs "$T/p" "$T/k$K") && ok || bad "mpirun -n $K: against the plain run: $r"
    echo "# K=$K: $(echo "$r" | tail -1)"
    grep -q "\"ranks\": $K" "$T/k$K.json" && ok || bad "mpirun -n $K: the report does not say \"ranks\": $K"
    [ "$(grep -c '^top-1:' "$T/k$K.out")" = 1 ] && [ "$(grep -c '^#  *unit' "$T/k$K.out")" = 1 ] && ok ||
        bad "mpirun -n $K: the table should come once, from rank 0: $(cat "$T/k$K.out")"
done
grep -q '"ranks"' "$T/p.json" "$T/k1.json" && bad "a one-rank report names ranks" || ok

# 4. determinism for a rank count: the same command again at K = 2
run_codes "$T/k2b" "$M" $MPIRUN -n 2 "$MBIN" run "$M" $RUN && ok || bad "mpirun -n 2 again: $(tail -3 "$T/err")"
fr_json_results "$T/k2.json" >"$T/a"; fr_json_results "$T/k2b.json" >"$T/b"
cmp -s "$T/a" "$T/b" && ok || bad "mpirun -n 2 twice: the reports differ: $(diff "$T/a" "$T/b" | head -4)"
cmp -s "$T/k2.st" "$T/k2b.st" && ok || bad "mpirun -n 2 twice: the codes differ"

# 5. AdaRound with activation quantization split unevenly; a rank without samples
same_as_plain "adaround W4A8, batch 5 over 2 ranks" 2 "$M" --method adaround --act-bits 8 --batch 5 --unit fc2 $RUN
same_as_plain "batch 3 over 4 ranks (rank 0 has none)" 4 "$M" --batch 3 --unit fc1 $RUN

# 6. convolutions: a generated ResNet (untrained, 128 calibration samples)
if [ -x "$TB" ] && "$TB" --gen-resnet "$T/resnet.frm" >/dev/null 2>&1; then
    same_as_plain "resnet convs, 2 ranks" 2 "$T/resnet.frm" --unit block:layer1.0.conv1 $RUN
else
    bad "$TB --gen-resnet failed (build it: make $TB)"
fi

# 7. --resume of a checkpoint taken inside a unit (iteration 3 of 10, made with the kernels frtui
# pins by default): under 2 ranks as the plain resume, the same on a second try
mkdir -p "$T/unf"
if [ -x "$TB" ] && OPENBLAS_CORETYPE=Haswell "$TB" --gen-unfinished "$T/unf" >/dev/null 2>&1; then
    U=$T/unf
    run_codes "$T/r1" "$U/model.frm" "$BIN" run "$U/model.frm" --resume "$U/unfinished.frc" -q ||
        bad "plain resume: $(cat "$T/err")"
    for i in a b; do
        run_codes "$T/r2$i" "$U/model.frm" $MPIRUN -n 2 "$MBIN" run "$U/model.frm" --resume "$U/unfinished.frc" -q ||
            bad "resume under 2 ranks: $(tail -3 "$T/err")"
    done
    r=$(cmp_runs "$T/r1" "$T/r2a") && ok || bad "resume under 2 ranks against the plain resume: $r"
    echo "# resume: $(echo "$r" | tail -1)"
    fr_json_results "$T/r2a.json" >"$T/a"; fr_json_results "$T/r2b.json" >"$T/b"
    cmp -s "$T/a" "$T/b" && cmp -s "$T/r2a.st" "$T/r2b.st" && ok || bad "resume under 2 ranks twice: the results differ"
else
    bad "$TB --gen-unfinished failed"
fi

# 8. sharding: uneven shards with --keep-best; shards smaller than a pass batch; the replicated
# cache against the plain run too
same_as_plain "200 samples over 4 ranks (64/64/64/8), --keep-best 3" 4 "$M" --keep-best 3 --unit fc2 --iters 10 --n-calib 200 -q
same_as_plain "6 samples over 4 ranks (split by samples)" 4 "$M" --unit fc1 --batch 4 --iters 10 --n-calib 6 -q
same_as_plain "--dp-cache replicate, 2 ranks" 2 "$M" --dp-cache replicate --unit fc2 $RUN
same_as_plain "--dp-cache replicate, adaround W4A8, batch 5 over 2 ranks" 2 "$M" --dp-cache replicate --method adaround --act-bits 8 --batch 5 --unit fc2 $RUN
# a sharded cache spilled to disk (every mini-batch gathered through the LRU) is the resident one
FRTUI_SPILL=disk run_codes "$T/k2s" "$M" $MPIRUN -n 2 -x FRTUI_SPILL "$MBIN" run "$M" $RUN && ok ||
    bad "sharded and spilled: $(tail -3 "$T/err")"
# (into a file first: mpirun can crash when a reader closes its output pipe early, as grep -q does)
FRTUI_SPILL=disk $MPIRUN -n 2 -x FRTUI_SPILL "$MBIN" run "$M" --iters 0 --n-calib 256 >"$T/sp.out" 2>&1
grep -q 'caches spilled to disk' "$T/sp.out" && ok || bad "FRTUI_SPILL=disk under mpirun: the plan does not spill: $(head -3 "$T/sp.out")"
fr_json_results "$T/k2.json" >"$T/a"; fr_json_results "$T/k2s.json" >"$T/b"
cmp -s "$T/a" "$T/b" && cmp -s "$T/k2.st" "$T/k2s.st" && ok ||
    bad "2 ranks, sharded cache on disk against in memory: $(diff "$T/a" "$T/b" | head -4)"
# the plan: each rank's caches halve; the same budget spills replicated and fits sharded
R=samples/resnet-fmnist.frm
plan() { K=$1; shift; $MPIRUN -n "$K" "$MBIN" run "$R" --n-calib 512 --unit block:layer1.0.conv1 --iters 2 --max-mem 200M "$@" 2>&1 | sed -n '1,12p'; }
if [ -f "$R" ]; then
    $MPIRUN -n 1 "$MBIN" run "$R" --n-calib 512 --unit block:layer1.0.conv1 --iters 0 2>&1 | awk '$2 == "stem" && $4 == "MiB" {print $3}' >"$T/c1"
    $MPIRUN -n 2 "$MBIN" run "$R" --n-calib 512 --unit block:layer1.0.conv1 --iters 0 >"$T/p2.out" 2>&1
    awk '$2 == "stem" && $4 == "MiB" {print $3}' "$T/p2.out" >"$T/c2"
    c1=$(cat "$T/c1") c2=$(cat "$T/c2")
    [ -n "$c1" ] && [ -n "$c2" ] && python3 -c "import sys; sys.exit(0 if abs($c1 / 2 - $c2) <= 0.1 else 1)" &&
        grep -q 'this rank holds samples \[0, 256) of 512' "$T/p2.out" && ok ||
        bad "unit 1's caches: $c1 MiB on one rank, $c2 MiB per rank on 2 (want half): $(head -4 "$T/p2.out")"
    sh=$(plan 2 | grep -c 'caches in memory'); rp=$(plan 2 --dp-cache replicate | grep -c 'caches spilled to disk')
    [ "$sh" = 1 ] && [ "$rp" = 1 ] && ok ||
        bad "--max-mem 200M over 2 ranks: sharded should stay in memory ($sh), replicated spill ($rp): $(plan 2 --dp-cache replicate | head -3)"
else
    bad "$R missing"
fi

# 9. refusals, said once, exit 2, nothing written
$MPIRUN -n 2 "$MBIN" run "$M" --qdrop $RUN --json "$T/out/q.json" >"$T/q.out" 2>&1; rc=$?
[ $rc = 2 ] && [ "$(grep -c 'frtui run: --qdrop cannot run on 2 MPI ranks' "$T/q.out")" = 1 ] && [ ! -f "$T/out/q.json" ] && ok ||
    bad "--qdrop under 2 ranks: exit $rc: $(grep frtui "$T/q.out")"
$MPIRUN -n 2 "$BIN" run "$M" $RUN --json "$T/out/pl.json" >"$T/pl.out" 2>&1; rc=$?
[ $rc = 2 ] && [ "$(grep -c 'frtui run: .*built without MPI' "$T/pl.out")" = 1 ] && [ ! -f "$T/out/pl.json" ] && ok ||
    bad "plain build under mpirun -n 2: exit $rc: $(grep frtui "$T/pl.out")"
$MPIRUN -n 2 "$MBIN" "$M" --dump-screen >"$T/tui.out" 2>&1; rc=$?
[ $rc = 2 ] && [ "$(grep -c 'frtui: the inspector is one process, not 2 MPI ranks' "$T/tui.out")" = 1 ] && ok ||
    bad "the inspector under mpirun -n 2: exit $rc: $(head -3 "$T/tui.out")"
$MPIRUN -n 2 "$MBIN" compare "$M" $RUN >"$T/cmp.out" 2>&1; rc=$?
[ $rc = 2 ] && [ "$(grep -c 'frtui compare: not under 2 MPI ranks' "$T/cmp.out")" = 1 ] && ok ||
    bad "compare under mpirun -n 2: exit $rc: $(head -3 "$T/cmp.out")"
$MPIRUN -n 4 "$MBIN" run "$M" --n-calib 3 --iters 1 -q >"$T/few.out" 2>&1; rc=$?
[ $rc = 2 ] && [ "$(grep -c '3 calibration samples cannot be sharded over 4 MPI ranks' "$T/few.out")" = 1 ] && ok ||
    bad "3 samples over 4 ranks: exit $rc: $(head -3 "$T/few.out")"
fr_t_done
