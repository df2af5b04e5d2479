/* frm.c — the .frm model bundle, version 1.0 (see include/frtui/frm.h, docs/FORMAT.md).
 *
 * Design note
 *   The file is mapped read-only (fr_fmap_open, include/frtui/fmap.h) and parsed with a
 *   bounds-checked cursor: no count, length or offset from the file is used before it has been
 *   compared with what is left of its enclosing section, and sizes that drive allocations go
 *   through fr_size_mul.  Resident memory stays at what is decoded plus one window: the whole
 *   section table is checked against the file size before any section is touched, section
 *   checksums are computed window by window (fr_fmap_fnv), and each payload's pages are
 *   dropped once it is decoded (fr_fmap_drop; no-ops on the fuzzers' plain buffers).
 *   The model is built in place; on any error fr_model_free() leaves it empty.  The writer is
 *   src/io/frm_write.c (the whole file in memory, then fr_atomic_write: deterministic and atomic).
 *
 * Byte layout (all integers little-endian; f32 = IEEE-754 binary32 bit pattern; str = u16 byte
 * length + that many bytes, no NUL, no terminator):
 *
 *   Header (32 bytes)
 *     0  u8[4] magic "FRTM"          12 u32 n_sections (1..64)
 *     4  u16 major = 1               16 u64 file_size (exact length of the file)
 *     6  u16 minor = 0               24 u64 header checksum: FNV-1a-64 over bytes 0..23
 *     8  u32 flags (bit 0: tensors zstd)     followed by the whole section table
 *   Section table at offset 32, n_sections entries of 32 bytes:
 *     u32 type, u32 reserved (0), u64 offset, u64 length, u64 checksum (FNV-1a-64 of the bytes)
 *   Sections follow in table order, each at a 64-byte aligned offset >= the end of the table
 *   and >= the end of the previous section; gaps are zero.  file_size = end of the last one.
 *   Types: 1 META, 2 GRAPH, 3 TENSORS (required); 4 DATASETS, 5 QUANT (optional), each at most
 *   once.  An unknown type is skipped when the file's minor > 0 and refused otherwise; a major
 *   other than 1 is refused before anything else is read.
 *
 *   META: records until the section end: str key, u32 value length, value bytes.
 *     name str-bytes | layout str-bytes ("NCHW") | input u32 c,h,w (required) | mean f32[4] |
 *     std f32[4] | n_classes u32 | class_names n_classes x str | provenance bytes |
 *     train_seed u64 | train_threads u32 | train_blas_core bytes (only when known).  Unknown
 *     keys are skipped; duplicates refused.
 *   GRAPH: u32 n_nodes, then per node: str name, str op (fr_op_name), u8 n_in, i32 in[n_in],
 *     u8 n_param, i32 param[n_param], u16 attr_len (>= 84), attrs: i32 kh kw sh sw pt pl pb pr
 *     dh dw groups count_include_pad, f32 eps alpha beta, i32 perm[3], i32 out_c out_h out_w,
 *     then (minor 1, attr_len >= 104) i32 tokens form heads kv_heads, f32 theta, then the rest reserved for later
 *     minors (skipped).  Must fill the section.
 *   TENSORS: u32 n_tensors, then per tensor: str name, u8 ndim (1..4), i64 dim[4] (1..2^31-1, unused = 1),
 *     u8 encoding (0 raw f32, 1 zstd frame of the raw f32 bytes), u64 payload offset and u64
 *     payload length, both relative to the section start.  Payloads follow the table, each at a
 *     64-byte aligned offset (so raw payloads are mmap-able as float arrays).
 *   DATASETS: u32 count (0..2), per dataset: str role ("calib" | "eval"), u32 n c h w, u8 dtype
 *     (0 uint8, 1 float32), f32 scale, f32 offset, u8 has_labels, u64 data_off, u64 data_len,
 *     u64 labels_off, u64 labels_len (0 when no labels); payloads are zstd frames (samples NCHW;
 *     labels i32), offsets relative to the section, 64-byte aligned.
 *   QUANT: the bytes of fr_model.quant_json (UTF-8 JSON, no NUL).
 */
#include "frtui/frm.h"
#include "frtui/fmap.h"
#include "frtui/zdec.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "frm_int.h"

