/* onnx.c — ONNX ModelProto parsing, topological sort and the import driver.
 *
 * Design note
 *   Why a hand-written protobuf reader (src/import/pb.c) rather than protobuf-c generated code:
 *   - no extra build or runtime dependency (protobuf-c + protoc-c + a vendored onnx.proto);
 *   - protobuf-c unpacks the whole ModelProto into heap objects before we can look at it, so
 *     a 2^40-element declared tensor or a deeply nested message is an allocation/recursion
 *     problem; our reader works in place on the file buffer, allocates only after checking
 *     declared sizes against the bytes actually present, and never recurses on input;
 *   - every read is bounds-checked against the enclosing message, which is what the fuzzers
 *     and tests/bad/onnx exercise; we also need byte spans of fields for the in-place weight
 *     rewriter (onnx_write.c), which generated code does not expose.
 *   We read only the ~40 fields frtui needs; unknown fields are skipped by wire type.
 *
 *   Pipeline: parse (arena-allocated nodes/attributes, initializers kept as byte spans and
 *   decoded lazily by onnx_tensor.c) -> value table (hash) -> Kahn topological sort with cycle
 *   detection -> dead-node pruning from the graph output -> per node: constant folding (onnx_fold.c) or
 *   lowering to fr nodes (onnx_ops.c) -> fr_graph_fold_bn -> fr_graph_fuse_acts (Relu+Clip(0,6)
 *   pairs torch writes for ReLU6 become one node) -> fr_graph_validate.
 *   Ownership: everything parsed lives in the arena and dies with it; the fr_model owns only
 *   fr tensors (copied).  Little-endian hosts are assumed for raw_data (as ONNX specifies).
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_int.h"

/* ---- arena ---- */

struct ox_blk { ox_blk *next; size_t used, cap; max_align_t data[]; };

/* Bytes from b's free space to the next 64-byte boundary. */
static size_t ox_pad(const ox_blk *b)
{
    uintptr_t base = (uintptr_t)b->data + b->used;
    return (size_t)(((base + 63) & ~(uintptr_t)63) - base);
}

/* Returns 64-byte aligned, zeroed memory.  The fit test counts the alignment pad as well as n:
 * a block made for one large request used to get cap = n, and the pad then pushed used past
 * cap, so cap - used wrapped and later requests ran off the block (issue 14, item 1). */
void *ox_alloc(ox_arena *a, size_t n)
{
    n = (n + 63) & ~(size_t)63;
    if (n == 0) n = 64;
    ox_blk *b = a->head;
    if (!b || b->cap - b->used < n || b->cap - b->used - n < ox_pad(b)) {
        size_t cap = (n > 65536 ? n : 65536) + 64;   /* + 64: room for the pad */
        b = fr_xmalloc(sizeof *b + cap);
        b->cap = cap;
        b->used = 0;
        /* Big blocks go behind the head so the head keeps serving small requests. */
        if (a->head && n > 65536) { b->next = a->head->next; a->head->next = b; }
        else { b->next = a->head; a->head = b; }
    }
    size_t pad = ox_pad(b);
    FR_ASSERT(pad + n <= b->cap - b->used);
    void *r = (char *)b->data + b->used + pad;
    b->used += pad + n;
    memset(r, 0, n);
    return r;
}

void ox_arena_free(ox_arena *a)
{
    while (a->head) { ox_blk *n = a->head->next; free(a->head); a->head = n; }
}

static char *ox_str(ox_arena *a, const uint8_t *p, size_t n)
{
    char *s = ox_alloc(a, n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == 0 || s[i] == '\n' || s[i] == '\r') s[i] = '?';   /* keep messages one line */
    return s;
}

/* ---- errors ---- */

const char *ox_node_name(const ox_node *nd)
{
    if (nd->name[0]) return nd->name;
    return nd->nout > 0 && nd->out[0][0] ? nd->out[0] : "(unnamed)";
}

