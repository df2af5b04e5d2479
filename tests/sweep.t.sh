#!/bin/sh
# sweep.t.sh — `frtui sweep` and `frtui sweep-report` end to end on samples/mlp-fmnist.frm
# (issue 17): a small grid run locally with 2 jobs; the same grid killed with kill -9 once a
# point is mid-run (after the earlier points' reports exist: no timing guess) and re-run,
# which skips the finished points untouched, resumes the interrupted one from its checkpoint
# with the thread count it started with, and ends with the same results; the emitted Slurm
# script run task by task with SLURM_ARRAY_TASK_ID gives the same reports; the report's
# table and plots; bad flags and spec files exit 2 with one line.  Prints "N passed, N failed".
. tests/lib.sh
fr_t_init sweep
M=samples/mlp-fmnist.frm
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
[ -f "$M" ] || fr_t_skip "$M not present"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
# rtn s1, rtn s2, flexround s1, flexround s2: the flexround points iterate long enough to be
# interrupted between their per-unit checkpoints (3 units of 200 iterations)
GRID="--methods rtn,flexround --bits 3 --seeds 1,2 --iters 200"
P2=mlp-fmnist_flexround_W3_tensor_lrdef_it200_s1
P3=mlp-fmnist_flexround_W3_tensor_lrdef_it200_s2
POINTS="mlp-fmnist_rtn_W3_tensor_lrdef_it200_s1 mlp-fmnist_rtn_W3_tensor_lrdef_it200_s2 $P2 $P3"
# the results of two reports, without what differs between identical runs (time, memory, and
# the thread count when asked: the reference ran with 1 everywhere)
same_results() { fr_json_results "$1" >"$T/a.json"; fr_json_results "$2" >"$T/b.json"; cmp -s "$T/a.json" "$T/b.json"; }

# 1. the reference: every point, 2 at a time
"$BIN" sweep "$M" -o "$T/ref" $GRID --jobs 2 >"$T/ref.out" 2>"$T/err" && ok || bad "reference sweep: $(cat "$T/err")"
n=0
for p in $POINTS; do [ -s "$T/ref/points/$p/report.json" ] && n=$((n + 1)); done
[ $n = 4 ] && ok || bad "reference sweep finished $n of 4 points"
grep -q '"threads": 1' "$T/ref/points/$P2/point.json" && ok || bad "point.json does not record 1 thread"
grep -q '"threads": 1' "$T/ref/points/$P2/report.json" && ok || bad "the point's run did not use 1 thread"
# a point is exactly `frtui run` with the same flags (and thread count)
FRTUI_THREADS=1 "$BIN" run "$M" --method flexround --bits 3 --seed 1 --iters 200 --json "$T/direct.json" -q >/dev/null 2>"$T/err"
same_results "$T/direct.json" "$T/ref/points/$P2/report.json" && ok || bad "a sweep point differs from the same frtui run"
# re-running a finished sweep runs nothing
"$BIN" sweep "$M" -o "$T/ref" $GRID >"$T/again.out" 2>&1
grep -q '0 done (0 resumed), 4 skipped as finished, 0 failed' "$T/again.out" && ok || bad "finished sweep re-ran: $(tail -1 "$T/again.out")"

# 2. kill -9 while point 2 runs (points 0 and 1 have their reports, point 2 its first checkpoint)
K=$T/kill
"$BIN" sweep "$M" -o "$K" $GRID --jobs 1 -q >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -f "$K/points/$P2/run.frc" ] && [ $i -lt 1200 ]; do sleep 0.02; i=$((i + 1)); done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
[ -f "$K/points/$P2/run.frc" ] && ok || bad "point 2 wrote no checkpoint within 24 s"
[ ! -f "$K/points/$P2/report.json" ] && ok || bad "point 2 finished before the kill (machine too slow or too fast?)"
# the runs die with the sweep (PR_SET_PDEATHSIG): no orphan keeps writing the point
i=0
while ps -eo args | grep -F "$K/points" | grep -qv grep && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
ps -eo args | grep -F "$K/points" | grep -qv grep && bad "a run of the killed sweep is still running" || ok
for p in $POINTS; do ls -li "$K/points/$p/report.json" 2>/dev/null; done >"$T/before.ls"
# re-run with another --threads: finished points untouched, point 2 resumed with its recorded 1
# thread, point 3 new with 2
"$BIN" sweep "$M" -o "$K" $GRID --jobs 1 --threads 2 >"$T/rerun.out" 2>"$T/err" && ok || bad "re-run: $(cat "$T/err")"
grep -q "point 2 $P2: done, resumed from its checkpoint" "$T/rerun.out" && ok || bad "point 2 was not resumed: $(cat "$T/rerun.out")"
grep -q '1 done (1 resumed), 2 skipped as finished\|2 done (1 resumed), 2 skipped as finished' "$T/rerun.out" && ok ||
    bad "re-run did not skip the two finished points: $(tail -1 "$T/rerun.out")"
