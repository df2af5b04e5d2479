/* test_memplan.c — issue 14 item 3: sizes the program derives (executor buffers, im2col
 * scratch, calibration caches) are checked against the memory there is before anything is
 * allocated for them, and buffers are sized for the batch actually used.
 *
 *   test_memplan                      the unit tests below
 *   test_memplan --gen-bad DIR        writes DIR/conv-pads-1000.frm (the committed crafted bundle
 *                                     in tests/bad/mem/: a legal conv with pads 1000 on an 8x8
 *                                     input, a few KB that derive ~16 GB per batch of 64)
 *   test_memplan --gen-bad-frm DIR    writes DIR/{conv,pool}-window-past-input.frm (tests/bad/frm:
 *                                     a window past the padded input, accepted before fuzz_exec
 *                                     found it; eval then died on an assertion)
 *   test_memplan --flip-pad IN OUT BIT
 *                                     OUT = IN with bit BIT of the first conv's top pad flipped
 *                                     (what one flipped bit in a sample's attribute does; the
 *                                     bundle is re-encoded, so its checksums are right)
 *
 * Every check of "refused before allocating" is made with a counting allocator view: the
 * process's peak RSS must not grow by more than a few MB across the refused call.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fr_test.h"
#include "frtui/common.h"
#include "frtui/exec.h"
#include "frtui/frm.h"
#include "frtui/graph.h"
#include "frtui/recon.h"
#include "frtui/worker.h"

static int add_t(fr_graph *g, fr_rng *r, const char *name, int nd, int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t dim[4] = {a, b, c, d};
    int t = fr_graph_add_tensor(g, name, nd, dim);
    int64_t n = fr_tensor_numel(&g->tensors[t]);
    for (int64_t i = 0; i < n; i++) g->tensors[t].data[i] = fr_rng_normal(r) * 0.3f;
    return t;
}

/* input 1x8x8 -> conv (ch channels, 3x3, pads `pad`) -> bn -> relu -> conv 3x3 -> add -> gap
 * -> linear(3): small, legal, and with `pad` large its activations are as large as the
 * validator allows.  n_calib / n_eval samples. */
static void build(fr_model *m, int ch, int pad, int n_calib, int n_eval)
{
    fr_rng r;
    fr_rng_seed(&r, 7);
    fr_model_init(m);
    snprintf(m->meta.name, sizeof m->meta.name, "memplan-pads-%d", pad);
    snprintf(m->meta.provenance, sizeof m->meta.provenance, "tests/test_memplan.c: legal conv, pads %d", pad);
    m->meta.in_c = 1; m->meta.in_h = 8; m->meta.in_w = 8;
    m->meta.mean[0] = 0.5f; m->meta.std[0] = 0.25f;
    m->meta.n_classes = 3;
    m->meta.class_names = fr_xcalloc(3, sizeof(char *));
    for (int k = 0; k < 3; k++) { char b[16]; snprintf(b, sizeof b, "c%d", k); m->meta.class_names[k] = fr_xstrdup(b); }
    fr_graph *g = &m->g;
    int w1 = add_t(g, &r, "conv1.w", 4, ch, 1, 3, 3), b1 = add_t(g, &r, "conv1.b", 1, ch, 1, 1, 1);
    int ga = add_t(g, &r, "bn.gamma", 1, ch, 1, 1, 1), be = add_t(g, &r, "bn.beta", 1, ch, 1, 1, 1);
    int mu = add_t(g, &r, "bn.mean", 1, ch, 1, 1, 1), va = add_t(g, &r, "bn.var", 1, ch, 1, 1, 1);
    for (int k = 0; k < ch; k++) { g->tensors[ga].data[k] = 1; g->tensors[va].data[k] = 1; }
    int w2 = add_t(g, &r, "conv2.w", 4, ch, ch, 3, 3);
    int wf = add_t(g, &r, "fc.w", 2, 3, ch, 1, 1), bf = add_t(g, &r, "fc.b", 1, 3, 1, 1, 1);
    int in[2] = {0, 0};
    fr_graph_add_node(g, "input", FR_OP_INPUT, 0, NULL);
    int c1 = fr_graph_add_node(g, "conv1", FR_OP_CONV, 1, in);
    fr_node *n = &g->nodes[c1];
    n->a.kh = n->a.kw = 3; n->a.pt = n->a.pl = n->a.pb = n->a.pr = pad;
    n->n_param = 2; n->param[0] = w1; n->param[1] = b1;
    in[0] = c1;
    int bn = fr_graph_add_node(g, "bn", FR_OP_BN, 1, in);
    n = &g->nodes[bn];
    n->n_param = 4; n->param[0] = ga; n->param[1] = be; n->param[2] = mu; n->param[3] = va; n->a.eps = 1e-3f;
    in[0] = bn;
    int re = fr_graph_add_node(g, "relu", FR_OP_RELU, 1, in);
    in[0] = re;
    int c2 = fr_graph_add_node(g, "conv2", FR_OP_CONV, 1, in);
    n = &g->nodes[c2];
    n->a.kh = n->a.kw = 3; n->a.pt = n->a.pl = n->a.pb = n->a.pr = 1;
    n->n_param = 2; n->param[0] = w2; n->param[1] = -1;
    in[0] = re; in[1] = c2;
    int ad = fr_graph_add_node(g, "add", FR_OP_ADD, 2, in);
    in[0] = ad;
    int gp = fr_graph_add_node(g, "gap", FR_OP_GAP, 1, in);
    in[0] = gp;
    int fc = fr_graph_add_node(g, "fc", FR_OP_LINEAR, 1, in);
    n = &g->nodes[fc];
    n->n_param = 2; n->param[0] = wf; n->param[1] = bf;
    fr_dataset *d = &m->calib;
    d->n = n_calib; d->c = 1; d->h = 8; d->w = 8; d->dtype = 0; d->scale = 1.0f / 255; d->offset = 0;
    d->u8 = fr_amalloc((size_t)n_calib * 64);
    for (int i = 0; i < n_calib * 64; i++) d->u8[i] = (uint8_t)(fr_rng_u64(&r) & 0xff);
    d = &m->eval;
    d->n = n_eval; d->c = 1; d->h = 8; d->w = 8; d->dtype = 0; d->scale = 1.0f / 255; d->offset = 0;
    d->u8 = fr_amalloc((size_t)n_eval * 64);
    for (int i = 0; i < n_eval * 64; i++) d->u8[i] = (uint8_t)(fr_rng_u64(&r) & 0xff);
    d->labels = fr_xmalloc((size_t)n_eval * sizeof(int32_t));
    for (int i = 0; i < n_eval; i++) d->labels[i] = i % 3;
}

