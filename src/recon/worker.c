/* worker.c — the reconstruction thread, its command queue and snapshot publication.
 *
 * DESIGN (threading contract; see also include/frtui/worker.h)
 *   Ownership: the worker thread owns the fr_recon engine and everything in it.  No other
 *   thread touches the engine, ever.
 *   Shared state, all under `mu`:
 *     - the command ring (bounded, 64 slots; when full the oldest droppable command goes),
 *     - `cur`, the latest published snapshot (immutable; readers retain it),
 *     - `finished` (run over), signalled on `done_cv`.
 *   `cancel` is atomic and read every iteration without the lock.
 *   Publication: the worker builds a new snapshot *outside* the lock (views of finished units
 *   are shared, the running unit's view is new), then swaps the pointer under the lock and
 *   releases the old one, so the lock is held for a pointer swap only.  It then writes one
 *   byte to a non-blocking self-pipe so a UI blocked in poll() wakes up.
 *   Pause: the worker waits on `cmd_cv` with a 100 ms timeout while paused, so commands and
 *   cancellation are observed promptly; it never waits on a reader.
 *   Signals: the worker blocks all asynchronous signals so handlers run on the UI thread.
 */
#include "frtui/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frtui/spill.h"
#include "frtui/blas.h"
#include "frtui/ckpt.h"
#include "frtui/dp.h"
#include "frtui/recon_ckpt.h"
#include "frtui/frm.h"
#include "frtui/fidelity.h"
#include "frtui/recon.h"

#define QCAP 64

struct fr_worker {
    const fr_model *m;
    fr_run_config cfg;
    fr_recon *r;
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cmd_cv, done_cv;
    fr_cmd q[QCAP];
    int qhead, qlen;
    fr_snapshot *cur;
    int finished;
    atomic_int cancel;
    int pipefd[2];
    /* worker-private */
    fr_run_status status;
    int paused, step_until_unit_end, step_mode;
    int restart_from;
    int compare_req;        /* unit whose compare waits for the running unit to end, or -1 */
    fr_compare_progress cmp;   /* the compare being computed (cmp.unit = -1: none) */
    double cmp_t0;
    fr_unit_view *cmp_view; /* the compared unit as it really is (the engine's copy is swapped out) */
    long cmp_it;            /* compare iterations done so far (all methods) */
    double t0, last_pub, rate;
    double pub_cost;        /* seconds the last publication took (views are copied) */
    long it_at_last_pub;
    long it_total;
    char msg[768];
    double acc_fp, acc_q;
    fr_fid_view fid;        /* n == 0 until measured */
    uint64_t gen;
    /* checkpoints (ckpt.h): capture here, compress + write in the writer's thread */
    char ckpt_path[4096], bundle_path[4096];
    int ckpt_request_only;   /* path set only for the `s` key: no automatic checkpoints */
    int ckpt_every_units, units_since_ckpt, ckpt_req;
    double ckpt_every_s, last_ckpt;
    uint64_t model_fp, calib_fp;
    fr_ckpt_writer *writer;
    char ckpt_msg[600];     /* under mu */
    int ckpt_rc;            /* under mu */
};

/* ---- publication ---------------------------------------------------------------------------- */

static void wake(fr_worker *w)
{
    char b = 1;
    ssize_t rc = write(w->pipefd[1], &b, 1);
    (void)rc;   /* EAGAIN: a wake-up is already pending, which is all we need */
}

/* The memory plan and what is held now (issue 19): two /proc reads per publication. */
static void mem_live(fr_recon *r, fr_snapshot *s)
{
    fr_mem_summary ms;
    const fr_mem_row *row = fr_recon_mem_plan(r, &ms);
    fr_mem_live *m = &s->mem;
    m->spill = ms.spill;
    m->eval_batch = ms.eval_batch;
    m->budget = (double)ms.budget;
    m->base = (double)ms.base;
    m->planned_peak = (double)(ms.base + ms.peak);
    m->rss = (double)fr_mem_rss();
    m->rss_peak = (double)fr_mem_rss_peak();
    m->cache = (double)fr_recon_resident_bytes(r);
    fr_spill_stats st;
    fr_spill_stats_get(&st);
    m->disk = st.disk_bytes;
    m->spilled_raw = st.raw_written;
    m->spilled_packed = st.packed_written;
    m->put_s = st.put_s;
    m->read_raw = st.raw_read;
    m->get_s = st.get_s;
    if (row && ms.n == s->n_units) {
        s->mem_units = fr_xcalloc((size_t)(ms.n ? ms.n : 1), sizeof *s->mem_units);
        for (int k = 0; k < ms.n; k++)
            s->mem_units[k] = (fr_mem_unit){(double)row[k].cache, (double)row[k].work, (double)row[k].total,
                                            (double)row[k].disk, row[k].batch, (int)row[k].mode};
    }
}

