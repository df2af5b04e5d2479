/* export_onnx.h — fake-quant ONNX: the ONNX file a bundle was imported from, with every
 * conv/linear weight replaced by the quantized model's (Ŵ for finished units, the FP weight
 * otherwise) and every other byte kept.  fr_onnx_rewrite_weights (import/onnx_write.c) undoes
 * the import-time transposes and BN folding; this module only picks the weights.  It lives in
 * the app because it joins two parts that may not see each other (recon and import).
 */
#ifndef FRTUI_EXPORT_ONNX_H
#define FRTUI_EXPORT_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/export_model.h"

/* The ONNX file a bundle was imported from, as the importer recorded it in the provenance
 * ("imported from ONNX PATH (opset ...").  Returns 0 and fills buf, or -1. */
int fr_export_onnx_source(const fr_model *m, char *buf, size_t n);
/* src: the source ONNX file, or NULL for the one recorded in q's bundle provenance at import.
 * The file's bytes go to *out (freed by the caller). */
int fr_export_onnx_encode(const fr_qmodel *q, const char *src, uint8_t **out, size_t *out_n, fr_err *e);

#endif
