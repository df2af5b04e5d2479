/* test_frm.c — .frm bundle: round trips, byte-identical rewrite, fingerprint, info, and a corpus
 * of malformed bundles.
 *
 *   test_frm                 run the tests (reads tests/bad/frm/ when run from the repo root,
 *                            or from $FRTUI_SRCDIR/tests/bad/frm)
 *   test_frm --gen-bad DIR   (re)generate the malformed corpus into DIR (committed files)
 *
 * The corpus is built by mutating a valid bundle of a small conv+bn+relu+add+linear model.
 * Mutations inside a section are re-assembled with valid checksums so that the reader reaches
 * the fault under test instead of stopping at the checksum.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fr_test.h"
#include "../src/io/frm_int.h"
#include "frtui/frm.h"

/* ---- a small model ------------------------------------------------------------------------ */

#include "model_builder.h"

static void build_model(fr_model *m, int with_quant)
{
    fr_rng r;
    fr_rng_seed(&r, 42);
    fr_tb_begin(m, "tiny-resnet", "input", 1, 8, 8);
    snprintf(m->meta.provenance, sizeof m->meta.provenance, "unit test model, seed 42");
    m->meta.mean[0] = 0.2860f; m->meta.std[0] = 0.3530f;
    m->meta.n_classes = 3;
    m->meta.class_names = fr_xcalloc(3, sizeof(char *));
    m->meta.class_names[0] = fr_xstrdup("alpha");
    m->meta.class_names[1] = fr_xstrdup("beta");
    m->meta.class_names[2] = fr_xstrdup("gamma");
    m->meta.train_seed = 0x1234567890abcdefULL;
    m->meta.train_threads = 1;
    /* All tensors first (their values fix the file's bytes), then the nodes. */
    int w1 = fr_tb_tensor(m, &r, "conv1.w", 4, 4, 1, 3, 3, 0.3f, 1, 0), b1 = fr_tb_tensor(m, &r, "conv1.b", 1, 4, 1, 1, 1, 0.3f, 1, 0);
    int ga = fr_tb_tensor(m, &r, "bn1.gamma", 1, 4, 1, 1, 1, 0.3f, 1, 1), be = fr_tb_tensor(m, &r, "bn1.beta", 1, 4, 1, 1, 1, 0.3f, 1, 0);
    int mu = fr_tb_tensor(m, &r, "bn1.mean", 1, 4, 1, 1, 1, 0.3f, 1, 0), va = fr_tb_tensor(m, &r, "bn1.var", 1, 4, 1, 1, 1, 0.3f, 1, 2);
    int w2 = fr_tb_tensor(m, &r, "conv2.w", 4, 4, 4, 3, 3, 0.3f, 1, 0);
    int wf = fr_tb_tensor(m, &r, "fc.w", 2, 3, 64, 1, 1, 0.3f, 1, 0), bf = fr_tb_tensor(m, &r, "fc.b", 1, 3, 1, 1, 1, 0.3f, 1, 0);
    fr_graph *g = &m->g;
    int c1 = fr_tb_node(m, "conv1", FR_OP_CONV, 0, -1);
    fr_node *n = &g->nodes[c1];
    n->a.kh = n->a.kw = 3; n->a.pt = n->a.pl = n->a.pb = n->a.pr = 1;
    fr_tb_params(m, c1, 2, w1, b1, -1, -1);
    int bn = fr_tb_node(m, "bn1", FR_OP_BN, c1, -1);
    fr_tb_params(m, bn, 4, ga, be, mu, va);
    g->nodes[bn].a.eps = 1e-3f;
    int re = fr_tb_node(m, "relu1", FR_OP_RELU, bn, -1);
    int c2 = fr_tb_node(m, "conv2", FR_OP_CONV, re, -1);
    n = &g->nodes[c2];
    n->a.kh = n->a.kw = 3; n->a.pt = n->a.pl = n->a.pb = n->a.pr = 1;
    fr_tb_params(m, c2, 2, w2, -1, -1, -1);
    int ad = fr_tb_node(m, "add1", FR_OP_ADD, re, c2);
    int po = fr_tb_node(m, "pool", FR_OP_MAXPOOL, ad, -1);
    n = &g->nodes[po];
    n->a.kh = n->a.kw = 2; n->a.sh = n->a.sw = 2;
    int fl = fr_tb_node(m, "flat", FR_OP_FLATTEN, po, -1);
    int fc = fr_tb_node(m, "fc", FR_OP_LINEAR, fl, -1);
    fr_tb_params(m, fc, 2, wf, bf, -1, -1);

    fr_dataset *d = &m->calib;
    d->n = 5; d->c = 1; d->h = 8; d->w = 8; d->dtype = 0; d->scale = 1.0f / 255; d->offset = 0;
    d->u8 = fr_amalloc(5 * 64);
    for (int i = 0; i < 5 * 64; i++) d->u8[i] = (uint8_t)(fr_rng_u64(&r) & 0xff);
    d = &m->eval;
    d->n = 7; d->c = 1; d->h = 8; d->w = 8; d->dtype = 1; d->scale = 1.0f; d->offset = -0.5f;
    d->f32 = fr_amalloc(7 * 64 * 4);
    for (int i = 0; i < 7 * 64; i++) d->f32[i] = fr_rng_uniform(&r);
    d->labels = malloc(7 * sizeof(int32_t));
    for (int i = 0; i < 7; i++) d->labels[i] = i % 3;
    if (with_quant) m->quant_json = fr_xstrdup("{\"layers\": {\"conv1\": {\"bits\": 4, \"scales\": 4}}}");
}

static int models_equal(const fr_model *a, const fr_model *b)
{
    const fr_meta *x = &a->meta, *y = &b->meta;
    if (strcmp(x->name, y->name) || strcmp(x->provenance, y->provenance) || strcmp(x->layout, y->layout)) return 0;
    if (x->in_c != y->in_c || x->in_h != y->in_h || x->in_w != y->in_w || x->n_classes != y->n_classes) return 0;
    if (memcmp(x->mean, y->mean, sizeof x->mean) || memcmp(x->std, y->std, sizeof x->std)) return 0;
    if (x->train_seed != y->train_seed || x->train_threads != y->train_threads) return 0;
    if (!x->class_names != !y->class_names) return 0;
    for (int i = 0; x->class_names && i < x->n_classes; i++)
        if (strcmp(x->class_names[i], y->class_names[i])) return 0;
    if (a->g.n_nodes != b->g.n_nodes || a->g.n_tensors != b->g.n_tensors) return 0;
    for (int i = 0; i < a->g.n_nodes; i++) {
        const fr_node *p = &a->g.nodes[i], *q = &b->g.nodes[i];
        if (strcmp(p->name, q->name) || p->op != q->op || p->n_in != q->n_in || p->n_param != q->n_param) return 0;
        if (memcmp(p->in, q->in, sizeof p->in[0] * (size_t)p->n_in)) return 0;
        if (memcmp(p->param, q->param, sizeof p->param)) return 0;
        if (memcmp(&p->a, &q->a, sizeof p->a)) return 0;
    }
    for (int i = 0; i < a->g.n_tensors; i++) {
        const fr_tensor *p = &a->g.tensors[i], *q = &b->g.tensors[i];
        if (strcmp(p->name, q->name) || p->ndim != q->ndim || memcmp(p->dim, q->dim, sizeof p->dim)) return 0;
        if (memcmp(p->data, q->data, (size_t)fr_tensor_numel(p) * 4)) return 0;
    }
    const fr_dataset *da[2] = {&a->calib, &a->eval}, *db[2] = {&b->calib, &b->eval};
    for (int k = 0; k < 2; k++) {
        const fr_dataset *p = da[k], *q = db[k];
        if (p->n != q->n || p->c != q->c || p->h != q->h || p->w != q->w || p->dtype != q->dtype) return 0;
        if (memcmp(&p->scale, &q->scale, 4) || memcmp(&p->offset, &q->offset, 4)) return 0;
        size_t cnt = (size_t)p->n * p->c * p->h * p->w;
        if (p->n && memcmp(p->dtype ? (void *)p->f32 : (void *)p->u8, q->dtype ? (void *)q->f32 : (void *)q->u8,
                           cnt * (p->dtype ? 4 : 1))) return 0;
        if (!p->labels != !q->labels) return 0;
        if (p->labels && memcmp(p->labels, q->labels, (size_t)p->n * 4)) return 0;
    }
    if (!a->quant_json != !b->quant_json) return 0;
    if (a->quant_json && strcmp(a->quant_json, b->quant_json)) return 0;
    return 1;
}

