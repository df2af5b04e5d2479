/* lm.h — a tiny LLaMA-style language model: its architecture, a deterministic trainer over raw
 * bytes, and the token windows that become a bundle's calibration and evaluation sets.
 *
 * Design note
 *   The model is llama.h's LLaMA-family graph (embedding, blocks of RMSNorm → q/k/v → RoPE →
 *   causal attention with grouped KV heads → o → residual, RMSNorm → SwiGLU → residual, final
 *   RMSNorm and an untied head); node and tensor names follow GGUF's, so the inspector's
 *   sub-layer names are the ones llama.cpp users know.
 *   A sample is a window of T byte ids; position t predicts byte t + 1 (fr_graph_lm_vocab).
 *
 *   Determinism: initialisation and window offsets come from fr_rng streams of the config's
 *   seed; the executor's kernels are bit-identical across thread counts, so a given seed and
 *   step count give the same bytes on any thread count (the sample's test checks 1 and 2).
 */
#ifndef FRTUI_LM_H
#define FRTUI_LM_H

#include <stdint.h>
#include <stdio.h>

#include "frtui/dataio.h"   /* fr_lm_windows */
#include "frtui/graph.h"
#include "frtui/llama.h"   /* fr_lm_arch and the graph */

/* Builds an untrained model into an initialised m (m->g empty; the graph of llama.h): weights
 * N(0, 0.02), the residual-writing projections (attn_output, ffn_down) scaled by 1/sqrt(2
 * layers) as GPT-2 does, norms 1.  Fills m->meta (input T x 1 x 1, mean 0, std 1, n_classes
 * 0).  FR_EINPUT when the shape is inconsistent (d % heads, heads % kv_heads, odd head dim). */
int fr_lm_build(fr_model *m, const fr_lm_arch *a, uint64_t seed, fr_err *e);

typedef struct fr_lm_train_config {
    int steps, batch;
    int warmup;           /* linear warm-up steps, then cosine decay to lr_min_frac * lr */
    float lr, lr_min_frac, weight_decay;
    uint64_t seed;
    int log_every;        /* steps between progress lines (0 = none) */
} fr_lm_train_config;

/* Trains m (fr_graph_lm_vocab > 0) in place on random windows of text[0, n): each step draws
 * `batch` offsets from the seed's stream and minimises the mean next-token cross-entropy. */
int fr_lm_train(fr_model *m, const uint8_t *text, size_t n, const fr_lm_train_config *c, FILE *log, fr_err *e);

#endif
