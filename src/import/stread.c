/* stread.c — safetensors reader; contract in include/frtui/stread.h. */
#include "frtui/stread.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/half.h"
#include "frtui/json.h"

#define MAX_HEADER FR_JSON_MAX_INPUT

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int head_check(const uint8_t *head, size_t n, uint64_t size, const char *path, const void *ctx, fr_err *e)
{
    (void)ctx;
    if (n < 9 || size < 10) return fr_err_set(e, FR_EINPUT, "%s: not a safetensors file (%llu bytes)", path, (unsigned long long)size);
    const uint64_t h = le64(head);
    if (h < 2 || h > MAX_HEADER || h > size - 8 || head[8] != '{')
        return fr_err_set(e, FR_EINPUT, "%s: not a safetensors file (header length %llu in a file of %llu bytes)", path,
                          (unsigned long long)h, (unsigned long long)size);
    return FR_OK;
}

static int elem_size(fr_str_dtype d) { return d == FR_STR_F32 ? 4 : 2; }

static int other_size(const char *s)
{
    static const struct { const char *n; int sz; } k[] = {{"F64", 8}, {"I64", 8}, {"U64", 8}, {"I32", 4}, {"U32", 4},
                                                          {"I16", 2}, {"U16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1},
                                                          {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(s, k[i].n)) return k[i].sz;
    return 0;
}

static int parse(const uint8_t *buf, size_t n, fr_st_file *f, fr_err *e)
{
    const char *P = f->path;
    if (head_check(buf, n, n, P, NULL, e)) return e->code;
    const uint64_t h = le64(buf);
    fr_json_doc *doc;
    if (fr_json_parse((const char *)buf + 8, (size_t)h, P, &doc, e)) return e->code;
    const fr_json *root = fr_json_root(doc);
    int rc = FR_OK;
    if (root->type != FR_JSON_OBJECT) {
        rc = fr_err_set(e, FR_EINPUT, "%s: safetensors header is not a JSON object", P);
        goto out;
    }
    f->data = buf + 8 + h;
    f->data_n = n - 8 - h;
    f->t = fr_xcalloc(root->n ? root->n : 1, sizeof *f->t);
    for (uint32_t i = 0; i < root->n; i++) {
        const fr_json *v = root->items[i];
        if (!strcmp(v->key, "__metadata__")) continue;
        fr_st_entry *t = &f->t[f->n];
        const char *dt = fr_json_str(fr_json_get(v, "dtype"));
        const fr_json *sh = fr_json_get(v, "shape"), *off = fr_json_get(v, "data_offsets");
        int64_t b = 0, en = 0;
        if (v->type != FR_JSON_OBJECT || !dt || !sh || sh->type != FR_JSON_ARRAY || fr_json_len(off) != 2 ||
            !fr_json_int(fr_json_at(off, 0), 0, INT64_MAX, &b) || !fr_json_int(fr_json_at(off, 1), b, INT64_MAX, &en)) {
            rc = fr_err_set(e, FR_EINPUT, "%s: tensor '%.200s' lacks dtype, shape or data_offsets [begin, end]", P, v->key);
            goto out;
        }
        if (sh->n > 8) {
            rc = fr_err_set(e, FR_EINPUT, "%s: tensor '%.200s' has rank %u (at most 8)", P, v->key, sh->n);
            goto out;
        }
        t->dtype = !strcmp(dt, "F32") ? FR_STR_F32 : !strcmp(dt, "F16") ? FR_STR_F16 : !strcmp(dt, "BF16") ? FR_STR_BF16 : FR_STR_OTHER;
        const int esz = t->dtype == FR_STR_OTHER ? other_size(dt) : elem_size(t->dtype);
        if (!esz) {
            rc = fr_err_set(e, FR_EINPUT, "%s: tensor '%.200s' has unknown dtype '%.20s'", P, v->key, dt);
            goto out;
        }
        snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt);
        t->ndim = (int)sh->n;
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (!fr_json_int(fr_json_at(sh, (size_t)d), 0, (int64_t)FR_MAX_ALLOC, &t->shape[d]) ||
                fr_size_mul(&numel, numel, (size_t)t->shape[d])) {
                rc = fr_err_set(e, FR_EINPUT, "%s: tensor '%.200s' has a bad or too large shape", P, v->key);
                goto out;
            }
        }
        t->numel = (int64_t)numel;
        t->begin = (uint64_t)b, t->end = (uint64_t)en;
        if (t->end > f->data_n || t->end - t->begin != (uint64_t)numel * (uint64_t)esz) {
            rc = fr_err_set(e, FR_EINPUT, "%s: tensor '%.200s': bytes %llu..%llu do not hold %zu x %d bytes inside the "
                            "%llu bytes of data", P, v->key, (unsigned long long)t->begin, (unsigned long long)t->end, numel,
                            esz, (unsigned long long)f->data_n);
            goto out;
        }
        t->name = fr_xstrdup(v->key);
        f->n++;
    }
out:
    fr_json_free(doc);
    return rc;
}

int fr_st_open_mem(const uint8_t *buf, size_t n, const char *name, fr_st_file *f, fr_err *e)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", name);
    int rc = parse(buf, n, f, e);
    if (rc) fr_st_close(f);
    return rc;
}

int fr_st_open(const char *path, fr_st_file *f, fr_err *e)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    /* mapped, not read: the size limit is the address space's, memory is checked per tensor */
    int rc = fr_fmap_open(path, (size_t)1 << 40, head_check, NULL, &f->map, e);
    if (!rc) rc = parse(f->map.p, f->map.n, f, e);
    if (rc) fr_st_close(f);
    return rc;
}

void fr_st_close(fr_st_file *f)
{
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    free(f->t);
    fr_fmap_close(&f->map);
    memset(f, 0, sizeof *f);
}

const fr_st_entry *fr_st_find(const fr_st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

int fr_st_read_f32(const fr_st_file *f, const fr_st_entry *t, float *out, int64_t n, fr_err *e)
{
    FR_ASSERT(n == t->numel);
    if (t->dtype == FR_STR_OTHER)
        return fr_err_set(e, FR_EINPUT, "%s: tensor '%.200s' is %s (only F32, F16 and BF16 weights are read)", f->path,
                          t->name, t->dtype_name);
    const uint8_t *p = f->data + t->begin;
    for (int64_t i = 0; i < n; i++) {
        float v;
        if (t->dtype == FR_STR_F32) {
            uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
            memcpy(&v, &u, 4);
        } else {
            const uint16_t u = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            v = t->dtype == FR_STR_F16 ? fr_f16_to_f32(u) : fr_bf16_to_f32(u);
        }
        if (!isfinite(v))
            return fr_err_set(e, FR_EINPUT, "%s: tensor '%.200s' holds a non-finite value at element %lld", f->path, t->name,
                              (long long)i);
        out[i] = v;
    }
    fr_fmap_drop(p, (size_t)(t->end - t->begin));
    return FR_OK;
}
