/* bench_dp.c — `frtui-dev bench-dp`: the speed of one unit's iterations when the mini-batch is
 * split over MPI ranks (data parallel inside a unit, dp.h; `make bench-dp` runs it under mpirun at
 * 1, 2 and 4 ranks).
 *
 * Design note
 *   What is timed is fr_recon_step, the production path, including the gather of the partial
 *   gradients; the units before the measured one are passed through with RTN (begin/end), as
 *   `frtui-dev bench` does.  A timed run starts after a barrier, and its time is the slowest
 *   rank's (fr_dp_max_d): the ranks move in lock step, so that is the job's pace.  The figure is
 *   the median over runs, with the exchange's share (fr_dp_comm_seconds of the rank that waited
 *   least: the others' extra is waiting for it) and the load average, since these 2-core
 *   machines are shared; and the compute CPU per iteration of the busiest rank (thread CPU time
 *   outside the exchanges), which others' load does not inflate: with one compute thread it
 *   shows how the work divides when the wall clock cannot (a loaded machine).  Nothing is
 *   asserted.  Every rank computes; rank 0 prints and writes
 *   --json.  Without a launcher this is the single process (ranks 1), so the same command gives
 *   the plain baseline.
 *   Threads: the engine runs on this (the main) thread, which initialised MPI.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/blas.h"
#include "frtui/bench.h"
#include "frtui/cli.h"
#include "frtui/devtools.h"
#include "frtui/dp.h"
#include "frtui/opt.h"
#include "frtui/recon.h"
#include "frtui/sb.h"

#define BENCH_DP_RUNS_MAX 64

static double load1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) { if (fscanf(f, "%lf", &l) != 1) l = -1; fclose(f); }
    return l;
}

static int bench(const char *file, const char *unit, int iters, int runs, int batch, int replicate, const char *json, int rank,
                 int size)
{
    fr_model m;
    int st = fr_cli_load(file, &m);
    if (st) return fr_cli_exit_code(st);
    fr_err e;
    fr_err_clear(&e);
    fr_run_config c;
    fr_run_config_preset(&c, "teaching", &e);
    c.method = FR_METHOD_RTN;   /* the predecessors; the measured unit switches to FlexRound */
    c.bits = 4;
    c.seed = 1;
    if (batch > 0) c.batch = batch;
    c.dp_replicate = replicate;
    c.threads = fr_blas_threads();
    fr_recon *r = fr_recon_new(&m, &c, &e);
    if (!r) {
        if (rank == 0) fprintf(stderr, "frtui-dev bench-dp: %s: %s\n", file, e.msg);
        fr_model_free(&m);
        return 2;
    }
    const fr_partition *p = fr_recon_partition(r);
    int k = -1;
    for (int j = 0; j < p->n; j++)
        if (unit ? strcmp(p->units[j].name, unit) == 0 : p->units[j].n_layers > 0 && (k < 0 || p->units[j].n_layers > p->units[k].n_layers)) {
            k = j;
            if (unit) break;
        }
    int rc = 0;
    if (k < 0) {
        if (rank == 0) fprintf(stderr, "frtui-dev bench-dp: %s: no unit named '%s' (see frtui info)\n", file, unit);
        rc = 2;
    }
    for (int j = 0; j < k && !rc; j++)
        if (fr_recon_begin(r, j, &e) || fr_recon_end(r, &e)) rc = 1;
    int warm = 3;
    double ms[BENCH_DP_RUNS_MAX], comm[BENCH_DP_RUNS_MAX], cpu[BENCH_DP_RUNS_MAX];
    int done = 0;
    /* begin: the unit's full passes (FP targets, RTN loss), which a sharded cache divides */
    double begin_s = 0;
    if (!rc) {
        fr_recon_set_method(r, FR_METHOD_FLEXROUND);
        fr_recon_set_iters(r, warm + iters * runs);
        fr_dp_barrier();
        double t0 = fr_now();
        if (fr_recon_begin(r, k, &e)) rc = 1;
        begin_s = fr_dp_max_d(fr_now() - t0);
    }
    for (int i = 0; i < warm && !rc; i++) rc = fr_recon_step(r) != FR_OK;
    for (int i = 0; i < runs && !rc; i++) {
        fr_dp_barrier();
        double t0 = fr_now(), c0 = fr_dp_comm_seconds(), u0 = fr_dp_thread_cpu() - fr_dp_comm_cpu_seconds();
        for (int j = 0; j < iters && !rc; j++) rc = fr_recon_step(r) != FR_OK;
        /* compute CPU of the busiest rank (one compute thread: this one does all the work) */
        cpu[done] = fr_dp_max_d((fr_dp_thread_cpu() - fr_dp_comm_cpu_seconds() - u0) * 1e3 / iters);
        /* the least over the ranks: the slowest rank hardly waits, so this is the exchange itself */
        comm[done] = -fr_dp_max_d(-(fr_dp_comm_seconds() - c0) * 1e3 / iters);
        ms[done++] = fr_dp_max_d((fr_now() - t0) * 1e3 / iters);
    }
    if (rc == 1 && rank == 0) fprintf(stderr, "frtui-dev bench-dp: %s: %s\n", file, e.msg[0] ? e.msg : fr_recon_error(r));
    if (!rc && rank == 0) {
        double lo = ms[0], hi = ms[0];
        for (int i = 1; i < done; i++) { lo = fmin(lo, ms[i]); hi = fmax(hi, ms[i]); }
        double med = fr_bench_median(ms, done), cmed = fr_bench_median(comm, done), umed = fr_bench_median(cpu, done);
        const fr_run_config *rc_ = fr_recon_config(r);
        const char *cache = size < 2 ? "whole" : replicate ? "replicate" : "shard";
        printf("bench-dp: %s unit %s, batch %d, %d rank(s) x %d thread(s), cache %s: %.2f ms/iteration (median of %d runs "
               "of %d; %.2f..%.2f), exchange %.2f ms/iteration, compute CPU %.2f ms/iteration%s; unit begin %.3f s\n",
               m.meta.name, p->units[k].name, rc_->batch, size, fr_blas_threads(), cache, med, done, iters, lo, hi, cmed, umed,
               fr_blas_threads() > 1 ? " (this thread's only)" : "", begin_s);
        if (json) {
            FILE *f = fopen(json, "w");
            if (!f) { fprintf(stderr, "frtui-dev bench-dp: %s: cannot write\n", json); rc = 2; }
            else {
                fprintf(f, "{\"model\": ");
                fr_fput_json_str(f, m.meta.name);
                fprintf(f, ", \"unit\": ");
                fr_fput_json_str(f, p->units[k].name);
                fprintf(f, ", \"batch\": %d, \"ranks\": %d, \"threads\": %d, \"cache\": \"%s\", \"median_ms\": %.4f, "
                        "\"min_ms\": %.4f, \"max_ms\": %.4f, \"exchange_ms\": %.4f, \"compute_cpu_ms\": %.4f, \"begin_s\": %.4f, "
                        "\"runs\": %d, \"iters_per_run\": %d, \"load_avg\": %.2f}\n",
                        rc_->batch, size, fr_blas_threads(), cache, med, lo, hi, cmed, umed, begin_s, done, iters, load1());
                fclose(f);
            }
        }
    }
    fr_recon_free(r);
    fr_model_free(&m);
    return rc;
}