static void window_past_input(fr_model *m, int pool);

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void default_cfg(fr_run_config *c)
{
    fr_err e;
    fr_run_config_preset(c, "teaching", &e);
    c->iters = 2;
    c->batch = 4;
}

/* The figure checked is the figure allocated, for every mode and batch. */
static void test_plan_matches_allocation(void)
{
    fr_model m;
    build(&m, 4, 1, 8, 8);
    fr_err e;
    FR_CHECK(fr_graph_validate(&m.g, &m.meta, "t", &e) == FR_OK);
    int modes[3] = {FR_EXEC_INFER, FR_EXEC_GRAD, FR_EXEC_TRAIN}, batches[4] = {1, 3, 64, 257};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 4; b++)
            for (int first = 0; first < m.g.n_nodes; first += 3) {
                int last = m.g.n_nodes - 1 - (first == 3);
                size_t want = fr_exec_plan_bytes(&m.g, first, last, batches[b], modes[a]);
                fr_exec *x = fr_exec_new(&m.g, first, last, batches[b], modes[a], &e);
                FR_CHECKF(x && fr_exec_bytes(x) == want, "mode %d batch %d range %d..%d: plan %zu, allocated %zu",
                          modes[a], batches[b], first, last, want, x ? fr_exec_bytes(x) : 0);
                fr_exec_free(x);
            }
    fr_model_free(&m);
}

/* F7 (fuzz_exec): the plan counts the 64-byte blocks fr_amalloc asks for, not the floats.  A
 * chain of 1x1x1 activations at batch 1 has one 4-byte output per node: before, the plan said
 * 4 bytes each while the allocator was asked for 64. */