static const char *sec_name(uint32_t t)
{
    switch (t) {
    case FR_FRM_META: return "META";
    case FR_FRM_GRAPH: return "GRAPH";
    case FR_FRM_TENSORS: return "TENSORS";
    case FR_FRM_DATASETS: return "DATASETS";
    case FR_FRM_QUANT: return "QUANT";
    default: return "unknown";
    }
}
/* ---- reader --------------------------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p;   /* section bytes */
    size_t n, pos;
    uint64_t base;      /* file offset of p[0], for messages */
    const char *sec, *src;
    fr_err *e;
    size_t *declared;   /* running total of the file's declared tensor and dataset bytes */
} rd;

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int rd_need(rd *r, size_t k, const char *what)
{
    if (r->n - r->pos < k)
        return fr_err_set(r->e, FR_EINPUT, "%s: %s section truncated reading %s at offset %" PRIu64
                          " (section ends at %" PRIu64 ")", r->src, r->sec, what, r->base + r->pos, r->base + r->n);
    return FR_OK;
}
static uint64_t le_get(const uint8_t *p, int k) { uint64_t v = 0; for (int i = k - 1; i >= 0; i--) v = (v << 8) | p[i]; return v; }
static int rd_uint(rd *r, int k, uint64_t *v, const char *what)
{
    TRY(rd_need(r, (size_t)k, what));
    *v = le_get(r->p + r->pos, k);
    r->pos += (size_t)k;
    return FR_OK;
}
static int rd_i32(rd *r, int *v, const char *what) { uint64_t u; TRY(rd_uint(r, 4, &u, what)); *v = (int)(int32_t)(uint32_t)u; return FR_OK; }
static int rd_f32(rd *r, float *v, const char *what) { uint64_t u; TRY(rd_uint(r, 4, &u, what)); uint32_t w = (uint32_t)u; memcpy(v, &w, 4); return FR_OK; }
/* A str into dst[cap] (length must be < cap; no NUL bytes). */
static int rd_str(rd *r, char *dst, size_t cap, const char *what)
{
    uint64_t k;
    TRY(rd_uint(r, 2, &k, what));
    TRY(rd_need(r, (size_t)k, what));
    if (k >= cap)
        return fr_err_set(r->e, FR_EINPUT, "%s: %s section: %s at offset %" PRIu64 " is %" PRIu64 " bytes (max %zu)",
                          r->src, r->sec, what, r->base + r->pos, k, cap - 1);
    if (memchr(r->p + r->pos, 0, (size_t)k))
        return fr_err_set(r->e, FR_EINPUT, "%s: %s section: %s at offset %" PRIu64 " contains a NUL byte",
                          r->src, r->sec, what, r->base + r->pos);
    memcpy(dst, r->p + r->pos, (size_t)k);
    dst[k] = 0;
    r->pos += (size_t)k;
    return FR_OK;
}
#define RERR(r, ...) fr_err_set((r)->e, FR_EINPUT, __VA_ARGS__)

static int copy_text(rd *v, char *dst, size_t cap, const char *key)
{
    if (v->n >= cap) return RERR(v, "%s: META section: %s is %zu bytes (max %zu)", v->src, key, v->n, cap - 1);
    if (memchr(v->p, 0, v->n)) return RERR(v, "%s: META section: %s contains a NUL byte", v->src, key);
    memcpy(dst, v->p, v->n);
    dst[v->n] = 0;
    return FR_OK;
}