static int model_is_empty(const fr_model *m)
{
    return m->g.n_nodes == 0 && m->g.nodes == NULL && m->g.tensors == NULL && m->meta.class_names == NULL &&
           m->quant_json == NULL && m->calib.u8 == NULL && m->eval.f32 == NULL && m->eval.labels == NULL;
}

/* ---- container helpers (independent re-implementation of the documented layout) ---------- */

static uint64_t get_le(const uint8_t *p, int k) { uint64_t v = 0; for (int i = k - 1; i >= 0; i--) v = (v << 8) | p[i]; return v; }
static void set_le(uint8_t *p, uint64_t v, int k) { for (int i = 0; i < k; i++) p[i] = (uint8_t)(v >> (8 * i)); }

typedef struct sec { uint32_t type; uint8_t *p; size_t n; } sec;
typedef struct file { sec s[8]; int ns; } file;

static void file_parse(const uint8_t *b, size_t n, file *f)
{
    (void)n;
    f->ns = (int)get_le(b + 12, 4);
    for (int i = 0; i < f->ns; i++) {
        const uint8_t *t = b + 32 + 32 * i;
        f->s[i].type = (uint32_t)get_le(t, 4);
        uint64_t off = get_le(t + 8, 8);
        f->s[i].n = get_le(t + 16, 8);
        f->s[i].p = malloc(f->s[i].n + 1);
        memcpy(f->s[i].p, b + off, f->s[i].n);
    }
}

static void file_free(file *f) { for (int i = 0; i < f->ns; i++) free(f->s[i].p); f->ns = 0; }

static void fix_header(uint8_t *b)
{
    size_t te = 32 + 32 * (size_t)get_le(b + 12, 4);
    set_le(b + 24, fr_fnv1a(fr_fnv1a(FR_FNV_INIT, b, 24), b + 32, te - 32), 8);
}

static uint8_t *file_build(const file *f, unsigned major, unsigned minor, size_t *out_n)
{
    size_t te = 32 + 32 * (size_t)f->ns, off = (te + 63) & ~(size_t)63, total = off;
    for (int i = 0; i < f->ns; i++) total = ((total + 63) & ~(size_t)63) + f->s[i].n;
    if (f->ns == 0) total = te;
    uint8_t *b = calloc(1, total + 64);
    memcpy(b, "FRTM", 4);
    set_le(b + 4, major, 2); set_le(b + 6, minor, 2);
    set_le(b + 12, (uint64_t)f->ns, 4);
    set_le(b + 16, total, 8);
    for (int i = 0; i < f->ns; i++) {
        uint8_t *t = b + 32 + 32 * i;
        set_le(t, f->s[i].type, 4);
        set_le(t + 8, off, 8);
        set_le(t + 16, f->s[i].n, 8);
        set_le(t + 24, fr_fnv1a(FR_FNV_INIT, f->s[i].p, f->s[i].n), 8);
        memcpy(b + off, f->s[i].p, f->s[i].n);
        off = (off + f->s[i].n + 63) & ~(size_t)63;
    }
    fix_header(b);
    *out_n = total;
    return b;
}

static sec *file_sec(file *f, uint32_t type)
{
    for (int i = 0; i < f->ns; i++) if (f->s[i].type == type) return &f->s[i];
    return NULL;
}

/* Offset of the byte after a length-prefixed string `s` inside a section, or -1. */
static long find_str(const sec *s, const char *str)
{
    size_t k = strlen(str);
    for (size_t i = 0; i + 2 + k <= s->n; i++)
        if (get_le(s->p + i, 2) == k && !memcmp(s->p + i + 2, str, k)) return (long)(i + 2 + k);
    return -1;
}

/* Replaces bytes [a, b) of the section with `k` bytes from p. */
static void splice(sec *s, size_t a, size_t b, const void *p, size_t k)
{
    uint8_t *q = malloc(s->n - (b - a) + k + 1);
    memcpy(q, s->p, a);
    if (k) memcpy(q + a, p, k);
    memcpy(q + a + k, s->p + b, s->n - b);
    free(s->p);
    s->p = q;
    s->n = s->n - (b - a) + k;
}

/* ---- corpus -------------------------------------------------------------------------------- */

typedef struct variant { char name[64]; uint8_t *p; size_t n; } variant;
static variant V[200];
static int NV;

static void add_v(const char *name, uint8_t *p, size_t n)
{
    FR_ASSERT(NV < 200);
    snprintf(V[NV].name, sizeof V[NV].name, "%03d-%s", NV, name);
    V[NV].p = p;
    V[NV].n = n;
    NV++;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n) { uint8_t *q = malloc(n + 1); if (n) memcpy(q, p, n); return q; }

static uint8_t *encode(const fr_model *m, int compress, size_t *n)
{
    uint8_t *b;
    fr_err e;
    FR_ASSERT(frm_encode(m, compress, 0, &b, n, &e) == FR_OK);   /* without the reader's rules: bad variants */
    return b;
}

/* A model mutation, written by the writer (which encodes without validating). */
typedef void (*mutate_fn)(fr_model *m);
static void add_model_v(const char *name, mutate_fn f)
{
    fr_model m;
    size_t n;
    build_model(&m, 1);
    f(&m);
    uint8_t *b = encode(&m, 0, &n);
    fr_model_free(&m);
    add_v(name, b, n);
}