static void publish(fr_worker *w)
{
    fr_recon *r = w->r;
    const fr_partition *p = fr_recon_partition(r);
    fr_snapshot *s = fr_snapshot_new(p->n);
    s->gen = ++w->gen;
    fr_run_info *in = &s->info;
    const fr_run_config *c = fr_recon_config(r);
    fr_run_info_fill(in, w->m->meta.name, c, fr_blas_threads(), fr_blas_core());
    in->lm_vocab = fr_graph_lm_vocab(&w->m->g);
    s->status = w->status == FR_RUN_RUNNING && w->paused ? FR_RUN_PAUSED : w->status;
    s->step_mode = w->step_mode;
    /* Inside a compare the engine runs the compared unit on a swapped-out copy: readers see
     * the unit as it really is and no running unit. */
    int comparing = w->cmp.unit >= 0 && fr_recon_current(r) == w->cmp.unit;
    s->cur_unit = comparing ? -1 : fr_recon_current(r);
    double now = fr_now();
    if (now > w->last_pub) {
        double inst = (double)(w->it_total - w->it_at_last_pub) / (now - w->last_pub);
        if (w->it_total > w->it_at_last_pub) w->rate = w->rate > 0 ? 0.7 * w->rate + 0.3 * inst : inst;
    }
    w->last_pub = now;
    w->it_at_last_pub = w->it_total;
    s->it_per_s = w->rate;
    long remaining = 0;
    for (int k = 0; k < fr_recon_n_run(r); k++)
        if (!fr_recon_done(r, k) && !(comparing && k == w->cmp.unit)) remaining += c->method == FR_METHOD_RTN ? 0 : c->iters;
    if (s->cur_unit >= 0) remaining -= fr_recon_iter(r);
    s->eta_s = w->rate > 0 ? (double)remaining / w->rate : -1;
    s->elapsed_s = now - w->t0;
    if (w->cmp.unit >= 0 && s->eta_s >= 0 && w->cmp.eta_s >= 0) s->eta_s += w->cmp.eta_s;
    s->acc_fp = w->acc_fp;
    s->acc_q = w->acc_q;
    s->fid = w->fid;
    s->cmp = w->cmp;
    snprintf(s->message, sizeof s->message, "%s", w->msg);
    for (int k = 0; k < p->n; k++) {
        if (comparing && k == w->cmp.unit && w->cmp_view) {
            fr_unit_view_retain(w->cmp_view);
            s->units[k] = w->cmp_view;
        } else {
            s->units[k] = fr_recon_view(r, k);
        }
    }
    mem_live(r, s);
    pthread_mutex_lock(&w->mu);
    fr_snapshot *old = w->cur;
    w->cur = s;
    pthread_mutex_unlock(&w->mu);
    fr_snapshot_release(old);
    wake(w);
}

/* ---- commands ------------------------------------------------------------------------------- */

int fr_worker_send(fr_worker *w, fr_cmd_type type, int64_t arg)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (w->qlen == QCAP) {
        /* Drop the oldest command that may be dropped; never a checkpoint or quit. */
        int victim = -1;
        for (int i = 0; i < w->qlen && victim < 0; i++) {
            fr_cmd_type t = w->q[(w->qhead + i) % QCAP].type;
            if (t != FR_CMD_CHECKPOINT && t != FR_CMD_QUIT) victim = i;
        }
        if (victim < 0) { pthread_mutex_unlock(&w->mu); return -1; }
        for (int i = victim; i + 1 < w->qlen; i++) w->q[(w->qhead + i) % QCAP] = w->q[(w->qhead + i + 1) % QCAP];
        w->qlen--;
        rc = -1;
    }
    w->q[(w->qhead + w->qlen) % QCAP] = (fr_cmd){type, arg};
    w->qlen++;
    if (type == FR_CMD_QUIT) atomic_store(&w->cancel, 1);
    pthread_cond_signal(&w->cmd_cv);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static int pop(fr_worker *w, fr_cmd *c)
{
    int got = 0;
    pthread_mutex_lock(&w->mu);
    if (w->qlen) {
        *c = w->q[w->qhead];
        w->qhead = (w->qhead + 1) % QCAP;
        w->qlen--;
        got = 1;
    }
    pthread_mutex_unlock(&w->mu);
    return got;
}

