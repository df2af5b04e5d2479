/* plotmodel.c — builds the plot model of a view (plotmodel.h) from a snapshot and the panel's
 * state.
 *
 * Design note
 *   Everything a reader could compare between the screen and an exported PNG is decided
 *   here with the shared plot maths (plotmath.c): the iteration window and the debiased EMA
 *   of the loss, the robust scatter ranges (one union range for the three compare panels),
 *   the heatmap's quantity, colour scale and visible window, and each point's class.  The
 *   renderers get the finished model; neither recomputes a range.
 */
#include "frtui/plotmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/heatagg.h"
#include "frtui/plot.h"
#include "view_impl.h"

void fr_plot_state_default(fr_plot_state *st)
{
    memset(st, 0, sizeof *st);
    st->loss_follow = 1;
    st->smooth = 0.95;   /* mini-batch losses are noisy; the panel starts here and `{`/`}` move it */
    st->scatter_abs = 1;
    st->heat_qty = FR_HQ_S2;
    st->eqn_row = st->eqn_col = -1;
}

static void title_of(const fr_snapshot *s, const fr_unit_view *v, const fr_layer_view *lv, char *buf, size_t n)
{
    char bt[32];
    fr_unit_view_bits_text(v, bt, sizeof bt);
    if (lv)
        snprintf(buf, n, "%s / %s (%s) / %s / W%d / it %d", s->info.model, v->name, lv->name, fr_method_name(v->method),
                 lv->bits, v->iter);
    else
        snprintf(buf, n, "%s / %s / %s / %s / it %d", s->info.model, v->name, fr_method_name(v->method), bt, v->iter);
}

static void *own(fr_plot_model *m, size_t bytes)
{
    for (int i = 0; i < 4; i++)
        if (!m->owned[i]) return m->owned[i] = fr_xmalloc(bytes ? bytes : 1);
    abort();   /* a model owns at most four arrays (programming error) */
}

void fr_plot_model_free(fr_plot_model *m)
{
    for (int i = 0; i < 4; i++) free(m->owned[i]);
    memset(m->owned, 0, sizeof m->owned);
    if (m->chan) fr_chanstats_free(m->chan);
    free(m->chan);
    m->chan = NULL;
}

/* One scatter series: x (|W| copied when abs), y, the per-point classes (NULL: the band
 * rule of fr_plot_point_class), classes counted. */
static void series_of(fr_plot_model *m, fr_plot_series *se, const float *x, const float *y, const uint8_t *cls, int64_t n,
                      int abs_x)
{
    se->y = y;
    se->n = n;
    se->cls = cls;
    if (abs_x) {
        float *ax = own(m, (size_t)n * sizeof *ax);
        for (int64_t i = 0; i < n; i++) ax[i] = fabsf(x[i]);
        se->x = ax;
    } else {
        se->x = x;
    }
    memset(se->class_count, 0, sizeof se->class_count);
    for (int64_t i = 0; i < n; i++) {
        int c = se->cls ? se->cls[i] : fr_plot_point_class(y[i]);
        if (c >= 0 && c < FR_WC__COUNT) se->class_count[c]++;
    }
}

static void scatter_ranges(fr_plot_model *m)
{
    float xm = 0, ym = 0;
    for (int k = 0; k < m->n_series; k++) {
        const fr_plot_series *se = &m->series[k];
        if (!se->n) continue;
        float ax, ay;
        /* with the quantizer's classes the axes reach the largest |W| and |shift|: the clipped
         * and aggressive weights the lesson is about are drawn where they are */
        if (se->cls) fr_plot_scatter_range_all(se->x, se->y, se->n, &ax, &ay);
        else fr_plot_scatter_range(se->x, se->y, se->n, m->abs_x, &ax, &ay);
        xm = fmaxf(xm, ax);
        ym = fmaxf(ym, ay);
    }
    if (xm <= 0) xm = 1;
    if (ym <= 0) ym = 1;
    if (m->band && ym < 1.5f) ym = 1.5f;   /* the +-1 band is always visible */
    m->xmin = m->abs_x ? 0 : -xm;
    m->xmax = xm;
    m->ymin = -ym;
    m->ymax = ym;
}

