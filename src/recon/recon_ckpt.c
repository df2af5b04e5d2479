/* recon_ckpt.c — the engine side of checkpoints: capture an engine's state into a blob,
 * check a checkpoint against its bundle, resume an engine from it and build replay snapshots.
 * The file format itself (encode, write, load) is the io codec's (src/io/ckpt.c, ckpt_load.c),
 * which knows nothing about engines; contract in include/frtui/recon_ckpt.h.
 */
#include "frtui/recon_ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/blas.h"
#include "frtui/conv.h"
#include "frtui/frm.h"
#include "frtui/recon.h"

/* ---- fingerprints ------------------------------------------------------------------------- */

uint64_t fr_ckpt_calib_fingerprint(const fr_model *m, int n_calib)
{
    const fr_dataset *d = &m->calib;
    int n = n_calib > 0 && n_calib < d->n ? n_calib : d->n;
    int32_t hdr[5] = {n, d->c, d->h, d->w, d->dtype};
    uint64_t h = fr_fnv1a(FR_FNV_INIT, hdr, sizeof hdr);
    h = fr_fnv1a(h, &d->scale, sizeof d->scale);
    h = fr_fnv1a(h, &d->offset, sizeof d->offset);
    size_t per = (size_t)d->c * d->h * d->w * (d->dtype ? 4 : 1);
    const void *src = d->dtype ? (const void *)d->f32 : (const void *)d->u8;
    if (src && n > 0) h = fr_fnv1a(h, src, per * (size_t)n);
    h = fr_fnv1a(h, m->meta.mean, sizeof m->meta.mean);
    h = fr_fnv1a(h, m->meta.std, sizeof m->meta.std);
    return h;
}

/* ---- capture ------------------------------------------------------------------------------ */

fr_ckpt_blob *fr_ckpt_capture(struct fr_recon *r, const fr_ckpt_info *info)
{
    fr_ckpt cc;
    memset(&cc, 0, sizeof cc);
    fr_recon_state_capture(r, &cc);
    fr_ckpt *c = &cc;
    c->blas_threads = fr_blas_threads();
    snprintf(c->blas_core, sizeof c->blas_core, "%s", fr_blas_core());
    c->conv_legacy = fr_conv_legacy();
    if (info) {
        snprintf(c->bundle_path, sizeof c->bundle_path, "%s", info->bundle_path ? info->bundle_path : "");
        c->model_fp = info->model_fp;
        c->calib_fp = info->calib_fp;
        c->acc_fp = info->acc_fp;
        c->acc_q = info->acc_q;
        c->run_status = info->run_status;
        c->it_total = info->it_total;
    }
    return fr_ckpt_blob_wrap(c);
}

/* ---- checks against a model ------------------------------------------------------------------ */

int fr_ckpt_check_model(const fr_ckpt *c, const fr_model *m, const char *path, fr_err *e)
{
    uint64_t cal = fr_ckpt_calib_fingerprint(m, c->cfg.n_calib);
    if (cal != c->calib_fp)
        return fr_err_set(e, FR_EINPUT, "%s: calibration data differs from the run's (fingerprint %016llx, this bundle "
                          "%016llx); refusing to resume", path, (unsigned long long)c->calib_fp, (unsigned long long)cal);
    uint64_t fp = fr_frm_fingerprint(m);
    if (fp != c->model_fp)
        return fr_err_set(e, FR_EINPUT, "%s: was written for another bundle ('%s', model fingerprint %016llx; '%s' has "
                          "%016llx)", path, c->model_name, (unsigned long long)c->model_fp, m->meta.name,
                          (unsigned long long)fp);
    return FR_OK;
}

#define prefix fr_ckpt_prefix_error

struct fr_recon *fr_ckpt_resume_engine(const fr_ckpt *c, const fr_model *m, fr_err *e)
{
    /* A run continues with the kernels it was made with, or its bits would change mid-run: the
     * choice is process-wide (conv.h), and a resumed run is the process's run. */
    fr_conv_set_legacy(c->conv_legacy);
    fr_recon *r = fr_recon_new(m, &c->cfg, e);
    if (!r) return NULL;
    if (fr_recon_state_restore(r, c, 0, e)) {
        prefix(e, c);
        fr_recon_free(r);
        return NULL;
    }
    return r;
}

/* ---- replay time travel ------------------------------------------------------------------------ */

/* The replay engine stays alive for the history views; it owns copies of what they read of the
 * checkpoint (names, bits, losses, frozen grid state, the moments), so the snapshot does not
 * depend on the fr_ckpt it came from. */
typedef struct hist_ctx {
    fr_recon *r;
    int n;
    fr_ckpt_unit *u;         /* [n] copies: name, method, bits, n_loss, layers' frozen tensors, hist */
} hist_ctx;

static float *dupf(const float *p, size_t n)
{
    if (!p || !n) return NULL;
    float *q = fr_xmalloc(n * sizeof(float));
    memcpy(q, p, n * sizeof(float));
    return q;
}

