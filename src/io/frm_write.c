/* frm_write.c — the .frm writer: builds the whole bundle in memory (deterministic bytes for a
 * given model) and hands it to fr_atomic_write; and the model fingerprint, which hashes the
 * same encoding.  Layout: frm.c's header comment; the reader accepts exactly what this writes
 * (fuzz_frm checks write(read(write(x))) == write(x)).  Split from frm.c to keep each file
 * about one direction. */
#include "frtui/frm.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "frtui/zdec.h"
#include "frm_int.h"

/* ---- writer buffer ------------------------------------------------------------------------ */

typedef struct wbuf { uint8_t *p; size_t n, cap; } wbuf;

static void wb_reserve(wbuf *b, size_t k)
{
    if (b->cap - b->n >= k) return;
    size_t c = b->cap ? b->cap : 256;
    while (c - b->n < k) c *= 2;
    b->p = fr_xrealloc(b->p, c);
    b->cap = c;
}
static void wb_put(wbuf *b, const void *p, size_t k) { if (!k) return; wb_reserve(b, k); memcpy(b->p + b->n, p, k); b->n += k; }
static void wb_zero(wbuf *b, size_t k) { if (!k) return; wb_reserve(b, k); memset(b->p + b->n, 0, k); b->n += k; }
static void wb_align(wbuf *b, size_t a) { wb_zero(b, (a - b->n % a) % a); }
static void wb_le(wbuf *b, uint64_t v, int k) { uint8_t t[8]; for (int i = 0; i < k; i++) t[i] = (uint8_t)(v >> (8 * i)); wb_put(b, t, (size_t)k); }
static void wb_u8(wbuf *b, unsigned v) { wb_le(b, v, 1); }
static void wb_u16(wbuf *b, unsigned v) { wb_le(b, v, 2); }
static void wb_u32(wbuf *b, uint32_t v) { wb_le(b, v, 4); }
static void wb_u64(wbuf *b, uint64_t v) { wb_le(b, v, 8); }
static void wb_i32(wbuf *b, int v) { wb_le(b, (uint32_t)v, 4); }
static void wb_f32(wbuf *b, float f) { uint32_t u; memcpy(&u, &f, 4); wb_u32(b, u); }
static void wb_str(wbuf *b, const char *s) { size_t k = strlen(s); wb_u16(b, (unsigned)k); wb_put(b, s, k); }
static void put_le64_at(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* A META record: key, then a value built in `v`. */
static void meta_rec(wbuf *b, const char *key, const wbuf *v)
{
    wb_str(b, key);
    wb_u32(b, (uint32_t)v->n);
    wb_put(b, v->p, v->n);
}

static void enc_meta(wbuf *b, const fr_meta *m)
{
    wbuf v = {0};
    v.n = 0; wb_put(&v, m->name, strlen(m->name)); meta_rec(b, "name", &v);
    v.n = 0; wb_put(&v, m->layout, strlen(m->layout)); meta_rec(b, "layout", &v);
    v.n = 0; wb_u32(&v, (uint32_t)m->in_c); wb_u32(&v, (uint32_t)m->in_h); wb_u32(&v, (uint32_t)m->in_w);
    meta_rec(b, "input", &v);
    v.n = 0; for (int i = 0; i < 4; i++) wb_f32(&v, m->mean[i]); meta_rec(b, "mean", &v);
    v.n = 0; for (int i = 0; i < 4; i++) wb_f32(&v, m->std[i]); meta_rec(b, "std", &v);
    v.n = 0; wb_u32(&v, (uint32_t)m->n_classes); meta_rec(b, "n_classes", &v);
    if (m->class_names && m->n_classes > 0) {
        v.n = 0;
        for (int i = 0; i < m->n_classes; i++) wb_str(&v, m->class_names[i] ? m->class_names[i] : "");
        meta_rec(b, "class_names", &v);
    }
    v.n = 0; wb_put(&v, m->provenance, strlen(m->provenance)); meta_rec(b, "provenance", &v);
    v.n = 0; wb_u64(&v, m->train_seed); meta_rec(b, "train_seed", &v);
    v.n = 0; wb_u32(&v, (uint32_t)m->train_threads); meta_rec(b, "train_threads", &v);
    /* Since 1.0 files of Dec 2026; only when known, so imported bundles keep their bytes. */
    if (m->train_blas_core[0]) {
        v.n = 0; wb_put(&v, m->train_blas_core, strlen(m->train_blas_core)); meta_rec(b, "train_blas_core", &v);
    }
    free(v.p);
}

static void enc_node(wbuf *b, const fr_node *n)
{
    const fr_attrs *a = &n->a;
    wb_str(b, n->name);
    wb_str(b, fr_op_name(n->op));
    wb_u8(b, (unsigned)n->n_in);
    for (int k = 0; k < n->n_in; k++) wb_i32(b, n->in[k]);
    wb_u8(b, (unsigned)n->n_param);
    for (int k = 0; k < n->n_param; k++) wb_i32(b, n->param[k]);
    const int ext = a->tokens || a->form || a->heads || a->kv_heads || a->theta != 0;
    wb_u16(b, ext ? ATTR_BYTES_1 : ATTR_BYTES);
    const int iv[12] = {a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->pb, a->pr, a->dh, a->dw, a->groups,
                        a->count_include_pad};
    for (int i = 0; i < 12; i++) wb_i32(b, iv[i]);
    wb_f32(b, a->eps); wb_f32(b, a->alpha); wb_f32(b, a->beta);
    for (int i = 0; i < 3; i++) wb_i32(b, a->perm[i]);
    wb_i32(b, a->out_c); wb_i32(b, a->out_h); wb_i32(b, a->out_w);
    if (ext) {
        wb_i32(b, a->tokens); wb_i32(b, a->form); wb_i32(b, a->heads); wb_i32(b, a->kv_heads);
        wb_f32(b, a->theta);
    }
}

/* The file's minor: 1 when a node carries the minor-1 attributes, else 0 (byte-identical to
 * what earlier builds wrote). */
static unsigned frm_minor(const fr_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].a.tokens || g->nodes[i].a.form || g->nodes[i].a.heads || g->nodes[i].a.kv_heads ||
            g->nodes[i].a.theta != 0)
            return 1;
    return 0;
}