static void mut_dangling(fr_model *m) { m->g.nodes[5].in[1] = 99; }
static void mut_cycle(fr_model *m) { m->g.nodes[5].in[1] = 5; }
static void mut_forward(fr_model *m) { m->g.nodes[3].in[0] = 7; }
static void mut_neg_input(fr_model *m) { m->g.nodes[3].in[0] = -5; }
static void mut_conv_shape(fr_model *m) { m->g.nodes[1].a.kh = 5; }
static void mut_conv_groups(fr_model *m) { m->g.nodes[4].a.groups = 0; }
static void mut_conv_stride(fr_model *m) { m->g.nodes[4].a.sh = 0; }
static void mut_nan_weight(fr_model *m) { m->g.tensors[0].data[3] = NAN; }
static void mut_inf_weight(fr_model *m) { m->g.tensors[6].data[10] = -INFINITY; }
static void mut_first_not_input(fr_model *m) { m->g.nodes[0].op = FR_OP_RELU; }
static void mut_two_inputs(fr_model *m) { m->g.nodes[3].op = FR_OP_INPUT; m->g.nodes[3].n_in = 0; }
static void mut_relu_two_in(fr_model *m) { m->g.nodes[3].n_in = 2; m->g.nodes[3].in[1] = 1; }
static void mut_bn_missing(fr_model *m) { m->g.nodes[2].param[3] = -1; }
static void mut_bn_eps(fr_model *m) { m->g.nodes[2].a.eps = -1.0f; }
static void mut_bn_eps_nan(fr_model *m) { m->g.nodes[2].a.eps = NAN; }
static void mut_param_range(fr_model *m) { m->g.nodes[1].param[1] = 999; }
static void mut_linear_in(fr_model *m) { m->g.nodes[8].in[0] = 5; }
static void mut_add_shape(fr_model *m) { m->g.nodes[5].in[0] = 0; m->g.nodes[5].in[1] = 4; }
static void mut_pool_big(fr_model *m) { m->g.nodes[6].a.kh = 20; m->g.nodes[6].a.kw = 20; }
static void mut_std_zero(fr_model *m) { m->meta.std[0] = 0; }
static void mut_mean_nan(fr_model *m) { m->meta.mean[0] = NAN; }
static void mut_layout(fr_model *m) { snprintf(m->meta.layout, sizeof m->meta.layout, "NHWC"); }
static void mut_label_range(fr_model *m) { m->eval.labels[2] = 7; }
static void mut_label_neg(fr_model *m) { m->eval.labels[0] = -1; }
static void mut_eval_nan(fr_model *m) { m->eval.f32[5] = NAN; }
static void mut_scale_zero(fr_model *m) { m->calib.scale = 0; }
static void mut_calib_shape(fr_model *m) { m->calib.c = 2; m->calib.n = 2; }
static void mut_input_zero(fr_model *m) { m->meta.in_h = 0; }
static fr_node *node_named(fr_model *m, const char *name)
{
    for (int i = 0; i < m->g.n_nodes; i++)
        if (!strcmp(m->g.nodes[i].name, name)) return &m->g.nodes[i];
    FR_ASSERT(!"node not found");
    return NULL;
}
static void mut_conv_stride_huge(fr_model *m) { node_named(m, "conv1")->a.sw = 1 << 30; }
static void mut_conv_dilation(fr_model *m) { node_named(m, "conv2")->a.dh = 100000; }
static void mut_pool_stride(fr_model *m) { node_named(m, "pool")->a.sh = 65536; }
static void mut_conv_kernel(fr_model *m) { node_named(m, "conv1")->a.kh = 5000; }

/* Section-level mutation on a parsed copy of the raw (or zstd) base file. */
typedef void (*fmut_fn)(file *f);
static const uint8_t *g_base_raw, *g_base_z;
static size_t g_nraw, g_nz;
static void add_file_v(const char *name, int z, fmut_fn fn)
{
    file f;
    size_t n;
    file_parse(z ? g_base_z : g_base_raw, z ? g_nz : g_nraw, &f);
    fn(&f);
    uint8_t *b = file_build(&f, 1, 0, &n);
    add_v(name, b, n);
    file_free(&f);
}

/* Tensor entry field offsets after the name: ndim +0, dims +1, enc +33, off +34, len +42. */
static uint8_t *tfield(file *f, const char *tname, int off)
{
    sec *s = file_sec(f, FR_FRM_TENSORS);
    long p = find_str(s, tname);
    FR_ASSERT(p > 0);
    return s->p + p + off;
}
/* Node fields after the op string: n_in u8, in[], n_param u8, param[], u16 attr_len, attrs. */
static uint8_t *nfield(file *f, const char *node, const char *op)
{
    sec *s = file_sec(f, FR_FRM_GRAPH);
    long p = find_str(s, node);
    FR_ASSERT(p > 0 && get_le(s->p + p, 2) == strlen(op));
    return s->p + p + 2 + strlen(op);
}
/* Value of a META record. */
static uint8_t *mval(file *f, const char *key)
{
    sec *s = file_sec(f, FR_FRM_META);
    long p = find_str(s, key);
    FR_ASSERT(p > 0);
    return s->p + p + 4;
}
/* Dataset entry fields after the role: n c h w +0.., dtype +16, scale +17, offset +21, has_l +25,
 * doff +26, dlen +34, loff +42, llen +50. */
static uint8_t *dfield(file *f, const char *role)
{
    sec *s = file_sec(f, FR_FRM_DATASETS);
    long p = find_str(s, role);
    FR_ASSERT(p > 0);
    return s->p + p;
}

static void fm_dims_2e40(file *f) { set_le(tfield(f, "conv1.w", 1), (uint64_t)1 << 40, 8); }
static void fm_dims_overflow(file *f) { for (int k = 0; k < 4; k++) set_le(tfield(f, "conv1.w", 1 + 8 * k), (uint64_t)1 << 31, 8); }
static void fm_dim_zero(file *f) { set_le(tfield(f, "conv1.b", 1), 0, 8); }
static void fm_dim_neg(file *f) { set_le(tfield(f, "fc.w", 9), (uint64_t)-1, 8); }
static void fm_ndim0(file *f) { *tfield(f, "conv1.b", 0) = 0; }
static void fm_ndim5(file *f) { *tfield(f, "conv1.b", 0) = 5; }
static void fm_trailing_dim(file *f) { set_le(tfield(f, "fc.w", 17), 3, 8); }
static void fm_t_past_end(file *f) { set_le(tfield(f, "fc.b", 34), file_sec(f, FR_FRM_TENSORS)->n, 8); }
static void fm_t_len_overflow(file *f) { set_le(tfield(f, "fc.b", 42), UINT64_MAX - 8, 8); }
static void fm_t_misaligned(file *f) { uint8_t *p = tfield(f, "conv2.w", 34); set_le(p, get_le(p, 8) + 4, 8); }
static void fm_t_short(file *f) { uint8_t *p = tfield(f, "conv2.w", 42); set_le(p, get_le(p, 8) - 4, 8); }
static void fm_t_in_table(file *f) { set_le(tfield(f, "conv2.w", 34), 0, 8); }
static void fm_t_enc7(file *f) { *tfield(f, "bn1.var", 33) = 7; }
static void fm_t_count_huge(file *f) { set_le(file_sec(f, FR_FRM_TENSORS)->p, 1u << 30, 4); }
static void fm_t_count_plus(file *f) { uint8_t *p = file_sec(f, FR_FRM_TENSORS)->p; set_le(p, get_le(p, 4) + 1, 4); }
static void fm_t_count_minus(file *f) { uint8_t *p = file_sec(f, FR_FRM_TENSORS)->p; set_le(p, get_le(p, 4) - 1, 4); }
static void fm_t_name_len(file *f) { set_le(file_sec(f, FR_FRM_TENSORS)->p + 4, 0xffff, 2); }
static void fm_t_name_nul(file *f) { tfield(f, "conv1.w", 0)[-2] = 0; }
static void fm_t_dims_swap(file *f) { set_le(tfield(f, "fc.w", 1), 6, 8); set_le(tfield(f, "fc.w", 9), 32, 8); }
static void fm_z_magic(file *f) { sec *s = file_sec(f, FR_FRM_TENSORS); memset(s->p + get_le(tfield(f, "conv2.w", 34), 8), 0x5a, 4); }
static void fm_z_body(file *f)
{
    sec *s = file_sec(f, FR_FRM_TENSORS);
    uint64_t off = get_le(tfield(f, "conv2.w", 34), 8), len = get_le(tfield(f, "conv2.w", 42), 8);
    for (uint64_t i = 6; i < len; i++) s->p[off + i] = (uint8_t)(0xff ^ (i * 37));
}
static void fm_z_size(file *f) { set_le(tfield(f, "conv1.b", 1), 2, 8); }
static void fm_z_trunc(file *f) { uint8_t *p = tfield(f, "conv2.w", 42); set_le(p, get_le(p, 8) - 3, 8); }
static void fm_z_raw_enc(file *f) { *tfield(f, "conv2.w", 33) = 0; }

