/* bench_units.c — the reconstruction loop's speed: sgemm peak, standard unit shapes, every
 * unit of the samples, whole-model runs, frame builds and checkpoints (bench.h).
 *
 * Design note
 *   What is timed is the production code path: fr_recon_step (sampler gather, quantizer
 *   forward, unit forward, loss, unit backward, fused grad+Adam) on units built with the same
 *   graph builders the importers use, plus fr_exec_forward for the RTN (forward-only) figure.
 *   Every figure is the median over >= 5 runs, each run long enough (>= min_run seconds) that
 *   timer resolution does not matter; min and max are kept to show the noise (these 2-core VMs
 *   are shared, so expect up to 2x spread).
 *   AdaRound has a cheap warm-up phase (no regulariser) and a costlier one (regulariser on,
 *   80 % of a run); each timed unit is begun with an iteration budget such that all timed
 *   iterations fall in the regulariser phase, i.e. the figure is the steady state.
 *   Useful FLOPs per iteration: forward 2*MACs of every conv/linear, backward dW (same) plus dX
 *   (same) for layers whose input gradient feeds another layer of the unit.  The sgemm peak is
 *   measured at start in the same process, so ratios are same-run ratios.
 *   Ownership/threading: single-threaded apart from OpenBLAS; everything allocated is freed
 *   before return.
 */
#include "frtui/bench.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frtui/blas.h"
#include "frtui/ckpt.h"
#include "frtui/recon_ckpt.h"
#include "frtui/exec.h"
#include "frtui/lm.h"
#include "frtui/ops.h"
#include "frtui/partition.h"
#include "frtui/quant.h"
#include "frtui/recon.h"
#include "frtui/snapshot.h"
#include "frtui/view.h"
#include "frtui/worker.h"

/* ---- timing ------------------------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

const int fr_bench_frame_sizes[3][2] = {{200, 60}, {160, 48}, {80, 24}};

double fr_bench_median(double *v, int n)
{
    if (n <= 0) return NAN;
    qsort(v, (size_t)n, sizeof v[0], cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef int (*iter_fn)(void *ctx, int n);

/* runs x per_run iterations; ms per iteration, median/min/max over runs. */
static fr_bench_timing time_runs(iter_fn f, void *ctx, int runs, int per_run)
{
    double v[64];
    fr_bench_timing t = {0, 0, 0, 0, per_run};
    if (runs > 64) runs = 64;
    for (int r = 0; r < runs; r++) {
        double t0 = fr_now();
        if (f(ctx, per_run)) break;
        v[t.runs++] = (fr_now() - t0) * 1e3 / per_run;
    }
    if (!t.runs) { t.med = t.lo = t.hi = NAN; return t; }
    t.med = fr_bench_median(v, t.runs);   /* sorts v */
    t.lo = v[0];
    t.hi = v[t.runs - 1];
    return t;
}

/* Iterations per run for an estimated ms/iteration. */
static int per_run_for(const fr_bench_opts *o, double est_ms)
{
    double n = o->min_run * 1e3 / (est_ms > 1e-3 ? est_ms : 1e-3);
    return n < 3 ? 3 : n > 100000 ? 100000 : (int)ceil(n);
}

/* ---- the quantizer's passes ---------------------------------------------------------------- */

/* One layer's forward (w_hat) and fused gradient + Adam step with a fixed random G: what every
 * reconstruction iteration runs once per layer besides the network.  AdaRound is timed with
 * its regulariser on, its costlier phase. */
typedef struct qk_ctx { fr_qlayer q; const float *G; int t; } qk_ctx;

static int qk_iter(void *ctx, int n)
{
    qk_ctx *c = ctx;
    for (int i = 0; i < n; i++) {
        fr_qlayer_forward(&c->q);
        if (fr_qlayer_step(&c->q, c->G, 1e-3f, ++c->t, 10.0f, 0.01f, 1, NULL)) return 1;
    }
    return 0;
}

