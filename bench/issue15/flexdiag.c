/* flexdiag.c — issue 15 diagnosis harness (not built by make; links the private recon state).
 *
 * On the real MobileNetV2 bundle it runs unit 0 (Conv1) as RTN, begins the first BRECQ block
 * (expanded_conv_depthwise: dw 3x3 + ReLU6 + project 1x1) with FlexRound W4, batch 32, lr 1e-3,
 * n-calib 256, seed 1005 (SEED env overrides), and either
 *   flexdiag BUNDLE [dump]       : dumps W, s1, biases, G = dL/dW_hat, and (with "dump") all
 *                                  256 inputs X, FP targets T and 800x32 mini-batch indices to
 *                                  /tmp/hg; central-difference check of G; one fr_qlayer_step
 *                                  and dumps of the d1/D2/d3/d4 gradients and updated values
 *                                  (compare with ref.py grad);
 *   flexdiag BUNDLE "" N         : N fr_recon_step iterations, printing the loss every 10
 *                                  (compare with ref.py traj N 800); N = 800 also ends the unit
 *                                  and prints the full-calibration loss_after.
 *   FREEZE=d1_0,d4_0,...         : after every step reset those tensors (layer 0 = depthwise,
 *                                  1 = project) to init with zero Adam moments;
 *   LRS=d1_0,... LRF=0.1         : scale those tensors' Adam updates (= their lr) by LRF.
 * Build (from the worktree root, after make):
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc/recon -o /tmp/hg/fd bench/issue15/flexdiag.c \
 *     build/release/libfrtui-tools.a build/release/libfrtui.a \
 *     $(pkg-config --libs ncursesw libpng libzstd openblas zlib) -lpthread -lm
 * Findings: docs/issue15-flexround-diagnosis.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frtui/recon.h"
#include "frtui/frm.h"
#include "frtui/exec.h"
#include "frtui/quant.h"
#include "recon_impl.h"

static void dump(const char *path, const void *p, size_t bytes)
{
    FILE *f = fopen(path, "wb"); fwrite(p, 1, bytes, f); fclose(f);
}

static double loss_of(fr_recon *r, const fr_unit *u, int B)
{
    fr_exec_forward(r->x, B);
    const fr_graph *g = &r->fm.g;
    const fr_node *n = &g->nodes[u->last];
    size_t per = (size_t)n->c * n->h * n->w;
    const float *y = fr_exec_output(r->x);
    double l = 0;
    for (size_t t = 0; t < (size_t)B * per; t++) { double d = (double)y[t] - r->tgt[t]; l += d * d; }
    return l / ((double)B * n->h * n->w);
}

int main(int argc, char **argv)
{
    const char *file = argv[1];
    int dumpall = argc > 2;
    fr_model m; fr_err e; fr_err_clear(&e);
    fr_model_init(&m);
    if (fr_frm_read(file, &m, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    fr_run_config c;
    fr_run_config_preset(&c, "teaching", &e);
    c.method = FR_METHOD_FLEXROUND; c.bits = 4; c.iters = 800; c.batch = 32; c.lr = 1e-3f; c.n_calib = 256;
    if (getenv("INIT")) c.init_minmax = !strcmp(getenv("INIT"), "minmax");
    if (getenv("NCAL")) c.n_calib = atoi(getenv("NCAL"));
    c.seed = getenv("SEED") ? strtoull(getenv("SEED"), 0, 10) : 1005; c.threads = 1;
    snprintf(c.stop_unit, sizeof c.stop_unit, "block:expanded_conv_depthwise");
    fr_recon *r = fr_recon_new(&m, &c, &e);
    if (!r) { fprintf(stderr, "%s\n", e.msg); return 1; }
    /* unit 0 (Conv1): RTN to keep this short */
    fr_recon_set_method(r, FR_METHOD_RTN);
    if (fr_recon_begin(r, 0, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    while (fr_recon_iter(r) < fr_recon_iters(r)) fr_recon_step(r);
    if (fr_recon_end(r, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    fr_recon_set_method(r, FR_METHOD_FLEXROUND);
    if (fr_recon_begin(r, 1, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    int k = r->cur;
    const fr_unit *u = &r->part.units[k];
    unit_state *s = &r->us[k];
    const fr_graph *g = &r->fm.g;
    printf("unit %d layers %d first %d last %d inputs %d loss_rtn %.6f\n", k, u->n_layers, u->first, u->last,
           fr_exec_n_inputs(r->x), s->loss_rtn);
    for (int l = 0; l < u->n_layers; l++) {
        fr_qlayer *q = &s->q[l];
        printf("layer %d node %s o %d i %d kh %d kw %d conv %d s1 %.9g d1 %.9g d4n %zu lo %g hi %g\n", l,
               g->nodes[u->layers[l]].name, q->o, q->i, q->kh, q->kw, q->is_conv, q->s1[0], q->d1.data[0], q->d4.n,
               q->qlo[0], q->qhi[0]);
        char p[256];
        snprintf(p, sizeof p, "/tmp/hg/W%d.bin", l); dump(p, q->W, q->n * 4);
        snprintf(p, sizeof p, "/tmp/hg/s1_%d.bin", l); dump(p, q->s1, 4);
        const fr_node *nd = &g->nodes[u->layers[l]];
        printf("  op %d group %d stride %d,%d pad %d,%d,%d,%d bias %d\n", nd->op, nd->a.groups, nd->a.sh, nd->a.sw,
               nd->a.pt, nd->a.pl, nd->a.pb, nd->a.pr, nd->n_param > 1 ? nd->param[1] : -1);
        if (nd->n_param > 1 && nd->param[1] >= 0) { snprintf(p, sizeof p, "/tmp/hg/b%d.bin", l);
            dump(p, g->tensors[nd->param[1]].data, g->tensors[nd->param[1]].dim[0] * 4); }
    }
    for (int a = u->first; a <= u->last; a++)
        printf("node %d %s op %d c %d h %d w %d\n", a, g->nodes[a].name, g->nodes[a].op, g->nodes[a].c, g->nodes[a].h, g->nodes[a].w);
    int B = r->bsz;
    int e0 = fr_exec_input_node(r->x, 0);
    size_t per_in = nsize(g, e0), per_out = nsize(g, u->last);
    printf("input node %d per_in %zu per_out %zu\n", e0, per_in, per_out);
    if (dumpall) {   /* all 256 calibration inputs (quantized path) and FP targets */
        int N = r->n_calib;
        int32_t *all = malloc(N * 4);
        for (int j = 0; j < N; j++) all[j] = j;
        float *buf = malloc((size_t)N * per_in * 4);
        fr_calib_gather(r, 1, e0, all, N, buf, &e); dump("/tmp/hg/X.bin", buf, (size_t)N * per_in * 4); free(buf);
        buf = malloc((size_t)N * per_out * 4);
        fr_calib_gather(r, 0, u->last, all, N, buf, &e); dump("/tmp/hg/T.bin", buf, (size_t)N * per_out * 4); free(buf);
        /* the mini-batch indices of 800 iterations: replay the rng on a copy */
        fr_rng rr = r->rng;
        int32_t *ix = malloc(800 * B * 4);
        for (int t = 0; t < 800 * B; t++) ix[t] = (int32_t)fr_rng_below(&rr, (uint32_t)r->n_calib);
        dump("/tmp/hg/idx.bin", ix, 800 * B * 4);
        free(ix); free(all);
    }
    if (argc > 3) {
        int n = atoi(argv[3]);
        for (int t = 0; t < n; t++) {
            float pd1[2], pd4[2][64];
            for (int l = 0; l < 2; l++) { pd1[l] = s->q[l].d1.data[0]; for (size_t j = 0; j < s->q[l].d4.n; j++) pd4[l][j] = s->q[l].d4.data[j]; }
            if (fr_recon_step(r)) { printf("step failed\n"); break; }
            const char *ls = getenv("LRS");
            if (ls) {
                float f = (float)atof(getenv("LRF"));
                for (int l = 0; l < 2; l++) {
                    fr_qlayer *q = &s->q[l];
                    char key[16];
                    snprintf(key, sizeof key, "d1_%d", l);
                    if (strstr(ls, key)) { q->d1.data[0] = pd1[l] + f * (q->d1.data[0] - pd1[l]); q->s1[0] = expf(q->d1.data[0]); }
                    snprintf(key, sizeof key, "d4_%d", l);
                    if (strstr(ls, key)) for (size_t j = 0; j < q->d4.n; j++) q->d4.data[j] = pd4[l][j] + f * (q->d4.data[j] - pd4[l][j]);
                }
            }
            const char *fz = getenv("FREEZE");
            if (fz) for (int l = 0; l < 2; l++) {
                fr_qlayer *q = &s->q[l];
                char key[16];
                snprintf(key, sizeof key, "d4_%d", l);
                if (strstr(fz, key)) for (size_t j = 0; j < q->d4.n; j++) { q->d4.data[j] = 0; q->d4.m[j] = 0; q->d4.v[j] = 0; }
                snprintf(key, sizeof key, "d1_%d", l);
                if (strstr(fz, key)) { q->d1.data[0] = q->d1_init[0]; q->d1.m[0] = 0; q->d1.v[0] = 0; q->s1[0] = expf(q->d1_init[0]); }
                snprintf(key, sizeof key, "d3_%d", l);
                if (strstr(fz, key)) for (int j = 0; j < q->o; j++) { q->d3.data[j] = 0; q->d3.m[j] = 0; q->d3.v[j] = 0; }
            }
            if (t % 10 == 0 || t == n - 1) {
                int nl; const float *L = fr_recon_loss(r, &nl);
                printf("%d %.3f d1 %.5f %.5f d4dw %.5f\n", t, L[nl - 1], s->q[0].d1.data[0], s->q[1].d1.data[0], s->q[0].d4.data[0]);
                fflush(stdout);
            }
        }
        if (n == fr_recon_iters(r)) {
            if (fr_recon_end(r, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
            printf("FINAL loss_rtn %.3f loss_after %.3f d1 %.5f %.5f d4dw %.5f\n", s->loss_rtn, s->loss_after,
                   s->q[0].d1.data[0], s->q[1].d1.data[0], s->q[0].d4.data[0]);
            for (int l = 0; l < 2; l++) {
                fr_qlayer *q = &s->q[l];
                double mn = 1e9, mx = -1e9, sm = 0, d2m = 0;
                for (int j = 0; j < q->o; j++) { double v = q->d3.data[j]; sm += v; if (v < mn) mn = v; if (v > mx) mx = v; }
                for (size_t j = 0; j < q->n; j++) d2m += q->D2.data[j];
                printf("  layer %d d3 mean %.4f min %.4f max %.4f  D2 mean %.4f\n", l, sm / q->o, mn, mx, d2m / q->n);
            }
        }
        return 0;
    }
    /* one mini-batch exactly as fr_recon_step draws it */
    fr_rng save = r->rng;
    for (int j = 0; j < B; j++) r->idx[j] = (int32_t)fr_rng_below(&r->rng, (uint32_t)r->n_calib);
    r->rng = save;
    fr_calib_gather(r, 1, e0, r->idx, B, r->bin[0], &e);
    fr_exec_bind_input(r->x, 0, r->bin[0]);
    fr_calib_gather(r, 0, u->last, r->idx, B, r->tgt, &e);
    for (int l = 0; l < u->n_layers; l++) fr_qlayer_forward(&s->q[l]);
    double L0 = loss_of(r, u, B);
    printf("iter0 loss %.9g idx0 %d %d %d\n", L0, r->idx[0], r->idx[1], r->idx[2]);
    /* dy and backward */
    const fr_node *ln = &g->nodes[u->last];
    double norm = 1.0 / ((double)B * ln->h * ln->w);
    const float *y = fr_exec_output(r->x);
    for (size_t t = 0; t < (size_t)B * per_out; t++) r->dy[t] = (float)(2.0 * norm) * (y[t] - r->tgt[t]);
    fr_exec_backward(r->x, B, r->dy, 0);
    for (int l = 0; l < u->n_layers; l++) {
        fr_qlayer *q = &s->q[l];
        const float *G = fr_exec_param_grad(r->x, g->nodes[u->layers[l]].param[0]);
        float *Gc = malloc(q->n * 4); memcpy(Gc, G, q->n * 4);
        char p[64]; snprintf(p, sizeof p, "/tmp/hg/G%d.bin", l); dump(p, Gc, q->n * 4);
        snprintf(p, sizeof p, "/tmp/hg/What%d.bin", l); dump(p, q->w_hat, q->n * 4);
        /* central differences on w_hat for a few elements */
        size_t picks[8] = {0, 1, 5, 17, q->n / 3, q->n / 2, q->n - 2, q->n - 1};
        double maxrel = 0;
        for (int pi = 0; pi < 8; pi++) {
            size_t kk = picks[pi];
            float w0 = q->w_hat[kk];
            double h = 1e-2 * (fabs(w0) + 1e-2);
            q->w_hat[kk] = (float)(w0 + h); double Lp = loss_of(r, u, B);
            q->w_hat[kk] = (float)(w0 - h); double Lm = loss_of(r, u, B);
            q->w_hat[kk] = w0;
            double fd = (Lp - Lm) / (2 * h);
            printf("  layer %d k %zu G %.6g fd %.6g\n", l, kk, Gc[kk], fd);
            double rel = fabs(fd - Gc[kk]) / (fabs(fd) + 1e-6);
            if (rel > maxrel) maxrel = rel;
        }
        printf("layer %d max rel diff %.3g\n", l, maxrel);
        free(Gc);
    }
    /* (b) quantizer gradients and (c) one step: redo backward, then fr_qlayer_step */
    fr_exec_forward(r->x, B);
    fr_exec_backward(r->x, B, r->dy, 0);
    for (int l = 0; l < u->n_layers; l++) {
        fr_qlayer *q = &s->q[l];
        const float *G = fr_exec_param_grad(r->x, g->nodes[u->layers[l]].param[0]);
        fr_qlayer_step(q, G, 1e-3f, 1, 0, 0, 0, NULL);
        char p[64];
        snprintf(p, sizeof p, "/tmp/hg/gD2_%d.bin", l); dump(p, q->D2.grad, q->n * 4);
        snprintf(p, sizeof p, "/tmp/hg/gd1_%d.bin", l); dump(p, q->d1.grad, 4);
        snprintf(p, sizeof p, "/tmp/hg/gd3_%d.bin", l); dump(p, q->d3.grad, q->o * 4);
        if (q->d4.n) { snprintf(p, sizeof p, "/tmp/hg/gd4_%d.bin", l); dump(p, q->d4.grad, q->d4.n * 4); }
        snprintf(p, sizeof p, "/tmp/hg/D2_%d.bin", l); dump(p, q->D2.data, q->n * 4);
        snprintf(p, sizeof p, "/tmp/hg/d1_%d.bin", l); dump(p, q->d1.data, 4);
        snprintf(p, sizeof p, "/tmp/hg/d3_%d.bin", l); dump(p, q->d3.data, q->o * 4);
        if (q->d4.n) { snprintf(p, sizeof p, "/tmp/hg/d4_%d.bin", l); dump(p, q->d4.data, q->d4.n * 4); }
        printf("layer %d gd1 %.6g d1 after %.9g\n", l, q->d1.grad[0], q->d1.data[0]);
    }
    fflush(stdout);
    return 0;
}
