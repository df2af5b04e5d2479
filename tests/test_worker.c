/* test_worker.c — the worker's interactive commands on a small MLP (784-256-128-10, three
 * units): restart re-runs the selected unit and every later one with the chosen settings
 * (issue 13 §1), the compare computation publishes progress and stops on quit after a counted
 * number of iterations (13 §4), and `s` while paused or just before quit writes the checkpoint
 * (14 §11), and the memory plan and the resident memory reach the inspector live (issue 19).
 * Also run under TSan (make SANITIZE=thread build/san-thread/tests/test_worker).
 *
 * No assertion depends on how fast the machine is: waits poll published snapshots for a
 * state, with a generous timeout that only turns a hang into a failure. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/ckpt.h"
#include "frtui/recon.h"
#include "frtui/train.h"
#include "frtui/view.h"
#include "frtui/worker.h"

#define HANG_GUARD_S 300.0

static void make_mlp(fr_model *m, int n_calib, int n_eval)
{
    fr_model_init(m);
    FR_ASSERT(fr_zoo_build(m, FR_ZOO_MLP, 5) == FR_OK);
    m->meta.n_classes = 10;
    fr_rng g;
    fr_rng_seed(&g, 77);
    fr_dataset *ds[2] = {&m->calib, &m->eval};
    int ns[2] = {n_calib, n_eval};
    for (int d = 0; d < 2; d++) {
        fr_dataset *D = ds[d];
        if (!ns[d]) continue;
        D->n = ns[d]; D->c = 1; D->h = 28; D->w = 28; D->dtype = 0;
        D->scale = 1.0f / 255; D->offset = 0;
        D->u8 = fr_xmalloc((size_t)D->n * 784);
        for (size_t p = 0; p < (size_t)D->n * 784; p++) D->u8[p] = (uint8_t)fr_rng_below(&g, 256);
        if (d == 1) {
            D->labels = fr_xmalloc((size_t)D->n * sizeof(int32_t));
            for (int s = 0; s < D->n; s++) D->labels[s] = (int32_t)fr_rng_below(&g, 10);
        }
    }
}

static fr_run_config cfg_of(fr_method m, int iters)
{
    fr_run_config c;
    FR_ASSERT(fr_run_config_preset(&c, "teaching", NULL) == FR_OK);
    c.method = m;
    c.iters = iters;
    c.batch = 8;
    c.threads = 1;
    return c;
}

typedef int (*pred_fn)(const fr_snapshot *s, const void *arg);

/* Polls snapshots until pred holds; 0 after the hang guard. */
static int wait_for(fr_worker *w, pred_fn pred, const void *arg)
{
    double t0 = fr_now();
    while (fr_now() - t0 < HANG_GUARD_S) {
        fr_snapshot *s = fr_worker_acquire(w);
        int ok = pred(s, arg);
        fr_snapshot_release(s);
        if (ok) return 1;
        usleep(2000);
    }
    return 0;
}

static int is_done(const fr_snapshot *s, const void *a) { (void)a; return s->status == FR_RUN_DONE; }
static int unit1_method(const fr_snapshot *s, const void *a)
{
    return s->status == FR_RUN_DONE && s->units[1]->method == *(const fr_method *)a;
}
static int unit_running(const fr_snapshot *s, const void *a)
{
    (void)a;
    return s->cur_unit >= 0 && s->units[s->cur_unit]->iter >= 5;
}

/* ---- memory (issue 19) ---------------------------------------------------------------------- */

static int rss_at_least(const fr_snapshot *s, const void *a) { return s->mem.rss >= *(const double *)a; }

static const char *text_line(const char *t, int y, char *buf, size_t n)
{
    for (int k = 0; k < y && t; k++) {
        t = strchr(t, '\n');
        if (t) t++;
    }
    size_t len = t ? strcspn(t, "\n") : 0;
    if (len >= n) len = n - 1;
    if (t) memcpy(buf, t, len);
    buf[len] = 0;
    return buf;
}