static int check_encodable(const fr_model *m, int reader_rules, fr_err *e)
{
    const fr_graph *g = &m->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const fr_node *n = &g->nodes[i];
        if ((int)n->op < 0 || n->op >= FR_OP__COUNT || n->n_in < 0 || n->n_in > FR_MAX_IN ||
            n->n_param < 0 || n->n_param > FR_MAX_PARAM || strlen(n->name) >= FR_NAME_MAX)
            return fr_err_set(e, FR_EINPUT, "node %d (%.96s) cannot be encoded", i, n->name);
    }
    for (int i = 0; i < g->n_tensors; i++) {
        const fr_tensor *t = &g->tensors[i];
        if (t->ndim < 1 || t->ndim > 4 || !t->data || strlen(t->name) >= FR_NAME_MAX)
            return fr_err_set(e, FR_EINPUT, "tensor %d (%.96s) cannot be encoded", i, t->name);
        for (int k = 0; k < 4; k++)
            if (t->dim[k] < 1) return fr_err_set(e, FR_EINPUT, "tensor %s has dimension %d < 1", t->name, k);
    }
    if (m->meta.n_classes < 0 || m->meta.n_classes > FR_MAX_CLASSES)
        return fr_err_set(e, FR_EINPUT, "bad class count %d", m->meta.n_classes);
    for (int i = 0; m->meta.class_names && i < m->meta.n_classes; i++)
        if (m->meta.class_names[i] && strlen(m->meta.class_names[i]) > 1023)
            return fr_err_set(e, FR_EINPUT, "class name %d is too long", i);
    if (reader_rules) {
        int rc = fr_frm_check_input(&m->meta, "the model", e);
        if (rc) return rc;
    }
    const fr_dataset *ds[2] = {&m->calib, &m->eval};
    for (int i = 0; i < 2; i++) {
        const char *role = i ? "eval" : "calib";
        if (ds[i]->n > 0 && (ds[i]->dtype < 0 || ds[i]->dtype > 1 || ds[i]->c < 1 || ds[i]->h < 1 || ds[i]->w < 1 ||
                             !(ds[i]->dtype ? (void *)ds[i]->f32 : (void *)ds[i]->u8)))
            return fr_err_set(e, FR_EINPUT, "dataset %s has no data", role);
        if (reader_rules && ds[i]->n > 0 && ds[i]->labels) {
            int rc = fr_frm_check_labels(ds[i]->labels, ds[i]->n, m->meta.n_classes, i ? "eval labels" : "calib labels", e);
            if (rc) return rc;
        }
    }
    return FR_OK;
}

