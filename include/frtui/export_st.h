/* export_st.h — the integer codes and scales of a checkpoint as a safetensors file.
 *
 * Per finished layer "<name>.qcodes" (I8 symmetric / U8 asymmetric, the weight's shape),
 * "<name>.scale" (F32 [ns1]), "<name>.zero_point" (I32 [ns1]); __metadata__ holds format,
 * method, bits, act_bits, seed, granularity, scheme and model.  Read straight from the
 * checkpoint (no engine), after checking it belongs to the bundle m.
 */
#ifndef FRTUI_EXPORT_ST_H
#define FRTUI_EXPORT_ST_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/ckpt.h"
#include "frtui/graph.h"

/* The file's bytes (*out, freed by the caller).  FR_EINPUT when nothing is finished; path only
 * names the file in messages. */
int fr_export_safetensors_encode(const fr_ckpt *c, const fr_model *m, const char *path, uint8_t **out, size_t *out_n,
                                 fr_err *e);
/* Encode + write (atomically) in one call. */
int fr_export_safetensors(const fr_ckpt *c, const fr_model *m, const char *path, fr_err *e);

#endif
