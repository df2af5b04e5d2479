/* export_gguf.h — a LLaMA-shaped language model as a GGUF file llama.cpp runs.
 *
 * Design note
 *   The graph is matched by structure, not by names: token embedding, then blocks of
 *   RMSNorm -> q/k/v projections -> RoPE on q and k -> causal attention (grouped KV heads
 *   allowed) -> output projection -> residual add -> RMSNorm -> SwiGLU (SiLU(gate) * up) ->
 *   down projection -> residual add, then RMSNorm and the LM head.  Anything else (a CNN, a
 *   GELU MLP, LayerNorm, a tensor read by two paths) is refused with the node that broke the
 *   match, so a file is never written that llama.cpp would compute differently.  Tensors get
 *   llama.cpp's names (token_embd, blk.N.attn_q, ..., output) and q/k rows are permuted from
 *   frtui's rotate-half RoPE pairing (i, i + hd/2) to llama.cpp's adjacent pairing (2i, 2i+1).
 *
 *   Quantized layers are written from their integer codes, not re-quantized: a 32-weight block
 *   lies inside one frtui scale group whenever the group length is a multiple of 32 (per
 *   tensor, per channel with in % 32 == 0, --group-size 32/64/128...), so
 *     symmetric, bits <= 4:   Q4_0, q = code + 8, d = s1         (w = d (q - 8))
 *     asymmetric, bits <= 4:  Q4_1, q = code, d = s1, m = -s1 zp  (w = d q + m)
 *     symmetric, bits <= 8:   Q8_0, q = code, d = s1             (w = d q)
 *     asymmetric, 5..8 bits:  Q8_0 with q = code - zp when every block's codes fit an int8
 *   The codes are exact; d and m are rounded to fp16, the only loss (reported per tensor as
 *   the largest |w_gguf - w_frtui|).  Everything else — a grid no block fits, unfinished or full-
 *   precision layers, the embedding, the norms — is written F32, exactly frtui's values.
 *   Activation quantizers have no GGUF form (llama.cpp quantizes activations its own way).
 *
 *   Tokenizer: a vocabulary of 256 is taken as frtui's byte-level convention and written as
 *   llama.cpp's byte-trie tokenizer ("rwkv": 256 tokens "\xNN", matched on raw bytes, no BOS),
 *   so llama.cpp turns any text into exactly the byte ids frtui trained on; any other
 *   vocabulary is written as tokenizer "none" with its size (token ids in, logits out).
 */
#ifndef FRTUI_EXPORT_GGUF_H
#define FRTUI_EXPORT_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/graph.h"
#include "frtui/gguf.h"

/* The integer codes of one quantized LINEAR node of the graph being exported. */
typedef struct fr_gguf_qlayer {
    int node;
    int bits, symmetric;
    int ns1;                 /* 1 (per tensor), rows (per channel) or rows * groups per row */
    const float *s1, *zp;    /* [ns1] */
    const int32_t *code;     /* [rows * cols] stored codes c + zp */
} fr_gguf_qlayer;

typedef struct fr_gguf_tinfo {
    char name[FR_NAME_MAX + 16];
    fr_ggml_type type;
    int bits;                /* 0 = full precision */
    double max_err, max_abs; /* largest |w_gguf - w_frtui| and largest |w_frtui| */
    char why[96];            /* why a quantized layer was written F32 ("" otherwise) */
} fr_gguf_tinfo;

typedef struct fr_gguf_report {
    int n;
    fr_gguf_tinfo *t;        /* owned */
    int blocks, vocab, byte_vocab;
    size_t bytes;
} fr_gguf_report;

/* Extra metadata written under "frtui.*" (may be all NULL). */
typedef struct fr_gguf_meta {
    const char *method, *granularity;
    int bits, act_bits;
} fr_gguf_meta;

/* Encodes g (its weights: frtui's dequantised values for quantized layers, else full
 * precision) with the codes of ql[0..nql).  FR_EINPUT when g is not LLaMA-shaped. */
int fr_gguf_encode_llama(const fr_graph *g, const fr_meta *meta, const fr_gguf_qlayer *ql, int nql,
                         const fr_gguf_meta *gm, uint8_t **out, size_t *out_n, fr_gguf_report *rep, fr_err *e);
void fr_gguf_report_free(fr_gguf_report *r);

#endif