static int dec_meta(rd *r, fr_meta *m)
{
    char seen[16][16];
    int n_seen = 0, have_input = 0, have_names = 0;
    while (r->pos < r->n) {
        char key[16];
        uint64_t vlen;
        TRY(rd_str(r, key, sizeof key, "key"));
        TRY(rd_uint(r, 4, &vlen, key));
        TRY(rd_need(r, (size_t)vlen, key));
        rd v = *r;
        v.p = r->p + r->pos; v.n = (size_t)vlen; v.pos = 0; v.base = r->base + r->pos;
        r->pos += (size_t)vlen;
        for (int i = 0; i < n_seen; i++)
            if (!strcmp(seen[i], key)) return RERR(r, "%s: META section: duplicate key %s", r->src, key);
        if (n_seen < 16) snprintf(seen[n_seen++], sizeof seen[0], "%s", key);
        uint64_t u;
        if (!strcmp(key, "name")) TRY(copy_text(&v, m->name, sizeof m->name, key));
        else if (!strcmp(key, "provenance")) TRY(copy_text(&v, m->provenance, sizeof m->provenance, key));
        else if (!strcmp(key, "train_blas_core")) TRY(copy_text(&v, m->train_blas_core, sizeof m->train_blas_core, key));
        else if (!strcmp(key, "layout")) {
            TRY(copy_text(&v, m->layout, sizeof m->layout, key));
            if (strcmp(m->layout, "NCHW")) return RERR(r, "%s: META section: layout %s is not supported (NCHW only)", r->src, m->layout);
        } else if (!strcmp(key, "input")) {
            if (vlen != 12) return RERR(r, "%s: META section: input is %" PRIu64 " bytes, expected 12", r->src, vlen);
            uint64_t d[3];
            for (int i = 0; i < 3; i++) {
                TRY(rd_uint(&v, 4, &d[i], key));
                if (!frm_input_dim_ok(d[i])) return RERR(r, "%s: META section: input dimension %d is %" PRIu64, r->src, i, d[i]);
            }
            m->in_c = (int)d[0]; m->in_h = (int)d[1]; m->in_w = (int)d[2];
            have_input = 1;
        } else if (!strcmp(key, "mean") || !strcmp(key, "std")) {
            int is_std = key[0] == 's';
            if (vlen != 16) return RERR(r, "%s: META section: %s is %" PRIu64 " bytes, expected 16", r->src, key, vlen);
            float *dst = is_std ? m->std : m->mean;
            for (int i = 0; i < 4; i++) {
                TRY(rd_f32(&v, &dst[i], key));
                if (!isfinite(dst[i]) || (is_std && !(dst[i] > 0)))
                    return RERR(r, "%s: META section: %s[%d] = %g is invalid", r->src, key, i, (double)dst[i]);
            }
        } else if (!strcmp(key, "n_classes")) {
            if (vlen != 4) return RERR(r, "%s: META section: n_classes is %" PRIu64 " bytes, expected 4", r->src, vlen);
            TRY(rd_uint(&v, 4, &u, key));
            if (u > FR_MAX_CLASSES) return RERR(r, "%s: META section: n_classes %" PRIu64 " exceeds %d", r->src, u, FR_MAX_CLASSES);
            if (have_names) return RERR(r, "%s: META section: n_classes must precede class_names", r->src);
            m->n_classes = (int)u;
        } else if (!strcmp(key, "class_names")) {
            if (m->n_classes < 1 || m->class_names)
                return RERR(r, "%s: META section: class_names without n_classes, or twice", r->src);
            m->class_names = fr_xcalloc((size_t)m->n_classes, sizeof *m->class_names);
            have_names = 1;
            for (int i = 0; i < m->n_classes; i++) {
                char nm[1024];
                TRY(rd_str(&v, nm, sizeof nm, "class name"));
                m->class_names[i] = fr_xstrdup(nm);
            }
            if (v.pos != v.n) return RERR(r, "%s: META section: class_names holds more than n_classes=%d names", r->src, m->n_classes);
        } else if (!strcmp(key, "train_seed")) {
            if (vlen != 8) return RERR(r, "%s: META section: train_seed is %" PRIu64 " bytes, expected 8", r->src, vlen);
            TRY(rd_uint(&v, 8, &m->train_seed, key));
        } else if (!strcmp(key, "train_threads")) {
            if (vlen != 4) return RERR(r, "%s: META section: train_threads is %" PRIu64 " bytes, expected 4", r->src, vlen);
            TRY(rd_uint(&v, 4, &u, key));
            if (u > 65536) return RERR(r, "%s: META section: train_threads %" PRIu64 " is absurd", r->src, u);
            m->train_threads = (int)u;
        }
        /* unknown keys: skipped (forward compatible) */
    }
    if (!have_input) return RERR(r, "%s: META section: required key 'input' is missing", r->src);
    return FR_OK;
}

static int dec_graph(rd *r, fr_graph *g)
{
    uint64_t nn;
    TRY(rd_uint(r, 4, &nn, "node count"));
    /* A node takes at least 2+2+1+1+2+84 bytes, which bounds the count by the section. */
    if (nn > MAX_NODES || nn * 92 > r->n - r->pos)
        return RERR(r, "%s: GRAPH section: node count %" PRIu64 " does not fit the section (%zu bytes)", r->src, nn, r->n);
    for (uint64_t i = 0; i < nn; i++) {
        char name[FR_NAME_MAX], op[32];
        uint64_t u;
        int in[FR_MAX_IN];
        TRY(rd_str(r, name, sizeof name, "node name"));
        TRY(rd_str(r, op, sizeof op, "op name"));
        int opi = fr_op_from_name(op);
        if (opi < 0) return RERR(r, "%s: GRAPH section: node %s has unknown op '%s'", r->src, name, op);
        TRY(rd_uint(r, 1, &u, "input count"));
        if (u > FR_MAX_IN) return RERR(r, "%s: GRAPH section: node %s has %" PRIu64 " inputs (max %d)", r->src, name, u, FR_MAX_IN);
        int n_in = (int)u;
        for (int k = 0; k < n_in; k++) TRY(rd_i32(r, &in[k], "node input"));
        int idx = fr_graph_add_node(g, name, (fr_op)opi, n_in, in);
        fr_node *n = &g->nodes[idx];
        TRY(rd_uint(r, 1, &u, "param count"));
        if (u > FR_MAX_PARAM) return RERR(r, "%s: GRAPH section: node %s has %" PRIu64 " params (max %d)", r->src, name, u, FR_MAX_PARAM);
        n->n_param = (int)u;
        for (int k = 0; k < n->n_param; k++) {
            TRY(rd_i32(r, &n->param[k], "node param"));
            if (n->param[k] < -1 || n->param[k] >= g->n_tensors)
                return RERR(r, "%s: GRAPH section: node %s: param %d refers to tensor %d (there are %d)", r->src, name, k,
                            n->param[k], g->n_tensors);
        }
        TRY(rd_uint(r, 2, &u, "attribute length"));
        if (u < ATTR_BYTES) return RERR(r, "%s: GRAPH section: node %s: attribute block is %" PRIu64 " bytes (need %d)", r->src, name, u, ATTR_BYTES);
        TRY(rd_need(r, (size_t)u, "attributes"));
        fr_attrs *a = &n->a;
        int *iv[12] = {&a->kh, &a->kw, &a->sh, &a->sw, &a->pt, &a->pl, &a->pb, &a->pr, &a->dh, &a->dw, &a->groups,
                       &a->count_include_pad};
        for (int k = 0; k < 12; k++) TRY(rd_i32(r, iv[k], "attribute"));
        TRY(rd_f32(r, &a->eps, "eps")); TRY(rd_f32(r, &a->alpha, "alpha")); TRY(rd_f32(r, &a->beta, "beta"));
        if (!isfinite(a->eps) || !isfinite(a->alpha) || !isfinite(a->beta))
            return RERR(r, "%s: GRAPH section: node %s has a non-finite attribute", r->src, name);
        for (int k = 0; k < 3; k++) TRY(rd_i32(r, &a->perm[k], "perm"));
        TRY(rd_i32(r, &a->out_c, "out_c")); TRY(rd_i32(r, &a->out_h, "out_h")); TRY(rd_i32(r, &a->out_w, "out_w"));
        if (u >= ATTR_BYTES_1) {   /* minor 1 */
            TRY(rd_i32(r, &a->tokens, "tokens")); TRY(rd_i32(r, &a->form, "form"));
            TRY(rd_i32(r, &a->heads, "heads")); TRY(rd_i32(r, &a->kv_heads, "kv_heads"));
            TRY(rd_f32(r, &a->theta, "theta"));
            if (!isfinite(a->theta))
                return RERR(r, "%s: GRAPH section: node %s has a non-finite attribute", r->src, name);
            r->pos += (size_t)u - ATTR_BYTES_1;
        } else {
            r->pos += (size_t)u - ATTR_BYTES;
        }
    }
    if (r->pos != r->n)
        return RERR(r, "%s: GRAPH section: %zu unexpected bytes after the last node at offset %" PRIu64, r->src,
                    r->n - r->pos, r->base + r->pos);
    return FR_OK;
}

