/* view_fixture.h — hand-built, deterministic snapshots for the view/canvas tests and golden
 * frames (no worker needed).  fixture_snapshot() returns a run of 12 units: 0..4 done with
 * FlexRound, 5 running (600/1000 iterations), 6..11 pending (RTN preview); unit 3 also carries
 * RTN and AdaRound alternatives for the compare view.  Caller releases with
 * fr_snapshot_release. */
#ifndef VIEW_FIXTURE_H
#define VIEW_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/qstats.h"
#include "frtui/snapshot.h"

static float fx_clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static void fx_stats(fr_layer_view *L)
{
    memset(&L->st, 0, sizeof L->st);
    double e = 0, sig = 0;
    int64_t aggr = 0, aggr0 = 0, clip = 0, chg = 0, und = 0;
    for (int64_t i = 0; i < L->n; i++) {
        float s1 = L->s1[L->n_s1 > 1 ? i / (L->n / L->o) : 0];
        float q = L->code[i] * s1;
        e += (L->w[i] - q) * (L->w[i] - q);
        sig += L->w[i] * L->w[i];
        float u = L->u[i];
        /* the quantizer's own class (fr_qclass), as recon_view.c fills it */
        uint8_t *cls = (uint8_t *)L->cls;
        cls[i] = (uint8_t)fr_qclass(u, L->code[i], -8, 7, 0);
        aggr += cls[i] == FR_WC_AGGRESSIVE;
        aggr0 += cls[i] == FR_WC_AGGRESSIVE;
        clip += cls[i] == FR_WC_CLIPPED;
        if (L->code[i] != L->rtn_code[i]) chg++;
        int b = (int)floorf((L->shift[i] + FR_SHIFT_RANGE) / (2 * FR_SHIFT_RANGE) * FR_SHIFT_BINS);
        L->st.shift_hist[b < 0 ? 0 : b >= FR_SHIFT_BINS ? FR_SHIFT_BINS - 1 : b] += 1;
        if (L->s2) {
            b = (int)floorf((logf(L->s2[i]) + FR_S2_LN_RANGE) / (2 * FR_S2_LN_RANGE) * FR_S2_BINS);
            L->st.s2_hist[b < 0 ? 0 : b >= FR_S2_BINS ? FR_S2_BINS - 1 : b] += 1;
        }
        if (L->h) {
            b = (int)(L->h[i] * FR_H_BINS);
            L->st.h_hist[b < 0 ? 0 : b >= FR_H_BINS ? FR_H_BINS - 1 : b] += 1;
            und += L->h[i] > 0.01f && L->h[i] < 0.99f;
        }
    }
    L->st.sqnr_db = 10 * log10(sig / (e > 0 ? e : 1e-30));
    L->st.aggressive = (double)aggr / L->n;
    L->st.clipped = (double)clip / L->n;
    L->st.aggressive_init = (double)aggr0 / L->n * 0.8;
    L->st.changed_vs_rtn = (double)chg / L->n;
    L->st.undecided = (double)und / L->n;
}

