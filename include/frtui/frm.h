/* frm.h — the .frm model bundle (version 1.0): read, write, fingerprint, summary.
 *
 * Design note
 *   A bundle is one little-endian file: a 32-byte header, a section table, and 64-byte aligned
 *   sections (META, GRAPH, TENSORS, DATASETS, QUANT), each with an FNV-1a-64 checksum.  The
 *   byte layout is specified in docs/FORMAT.md and repeated at the top of src/io/frm.c.
 *
 *   Reading is fully validating: every count, length and offset is checked against the
 *   enclosing section before it is used, and every size that drives an allocation goes through
 *   fr_size_mul (FR_MAX_ALLOC) first.  A read ends with fr_graph_validate.  On any error the
 *   model is freed and left empty (fr_model_init state), and e holds one line naming the file.
 *
 *   Writing is deterministic: the same fr_model and `compress` flag always give the same bytes
 *   (a read followed by a write reproduces the file exactly).  Files go through fr_atomic_*.
 */
#ifndef FRTUI_FRM_H
#define FRTUI_FRM_H

#include <stdint.h>
#include <stdio.h>

#include "frtui/common.h"
#include "frtui/graph.h"

#define FR_FRM_MAJOR 1
#define FR_FRM_MINOR 1   /* 1: token attributes (tokens, form) and the token ops */

/* Section types (see docs/FORMAT.md). */
enum fr_frm_section {
    FR_FRM_META = 1,
    FR_FRM_GRAPH = 2,
    FR_FRM_TENSORS = 3,
    FR_FRM_DATASETS = 4,
    FR_FRM_QUANT = 5,
};

/* Header flags. */
#define FR_FRM_FLAG_ZSTD_TENSORS 1u  /* the writer was asked to zstd-compress tensor payloads */

/* Writes m to path atomically.  compress != 0 stores every tensor payload zstd-compressed
 * (datasets are always zstd-compressed).  m is not validated here; callers write models that
 * passed fr_graph_validate.  Returns FR_OK, FR_EIO or FR_EINPUT (a field that cannot be
 * encoded, e.g. a name too long). */
int fr_frm_write(const char *path, const fr_model *m, int compress, fr_err *e);
/* Same encoding into a malloc'd buffer (caller frees *out).  Used by tests and fuzzers. */
int fr_frm_write_mem(const fr_model *m, int compress, uint8_t **out, size_t *out_n, fr_err *e);
/* The reader's rules for values a writer takes from elsewhere (fr_frm_write_mem applies them;
 * `import` calls them first so the message names the input that breaks them): every input side
 * 1..65535, every label in 0..n_classes-1 (n_classes 0: no upper bound).  FR_EINPUT with one
 * line starting with src. */
int fr_frm_check_input(const fr_meta *m, const char *src, fr_err *e);
int fr_frm_check_labels(const int32_t *labels, int n, int n_classes, const char *src, fr_err *e);

/* Reads and validates a bundle.  *m need not be initialised; on error it is left empty. */
int fr_frm_read(const char *path, fr_model *m, fr_err *e);
/* Same from memory; `name` is used in error messages in place of a path. */
int fr_frm_read_mem(const uint8_t *buf, size_t n, const char *name, fr_model *m, fr_err *e);

/* FNV-1a-64 over what determines quantization results: the input shape and normalisation, the
 * graph structure (ops, wiring, params, attributes, node names), every tensor's name, shape
 * and values, and the calibration data (shape, dtype, scale/offset, samples).  Independent of
 * the model name, provenance, class names, eval data, quant_json and the compress flag. */
uint64_t fr_frm_fingerprint(const fr_model *m);

/* Human summary: name, provenance, input, a layers table (node, op, output shape, params),
 * total params, datasets and the file size (when path is not NULL).  verbose adds the
 * tensor list and node attributes.  m must have passed validation (shapes inferred). */
int fr_frm_info(FILE *out, const char *path, const fr_model *m, int verbose);

#endif
