/* plotmath.c — the plot maths shared by the cell and the pixel renderer (plot.h).
 *
 * Design note
 *   Smoothing, tick values, number labels, axis ranges and point classes are decided here
 *   once; plot.c (terminal cells), pngplot.c (pixels) and the plot model (plotmodel.c) call
 *   these and keep no variant of their own, so a number means the same on screen and in an
 *   exported PNG.  The EMA follows TensorBoard's lessons: debiased (TF#6439), smoothing capped
 *   below 1 (TB#4372), applied to the whole series before any windowing (TB#1518).
 */
#include "frtui/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/plotmodel.h"

void fr_plot_ema(const float *x, int n, double smooth, float *out)
{
    double a = smooth < 0 ? 0 : smooth > FR_SMOOTH_MAX ? FR_SMOOTH_MAX : smooth;
    double ema = 0, w = 0;   /* w = 1 - a^k over the k finite samples seen */
    float last = NAN;
    for (int t = 0; t < n; t++) {
        float v = x[t];
        if (isfinite(v)) {
            ema = a * ema + (1 - a) * v;
            w = a * w + (1 - a);
            last = (float)(ema / w);
        }
        out[t] = last;
    }
}

void fr_plot_fmt(char *buf, size_t n, double v)
{
    double a = fabs(v);
    if (v == 0) snprintf(buf, n, "0");
    else if (a >= 1e-2 && a < 1e4) {
        snprintf(buf, n, "%.3g", v);
    } else {
        snprintf(buf, n, "%.1e", v);
        /* 1.0e-03 -> 1e-3: shorter labels leave room for the plot */
        char *e = strchr(buf, 'e');
        if (e) {
            char mant[16], ex[16];
            size_t ml = (size_t)(e - buf);
            memcpy(mant, buf, ml);
            mant[ml] = 0;
            if (ml >= 2 && strcmp(mant + ml - 2, ".0") == 0) mant[ml - 2] = 0;
            int x = atoi(e + 1);
            snprintf(ex, sizeof ex, "e%d", x);
            snprintf(buf, n, "%s%s", mant, ex);
        }
    }
}

int fr_plot_ticks(double lo, double hi, int maxn, double *out)
{
    if (!(hi > lo) || maxn < 2) {
        out[0] = lo;
        return 1;
    }
    return fr_plot_nice_ticks(lo, hi, maxn, out, maxn, NULL);
}


int fr_plot_nice_ticks(double lo, double hi, int max_ticks, double *out, int cap, double *step)
{
    if (step) *step = 0;
    if (!(isfinite(lo) && isfinite(hi)) || cap < 1) return 0;
    if (hi < lo) { double t = lo; lo = hi; hi = t; }
    if (hi == lo) { out[0] = lo; return 1; }
    if (max_ticks < 2) max_ticks = 2;
    double raw = (hi - lo) / (max_ticks - 1), mag = pow(10.0, floor(log10(raw))), st = 10 * mag;
    static const double mult[] = { 1, 2, 5, 10 };
    for (int i = 0; i < 4; i++)
        if (mult[i] * mag >= raw * (1 - 1e-9)) { st = mult[i] * mag; break; }
    if (step) *step = st;
    int n = 0;
    for (double k = ceil(lo / st - 1e-9); n < cap; k += 1) {
        double v = k * st;
        if (v > hi + st * 1e-9) break;
        out[n++] = fabs(v) < st * 1e-9 ? 0.0 : v;
    }
    return n;
}

/* "1.50e-03" -> "1.5e-3" */
static void compact_exp(char *buf, size_t bufn)
{
    char *e = strchr(buf, 'e');
    if (!e) return;
    char mant[64], ex[16];
    snprintf(mant, sizeof mant, "%.*s", (int)(e - buf), buf);
    if (strchr(mant, '.')) {
        size_t l = strlen(mant);
        while (l && mant[l - 1] == '0') mant[--l] = 0;
        if (l && mant[l - 1] == '.') mant[--l] = 0;
    }
    int x = atoi(e + 1);
    snprintf(ex, sizeof ex, "e%d", x);
    size_t ml = strlen(mant), el = strlen(ex);
    if (ml + el + 1 > bufn) return;
    memcpy(buf, mant, ml);
    memcpy(buf + ml, ex, el + 1);
}