int ox_err(ox_ctx *x, const ox_node *nd, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (nd) return fr_err_set(x->e, FR_EINPUT, "%s: node %.80s (%.40s): %s", x->src, ox_node_name(nd), nd->op, buf);
    return fr_err_set(x->e, FR_EINPUT, "%s: %s", x->src, buf);
}

int ox_unsupported(ox_ctx *x, const ox_node *nd, const char *why)
{
    return fr_err_set(x->e, FR_EINPUT, "%s: node %.80s: unsupported operator %.40s (opset %d)%s%.300s", x->src,
                      ox_node_name(nd), nd->op, x->opset, why && *why ? ": " : "", why ? why : "");
}

/* ---- value table ---- */

static uint32_t hstr(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

ox_val *ox_find(ox_ctx *x, const char *name)
{
    if (!x->hcap) return NULL;
    for (uint32_t k = hstr(name) & (uint32_t)(x->hcap - 1);; k = (k + 1) & (uint32_t)(x->hcap - 1)) {
        int i = x->hash[k];
        if (i < 0) return NULL;
        if (strcmp(x->vals[i].name, name) == 0) return &x->vals[i];
    }
}

int ox_find_node(ox_ctx *x, const char *name)
{
    const fr_graph *g = &x->m->g;
    if (g->n_nodes * 2 >= x->nhcap || x->nhashed > g->n_nodes) {   /* grow (or nodes went away): rehash */
        int cap = 64;
        while (cap <= g->n_nodes * 4) cap *= 2;
        x->nhash = ox_alloc(&x->ar, (size_t)cap * sizeof *x->nhash);
        for (int k = 0; k < cap; k++) x->nhash[k] = -1;
        x->nhcap = cap;
        x->nhashed = 0;
    }
    uint32_t mask = (uint32_t)(x->nhcap - 1);
    for (; x->nhashed < g->n_nodes; x->nhashed++) {
        uint32_t k = hstr(g->nodes[x->nhashed].name) & mask;
        while (x->nhash[k] >= 0) k = (k + 1) & mask;
        x->nhash[k] = x->nhashed;
    }
    for (uint32_t k = hstr(name) & mask;; k = (k + 1) & mask) {
        int i = x->nhash[k];
        if (i < 0) return -1;
        if (strcmp(g->nodes[i].name, name) == 0) return i;
    }
}

static void rehash(ox_ctx *x, int cap)
{
    free(x->hash);
    x->hcap = cap;
    x->hash = fr_xmalloc((size_t)cap * sizeof *x->hash);
    for (int k = 0; k < cap; k++) x->hash[k] = -1;
    for (int i = 0; i < x->nv; i++) {
        uint32_t k = hstr(x->vals[i].name) & (uint32_t)(cap - 1);
        while (x->hash[k] >= 0) k = (k + 1) & (uint32_t)(cap - 1);
        x->hash[k] = i;
    }
}

/* Returns a new value, or NULL when the name is already defined. */
ox_val *ox_define(ox_ctx *x, const char *name)
{
    if (ox_find(x, name)) return NULL;
    if (x->nv == x->capv) {
        x->capv = x->capv ? 2 * x->capv : 64;
        x->vals = fr_xrealloc(x->vals, (size_t)x->capv * sizeof *x->vals);
    }
    if (2 * (x->nv + 1) > x->hcap) rehash(x, x->hcap ? 2 * x->hcap : 128);
    ox_val *v = &x->vals[x->nv];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->producer = -1;
    v->init_index = -1;
    v->node = -1;
    uint32_t k = hstr(name) & (uint32_t)(x->hcap - 1);
    while (x->hash[k] >= 0) k = (k + 1) & (uint32_t)(x->hcap - 1);
    x->hash[k] = x->nv++;
    return v;
}

/* ---- attributes ---- */

const ox_attr *ox_attr_get(const ox_node *nd, const char *name)
{
    for (int i = nd->nattr - 1; i >= 0; i--)
        if (strcmp(nd->attr[i].name, name) == 0) return &nd->attr[i];
    return NULL;
}

int64_t ox_attr_int(const ox_node *nd, const char *name, int64_t def)
{
    const ox_attr *a = ox_attr_get(nd, name);
    return a && a->has_i ? a->i : def;
}

float ox_attr_float(const ox_node *nd, const char *name, float def)
{
    const ox_attr *a = ox_attr_get(nd, name);
    return a && a->has_f ? a->f : def;
}

/* ---- ModelProto parsing ---- */

#define MALFORMED(what) ox_err(x, NULL, "malformed protobuf in %s", what)

static int parse_floats(ox_ctx *x, const uint8_t *p, size_t n, int want, ox_attr *a)
{
    /* Two passes: count, then fill; packed and unpacked encodings may be mixed. */
    fr_pb r;
    fr_pb_field f;
    int64_t cnt = 0;
    int rc;
    fr_pb_init(&r, p, n);
    while ((rc = fr_pb_next(&r, &f)) == 1) {
        if ((int)f.num != want) continue;
        int64_t k = want == 7 ? fr_pb_count_fixed(&f, 4) : fr_pb_count_varints(&f);
        if (k < 0) return MALFORMED("attribute list");
        cnt += k;
    }
    if (rc < 0) return MALFORMED("attribute");
    if (cnt > (1 << 24)) return ox_err(x, NULL, "attribute %.60s: list too long", a->name);
    if (want == 7) { a->fs = ox_alloc(&x->ar, (size_t)(cnt + 1) * sizeof(float)); a->nfs = (int)cnt; a->has_fs = 1; }
    else { a->is = ox_alloc(&x->ar, (size_t)(cnt + 1) * sizeof(int64_t)); a->nis = (int)cnt; a->has_is = 1; }
    int64_t k = 0;
    fr_pb_init(&r, p, n);
    while (fr_pb_next(&r, &f) == 1) {
        if ((int)f.num != want) continue;
        if (want == 8) { if (fr_pb_get_varints(&f, a->is, cnt, &k) != 0) return MALFORMED("attribute"); continue; }
        if (f.wt == FR_PB_I32) { a->fs[k++] = fr_pb_f32(f.v); continue; }
        for (size_t o = 0; o + 4 <= f.len; o += 4)
            a->fs[k++] = fr_pb_f32((uint64_t)f.data[o] | (uint64_t)f.data[o + 1] << 8 |
                                   (uint64_t)f.data[o + 2] << 16 | (uint64_t)f.data[o + 3] << 24);
    }
    return FR_OK;
}

static int parse_attr(ox_ctx *x, const uint8_t *p, size_t n, ox_attr *a)
{
    fr_pb r;
    fr_pb_field f;
    int rc, lists = 0;
    a->name = "";
    fr_pb_init(&r, p, n);
    while ((rc = fr_pb_next(&r, &f)) == 1) {
        switch (f.num) {
        case 1: if (f.wt != FR_PB_LEN) return MALFORMED("attribute"); a->name = ox_str(&x->ar, f.data, f.len); break;
        case 2: if (f.wt != FR_PB_I32) return MALFORMED("attribute"); a->f = fr_pb_f32(f.v); a->has_f = 1; break;
        case 3: if (f.wt != FR_PB_VARINT) return MALFORMED("attribute"); a->i = (int64_t)f.v; a->has_i = 1; break;
        case 4: if (f.wt != FR_PB_LEN) return MALFORMED("attribute"); a->s = ox_str(&x->ar, f.data, f.len); a->has_s = 1; break;
        case 5: if (f.wt != FR_PB_LEN) return MALFORMED("attribute"); a->t = f.data; a->tlen = f.len; a->has_t = 1; break;
        case 6: case 11: a->has_g = 1; break;
        case 7: case 8: lists |= 1 << f.num; break;
        default: break;
        }
    }
    if (rc < 0) return MALFORMED("attribute");
    if ((lists & (1 << 7)) && parse_floats(x, p, n, 7, a)) return x->e ? x->e->code : FR_EINPUT;
    if ((lists & (1 << 8)) && parse_floats(x, p, n, 8, a)) return x->e ? x->e->code : FR_EINPUT;
    return FR_OK;
}

static int parse_node(ox_ctx *x, const uint8_t *p, size_t n, ox_node *nd)
{
    fr_pb r;
    fr_pb_field f;
    int rc, ni = 0, no = 0, na = 0;
    fr_pb_init(&r, p, n);
    while ((rc = fr_pb_next(&r, &f)) == 1) {
        if (f.num >= 1 && f.num <= 7 && f.num != 6 && f.wt != FR_PB_LEN) return MALFORMED("node");
        ni += f.num == 1; no += f.num == 2; na += f.num == 5;
    }
    if (rc < 0) return MALFORMED("node");
    nd->in = ox_alloc(&x->ar, (size_t)(ni + 1) * sizeof(char *));
    nd->out = ox_alloc(&x->ar, (size_t)(no + 1) * sizeof(char *));
    nd->attr = ox_alloc(&x->ar, (size_t)(na + 1) * sizeof(ox_attr));
    nd->name = nd->op = nd->domain = "";
    fr_pb_init(&r, p, n);
    while (fr_pb_next(&r, &f) == 1) {
        switch (f.num) {
        case 1: nd->in[nd->nin++] = ox_str(&x->ar, f.data, f.len); break;
        case 2: nd->out[nd->nout++] = ox_str(&x->ar, f.data, f.len); break;
        case 3: nd->name = ox_str(&x->ar, f.data, f.len); break;
        case 4: nd->op = ox_str(&x->ar, f.data, f.len); break;
        case 7: nd->domain = ox_str(&x->ar, f.data, f.len); break;
        case 5:
            if ((rc = parse_attr(x, f.data, f.len, &nd->attr[nd->nattr++])) != 0) return rc;
            break;
        default: break;
        }
    }
    return FR_OK;
}

static int parse_value_info(ox_ctx *x, const uint8_t *p, size_t n, ox_vi *vi)
{
    fr_pb r, r2, r3, r4;
    fr_pb_field f, f2, f3, f4;
    int rc;
    vi->name = "";
    fr_pb_init(&r, p, n);
    while ((rc = fr_pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wt == FR_PB_LEN) vi->name = ox_str(&x->ar, f.data, f.len);
        if (f.num != 2 || f.wt != FR_PB_LEN) continue;
        fr_pb_init(&r2, f.data, f.len);                 /* TypeProto */
        while ((rc = fr_pb_next(&r2, &f2)) == 1) {
            if (f2.num != 1 || f2.wt != FR_PB_LEN) continue;
            fr_pb_init(&r3, f2.data, f2.len);           /* TypeProto.Tensor */
            while ((rc = fr_pb_next(&r3, &f3)) == 1) {
                if (f3.num == 1 && f3.wt == FR_PB_VARINT) vi->elem = (int)f3.v;
                if (f3.num != 2 || f3.wt != FR_PB_LEN) continue;
                vi->has_shape = 1;
                fr_pb_init(&r4, f3.data, f3.len);       /* TensorShapeProto */
                while ((rc = fr_pb_next(&r4, &f4)) == 1) {
                    if (f4.num != 1 || f4.wt != FR_PB_LEN) continue;
                    if (vi->ndim == OX_MAXD) return ox_err(x, NULL, "value %.80s has more than %d dims", vi->name, OX_MAXD);
                    fr_pb r5;
                    fr_pb_field f5;
                    int64_t d = -1;
                    const char *dp = "";
                    fr_pb_init(&r5, f4.data, f4.len);
                    while ((rc = fr_pb_next(&r5, &f5)) == 1) {
                        if (f5.num == 1 && f5.wt == FR_PB_VARINT) d = (int64_t)f5.v;
                        if (f5.num == 2 && f5.wt == FR_PB_LEN) dp = ox_str(&x->ar, f5.data, FR_MIN(f5.len, 64));
                    }
                    if (rc < 0) return MALFORMED("shape");
                    vi->dparam[vi->ndim] = dp;
                    vi->dim[vi->ndim++] = d;
                }
                if (rc < 0) return MALFORMED("shape");
            }
            if (rc < 0) return MALFORMED("type");
        }
        if (rc < 0) return MALFORMED("type");
    }
    if (rc < 0) return MALFORMED("value info");
    return FR_OK;
}

typedef struct ox_graph_raw {
    const char *name;
    int ninit, nin, nout;
    const uint8_t **init;
    size_t *initlen;
    ox_vi *in, *out;
} ox_graph_raw;

static int parse_graph(ox_ctx *x, const uint8_t *p, size_t n, ox_graph_raw *gr)
{
    fr_pb r;
    fr_pb_field f;
    int rc, nn = 0, ni = 0, nin = 0, nout = 0;
    fr_pb_init(&r, p, n);
    while ((rc = fr_pb_next(&r, &f)) == 1) {
        if ((f.num == 1 || f.num == 2 || f.num == 5 || f.num == 11 || f.num == 12) && f.wt != FR_PB_LEN)
            return MALFORMED("graph");
        nn += f.num == 1; ni += f.num == 5; nin += f.num == 11; nout += f.num == 12;
        if (f.num == 15) return ox_err(x, NULL, "sparse initializers are not supported");
    }
    if (rc < 0) return MALFORMED("graph");
    x->nodes = ox_alloc(&x->ar, (size_t)(nn + 1) * sizeof(ox_node));
    gr->init = ox_alloc(&x->ar, (size_t)(ni + 1) * sizeof(uint8_t *));
    gr->initlen = ox_alloc(&x->ar, (size_t)(ni + 1) * sizeof(size_t));
    gr->in = ox_alloc(&x->ar, (size_t)(nin + 1) * sizeof(ox_vi));
    gr->out = ox_alloc(&x->ar, (size_t)(nout + 1) * sizeof(ox_vi));
    gr->name = "";
    fr_pb_init(&r, p, n);
    while (fr_pb_next(&r, &f) == 1) {
        switch (f.num) {
        case 1: if ((rc = parse_node(x, f.data, f.len, &x->nodes[x->nn++])) != 0) return rc; break;
        case 2: gr->name = ox_str(&x->ar, f.data, f.len); break;
        case 5: gr->init[gr->ninit] = f.data; gr->initlen[gr->ninit++] = f.len; break;
        case 11: if ((rc = parse_value_info(x, f.data, f.len, &gr->in[gr->nin++])) != 0) return rc; break;
        case 12: if ((rc = parse_value_info(x, f.data, f.len, &gr->out[gr->nout++])) != 0) return rc; break;
        default: break;
        }
    }
    return FR_OK;
}

/* Name of a TensorProto (field 8); "" when absent.  -1 when malformed. */
static int tensor_name(ox_ctx *x, const uint8_t *p, size_t n, const char **name)
{
    fr_pb r;
    fr_pb_field f;
    int rc;
    *name = "";
    fr_pb_init(&r, p, n);
    while ((rc = fr_pb_next(&r, &f)) == 1)
        if (f.num == 8 && f.wt == FR_PB_LEN) *name = ox_str(&x->ar, f.data, f.len);
    return rc < 0 ? -1 : 0;
}

/* ---- driver ---- */

static int toposort(ox_ctx *x, int *order, int *live, const char *outname)
{
    int nn = x->nn, rc = FR_OK;
    int *indeg = fr_xcalloc((size_t)nn + 1, sizeof(int)), *start = fr_xcalloc((size_t)nn + 2, sizeof(int));
    int nedge = 0;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < x->nodes[i].nin; k++) {
            const char *nm = x->nodes[i].in[k];
            if (!nm[0]) continue;
            ox_val *v = ox_find(x, nm);
            if (!v) { rc = ox_err(x, &x->nodes[i], "input '%.80s' is not produced by any node, initializer or graph input", nm); goto out; }
            if (v->producer >= 0) { indeg[i]++; start[v->producer + 1]++; nedge++; }
        }
    for (int i = 0; i < nn; i++) start[i + 1] += start[i];
    int *fill = fr_xcalloc((size_t)nn + 1, sizeof(int)), *adj = fr_xcalloc((size_t)nedge + 1, sizeof(int));
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < x->nodes[i].nin; k++) {
            ox_val *v = x->nodes[i].in[k][0] ? ox_find(x, x->nodes[i].in[k]) : NULL;
            if (v && v->producer >= 0) adj[start[v->producer] + fill[v->producer]++] = i;
        }
    int head = 0, tail = 0;
    for (int i = 0; i < nn; i++) if (!indeg[i]) order[tail++] = i;
    while (head < tail) {
        int i = order[head++];
        for (int k = start[i]; k < start[i + 1]; k++)
            if (--indeg[adj[k]] == 0) order[tail++] = adj[k];
    }
    if (tail < nn) {
        int c = 0;
        while (c < nn && !indeg[c]) c++;
        rc = ox_err(x, c < nn ? &x->nodes[c] : NULL, "the graph has a cycle through this node");
    } else {
        /* Keep only nodes the output depends on, so the output producer ends up last. */
        ox_val *ov = ox_find(x, outname);
        if (ov && ov->producer >= 0) live[ov->producer] = 1;
        for (int q = nn - 1; q >= 0; q--) {
            int i = order[q];
            if (!live[i]) continue;
            for (int k = 0; k < x->nodes[i].nin; k++) {
                ox_val *v = x->nodes[i].in[k][0] ? ox_find(x, x->nodes[i].in[k]) : NULL;
                if (v && v->producer >= 0) live[v->producer] = 1;
            }
        }
    }
    free(fill);
    free(adj);