static void test_plan_counts_allocated_blocks(void)
{
    fr_graph g;
    fr_graph_init(&g);
    int in[1] = {0};
    fr_graph_add_node(&g, "input", FR_OP_INPUT, 0, NULL);
    for (int k = 0; k < 12; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "r%d", k);
        in[0] = fr_graph_add_node(&g, nm, k % 2 ? FR_OP_RELU : FR_OP_SIGMOID, 1, in);
    }
    FR_CHECK(fr_graph_infer_shapes(&g, 1, 1, 1, NULL) == FR_OK);
    int modes[3] = {FR_EXEC_INFER, FR_EXEC_GRAD, FR_EXEC_TRAIN};
    for (int a = 0; a < 3; a++) {
        size_t plan = fr_exec_plan_bytes(&g, 1, g.n_nodes - 1, 1, modes[a]);
        FR_CHECKF(plan % 64 == 0 && plan >= (size_t)64 * (size_t)(g.n_nodes - 1), "mode %d: plan %zu for %d buffers",
                  modes[a], plan, g.n_nodes - 1);
        fr_err e;
        fr_exec *x = fr_exec_new(&g, 1, g.n_nodes - 1, 1, modes[a], &e);
        FR_CHECK(x && fr_exec_bytes(x) == plan);
        fr_exec_free(x);
    }
    fr_graph_free(&g);
}

/* pads 1000: 16 x 2006 x 2006 floats (256 MB) per sample; at batch 64 the plan is ~48 GB. */
static void test_exec_refuses_before_allocating(void)
{
    fr_model m;
    build(&m, 16, 1000, 64, 64);
    fr_err e;
    FR_CHECK(fr_graph_validate(&m.g, &m.meta, "t", &e) == FR_OK);
    size_t plan = fr_exec_plan_bytes(&m.g, 0, m.g.n_nodes - 1, 64, FR_EXEC_GRAD);
    FR_CHECKF(plan > ((size_t)40 << 30), "plan %zu", plan);
    setenv("FRTUI_MEM_AVAILABLE", "1G", 1);
    long rss0 = peak_rss_kb();
    fr_err_clear(&e);
    double t0 = fr_now();
    fr_exec *x = fr_exec_new(&m.g, 0, m.g.n_nodes - 1, 64, FR_EXEC_GRAD, &e);
    FR_CHECK(x == NULL);
    FR_CHECKF(e.code == FR_ENOMEM && strstr(e.msg, "needs") && strstr(e.msg, "more than the 1.0 GiB available") &&
              strstr(e.msg, "batch 64"), "code %d '%s'", e.code, e.msg);
    FR_CHECKF(peak_rss_kb() - rss0 < 16384, "peak RSS grew by %ld KiB", peak_rss_kb() - rss0);
    FR_CHECKF(fr_now() - t0 < 1.0, "%.2f s to refuse", fr_now() - t0);
    fr_exec_free(x);
    /* The accuracy pass and the reconstruction refuse up front too, with a message naming the model. */
    double acc;
    fr_err_clear(&e);
    FR_CHECK(fr_eval_accuracy(&m, NULL, NULL, 64, &acc, &e) == FR_ENOMEM);
    FR_CHECKF(strstr(e.msg, "needs"), "'%s'", e.msg);
    fr_run_config c;
    default_cfg(&c);
    fr_err_clear(&e);
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_CHECK(r == NULL);
    FR_CHECKF(e.code == FR_ENOMEM && strstr(e.msg, m.meta.name) && strstr(e.msg, "needs"), "code %d '%s'", e.code,
              e.msg);
    FR_CHECKF(peak_rss_kb() - rss0 < 16384, "peak RSS grew by %ld KiB", peak_rss_kb() - rss0);
    fr_recon_free(r);
    unsetenv("FRTUI_MEM_AVAILABLE");
    fr_model_free(&m);
}

/* Buffers for the batch actually used: 8 evaluation samples at --batch 64 need an 8-sample
 * plan, 8 calibration samples a propagation plan of 8 (was 64 whatever the data). */