static void fm_n_count_huge(file *f) { set_le(file_sec(f, FR_FRM_GRAPH)->p, 0x7fffffff, 4); }
static void fm_n_count_plus(file *f) { uint8_t *p = file_sec(f, FR_FRM_GRAPH)->p; set_le(p, get_le(p, 4) + 1, 4); }
static void fm_n_count_minus(file *f) { uint8_t *p = file_sec(f, FR_FRM_GRAPH)->p; set_le(p, get_le(p, 4) - 1, 4); }
static void fm_n_count_zero(file *f) { sec *s = file_sec(f, FR_FRM_GRAPH); set_le(s->p, 0, 4); s->n = 4; }
static void fm_n_op(file *f) { memcpy(nfield(f, "relu1", "relu") - 4, "rolu", 4); }
static void fm_n_in9(file *f) { *nfield(f, "relu1", "relu") = 9; }
static void fm_n_param5(file *f) { uint8_t *p = nfield(f, "relu1", "relu"); p[1 + 4] = 5; }
static void fm_n_attr_short(file *f) { uint8_t *p = nfield(f, "relu1", "relu"); set_le(p + 1 + 4 + 1, 80, 2); }
static void fm_n_attr_long(file *f) { uint8_t *p = nfield(f, "fc", "linear"); set_le(p + 1 + 4 + 1 + 8, 0xffff, 2); }
static void fm_n_name_long(file *f)
{
    sec *s = file_sec(f, FR_FRM_GRAPH);
    long p = find_str(s, "relu1");
    char big[120];
    memset(big, 'x', sizeof big);
    uint8_t len[2] = {sizeof big, 0};
    splice(s, (size_t)p - 5, (size_t)p, big, sizeof big);
    splice(s, (size_t)p - 7, (size_t)p - 5, len, 2);
}
static void fm_n_trailing(file *f) { sec *s = file_sec(f, FR_FRM_GRAPH); splice(s, s->n, s->n, "junk", 4); }

static void fm_m_no_input(file *f) { memcpy(mval(f, "input") - 9, "inpux", 5); }
static void fm_m_input_zero(file *f) { set_le(mval(f, "input"), 0, 4); }
static void fm_m_input_huge(file *f) { set_le(mval(f, "input") + 4, 1u << 20, 4); }
static void fm_m_input_vlen(file *f) { set_le(mval(f, "input") - 4, 8, 4); }
static void fm_m_classes_huge(file *f) { set_le(mval(f, "n_classes"), 1u << 30, 4); }
static void fm_m_classes_more(file *f) { set_le(mval(f, "n_classes"), 4, 4); }
static void fm_m_classes_fewer(file *f) { set_le(mval(f, "n_classes"), 2, 4); }
static void fm_m_vlen_huge(file *f) { set_le(mval(f, "provenance") - 4, 0xffffffffu, 4); }
static void fm_m_dup_key(file *f)
{
    sec *s = file_sec(f, FR_FRM_META);
    uint8_t rec[2 + 4 + 4 + 3] = {4, 0, 'n', 'a', 'm', 'e', 3, 0, 0, 0, 'd', 'u', 'p'};
    splice(s, s->n, s->n, rec, sizeof rec);
}
static void fm_m_name_long(file *f)
{
    sec *s = file_sec(f, FR_FRM_META);
    long p = find_str(s, "name");
    size_t old = get_le(s->p + p, 4);
    uint8_t rec[4 + 300];
    set_le(rec, 300, 4);
    memset(rec + 4, 'n', 300);
    splice(s, (size_t)p, (size_t)p + 4 + old, rec, sizeof rec);
}
static void fm_m_truncated_rec(file *f) { sec *s = file_sec(f, FR_FRM_META); s->n -= 3; }

static void fm_d_n_huge(file *f) { set_le(dfield(f, "eval"), 0x7fffffff, 4); }
static void fm_d_n_zero(file *f) { set_le(dfield(f, "calib"), 0, 4); }
static void fm_d_dtype(file *f) { dfield(f, "calib")[16] = 5; }
static void fm_d_scale_nan(file *f) { uint32_t u = 0x7fc00000u; set_le(dfield(f, "eval") + 17, u, 4); }
static void fm_d_size(file *f) { set_le(dfield(f, "calib"), 4, 4); }
static void fm_d_garbage(file *f)
{
    sec *s = file_sec(f, FR_FRM_DATASETS);
    uint8_t *e = dfield(f, "eval");
    uint64_t off = get_le(e + 26, 8), len = get_le(e + 34, 8);
    for (uint64_t i = 0; i < len; i++) s->p[off + i] = (uint8_t)(i * 91 + 7);
}
static void fm_d_past_end(file *f) { set_le(dfield(f, "eval") + 42, file_sec(f, FR_FRM_DATASETS)->n - 64 + 64, 8); }
static void fm_d_len_huge(file *f) { set_le(dfield(f, "calib") + 34, UINT64_MAX, 8); }
static void fm_d_role(file *f) { dfield(f, "calib")[-1] = 'x'; }
static void fm_d_count3(file *f) { set_le(file_sec(f, FR_FRM_DATASETS)->p, 3, 4); }
static void fm_d_haslabels2(file *f) { dfield(f, "eval")[25] = 2; }
/* An eval set without labels is valid (label-free fidelity, issue 15); labels stored but not
 * flagged are not. */
static void fm_d_labels_unflagged(file *f) { dfield(f, "eval")[25] = 0; }
static void fm_d_dup_role(file *f)
{
    sec *s = file_sec(f, FR_FRM_DATASETS);
    long p = find_str(s, "eval");
    uint8_t role[7] = {5, 0, 'c', 'a', 'l', 'i', 'b'};
    splice(s, (size_t)p - 6, (size_t)p, role, sizeof role);
    splice(s, (size_t)p + 1 + 58, (size_t)p + 1 + 59, NULL, 0);   /* keep payload offsets: eat a pad byte */
}
static void fm_d_labels_trunc(file *f) { uint8_t *p = dfield(f, "eval") + 50; set_le(p, get_le(p, 8) - 2, 8); }

static void fm_q_nul(file *f) { sec *s = file_sec(f, FR_FRM_QUANT); s->p[3] = 0; }
static void fm_dup_meta(file *f)
{
    sec *m = file_sec(f, FR_FRM_META);
    memmove(&f->s[2], &f->s[1], sizeof(sec) * (size_t)(f->ns - 1));
    f->s[1].type = FR_FRM_META;
    f->s[1].n = m->n;
    f->s[1].p = dup_bytes(m->p, m->n);
    f->ns++;
}
static void drop(file *f, uint32_t type)
{
    for (int i = 0; i < f->ns; i++)
        if (f->s[i].type == type) {
            free(f->s[i].p);
            memmove(&f->s[i], &f->s[i + 1], sizeof(sec) * (size_t)(f->ns - i - 1));
            f->ns--;
            return;
        }
}
static void fm_no_meta(file *f) { drop(f, FR_FRM_META); }
static void fm_no_graph(file *f) { drop(f, FR_FRM_GRAPH); }
static void fm_no_tensors(file *f) { drop(f, FR_FRM_TENSORS); }
static void fm_unknown_sec(file *f) { f->s[f->ns].type = 99; f->s[f->ns].p = dup_bytes((const uint8_t *)"hello", 5); f->s[f->ns].n = 5; f->ns++; }

/* Header-level patches on a copy of the raw base file. */
static uint8_t *raw_copy(size_t *n) { *n = g_nraw; return dup_bytes(g_base_raw, g_nraw); }
static uint64_t sec_off(const uint8_t *b, int i) { return get_le(b + 32 + 32 * i + 8, 8); }
static uint64_t sec_len(const uint8_t *b, int i) { return get_le(b + 32 + 32 * i + 16, 8); }