/* Little-endian bytes of a float array (a copy only on big-endian hosts). */
static const void *le_floats(const float *p, size_t count, void **tmp)
{
    *tmp = NULL;
    if (host_le()) return p;
    *tmp = fr_xmalloc(count ? count * 4 : 4);
    copy_le32(*tmp, p, count);
    return *tmp;
}

static void zstd_into(wbuf *out, const void *src, size_t n)
{
    size_t bound = ZSTD_compressBound(n);
    wb_reserve(out, bound);
    size_t r = fr_zstd_compress(out->p + out->n, bound, src, n, ZLEVEL);
    FR_ASSERT(!ZSTD_isError(r));
    out->n += r;
}

static void enc_tensors(wbuf *b, const fr_graph *g, int compress)
{
    size_t table = 4;
    for (int i = 0; i < g->n_tensors; i++) table += 2 + strlen(g->tensors[i].name) + 1 + 32 + 1 + 16;
    wbuf pay = {0};   /* payload area, offsets relative to its start */
    size_t base = (table + 63) & ~(size_t)63;
    wb_u32(b, (uint32_t)g->n_tensors);
    for (int i = 0; i < g->n_tensors; i++) {
        const fr_tensor *t = &g->tensors[i];
        size_t bytes = (size_t)fr_tensor_numel(t) * 4;
        void *tmp;
        const void *src = le_floats(t->data, bytes / 4, &tmp);
        wb_align(&pay, 64);
        size_t off = pay.n;
        if (compress) zstd_into(&pay, src, bytes); else wb_put(&pay, src, bytes);
        free(tmp);
        wb_str(b, t->name);
        wb_u8(b, (unsigned)t->ndim);
        for (int k = 0; k < 4; k++) wb_u64(b, (uint64_t)t->dim[k]);
        wb_u8(b, compress ? 1 : 0);
        wb_u64(b, base + off);
        wb_u64(b, pay.n - off);
    }
    FR_ASSERT(b->n == table);
    wb_zero(b, base - table);
    wb_put(b, pay.p, pay.n);
    free(pay.p);
}

static void enc_datasets(wbuf *b, const fr_model *m)
{
    const fr_dataset *ds[2] = {&m->calib, &m->eval};
    const char *role[2] = {"calib", "eval"};
    int cnt = 0;
    size_t table = 4;
    for (int i = 0; i < 2; i++)
        if (ds[i]->n > 0) { cnt++; table += 2 + strlen(role[i]) + 16 + 1 + 8 + 1 + 32; }
    size_t base = (table + 63) & ~(size_t)63;
    wbuf pay = {0};
    wb_u32(b, (uint32_t)cnt);
    for (int i = 0; i < 2; i++) {
        const fr_dataset *d = ds[i];
        if (d->n <= 0) continue;
        size_t count = (size_t)d->n * (size_t)d->c * (size_t)d->h * (size_t)d->w;
        void *tmp = NULL;
        const void *src = d->dtype ? le_floats(d->f32, count, &tmp) : (const void *)d->u8;
        wb_align(&pay, 64);
        size_t doff = pay.n;
        zstd_into(&pay, src, count * (d->dtype ? 4 : 1));
        free(tmp);
        size_t dlen = pay.n - doff, loff = 0, llen = 0;
        if (d->labels) {
            const void *ls = le_floats((const float *)(const void *)d->labels, (size_t)d->n, &tmp);
            wb_align(&pay, 64);
            loff = pay.n;
            zstd_into(&pay, ls, (size_t)d->n * 4);
            free(tmp);
            llen = pay.n - loff;
            loff += base;
        }
        wb_str(b, role[i]);
        wb_u32(b, (uint32_t)d->n); wb_u32(b, (uint32_t)d->c); wb_u32(b, (uint32_t)d->h); wb_u32(b, (uint32_t)d->w);
        wb_u8(b, (unsigned)d->dtype);
        wb_f32(b, d->scale); wb_f32(b, d->offset);
        wb_u8(b, d->labels ? 1 : 0);
        wb_u64(b, base + doff); wb_u64(b, dlen);
        wb_u64(b, loff); wb_u64(b, llen);
    }
    FR_ASSERT(b->n == table);
    wb_zero(b, base - table);
    wb_put(b, pay.p, pay.n);
    free(pay.p);
}