void fr_bench_quant(fr_bench *b)
{
    /* The last row times the depthwise layer with its 9-weight rows run one by one through the
     * scalar tail (fr_quant_set_flat_rows(0)): the flat blocks' gain, measured in the same run. */
    static const struct { const char *name; int o, i, k, rows; } shapes[] = {
        {"1x1 1280x320", 1280, 320, 1, 0},   /* MobileNetV2's Conv_1 */
        {"3x3 256x256", 256, 256, 3, 0},     /* a ResNet block's conv */
        {"dw 3x3 960", 960, 1, 3, 0},        /* MobileNetV2's last depthwise conv */
        {"dw, row by row", 960, 1, 3, 1},
    };
    fr_rng r;
    fr_rng_seed(&r, 2);
    printf("Quantizer passes (forward + gradient/Adam step per layer, RTN forward only; W4 per-tensor, ns per weight,\n"
           "median of %d runs):\n",
           b->o.runs);
    printf("  %-14s %10s %10s %10s\n", "layer", "RTN", "AdaRound", "FlexRound");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const size_t n = (size_t)shapes[s].o * shapes[s].i * shapes[s].k * shapes[s].k;
        float *W = fr_xmalloc(n * sizeof(float)), *G = fr_xmalloc(n * sizeof(float));
        for (size_t k = 0; k < n; k++) {
            W[k] = (fr_rng_uniform(&r) - 0.5f) * 0.2f;
            G[k] = (fr_rng_uniform(&r) - 0.5f) * 1e-3f;
        }
        printf("  %-14s", shapes[s].name);
        fr_quant_set_flat_rows(!shapes[s].rows);
        for (int m = 0; m < FR_METHOD__COUNT; m++) {
            fr_qconfig cfg;
            fr_qconfig_default(&cfg);
            qk_ctx c = {.G = G};
            fr_err e;
            double ns = NAN;
            if (fr_qlayer_init(&c.q, (fr_method)m, &cfg, shapes[s].o, shapes[s].i, shapes[s].k, shapes[s].k, 1, W, &e) ==
                FR_OK) {
                qk_iter(&c, 2);
                double t0 = fr_now();
                qk_iter(&c, 3);
                double est = (fr_now() - t0) * 1e3 / 3;
                fr_bench_timing tm = time_runs(qk_iter, &c, b->o.runs, per_run_for(&b->o, est));
                ns = tm.med * 1e6 / (double)n;
                fr_qlayer_free(&c.q);
            }
            if (b->n_qk < (int)(sizeof b->qk / sizeof b->qk[0])) {
                snprintf(b->qk[b->n_qk].shape, sizeof b->qk[0].shape, "%s", shapes[s].name);
                b->qk[b->n_qk].method = m;
                b->qk[b->n_qk].ns_per_weight = ns;
                b->n_qk++;
            }
            printf(" %10.2f", ns);
        }
        printf("\n");
        free(W);
        free(G);
    }
    fr_quant_set_flat_rows(1);
    printf("\n");
}

/* ---- sgemm peak --------------------------------------------------------------------------- */

typedef struct sg_ctx { int m, n, k; float *A, *B, *C; } sg_ctx;

static int sg_iter(void *ctx, int n)
{
    sg_ctx *c = ctx;
    for (int i = 0; i < n; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->m, c->n, c->k, 1.0f, c->A, c->k, c->B, c->n, 0.0f,
                    c->C, c->n);
    return 0;
}

void fr_bench_sgemm(fr_bench *b)
{
    static const int shapes[][3] = {
        {1024, 1024, 1024},
        {32, 196, 288},     /* BasicBlock 32ch 14x14 conv, one sample (im2col) */
        {32, 6272, 288},    /* the same conv over a batch of 32 in one call */
    };
    fr_rng r;
    fr_rng_seed(&r, 1);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        sg_ctx c = {shapes[s][0], shapes[s][1], shapes[s][2], NULL, NULL, NULL};
        c.A = fr_amalloc((size_t)c.m * c.k * sizeof(float));
        c.B = fr_amalloc((size_t)c.k * c.n * sizeof(float));
        c.C = fr_amalloc((size_t)c.m * c.n * sizeof(float));
        FR_ASSERT(c.A && c.B && c.C);
        for (size_t i = 0; i < (size_t)c.m * c.k; i++) c.A[i] = fr_rng_uniform(&r) - 0.5f;
        for (size_t i = 0; i < (size_t)c.k * c.n; i++) c.B[i] = fr_rng_uniform(&r) - 0.5f;
        double fl = 2.0 * c.m * c.n * c.k;
        for (int t = 1; t <= 2; t++) {
            fr_blas_set_gemm_threads(t);   /* raw OpenBLAS threading, for the peak only (reset below) */
            sg_iter(&c, 2);
            double t0 = fr_now();
            sg_iter(&c, 3);
            double est = (fr_now() - t0) * 1e3 / 3;
            fr_bench_timing tm = time_runs(sg_iter, &c, b->o.runs, per_run_for(&b->o, est));
            double gf = fl / (tm.med * 1e-3) / 1e9;
            b->sg[b->n_sg].m = c.m; b->sg[b->n_sg].n = c.n; b->sg[b->n_sg].k = c.k;
            b->sg[b->n_sg].t = t; b->sg[b->n_sg].gf = gf;
            b->n_sg++;
            if (s == 0 && t == b->threads) b->peak = gf;
        }
        fr_afree(c.A); fr_afree(c.B); fr_afree(c.C);
    }
    fr_blas_set_threads(b->threads);
    if (b->threads > 2) b->peak = b->sg[1].gf;   /* only 1 and 2 threads measured */
    printf("sgemm (GFLOP/s, median of %d runs):\n", b->o.runs);
    for (int i = 0; i < b->n_sg; i++)
        printf("  %5d x %5d x %5d  %d thread%s  %7.1f\n", b->sg[i].m, b->sg[i].n, b->sg[i].k, b->sg[i].t,
               b->sg[i].t > 1 ? "s" : " ", b->sg[i].gf);
    printf("  peak used for ratios: %.1f GFLOP/s (1024^3, %d threads)\n\n", b->peak, b->threads);
}