static void test_batch_actually_used(void)
{
    fr_model m;
    build(&m, 4, 60, 8, 8);   /* 4 x 126 x 126 floats = 254 KB per sample */
    fr_err e;
    FR_CHECK(fr_graph_validate(&m.g, &m.meta, "t", &e) == FR_OK);
    size_t p8 = fr_exec_plan_bytes(&m.g, 0, m.g.n_nodes - 1, 8, FR_EXEC_INFER);
    size_t p64 = fr_exec_plan_bytes(&m.g, 0, m.g.n_nodes - 1, 64, FR_EXEC_INFER);
    char lim[32];
    snprintf(lim, sizeof lim, "%zu", (p8 + p64) / 2);
    setenv("FRTUI_MEM_AVAILABLE", lim, 1);
    double acc = -1;
    fr_err_clear(&e);
    int rc = fr_eval_accuracy(&m, NULL, NULL, 64, &acc, &e);
    FR_CHECKF(rc == FR_OK && acc >= 0, "rc %d '%s' (plan at 8: %zu, at 64: %zu)", rc, e.msg, p8, p64);
    /* The reconstruction: batch 4, 8 samples -> plans at 8, caches of 8 samples. */
    fr_run_config c;
    default_cfg(&c);
    setenv("FRTUI_MEM_AVAILABLE", "64M", 1);
    fr_err_clear(&e);
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_CHECKF(r != NULL, "'%s'", e.msg);
    if (r) {
        rc = fr_recon_begin(r, 0, &e);
        FR_CHECKF(rc == FR_OK, "begin: '%s'", e.msg);
        if (!rc) {
            while (fr_recon_step(r) == FR_OK && fr_recon_iter(r) < fr_recon_iters(r)) {}
            FR_CHECKF(fr_recon_end(r, &e) == FR_OK, "end: '%s'", e.msg);
        }
    }
    fr_recon_free(r);
    unsetenv("FRTUI_MEM_AVAILABLE");
    fr_model_free(&m);
}

/* Keeping every calibration store (for compare on finished units) is given up before a run is
 * refused: at the smallest memory figure the run is accepted at, fr_recon_cache_estimate is
 * the figure without keep-all, and the whole run completes there. */
static int run_all(fr_recon *r, fr_err *e)
{
    for (int k = 0; k < fr_recon_n_run(r); k++) {
        int rc = fr_recon_begin(r, k, e);
        if (rc) return rc;
        while (fr_recon_iter(r) < fr_recon_iters(r) && fr_recon_step(r) == FR_OK) {}
        if ((rc = fr_recon_end(r, e))) return rc;
    }
    return FR_OK;
}

/* input 1x8x8 -> three 4-channel 3x3 convs (pads 30, 1, 1) -> gap -> linear(3): stores of the
 * first conv are released after the second unit unless every store is kept. */
static void build_chain(fr_model *m)
{
    build(m, 4, 30, 16, 8);   /* meta and datasets; the graph is replaced */
    fr_graph *g = &m->g;
    fr_rng r;
    fr_rng_seed(&r, 9);
    fr_graph_free(g);
    fr_graph_init(g);
    int in[1] = {0};
    fr_graph_add_node(g, "input", FR_OP_INPUT, 0, NULL);
    for (int k = 0; k < 3; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "conv%d", k);
        int w = add_t(g, &r, nm, 4, 4, k ? 4 : 1, 3, 3);
        int i = fr_graph_add_node(g, nm, FR_OP_CONV, 1, in);
        fr_node *n = &g->nodes[i];
        n->a.kh = n->a.kw = 3;
        n->a.pt = n->a.pl = n->a.pb = n->a.pr = k ? 1 : 30;
        n->n_param = 2; n->param[0] = w; n->param[1] = -1;
        in[0] = i;
    }
    in[0] = fr_graph_add_node(g, "gap", FR_OP_GAP, 1, in);
    int wf = add_t(g, &r, "fc.w", 2, 3, 4, 1, 1);
    int fc = fr_graph_add_node(g, "fc", FR_OP_LINEAR, 1, in);
    g->nodes[fc].n_param = 2; g->nodes[fc].param[0] = wf; g->nodes[fc].param[1] = -1;
}

static void test_keep_all_dropped_first(void)
{
    fr_model m;
    build_chain(&m);
    fr_err e;
    FR_CHECK(fr_graph_validate(&m.g, &m.meta, "t", &e) == FR_OK);
    fr_run_config c;
    default_cfg(&c);
    c.layerwise = 1;
    fr_recon *r = fr_recon_new(&m, &c, &e);
    size_t roomy = r ? fr_recon_cache_estimate(r) : 0;
    fr_recon_free(r);
    size_t lo = 1, hi = (size_t)1 << 30;   /* smallest figure fr_recon_new accepts */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        char b[32];
        snprintf(b, sizeof b, "%zu", mid);
        setenv("FRTUI_MEM_AVAILABLE", b, 1);
        r = fr_recon_new(&m, &c, &e);
        if (r) hi = mid; else lo = mid + 1;
        fr_recon_free(r);
    }
    char b[32];
    snprintf(b, sizeof b, "%zu", lo);
    setenv("FRTUI_MEM_AVAILABLE", b, 1);
    r = fr_recon_new(&m, &c, &e);
    FR_CHECK(r != NULL);
    if (r) {
        size_t tight = fr_recon_cache_estimate(r);
        FR_CHECKF(tight < roomy, "cache peak %zu at %zu bytes, %zu with room", tight, lo, roomy);
        int rc = run_all(r, &e);
        FR_CHECKF(rc == FR_OK, "run at the smallest accepted figure %zu: '%s'", lo, e.msg);
    }
    fr_recon_free(r);
    unsetenv("FRTUI_MEM_AVAILABLE");
    fr_model_free(&m);
}