/* method: FR_METHOD_*; status: FR_UNIT_*; iter: iterations done */
static fr_unit_view *fx_unit(const char *name, const char *ops, const char *shape, int n_layers, const int (*shp)[4],
                             int method, int status, int iter, int iters, uint64_t seed)
{
    size_t floats = (size_t)iters * 2 + 64;
    for (int l = 0; l < n_layers; l++) floats += (size_t)shp[l][0] * shp[l][1] * shp[l][2] * shp[l][3] * 12 + 2 * ((size_t)shp[l][0] + shp[l][1]) + 256;
    fr_unit_view *u = fr_unit_view_new(n_layers, floats);
    snprintf(u->name, sizeof u->name, "%s", name);
    snprintf(u->ops, sizeof u->ops, "%s", ops);
    snprintf(u->shape, sizeof u->shape, "%s", shape);
    u->method = (fr_method)method;
    u->bits = 4;
    u->status = (fr_unit_status)status;
    u->iter = iter;
    u->iters = iters;
    fr_rng rng;
    fr_rng_seed(&rng, seed);
    /* progress of the optimisation: 0 for pending, iter/iters otherwise */
    float prog = status == FR_UNIT_PENDING ? 0 : (float)iter / iters;
    for (int l = 0; l < n_layers; l++) {
        fr_layer_view *L = &u->layers[l];
        /* engine naming: a block is called after its first layer ("block:layer1.0.conv1") */
        if (strncmp(name, "block:", 6) == 0) {
            const char *dot = strrchr(name, '.');
            snprintf(L->name, sizeof L->name, "%.*s.conv%d", (int)(dot - name - 6), name + 6, l + 1);
        } else {
            snprintf(L->name, sizeof L->name, n_layers > 1 ? "%s.conv%d" : "%s", name, l + 1);
        }
        L->o = shp[l][0]; L->i = shp[l][1]; L->kh = shp[l][2]; L->kw = shp[l][3];
        L->n = (int64_t)L->o * L->i * L->kh * L->kw;
        L->bits = 4;
        L->n_s1 = 1;
        float *s1 = fr_unit_view_alloc_floats(u, 1);
        float *w = fr_unit_view_alloc_floats(u, (size_t)L->n);
        float *uu = fr_unit_view_alloc_floats(u, (size_t)L->n);
        float *code = fr_unit_view_alloc_floats(u, (size_t)L->n);
        float *rtn = fr_unit_view_alloc_floats(u, (size_t)L->n);
        float *shift = fr_unit_view_alloc_floats(u, (size_t)L->n);
        L->cls = (const uint8_t *)fr_unit_view_alloc_floats(u, (size_t)(L->n + 3) / 4);
        float amax = 0;
        int cols = (int)(L->n / L->o);
        for (int64_t i = 0; i < L->n; i++) {
            int oc = (int)(i / cols);
            float chs = 0.6f + 0.8f * (float)((oc * 7) % 11) / 10.0f;   /* per-channel spread */
            w[i] = 0.08f * chs * fr_rng_normal(&rng);
            amax = fmaxf(amax, fabsf(w[i]));
        }
        s1[0] = amax / 7.5f;
        /* a few large weights beyond the grid (the search clips them): two rays of clipped points */
        for (int64_t i = 5; i < L->n; i += 97) w[i] = (i % 2 ? 1.0f : -1.0f) * amax * (1.1f + 0.4f * fr_rng_uniform(&rng));
        L->s1 = s1;
        L->s1_init = s1;
        float *lo = fr_unit_view_alloc_floats(u, 1), *hi = fr_unit_view_alloc_floats(u, 1);
        lo[0] = -8, hi[0] = 7;
        L->qlo = lo, L->qhi = hi;
        float *s2 = NULL, *sc = NULL, *g = NULL, *h = NULL, *f3 = NULL, *f4 = NULL;
        if (method == FR_METHOD_FLEXROUND && status != FR_UNIT_PENDING) {
            s2 = fr_unit_view_alloc_floats(u, (size_t)L->n);
            sc = fr_unit_view_alloc_floats(u, (size_t)L->n);
            g = fr_unit_view_alloc_floats(u, (size_t)L->n);
            /* per output channel (row) and per input channel (a column group of kh*kw) */
            f3 = fr_unit_view_alloc_floats(u, (size_t)L->o);
            f4 = fr_unit_view_alloc_floats(u, (size_t)L->i);
            for (int oc = 0; oc < L->o; oc++) f3[oc] = expf(prog * 0.08f * sinf((float)oc * 0.9f));
            for (int ic = 0; ic < L->i; ic++) f4[ic] = expf(prog * 0.05f * cosf((float)ic * 0.37f));
        }
        if (method == FR_METHOD_ADAROUND && status != FR_UNIT_PENDING) h = fr_unit_view_alloc_floats(u, (size_t)L->n);
        for (int64_t i = 0; i < L->n; i++) {
            int oc = (int)(i / cols), ic = (int)(i % cols) / (L->kh * L->kw);
            uu[i] = w[i] / s1[0];
            rtn[i] = fx_clampf(roundf(uu[i]), -8, 7);
            float c = rtn[i];
            if (s2) {
                /* learned S2: log-normal around 1, wider for large |W| (the reciprocal rule) */
                float a = fabsf(uu[i]) / 7.5f;
                float d2 = prog * (0.10f + 0.45f * a) * fr_rng_normal(&rng);
                s2[i] = expf(d2);
                sc[i] = s2[i] * (f3[oc] * f4[ic]);
                c = fx_clampf(rintf(w[i] / (s1[0] * sc[i])), -8, 7);   /* the quantizer's order of operations */
                g[i] = -w[i] / (s1[0] * s2[i] * s2[i]) * (0.02f + 0.01f * fr_rng_normal(&rng)) * 1e-2f;
            } else if (h) {
                h[i] = fr_rng_uniform(&rng) < 0.93f ? (fr_rng_uniform(&rng) < 0.5f ? 0.0f : 1.0f) : fr_rng_uniform(&rng);
                c = fx_clampf(floorf(uu[i]) + (h[i] >= 0.5f ? 1.0f : 0.0f), -8, 7);
            }
            code[i] = c;
            shift[i] = c - uu[i];
        }
        L->w = w; L->u = uu; L->code = code; L->rtn_code = rtn; L->shift = shift;
        L->s2 = s2; L->s_comb = sc; L->grad_s2 = g; L->h = h; L->s3 = f3; L->s4 = f4;
        fx_stats(L);
    }
    double base = 0.02 + 0.01 * (double)(seed % 5);
    u->loss_rtn = base;
    if (status != FR_UNIT_PENDING && method != FR_METHOD_RTN) {
        float *loss = fr_unit_view_alloc_floats(u, (size_t)iters);
        float *rec = NULL;
        for (int t = 0; t < iter; t++) {
            double clean = base * (0.32 + 0.75 * exp(-t / 140.0));
            loss[t] = (float)(clean * (1 + 0.25 * fr_rng_normal(&rng)));
            if (loss[t] <= 0) loss[t] = (float)(clean * 0.2);
        }
        (void)rec;
        u->loss = loss;
        u->n_loss = iter;
        u->loss_before = loss[0];
        u->loss_after = base * (0.32 + 0.75 * exp(-iter / 140.0));
    } else if (method == FR_METHOD_RTN && status != FR_UNIT_PENDING) {
        u->loss_after = base;
        u->loss_before = base;
    }
    u->rel_vs_rtn = u->loss_after / u->loss_rtn;
    double agg = 0, clip = 0, tot = 0;
    for (int l = 0; l < n_layers; l++) {
        agg += u->layers[l].st.aggressive * u->layers[l].n;
        clip += u->layers[l].st.clipped * u->layers[l].n;
        tot += u->layers[l].n;
    }
    u->aggressive = tot > 0 ? agg / tot : 0;
    u->clipped = tot > 0 ? clip / tot : 0;
    return u;
}