/* ---- unit shapes -------------------------------------------------------------------------- */

static int add_node(fr_model *m, const char *name, fr_op op, int n_in, int a, int b2)
{
    int in[2] = {a, b2};
    int n = fr_graph_add_node(&m->g, name, op, n_in, in);
    FR_ASSERT(fr_graph_infer_shapes(&m->g, m->meta.in_c, m->meta.in_h, m->meta.in_w, NULL) == FR_OK);
    return n;
}

static int add_conv(fr_model *m, fr_rng *r, const char *name, int in, int o, int k, int groups)
{
    fr_graph *g = &m->g;
    int cin = g->nodes[in].c;
    char nm[128];
    int64_t d[4] = {o, cin / groups, k, k}, db[1] = {o};
    snprintf(nm, sizeof nm, "%s.w", name);
    int t = fr_graph_add_tensor(g, nm, 4, d);
    float sd = sqrtf(2.0f / (float)(cin / groups * k * k));
    for (int64_t i = 0; i < fr_tensor_numel(&g->tensors[t]); i++) g->tensors[t].data[i] = sd * fr_rng_normal(r);
    snprintf(nm, sizeof nm, "%s.b", name);
    int tb = fr_graph_add_tensor(g, nm, 1, db);
    for (int i = 0; i < o; i++) g->tensors[tb].data[i] = 0.05f * fr_rng_normal(r);
    int n = fr_graph_add_node(g, name, FR_OP_CONV, 1, &in);
    g->nodes[n].n_param = 2;
    g->nodes[n].param[0] = t;
    g->nodes[n].param[1] = tb;
    fr_attrs *a = &g->nodes[n].a;
    a->kh = a->kw = k;
    a->sh = a->sw = 1;
    a->dh = a->dw = 1;
    a->pt = a->pl = a->pb = a->pr = k / 2;
    a->groups = groups;
    FR_ASSERT(fr_graph_infer_shapes(g, m->meta.in_c, m->meta.in_h, m->meta.in_w, NULL) == FR_OK);
    return n;
}

static int add_linear(fr_model *m, fr_rng *r, const char *name, int in, int o)
{
    fr_graph *g = &m->g;
    int cin = g->nodes[in].c * g->nodes[in].h * g->nodes[in].w;
    int64_t d[2] = {o, cin}, db[1] = {o};
    char nm[128];
    snprintf(nm, sizeof nm, "%s.w", name);
    int t = fr_graph_add_tensor(g, nm, 2, d);
    float sd = sqrtf(2.0f / (float)cin);
    for (int64_t i = 0; i < fr_tensor_numel(&g->tensors[t]); i++) g->tensors[t].data[i] = sd * fr_rng_normal(r);
    snprintf(nm, sizeof nm, "%s.b", name);
    int tb = fr_graph_add_tensor(g, nm, 1, db);
    int n = fr_graph_add_node(g, name, FR_OP_LINEAR, 1, &in);
    g->nodes[n].n_param = 2;
    g->nodes[n].param[0] = t;
    g->nodes[n].param[1] = tb;
    FR_ASSERT(fr_graph_infer_shapes(g, m->meta.in_c, m->meta.in_h, m->meta.in_w, NULL) == FR_OK);
    return n;
}