/* Called by fr_recon_compare before the unit begins and after every iteration: publishes
 * progress (so the header, clock and ETA stay live) and returns 1 to cancel on quit. */
static int compare_tick(void *ctx, fr_method m, int iter, int iters)
{
    fr_worker *w = ctx;
    if (atomic_load(&w->cancel)) return 1;
    if (iter > 0) w->cmp_it++;
    w->cmp.method = m;
    w->cmp.iter = iter < 0 ? 0 : iter;
    w->cmp.iters = iters;
    double now = fr_now();
    if (iter > 0 && iter < iters && now - w->last_pub < 0.1) return 0;
    double el = now - w->cmp_t0;
    w->cmp.it_per_s = el > 0 && w->cmp_it > 0 ? (double)w->cmp_it / el : 0;
    long left = (long)(iters - w->cmp.iter) + (long)w->cmp.methods_left * iters;
    w->cmp.eta_s = w->cmp.it_per_s > 0 ? (double)left / w->cmp.it_per_s : -1;
    const char *name = fr_recon_partition(w->r)->units[w->cmp.unit].name;
    snprintf(w->msg, sizeof w->msg, "comparing methods on %.96s: %s %d/%d it; the run waits until it is done", name,
             fr_method_name(m), w->cmp.iter, iters);
    publish(w);
    return 0;
}

static void run_compare(fr_worker *w)
{
    int k = w->compare_req;
    w->compare_req = -1;
    if (k < 0) return;
    fr_err e;
    fr_err_clear(&e);
    int ok = 1;
    memset(&w->cmp, 0, sizeof w->cmp);
    w->cmp.unit = k;
    w->cmp.eta_s = -1;
    w->cmp.run_waits = 1;
    w->cmp_t0 = fr_now();
    w->cmp_it = 0;
    w->cmp_view = fr_recon_view(w->r, k);
    snprintf(w->msg, sizeof w->msg, "comparing methods on %s", fr_recon_partition(w->r)->units[k].name);
    publish(w);
    fr_recon_set_tick(w->r, compare_tick, w);
    for (int m = 0; m < FR_METHOD__COUNT && ok; m++) {
        fr_unit_view *v = NULL;
        w->cmp.methods_left = FR_METHOD__COUNT - 1 - m;
        if (fr_recon_compare(w->r, k, (fr_method)m, &v, &e)) ok = 0;
        fr_unit_view_release(v);
        fr_unit_view_release(w->cmp_view);   /* restored: now with this method's result */
        w->cmp_view = fr_recon_view(w->r, k);
    }
    fr_recon_set_tick(w->r, NULL, NULL);
    fr_unit_view_release(w->cmp_view);
    w->cmp_view = NULL;
    w->cmp.unit = -1;
    w->cmp.eta_s = -1;
    snprintf(w->msg, sizeof w->msg, "%s", ok ? "compare ready (view: compare)" : e.msg);
    publish(w);
}

/* `r` + `y`: unit k and every later unit run again with the current method / bits / iters.
 * The engine discards their state at once (a running unit at or after k is abandoned, not
 * finalized); the loop then continues at k (restart_from). */
static void restart(fr_worker *w, int k)
{
    fr_recon *r = w->r;
    const fr_partition *p = fr_recon_partition(r);
    const fr_run_config *c = fr_recon_config(r);
    if (k < 0 || k >= p->n) return;
    if (k >= fr_recon_n_run(r)) {
        snprintf(w->msg, sizeof w->msg, "unit %s is after the run's last unit (--unit): nothing to restart", p->units[k].name);
        return;
    }
    int cur = fr_recon_current(r);
    if (!fr_recon_done(r, k) && cur != k) {
        snprintf(w->msg, sizeof w->msg, "unit %s has not run yet: it will run with %s W%d, %d it", p->units[k].name,
                 fr_method_name(c->method), c->bits, c->method == FR_METHOD_RTN ? 0 : c->iters);
        return;
    }
    fr_err e;
    fr_err_clear(&e);
    if (fr_recon_reset_from(r, k, &e)) {
        snprintf(w->msg, sizeof w->msg, "restart of %s failed: %s", p->units[k].name, e.msg);
        return;
    }
    w->restart_from = k;
    w->paused = 0;
    w->step_until_unit_end = 0;
    if (w->compare_req >= k) w->compare_req = -1;
    w->acc_q = -1;   /* the quantized model changes */
    w->fid.n = 0;
    if (w->status == FR_RUN_DONE) {
        w->status = FR_RUN_RUNNING;
        pthread_mutex_lock(&w->mu);
        w->finished = 0;
        pthread_mutex_unlock(&w->mu);
    }
    int later = fr_recon_n_run(r) - 1 - k;
    snprintf(w->msg, sizeof w->msg, "restarted %s with %s W%d, %d it%s", p->units[k].name, fr_method_name(c->method),
             c->bits, c->method == FR_METHOD_RTN ? 0 : c->iters,
             later > 0 ? later == 1 ? " (and the unit after it)" : " (and the units after it)" : "");
}