/* A running worker publishes the plan (budget, per-unit rows) and the RSS it reads at each
 * publication: 64 MB touched by this thread (the same process) show up in a later snapshot
 * while the run goes on.  The inspector's frame of such a snapshot has "mem RSS/budget" in the
 * header and the selected unit's plan in the status line. */
static void test_memory_published(void)
{
    fr_model m;
    make_mlp(&m, 64, 32);
    fr_run_config c = cfg_of(FR_METHOD_FLEXROUND, 1000000);   /* runs until freed */
    c.max_mem = (size_t)3 << 30;
    fr_err e;
    fr_worker *w = fr_worker_new(&m, &c, &e);
    FR_ASSERT(w);
    FR_CHECK(fr_worker_start(w, &e) == FR_OK);
    FR_CHECK(wait_for(w, unit_running, NULL));
    fr_snapshot *s = fr_worker_acquire(w);
    FR_CHECKF(s->mem.budget == (double)((size_t)3 << 30) && s->mem.rss > 0 && s->mem.rss <= s->mem.rss_peak &&
              !s->mem.spill, "budget %g rss %g peak %g spill %d", s->mem.budget, s->mem.rss, s->mem.rss_peak, s->mem.spill);
    FR_CHECK(s->mem_units != NULL);
    for (int k = 0; s->mem_units && k < s->n_units; k++)
        FR_CHECKF(s->mem_units[k].total > 0 && s->mem_units[k].batch == 64 && s->mem_units[k].mode == 0,
                  "unit %d: total %g batch %d mode %d", k, s->mem_units[k].total, s->mem_units[k].batch, s->mem_units[k].mode);
    char *buf = NULL, line[512];
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fr_dump_opts o = {0, 0, 0, NULL};
    FR_CHECK(fr_view_dump(s, &o, 200, 40, "", f, &e) == FR_OK);
    fclose(f);
    FR_CHECKF(strstr(text_line(buf, 0, line, sizeof line), " mem ") && strstr(line, "/3.0G "), "header: %s", line);
    FR_CHECKF(strstr(text_line(buf, 38, line, sizeof line), "plan: in memory, ") && strstr(line, "pass batch 64"),
              "status: %s", line);
    free(buf);
    /* live: what this process touches now is in a later publication */
    double want = s->mem.rss + 48.0 * 1048576;
    fr_snapshot_release(s);
    size_t big = (size_t)64 << 20;
    char *p = fr_xmalloc(big);
    memset(p, 1, big);
    FR_CHECKF(wait_for(w, rss_at_least, &want), "RSS never reached %.0f MB in a snapshot", want / 1048576);
    free(p);
    fr_worker_free(w);
    fr_model_free(&m);
}

/* ---- restart ------------------------------------------------------------------------------- */