/* Random calibration data: n samples, ReLU-like (half-normal) so the unit sees plausible
 * inputs.  The store per node is kept under ~64 MB. */
void fr_bench_random_calib(fr_model *m, fr_rng *r, int n_max)
{
    size_t per = (size_t)m->meta.in_c * m->meta.in_h * m->meta.in_w;
    int n = (int)FR_MIN((size_t)n_max, ((size_t)64 << 20) / (per * sizeof(float)));
    if (n < 64) n = 64;
    m->calib = (fr_dataset){.n = n, .c = m->meta.in_c, .h = m->meta.in_h, .w = m->meta.in_w, .dtype = 1, .scale = 1,
                            .offset = 0};
    m->calib.f32 = fr_amalloc((size_t)n * per * sizeof(float));
    FR_ASSERT(m->calib.f32);
    for (size_t i = 0; i < (size_t)n * per; i++) m->calib.f32[i] = fabsf(fr_rng_normal(r));
    for (int c = 0; c < 4; c++) { m->meta.mean[c] = 0; m->meta.std[c] = 1; }
}

enum { SH_BB32, SH_BB64, SH_IR, SH_LIN, SH_DW, SH_DEC, SH__COUNT };
_Static_assert(SH__COUNT == FR_BENCH_N_SHAPES, "bench.h shape count");
static const char *const sh_names[SH__COUNT] = {
    "BasicBlock 32ch 14x14", "BasicBlock 64ch 7x7", "InvRes t=6 32ch 14x14", "Linear 784x256", "Depthwise 3x3 96ch 28x28",
    "Decoder d512 8/4h T64",
};

/* A LLaMA decoder block (issue 16): d 512, 8 query / 4 KV heads of 64, SwiGLU 1376, windows of
 * 64 tokens, so a batch of FR_BENCH_BATCH windows is 2048 tokens; random weights as the trainer
 * draws them and 256 windows of random byte ids. */
static void build_decoder(fr_model *m, fr_rng *r)
{
    const fr_lm_arch a = {.vocab = 256, .d = 512, .layers = 1, .heads = 8, .kv_heads = 4, .ff = 1376, .T = 64,
                          .theta = 10000.0f, .eps = 1e-5f};
    fr_err e;
    FR_ASSERT(fr_lm_build(m, &a, 100 + SH_DEC, &e) == FR_OK);
    const int n = 256;
    m->calib = (fr_dataset){.n = n, .c = a.T, .h = 1, .w = 1, .dtype = 0, .scale = 1, .offset = 0};
    m->calib.u8 = fr_amalloc((size_t)n * a.T);
    FR_ASSERT(m->calib.u8);
    for (size_t i = 0; i < (size_t)n * a.T; i++) m->calib.u8[i] = (uint8_t)fr_rng_below(r, 256);
}

const char *fr_bench_shape_name(int which) { return which >= 0 && which < SH__COUNT ? sh_names[which] : "?"; }

void fr_bench_build_shape(fr_model *m, int which)
{
    fr_rng r;
    fr_rng_seed(&r, 100 + (uint64_t)which);
    fr_model_init(m);
    snprintf(m->meta.name, sizeof m->meta.name, "%s", sh_names[which]);
    snprintf(m->meta.layout, sizeof m->meta.layout, "NCHW");
    if (which == SH_DEC) {
        build_decoder(m, &r);
        return;
    }
    int c = which == SH_BB64 ? 64 : which == SH_LIN ? 784 : which == SH_DW ? 96 : 32;
    int hw = which == SH_BB64 ? 7 : which == SH_LIN ? 1 : which == SH_DW ? 28 : 14;
    m->meta.in_c = c; m->meta.in_h = hw; m->meta.in_w = hw;
    int x = add_node(m, "input", FR_OP_INPUT, 0, 0, 0), s = x;
    switch (which) {
    case SH_BB32: case SH_BB64:
        x = add_conv(m, &r, "conv1", x, c, 3, 1);
        x = add_node(m, "relu1", FR_OP_RELU, 1, x, 0);
        x = add_conv(m, &r, "conv2", x, c, 3, 1);
        x = add_node(m, "add", FR_OP_ADD, 2, x, s);
        add_node(m, "relu", FR_OP_RELU, 1, x, 0);
        break;
    case SH_IR:
        x = add_conv(m, &r, "expand", x, 6 * c, 1, 1);
        x = add_node(m, "relu6a", FR_OP_RELU6, 1, x, 0);
        x = add_conv(m, &r, "dw", x, 6 * c, 3, 6 * c);
        x = add_node(m, "relu6b", FR_OP_RELU6, 1, x, 0);
        x = add_conv(m, &r, "project", x, c, 1, 1);
        add_node(m, "add", FR_OP_ADD, 2, x, s);
        break;
    case SH_LIN:
        add_linear(m, &r, "fc", x, 256);
        break;
    case SH_DW:
        add_conv(m, &r, "dw", x, c, 3, c);
        break;
    }
    m->meta.n_classes = 0;
    fr_bench_random_calib(m, &r, 1024);
}