/* Applies queued commands.  Returns 1 when something changed that readers should see. */
static int handle_commands(fr_worker *w)
{
    fr_cmd c;
    int changed = 0;
    const fr_partition *p = fr_recon_partition(w->r);
    while (pop(w, &c)) {
        changed = 1;
        switch (c.type) {
        case FR_CMD_PAUSE: w->paused = 1; snprintf(w->msg, sizeof w->msg, "paused"); break;
        case FR_CMD_RESUME: w->paused = 0; w->step_until_unit_end = 0; snprintf(w->msg, sizeof w->msg, "running"); break;
        case FR_CMD_STEP_UNIT:
            w->paused = 0;
            w->step_until_unit_end = 1;
            snprintf(w->msg, sizeof w->msg, "stepping one unit");
            break;
        case FR_CMD_SET_STEP_MODE: w->step_mode = c.arg != 0; break;
        case FR_CMD_RESTART_UNIT:
            if (c.arg >= 0 && c.arg < p->n) restart(w, (int)c.arg);
            break;
        case FR_CMD_SET_METHOD:
            if (c.arg >= 0 && c.arg < FR_METHOD__COUNT) {
                fr_recon_set_method(w->r, (fr_method)c.arg);
                snprintf(w->msg, sizeof w->msg, "method %s for the next units", fr_method_name((fr_method)c.arg));
            }
            break;
        case FR_CMD_SET_BITS:
            if (c.arg >= 2 && c.arg <= 8) {
                fr_recon_set_bits(w->r, (int)c.arg);
                snprintf(w->msg, sizeof w->msg, "W%d for the next units", (int)c.arg);
            }
            break;
        case FR_CMD_SET_ITERS:
            if (c.arg >= 0 && c.arg <= 10000000) {
                fr_recon_set_iters(w->r, (int)c.arg);
                snprintf(w->msg, sizeof w->msg, "%d iterations per unit for the next units", (int)c.arg);
            }
            break;
        case FR_CMD_COMPARE_UNIT:
            if (c.arg >= 0 && c.arg < p->n) {
                w->compare_req = (int)c.arg;
                if (fr_recon_current(w->r) >= 0)
                    snprintf(w->msg, sizeof w->msg, "compare of %s queued: runs after the current unit",
                             p->units[c.arg].name);
                else
                    run_compare(w);
            }
            break;
        case FR_CMD_CHECKPOINT:
            w->ckpt_req = 1;
            break;
        case FR_CMD_QUIT:
            atomic_store(&w->cancel, 1);
            break;
        }
    }
    return changed;
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

static void ckpt_report(fr_worker *w, int rc, const fr_err *e, size_t bytes, double secs)
{
    pthread_mutex_lock(&w->mu);
    w->ckpt_rc = rc;
    if (rc) snprintf(w->ckpt_msg, sizeof w->ckpt_msg, "checkpoint failed: %s", e->msg);
    else snprintf(w->ckpt_msg, sizeof w->ckpt_msg, "checkpoint written: %.300s (%.1f MB in %.2f s)", w->ckpt_path, bytes / 1e6, secs);
    pthread_mutex_unlock(&w->mu);
    snprintf(w->msg, sizeof w->msg, "%s", w->ckpt_msg);
}

static void ckpt_poll(fr_worker *w)
{
    int rc;
    fr_err e;
    size_t bytes;
    double secs;
    if (w->writer && fr_ckpt_writer_poll(w->writer, &rc, &e, &bytes, &secs)) ckpt_report(w, rc, &e, bytes, secs);
}

/* Captures the state (memcpy) and hands it to the writer thread; wait = 1 blocks until the
 * file is on disk (end of run).  When a write is still in flight the request stays pending. */
static void checkpoint(fr_worker *w, int wait)
{
    if (!w->ckpt_path[0]) {
        if (w->ckpt_req) snprintf(w->msg, sizeof w->msg, "no checkpoint file set (start with --checkpoint FILE)");
        w->ckpt_req = 0;
        return;
    }
    ckpt_poll(w);
    if (fr_ckpt_writer_busy(w->writer)) {
        if (!wait) return;
        struct timespec ms = {0, 1000000};
        while (fr_ckpt_writer_busy(w->writer)) nanosleep(&ms, NULL);
        ckpt_poll(w);
    }
    fr_ckpt_info in = {w->bundle_path, w->model_fp, w->calib_fp, w->acc_fp, w->acc_q, (int)w->status, w->it_total};
    fr_ckpt_writer_submit(w->writer, fr_ckpt_capture(w->r, &in), w->ckpt_path);
    w->ckpt_req = 0;
    w->units_since_ckpt = 0;
    w->last_ckpt = fr_now();
    if (wait) {
        struct timespec ms = {0, 1000000};
        while (fr_ckpt_writer_busy(w->writer)) nanosleep(&ms, NULL);
        ckpt_poll(w);
    }
}

static void maybe_checkpoint(fr_worker *w)
{
    if (!w->ckpt_path[0] && !w->ckpt_req) return;
    ckpt_poll(w);
    if (w->ckpt_req || (w->ckpt_every_s > 0 && fr_now() - w->last_ckpt >= w->ckpt_every_s) ||
        (w->ckpt_every_units > 0 && w->units_since_ckpt >= w->ckpt_every_units))
        checkpoint(w, 0);
}

static void wait_cmd(fr_worker *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&w->mu);
    if (w->qlen == 0 && !atomic_load(&w->cancel)) pthread_cond_timedwait(&w->cmd_cv, &w->mu, &ts);
    pthread_mutex_unlock(&w->mu);
}

