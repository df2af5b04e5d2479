/* safetensors.c — the safetensors container writer; contract in include/frtui/safetensors.h. */
#include "frtui/safetensors.h"
#include "frtui/sb.h"

#include <stdlib.h>
#include <string.h>

static const char *const dtype_name[] = {"I8", "U8", "I32", "F32"};
static const size_t dtype_size[] = {1, 1, 4, 4};

int fr_safetensors_encode(const fr_st_meta *meta, int n_meta, const fr_st_tensor *t, int n, uint8_t **out,
                          size_t *out_n, fr_err *e)
{
    *out = NULL;
    *out_n = 0;
    fr_sb h = {0};
    fr_sb_printf(&h, "{");
    int items = 0;
    if (n_meta > 0) {
        fr_sb_printf(&h, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i) fr_sb_printf(&h, ",");
            fr_sb_json_str(&h, meta[i].key);
            fr_sb_printf(&h, ":");
            fr_sb_json_str(&h, meta[i].value);
        }
        fr_sb_printf(&h, "}");
        items++;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if ((unsigned)t[i].dtype > FR_ST_F32 || t[i].ndim < 1 || t[i].ndim > 4) {
            free(h.p);
            return fr_err_set(e, FR_EINPUT, "safetensors: tensor %s has an unsupported dtype or rank", t[i].name);
        }
        size_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= (size_t)t[i].shape[d];
        size_t bytes = numel * dtype_size[t[i].dtype];
        if (items++) fr_sb_printf(&h, ",");
        fr_sb_json_str(&h, t[i].name);
        fr_sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name[t[i].dtype]);
        for (int d = 0; d < t[i].ndim; d++) fr_sb_printf(&h, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        fr_sb_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        off += bytes;
    }
    fr_sb_printf(&h, "}");
    while (h.n % 8) fr_sb_printf(&h, " ");
    size_t total = 8 + h.n + off;
    uint8_t *buf = malloc(total);
    if (!buf) {
        free(h.p);
        return fr_err_set(e, FR_ENOMEM, "safetensors: out of memory for %zu bytes", total);
    }
    uint64_t hl = h.n;
    memcpy(buf, &hl, 8);
    memcpy(buf + 8, h.p, h.n);
    size_t at = 8 + h.n;
    free(h.p);
    for (int i = 0; i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= (size_t)t[i].shape[d];
        size_t bytes = numel * dtype_size[t[i].dtype];
        if (bytes) memcpy(buf + at, t[i].data, bytes);
        at += bytes;
    }
    *out = buf;
    *out_n = total;
    return FR_OK;
}