/* ---- per-unit measurement ----------------------------------------------------------------- */

static int conv_shape_of(const fr_graph *g, int i, int nb, fr_conv_shape *s)
{
    const fr_node *n = &g->nodes[i], *in = &g->nodes[n->in[0]];
    memset(s, 0, sizeof *s);
    s->n = nb; s->c = in->c; s->h = in->h; s->w = in->w;
    s->o = n->c; s->kh = n->a.kh; s->kw = n->a.kw; s->sh = n->a.sh; s->sw = n->a.sw;
    s->pt = n->a.pt; s->pl = n->a.pl; s->pb = n->a.pb; s->pr = n->a.pr;
    s->dh = n->a.dh > 0 ? n->a.dh : 1; s->dw = n->a.dw > 0 ? n->a.dw : 1; s->groups = n->a.groups > 0 ? n->a.groups : 1;
    return fr_conv_out_shape(s);
}

/* Forward FLOPs and useful forward+backward FLOPs of one iteration of unit u at batch nb. */
static void unit_flops(const fr_graph *g, const fr_unit *u, int nb, double *fwd, double *iter)
{
    *fwd = *iter = 0;
    unsigned char up[4096] = {0};   /* node has a layer upstream inside the unit */
    for (int i = u->first; i <= u->last && i - u->first < 4096; i++) {
        const fr_node *n = &g->nodes[i];
        int feeds = 0;
        for (int k = 0; k < n->n_in; k++) {
            int j = n->in[k];
            if (j >= u->first && (fr_node_is_layer(&g->nodes[j]) || up[j - u->first])) feeds = 1;
        }
        up[i - u->first] = (unsigned char)feeds;
        if (n->op == FR_OP_ATTENTION) {
            /* S = Q K^T and P V per head: the full T x T products the kernel computes (it does not
             * skip the masked half); backward is two such products per forward one */
            const double T = n->c, hd = (double)n->w / n->a.heads;
            const double f = 4.0 * nb * T * T * hd * n->a.heads;
            *fwd += f;
            *iter += f + (feeds ? 2 * f : 0);
            continue;
        }
        if (!fr_node_is_layer(n)) continue;
        double f;
        if (n->op == FR_OP_CONV) {
            fr_conv_shape s;
            conv_shape_of(g, i, nb, &s);
            f = fr_conv_flops(&s);
        } else {
            /* a per-token linear (attribute tokens) multiplies each of its T rows: T * d_out * d_in,
             * not (T * d_out) * (T * d_in) */
            const fr_node *in = &g->nodes[n->in[0]];
            double fan = n->a.tokens > 0 ? (double)in->w : (double)in->c * in->h * in->w;
            f = 2.0 * nb * ((double)n->c * n->h * n->w) * fan;
        }
        *fwd += f;
        *iter += 2 * f + (feeds ? f : 0);
    }
}

typedef struct fwd_ctx { fr_exec *x; } fwd_ctx;

static int fwd_iter(void *ctx, int n)
{
    fwd_ctx *c = ctx;
    for (int i = 0; i < n; i++) fr_exec_forward(c->x, FR_BENCH_BATCH);
    return 0;
}