/* Locates a payload [off, off+len) inside the section, after the table. */
static int payload(rd *r, uint64_t off, uint64_t len, size_t table_end, const char *what, const char *name)
{
    if (off < table_end || off > r->n || len > r->n - off)
        return RERR(r, "%s: %s section: %s %s payload [%" PRIu64 ", +%" PRIu64 ") lies outside the payload area "
                    "[%zu, %zu) (file offset %" PRIu64 ")", r->src, r->sec, what, name, off, len, table_end, r->n, r->base);
    if (off % 64)
        return RERR(r, "%s: %s section: %s %s payload offset %" PRIu64 " is not 64-byte aligned", r->src, r->sec, what, name, off);
    return FR_OK;
}

/* Decompresses exactly `want` bytes from one zstd frame. */
static int unzstd(rd *r, const uint8_t *src, size_t n, void *dst, size_t want, const char *what, const char *name)
{
    unsigned long long cs = ZSTD_getFrameContentSize(src, n);
    if (cs == ZSTD_CONTENTSIZE_ERROR || cs == ZSTD_CONTENTSIZE_UNKNOWN || cs != want)
        return RERR(r, "%s: %s section: %s %s: zstd frame is corrupt or holds the wrong size (want %zu bytes)",
                    r->src, r->sec, what, name, want);
    size_t fs = ZSTD_findFrameCompressedSize(src, n);
    if (ZSTD_isError(fs) || fs != n)
        return RERR(r, "%s: %s section: %s %s: zstd payload is truncated or has trailing bytes", r->src, r->sec, what, name);
    size_t got = fr_zstd_decompress(dst, want ? want : 1, src, n);
    if (ZSTD_isError(got) || got != want)
        return RERR(r, "%s: %s section: %s %s: zstd data is corrupt (%s)", r->src, r->sec, what, name,
                    ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
    return FR_OK;
}

static int dec_tensors(rd *r, fr_graph *g)
{
    uint64_t nt;
    TRY(rd_uint(r, 4, &nt, "tensor count"));
    if (nt > MAX_TENSORS || nt * 52 > r->n - r->pos)
        return RERR(r, "%s: TENSORS section: tensor count %" PRIu64 " does not fit the section (%zu bytes)", r->src, nt, r->n);
    /* Pass 1 walks the table to learn where it ends; pass 2 decodes. */
    rd t = *r;
    for (uint64_t i = 0; i < nt; i++) {
        uint64_t k;
        TRY(rd_uint(&t, 2, &k, "tensor name"));
        TRY(rd_need(&t, (size_t)k + 50, "tensor entry"));
        t.pos += (size_t)k + 50;
    }
    size_t table_end = t.pos;
    size_t total = 0;
    for (uint64_t i = 0; i < nt; i++) {
        char name[FR_NAME_MAX];
        uint64_t ndim, enc, off, len, d[4];
        TRY(rd_str(r, name, sizeof name, "tensor name"));
        TRY(rd_uint(r, 1, &ndim, "ndim"));
        for (int k = 0; k < 4; k++) TRY(rd_uint(r, 8, &d[k], "dims"));
        TRY(rd_uint(r, 1, &enc, "encoding"));
        TRY(rd_uint(r, 8, &off, "payload offset"));
        TRY(rd_uint(r, 8, &len, "payload length"));
        if (ndim < 1 || ndim > 4) return RERR(r, "%s: TENSORS section: tensor %s has ndim %" PRIu64, r->src, name, ndim);
        size_t bytes = 4;
        int64_t dim[4];
        for (int k = 0; k < 4; k++) {
            if (d[k] < 1 || (k >= (int)ndim && d[k] != 1))
                return RERR(r, "%s: TENSORS section: tensor %s has invalid dimension %d = %" PRId64, r->src, name, k, (int64_t)d[k]);
            if (d[k] > INT32_MAX || fr_size_mul(&bytes, bytes, (size_t)d[k]) != FR_OK)
                return RERR(r, "%s: TENSORS section: tensor %s declares more than %zu bytes", r->src, name, FR_MAX_ALLOC);
            dim[k] = (int64_t)d[k];
        }
        if (bytes > FR_MAX_ALLOC - total)
            return RERR(r, "%s: TENSORS section: tensors declare more than %zu bytes in total", r->src, FR_MAX_ALLOC);
        total += bytes;
        if (enc > 1) return RERR(r, "%s: TENSORS section: tensor %s has unknown encoding %" PRIu64, r->src, name, enc);
        TRY(payload(r, off, len, table_end, "tensor", name));
        if (enc == 0 && len != bytes)
            return RERR(r, "%s: TENSORS section: tensor %s raw payload is %" PRIu64 " bytes, shape needs %zu", r->src, name, len, bytes);
        /* Before anything is allocated or inflated: a small zstd payload may declare gigabytes. */
        TRY(fr_mem_check_total(r->e, r->declared, bytes, "%s: TENSORS section: tensor %s", r->src, name));
        float *tmp = fr_amalloc(bytes);   /* probe, so a huge tensor gives FR_ENOMEM, not an abort */
        if (!tmp) return fr_err_set(r->e, FR_ENOMEM, "%s: out of memory for tensor %s (%zu bytes)", r->src, name, bytes);
        fr_afree(tmp);
        int ti = fr_graph_add_tensor(g, name, (int)ndim, dim);
        float *dst = g->tensors[ti].data;
        if (enc == 0 && host_le()) fr_fmap_copy(dst, r->p + off, bytes);
        else if (enc == 0) copy_le32(dst, r->p + off, bytes / 4);
        else {
            TRY(unzstd(r, r->p + off, (size_t)len, dst, bytes, "tensor", name));
            if (!host_le()) copy_le32(dst, dst, bytes / 4);
        }
        fr_fmap_drop(r->p + off, (size_t)len);
    }
    return FR_OK;
}

static int dec_datasets(rd *r, fr_model *m)
{
    uint64_t cnt;
    TRY(rd_uint(r, 4, &cnt, "dataset count"));
    if (cnt > 2) return RERR(r, "%s: DATASETS section: %" PRIu64 " datasets (max 2)", r->src, cnt);
    size_t table_end = r->pos;
    rd t = *r;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t k;
        TRY(rd_uint(&t, 2, &k, "dataset role"));
        TRY(rd_need(&t, (size_t)k + 58, "dataset entry"));
        t.pos += (size_t)k + 58;
    }
    table_end = t.pos;
    for (uint64_t i = 0; i < cnt; i++) {
        char role[16];
        uint64_t dims[4], dtype, has_l, doff, dlen, loff, llen;
        float scale, offset;
        TRY(rd_str(r, role, sizeof role, "dataset role"));
        fr_dataset *d = !strcmp(role, "calib") ? &m->calib : !strcmp(role, "eval") ? &m->eval : NULL;
        if (!d) return RERR(r, "%s: DATASETS section: unknown dataset role '%s'", r->src, role);
        if (d->n) return RERR(r, "%s: DATASETS section: dataset %s appears twice", r->src, role);
        for (int k = 0; k < 4; k++) TRY(rd_uint(r, 4, &dims[k], "dataset shape"));
        TRY(rd_uint(r, 1, &dtype, "dtype"));
        TRY(rd_f32(r, &scale, "scale")); TRY(rd_f32(r, &offset, "offset"));
        TRY(rd_uint(r, 1, &has_l, "has_labels"));
        TRY(rd_uint(r, 8, &doff, "data offset")); TRY(rd_uint(r, 8, &dlen, "data length"));
        TRY(rd_uint(r, 8, &loff, "labels offset")); TRY(rd_uint(r, 8, &llen, "labels length"));
        if (dims[0] < 1 || dims[0] > INT32_MAX)
            return RERR(r, "%s: DATASETS section: dataset %s has %" PRIu64 " samples", r->src, role, dims[0]);
        if (dims[1] != (uint64_t)m->meta.in_c || dims[2] != (uint64_t)m->meta.in_h || dims[3] != (uint64_t)m->meta.in_w)
            return RERR(r, "%s: DATASETS section: dataset %s samples are %" PRIu64 "x%" PRIu64 "x%" PRIu64
                        " but the model input is %dx%dx%d", r->src, role, dims[1], dims[2], dims[3], m->meta.in_c,
                        m->meta.in_h, m->meta.in_w);
        if (dtype > 1) return RERR(r, "%s: DATASETS section: dataset %s has unknown dtype %" PRIu64, r->src, role, dtype);
        if (!isfinite(scale) || !isfinite(offset) || scale == 0)
            return RERR(r, "%s: DATASETS section: dataset %s has invalid scale/offset", r->src, role);
        /* Eval data without labels is allowed: frtui then reports fidelity to the full-precision
         * network only (fidelity.h), which is how real networks are measured on photographs. */
        if (has_l > 1 || (!has_l && (loff || llen)))
            return RERR(r, "%s: DATASETS section: dataset %s: bad labels flag", r->src, role);
        size_t bytes = dtype ? 4 : 1, lbytes;
        for (int k = 0; k < 4; k++)
            if (fr_size_mul(&bytes, bytes, (size_t)dims[k]) != FR_OK)
                return RERR(r, "%s: DATASETS section: dataset %s declares more than %zu bytes", r->src, role, FR_MAX_ALLOC);
        if (fr_size_mul(&lbytes, 4, (size_t)dims[0]) != FR_OK) return RERR(r, "%s: DATASETS section: labels too large", r->src);
        TRY(payload(r, doff, dlen, table_end, "dataset", role));
        if (has_l) TRY(payload(r, loff, llen, table_end, "labels of", role));
        TRY(fr_mem_check_total(r->e, r->declared, bytes, "%s: DATASETS section: dataset %s", r->src, role));
        void *buf = fr_amalloc(bytes);
        if (!buf) return fr_err_set(r->e, FR_ENOMEM, "%s: out of memory for dataset %s (%zu bytes)", r->src, role, bytes);
        d->n = (int)dims[0]; d->c = (int)dims[1]; d->h = (int)dims[2]; d->w = (int)dims[3];
        d->dtype = (int)dtype; d->scale = scale; d->offset = offset;
        if (dtype) d->f32 = buf; else d->u8 = buf;
        TRY(unzstd(r, r->p + doff, (size_t)dlen, buf, bytes, "dataset", role));
        fr_fmap_drop(r->p + doff, (size_t)dlen);
        if (dtype) {
            if (!host_le()) copy_le32(buf, buf, bytes / 4);
            for (size_t k = 0; k < bytes / 4; k++)
                if (!isfinite(d->f32[k]))
                    return RERR(r, "%s: DATASETS section: dataset %s holds a non-finite value at index %zu", r->src, role, k);
        }
        if (has_l) {
            d->labels = malloc(lbytes);
            if (!d->labels) return fr_err_set(r->e, FR_ENOMEM, "%s: out of memory for labels", r->src);
            TRY(unzstd(r, r->p + loff, (size_t)llen, d->labels, lbytes, "labels of", role));
            fr_fmap_drop(r->p + loff, (size_t)llen);
            if (!host_le()) copy_le32(d->labels, d->labels, (size_t)d->n);
            int k = frm_bad_label(d->labels, d->n, m->meta.n_classes);
            if (k >= 0)
                return RERR(r, "%s: DATASETS section: dataset %s label %d = %d is out of range (n_classes %d)",
                            r->src, role, k, d->labels[k], m->meta.n_classes);
        }
    }
    return FR_OK;
}