static int hist_count(void *ctx, int k) { hist_ctx *h = ctx; return k >= 0 && k < h->n ? h->u[k].hist.n : 0; }
static int hist_iter(void *ctx, int k, int j)
{
    hist_ctx *h = ctx;
    return k >= 0 && k < h->n && j >= 0 && j < h->u[k].hist.n ? h->u[k].hist.iter[j] : -1;
}
static fr_unit_view *hist_view(void *ctx, int k, int j, char *msg, size_t msg_n)
{
    hist_ctx *h = ctx;
    fr_err e;
    fr_err_clear(&e);
    if (k < 0 || k >= h->n) { snprintf(msg, msg_n, "no such unit"); return NULL; }
    fr_unit_view *v = fr_recon_hist_view(h->r, k, &h->u[k], j, &e);
    if (!v) snprintf(msg, msg_n, "%s", e.msg);
    return v;
}
static void hist_free(void *ctx)
{
    hist_ctx *h = ctx;
    for (int k = 0; k < h->n; k++) {
        for (int l = 0; h->u[k].layers && l < h->u[k].n_layers; l++)
            for (int p = 0; p < h->u[k].layers[l].n_frozen; p++) free(h->u[k].layers[l].frozen[p].data);
        free(h->u[k].layers);
        free(h->u[k].hist.data);
    }
    free(h->u);
    fr_recon_free(h->r);
    free(h);
}

static fr_history *hist_new(const fr_ckpt *c, fr_recon *r)
{
    hist_ctx *h = fr_xcalloc(1, sizeof *h);
    h->r = r;
    h->n = c->n_units;
    h->u = fr_xcalloc((size_t)c->n_units, sizeof *h->u);
    for (int k = 0; k < c->n_units; k++) {
        const fr_ckpt_unit *U = &c->units[k];
        fr_ckpt_unit *D = &h->u[k];
        snprintf(D->name, sizeof D->name, "%s", U->name);
        D->method = U->method; D->bits = U->bits; D->n_loss = U->n_loss; D->status = U->status;
        if (!U->hist.n) continue;
        D->hist = U->hist;
        D->hist.data = dupf(U->hist.data, (size_t)U->hist.n * U->hist.stride);
        D->n_layers = U->n_layers;
        D->layers = fr_xcalloc((size_t)(U->n_layers ? U->n_layers : 1), sizeof *D->layers);
        for (int l = 0; l < U->n_layers; l++) {
            D->layers[l].n_frozen = U->layers[l].n_frozen;
            for (int p = 0; p < U->layers[l].n_frozen; p++) {
                D->layers[l].frozen[p] = U->layers[l].frozen[p];
                D->layers[l].frozen[p].data = dupf(U->layers[l].frozen[p].data, U->layers[l].frozen[p].n);
                D->layers[l].frozen[p].m = D->layers[l].frozen[p].v = NULL;
            }
        }
    }
    fr_history *H = fr_xcalloc(1, sizeof *H);
    *H = (fr_history){hist_count, hist_iter, hist_view, hist_free, h, NULL};
    return H;
}

fr_snapshot *fr_ckpt_snapshot(const fr_ckpt *c, const fr_model *m, fr_err *e)
{
    if (fr_ckpt_check_model(c, m, c->src[0] ? c->src : m->meta.name, e)) return NULL;
    fr_recon *r = fr_recon_new(m, &c->cfg, e);
    if (!r) return NULL;
    if (fr_recon_state_restore(r, c, 1, e)) { prefix(e, c); fr_recon_free(r); return NULL; }
    const fr_partition *p = fr_recon_partition(r);
    fr_snapshot *s = fr_snapshot_new(p->n);
    fr_run_info *in = &s->info;
    /* The threads and core the run had, not this process's (a 1.0 file does not say the core). */
    fr_run_info_fill(in, m->meta.name, &c->cfg, c->blas_threads, c->blas_core[0] ? c->blas_core : "?");
    in->lm_vocab = fr_graph_lm_vocab(&m->g);
    s->status = FR_RUN_REPLAY;
    s->cur_unit = c->cur_unit;
    s->acc_fp = c->acc_fp;
    s->acc_q = c->acc_q;
    s->eta_s = -1;
    int done = 0;
    for (int k = 0; k < p->n; k++) done += fr_recon_done(r, k);
    snprintf(s->message, sizeof s->message, "replay: %d of %d units finished%s", done, p->n,
             c->cur_unit >= 0 ? ", one interrupted" : "");
    for (int k = 0; k < p->n; k++) s->units[k] = fr_recon_view(r, k);
    int any = 0;
    for (int k = 0; k < c->n_units; k++) any |= c->units[k].hist.n > 0;
    if (any) s->hist = hist_new(c, r);   /* keeps the engine for the history views */
    else fr_recon_free(r);
    return s;
}