static void set_finished(fr_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->finished = 1;
    pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
}

static void *run(void *arg)
{
    fr_worker *w = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    fr_recon *r = w->r;
    const fr_partition *p = fr_recon_partition(r);
    fr_err e;
    fr_err_clear(&e);
    w->t0 = w->last_pub = fr_now();
    w->status = FR_RUN_RUNNING;
    snprintf(w->msg, sizeof w->msg, "running");
    publish(w);
    int k = 0;
    while (!atomic_load(&w->cancel)) {
        if (k >= fr_recon_n_run(r)) {
            if (w->status == FR_RUN_RUNNING) {
                snprintf(w->msg, sizeof w->msg, "evaluating fidelity and accuracy");
                publish(w);
                /* One pass pair gives both: fidelity to the FP network always, top-1 when the
                 * eval set has labels (real networks on photographs have none). */
                fr_fidelity f;
                if (w->m->eval.n == 0)
                    snprintf(w->msg, sizeof w->msg, "done (no evaluation data)");
                else if (fr_dp_rank() > 0)   /* data parallel (dp.h): rank 0 reports; the others hold the same network */
                    snprintf(w->msg, sizeof w->msg, "done (evaluated by rank 0)");
                else if (fr_recon_fidelity(r, fr_recon_config(r)->feature, 0, &f, &w->acc_fp, &w->acc_q, &e) == FR_OK) {
                    w->fid = (fr_fid_view){.n = f.n, .dim = f.feat_dim, .cos = f.cos, .rel_mse = f.rel_mse,
                                           .agree = f.agree, .kl = f.kl, .zero_q = f.zero_q, .lm_vocab = f.lm_vocab,
                                           .lm_tokens = f.lm_tokens, .nll_fp = f.nll_fp, .nll_q = f.nll_q};
                    snprintf(w->fid.feature, sizeof w->fid.feature, "%s", f.feat_name);
                    if (f.lm_vocab)
                        snprintf(w->msg, sizeof w->msg, "done: perplexity %.4f FP, %.4f quantized; next-token agreement "
                                 "%.2f%%", exp(f.nll_fp), exp(f.nll_q), 100 * f.agree);
                    else if (w->acc_q >= 0)
                        snprintf(w->msg, sizeof w->msg, "done: top-1 %.2f%% FP, %.2f%% quantized; feature cosine %.4f",
                                 100 * w->acc_fp, 100 * w->acc_q, f.cos);
                    else
                        snprintf(w->msg, sizeof w->msg, "done: feature cosine %.4f, top-1 agreement %.2f%%", f.cos,
                                 100 * f.agree);
                } else
                    snprintf(w->msg, sizeof w->msg, "done (evaluation: %s)", e.msg);
                w->status = FR_RUN_DONE;
                if (w->ckpt_path[0] && !w->ckpt_request_only) checkpoint(w, 1);
                publish(w);
                set_finished(w);
            }
            if (handle_commands(w)) publish(w);
            if (w->ckpt_req) { checkpoint(w, 1); publish(w); }
            if (w->restart_from >= 0) {
                k = w->restart_from;
                w->restart_from = -1;
                w->status = FR_RUN_RUNNING;
                continue;
            }
            wait_cmd(w);
            continue;
        }
        if (fr_recon_done(r, k)) { k++; continue; }
        if (fr_recon_current(r) != k && fr_recon_begin(r, k, &e) != FR_OK) {
            snprintf(w->msg, sizeof w->msg, "unit %s: %s", p->units[k].name, e.msg);
            w->status = FR_RUN_FAILED;
            publish(w);
            set_finished(w);
            while (!atomic_load(&w->cancel)) wait_cmd(w);
            break;
        }
        publish(w);
        while (fr_recon_iter(r) < fr_recon_iters(r) && !atomic_load(&w->cancel)) {
            if (handle_commands(w)) publish(w);
            if (w->restart_from >= 0) break;
            if (w->paused) {
                /* `s` while paused: nothing else will happen, so write now and wait for it. */
                if (w->ckpt_req) { checkpoint(w, 1); publish(w); }
                wait_cmd(w);
                continue;
            }
            int src = fr_recon_step(r);
            if (src == FR_EIO) {
                snprintf(w->msg, sizeof w->msg, "unit %s: %s", p->units[k].name, fr_recon_error(r));
                w->status = FR_RUN_FAILED;
                publish(w);
                set_finished(w);
                while (!atomic_load(&w->cancel)) wait_cmd(w);
                break;
            }
            if (src != FR_OK) {
                snprintf(w->msg, sizeof w->msg, "unit %s: non-finite values, fell back to RTN", p->units[k].name);
                break;
            }
            w->it_total++;
            maybe_checkpoint(w);
            /* Publish every 100 ms, but never spend more than ~5 % of the worker's time on
             * building views (large layers make a view copy cost milliseconds). */
            if (fr_now() - w->last_pub > FR_MAX(0.1, 20 * w->pub_cost)) {
                double t = fr_now();
                publish(w);
                w->pub_cost = fr_now() - t;
            }
        }
        if (atomic_load(&w->cancel)) break;
        if (w->restart_from >= 0) {   /* the unit was abandoned by the restart: no end() */
            k = w->restart_from;
            w->restart_from = -1;
            publish(w);
            continue;
        }
        if (fr_recon_end(r, &e) != FR_OK) {
            snprintf(w->msg, sizeof w->msg, "unit %s: %s", p->units[k].name, e.msg);
            w->status = FR_RUN_FAILED;
            publish(w);
            set_finished(w);
            break;
        }
        if (w->compare_req >= 0) run_compare(w);
        w->units_since_ckpt++;
        maybe_checkpoint(w);
        if (w->restart_from >= 0) {
            k = w->restart_from;
            w->restart_from = -1;
            publish(w);
            continue;
        }
        if (w->step_mode || w->step_until_unit_end) {
            w->paused = 1;
            w->step_until_unit_end = 0;
            snprintf(w->msg, sizeof w->msg, "paused after unit %s", p->units[k].name);
        }
        k++;
        publish(w);
    }
    /* Quit: a checkpoint asked for (`s`) but not yet written is written before the thread
     * ends, so `s` then `q` never loses it. */
    fr_cmd c;
    while (pop(w, &c))
        if (c.type == FR_CMD_CHECKPOINT) w->ckpt_req = 1;
    if (w->ckpt_req && w->ckpt_path[0]) checkpoint(w, 1);
    set_finished(w);
    return NULL;
}