static int read_mem(const uint8_t *buf, size_t n, const char *src, fr_model *m, fr_err *e)
{
    if (n < HDR_SIZE) return fr_err_set(e, FR_EINPUT, "%s: file too short for a .frm header (%zu bytes)", src, n);
    if (memcmp(buf, "FRTM", 4)) return fr_err_set(e, FR_EINPUT, "%s: not a .frm bundle (bad magic)", src);
    unsigned major = (unsigned)le_get(buf + 4, 2), minor = (unsigned)le_get(buf + 6, 2);
    if (major != FR_FRM_MAJOR)
        return fr_err_set(e, FR_EINPUT, "%s: .frm version %u.%u is not supported (this build reads %d.x)", src, major,
                          minor, FR_FRM_MAJOR);
    uint64_t ns = le_get(buf + 12, 4), fsize = le_get(buf + 16, 8);
    if (fsize != n)
        return fr_err_set(e, FR_EINPUT, "%s: file is %zu bytes but its header says %" PRIu64 " (%s)", src, n, fsize,
                          fsize > n ? "truncated" : "trailing data");
    if (ns < 1 || ns > MAX_SECTIONS || HDR_SIZE + ns * ENT_SIZE > n)
        return fr_err_set(e, FR_EINPUT, "%s: section count %" PRIu64 " is invalid for a %zu-byte file", src, ns, n);
    size_t table_end = HDR_SIZE + (size_t)ns * ENT_SIZE;
    uint64_t h = fr_fnv1a(fr_fnv1a(FR_FNV_INIT, buf, 24), buf + HDR_SIZE, table_end - HDR_SIZE);
    if (h != le_get(buf + 24, 8)) return fr_err_set(e, FR_EINPUT, "%s: header checksum mismatch (corrupt section table)", src);
    rd sec[6];
    memset(sec, 0, sizeof sec);
    size_t declared = 0;
    uint64_t prev_end = table_end;
    for (size_t i = 0; i < ns; i++) {
        const uint8_t *t = buf + HDR_SIZE + i * ENT_SIZE;
        uint32_t type = (uint32_t)le_get(t, 4);
        uint64_t off = le_get(t + 8, 8), len = le_get(t + 16, 8);
        const char *nm = sec_name(type);
        if (off % 64 || off < prev_end || off > n || len > n - off)
            return fr_err_set(e, FR_EINPUT, "%s: section %zu (%s) at offset %" PRIu64 " length %" PRIu64
                              " is misplaced or runs past the end of the %zu-byte file", src, i, nm, off, len, n);
        prev_end = off + len;
    }
    /* Only once every section is known to lie inside the file: the checksums, each section
     * hashed window by window and its pages dropped behind (a large mapped bundle with a bad
     * byte at the end costs a window of memory, not its size). */
    for (size_t i = 0; i < ns; i++) {
        const uint8_t *t = buf + HDR_SIZE + i * ENT_SIZE;
        uint32_t type = (uint32_t)le_get(t, 4);
        uint64_t off = le_get(t + 8, 8), len = le_get(t + 16, 8), ck = le_get(t + 24, 8);
        const char *nm = sec_name(type);
        if (fr_fmap_fnv(FR_FNV_INIT, buf + off, (size_t)len) != ck)
            return fr_err_set(e, FR_EINPUT, "%s: %s section checksum mismatch (offset %" PRIu64 ", length %" PRIu64 ")",
                              src, nm, off, len);
        if (type < FR_FRM_META || type > FR_FRM_QUANT) {
            if (minor > FR_FRM_MINOR) continue;
            return fr_err_set(e, FR_EINPUT, "%s: unknown section type %u at offset %" PRIu64, src, type, off);
        }
        if (sec[type].sec) return fr_err_set(e, FR_EINPUT, "%s: duplicate %s section at offset %" PRIu64, src, nm, off);
        sec[type] = (rd){.p = buf + off, .n = (size_t)len, .pos = 0, .base = off, .sec = nm, .src = src, .e = e, .declared = &declared};
    }
    for (int k = FR_FRM_META; k <= FR_FRM_TENSORS; k++)
        if (!sec[k].sec) return fr_err_set(e, FR_EINPUT, "%s: required %s section is missing", src, sec_name((uint32_t)k));
    TRY(dec_meta(&sec[FR_FRM_META], &m->meta));
    TRY(dec_tensors(&sec[FR_FRM_TENSORS], &m->g));
    TRY(dec_graph(&sec[FR_FRM_GRAPH], &m->g));
    if (sec[FR_FRM_DATASETS].sec) TRY(dec_datasets(&sec[FR_FRM_DATASETS], m));
    if (sec[FR_FRM_QUANT].sec) {
        rd *q = &sec[FR_FRM_QUANT];
        if (memchr(q->p, 0, q->n)) return RERR(q, "%s: QUANT section contains a NUL byte", src);
        m->quant_json = fr_xmalloc(q->n + 1);
        memcpy(m->quant_json, q->p, q->n);
        m->quant_json[q->n] = 0;
    }
    return fr_graph_validate(&m->g, &m->meta, src, e);
}