/* After DONE: select unit 1, m (rtn), b (W3), r, y.  Unit 1 and unit 2 must run again. */
static void test_restart_after_done(void)
{
    fr_model m;
    make_mlp(&m, 64, 32);
    fr_run_config c = cfg_of(FR_METHOD_FLEXROUND, 40);
    fr_err e;
    fr_worker *w = fr_worker_new(&m, &c, &e);
    FR_ASSERT(w);
    FR_CHECK(fr_worker_start(w, &e) == FR_OK);
    FR_CHECK(wait_for(w, is_done, NULL));
    fr_snapshot *a = fr_worker_acquire(w);
    FR_CHECK(a->units[1]->method == FR_METHOD_FLEXROUND && a->units[1]->bits == 4 && a->units[1]->iter == 40);
    fr_worker_send(w, FR_CMD_SET_METHOD, FR_METHOD_RTN);
    fr_worker_send(w, FR_CMD_SET_BITS, 3);
    fr_worker_send(w, FR_CMD_RESTART_UNIT, 1);
    fr_method want = FR_METHOD_RTN;
    FR_CHECK(wait_for(w, unit1_method, &want));
    fr_snapshot *b = fr_worker_acquire(w);
    const fr_unit_view *u0 = b->units[0], *u1 = b->units[1], *u2 = b->units[2];
    FR_CHECKF(u1->method == FR_METHOD_RTN && u1->bits == 3 && u1->status == FR_UNIT_DONE, "unit 1: %s W%d status %d",
              fr_method_name(u1->method), u1->bits, u1->status);
    FR_CHECKF(u1->loss_after != a->units[1]->loss_after, "unit 1 loss unchanged: %g", u1->loss_after);
    /* RTN: the loss after is the RTN loss of the new grid (3 bits: worse than FlexRound W4). */
    FR_CHECK(u1->loss_after == u1->loss_rtn && u1->loss_after > a->units[1]->loss_after);
    /* The later unit re-ran on the new inputs (its last layer keeps first_last_bits = 8). */
    FR_CHECKF(u2->method == FR_METHOD_RTN && u2->status == FR_UNIT_DONE && u2->loss_rtn != a->units[2]->loss_rtn,
              "unit 2: %s status %d loss_rtn %g -> %g", fr_method_name(u2->method), u2->status, a->units[2]->loss_rtn,
              u2->loss_rtn);
    /* The earlier unit is untouched. */
    FR_CHECK(u0->method == FR_METHOD_FLEXROUND && u0->loss_after == a->units[0]->loss_after);
    FR_CHECK(b->acc_q >= 0);
    fr_snapshot_release(a);
    fr_snapshot_release(b);
    fr_worker_free(w);
    fr_model_free(&m);
}

/* During a run: m m (adaround), i (20 it), r, y on the running unit.  It must not be cut off
 * and marked done: it and the later units run, completely, with the new settings. */
static void test_restart_running_unit(void)
{
    fr_model m;
    make_mlp(&m, 64, 32);
    fr_run_config c = cfg_of(FR_METHOD_FLEXROUND, 1000000);
    fr_err e;
    fr_worker *w = fr_worker_new(&m, &c, &e);
    FR_ASSERT(w);
    FR_CHECK(fr_worker_start(w, &e) == FR_OK);
    FR_CHECK(wait_for(w, unit_running, NULL));
    fr_worker_send(w, FR_CMD_SET_METHOD, FR_METHOD_ADAROUND);
    fr_worker_send(w, FR_CMD_SET_ITERS, 20);
    fr_worker_send(w, FR_CMD_RESTART_UNIT, 0);
    fr_method want = FR_METHOD_ADAROUND;
    FR_CHECK(wait_for(w, unit1_method, &want));
    fr_snapshot *s = fr_worker_acquire(w);
    for (int k = 0; k < 3; k++) {
        const fr_unit_view *u = s->units[k];
        FR_CHECKF(u->method == FR_METHOD_ADAROUND && u->iters == 20 && u->iter == 20 && u->n_loss == 20 &&
                      u->status == FR_UNIT_DONE,
                  "unit %d: %s %d/%d it, %d losses, status %d", k, fr_method_name(u->method), u->iter, u->iters,
                  u->n_loss, u->status);
    }
    fr_snapshot_release(s);
    fr_worker_free(w);
    fr_model_free(&m);
}

/* Engine level: a restart with unchanged settings reproduces the unit's results bit for bit,
 * with all caches kept and when k's inputs had been released (max_cache_mb) and must be
 * rebuilt by replaying the earlier units (with activation quantization, whose quantizers of
 * the restarted units are re-initialised). */
static void run_all(fr_recon *r, int from)
{
    fr_err e;
    for (int k = from; k < fr_recon_n_run(r); k++) {
        FR_ASSERT(fr_recon_begin(r, k, &e) == FR_OK);
        while (fr_recon_iter(r) < fr_recon_iters(r) && fr_recon_step(r) == FR_OK) {}
        FR_ASSERT(fr_recon_end(r, &e) == FR_OK);
    }
}

