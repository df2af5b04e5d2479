#!/bin/sh
# mpi.t.sh — `mpirun -n K frtui sweep` (issue 17) on samples/mlp-fmnist.frm with the MPI build
# (make MPI=1: build/mpi/frtui, built here when missing): a 6-point grid run locally by the plain
# build is the reference; under `mpirun -n 2` and `mpirun --oversubscribe -n 4` each rank takes
# the points k % K == rank, every point's report equals the reference's (results, not times), and
# rank 0's merged sweep-report table equals the local sweep-report's; one rank killed with kill -9
# while a point is mid-run (after its first checkpoint: no timing guess) takes the job and its
# runs down, and the re-launch resumes that point and ends with the reference results; the MPI
# binary without mpirun is a plain sweep; the plain binary under mpirun refuses (each rank would
# run everything); --point under several ranks refuses once; --list prints once.
# Skips only when Open MPI is absent and cannot be installed (not root); make test installs it.
# Prints "N passed, N failed".
. tests/lib.sh
fr_t_init mpi
M=samples/mlp-fmnist.frm
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
[ -f "$M" ] || fr_t_skip "$M not present"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
fr_t_mpi 120

# rtn W2-W4 (points 0-2), flexround W2-W4 (points 3-5, 3 units of 200 iterations each,
# checkpointed after every unit)
GRID="--methods rtn,flexround --bits 2..4 --seeds 1 --iters 200"
POINTS=""
for m in rtn flexround; do for b in 2 3 4; do POINTS="$POINTS mlp-fmnist_${m}_W${b}_tensor_lrdef_it200_s1"; done; done
P3=mlp-fmnist_flexround_W2_tensor_lrdef_it200_s1
same_results() { fr_json_results "$1" >"$T/a.json"; fr_json_results "$2" >"$T/b.json"; cmp -s "$T/a.json" "$T/b.json"; }
# every point's report of folder $1 equals the reference's
same_points() {
    n=0
    for p in $POINTS; do same_results "$T/ref/points/$p/report.json" "$1/points/$p/report.json" && n=$((n + 1)); done
    [ $n = 6 ]
}
# the merged table without its last column (elapsed_s)
table() { sed 's/,[^,]*$//' "$1/sweep-report.csv"; }

# 1. the reference: the plain build, locally, 2 jobs
"$BIN" sweep "$M" -o "$T/ref" $GRID --jobs 2 -q >"$T/ref.out" 2>"$T/err" && ok || bad "reference sweep: $(cat "$T/err")"
"$BIN" sweep-report "$T/ref" >/dev/null 2>"$T/err" && ok || bad "reference sweep-report: $(cat "$T/err")"
table "$T/ref" >"$T/ref.csv"

# 2. mpirun -n 2 and -n 4: the same reports, the same merged table, each rank its share
for K in 2 4; do
    D=$T/n$K
    $MPIRUN -n $K "$MBIN" sweep "$M" -o "$D" $GRID >"$D.out" 2>"$D.err"; rc=$?
    [ $rc = 0 ] && ok || bad "mpirun -n $K: exit $rc: $(tail -3 "$D.err")"
    same_points "$D" && ok || bad "mpirun -n $K: $((6 - n)) point report(s) differ from the local sweep's"
    table "$D" 2>/dev/null | cmp -s - "$T/ref.csv" && ok || bad "mpirun -n $K: merged table differs from the local sweep-report's"
    grep -q "6 done (0 resumed), 0 skipped as finished, 0 failed, .* on $K rank(s)" "$D.out" && ok ||
        bad "mpirun -n $K: summary: $(grep 'skipped as finished' "$D.out")"
    [ "$(grep -c 'skipped as finished' "$D.out")" = 1 ] && [ "$(grep -c '^frtui sweep-report:' "$D.out")" = 1 ] && ok ||
        bad "mpirun -n $K: the totals and the merge should come once, from rank 0"
    # static shares: rank r has the points k with k % K == r
    r=0
    while [ $r -lt $K ]; do
        want=$(( (6 - r + K - 1) / K ))
        grep -q "rank $r of $K: $want of 6 point(s)" "$D.out" && ok || bad "mpirun -n $K: rank $r's share: $(grep "rank $r of" "$D.out")"
        r=$((r + 1))
    done
done