static void build_corpus(void)
{
    fr_model m;
    build_model(&m, 1);
    size_t nraw, nz, n;
    uint8_t *raw = encode(&m, 0, &nraw), *z = encode(&m, 1, &nz), *b;
    fr_model_free(&m);
    g_base_raw = raw; g_nraw = nraw; g_base_z = z; g_nz = nz;
    int ns = (int)get_le(raw + 12, 4);
    static const char *sn[] = {"", "meta", "graph", "tensors", "datasets", "quant"};

    add_v("empty", dup_bytes(raw, 0), 0);
    add_v("short-header", dup_bytes(raw, 10), 10);
    b = raw_copy(&n); memcpy(b, "FRTX", 4); add_v("bad-magic", b, n);
    b = raw_copy(&n); set_le(b + 4, 2, 2); fix_header(b); add_v("major-2", b, n);
    b = raw_copy(&n); set_le(b + 4, 0, 2); fix_header(b); add_v("major-0", b, n);
    add_v("trunc-in-table", dup_bytes(raw, 48), 48);
    add_v("trunc-minus-1", dup_bytes(raw, nraw - 1), nraw - 1);
    for (int i = 0; i < ns; i++) {
        char nm[64];
        size_t cut = (size_t)sec_off(raw, i), mid = cut + (size_t)sec_len(raw, i) / 2;
        snprintf(nm, sizeof nm, "trunc-at-%s", sn[get_le(raw + 32 + 32 * i, 4)]);
        add_v(nm, dup_bytes(raw, cut), cut);
        snprintf(nm, sizeof nm, "trunc-mid-%s", sn[get_le(raw + 32 + 32 * i, 4)]);
        add_v(nm, dup_bytes(raw, mid), mid);
        /* Same, with the header's file size patched to match: the section table is caught. */
        snprintf(nm, sizeof nm, "trunc-mid-%s-size-fixed", sn[get_le(raw + 32 + 32 * i, 4)]);
        b = dup_bytes(raw, mid); set_le(b + 16, mid, 8); fix_header(b); add_v(nm, b, mid);
        snprintf(nm, sizeof nm, "checksum-%s", sn[get_le(raw + 32 + 32 * i, 4)]);
        b = raw_copy(&n); b[sec_off(raw, i) + sec_len(raw, i) / 3] ^= 0x40; add_v(nm, b, n);
    }
    b = dup_bytes(raw, nraw + 8); memset(b + nraw, 0, 8); add_v("trailing-bytes", b, nraw + 8);
    b = raw_copy(&n); set_le(b + 12, 0, 4); fix_header(b); add_v("nsec-zero", b, n);
    b = raw_copy(&n); set_le(b + 12, 1u << 30, 4); add_v("nsec-huge", b, n);
    b = raw_copy(&n); b[32 + 4] = 1; add_v("header-checksum", b, n);
    b = raw_copy(&n); set_le(b + 32 + 32 * 2 + 8, (nraw + 64) & ~(size_t)63, 8); fix_header(b); add_v("sec-past-eof", b, n);
    b = raw_copy(&n); set_le(b + 32 + 32 * 2 + 16, UINT64_MAX - 16, 8); fix_header(b); add_v("sec-len-overflow", b, n);
    b = raw_copy(&n); set_le(b + 32 + 32 * 1 + 8, sec_off(raw, 1) + 8, 8); fix_header(b); add_v("sec-misaligned", b, n);
    b = raw_copy(&n); set_le(b + 32 + 32 * 1 + 8, sec_off(raw, 0), 8); fix_header(b); add_v("sec-overlap", b, n);
    b = raw_copy(&n); set_le(b + 32 + 8, 0, 8); fix_header(b); add_v("sec-in-header", b, n);

    add_file_v("dup-meta", 0, fm_dup_meta);
    add_file_v("missing-meta", 0, fm_no_meta);
    add_file_v("missing-graph", 0, fm_no_graph);
    add_file_v("missing-tensors", 0, fm_no_tensors);
    add_file_v("unknown-section-minor0", 0, fm_unknown_sec);

    add_file_v("tensor-dims-2e40", 0, fm_dims_2e40);
    add_file_v("tensor-dims-product-overflow", 0, fm_dims_overflow);
    add_file_v("tensor-dim-zero", 0, fm_dim_zero);
    add_file_v("tensor-dim-negative", 0, fm_dim_neg);
    add_file_v("tensor-ndim-0", 0, fm_ndim0);
    add_file_v("tensor-ndim-5", 0, fm_ndim5);
    add_file_v("tensor-trailing-dim", 0, fm_trailing_dim);
    add_file_v("tensor-past-end", 0, fm_t_past_end);
    add_file_v("tensor-len-overflow", 0, fm_t_len_overflow);
    add_file_v("tensor-misaligned", 0, fm_t_misaligned);
    add_file_v("tensor-raw-len-mismatch", 0, fm_t_short);
    add_file_v("tensor-payload-in-table", 0, fm_t_in_table);
    add_file_v("tensor-encoding-7", 0, fm_t_enc7);
    add_file_v("tensor-count-huge", 0, fm_t_count_huge);
    add_file_v("tensor-count-plus-1", 0, fm_t_count_plus);
    add_file_v("tensor-count-minus-1", 0, fm_t_count_minus);
    add_file_v("tensor-name-len-past-end", 0, fm_t_name_len);
    add_file_v("tensor-name-nul", 0, fm_t_name_nul);
    add_file_v("linear-weight-shape-mismatch", 0, fm_t_dims_swap);
    add_file_v("zstd-bad-magic", 1, fm_z_magic);
    add_file_v("zstd-garbage", 1, fm_z_body);
    add_file_v("zstd-size-mismatch", 1, fm_z_size);
    add_file_v("zstd-truncated", 1, fm_z_trunc);
    add_file_v("zstd-marked-raw", 1, fm_z_raw_enc);

    add_file_v("node-count-huge", 0, fm_n_count_huge);
    add_file_v("node-count-plus-1", 0, fm_n_count_plus);
    add_file_v("node-count-minus-1", 0, fm_n_count_minus);
    add_file_v("node-count-zero", 0, fm_n_count_zero);
    add_file_v("node-unknown-op", 0, fm_n_op);
    add_file_v("node-9-inputs", 0, fm_n_in9);
    add_file_v("node-5-params", 0, fm_n_param5);
    add_file_v("node-attr-short", 0, fm_n_attr_short);
    add_file_v("node-attr-past-end", 0, fm_n_attr_long);
    add_file_v("node-name-too-long", 0, fm_n_name_long);
    add_file_v("graph-trailing-bytes", 0, fm_n_trailing);
    add_model_v("node-dangling-input", mut_dangling);
    add_model_v("node-cycle-self", mut_cycle);
    add_model_v("node-cycle-forward", mut_forward);
    add_model_v("node-negative-input", mut_neg_input);
    add_model_v("node-param-out-of-range", mut_param_range);
    add_model_v("conv-attr-weight-mismatch", mut_conv_shape);
    add_model_v("conv-groups-zero", mut_conv_groups);
    add_model_v("conv-stride-zero", mut_conv_stride);
    add_model_v("weights-nan", mut_nan_weight);
    add_model_v("weights-inf", mut_inf_weight);
    add_model_v("first-node-not-input", mut_first_not_input);
    add_model_v("two-input-nodes", mut_two_inputs);
    add_model_v("relu-two-inputs", mut_relu_two_in);
    add_model_v("bn-param-missing", mut_bn_missing);
    add_model_v("bn-eps-negative", mut_bn_eps);
    add_model_v("bn-eps-nan", mut_bn_eps_nan);
    add_model_v("linear-input-mismatch", mut_linear_in);
    add_model_v("add-shape-mismatch", mut_add_shape);
    add_model_v("pool-window-too-big", mut_pool_big);

    add_model_v("meta-std-zero", mut_std_zero);
    add_model_v("meta-mean-nan", mut_mean_nan);
    add_model_v("meta-layout-nhwc", mut_layout);
    add_model_v("meta-input-h-zero", mut_input_zero);
    add_file_v("meta-missing-input", 0, fm_m_no_input);
    add_file_v("meta-input-zero", 0, fm_m_input_zero);
    add_file_v("meta-input-huge", 0, fm_m_input_huge);
    add_file_v("meta-input-wrong-length", 0, fm_m_input_vlen);
    add_file_v("meta-classes-huge", 0, fm_m_classes_huge);
    add_file_v("meta-classes-more-than-names", 0, fm_m_classes_more);
    add_file_v("meta-classes-fewer-than-names", 0, fm_m_classes_fewer);
    add_file_v("meta-value-past-end", 0, fm_m_vlen_huge);
    add_file_v("meta-duplicate-key", 0, fm_m_dup_key);
    add_file_v("meta-name-too-long", 0, fm_m_name_long);
    add_file_v("meta-truncated-record", 0, fm_m_truncated_rec);

    add_model_v("dataset-label-out-of-range", mut_label_range);
    add_model_v("dataset-label-negative", mut_label_neg);
    add_model_v("dataset-eval-nan", mut_eval_nan);
    add_file_v("dataset-eval-labels-unflagged", 0, fm_d_labels_unflagged);
    add_model_v("dataset-scale-zero", mut_scale_zero);
    add_model_v("dataset-shape-mismatch", mut_calib_shape);
    add_file_v("dataset-n-huge", 0, fm_d_n_huge);
    add_file_v("dataset-n-zero", 0, fm_d_n_zero);
    add_file_v("dataset-dtype-5", 0, fm_d_dtype);
    add_file_v("dataset-scale-nan", 0, fm_d_scale_nan);
    add_file_v("dataset-size-mismatch", 0, fm_d_size);
    add_file_v("dataset-zstd-garbage", 0, fm_d_garbage);
    add_file_v("dataset-labels-past-end", 0, fm_d_past_end);
    add_file_v("dataset-len-huge", 0, fm_d_len_huge);
    add_file_v("dataset-unknown-role", 0, fm_d_role);
    add_file_v("dataset-count-3", 0, fm_d_count3);
    add_file_v("dataset-has-labels-2", 0, fm_d_haslabels2);
    add_file_v("dataset-duplicate-role", 0, fm_d_dup_role);
    add_file_v("dataset-labels-truncated", 0, fm_d_labels_trunc);
    add_file_v("quant-nul-byte", 0, fm_q_nul);
    /* Issue 14, item 4: attributes the ONNX importer bounded but the .frm reader did not. */
    add_model_v("conv-stride-huge", mut_conv_stride_huge);
    add_model_v("conv-dilation-huge", mut_conv_dilation);
    add_model_v("pool-stride-huge", mut_pool_stride);
    add_model_v("conv-kernel-side-5000", mut_conv_kernel);
}