static int same_results(const fr_recon *r, int k, int32_t **codes, size_t *n)
{
    int nl;
    const fr_layer_result *R = fr_recon_results(r, k, &nl);
    if (!codes[k]) {
        n[k] = (size_t)R[0].n;
        codes[k] = fr_xmalloc(n[k] * sizeof(int32_t));
        memcpy(codes[k], R[0].code, n[k] * sizeof(int32_t));
        return 1;
    }
    return n[k] == (size_t)R[0].n && memcmp(codes[k], R[0].code, n[k] * sizeof(int32_t)) == 0;
}

static void test_restart_reproduces(void)
{
    for (int limited = 0; limited < 2; limited++) {
        fr_model m;
        /* 150 samples: 1.34 MB of stores in all, 0.9 MB at peak; --max-cache-mb 1 then drops
         * fc1's output after unit 1, so restarting unit 1 or 2 must replay unit 0. */
        make_mlp(&m, 150, 0);
        fr_run_config c = cfg_of(FR_METHOD_FLEXROUND, 25);
        c.max_cache_mb = limited ? 1 : 0;
        c.act_bits = limited ? 4 : 0;   /* the replay also goes through the activation quantizers */
        fr_err e;
        fr_recon *r = fr_recon_new(&m, &c, &e);
        FR_ASSERT(r);
        run_all(r, 0);
        int32_t *codes[3] = {0};
        size_t n[3];
        double loss[3];
        for (int k = 0; k < 3; k++) {
            same_results(r, k, codes, n);
            fr_unit_view *v = fr_recon_view(r, k);
            loss[k] = v->loss_after;
            fr_unit_view_release(v);
        }
        if (limited) {
            fr_unit_view *v = NULL;
            FR_CHECKF(fr_recon_compare(r, 1, FR_METHOD_RTN, &v, &e) == FR_EINPUT && strstr(e.msg, "released"),
                      "the limited run keeps every cache (%s): the replay path is not tested", e.msg);
        }
        for (int k = 2; k >= 1; k--) {
            FR_CHECKF(fr_recon_reset_from(r, k, &e) == FR_OK, "%s", e.msg);
            FR_CHECK(!fr_recon_done(r, k) && fr_recon_done(r, k - 1));
            run_all(r, k);
            for (int j = 0; j < 3; j++) {
                fr_unit_view *v = fr_recon_view(r, j);
                FR_CHECKF(same_results(r, j, codes, n) && v->loss_after == loss[j],
                          "limited %d, restart %d: unit %d differs (loss %.9g vs %.9g)", limited, k, j, v->loss_after,
                          loss[j]);
                fr_unit_view_release(v);
            }
        }
        /* Restarting the running unit abandons it; the rerun matches too. */
        FR_CHECK(fr_recon_reset_from(r, 1, &e) == FR_OK);
        FR_ASSERT(fr_recon_begin(r, 1, &e) == FR_OK);
        for (int i = 0; i < 7; i++) fr_recon_step(r);
        FR_CHECK(fr_recon_reset_from(r, 1, &e) == FR_OK && fr_recon_current(r) == -1);
        run_all(r, 1);
        for (int j = 0; j < 3; j++) FR_CHECK(same_results(r, j, codes, n));
        for (int k = 0; k < 3; k++) free(codes[k]);
        fr_recon_free(r);
        fr_model_free(&m);
    }
}

/* ---- compare: progress and cancellation ------------------------------------------------------ */

typedef struct tick_count { int calls, stop_at, last_iter; } tick_count;

static int count_tick(void *ctx, fr_method m, int iter, int iters)
{
    (void)m; (void)iters;
    tick_count *t = ctx;
    t->calls++;
    t->last_iter = iter;
    return t->stop_at >= 0 && iter >= t->stop_at;
}