fr_worker *fr_worker_new(const fr_model *m, const fr_run_config *cfg, fr_err *e)
{
    fr_worker *w = fr_xcalloc(1, sizeof *w);
    w->m = m;
    w->cfg = *cfg;
    w->restart_from = -1;
    w->compare_req = -1;
    w->cmp.unit = -1;
    w->cmp.eta_s = -1;
    w->step_mode = cfg->step_mode;
    w->acc_fp = w->acc_q = -1;
    w->pipefd[0] = w->pipefd[1] = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cmd_cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    atomic_init(&w->cancel, 0);
    if (pipe2(w->pipefd, O_NONBLOCK | O_CLOEXEC) != 0) {
        fr_err_set(e, FR_EIO, "cannot create the wake-up pipe: %s", strerror(errno));
        fr_worker_free(w);
        return NULL;
    }
    w->r = fr_recon_new(m, cfg, e);
    if (!w->r) { fr_worker_free(w); return NULL; }
    w->status = FR_RUN_IDLE;
    publish(w);   /* readers always find a snapshot, even before start */
    return w;
}

fr_recon *fr_worker_recon(fr_worker *w) { return w->r; }

void fr_worker_set_checkpoint(fr_worker *w, const char *path, const char *bundle_path, int units, double seconds)
{
    snprintf(w->ckpt_path, sizeof w->ckpt_path, "%s", path ? path : "");
    snprintf(w->bundle_path, sizeof w->bundle_path, "%s", bundle_path ? bundle_path : "");
    w->ckpt_request_only = units < 0;
    w->ckpt_every_units = units > 0 ? units : 0;
    w->ckpt_every_s = seconds > 0 ? seconds : 0;
    w->model_fp = fr_frm_fingerprint(w->m);
    w->calib_fp = fr_ckpt_calib_fingerprint(w->m, fr_recon_config(w->r)->n_calib);
    w->last_ckpt = fr_now();
    if (!w->writer) w->writer = fr_ckpt_writer_new();
}

