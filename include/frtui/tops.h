/* tops.h — transformer kernels, forward and backward (issue 16, item 1): normalisations, softmax,
 * GELU / SiLU / SwiGLU, rotary embedding, causal attention with grouped KV heads, token
 * embedding, batched matmul.  Implementation: src/engine/tops.c.
 *
 * Layout: a sequence is row-major [T, d] (token t's features contiguous), a batch of sequences
 * is [B, T, d] = B*T rows.  Attention's q is [T, n_head * hd] and k, v are [T, n_kv * hd] (head h
 * at columns h*hd .. h*hd+hd-1), the layout of a fused QKV projection's output and of Hugging
 * Face's q_proj / k_proj / v_proj.
 *
 * Contract (as ops.h): every output buffer is overwritten, never accumulated into, and every
 * element of it is written; kernels are re-entrant and split their work into frtui's parts
 * (par.h); sums over rows or tokens run in an order fixed by the shapes (in double where they
 * are reductions), so results are deterministic and do not depend on the thread count.
 */
#ifndef FRTUI_TOPS_H
#define FRTUI_TOPS_H

#include <stddef.h>
#include <stdint.h>

/* ---- normalisations ---------------------------------------------------------------------- */

/* y = (x - mean) * rstd * gamma + beta per row; mean and rstd (rows floats each) are kept for
 * the backward.  beta may be NULL (no shift). */
void fr_layernorm_forward(int rows, int d, const float *x, const float *gamma, const float *beta, float eps,
                          float *y, float *mean, float *rstd);
/* dx (may be NULL), dgamma, dbeta (may be NULL) from the forward's x, mean, rstd. */
void fr_layernorm_backward(int rows, int d, const float *x, const float *gamma, const float *mean,
                           const float *rstd, const float *dy, float *dx, float *dgamma, float *dbeta);

/* RMSNorm (LLaMA): y = x * rstd * gamma, rstd = 1 / sqrt(mean(x^2) + eps). */
void fr_rmsnorm_forward(int rows, int d, const float *x, const float *gamma, float eps, float *y, float *rstd);
void fr_rmsnorm_backward(int rows, int d, const float *x, const float *gamma, const float *rstd, const float *dy,
                         float *dx, float *dgamma);

/* ---- softmax along the last axis --------------------------------------------------------- */

void fr_softmax_rows_forward(int rows, int d, const float *x, float *y);
/* From the forward's output y. */
void fr_softmax_rows_backward(int rows, int d, const float *y, const float *dy, float *dx);

/* ---- element-wise activations ------------------------------------------------------------- */

typedef enum { FR_GELU_ERF = 0, FR_GELU_TANH = 1 } fr_gelu_form;
void fr_gelu_forward(size_t count, fr_gelu_form form, const float *x, float *y);
void fr_gelu_backward(size_t count, fr_gelu_form form, const float *x, const float *dy, float *dx);
/* SiLU: y = x * sigmoid(x). */
void fr_silu_forward(size_t count, const float *x, float *y);
void fr_silu_backward(size_t count, const float *x, const float *dy, float *dx);
/* SwiGLU (LLaMA's MLP): y = silu(g) * u over count values; backward writes dg and du. */
void fr_swiglu_forward(size_t count, const float *g, const float *u, float *y);
void fr_swiglu_backward(size_t count, const float *g, const float *u, const float *dy, float *dg, float *du);

/* ---- rotary position embedding ----------------------------------------------------------- */

/* x: [T, n_head * hd], hd even; token t is at position pos0 + t.  The "rotate half" pairing of
 * Hugging Face's LLaMA (feature i with i + hd/2 of each head), frequencies theta^(-2i/hd).
 * In place is allowed (y == x).  The backward is the inverse rotation: same call with
 * inverse = 1 on dy. */
void fr_rope(int T, int n_head, int hd, int pos0, float theta, int inverse, const float *x, float *y);

/* ---- causal scaled-dot-product attention -------------------------------------------------- */

/* y[t] = softmax_s<=t(q_h[t] . k_g[s] * scale) v_g[s] for every head h, g = h / (n_head / n_kv)
 * (grouped KV heads; n_kv == n_head is multi-head attention).  lse: [n_head, T], the log-sum-exp
 * of each score row, kept for the backward.  work: fr_attention_work(T) floats, sized for the
 * current part count (fr_par_threads: heads run in parallel parts, one head's T x T scores per
 * part at a time; nothing else quadratic is materialised). */
size_t fr_attention_work(int T);
void fr_attention_forward(int T, int n_head, int n_kv, int hd, float scale, const float *q, const float *k,
                          const float *v, float *y, float *lse, float *work);
/* dq, dk, dv (each may be NULL) from the forward's q, k, v, y and lse; the probabilities are
 * recomputed head by head from lse.  dk and dv sum over the query heads sharing a KV head, in
 * head order. */
void fr_attention_backward(int T, int n_head, int n_kv, int hd, float scale, const float *q, const float *k,
                           const float *v, const float *y, const float *lse, const float *dy, float *dq, float *dk,
                           float *dv, float *work);

/* ---- token embedding ---------------------------------------------------------------------- */

/* y[t] = table[ids[t]] ([vocab, d]); ids are checked by the caller (0 <= id < vocab). */
void fr_embedding_forward(int T, int d, const int32_t *ids, const float *table, float *y);
/* dtable ([vocab, d]) = the sum of dy rows per id, tokens in order; rows of unused ids are 0. */
void fr_embedding_backward(int T, int vocab, int d, const int32_t *ids, const float *dy, float *dtable);

/* ---- language-model loss ------------------------------------------------------------------ */

/* Mean cross-entropy of next-token prediction over rows: row r's logits ([rows, vocab]) predict
 * target[r] (the caller shifts: logits of token t, target = token t+1; a target < 0 is ignored,
 * e.g. the last position).  Returns the mean over counted rows in nats (0 when none) and, when
 * dlogits != NULL, writes its gradient (softmax - onehot) / counted.  *counted may be NULL. */
double fr_lm_xent(int rows, int vocab, const float *logits, const int32_t *target, float *dlogits, int *counted);

/* ---- batched matmul ----------------------------------------------------------------------- */

/* Y[b] = A[b] (m x k) * B[b] (k x n), all row-major, for b < batch; B may be shared by every
 * batch entry (b_shared, ONNX's broadcast of a 2-D weight). */
void fr_bmm_forward(int batch, int m, int k, int n, const float *A, const float *B, int b_shared, float *Y);
/* dA = dY B^T, dB = A^T dY (summed over the batch, in order, when B is shared); either may be NULL. */
void fr_bmm_backward(int batch, int m, int k, int n, const float *A, const float *B, int b_shared, const float *dY,
                     float *dA, float *dB);

#endif