int fr_frm_read_mem(const uint8_t *buf, size_t n, const char *name, fr_model *m, fr_err *e)
{
    fr_model_init(m);
    int rc = read_mem(buf, n, name, m, e);
    if (rc) fr_model_free(m);
    return rc;
}

/* The magic before the file is read (issue 14, item 6); the full header is checked later. */
static int frm_head(const uint8_t *head, size_t n, uint64_t size, const char *path, const void *ctx, fr_err *e)
{
    (void)size; (void)ctx;
    if (n >= 4 && memcmp(head, "FRTM", 4) != 0) return fr_err_set(e, FR_EINPUT, "%s: not a .frm bundle (bad magic)", path);
    return FR_OK;
}

int fr_frm_read(const char *path, fr_model *m, fr_err *e)
{
    fr_fmap f;
    fr_model_init(m);
    int rc = fr_fmap_open(path, FR_MAX_ALLOC, frm_head, NULL, &f, e);
    if (rc) return rc;
    rc = fr_frm_read_mem(f.p, f.n, path, m, e);
    fr_fmap_close(&f);
    return rc;
}

/* ---- summary ------------------------------------------------------------------------------ */

static void print_dataset(FILE *out, const char *role, const fr_dataset *d)
{
    if (d->n <= 0) { fprintf(out, "  %-6s absent\n", role); return; }
    size_t bytes = (size_t)d->n * d->c * d->h * d->w * (d->dtype ? 4 : 1) + (d->labels ? (size_t)d->n * 4 : 0);
    fprintf(out, "  %-6s n=%d  %dx%dx%d %s  scale %g offset %g  labels %s  %zu bytes\n", role, d->n, d->c, d->h, d->w,
            d->dtype ? "float32" : "uint8", (double)d->scale, (double)d->offset, d->labels ? "yes" : "no", bytes);
}