static void test_compare_cancel_counted(void)
{
    fr_model m;
    make_mlp(&m, 64, 0);
    fr_run_config c = cfg_of(FR_METHOD_FLEXROUND, 30);
    fr_err e;
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_ASSERT(r);
    run_all(r, 0);
    int32_t *codes[3] = {0};
    size_t n[3];
    same_results(r, 1, codes, n);
    fr_recon_set_iters(r, 1000000);
    tick_count t = {0, 3, 0};
    fr_recon_set_tick(r, count_tick, &t);
    fr_unit_view *v = NULL;
    int rc = fr_recon_compare(r, 1, FR_METHOD_ADAROUND, &v, &e);
    /* One call before the unit begins (iter -1), then one per iteration: 1, 2, 3 -> stop. */
    FR_CHECKF(rc == FR_ECANCEL && v == NULL && t.calls == 4 && t.last_iter == 3, "rc %d, %d calls, last iter %d", rc,
              t.calls, t.last_iter);
    FR_CHECK(fr_recon_current(r) == -1 && fr_recon_done(r, 1) && same_results(r, 1, codes, n));
    /* Not cancelled: the hook sees iter -1 and every iteration, and the compare completes. */
    t = (tick_count){0, -1, 0};
    fr_recon_set_tick(r, count_tick, &t);
    fr_recon_set_iters(r, 12);
    rc = fr_recon_compare(r, 1, FR_METHOD_ADAROUND, &v, &e);
    FR_CHECKF(rc == FR_OK && v && v->method == FR_METHOD_ADAROUND && t.calls == 13, "rc %d calls %d", rc, t.calls);
    fr_unit_view_release(v);
    FR_CHECK(same_results(r, 1, codes, n));
    free(codes[1]);
    fr_recon_free(r);
    fr_model_free(&m);
}

static int comparing(const fr_snapshot *s, const void *a)
{
    (void)a;
    return s->cmp.unit == 1 && s->cmp.iter >= 1 && s->cmp.iters == 10000000 && s->cmp.run_waits &&
           s->cmp.it_per_s > 0 && strstr(s->message, "comparing");
}
static int newer_while_comparing(const fr_snapshot *s, const void *a)
{
    const fr_snapshot *old = a;
    return s->cmp.unit == 1 && s->gen > old->gen && s->elapsed_s > old->elapsed_s && s->cmp.iter > old->cmp.iter;
}
static int cancelled(const fr_snapshot *s, const void *a) { (void)a; return strstr(s->message, "cancelled") != NULL; }

/* `c` on a finished unit with 10^7 iterations per method, then quit: the compare publishes
 * its progress (the header stays live) and stops at the cancel flag. */
static void test_compare_progress_and_quit(void)
{
    fr_model m;
    make_mlp(&m, 64, 16);
    fr_run_config c = cfg_of(FR_METHOD_FLEXROUND, 20);
    fr_err e;
    fr_worker *w = fr_worker_new(&m, &c, &e);
    FR_ASSERT(w);
    FR_CHECK(fr_worker_start(w, &e) == FR_OK);
    FR_CHECK(wait_for(w, is_done, NULL));
    fr_worker_send(w, FR_CMD_SET_ITERS, 10000000);
    fr_worker_send(w, FR_CMD_COMPARE_UNIT, 1);
    FR_CHECK(wait_for(w, comparing, NULL));
    fr_snapshot *a = fr_worker_acquire(w);
    FR_CHECKF(a->cmp.eta_s > 0 && a->eta_s >= a->cmp.eta_s, "compare ETA %g, run ETA %g", a->cmp.eta_s, a->eta_s);
    FR_CHECK(wait_for(w, newer_while_comparing, a));
    fr_snapshot_release(a);
    fr_worker_send(w, FR_CMD_QUIT, 0);
    FR_CHECK(wait_for(w, cancelled, NULL));
    fr_snapshot *s = fr_worker_acquire(w);
    int at = -1, of = -1;
    const char *p = strstr(s->message, "at iteration");
    if (p) sscanf(p, "at iteration %d of %d", &at, &of);
    FR_CHECKF(of == 10000000 && at >= 1 && at < of && s->cmp.unit == -1, "message '%s'", s->message);
    fr_snapshot_release(s);
    fr_worker_join(w);
    fr_worker_free(w);
    fr_model_free(&m);
}