int fr_worker_resume(fr_worker *w, const fr_ckpt *c, fr_err *e)
{
    FR_ASSERT(!w->started);
    if (fr_ckpt_check_model(c, w->m, c->src, e) || fr_ckpt_check_threads(c, fr_blas_threads(), c->src, e) ||
        fr_ckpt_check_core(c, fr_blas_core(), c->src, e))
        return e->code;
    fr_recon *r = fr_ckpt_resume_engine(c, w->m, e);
    if (!r) return e->code;
    fr_recon_free(w->r);
    w->r = r;
    w->cfg = c->cfg;
    w->it_total = c->it_total;
    w->model_fp = c->model_fp;
    w->calib_fp = c->calib_fp;
    snprintf(w->msg, sizeof w->msg, "resumed from %s", c->src);
    publish(w);
    return FR_OK;
}

void fr_worker_checkpoint_status(fr_worker *w, char *msg, size_t n, int *rc)
{
    pthread_mutex_lock(&w->mu);
    if (msg && n) snprintf(msg, n, "%s", w->ckpt_msg);
    if (rc) *rc = w->ckpt_rc;
    pthread_mutex_unlock(&w->mu);
}

int fr_worker_start(fr_worker *w, fr_err *e)
{
    if (w->started) return FR_OK;
    if (pthread_create(&w->th, NULL, run, w) != 0) return fr_err_set(e, FR_EIO, "cannot start the worker thread");
    w->started = 1;
    return FR_OK;
}

fr_snapshot *fr_worker_acquire(fr_worker *w)
{
    pthread_mutex_lock(&w->mu);
    fr_snapshot *s = w->cur;
    fr_snapshot_retain(s);
    pthread_mutex_unlock(&w->mu);
    return s;
}

int fr_worker_wakefd(const fr_worker *w) { return w->pipefd[0]; }

void fr_worker_join(fr_worker *w)
{
    if (!w->started) return;
    pthread_mutex_lock(&w->mu);
    while (!w->finished) pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void fr_worker_free(fr_worker *w)
{
    if (!w) return;
    if (w->started) {
        fr_worker_send(w, FR_CMD_QUIT, 0);
        pthread_join(w->th, NULL);
    }
    fr_ckpt_writer_free(w->writer);   /* waits for a write in flight */
    fr_snapshot_release(w->cur);
    fr_recon_free(w->r);
    if (w->pipefd[0] >= 0) close(w->pipefd[0]);
    if (w->pipefd[1] >= 0) close(w->pipefd[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cmd_cv);
    pthread_cond_destroy(&w->done_cv);
    free(w);
}