int fr_frm_check_input(const fr_meta *m, const char *src, fr_err *e)
{
    const int in[3] = {m->in_c, m->in_h, m->in_w};
    for (int i = 0; i < 3; i++)
        if (in[i] < 0 || !frm_input_dim_ok((uint64_t)in[i]))
            return fr_err_set(e, FR_EINPUT, "%s: the input is %dx%dx%d, but a .frm bundle holds input sides of 1..%d", src,
                              in[0], in[1], in[2], FRM_MAX_INPUT_DIM);
    return FR_OK;
}

int fr_frm_check_labels(const int32_t *labels, int n, int n_classes, const char *src, fr_err *e)
{
    int k = frm_bad_label(labels, n, n_classes);
    if (k >= 0)
        return fr_err_set(e, FR_EINPUT, "%s: label %d = %d is out of range (the model has %d classes)", src, k, labels[k],
                          n_classes);
    return FR_OK;
}

int fr_frm_write_mem(const fr_model *m, int compress, uint8_t **out, size_t *out_n, fr_err *e)
{
    return frm_encode(m, compress, 1, out, out_n, e);
}

int frm_encode(const fr_model *m, int compress, int reader_rules, uint8_t **out, size_t *out_n, fr_err *e)
{
    *out = NULL;
    *out_n = 0;
    int rc = check_encodable(m, reader_rules, e);
    if (rc) return rc;
    wbuf sec[5] = {{0}};
    uint32_t type[5];
    int ns = 0;
    type[ns] = FR_FRM_META; enc_meta(&sec[ns++], &m->meta);
    type[ns] = FR_FRM_GRAPH;
    wb_u32(&sec[ns], (uint32_t)m->g.n_nodes);
    for (int i = 0; i < m->g.n_nodes; i++) enc_node(&sec[ns], &m->g.nodes[i]);
    ns++;
    type[ns] = FR_FRM_TENSORS; enc_tensors(&sec[ns++], &m->g, compress);
    if (m->calib.n > 0 || m->eval.n > 0) { type[ns] = FR_FRM_DATASETS; enc_datasets(&sec[ns++], m); }
    if (m->quant_json) { type[ns] = FR_FRM_QUANT; wb_put(&sec[ns], m->quant_json, strlen(m->quant_json)); ns++; }

    wbuf f = {0};
    wb_put(&f, "FRTM", 4);
    wb_u16(&f, FR_FRM_MAJOR); wb_u16(&f, frm_minor(&m->g));
    wb_u32(&f, compress ? FR_FRM_FLAG_ZSTD_TENSORS : 0);
    wb_u32(&f, (uint32_t)ns);
    wb_u64(&f, 0);   /* file size, patched below */
    wb_u64(&f, 0);   /* header checksum, patched below */
    uint64_t off = (HDR_SIZE + (uint64_t)ENT_SIZE * ns + 63) & ~(uint64_t)63;
    for (int i = 0; i < ns; i++) {
        wb_u32(&f, type[i]); wb_u32(&f, 0);
        wb_u64(&f, off); wb_u64(&f, sec[i].n);
        wb_u64(&f, fr_fnv1a(FR_FNV_INIT, sec[i].p, sec[i].n));
        off = (off + sec[i].n + 63) & ~(uint64_t)63;
    }
    size_t table_end = f.n;
    for (int i = 0; i < ns; i++) {
        wb_align(&f, 64);
        wb_put(&f, sec[i].p, sec[i].n);
        free(sec[i].p);
    }
    put_le64_at(f.p + 16, f.n);
    uint64_t h = fr_fnv1a(FR_FNV_INIT, f.p, 24);
    h = fr_fnv1a(h, f.p + HDR_SIZE, table_end - HDR_SIZE);
    put_le64_at(f.p + 24, h);
    *out = f.p;
    *out_n = f.n;
    return FR_OK;
}