int fr_dev_bench_dp(int argc, char **argv)
{
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: [mpirun -n K] frtui-dev bench-dp [FILE.frm] [--unit NAME] [--iters N] [--runs N] [--batch N]\n"
               "                      [--dp-cache shard|replicate] [--json FILE]\n"
               "  ms per FlexRound iteration of one unit (default: samples/resnet-fmnist.frm, its unit with the\n"
               "  most layers), the mini-batch split over the MPI ranks (build/mpi/frtui-dev; make bench-dp)\n");
        return 0;
    }
    const char *file = NULL, *unit = NULL, *json = NULL;
    int iters = 10, runs = 5, batch = 0, replicate = 0;
    fr_opt t[] = {
        {.name = "--unit", .kind = FR_OPT_STR, .dst = &unit},
        {.name = "--json", .kind = FR_OPT_STR, .dst = &json},
        {.name = "--iters", .kind = FR_OPT_INT, .dst = &iters, .lo = 1, .hi = 1000000},
        {.name = "--runs", .kind = FR_OPT_INT, .dst = &runs, .lo = 1, .hi = BENCH_DP_RUNS_MAX},
        {.name = "--batch", .kind = FR_OPT_INT, .dst = &batch, .lo = 1, .hi = 1000000},
        {.name = "--dp-cache", .kind = FR_OPT_CHOICE, .dst = &replicate, .choices = "shard|replicate"},
        {.name = NULL},
    };
    int rank, size;
    fr_err e;
    fr_err_clear(&e);
    int a = fr_dp_init(&rank, &size, &e);
    int rc = 0;
    if (a < 0) rc = 2;
    else if (fr_opt_parse(t, argc, argv, &file, 1, NULL, &e)) rc = 2;
    if (rc) {
        if (rank == 0) fprintf(stderr, "frtui-dev bench-dp: %s\n", e.msg);
    } else {
        rc = bench(file ? file : "samples/resnet-fmnist.frm", unit, iters, runs, batch, replicate, json, rank, size);
    }
    fr_dp_finalize(rc, rc != 1);   /* a step failure may be one rank's */
    return rc;
}