int fr_plot_model_build(const fr_snapshot *s, int unit, int layer, const char *view, const fr_plot_state *st,
                        fr_plot_model *m, fr_err *e)
{
    memset(m, 0, sizeof *m);
    fr_plot_state def;
    if (!st) fr_plot_state_default(&def), st = &def;
    if (!s || unit < 0 || unit >= s->n_units || !s->units[unit])
        return fr_err_set(e, FR_EINPUT, "unit %d is out of range (1..%d)", unit + 1, s ? s->n_units : 0);
    const fr_unit_view *v = s->units[unit];
    if (layer < 0 || layer >= FR_MAX(v->n_layers, 1))
        return fr_err_set(e, FR_EINPUT, "unit %s: layer %d is out of range (1..%d)", v->name, layer + 1, v->n_layers);
    const fr_layer_view *lv = v->n_layers ? &v->layers[layer] : NULL;
    if (strcmp(view, "loss") == 0) {
        m->kind = FR_PLOT_LOSS;
        title_of(s, v, NULL, m->title, sizeof m->title);
        if (v->n_loss == 0 || !v->loss) return fr_err_set(e, FR_EINPUT, "unit %s has no loss history yet", v->name);
        float *ema = own(m, (size_t)v->n_loss * sizeof *ema);
        m->smooth = st->smooth < 0 ? 0 : st->smooth > FR_SMOOTH_MAX ? FR_SMOOTH_MAX : st->smooth;
        fr_plot_ema(v->loss, v->n_loss, m->smooth, ema);
        m->loss = v->loss;
        m->ema = ema;
        m->n_loss = v->n_loss;
        m->logy = st->loss_logy;
        m->ref = v->loss_rtn;
        fr_loss_opts lo = {st->loss_logy, st->loss_follow, st->loss_zoom, st->loss_start, m->smooth, m->ref, 0, 0, NULL};
        fr_plot_loss_window(v->n_loss, FR_MAX(v->iters, v->n_loss), &lo, &m->win_a, &m->win_b);
        fr_plot_loss_range(v->loss, v->n_loss, m->win_a, m->win_b, m->logy, m->ref, &m->ymin, &m->ymax);
        if (!(m->ymin < m->ymax)) return fr_err_set(e, FR_EINPUT, "unit %s: no finite loss in the shown window", v->name);
        m->xmin = m->win_a;
        m->xmax = m->win_b;
        snprintf(m->xlabel, sizeof m->xlabel, "iteration");
        snprintf(m->ylabel, sizeof m->ylabel, "reconstruction loss");
        return FR_OK;
    }
    if (strcmp(view, "hist") == 0) {
        m->kind = FR_PLOT_HIST;
        if (!lv) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        title_of(s, v, lv, m->title, sizeof m->title);
        m->counts = lv->st.shift_hist;
        m->nbins = FR_SHIFT_BINS;
        m->xmin = -FR_SHIFT_RANGE;
        m->xmax = FR_SHIFT_RANGE;
        snprintf(m->xlabel, sizeof m->xlabel, "rounding shift (grid steps)");
        snprintf(m->ylabel, sizeof m->ylabel, "weights");
        return FR_OK;
    }
    if (!lv) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
    title_of(s, v, lv, m->title, sizeof m->title);
    if (strcmp(view, "scatter") == 0) {
        m->kind = FR_PLOT_SCATTER;
        if (!lv->w || !lv->shift) return fr_err_set(e, FR_EINPUT, "layer %s has no weight/shift arrays", lv->name);
        m->abs_x = st->scatter_abs != 0;
        m->band = m->y_is_units = 1;
        m->n_series = 1;
        series_of(m, &m->series[0], lv->w, lv->shift, lv->cls, lv->n, m->abs_x);
        scatter_ranges(m);
        snprintf(m->xlabel, sizeof m->xlabel, "%s", m->abs_x ? "|W|" : "W");
        snprintf(m->ylabel, sizeof m->ylabel, "rounding shift (grid units)");
        return FR_OK;
    }
    if (strcmp(view, "compare") == 0) {
        static const char *const mname[3] = {"RTN", "AdaRound", "FlexRound"};
        m->kind = FR_PLOT_COMPARE;
        m->abs_x = 1;   /* the compare panels always plot |W|: the three fans side by side */
        m->band = m->y_is_units = 1;
        m->n_series = FR_METHOD__COUNT;
        for (int k = 0; k < FR_METHOD__COUNT; k++) {
            fr_plot_series *se = &m->series[k];
            const fr_unit_view *mu = fr_view_unit_method(v, k);
            const fr_layer_view *L = fr_view_layer(mu, layer);
            snprintf(se->title, sizeof se->title, "%s", mname[k]);
            se->loss = mu ? mu->loss_after : NAN;
            if (L && L->w && L->shift) series_of(m, se, L->w, L->shift, L->cls, L->n, 1);
        }
        scatter_ranges(m);
        snprintf(m->xlabel, sizeof m->xlabel, "|W|");
        snprintf(m->ylabel, sizeof m->ylabel, "rounding shift (grid units)");
        return FR_OK;
    }
    if (strcmp(view, "reciprocal") == 0) {
        m->kind = FR_PLOT_RECIP;
        if (!lv->w || !lv->grad_s2)
            return fr_err_set(e, FR_EINPUT, "unit %s: no dL/dS2 (it exists for the running or finished FlexRound unit)",
                              v->name);
        m->n_series = 1;
        series_of(m, &m->series[0], lv->w, lv->grad_s2, NULL, lv->n, 0);   /* y is a gradient: no classes */
        scatter_ranges(m);
        snprintf(m->xlabel, sizeof m->xlabel, "W");
        snprintf(m->ylabel, sizeof m->ylabel, "dL/dS2");
        return FR_OK;
    }
    if (strcmp(view, "heatmap") == 0) {
        m->kind = FR_PLOT_HEAT;
        int qty = fr_view_heat_qty(lv, st->heat_qty);
        if (qty < 0) return fr_err_set(e, FR_EINPUT, "unit %s: layer %s has no per-weight arrays", v->name, lv->name);
        const float *d = fr_view_heat_data(lv, qty, &m->heat_mode, &m->heat_range);
        snprintf(m->heat_name, sizeof m->heat_name, "%s", fr_view_heat_name(qty));
        snprintf(m->heat_what, sizeof m->heat_what, "%s", fr_view_heat_what(qty));
        m->heat_agg = fr_view_heat_agg(qty);
        m->head_rows = lv->head_rows;
        m->head_cols = lv->head_cols;
        int rows = FR_MAX(1, lv->o), cols = (int)FR_MAX(1, lv->n / FR_MAX(1, lv->o));
        m->rows_all = rows;
        m->cols_all = cols;
        m->r0 = FR_MAX(0, FR_MIN(st->heat_top, rows - 1));
        m->c0 = FR_MAX(0, FR_MIN(st->heat_left, cols - 1));
        m->rows = st->heat_rows > 0 ? FR_MIN(st->heat_rows, rows - m->r0) : rows - m->r0;
        m->cols = st->heat_cols > 0 ? FR_MIN(st->heat_cols, cols - m->c0) : cols - m->c0;
        if (st->heat_rows <= 0) m->r0 = 0, m->rows = rows;
        if (st->heat_cols <= 0) m->c0 = 0, m->cols = cols;
        float *w = own(m, (size_t)m->rows * m->cols * sizeof *w);
        for (int r = 0; r < m->rows; r++)
            memcpy(w + (size_t)r * m->cols, d + (size_t)(m->r0 + r) * cols + m->c0, (size_t)m->cols * sizeof *w);
        m->heat = w;
        if (m->heat_agg) {
            m->tile_r = st->heat_tile_r, m->tile_c = st->heat_tile_c;
            if (m->tile_r <= 0 || m->tile_c <= 0) {
                int t = 1;
                while ((m->rows + t - 1) / t > 512 || (m->cols + t - 1) / t > 512) t++;
                m->tile_r = m->tile_c = t;
            }
        }
        m->xmin = m->c0;
        m->xmax = m->c0 + m->cols;
        m->ymin = m->r0;
        m->ymax = m->r0 + m->rows;
        if (m->rows < rows || m->cols < cols) {
            size_t tl = strlen(m->title);
            snprintf(m->title + tl, sizeof m->title - tl, " / rows %d-%d cols %d-%d", m->r0, m->r0 + m->rows - 1, m->c0,
                     m->c0 + m->cols - 1);
        }
        return FR_OK;
    }
    if (strcmp(view, "channels") == 0) {
        m->kind = FR_PLOT_CHAN;
        if (!lv->w || lv->o <= 0) return fr_err_set(e, FR_EINPUT, "layer %s has no weights", lv->name);
        int cols = (int)(lv->n / lv->o), group = FR_MAX(1, lv->kh * lv->kw), in_ch = cols / group;
        if (in_ch * group != cols) group = 1, in_ch = cols;   /* grouped convs: columns as they are */
        m->chan_group = group;
        m->chan = fr_xmalloc(sizeof *m->chan);
        fr_chanstats_compute(lv->w, lv->shift, lv->cls, lv->o, in_ch, group, 0, m->chan);
        snprintf(m->xlabel, sizeof m->xlabel, "channel");
        snprintf(m->ylabel, sizeof m->ylabel, "max |W|");
        return FR_OK;
    }
    return fr_err_set(e, FR_EINPUT, "unknown view '%s' (heatmap, scatter, loss, hist, compare, reciprocal, channels)", view);
}

int fr_plot_export_png(const fr_snapshot *s, int unit, int layer, const char *view, const fr_plot_state *st,
                       const char *path, fr_err *e)
{
    fr_plot_model m;
    int rc = fr_plot_model_build(s, unit, layer, view, st, &m, e);
    if (!rc) rc = fr_plot_model_png(&m, path, e);
    fr_plot_model_free(&m);
    return rc;
}
