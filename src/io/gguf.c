/* gguf.c — the GGUF container writer; contract in include/frtui/gguf.h. */
#include "frtui/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "frtui/sb.h"

enum { T_U8 = 0, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 };

typedef struct {
    char *name;
    fr_ggml_type type;
    int ndim;
    int64_t ne[4];
    void *data;
    size_t bytes;
} gtensor;

struct fr_gguf {
    fr_sb kv;          /* the serialised key/value pairs */
    uint64_t n_kv;
    gtensor *t;
    int n_t, cap_t;
};

fr_gguf *fr_gguf_new(void) { return fr_xcalloc(1, sizeof(fr_gguf)); }

void fr_gguf_free(fr_gguf *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_t; i++) free(g->t[i].name), free(g->t[i].data);
    free(g->t);
    fr_sb_free(&g->kv);
    free(g);
}

static void put_u32(fr_sb *b, uint32_t v)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
    fr_sb_put(b, p, 4);
}

static void put_u64(fr_sb *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    fr_sb_put(b, p, 8);
}

static void put_str(fr_sb *b, const char *s)
{
    size_t n = strlen(s);
    put_u64(b, n);
    fr_sb_put(b, s, n);
}

static void put_f32(fr_sb *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(b, u);
}

static void key(fr_gguf *g, const char *k, uint32_t type)
{
    put_str(&g->kv, k);
    put_u32(&g->kv, type);
    g->n_kv++;
}

void fr_gguf_kv_str(fr_gguf *g, const char *k, const char *v) { key(g, k, T_STR); put_str(&g->kv, v); }
void fr_gguf_kv_u32(fr_gguf *g, const char *k, uint32_t v) { key(g, k, T_U32); put_u32(&g->kv, v); }
void fr_gguf_kv_f32(fr_gguf *g, const char *k, float v) { key(g, k, T_F32); put_f32(&g->kv, v); }

void fr_gguf_kv_bool(fr_gguf *g, const char *k, int v)
{
    key(g, k, T_BOOL);
    fr_sb_putc(&g->kv, (char)(v != 0));
}

static void arr(fr_gguf *g, const char *k, uint32_t elem, int n)
{
    key(g, k, T_ARR);
    put_u32(&g->kv, elem);
    put_u64(&g->kv, (uint64_t)n);
}

void fr_gguf_kv_arr_str(fr_gguf *g, const char *k, const char *const *v, int n)
{
    arr(g, k, T_STR, n);
    for (int i = 0; i < n; i++) put_str(&g->kv, v[i]);
}

void fr_gguf_kv_arr_f32(fr_gguf *g, const char *k, const float *v, int n)
{
    arr(g, k, T_F32, n);
    for (int i = 0; i < n; i++) put_f32(&g->kv, v[i]);
}

void fr_gguf_kv_arr_i32(fr_gguf *g, const char *k, const int32_t *v, int n)
{
    arr(g, k, T_I32, n);
    for (int i = 0; i < n; i++) put_u32(&g->kv, (uint32_t)v[i]);
}

size_t fr_ggml_row_bytes(fr_ggml_type t, int64_t ne0)
{
    switch (t) {
    case FR_GGML_F32: return (size_t)ne0 * 4;
    case FR_GGML_F16: return (size_t)ne0 * 2;
    case FR_GGML_Q4_0: return (size_t)(ne0 / FR_GGML_QK) * 18;   /* f16 d + 16 bytes of nibbles */
    case FR_GGML_Q4_1: return (size_t)(ne0 / FR_GGML_QK) * 20;   /* f16 d, f16 m + 16 bytes */
    case FR_GGML_Q8_0: return (size_t)(ne0 / FR_GGML_QK) * 34;   /* f16 d + 32 int8 */
    }
    return 0;
}

const char *fr_ggml_type_name(fr_ggml_type t)
{
    switch (t) {
    case FR_GGML_F32: return "F32";
    case FR_GGML_F16: return "F16";
    case FR_GGML_Q4_0: return "Q4_0";
    case FR_GGML_Q4_1: return "Q4_1";
    case FR_GGML_Q8_0: return "Q8_0";
    }
    return "?";
}

void fr_gguf_tensor(fr_gguf *g, const char *name, fr_ggml_type t, int ndim, const int64_t *ne, void *data)
{
    FR_ASSERT(ndim >= 1 && ndim <= 4);
    FR_ASSERT(t == FR_GGML_F32 || t == FR_GGML_F16 || ne[0] % FR_GGML_QK == 0);
    if (g->n_t == g->cap_t) {
        g->cap_t = g->cap_t ? 2 * g->cap_t : 64;
        g->t = fr_xrealloc(g->t, (size_t)g->cap_t * sizeof *g->t);
    }
    gtensor *T = &g->t[g->n_t++];
    memset(T, 0, sizeof *T);
    T->name = fr_xstrdup(name);
    T->type = t;
    T->ndim = ndim;
    size_t rows = 1;
    for (int i = 0; i < ndim; i++) {
        T->ne[i] = ne[i];
        if (i) rows *= (size_t)ne[i];
    }
    T->data = data;
    T->bytes = fr_ggml_row_bytes(t, ne[0]) * rows;
}

static size_t align_up(size_t n) { return (n + FR_GGUF_ALIGN - 1) / FR_GGUF_ALIGN * FR_GGUF_ALIGN; }

int fr_gguf_encode(const fr_gguf *g, uint8_t **out, size_t *out_n, fr_err *e)
{
    *out = NULL;
    *out_n = 0;
    fr_sb h = {0};
    fr_sb_put(&h, "GGUF", 4);
    put_u32(&h, 3);
    put_u64(&h, (uint64_t)g->n_t);
    put_u64(&h, g->n_kv);
    if (g->kv.n) fr_sb_put(&h, g->kv.p, g->kv.n);
    size_t off = 0;
    for (int i = 0; i < g->n_t; i++) {
        const gtensor *T = &g->t[i];
        put_str(&h, T->name);
        put_u32(&h, (uint32_t)T->ndim);
        for (int d = 0; d < T->ndim; d++) put_u64(&h, (uint64_t)T->ne[d]);
        put_u32(&h, (uint32_t)T->type);
        put_u64(&h, off);
        off = align_up(off + T->bytes);
    }
    const size_t head = align_up(h.n), total = head + off;
    uint8_t *buf = calloc(1, total);
    if (!buf) {
        fr_sb_free(&h);
        return fr_err_set(e, FR_ENOMEM, "gguf: out of memory for %zu bytes", total);
    }
    memcpy(buf, h.p, h.n);
    fr_sb_free(&h);
    off = head;
    for (int i = 0; i < g->n_t; i++) {
        memcpy(buf + off, g->t[i].data, g->t[i].bytes);
        off = head + align_up(off - head + g->t[i].bytes);
    }
    *out = buf;
    *out_n = total;
    return FR_OK;
}