out:
    free(indeg);
    free(start);
    return rc;
}

static const char *base_name(const char *path, char *buf, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, n, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = 0;
    return buf;
}

static int import_body(ox_ctx *x, const uint8_t *buf, size_t n, int fold_bn)
{
    fr_pb r;
    fr_pb_field f;
    int rc, have_graph = 0, opset = -1;
    const uint8_t *gp = NULL;
    size_t gl = 0;
    char producer[64] = "";
    fr_pb_init(&r, buf, n);
    while ((rc = fr_pb_next(&r, &f)) == 1) {
        if (f.num == 7) {
            if (f.wt != FR_PB_LEN) return MALFORMED("model");
            gp = f.data; gl = f.len; have_graph = 1;
        } else if (f.num == 8) {
            if (f.wt != FR_PB_LEN) return MALFORMED("model");
            fr_pb r2;
            fr_pb_field f2;
            int64_t ver = -1;
            int def = 1;
            fr_pb_init(&r2, f.data, f.len);
            while ((rc = fr_pb_next(&r2, &f2)) == 1) {
                if (f2.num == 1 && f2.wt == FR_PB_LEN && f2.len && !(f2.len == 7 && !memcmp(f2.data, "ai.onnx", 7))) def = 0;
                if (f2.num == 2 && f2.wt == FR_PB_VARINT) ver = (int64_t)f2.v;
            }
            if (rc < 0) return MALFORMED("opset_import");
            if (def && ver >= 0) opset = (int)FR_MIN(ver, 1000);
        } else if (f.num == 2 && f.wt == FR_PB_LEN) {
            snprintf(producer, sizeof producer, "%.*s", (int)FR_MIN(f.len, 60), (const char *)f.data);
        }
    }
    if (rc < 0) return ox_err(x, NULL, "not an ONNX model (malformed protobuf at top level)");
    if (!have_graph) return ox_err(x, NULL, "not an ONNX model (no graph)");
    x->opset = opset < 0 ? 1 : opset;
    ox_graph_raw gr;
    memset(&gr, 0, sizeof gr);
    if ((rc = parse_graph(x, gp, gl, &gr)) != 0) return rc;
    if (x->nn == 0) return ox_err(x, NULL, "graph has no nodes");

    for (int i = 0; i < gr.ninit; i++) {
        const char *nm;
        if (tensor_name(x, gr.init[i], gr.initlen[i], &nm) != 0) return ox_err(x, NULL, "initializer %d: malformed TensorProto", i);
        if (!nm[0]) return ox_err(x, NULL, "initializer %d has no name", i);
        ox_val *v = ox_define(x, nm);
        if (!v) return ox_err(x, NULL, "initializer '%.80s' is defined twice", nm);
        v->tp = gr.init[i]; v->tplen = gr.initlen[i]; v->init_index = i;
    }
    const ox_vi *in = NULL;
    int n_act_in = 0;
    for (int i = 0; i < gr.nin; i++) {
        if (ox_find(x, gr.in[i].name)) continue;     /* an input with a default initializer */
        n_act_in++;
        in = &gr.in[i];
    }
    if (n_act_in != 1)
        return ox_err(x, NULL, "model has %d non-constant inputs; frtui supports exactly one (the image/feature batch)", n_act_in);
    if (gr.nout != 1) return ox_err(x, NULL, "model has %d outputs; frtui supports exactly one", gr.nout);
    if (!in->name[0]) return ox_err(x, NULL, "graph input has no name");
    if (!ox_define(x, in->name)) return ox_err(x, NULL, "graph input '%.80s' is defined twice", in->name);
    for (int i = 0; i < x->nn; i++) {
        ox_node *nd = &x->nodes[i];
        for (int k = 0; k < nd->nout; k++) {
            if (!nd->out[k][0]) continue;
            ox_val *v = ox_define(x, nd->out[k]);
            if (!v) return ox_err(x, nd, "value '%.80s' is produced more than once", nd->out[k]);
            v->producer = i;
        }
    }
    if (!ox_find(x, gr.out[0].name)) return ox_err(x, NULL, "graph output '%.80s' is not produced by any node", gr.out[0].name);
    /* Looked up only now: ox_define reallocates x->vals, so a pointer taken before the node
     * outputs were defined may dangle (it did for graphs with more than 64 values). */
    ox_val *iv = ox_find(x, in->name);

    /* The input activation: batch first, 1..3 per-sample dims (symbolic ones resolved). */
    iv->kind = OX_ACT;
    iv->d[0] = iv->d[1] = iv->d[2] = 1;
    if ((rc = ox_input_dims(x, in, iv->d, &iv->rank))) return rc;
    x->batch0 = in->dim[0] > 0 ? in->dim[0] : -1;
    fr_model *m = x->m;
    iv->node = fr_graph_add_node(&m->g, in->name, FR_OP_INPUT, 0, NULL);
    if (iv->d[0] * iv->d[1] * iv->d[2] > ((int64_t)1 << 26)) return ox_err(x, NULL, "input %.80s is too large", in->name);
    m->meta.in_c = (int)iv->d[0]; m->meta.in_h = (int)iv->d[1]; m->meta.in_w = (int)iv->d[2];
    if (x->tok_input) {
        iv->t.lay = OX_TOK_IDS;
        iv->t.T = iv->d[0];
        iv->t.F = iv->t.H = iv->t.HP = iv->t.hd = 1;
    }

    int *order = fr_xcalloc((size_t)x->nn, sizeof(int)), *live = fr_xcalloc((size_t)x->nn, sizeof(int));
    ox_val **ins = NULL;
    rc = toposort(x, order, live, gr.out[0].name);
    for (int q = 0; rc == FR_OK && q < x->nn; q++) {
        const ox_node *nd = &x->nodes[order[q]];
        if (!live[order[q]]) continue;
        for (int k = 0; k < nd->nin; k++) if (nd->in[k][0]) ox_find(x, nd->in[k])->uses++;
    }
    if (rc == FR_OK) ox_find(x, gr.out[0].name)->uses++;
    for (int q = 0; rc == FR_OK && q < x->nn; q++) {
        const ox_node *nd = &x->nodes[order[q]];
        if (!live[order[q]]) continue;
        if (nd->domain[0] && strcmp(nd->domain, "ai.onnx") != 0) {
            char why[160];
            snprintf(why, sizeof why, "custom domain '%.100s'", nd->domain);
            rc = ox_unsupported(x, nd, why);
            break;
        }
        ins = fr_xrealloc(ins, (size_t)(nd->nin + 1) * sizeof *ins);
        for (int k = 0; k < nd->nin && rc == FR_OK; k++) {
            ins[k] = nd->in[k][0] ? ox_find(x, nd->in[k]) : NULL;
            if (ins[k] && ins[k]->kind == OX_UNRESOLVED && ins[k]->producer < 0) rc = ox_resolve(x, ins[k]);
            else if (ins[k] && ins[k]->kind == OX_UNRESOLVED)
                rc = ox_err(x, nd, "input '%.80s' was not computed (its producer has no usable output)", nd->in[k]);
        }
        if (rc) break;
        int done = 0;
        rc = ox_tok_lower(x, nd, ins, &done);
        if (rc == FR_OK && !done) rc = ox_fold(x, nd, ins, &done);
        if (rc == FR_OK && !done) rc = ox_lower(x, nd, ins);
    }
    free(ins);
    free(order);
    free(live);
    if (rc) return rc;

    ox_val *ov = ox_find(x, gr.out[0].name);
    if ((rc = ox_tok_finish(x, ov))) return rc;
    if (ov->kind != OX_ACT) return ox_err(x, NULL, "graph output '%.80s' is a constant, not a function of the input", ov->name);
    if (ov->node != m->g.n_nodes - 1)
        return ox_err(x, NULL, "graph output '%.80s' is not the last operator (it is the input or an elided alias)", ov->name);
    char bn[128];
    snprintf(m->meta.name, sizeof m->meta.name, "%.120s", gr.name[0] ? gr.name : base_name(x->src, bn, sizeof bn));
    snprintf(m->meta.provenance, sizeof m->meta.provenance, "imported from ONNX %.900s (opset %d%s%s)", x->src, x->opset,
             producer[0] ? ", producer " : "", producer);
    m->meta.n_classes = 0;
    if (ov->rank == 1 && ov->d[0] <= FR_MAX_CLASSES && !x->tok_input) m->meta.n_classes = (int)ov->d[0];
    /* The rewriter (fold_bn = 0) needs the graph as the file has it; fusing acts only merges
     * parameter-free nodes, so exported weights are the same either way. */
    if (fold_bn) { fr_graph_fold_bn(&m->g); fr_graph_fuse_acts(&m->g); }
    return fr_graph_validate(&m->g, &m->meta, x->src, x->e);
}

int ox_import(const uint8_t *buf, size_t n, const char *src, const fr_onnx_shape *shape, fr_model *m, int fold_bn,
              ox_arena *keep, ox_origin **origins, int *norig, fr_err *e)
{
    ox_ctx X;
    memset(&X, 0, sizeof X);
    X.shape = shape && shape->n ? shape : NULL;
    X.src = src;
    X.e = e;
    X.m = m;
    fr_model_init(m);
    fr_err_clear(e);
    int rc = import_body(&X, buf, n, fold_bn);
    if (rc && e && e->code == FR_OK) fr_err_set(e, rc, "%s: import failed", src);
    if (rc) fr_model_free(m);
    free(X.vals);
    free(X.hash);
    if (!rc && keep && origins) {
        *keep = X.ar;
        *origins = X.orig;
        *norig = X.norig;
    } else {
        ox_arena_free(&X.ar);
    }
    return rc;
}