static void free_corpus(void)
{
    for (int i = 0; i < NV; i++) free(V[i].p);
    NV = 0;
    free((void *)g_base_raw);
    free((void *)g_base_z);
}

/* ---- tests --------------------------------------------------------------------------------- */

static char g_tmp[256];

static int read_whole(const char *path, uint8_t **b, size_t *n)
{
    fr_err e;
    return fr_read_file(path, (size_t)1 << 30, b, n, &e);
}

static void roundtrip(int compress, int with_quant)
{
    fr_model m, r;
    fr_err e;
    build_model(&m, with_quant);
    size_t n1, n2;
    uint8_t *b1, *b2;
    FR_CHECK(fr_frm_write_mem(&m, compress, &b1, &n1, &e) == FR_OK);
    int rc = fr_frm_read_mem(b1, n1, "mem", &r, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc == FR_OK) {
        /* The reader fills inferred shapes; the hand-built model has none yet. */
        FR_CHECK(fr_graph_validate(&m.g, &m.meta, "built", &e) == FR_OK);
        FR_CHECK(models_equal(&m, &r));
        FR_CHECK(r.g.nodes[8].c == 3 && r.g.nodes[6].h == 4);
        FR_CHECK(fr_frm_write_mem(&r, compress, &b2, &n2, &e) == FR_OK);
        FR_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
        free(b2);
        FR_CHECK(fr_frm_fingerprint(&m) == fr_frm_fingerprint(&r));
        fr_model_free(&r);
    }
    /* Through files: write, read, write again: byte-identical. */
    char p1[300], p2[300];
    snprintf(p1, sizeof p1, "%s/a%d%d.frm", g_tmp, compress, with_quant);
    snprintf(p2, sizeof p2, "%s/b%d%d.frm", g_tmp, compress, with_quant);
    FR_CHECK(fr_frm_write(p1, &m, compress, &e) == FR_OK);
    rc = fr_frm_read(p1, &r, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc == FR_OK) {
        FR_CHECK(fr_frm_write(p2, &r, compress, &e) == FR_OK);
        uint8_t *f1, *f2;
        size_t s1, s2;
        FR_CHECK(read_whole(p1, &f1, &s1) == FR_OK && read_whole(p2, &f2, &s2) == FR_OK);
        FR_CHECK(s1 == s2 && s1 == n1 && memcmp(f1, f2, s1) == 0 && memcmp(f1, b1, s1) == 0);
        free(f1);
        free(f2);
        fr_model_free(&r);
    }
    free(b1);
    fr_model_free(&m);
}

static void test_roundtrip_raw(void) { roundtrip(0, 0); roundtrip(0, 1); }
static void test_roundtrip_zstd(void) { roundtrip(1, 0); roundtrip(1, 1); }

static void test_layout(void)
{
    fr_model m;
    build_model(&m, 1);
    size_t n, nz;
    uint8_t *b = encode(&m, 0, &n), *z = encode(&m, 1, &nz);
    FR_CHECK(memcmp(b, "FRTM", 4) == 0 && get_le(b + 4, 2) == 1 && get_le(b + 6, 2) == 0);
    FR_CHECK(get_le(b + 16, 8) == n);
    FR_CHECK(get_le(b + 8, 4) == 0 && get_le(z + 8, 4) == FR_FRM_FLAG_ZSTD_TENSORS);
    FR_CHECK(get_le(b + 12, 4) == 5);
    /* Sections are 64-aligned; raw tensor payloads are 64-aligned in the file. */
    for (int i = 0; i < 5; i++) FR_CHECK(sec_off(b, i) % 64 == 0);
    for (int t = 0; t < m.g.n_tensors; t++) {
        const fr_tensor *T = &m.g.tensors[t];
        size_t k = (size_t)fr_tensor_numel(T) * 4;
        uint8_t *hit = memmem(b, n, T->data, k);
        FR_CHECKF(hit && (size_t)(hit - b) % 64 == 0, "tensor %s at %ld", T->name, hit ? (long)(hit - b) : -1L);
    }
    /* Deterministic: encoding twice gives the same bytes. */
    size_t n2;
    uint8_t *b2 = encode(&m, 1, &n2);
    FR_CHECK(n2 == nz && memcmp(b2, z, nz) == 0);
    free(b2);
    free(b);
    free(z);
    fr_model_free(&m);
}

/* Minor 1 (issue 16): token attributes (tokens, form, heads, theta) and ops round-trip; the header says minor 1 only when a
 * node uses them (files without token ops keep their minor-0 bytes, test_layout); a bad GELU
 * form is refused by the reader. */