/* ---- checkpoints on request ------------------------------------------------------------------ */

static int paused_in_unit(const fr_snapshot *s, const void *a)
{
    (void)a;
    return s->status == FR_RUN_PAUSED && s->cur_unit >= 0 && s->units[s->cur_unit]->iter >= 3;
}
static int ckpt_written(fr_worker *w)
{
    double t0 = fr_now();
    char msg[600];
    int rc;
    while (fr_now() - t0 < HANG_GUARD_S) {
        fr_worker_checkpoint_status(w, msg, sizeof msg, &rc);
        if (msg[0]) return rc == 0;
        usleep(2000);
    }
    return 0;
}

static void test_checkpoint_while_paused(void)
{
    fr_model m;
    make_mlp(&m, 64, 0);
    fr_run_config c = cfg_of(FR_METHOD_FLEXROUND, 1000000);
    char dir[256], p1[300], p2[300];
    snprintf(dir, sizeof dir, "%s/test_worker.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    mkdir(dir, 0700);
    snprintf(p1, sizeof p1, "%s/paused.frc", dir);
    snprintf(p2, sizeof p2, "%s/quit.frc", dir);
    fr_err e;
    /* `s` while paused: written at once, and it holds the paused state. */
    fr_worker *w = fr_worker_new(&m, &c, &e);
    FR_ASSERT(w);
    fr_worker_set_checkpoint(w, p1, "mlp.frm", -1, 0);
    FR_CHECK(fr_worker_start(w, &e) == FR_OK);
    FR_CHECK(wait_for(w, unit_running, NULL));
    fr_worker_send(w, FR_CMD_PAUSE, 0);
    FR_CHECK(wait_for(w, paused_in_unit, NULL));
    fr_snapshot *s = fr_worker_acquire(w);
    int unit = s->cur_unit, iter = s->cur_unit >= 0 ? s->units[s->cur_unit]->iter : -1;
    fr_snapshot_release(s);
    fr_worker_send(w, FR_CMD_CHECKPOINT, 0);
    FR_CHECK(ckpt_written(w));
    fr_ckpt ck;
    int rc = fr_ckpt_load(p1, &ck, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc == FR_OK) {
        FR_CHECKF(ck.cur_unit == unit && ck.iter == iter && ck.units[unit].n_loss == iter,
                  "checkpoint unit %d iter %d, paused at unit %d iter %d", ck.cur_unit, ck.iter, unit, iter);
        fr_ckpt_free(&ck);
    }
    fr_worker_free(w);
    /* `s` then quit at once: the request is honoured before the worker ends. */
    w = fr_worker_new(&m, &c, &e);
    FR_ASSERT(w);
    fr_worker_set_checkpoint(w, p2, "mlp.frm", -1, 0);
    FR_CHECK(fr_worker_start(w, &e) == FR_OK);
    fr_worker_send(w, FR_CMD_CHECKPOINT, 0);
    fr_worker_send(w, FR_CMD_QUIT, 0);
    fr_worker_free(w);
    rc = fr_ckpt_load(p2, &ck, &e);
    FR_CHECKF(rc == FR_OK, "s then quit: %s", e.msg);
    if (rc == FR_OK) fr_ckpt_free(&ck);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    fr_model_free(&m);
}

int main(void)
{
    FR_RUN(test_restart_reproduces);
    FR_RUN(test_memory_published);
    FR_RUN(test_restart_after_done);
    FR_RUN(test_restart_running_unit);
    FR_RUN(test_compare_cancel_counted);
    FR_RUN(test_compare_progress_and_quit);
    FR_RUN(test_checkpoint_while_paused);
    return FR_REPORT();
}