# 3. kill -9 of one rank while it runs point 3 (its first checkpoint written, no report yet)
K=$T/kill
$MPIRUN -n 2 "$MBIN" sweep "$M" -o "$K" $GRID >"$T/kill.out" 2>&1 &
mpid=$!
i=0
while [ ! -f "$K/points/$P3/run.frc" ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i + 1)); done
# point 3 belongs to rank 1 (3 % 2): the rank is a child of mpirun with OMPI_COMM_WORLD_RANK=1
# (with timeout(1) in front, a grandchild)
victim=
for c in $(ps -eo pid=,ppid= | awk -v p=$mpid '$2 == p {print $1}'); do
    for g in $c $(ps -eo pid=,ppid= | awk -v p=$c '$2 == p {print $1}'); do
        tr '\0' '\n' <"/proc/$g/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$g
    done
done
[ -n "$victim" ] && kill -9 "$victim" 2>/dev/null && ok || bad "found no rank 1 to kill"
wait $mpid; rc=$?
[ $rc != 0 ] && ok || bad "mpirun exited 0 although rank 1 was killed"
[ -f "$K/points/$P3/run.frc" ] && ok || bad "point 3 wrote no checkpoint within 30 s"
[ ! -f "$K/points/$P3/report.json" ] && ok || bad "point 3 finished before the kill (machine too slow or too fast?)"
# the other rank and every rank's runs die with the job (mpirun, PR_SET_PDEATHSIG)
i=0
while ps -eo args | grep -F "$K" | grep -qv grep && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
ps -eo args | grep -F "$K" | grep -qv grep && bad "a process of the killed job is still running" || ok
$MPIRUN -n 2 "$MBIN" sweep "$M" -o "$K" $GRID >"$T/rerun.out" 2>"$T/err"; rc=$?
[ $rc = 0 ] && ok || bad "re-launch: exit $rc: $(tail -3 "$T/err")"
grep -q "point 3 $P3: done, resumed from its checkpoint" "$T/rerun.out" && ok || bad "point 3 was not resumed: $(cat "$T/rerun.out")"
grep -q "skipped as finished, 0 failed" "$T/rerun.out" && ! grep -q ' 0 skipped as finished' "$T/rerun.out" && ok ||
    bad "re-launch skipped no finished point: $(grep 'skipped as' "$T/rerun.out")"
same_points "$K" && ok || bad "after kill -9 + re-launch: $((6 - n)) point report(s) differ from the local sweep's"
table "$K" 2>/dev/null | cmp -s - "$T/ref.csv" && ok || bad "after kill -9 + re-launch: merged table differs"

# 4. the MPI binary without mpirun is the plain sweep: same list, same output, no merge
"$MBIN" sweep "$M" $GRID --list >"$T/m.list" 2>&1 && "$BIN" sweep "$M" $GRID --list >"$T/p.list" 2>&1 &&
    cmp -s "$T/m.list" "$T/p.list" && ok || bad "--list of the MPI binary differs"
"$MBIN" sweep "$M" -o "$T/solo" --methods rtn --bits 3 --seeds 1 --iters 200 >"$T/solo.out" 2>"$T/err"; rc=$?
[ $rc = 0 ] && ! grep -q 'rank\|sweep-report' "$T/solo.out" && [ ! -f "$T/solo/sweep-report.csv" ] && ok ||
    bad "MPI binary without mpirun: exit $rc: $(cat "$T/solo.out" "$T/err")"
same_results "$T/ref/points/mlp-fmnist_rtn_W3_tensor_lrdef_it200_s1/report.json" \
    "$T/solo/points/mlp-fmnist_rtn_W3_tensor_lrdef_it200_s1/report.json" && ok || bad "MPI binary without mpirun: report differs"

# 5. refusals under mpirun: once, exit 2, nothing run
$MPIRUN -n 2 "$BIN" sweep "$M" -o "$T/plain" $GRID >"$T/pl.out" 2>&1; rc=$?
[ $rc = 2 ] && [ "$(grep -c 'built without MPI' "$T/pl.out")" = 1 ] && [ ! -d "$T/plain" ] && ok ||
    bad "plain build under mpirun -n 2: exit $rc: $(grep frtui "$T/pl.out")"
$MPIRUN -n 2 "$MBIN" sweep "$M" -o "$T/pt" $GRID --point 1 >"$T/pt.out" 2>&1; rc=$?
[ $rc = 2 ] && [ "$(grep -c '^frtui sweep: --point: not under mpirun' "$T/pt.out")" = 1 ] && [ ! -d "$T/pt" ] && ok ||
    bad "--point under mpirun -n 2: exit $rc: $(grep frtui "$T/pt.out")"
$MPIRUN -n 2 "$MBIN" sweep "$M" $GRID --list >"$T/l.out" 2>&1; rc=$?
[ $rc = 0 ] && grep -v '^\[' "$T/l.out" | cmp -s - "$T/p.list" && ok || bad "--list under mpirun -n 2: exit $rc: $(cat "$T/l.out")"
fr_t_done