void fr_plot_fmt_step(double v, double step, char *buf, size_t n)
{
    char tmp[64];
    double a = fabs(v);
    if (!isfinite(v)) snprintf(tmp, sizeof tmp, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    else if (a == 0 || (step > 0 && a < step * 1e-6)) snprintf(tmp, sizeof tmp, "0");
    else if (a >= 1e5 || a <= 1e-3 * (1 + 1e-9) || (step > 0 && step <= 1e-3 * (1 + 1e-9) && a < 1e-2)) {
        int p = 2;
        if (step > 0) p = (int)FR_MAX(0, FR_MIN(6, floor(log10(a)) - floor(log10(step) + 1e-9)));
        snprintf(tmp, sizeof tmp, "%.*e", p, v);
        compact_exp(tmp, sizeof tmp);
    } else if (step > 0) {
        int d = (int)FR_MAX(0, ceil(-log10(step) - 1e-9));
        while (d < 8 && fabs(step * pow(10, d) - round(step * pow(10, d))) > 1e-6 * step * pow(10, d)) d++;
        snprintf(tmp, sizeof tmp, "%.*f", d, v);
    } else {
        snprintf(tmp, sizeof tmp, "%.3g", v);
        compact_exp(tmp, sizeof tmp);
    }
    if (!n) return;
    size_t l = strlen(tmp);
    if (l >= n) l = n - 1;
    memcpy(buf, tmp, l);
    buf[l] = 0;
}


void fr_plot_loss_window(int n, int planned, const fr_loss_opts *o, int *a, int *b)
{
    int full = FR_MAX(planned, n);
    if (full < 1) full = 1;
    int win = full;
    if (o->zoom > 0) {
        win = full >> FR_MIN(o->zoom, 30);
        if (win < 16) win = FR_MIN(16, full);
    }
    int s;
    if (o->zoom == 0) s = 0;
    else if (o->follow) s = FR_MAX(0, n - win);
    else s = FR_MAX(0, FR_MIN(o->start, full - win));
    *a = s;
    *b = s + win;
}

void fr_plot_loss_range(const float *loss, int n, int a, int b, int logy, double ref, double *ylo, double *yhi)
{
    /* y range over the visible window, finite (and positive under log) values only; computed
     * in axis space (log10 under log) and returned as values */
#define YMAP(v) (logy ? log10(v) : (v))
    double lo = INFINITY, hi = -INFINITY;
    for (int t = a; t < b && t < n; t++) {
        double v = loss[t];
        if (!isfinite(v) || (logy && v <= 0)) continue;
        v = YMAP(v);
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    if (ref > 0 && isfinite(ref) && lo <= hi) {
        double rv = YMAP(ref);
        /* include the RTN level only when it is near the data, else it squashes the curve */
        if (rv < hi + (hi - lo) * 0.5 + 1e-12) hi = fmax(hi, rv), lo = fmin(lo, rv);
    }
#undef YMAP
    if (!(lo <= hi)) {
        *ylo = NAN;
        *yhi = NAN;
        return;
    }
    if (hi - lo < 1e-12 * fmax(1, fabs(hi))) { lo -= 0.5 * fmax(fabs(lo) * 0.1, 1e-6); hi += 0.5 * fmax(fabs(hi) * 0.1, 1e-6); }
    double pad = (hi - lo) * 0.06;
    lo -= pad;
    hi += pad;
    *ylo = logy ? pow(10, lo) : lo;
    *yhi = logy ? pow(10, hi) : hi;
}

int fr_plot_point_class(float shift) { return fabsf(shift) > 1.0f ? FR_WC_AGGRESSIVE : FR_WC_INSIDE; }


/* k-th smallest of a[0..n) (Hoare quickselect; reorders a). */
static float select_kth(float *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float piv = a[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < piv) i++;
            while (a[j] > piv) j--;
            if (i <= j) { float t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

float fr_plot_quantile_abs(const float *v, int64_t n, double q, int log2_mode)
{
    enum { MAXS = 4096 };
    float buf[MAXS];
    int m = 0;
    int64_t step = n > MAXS ? (n + MAXS - 1) / MAXS : 1;
    for (int64_t i = 0; i < n && m < MAXS; i += step) {
        float a = log2_mode ? (v[i] > 0 ? fabsf(log2f(v[i])) : NAN) : fabsf(v[i]);
        if (isfinite(a)) buf[m++] = a;
    }
    if (!m) return 0;
    int k = (int)floor(q * (m - 1) + 0.5);
    return select_kth(buf, m, k < 0 ? 0 : k >= m ? m - 1 : k);
}

float fr_plot_nice_range(float r)
{
    static const float ladder[] = {0.02f, 0.05f, 0.1f, 0.2f, 0.5f, 1.0f, 2.0f};
    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++)
        if (r <= ladder[i]) return ladder[i];
    return 2.0f;
}

void fr_plot_scatter_range(const float *x, const float *y, int64_t n, int abs_x, float *xmax, float *ymax)
{
    float xm = fr_plot_quantile_abs(x, n, 0.999, 0), ym = fr_plot_quantile_abs(y, n, 0.999, 0);
    *xmax = xm > 0 ? xm * 1.05f : 1;
    *ymax = ym > 0 ? ym * 1.1f : 1;
}

void fr_plot_scatter_range_all(const float *x, const float *y, int64_t n, float *xmax, float *ymax)
{
    float xm = 0, ym = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        xm = fmaxf(xm, fabsf(x[i]));
        ym = fmaxf(ym, fabsf(y[i]));
    }
    *xmax = xm > 0 ? xm * 1.05f : 1;
    *ymax = ym > 0 ? ym * 1.1f : 1;
}