for p in $POINTS; do ls -li "$K/points/$p/report.json" 2>/dev/null; done | head -n 2 >"$T/after.ls"
head -n 2 "$T/before.ls" | cmp -s - "$T/after.ls" && ok || bad "finished points' reports were rewritten"
for p in $POINTS; do
    [ "$p" = "$P3" ] && continue
    same_results "$T/ref/points/$p/report.json" "$K/points/$p/report.json" && ok || bad "$p: results differ after kill -9 + resume"
done
grep -q '"threads": 1' "$K/points/$P2/report.json" && ok || bad "resumed point did not keep its 1 thread"
grep -q '"threads": 2' "$K/points/$P3/report.json" && ok || bad "new point did not take --threads 2"

# 3. Slurm: the emitted array script, run task by task as Slurm would
S=$T/slurm
"$BIN" sweep "$M" -o "$S" $GRID --emit-slurm "$T/job.sh" >"$T/emit.out" 2>"$T/err" && ok || bad "--emit-slurm: $(cat "$T/err")"
range=$(sed -n 's/^#SBATCH --array=\([0-9]*\)-\([0-9]*\)$/\1 \2/p' "$T/job.sh")
set -- $range
[ "$1" = 0 ] && [ "$2" = 3 ] && ok || bad "array range '$range', want 0-3"
[ ! -d "$S/points" ] || [ -z "$(ls -A "$S/points")" ] && ok || bad "--emit-slurm ran points"
# all tasks at once, as an array on free nodes would start them (they share sweep.json)
k=${1:-0}
while [ "$k" -le "${2:--1}" ]; do
    SLURM_ARRAY_TASK_ID=$k sh "$T/job.sh" >"$T/task$k.out" 2>&1 &
    eval "tpid$k=\$!"
    k=$((k + 1))
done
k=${1:-0}
while [ "$k" -le "${2:--1}" ]; do
    eval "wait \$tpid$k" && ok || bad "array task $k: $(tail -2 "$T/task$k.out")"
    k=$((k + 1))
done
for p in $POINTS; do
    same_results "$T/ref/points/$p/report.json" "$S/points/$p/report.json" && ok || bad "$p: the Slurm task's report differs from the local sweep's"
done
sh "$T/job.sh" >/dev/null 2>&1 && bad "the script ran outside an array task" || ok
# `sh job.sh --submit` with a stand-in sbatch: the array, then the merge step after it, whose
# --wrap command really writes the report of the Slurm folder
mkdir -p "$T/bin"
printf '#!/bin/sh\nprintf "%%s|" "$@" >>"%s/sbatch.log"; echo >>"%s/sbatch.log"\necho "4242;cluster"\n' "$T" "$T" >"$T/bin/sbatch"
chmod +x "$T/bin/sbatch"
PATH="$T/bin:$PATH" sh "$T/job.sh" --submit >/dev/null 2>"$T/err" && ok || bad "--submit: $(cat "$T/err")"
sed -n 1p "$T/sbatch.log" | grep -q "^--parsable|$T/job.sh|$" && ok || bad "--submit: array call: $(sed -n 1p "$T/sbatch.log")"
sed -n 2p "$T/sbatch.log" | grep -q -- "--dependency=afterany:4242|" && ok || bad "--submit: merge call: $(sed -n 2p "$T/sbatch.log")"
wrap=$(sed -n 2p "$T/sbatch.log" | tr '|' '\n' | sed -n '/^--wrap$/{n;p;}')
sh -c "$wrap" >/dev/null 2>&1 && [ -s "$S/sweep-report.csv" ] && ok || bad "the merge step '$wrap' wrote no report"
# a task whose command line no longer matches the recorded grid refuses (K would be another point)
"$BIN" sweep "$M" -o "$S" --methods flexround --bits 3 --seeds 1,2 --iters 200 --point 0 >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'sweep.json' "$T/err" && ok || bad "changed grid with --point: exit $rc $(cat "$T/err")"
# without --point, SLURM_ARRAY_TASK_ID picks the point
SLURM_ARRAY_TASK_ID=1 "$BIN" sweep "$M" -o "$T/env" $GRID >/dev/null 2>&1
[ "$(ls "$T"/env/points/*/report.json 2>/dev/null | wc -l)" = 1 ] && [ -s "$T/env/points/mlp-fmnist_rtn_W3_tensor_lrdef_it200_s2/report.json" ] &&
    ok || bad "SLURM_ARRAY_TASK_ID=1 did not run exactly point 1"

# 4. the report (the merge step): table and plots, the same table from both ways of running
"$BIN" sweep-report "$T/ref" >"$T/rep.out" 2>"$T/err" && ok || bad "sweep-report: $(cat "$T/err")"
"$BIN" sweep-report "$S" >/dev/null 2>&1 || bad "sweep-report of the Slurm folder"
[ "$(wc -l <"$T/ref/sweep-report.csv")" = 5 ] && ok || bad "sweep-report.csv: want a header and 4 rows"
grep -q '^mlp-fmnist_flexround_W3_tensor_lrdef_it200_s1,mlp-fmnist,flexround,3,0,tensor,def,200,1,1,done,0\.' "$T/ref/sweep-report.csv" &&
    ok || bad "sweep-report.csv row: $(sed -n 2p "$T/ref/sweep-report.csv")"