/* RTN forward: the unit's plain forward at batch 32 on random inputs. */
static fr_bench_timing time_forward(const fr_bench *b, const fr_model *fm, const fr_unit *u)
{
    fr_graph *g = (fr_graph *)&fm->g;   /* inference mode never writes the graph */
    fr_err e;
    fr_exec *x = fr_exec_new(g, u->first, u->last, FR_BENCH_BATCH, FR_EXEC_INFER, &e);
    fr_bench_timing t = {NAN, NAN, NAN, 0, 0};
    if (!x) return t;
    float *in[FR_UNIT_MAX_EXT] = {0};
    fr_rng r;
    fr_rng_seed(&r, 5);
    for (int q = 0; q < fr_exec_n_inputs(x); q++) {
        const fr_node *n = &g->nodes[fr_exec_input_node(x, q)];
        size_t cnt = (size_t)FR_BENCH_BATCH * n->c * n->h * n->w;
        in[q] = fr_amalloc(cnt * sizeof(float));
        FR_ASSERT(in[q]);
        for (size_t k = 0; k < cnt; k++) in[q][k] = fabsf(fr_rng_normal(&r));
        fr_exec_bind_input(x, q, in[q]);
    }
    fwd_ctx c = {x};
    fwd_iter(&c, 2);
    double t0 = fr_now();
    fwd_iter(&c, 3);
    double est = (fr_now() - t0) * 1e3 / 3;
    t = time_runs(fwd_iter, &c, b->o.runs, per_run_for(&b->o, est));
    for (int q = 0; q < fr_exec_n_inputs(x); q++) fr_afree(in[q]);
    fr_exec_free(x);
    return t;
}

static int step_iter(void *ctx, int n)
{
    fr_recon *r = ctx;
    for (int i = 0; i < n; i++)
        if (fr_recon_step(r) != FR_OK) return -1;
    return 0;
}

int fr_bench_unit_selected(const char *list, const char *name)
{
    if (!list) return 1;
    if (list[0] == '=') return strcmp(list + 1, name) == 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strstr(name, t)) return 1;
    return 0;
}

static void run_config(fr_run_config *c, fr_method m, int iters)
{
    fr_err e;
    fr_run_config_preset(c, "teaching", &e);
    c->method = m;
    c->bits = 4;
    if (iters >= 0) c->iters = iters;   /* < 0: the preset's own count */
    c->seed = 1;
    c->threads = fr_blas_threads();
}

/* Times fr_recon_step on unit k of r (units before k must be done).  est_ms sizes the runs;
 * the unit is begun with a budget such that every timed iteration lies after AdaRound's
 * warm-up (the steady state), then ended (which propagates the quantized path for k+1). */
static fr_bench_timing time_steps(const fr_bench *b, fr_recon *r, int k, double est_ms, int *ok)
{
    fr_bench_timing t = {NAN, NAN, NAN, 0, 0};
    int per = per_run_for(&b->o, est_ms), total = per * b->o.runs, skip = total / 3 + 3;
    fr_recon_set_iters(r, total + skip);
    fr_err e;
    *ok = 0;
    if (fr_recon_begin(r, k, &e) != FR_OK) {
        fprintf(stderr, "frtui-dev bench: %s\n", e.msg);
        return t;
    }
    if (step_iter(r, skip) == 0) {
        t = time_runs(step_iter, r, b->o.runs, per);
        *ok = t.runs == b->o.runs;
    }
    if (!*ok) {
        fr_unit_view *v = fr_recon_view(r, k);
        fprintf(stderr, "frtui-dev bench: unit %s: %s (iteration %d); not timed\n", fr_recon_partition(r)->units[k].name,
                v && v->note[0] ? v->note : "step failed", fr_recon_iter(r));
        fr_unit_view_release(v);
    }
    if (fr_recon_end(r, &e) != FR_OK) *ok = 0;
    return t;
}

/* All units of model m: RTN forward, AdaRound, FlexRound (and FlexRound at 1 thread when
 * with1).  Returns the number of rows added. */
