/* gguf.h — writer of GGUF, the llama.cpp / ggml model container (version 3).
 *
 * Layout (little-endian): "GGUF", u32 version 3, u64 tensor count, u64 key/value count; the
 * key/value pairs (u64-length string key, u32 value type, value; arrays are an element type,
 * a u64 count and the elements); one info per tensor (name, u32 rank, u64 dimensions innermost
 * first, u32 ggml type, u64 offset into the data section); zero padding to the alignment; the
 * data section, each tensor at a multiple of the alignment (32, the format's default, so no
 * general.alignment key is written).
 *
 * Design note: only the container, like safetensors.h; what goes into it (names, hyper-
 * parameters, block encoding) is export_gguf.h's.  A builder collects pairs and tensors in the
 * order added and fr_gguf_encode lays them out in one buffer; tensor data passed in is owned by
 * the builder from then on.  Not thread-safe; one builder per export.
 */
#ifndef FRTUI_GGUF_H
#define FRTUI_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"

/* The ggml tensor types the export writes (values are ggml's enum). */
typedef enum { FR_GGML_F32 = 0, FR_GGML_F16 = 1, FR_GGML_Q4_0 = 2, FR_GGML_Q4_1 = 3, FR_GGML_Q8_0 = 8 } fr_ggml_type;

#define FR_GGUF_ALIGN 32
#define FR_GGML_QK 32   /* weights per Q4_0 / Q4_1 / Q8_0 block */

typedef struct fr_gguf fr_gguf;

fr_gguf *fr_gguf_new(void);
void fr_gguf_free(fr_gguf *g);

void fr_gguf_kv_str(fr_gguf *g, const char *key, const char *v);
void fr_gguf_kv_u32(fr_gguf *g, const char *key, uint32_t v);
void fr_gguf_kv_f32(fr_gguf *g, const char *key, float v);
void fr_gguf_kv_bool(fr_gguf *g, const char *key, int v);
void fr_gguf_kv_arr_str(fr_gguf *g, const char *key, const char *const *v, int n);
void fr_gguf_kv_arr_f32(fr_gguf *g, const char *key, const float *v, int n);
void fr_gguf_kv_arr_i32(fr_gguf *g, const char *key, const int32_t *v, int n);

/* Bytes of one row of ne0 elements of type t (ne0 a multiple of 32 for the block types). */
size_t fr_ggml_row_bytes(fr_ggml_type t, int64_t ne0);
const char *fr_ggml_type_name(fr_ggml_type t);

/* Adds a tensor of rank ndim (1..4), dimensions ne innermost first (a row-major [out, in]
 * matrix is ne = {in, out}), its data (fr_ggml_row_bytes(t, ne[0]) * rows bytes, malloc'd)
 * now owned by g. */
void fr_gguf_tensor(fr_gguf *g, const char *name, fr_ggml_type t, int ndim, const int64_t *ne, void *data);

/* The file's bytes in a new buffer (*out, freed by the caller). */
int fr_gguf_encode(const fr_gguf *g, uint8_t **out, size_t *out_n, fr_err *e);

#endif
