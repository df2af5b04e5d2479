/* export_model.h — the quantized model of a checkpoint, and its .frm bundle.
 *
 * Design note
 *   Built from a checkpoint (fr_ckpt) plus its bundle, never from a live engine, so it runs on
 *   any thread and on replayed runs alike.  The graph is the BN-folded graph the engine
 *   quantized (fr_recon_model); every finished conv/linear weight is replaced by its
 *   dequantised Ŵ = s1·(code − zp), and the integer codes travel as extra tensors
 *   "<layer>.qcodes" (float-encoded integers, same shape as the weight) described by the
 *   quantization JSON (docs/FORMAT.md, "Quantized bundles").  Layers of unfinished units stay
 *   full precision (as in the run's accuracy).  Activation quantizers cannot be expressed in a
 *   bundle graph: their steps are listed in the JSON, and `frtui eval` then measures the
 *   weights-only model.
 *   Ownership: an fr_qmodel owns its graph and JSON; meta and datasets are the source bundle's
 *   (src, which must outlive it).  Free it with fr_qmodel_free; it is not an fr_model.
 */
#ifndef FRTUI_EXPORT_MODEL_H
#define FRTUI_EXPORT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/ckpt.h"
#include "frtui/graph.h"

typedef struct fr_qmodel {
    fr_graph g;              /* owned: folded graph, Ŵ weights, "<layer>.qcodes" tensors */
    char *quant_json;        /* owned */
    const fr_model *src;     /* the bundle it was made from (meta, datasets): not owned */
} fr_qmodel;

/* Builds the quantized model in memory.  *acc_q (may be NULL) receives the quantized top-1 on
 * m's eval set measured on the engine (−1 when m has no eval data). */
int fr_qmodel_build(const fr_ckpt *c, const fr_model *m, fr_qmodel *out, double *acc_q, fr_err *e);
void fr_qmodel_free(fr_qmodel *q);
/* The bundle bytes (zstd tensors) of q; path only names the file in messages. */
int fr_qmodel_encode_frm(const fr_qmodel *q, const char *path, uint8_t **out, size_t *out_n, fr_err *e);
/* Build + write (atomically) in one call. */
int fr_export_frm(const fr_ckpt *c, const fr_model *m, const char *path, double *acc_q, fr_err *e);

#endif
