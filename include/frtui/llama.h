/* llama.h — the LLaMA-family decoder as a frtui graph: what the tiny LM trainer builds and
 * what the Hugging Face importer fills with a real checkpoint's weights.
 *
 * Design note
 *   Graph: token ids (T, 1, 1) -> embedding, then per block RMSNorm -> q/k/v projections ->
 *   RoPE (rotate-half pairing, as Hugging Face's LLaMA) -> causal attention with grouped KV
 *   heads -> output projection -> residual add, RMSNorm -> gate/up -> SiLU(gate) * up -> down ->
 *   residual add; a final RMSNorm and an output head (never tied in the graph: a tied
 *   checkpoint's head is a copy of the embedding, so the two can be quantized differently).
 *   Node and tensor names follow GGUF's (token_embd, blk.N.attn_q, ..., output_norm, output).
 *   Tensors are created in a fixed order (embedding; per block attn_norm, q, k, v (each followed
 *   by its bias when qkv_bias), attn_output, ffn_norm, gate, up, down; output_norm, output) and
 *   zero-filled, norms 1; callers fill them (fr_lm_build with a seeded draw in that order, the
 *   importer from files).
 */
#ifndef FRTUI_LLAMA_H
#define FRTUI_LLAMA_H

#include "frtui/graph.h"

typedef struct fr_lm_arch {
    int vocab;            /* 256 for byte-level */
    int d, layers, heads, kv_heads, ff;
    int T;                /* tokens per sample (the window) */
    float theta, eps;     /* RoPE base, RMSNorm epsilon */
    int head_dim;         /* 0 = d / heads */
    int qkv_bias;         /* q, k and v projections carry biases (Qwen2) */
} fr_lm_arch;

/* Head size of a. */
static inline int fr_lm_head_dim(const fr_lm_arch *a) { return a->head_dim > 0 ? a->head_dim : a->d / (a->heads > 0 ? a->heads : 1); }

/* Builds the graph into an initialised m (m->g empty) and fills m->meta's input (T x 1 x 1,
 * mean 0, std 1, n_classes 0).  FR_EINPUT when the shape is inconsistent (d % heads without a
 * head_dim, heads % kv_heads, odd head size, theta <= 1, eps <= 0). */
int fr_llama_graph(fr_model *m, const fr_lm_arch *a, fr_err *e);

#endif