static int gen_bad(const char *dir)
{
    char path[4096];
    fr_model m;
    fr_err e;
    build(&m, 16, 1000, 64, 64);
    if (fr_graph_validate(&m.g, &m.meta, "gen", &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    (void)fr_frm_fingerprint(&m);
    snprintf(path, sizeof path, "%s/conv-pads-1000.frm", dir);
    int rc = fr_frm_write(path, &m, 1, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    else printf("wrote %s\n", path);
    fr_model_free(&m);
    return rc != 0;
}

/* tests/bad/frm entries for the window bug (bad_corpus.t.sh: `eval` must refuse them). */
static int gen_bad_frm(const char *dir)
{
    char path[4096];
    fr_err e;
    int rc = 0;
    for (int pool = 0; pool < 2 && !rc; pool++) {
        fr_model m;
        window_past_input(&m, pool);
        snprintf(path, sizeof path, "%s/%s-window-past-input.frm", dir, pool ? "pool" : "conv");
        rc = fr_frm_write(path, &m, 0, &e);
        if (rc) fprintf(stderr, "%s\n", e.msg);
        else printf("wrote %s\n", path);
        fr_model_free(&m);
    }
    return rc != 0;
}

/* A conv / pool window reaching past the padded input by less than one stride: C division
 * truncated the negative extent to an output of 1 and the validator accepted what the kernels
 * then refused with an assertion (found by fuzz_exec).  Returns the model with the pads of
 * node 1 set so (h + pads - window) is -1 at stride 2. */
static void window_past_input(fr_model *m, int pool)
{
    build(m, pool ? 1 : 4, 0, 4, 4);   /* a pool keeps 1 channel: the rest of the graph must fit */
    fr_node *n = &m->g.nodes[1];       /* conv1 on 8x8, 3x3 */
    n->a.sh = n->a.sw = 2;
    n->a.dh = n->a.dw = 4;         /* window 9 > 8: extent -1 */
    if (pool) {
        n->op = FR_OP_MAXPOOL;
        n->n_param = 0; n->param[0] = n->param[1] = -1;
        n->a.dh = n->a.dw = 1;
        n->a.kh = n->a.kw = 9;
        n->a.pt = n->a.pl = n->a.pb = n->a.pr = 0;
    }
}

static void test_window_past_input(void)
{
    for (int pool = 0; pool < 2; pool++) {
        fr_model m;
        window_past_input(&m, pool);
        fr_err e;
        fr_err_clear(&e);
        FR_CHECKF(fr_graph_validate(&m.g, &m.meta, "t", &e) == FR_EINPUT, "pool %d: accepted", pool);
        fr_model_free(&m);
    }
}

static int flip_pad(const char *in, const char *out, int bit)
{
    fr_model m;
    fr_err e;
    if (fr_frm_read(in, &m, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    int k = 1;
    while (k < m.g.n_nodes && m.g.nodes[k].op != FR_OP_CONV) k++;
    if (k == m.g.n_nodes) { fprintf(stderr, "%s: no conv\n", in); fr_model_free(&m); return 1; }
    m.g.nodes[k].a.pt ^= 1 << bit;
    int rc = fr_frm_write(out, &m, 1, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    else printf("%s: node %s pad top %d\n", out, m.g.nodes[k].name, m.g.nodes[k].a.pt);
    fr_model_free(&m);
    return rc != 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--gen-bad")) return gen_bad(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--gen-bad-frm")) return gen_bad_frm(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "--flip-pad")) return flip_pad(argv[2], argv[3], atoi(argv[4]));
    unsetenv("FRTUI_MEM_AVAILABLE");
    FR_RUN(test_plan_matches_allocation);
    FR_RUN(test_plan_counts_allocated_blocks);
    FR_RUN(test_exec_refuses_before_allocating);
    FR_RUN(test_batch_actually_used);
    FR_RUN(test_keep_all_dropped_first);
    FR_RUN(test_window_past_input);
    return FR_REPORT();
}