int fr_bench_units(fr_bench *b, const fr_model *m, const char *src, int only_block, int with1)
{
    fr_err e;
    fr_run_config c;
    run_config(&c, FR_METHOD_RTN, 0);
    fr_recon *rr = fr_recon_new(m, &c, &e);
    if (!rr) { fprintf(stderr, "frtui-dev bench: %s: %s\n", src, e.msg); return 0; }
    const fr_partition *p = fr_recon_partition(rr);
    const fr_model *fm = fr_recon_model(rr);
    int row0 = b->n_rows, sel = -1;
    if (only_block) {   /* the standard shapes: the unit holding the most layers */
        for (int k = 0; k < p->n; k++)
            if (sel < 0 || p->units[k].n_layers > p->units[sel].n_layers) sel = k;
    }
    for (int k = 0; k < p->n && b->n_rows < FR_BENCH_MAX_ROWS; k++) {
        if (sel >= 0 && k != sel) continue;
        const fr_unit *u = &p->units[k];
        if (u->n_layers == 0 || !fr_bench_unit_selected(b->o.units, u->name)) continue;
        fr_bench_unit_row *row = &b->rows[b->n_rows++];
        memset(row, 0, sizeof *row);
        snprintf(row->src, sizeof row->src, "%.63s", src);
        snprintf(row->name, sizeof row->name, "%.95s", only_block ? m->meta.name : u->name);
        snprintf(row->ops, sizeof row->ops, "%.95s", u->ops);
        unit_flops(&fm->g, u, FR_BENCH_BATCH, &row->fwd_flops, &row->iter_flops);
        row->rtn = time_forward(b, fm, u);
        row->ada.med = row->flex.med = row->flex1.med = NAN;
    }
    fr_recon_free(rr);
    p = NULL;   /* freed with rr */
    /* One engine per method walks the units in order (a unit needs its predecessors done). */
    for (int pass = 0; pass < (with1 ? 3 : 2); pass++) {
        fr_method meth = pass == 0 ? FR_METHOD_ADAROUND : FR_METHOD_FLEXROUND;
        if (pass == 2) fr_blas_set_threads(1);
        run_config(&c, meth, 1);
        fr_recon *r = fr_recon_new(m, &c, &e);
        if (!r) { fprintf(stderr, "frtui-dev bench: %s: %s\n", src, e.msg); break; }
        int row = row0;
        const fr_partition *pr = fr_recon_partition(r);
        for (int k = 0; k < pr->n && row < b->n_rows; k++) {
            const fr_unit *u = &pr->units[k];
            int measure = u->n_layers > 0 && (sel < 0 || k == sel) && fr_bench_unit_selected(b->o.units, u->name), ok = 0;
            if (!measure) {
                /* Predecessor only: pass through with RTN rounding. */
                fr_recon_set_method(r, FR_METHOD_RTN);
                if (fr_recon_begin(r, k, &e) || fr_recon_end(r, &e)) {
                    fprintf(stderr, "frtui-dev bench: %s: %s\n", src, e.msg);
                    break;
                }
                fr_recon_set_method(r, meth);
                continue;
            }
            fr_bench_unit_row *ur = &b->rows[row++];
            double est = 4.0 * ur->rtn.med + 0.05;
            fr_bench_timing t = time_steps(b, r, k, pass == 2 ? 1.6 * est : est, &ok);
            if (!ok) t.med = NAN;
            if (pass == 0) ur->ada = t;
            else if (pass == 1) ur->flex = t;
            else { ur->flex1 = t; ur->has_flex1 = 1; }
        }
        fr_recon_free(r);
        if (pass == 2) fr_blas_set_threads(b->threads);
    }
    return b->n_rows - row0;
}

void fr_bench_print_header(void)
{
    printf("  %-28s %8s %8s %8s %8s %7s %6s %s\n", "unit", "RTN-fwd", "AdaRnd", "FlexRnd", "Flex@1t", "GFLOP/s",
           "%peak", "(ms/iteration, batch 32, median; FlexRound spread min..max)");
}

void fr_bench_print_rows(const fr_bench *b, int from, int to)
{
    for (int i = from; i < to; i++) {
        const fr_bench_unit_row *r = &b->rows[i];
        double gf = r->iter_flops / (r->flex.med * 1e-3) / 1e9;
        char f1[16] = "      -";
        if (r->has_flex1) snprintf(f1, sizeof f1, "%8.3f", r->flex1.med);
        printf("  %-28.28s %8.3f %8.3f %8.3f %8s %7.1f %5.0f%%  %.3f..%.3f\n", r->name, r->rtn.med, r->ada.med,
               r->flex.med, f1, gf, 100.0 * gf / b->peak, r->flex.lo, r->flex.hi);
    }
}

/* ---- whole model, frame, checkpoint ------------------------------------------------------- */

static fr_snapshot *make_snapshot(fr_recon *r, const fr_model *m)
{
    const fr_partition *p = fr_recon_partition(r);
    fr_snapshot *s = fr_snapshot_new(p->n);
    const fr_run_config *c = fr_recon_config(r);
    snprintf(s->info.model, sizeof s->info.model, "%.127s", m->meta.name);
    s->info.method = c->method;
    s->info.bits = c->bits;
    s->info.iters = c->iters;
    s->info.batch = c->batch;
    s->info.seed = c->seed;
    s->info.threads = fr_blas_threads();
    snprintf(s->info.preset, sizeof s->info.preset, "%.31s", c->preset);
    snprintf(s->info.granularity, sizeof s->info.granularity, "block");
    snprintf(s->info.blas_core, sizeof s->info.blas_core, "%.31s", fr_blas_core());
    s->status = FR_RUN_DONE;
    s->cur_unit = -1;
    s->acc_fp = s->acc_q = -1;
    snprintf(s->message, sizeof s->message, "bench");
    for (int k = 0; k < p->n; k++) s->units[k] = fr_recon_view(r, k);
    return s;
}

