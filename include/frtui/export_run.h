/* export_run.h — `frtui export`: every requested output of a checkpoint, all or none.
 *
 * Design note: the targets are separate modules (export_model.h: quantized .frm; export_st.h:
 * safetensors; export_onnx.h: fake-quant ONNX; export_gguf.h: GGUF for llama.cpp); this one
 * builds the quantized model once, encodes each requested output in memory and hands the set
 * to fr_outset_write, so a failure in any of them leaves no output written (issue 14, item 12).
 */
#ifndef FRTUI_EXPORT_RUN_H
#define FRTUI_EXPORT_RUN_H

#include "frtui/ckpt.h"
#include "frtui/graph.h"

typedef struct fr_export_req {
    const char *frm;          /* quantized bundle (-o), or NULL */
    const char *safetensors;  /* codes and scales, or NULL */
    const char *onnx;         /* fake-quant ONNX, or NULL */
    const char *onnx_source;  /* the ONNX file to patch; NULL = the one recorded at import */
    const char *gguf;         /* llama.cpp GGUF of a LLaMA-shaped LM, or NULL */
    int quiet;                /* no per-tensor GGUF table on stdout */
} fr_export_req;

/* *acc_q: the quantized top-1 on m's eval set when a bundle is requested, else −1. */
int fr_export_run(const fr_ckpt *c, const fr_model *m, const fr_export_req *r, double *acc_q, fr_err *e);

/* The full-precision model m (read from src, which names it in messages) as GGUF
 * (`frtui export MODEL.frm --gguf OUT`). */
int fr_export_gguf_fp(const fr_model *m, const char *src, const char *path, int quiet, fr_err *e);

#endif
