/* lm.h — a tiny LLaMA-style language model: its architecture, a deterministic trainer over raw
 * bytes, and the token windows that become a bundle's calibration and evaluation sets.
 *
 * Design note
 *   The model is built from the graph's token ops (graph.h): embedding, then per block
 *   RMSNorm → q/k/v → RoPE → causal attention (grouped KV heads) → o → residual, RMSNorm →
 *   gate/up → SiLU(gate)·up → down → residual; a final RMSNorm and an untied output head.  Node
 *   and tensor names follow GGUF's (token_embd, blk.N.attn_q, …, output_norm, output), so the
 *   inspector's sub-layer names are the ones llama.cpp users know and an export needs no map.
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

#include "frtui/graph.h"

typedef struct fr_lm_arch {
    int vocab;            /* 256 for byte-level */
    int d, layers, heads, kv_heads, ff;
    int T;                /* tokens per sample (the window) */
    float theta, eps;     /* RoPE base, RMSNorm epsilon */
} fr_lm_arch;

/* Builds an untrained model into an initialised m (m->g empty): weights N(0, 0.02), the
 * residual-writing projections (attn_output, ffn_down) scaled by 1/sqrt(2 layers) as GPT-2
 * does, norms 1.  Fills m->meta (input T x 1 x 1, mean 0, std 1, n_classes 0).  FR_EINPUT when
 * the shape is inconsistent (d % heads, heads % kv_heads, odd head dim). */
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

/* `count` windows of T bytes as a uint8 dataset (T x 1 x 1, no labels): consecutive and
 * non-overlapping from offset 0 when seed == 0, else at offsets drawn from the seed's stream.
 * FR_EINPUT when text is shorter than the windows need. */
int fr_lm_windows(const uint8_t *text, size_t n, int T, int count, uint64_t seed, fr_dataset *d, fr_err *e);

#endif
