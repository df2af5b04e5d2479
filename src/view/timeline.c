/* timeline.c — time shots of a replayed run, the animation of S evolving and the loss CSV
 * (contract and design note in include/frtui/timeline.h).  Reads snapshots only; the history
 * provider's engine work happens inside fr_history.view.
 */
#include "frtui/timeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/apng.h"
#include "frtui/plot.h"
#include "frtui/pngplot.h"
#include "frtui/raster.h"

int fr_timeline_count(const fr_snapshot *s, int k)
{
    if (!s || !s->hist || k < 0 || k >= s->n_units) return 0;
    return s->hist->count(s->hist->ctx, k);
}

int fr_timeline_iter(const fr_snapshot *s, int k, int j)
{
    int n = fr_timeline_count(s, k);
    if (j >= 0 && j < n) return s->hist->iter(s->hist->ctx, k, j);
    return s && k >= 0 && k < s->n_units && s->units[k] ? s->units[k]->iter : -1;
}

static void hist_nofree(void *ctx) { (void)ctx; }

fr_snapshot *fr_timeline_shot(const fr_snapshot *base, int k, int j, char *msg, size_t msg_n)
{
    if (base && base->hist && base->hist->base) base = base->hist->base;
    int n = fr_timeline_count(base, k);
    if (j < 0 || j >= n) { snprintf(msg, msg_n, "no recorded moment %d for this unit", j); return NULL; }
    fr_unit_view *v = base->hist->view(base->hist->ctx, k, j, msg, msg_n);
    if (!v) return NULL;
    fr_snapshot *t = fr_snapshot_new(base->n_units);
    t->gen = base->gen;
    t->info = base->info;
    t->status = base->status;
    t->step_mode = base->step_mode;
    t->cur_unit = base->cur_unit;
    t->it_per_s = base->it_per_s;
    t->eta_s = base->eta_s;
    t->elapsed_s = base->elapsed_s;
    t->acc_fp = base->acc_fp;
    t->acc_q = base->acc_q;
    t->fid = base->fid;
    t->cmp = base->cmp;
    t->mem = base->mem;
    for (int i = 0; i < base->n_units; i++) {
        t->units[i] = i == k ? v : base->units[i];
        if (i != k) fr_unit_view_retain(base->units[i]);
    }
    /* The compare views belong to the unit, not to the moment: keep them reachable. */
    for (int m = 0; m < FR_METHOD__COUNT && base->units[k]; m++)
        if (!v->alt[m] && base->units[k]->alt[m]) { v->alt[m] = base->units[k]->alt[m]; fr_unit_view_retain(v->alt[m]); }
    t->hist = fr_xmalloc(sizeof *t->hist);
    *t->hist = *base->hist;
    t->hist->free = hist_nofree;   /* the base owns the provider */
    t->hist->base = base->hist->base ? base->hist->base : base;
    snprintf(t->message, sizeof t->message, "replay: unit at iteration %d of %d (moment %d of %d; < > move in time)",
             v->iter, base->units[k] ? base->units[k]->iter : 0, j + 1, n + 1);
    return t;
}

/* ---- CSV ------------------------------------------------------------------------------------ */

static void csv_unit(FILE *f, const fr_unit_view *u, double smooth, const char *method)
{
    float *ema = fr_xmalloc((size_t)(u->n_loss ? u->n_loss : 1) * sizeof(float));
    if (u->n_loss) fr_plot_ema(u->loss, u->n_loss, smooth, ema);
    for (int i = 0; i < u->n_loss; i++) {
        if (method) fprintf(f, "%s,", method);
        fprintf(f, "%d,", i + 1);
        if (u->loss_t) fprintf(f, "%.6f", (double)u->loss_t[i]);
        fprintf(f, ",%.9g,%.9g,%.9g\n", (double)u->loss[i], u->loss_rec ? (double)u->loss_rec[i] : (double)u->loss[i],
                (double)ema[i]);
    }
    free(ema);
}

