/* recon_ckpt.c — the engine side of checkpoints: capture an engine's state into a blob,
 * check a checkpoint against its bundle, resume an engine from it and build replay snapshots.
 * The file format itself (encode, write, load) is the io codec's (src/io/ckpt.c, ckpt_load.c),
 * which knows nothing about engines; contract in include/frtui/recon_ckpt.h.
 */
#include "frtui/recon_ckpt.h"

#include <stdio.h>
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
    fr_recon_free(r);
    return s;
}