# elapsed_s is the last column: everything before it must agree
sed 's/,[^,]*$//' "$T/ref/sweep-report.csv" >"$T/a.csv"; sed 's/,[^,]*$//' "$S/sweep-report.csv" >"$T/b.csv"
cmp -s "$T/a.csv" "$T/b.csv" && ok || bad "local and Slurm sweep-report tables differ"
grep -q '"n_points": 4' "$T/ref/sweep-report.json" && ok || bad "sweep-report.json"
for f in mlp-fmnist_tensor_lrdef_it200.top1.png mlp-fmnist_tensor_lrdef_it200.aggressive.png; do
    [ "$(head -c 4 "$T/ref/plots/$f" 2>/dev/null | tail -c 3)" = PNG ] && ok || bad "plot $f missing"
done

# a point whose run fails: the others still run, the sweep exits 1, run.txt says why
"$BIN" sweep "$M" -o "$T/fail" --methods rtn --bits 3,4 -- --unit nosuch >"$T/f.out" 2>"$T/f.err"; rc=$?
[ $rc = 1 ] && [ "$(grep -c 'FAILED: exit 2: .*nosuch' "$T/f.err")" = 2 ] && grep -q "unit 'nosuch' does not exist" \
    "$T/fail/points/mlp-fmnist_rtn_W3_tensor_lrdef_itdef_sdef/run.txt" && ok || bad "failing points: exit $rc $(cat "$T/f.err")"

# the same grid from a spec file: the same points in the same order
printf '# the test grid\nmethods = rtn, flexround\nbits = 3\nseeds = 1..2\niters = 200\n' >"$T/g.spec"
"$BIN" sweep "$M" --spec "$T/g.spec" --list >"$T/spec.list" 2>&1 && "$BIN" sweep "$M" $GRID --list >"$T/flags.list" 2>&1 &&
    cmp -s "$T/spec.list" "$T/flags.list" && [ "$(wc -l <"$T/spec.list")" = 4 ] && ok || bad "spec file grid differs from flags: $(cat "$T/spec.list")"

# 5. refusals: exit 2, one line naming the flag or file, nothing written
printf 'bits = 3\ncolour = red\n' >"$T/bad.spec"
printf 'methods = rtn\nmethods = flexround\n' >"$T/twice.spec"
O=$T/out/s
fr_refused "bits out of range" "--bits" "$BIN" sweep "$M" -o "$O" --bits 2..9
fr_refused "unknown method" "--method" "$BIN" sweep "$M" -o "$O" --methods rtn,gptq
fr_refused "bad grain" "--grain" "$BIN" sweep "$M" -o "$O" --grain group100
fr_refused "value twice" "twice" "$BIN" sweep "$M" -o "$O" --seeds 1,1
fr_refused "unknown spec key" "bad.spec:2: colour" "$BIN" sweep "$M" -o "$O" --spec "$T/bad.spec"
fr_refused "spec key twice" "twice.spec:2" "$BIN" sweep "$M" -o "$O" --spec "$T/twice.spec"
fr_refused "missing spec" "nothere.spec" "$BIN" sweep "$M" -o "$O" --spec "$T/nothere.spec"
fr_refused "no model" "no model" "$BIN" sweep -o "$O" --bits 4
fr_refused "not a bundle" "bad.spec" "$BIN" sweep "$T/bad.spec" -o "$O"
fr_refused "no output" "-o DIR" "$BIN" sweep "$M"
fr_refused "grid flag as run option" "--bits" "$BIN" sweep "$M" -o "$O" -- --bits 4
fr_refused "bad run option" "--batch" "$BIN" sweep "$M" -o "$O" -- --batch many
fr_refused "point out of range" "--point" "$BIN" sweep "$M" -o "$O" --point 7
fr_refused "bad task id" "SLURM_ARRAY_TASK_ID" env SLURM_ARRAY_TASK_ID=x "$BIN" sweep "$M" -o "$O"
fr_refused "jobs 0" "--jobs" "$BIN" sweep "$M" -o "$O" --jobs 0
fr_refused "bad cadence" "--checkpoint-every" "$BIN" sweep "$M" -o "$O" --checkpoint-every soon
fr_refused "unwritable script" "job.sh" "$BIN" sweep "$M" -o "$O" --emit-slurm "$T/out/no/such/job.sh"
fr_refused "report of no sweep" "nosweep" "$BIN" sweep-report "$T/out/nosweep"
fr_refused "output folder in a missing folder" "/nonexistent/sw" "$BIN" sweep "$M" -o /nonexistent/sw
fr_t_done