int fr_frm_info(FILE *out, const char *path, const fr_model *m, int verbose)
{
    const fr_meta *mt = &m->meta;
    const fr_graph *g = &m->g;
    fprintf(out, "model       %s\n", mt->name[0] ? mt->name : "(unnamed)");
    fprintf(out, "provenance  %s\n", mt->provenance[0] ? mt->provenance : "(none)");
    if (mt->train_seed || mt->train_threads)
        fprintf(out, "training    seed %" PRIu64 ", %d thread(s)%s%s\n", mt->train_seed, mt->train_threads,
                mt->train_blas_core[0] ? ", OpenBLAS core " : "", mt->train_blas_core);
    fprintf(out, "input       %dx%dx%d %s", mt->in_c, mt->in_h, mt->in_w, mt->layout);
    fprintf(out, "  mean");
    for (int c = 0; c < mt->in_c && c < 4; c++) fprintf(out, " %g", (double)mt->mean[c]);
    fprintf(out, "  std");
    for (int c = 0; c < mt->in_c && c < 4; c++) fprintf(out, " %g", (double)mt->std[c]);
    if (fr_graph_lm_vocab(g))
        fprintf(out, "\nlanguage    model: %d token ids in, next-token logits over %d out (perplexity, not top-1)",
                mt->in_c, fr_graph_lm_vocab(g));
    fprintf(out, "\nclasses     %d", mt->n_classes);
    for (int i = 0; mt->class_names && i < mt->n_classes && i < (verbose ? mt->n_classes : 10); i++)
        fprintf(out, "%s%s", i ? ", " : ": ", mt->class_names[i]);
    if (mt->class_names && !verbose && mt->n_classes > 10) fprintf(out, ", ...");
    fprintf(out, "\nlayers\n  %4s  %-24s %-12s %-14s %10s\n", "#", "node", "op", "output", "params");
    for (int i = 0; i < g->n_nodes; i++) {
        const fr_node *n = &g->nodes[i];
        int64_t pc = 0;
        for (int k = 0; k < n->n_param; k++)
            if (n->param[k] >= 0 && n->param[k] < g->n_tensors) pc += fr_tensor_numel(&g->tensors[n->param[k]]);
        char shape[48];
        snprintf(shape, sizeof shape, "%dx%dx%d", n->c, n->h, n->w);
        fprintf(out, "  %4d  %-24s %-12s %-14s %10" PRId64 "\n", i, n->name, fr_op_name(n->op), shape, pc);
        if (verbose) {
            const fr_attrs *a = &n->a;
            fprintf(out, "        in");
            for (int k = 0; k < n->n_in; k++) fprintf(out, " %d", n->in[k]);
            if (n->op == FR_OP_CONV || n->op == FR_OP_MAXPOOL || n->op == FR_OP_AVGPOOL)
                fprintf(out, "  k %dx%d s %dx%d pad %d,%d,%d,%d dil %dx%d groups %d", a->kh, a->kw, a->sh, a->sw, a->pt,
                        a->pl, a->pb, a->pr, a->dh, a->dw, a->groups);
            if (n->op == FR_OP_BN || n->op == FR_OP_LAYERNORM || n->op == FR_OP_RMSNORM) fprintf(out, "  eps %g", (double)a->eps);
            if (n->op == FR_OP_LINEAR && a->tokens) fprintf(out, "  per token (%d)", a->tokens);
            if (n->op == FR_OP_GELU) fprintf(out, "  %s form", a->form ? "tanh" : "erf");
            fprintf(out, "\n");
        }
    }
    int64_t total = fr_graph_param_count(g);
    fprintf(out, "total params %" PRId64 " (%.1f KiB as float32)\n", total, (double)total * 4 / 1024);
    if (verbose) {
        fprintf(out, "tensors\n");
        for (int i = 0; i < g->n_tensors; i++) {
            const fr_tensor *t = &g->tensors[i];
            fprintf(out, "  %4d  %-32s [", i, t->name);
            for (int k = 0; k < t->ndim; k++) fprintf(out, "%s%" PRId64, k ? ", " : "", t->dim[k]);
            fprintf(out, "]\n");
        }
    }
    fprintf(out, "datasets\n");
    print_dataset(out, "calib", &m->calib);
    print_dataset(out, "eval", &m->eval);
    fprintf(out, "quant       %s\n", m->quant_json ? "present" : "none");
    struct stat st;
    if (path && stat(path, &st) == 0) fprintf(out, "file size   %lld bytes\n", (long long)st.st_size);
    return ferror(out) ? FR_EIO : FR_OK;
}