static void test_token_ops(void)
{
    fr_model m, r;
    fr_err e;
    fr_rng g;
    fr_rng_seed(&g, 3);
    fr_tb_begin(&m, "tokens", "input", 4, 1, 6);
    fr_tb_infer(&m);
    int x = fr_tb_linear(&m, &g, "l.w", "l.b", "l", 0, 6, 8, 0.5f, 1);
    m.g.nodes[x].a.tokens = 4;
    fr_tb_infer(&m);
    int ga = fr_tb_tensor(&m, &g, "ln.g", 1, 8, 1, 1, 1, 0, 1, 1.0f), be = fr_tb_tensor(&m, &g, "ln.b", 1, 8, 1, 1, 1, 0, 1, 0);
    x = fr_tb_node(&m, "ln", FR_OP_LAYERNORM, x, -1);
    fr_tb_params(&m, x, 2, ga, be, -1, -1);
    m.g.nodes[x].a.eps = 1e-5f;
    x = fr_tb_node(&m, "gelu", FR_OP_GELU, x, -1);
    m.g.nodes[x].a.form = 1;
    x = fr_tb_node(&m, "silu", FR_OP_SILU, x, -1);
    int gr = fr_tb_tensor(&m, &g, "rms.g", 1, 8, 1, 1, 1, 0, 1, 1.0f);
    x = fr_tb_node(&m, "rms", FR_OP_RMSNORM, x, -1);
    fr_tb_params(&m, x, 1, gr, -1, -1, -1);
    m.g.nodes[x].a.eps = 1e-6f;
    x = fr_tb_node(&m, "rope", FR_OP_ROPE, x, -1);
    m.g.nodes[x].a.heads = 2; m.g.nodes[x].a.theta = 500.0f;
    fr_tb_infer(&m);
    size_t n, n2;
    uint8_t *b = encode(&m, 0, &n), *b2;
    FR_CHECK(n > 8 && b[6] == 1 && b[7] == 0);
    int rc = fr_frm_read_mem(b, n, "tokens", &r, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc == FR_OK) {
        FR_CHECK(r.g.nodes[1].a.tokens == 4 && r.g.nodes[3].a.form == 1 && r.g.nodes[2].op == FR_OP_LAYERNORM &&
                 r.g.nodes[5].op == FR_OP_RMSNORM && r.g.nodes[4].op == FR_OP_SILU && r.g.nodes[5].w == 8 &&
                 r.g.nodes[6].a.heads == 2 && r.g.nodes[6].a.theta == 500.0f);
        b2 = encode(&r, 0, &n2);
        FR_CHECK(n2 == n && memcmp(b, b2, n) == 0);
        free(b2);
        fr_model_free(&r);
    }
    free(b);
    m.g.nodes[3].a.form = 2;
    b = encode(&m, 0, &n);
    FR_CHECK(fr_frm_read_mem(b, n, "form2", &r, &e) == FR_EINPUT && strstr(e.msg, "gelu form"));
    free(b);
    fr_model_free(&m);
}

static void test_forward_compat(void)
{
    fr_model m, r;
    fr_err e;
    build_model(&m, 0);
    size_t n, n2;
    uint8_t *b = encode(&m, 0, &n), *b2;
    /* A higher minor may add section types: skipped. */
    file f;
    file_parse(b, n, &f);
    fm_unknown_sec(&f);
    b2 = file_build(&f, 1, 3, &n2);
    int rc = fr_frm_read_mem(b2, n2, "minor3", &r, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc == FR_OK) { FR_CHECK(r.g.n_nodes == 9 && r.g.n_tensors == 9); fr_model_free(&r); }
    free(b2);
    file_free(&f);
    /* Unknown META keys are skipped at any minor. */
    file_parse(b, n, &f);
    sec *meta = file_sec(&f, FR_FRM_META);
    uint8_t rec[] = {5, 0, 'f', 'u', 't', 'u', 'r', 2, 0, 0, 0, 'o', 'k'};
    splice(meta, meta->n, meta->n, rec, sizeof rec);
    b2 = file_build(&f, 1, 0, &n2);
    rc = fr_frm_read_mem(b2, n2, "metakey", &r, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc == FR_OK) { FR_CHECK(strcmp(r.meta.name, "tiny-resnet") == 0); fr_model_free(&r); }
    free(b2);
    file_free(&f);
    /* The test's independent assembler reproduces the writer's bytes exactly. */
    file_parse(b, n, &f);
    b2 = file_build(&f, 1, 0, &n2);
    FR_CHECK(n2 == n && memcmp(b, b2, n) == 0);
    free(b2);
    file_free(&f);
    free(b);
    fr_model_free(&m);
}

static void test_fingerprint(void)
{
    fr_model m;
    build_model(&m, 0);
    uint64_t f0 = fr_frm_fingerprint(&m);
    FR_CHECK(f0 == fr_frm_fingerprint(&m));
    /* Irrelevant to results: name, provenance, classes, eval data, quant json. */
    snprintf(m.meta.name, sizeof m.meta.name, "renamed");
    snprintf(m.meta.provenance, sizeof m.meta.provenance, "other");
    m.eval.f32[0] += 1;
    free(m.meta.class_names[0]);
    m.meta.class_names[0] = fr_xstrdup("zeta");
    m.quant_json = fr_xstrdup("{}");
    FR_CHECK(fr_frm_fingerprint(&m) == f0);
    /* Relevant: a weight (one ulp), a calibration pixel, an attribute, the wiring, normalisation. */
    float w = m.g.tensors[6].data[7];
    m.g.tensors[6].data[7] = nextafterf(w, 1e9f);
    FR_CHECK(fr_frm_fingerprint(&m) != f0);
    m.g.tensors[6].data[7] = w;
    FR_CHECK(fr_frm_fingerprint(&m) == f0);
    m.calib.u8[100] ^= 1;
    FR_CHECK(fr_frm_fingerprint(&m) != f0);
    m.calib.u8[100] ^= 1;
    m.g.nodes[1].a.pt = 0;
    FR_CHECK(fr_frm_fingerprint(&m) != f0);
    m.g.nodes[1].a.pt = 1;
    m.g.nodes[5].in[0] = 2;
    FR_CHECK(fr_frm_fingerprint(&m) != f0);
    m.g.nodes[5].in[0] = 3;
    m.meta.std[0] = 0.5f;
    FR_CHECK(fr_frm_fingerprint(&m) != f0);
    m.meta.std[0] = 0.3530f;
    m.calib.scale = 1.0f;
    FR_CHECK(fr_frm_fingerprint(&m) != f0);
    m.calib.scale = 1.0f / 255;
    FR_CHECK(fr_frm_fingerprint(&m) == f0);
    fr_model_free(&m);
}

static void test_info(void)
{
    fr_model m, r;
    fr_err e;
    build_model(&m, 1);
    char p[300];
    snprintf(p, sizeof p, "%s/info.frm", g_tmp);
    FR_CHECK(fr_frm_write(p, &m, 1, &e) == FR_OK);
    FR_CHECK(fr_frm_read(p, &r, &e) == FR_OK);
    char *txt = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&txt, &len);
    FR_CHECK(fr_frm_info(f, p, &r, 1) == FR_OK);
    fclose(f);
    FR_CHECK(strstr(txt, "tiny-resnet") && strstr(txt, "unit test model"));
    FR_CHECK(strstr(txt, "conv1") && strstr(txt, "batchnorm") && strstr(txt, "linear"));
    FR_CHECK(strstr(txt, "4x8x8") && strstr(txt, "3x1x1"));
    char tot[64];
    snprintf(tot, sizeof tot, "total params %lld", (long long)fr_graph_param_count(&r.g));
    FR_CHECK(strstr(txt, tot) != NULL);
    FR_CHECK(strstr(txt, "n=5") && strstr(txt, "n=7") && strstr(txt, "labels yes") && strstr(txt, "labels no"));
    FR_CHECK(strstr(txt, "file size") && strstr(txt, "alpha, beta, gamma"));
    if (getenv("FR_TEST_VERBOSE")) fputs(txt, stdout);
    free(txt);
    fr_model_free(&r);
    fr_model_free(&m);
}