static void bench_frame_ckpt(fr_bench *b, fr_recon *r, const fr_model *m)
{
    fr_snapshot *s = make_snapshot(r, m);
    for (int k = 0; k < 3; k++) {
        double v[16];
        int n = b->o.runs > 16 ? 16 : b->o.runs;
        for (int i = 0; i < n; i++)
            v[i] = fr_view_bench_frame(s, fr_bench_frame_sizes[k][0], fr_bench_frame_sizes[k][1], 1, 10);
        b->frame_ms[k] = fr_bench_median(v, n);
    }
    fr_snapshot_release(s);
    /* Checkpoint: capture + zstd write, then load (parse + checks). */
    char path[256];
    snprintf(path, sizeof path, "%s/frtui-bench-%d.frc", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    double vw[16], vr[16];
    int n = b->o.runs > 16 ? 16 : b->o.runs, ok = 1;
    for (int i = 0; i < n && ok; i++) {
        fr_ckpt_info info = {.bundle_path = "bench", .acc_fp = -1, .acc_q = -1};
        double t0 = fr_now();
        fr_ckpt_blob *blob = fr_ckpt_capture(r, &info);
        b->ck_raw_mb = (double)fr_ckpt_blob_bytes(blob) / 1048576.0;
        fr_err e;
        if (fr_ckpt_write_blob(blob, path, 3, &e) != FR_OK) { fprintf(stderr, "frtui-dev bench: %s\n", e.msg); ok = 0; break; }
        vw[i] = fr_now() - t0;
        struct stat st;
        if (stat(path, &st) == 0) b->ck_file_mb = (double)st.st_size / 1048576.0;
        fr_ckpt c;
        t0 = fr_now();
        if (fr_ckpt_load(path, &c, &e) != FR_OK) { fprintf(stderr, "frtui-dev bench: %s\n", e.msg); ok = 0; break; }
        vr[i] = fr_now() - t0;
        fr_ckpt_free(&c);
    }
    unlink(path);
    if (ok) {
        b->ck_write_mbs = b->ck_raw_mb / fr_bench_median(vw, n);
        b->ck_read_mbs = b->ck_raw_mb / fr_bench_median(vr, n);
    }
}

/* FlexRound W4, teaching preset, every unit in order.  The loop time (steps only) is kept apart
 * from begin/end (calibration passes) so the 2000 it/unit estimate scales only the loop. */
void fr_bench_whole(fr_bench *b, const fr_model *m, const char *name, const char *note, int frame)
{
    fr_run_config c;
    fr_err e;
    run_config(&c, FR_METHOD_FLEXROUND, -1);
    if (b->o.whole_iters > 0) c.iters = b->o.whole_iters;
    double t0 = fr_now(), loop = 0;
    fr_recon *r = fr_recon_new(m, &c, &e);
    if (!r) { fprintf(stderr, "frtui-dev bench: %s: %s\n", name, e.msg); return; }
    const fr_partition *p = fr_recon_partition(r);
    long steps = 0;
    for (int k = 0; k < p->n; k++) {
        if (fr_recon_begin(r, k, &e)) { fprintf(stderr, "frtui-dev bench: %s: %s\n", name, e.msg); fr_recon_free(r); return; }
        double t1 = fr_now();
        while (fr_recon_iter(r) < fr_recon_iters(r) && fr_recon_step(r) == FR_OK) steps++;
        loop += fr_now() - t1;
        if (fr_recon_end(r, &e)) { fprintf(stderr, "frtui-dev bench: %s: %s\n", name, e.msg); fr_recon_free(r); return; }
    }
    fr_bench_whole_row *w = &b->whole[b->n_whole++];
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%.95s", name);
    snprintf(w->note, sizeof w->note, "%.63s", note);
    w->units = p->n;
    w->iters = c.iters;
    w->total_s = fr_now() - t0;
    w->loop_s = loop;
    w->setup_s = w->total_s - loop;
    w->it_per_s = loop > 0 ? (double)steps / loop : 0;
    w->est2000_s = w->setup_s + (c.iters > 0 ? loop * 2000.0 / c.iters : 0);
    if (frame) bench_frame_ckpt(b, r, m);
    fr_recon_free(r);
}
