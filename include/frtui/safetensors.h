/* safetensors.h — writer of the safetensors format (https://github.com/huggingface/safetensors):
 * u64 header length, a JSON header naming every tensor's dtype, shape and byte range (plus an
 * optional "__metadata__" object of string pairs), then the tensors' bytes in order.
 *
 * Design note: only the container; what goes into it is the caller's (the checkpoint exporter
 * in export_st.h).  Tensors are laid out in the order given, back to back, and the header is
 * padded with spaces to a multiple of 8 bytes.  Names and metadata values are JSON-escaped.
 */
#ifndef FRTUI_SAFETENSORS_H
#define FRTUI_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"

typedef enum { FR_ST_I8 = 0, FR_ST_U8, FR_ST_I32, FR_ST_F32 } fr_st_dtype;

typedef struct fr_st_tensor {
    const char *name;
    fr_st_dtype dtype;
    int ndim;                /* 1..4 */
    int64_t shape[4];
    const void *data;        /* numel * element size bytes, little-endian */
} fr_st_tensor;

typedef struct fr_st_meta { const char *key, *value; } fr_st_meta;

/* Encodes into a new buffer (*out, freed by the caller). */
int fr_safetensors_encode(const fr_st_meta *meta, int n_meta, const fr_st_tensor *t, int n, uint8_t **out,
                          size_t *out_n, fr_err *e);

#endif