int fr_export_loss_csv(const fr_snapshot *s, int k, double smooth, int all_methods, const char *path, fr_err *e)
{
    if (!s || k < 0 || k >= s->n_units || !s->units[k]) return fr_err_set(e, FR_EINPUT, "no unit %d", k + 1);
    const fr_unit_view *u = s->units[k];
    fr_atomic a;
    int rc = fr_atomic_open(&a, path, e);
    if (rc) return rc;
    fprintf(a.f, "# %s / %s / smoothing %.3g; RTN loss %.9g\n", s->info.model, u->name, smooth, u->loss_rtn);
    if (all_methods) {
        fprintf(a.f, "method,iteration,seconds,loss,reconstruction,smoothed\n");
        for (int m = 0; m < FR_METHOD__COUNT; m++) {
            const fr_unit_view *x = (int)u->method == m ? u : u->alt[m];
            if (!x) continue;
            if (m == FR_METHOD_RTN || x->n_loss == 0)   /* RTN learns nothing: one flat point */
                fprintf(a.f, "%s,0,,%.9g,%.9g,%.9g\n", fr_method_name((fr_method)m), x->loss_after, x->loss_after, x->loss_after);
            else csv_unit(a.f, x, smooth, fr_method_name((fr_method)m));
        }
    } else {
        fprintf(a.f, "iteration,seconds,loss,reconstruction,smoothed\n");
        csv_unit(a.f, u, smooth, NULL);
    }
    if (ferror(a.f)) { fr_atomic_abort(&a); return fr_err_set(e, FR_EIO, "%s: write failed", path); }
    return fr_atomic_commit(&a, e);
}

/* ---- S evolving ----------------------------------------------------------------------------- */

/* range > 0: the heatmap's colour range (one scale for the whole film, the final state's, so
 * colours mean the same S in every frame); *range_out (may be NULL) gets the model's. */
static int render_frame(const fr_snapshot *s, int k, int layer, const char *view, const fr_plot_state *st, float range,
                        float *range_out, fr_raster *out, fr_err *e)
{
    fr_plot_model m;
    int rc = fr_plot_model_build(s, k, layer, view, st, &m, e);
    if (rc) return rc;
    if (range_out) *range_out = m.heat_range;
    if (range > 0 && m.kind == FR_PLOT_HEAT) m.heat_range = range;
    if (out == NULL) { fr_plot_model_free(&m); return FR_OK; }
    rc = fr_plot_model_render_png(out, &m, NULL, e);
    fr_plot_model_free(&m);
    return rc;
}

int fr_export_timeline(const fr_snapshot *base, int k, int layer, const char *view, const fr_plot_state *st,
                       const char *apng, const char *seq_prefix, int delay_ms, int *n_frames, fr_err *e)
{
    if (base && base->hist && base->hist->base) base = base->hist->base;   /* a shot: film the whole run */
    int n = fr_timeline_count(base, k);
    *n_frames = 0;
    if (n <= 0)
        return fr_err_set(e, FR_EINPUT, "unit %d has no recorded history (replay a checkpoint of version 1.4 or later)", k + 1);
    if (!view) view = "heatmap";
    /* A last moment at the final iteration is the saved state itself: one frame for it. */
    if (n > 1 && base->units[k] && fr_timeline_iter(base, k, n - 1) == base->units[k]->iter) n--;
    int nf = n + 1, rc = FR_OK;
    float range = 0;
    if ((rc = render_frame(base, k, layer, view, st, 0, &range, NULL, e))) return rc;
    fr_raster *fr = fr_xcalloc((size_t)nf, sizeof *fr);
    for (int j = 0; j < nf && !rc; j++) {
        char msg[256] = "";
        fr_snapshot *t = j < n ? fr_timeline_shot(base, k, j, msg, sizeof msg) : NULL;
        if (j < n && !t) { rc = fr_err_set(e, FR_EINPUT, "moment %d: %s", j + 1, msg); break; }
        fr_raster img = {0};
        rc = render_frame(t ? t : base, k, layer, view, st, range, NULL, &img, e);
        if (t) fr_snapshot_release(t);
        if (rc) break;
        if (j > 0 && (img.w != fr[0].w || img.h != fr[0].h)) {   /* one canvas size for the film */
            fr_raster c;
            if ((rc = fr_raster_init(&c, fr[0].w, fr[0].h, FR_RGB(255, 255, 255), e))) { fr_raster_free(&img); break; }
            for (int y = 0; y < c.h && y < img.h; y++)
                memcpy(c.px + (size_t)y * c.w * 3, img.px + (size_t)y * img.w * 3, (size_t)FR_MIN(c.w, img.w) * 3);
            fr_raster_free(&img);
            img = c;
        }
        fr[j] = img;
        if (seq_prefix) {
            char p[4200];
            snprintf(p, sizeof p, "%s-it%06d.png", seq_prefix, fr_timeline_iter(base, k, j));
            rc = fr_raster_write_png(&img, p, e);
        }
    }
    if (!rc && apng) {
        const uint8_t **px = fr_xmalloc((size_t)nf * sizeof *px);
        for (int j = 0; j < nf; j++) px[j] = fr[j].px;
        rc = fr_apng_write(apng, px, nf, fr[0].w, fr[0].h, delay_ms > 0 ? delay_ms : 500, e);
        free(px);
    }
    for (int j = 0; j < nf; j++) fr_raster_free(&fr[j]);
    free(fr);
    if (!rc) *n_frames = nf;
    return rc;
}