static fr_snapshot *fixture_snapshot(void)
{
    static const struct { const char *name, *ops, *shape; int nl; int shp[2][4]; } U[12] = {
        {"conv1", "conv+relu", "16x28x28", 1, {{16, 1, 3, 3}}},
        {"block:layer1.0.conv1", "block: conv,relu,conv,add,relu", "16x28x28", 2, {{16, 16, 3, 3}, {16, 16, 3, 3}}},
        {"block:layer1.1.conv1", "block: conv,relu,conv,add,relu", "16x28x28", 2, {{16, 16, 3, 3}, {16, 16, 3, 3}}},
        {"block:layer2.0.conv1", "block: conv,relu,conv,add,relu", "32x14x14", 2, {{32, 16, 3, 3}, {32, 32, 3, 3}}},
        {"block:layer2.1.conv1", "block: conv,relu,conv,add,relu", "32x14x14", 2, {{32, 32, 3, 3}, {32, 32, 3, 3}}},
        {"block:layer3.0.conv1", "block: conv,relu,conv,add,relu", "64x7x7", 2, {{64, 32, 3, 3}, {64, 64, 3, 3}}},
        {"block:layer3.1.conv1", "block: conv,relu,conv,add,relu", "64x7x7", 2, {{64, 64, 3, 3}, {64, 64, 3, 3}}},
        {"block:layer4.0.conv1", "block: conv,relu,conv,add,relu", "64x4x4", 1, {{64, 64, 3, 3}}},
        {"block:layer4.1.conv1", "block: conv,relu,conv,add,relu", "64x4x4", 1, {{64, 64, 3, 3}}},
        {"pool", "avgpool", "64", 1, {{64, 64, 1, 1}}},
        {"fc1", "linear+relu", "64", 1, {{64, 64, 1, 1}}},
        {"fc", "linear", "10", 1, {{10, 64, 1, 1}}},
    };
    fr_snapshot *s = fr_snapshot_new(12);
    s->gen = 42;
    snprintf(s->info.model, sizeof s->info.model, "resnet-fmnist.frm");
    s->info.method = FR_METHOD_FLEXROUND;
    s->info.bits = 4;
    s->info.act_bits = 8;
    s->info.iters = 1000;
    s->info.batch = 32;
    s->info.lr = 3e-3f;
    s->info.threads = 3;
    snprintf(s->info.preset, sizeof s->info.preset, "teaching");
    snprintf(s->info.granularity, sizeof s->info.granularity, "block");
    snprintf(s->info.blas_core, sizeof s->info.blas_core, "Haswell");
    s->status = FR_RUN_RUNNING;
    s->cur_unit = 5;
    s->it_per_s = 231;
    s->eta_s = 62;
    s->elapsed_s = 85;
    snprintf(s->message, sizeof s->message, "unit 5 layer3.0: iteration 600/1000");
    for (int i = 0; i < 12; i++) {
        int status = i < 5 ? FR_UNIT_DONE : i == 5 ? FR_UNIT_RUNNING : FR_UNIT_PENDING;
        int iter = i < 5 ? 1000 : i == 5 ? 600 : 0;
        s->units[i] = fx_unit(U[i].name, U[i].ops, U[i].shape, U[i].nl, U[i].shp, FR_METHOD_FLEXROUND, status, iter, 1000,
                              1000 + (uint64_t)i);
    }
    /* the first and last layers run at 8 bits (first_last_bits), as in a real run */
    for (int i = 0; i < 12; i += 11) {
        s->units[i]->bits = 8;
        for (int l = 0; l < s->units[i]->n_layers; l++) s->units[i]->layers[l].bits = 8;
    }
    /* compare alternatives for unit 3 */
    fr_unit_view *u3 = s->units[3];
    u3->alt[FR_METHOD_RTN] = fx_unit(U[3].name, U[3].ops, U[3].shape, U[3].nl, U[3].shp, FR_METHOD_RTN, FR_UNIT_DONE, 0, 1000, 1003);
    u3->alt[FR_METHOD_ADAROUND] = fx_unit(U[3].name, U[3].ops, U[3].shape, U[3].nl, U[3].shp, FR_METHOD_ADAROUND, FR_UNIT_DONE, 1000, 1000, 1003);
    return s;
}

#endif