static void test_read_errors(void)
{
    fr_model m;
    fr_err e;
    FR_CHECK(fr_frm_read("/nonexistent/x.frm", &m, &e) == FR_EINPUT && strstr(e.msg, "/nonexistent/x.frm"));
    FR_CHECK(model_is_empty(&m));
    /* Write to an unwritable place: FR_EIO naming the path. */
    fr_model w;
    build_model(&w, 0);
    FR_CHECK(fr_frm_write("/nonexistent/dir/y.frm", &w, 0, &e) == FR_EIO && strstr(e.msg, "/nonexistent/dir/y.frm"));
    fr_model_free(&w);
}


/* Issue 14, item 5: the writer refuses what the reader would refuse (labels >= n_classes, an
 * input side beyond the .frm limit) instead of writing a bundle frtui cannot open. */
static void test_writer_applies_reader_rules(void)
{
    fr_model m;
    build_model(&m, 0);
    uint8_t *b = NULL;
    size_t n = 0;
    fr_err e;
    FR_CHECK(fr_frm_write_mem(&m, 1, &b, &n, &e) == FR_OK);
    free(b);
    int keep = m.eval.labels[2];
    m.eval.labels[2] = m.meta.n_classes;
    FR_CHECK(fr_frm_write_mem(&m, 1, &b, &n, &e) == FR_EINPUT && strstr(e.msg, "label") && !b);
    m.eval.labels[2] = keep;
    int w = m.meta.in_w;
    m.meta.in_w = 65536;
    FR_CHECK(fr_frm_write_mem(&m, 1, &b, &n, &e) == FR_EINPUT && strstr(e.msg, "65535") && !b);
    m.meta.in_w = w;
    fr_model_free(&m);
}

static void test_bad_in_memory(void)
{
    build_corpus();
    FR_CHECKF(NV >= 50, "only %d variants", NV);
    for (int i = 0; i < NV; i++) {
        fr_model m;
        fr_err e;
        fr_err_clear(&e);
        int rc = fr_frm_read_mem(V[i].p, V[i].n, V[i].name, &m, &e);
        FR_CHECKF(rc == FR_EINPUT, "%s: rc=%d msg=%s", V[i].name, rc, e.msg);
        FR_CHECKF(strncmp(e.msg, V[i].name, strlen(V[i].name)) == 0 && !strchr(e.msg, '\n'), "%s: msg=%s", V[i].name, e.msg);
        FR_CHECK(model_is_empty(&m));
        if (getenv("FR_TEST_VERBOSE")) printf("  %s\n", e.msg);
        if (rc == FR_OK) fr_model_free(&m);
    }
    free_corpus();
}

static const char *bad_dir(void)
{
    static char buf[4200];
    struct stat st;
    if (stat("tests/bad/frm", &st) == 0) return "tests/bad/frm";
    const char *s = getenv("FRTUI_SRCDIR");
    if (s) { snprintf(buf, sizeof buf, "%s/tests/bad/frm", s); if (stat(buf, &st) == 0) return buf; }
    return NULL;
}

static void test_bad_files(void)
{
    const char *dir = bad_dir();
    if (!dir) { printf("  (tests/bad/frm not found; run from the repo root)\n"); return; }
    DIR *d = opendir(dir);
    FR_CHECK(d != NULL);
    if (!d) return;
    struct dirent *de;
    int count = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".frm")) continue;
        char path[4400];
        snprintf(path, sizeof path, "%.4000s/%.255s", dir, de->d_name);
        fr_model m;
        fr_err e;
        fr_err_clear(&e);
        int rc = fr_frm_read(path, &m, &e);
        FR_CHECKF(rc == FR_EINPUT, "%s: rc=%d msg=%s", path, rc, e.msg);
        FR_CHECKF(strncmp(e.msg, path, strlen(path)) == 0 && strlen(e.msg) > strlen(path) + 4 && !strchr(e.msg, '\n'),
                  "%s: msg=%s", path, e.msg);
        FR_CHECK(model_is_empty(&m));
        count++;
    }
    closedir(d);
    FR_CHECKF(count >= 50, "only %d bad files in %s", count, dir);
}

/* Random single-byte mutations and truncations of valid bundles: never a crash, never a leak
 * (run under ASan), always FR_OK or FR_EINPUT with the name in the message. */
static void test_mutation_fuzz(void)
{
    fr_model m;
    build_model(&m, 1);
    size_t n[2];
    uint8_t *b[2] = {encode(&m, 0, &n[0]), encode(&m, 1, &n[1])};
    fr_model_free(&m);
    fr_rng r;
    fr_rng_seed(&r, 7);
    int bad = 0, iters = getenv("FR_FUZZ_ITERS") ? atoi(getenv("FR_FUZZ_ITERS")) : 3000;
    for (int it = 0; it < iters; it++) {
        int k = it & 1;
        uint8_t *c = dup_bytes(b[k], n[k]);
        size_t len = n[k];
        int mode = (int)fr_rng_below(&r, 3);
        if (mode == 0) c[fr_rng_below(&r, (uint32_t)len)] ^= (uint8_t)(1 + fr_rng_below(&r, 255));
        else if (mode == 1) len = fr_rng_below(&r, (uint32_t)len);
        else {
            /* Mutate inside a section and fix the checksums, to get past them. */
            file f;
            file_parse(b[k], n[k], &f);
            sec *s = &f.s[fr_rng_below(&r, (uint32_t)f.ns)];
            if (s->n) s->p[fr_rng_below(&r, (uint32_t)s->n)] ^= (uint8_t)(1 + fr_rng_below(&r, 255));
            free(c);
            c = file_build(&f, 1, 0, &len);
            file_free(&f);
        }
        fr_err e;
        fr_err_clear(&e);
        int rc = fr_frm_read_mem(c, len, "fuzz", &m, &e);
        if (rc == FR_OK) fr_model_free(&m);
        else if (rc != FR_EINPUT || strncmp(e.msg, "fuzz: ", 6) || !model_is_empty(&m)) {
            bad++;
            if (bad < 5) printf("  mutation %d: rc=%d %s\n", it, rc, e.msg);
        }
        free(c);
    }
    FR_CHECK(bad == 0);
    free(b[0]);
    free(b[1]);
}

static int gen_bad(const char *dir)
{
    mkdir(dir, 0755);
    build_corpus();
    for (int i = 0; i < NV; i++) {
        char path[4200];
        fr_err e;
        snprintf(path, sizeof path, "%.3000s/%.63s.frm", dir, V[i].name);
        if (fr_atomic_write(path, V[i].p, V[i].n, &e) != FR_OK) { fprintf(stderr, "%s\n", e.msg); return 1; }
    }
    printf("wrote %d files to %s\n", NV, dir);
    free_corpus();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--gen-bad")) return gen_bad(argv[2]);
    snprintf(g_tmp, sizeof g_tmp, "/tmp/frtui-test-frm.%ld", (long)getpid());
    mkdir(g_tmp, 0700);
    FR_RUN(test_roundtrip_raw);
    FR_RUN(test_roundtrip_zstd);
    FR_RUN(test_layout);
    FR_RUN(test_forward_compat);
    FR_RUN(test_token_ops);
    FR_RUN(test_fingerprint);
    FR_RUN(test_info);
    FR_RUN(test_read_errors);
    FR_RUN(test_writer_applies_reader_rules);
    FR_RUN(test_bad_in_memory);
    FR_RUN(test_bad_files);
    FR_RUN(test_mutation_fuzz);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", g_tmp);
    return FR_REPORT();
}