int fr_frm_write(const char *path, const fr_model *m, int compress, fr_err *e)
{
    uint8_t *buf;
    size_t n;
    fr_err sub;
    fr_err_clear(&sub);
    int rc = fr_frm_write_mem(m, compress, &buf, &n, &sub);
    if (rc) return fr_err_set(e, rc, "%s: %s", path, sub.msg);
    rc = fr_atomic_write(path, buf, n, e);
    free(buf);
    return rc;
}

/* ---- fingerprint: FNV-1a over the encoded graph, tensors and calibration data ------------- */

static uint64_t hash_le32(uint64_t h, const void *p, size_t count)
{
    if (host_le()) return fr_fnv1a(h, p, count * 4);
    const uint8_t *b = p;
    for (size_t i = 0; i < count; i++, b += 4) { uint8_t t[4] = {b[3], b[2], b[1], b[0]}; h = fr_fnv1a(h, t, 4); }
    return h;
}

uint64_t fr_frm_fingerprint(const fr_model *m)
{
    wbuf b = {0};
    wb_put(&b, "frm-fp1", 7);
    wb_u32(&b, (uint32_t)m->meta.in_c); wb_u32(&b, (uint32_t)m->meta.in_h); wb_u32(&b, (uint32_t)m->meta.in_w);
    for (int i = 0; i < 4; i++) { wb_f32(&b, m->meta.mean[i]); wb_f32(&b, m->meta.std[i]); }
    wb_u32(&b, (uint32_t)m->g.n_nodes);
    for (int i = 0; i < m->g.n_nodes; i++) enc_node(&b, &m->g.nodes[i]);
    wb_u32(&b, (uint32_t)m->g.n_tensors);
    uint64_t h = fr_fnv1a(FR_FNV_INIT, b.p, b.n);
    for (int i = 0; i < m->g.n_tensors; i++) {
        const fr_tensor *t = &m->g.tensors[i];
        b.n = 0;
        wb_str(&b, t->name);
        wb_u8(&b, (unsigned)t->ndim);
        for (int k = 0; k < 4; k++) wb_u64(&b, (uint64_t)t->dim[k]);
        h = fr_fnv1a(h, b.p, b.n);
        if (t->data) h = hash_le32(h, t->data, (size_t)fr_tensor_numel(t));
    }
    const fr_dataset *d = &m->calib;
    b.n = 0;
    wb_u32(&b, (uint32_t)d->n); wb_u32(&b, (uint32_t)d->c); wb_u32(&b, (uint32_t)d->h); wb_u32(&b, (uint32_t)d->w);
    wb_u8(&b, (unsigned)d->dtype); wb_f32(&b, d->scale); wb_f32(&b, d->offset);
    h = fr_fnv1a(h, b.p, b.n);
    free(b.p);
    if (d->n > 0) {
        size_t count = (size_t)d->n * (size_t)d->c * (size_t)d->h * (size_t)d->w;
        if (d->dtype && d->f32) h = hash_le32(h, d->f32, count);
        else if (!d->dtype && d->u8) h = fr_fnv1a(h, d->u8, count);
    }
    return h;
}
