/* ops.h — float32 operator kernels, forward and backward, on raw NCHW buffers.
 *
 * Design note
 *   Kernels are pure functions of their arguments: no allocation, no global state, no
 *   knowledge of graphs or quantization.  Scratch memory (im2col columns) is passed in by the
 *   caller, who sizes it with the *_scratch() helpers once and reuses it every iteration — the
 *   reconstruction loop calls these thousands of times.
 *
 *   Backward conventions: every backward takes dy (gradient w.r.t. the output) and writes
 *   dx (gradient w.r.t. the input; may be NULL when not needed).  Weight/bias gradients are
 *   *overwritten*, not accumulated, unless the function name says _acc.
 *   Shapes: x [N, C, H, W]; conv W [O, C/groups, kh, kw]; linear W [O, I] with x [N, I].
 *   Heavy parts go through OpenBLAS (cblas_sgemm); depthwise convolutions use a direct kernel.
 *   Elementwise kernels (activations, BN, binary ops) may run in place (y == x, dx == dy).
 */
#ifndef FRTUI_OPS_H
#define FRTUI_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/conv.h"

/* Linear: y[N,O] = x[N,I] W^T + b  (b may be NULL; in backward dx, dW, db may each be NULL) */
void fr_linear_forward(int n, int in, int out, const float *x, const float *W, const float *b, float *y);
/* Rows [slice0, slice0 + n) of a batch of slice_of (x and y hold the slice only), cut into the
 * whole batch's row chunks so the rows are bit for bit those of the whole batch; the slice ends
 * must be chunk ends (quarters floor(slice_of * j / 4) are).  slice_of 0: fr_linear_forward. */
void fr_linear_forward_slice(int n, int slice_of, int slice0, int in, int out, const float *x, const float *W,
                             const float *b, float *y);
/* The same per token: n samples (of a batch of slice_of when slicing) of `tokens` rows each, the
 * rows of a sample never split between chunks, so slices at sample boundaries keep the bits. */
void fr_linear_forward_tokens(int n, int tokens, int slice_of, int slice0, int in, int out, const float *x,
                              const float *W, const float *b, float *y);
void fr_linear_backward(int n, int in, int out, const float *x, const float *W, const float *dy,
                        float *dx, float *dW, float *db);

/* Elementwise activations over `count` values.  Backward uses the forward *input* x. */
void fr_relu_forward(size_t count, const float *x, float *y);
void fr_relu_backward(size_t count, const float *x, const float *dy, float *dx);
/* relu6 == clip(0, 6): gradient passes on the closed [0, 6] like torch.clamp / ONNX Clip
 * (F.relu6 / hardtanh use the open interval; the two differ only at exactly 0 and 6). */
void fr_relu6_forward(size_t count, const float *x, float *y);
void fr_relu6_backward(size_t count, const float *x, const float *dy, float *dx);
/* Clip to [lo, hi]; gradient passes where lo <= x <= hi (torch.clamp semantics). */
void fr_clip_forward(size_t count, const float *x, float lo, float hi, float *y);
void fr_clip_backward(size_t count, const float *x, float lo, float hi, const float *dy, float *dx);
void fr_sigmoid_forward(size_t count, const float *x, float *y);
void fr_sigmoid_backward(size_t count, const float *y, const float *dy, float *dx); /* uses output y */
/* hardsigmoid gradient is alpha where 0 < alpha*x+beta < 1 (open, like PyTorch); hardswish
 * follows PyTorch's hardswish_backward (x/3 + 1/2 on the closed [-3, 3]). */
void fr_hardsigmoid_forward(size_t count, const float *x, float alpha, float beta, float *y);
void fr_hardsigmoid_backward(size_t count, const float *x, float alpha, float beta, const float *dy, float *dx);
void fr_hardswish_forward(size_t count, const float *x, float *y);
void fr_hardswish_backward(size_t count, const float *x, const float *dy, float *dx);

/* Pooling over [N, C, H, W] -> [N, C, oh, ow].  fr_pool_shape reuses fr_conv_shape with
 * o == c, groups == c and dilation 1.  Max-pool backward routes to the first max (PyTorch). */
void fr_maxpool_forward(const fr_conv_shape *s, const float *x, float *y);
void fr_maxpool_backward(const fr_conv_shape *s, const float *x, const float *dy, float *dx);
void fr_avgpool_forward(const fr_conv_shape *s, int count_include_pad, const float *x, float *y);
void fr_avgpool_backward(const fr_conv_shape *s, int count_include_pad, const float *dy, float *dx);
/* Avg-pool divisor: count_include_pad ? taps inside the padded extent [-pt, H+pb) x [-pl, W+pr)
 * (PyTorch's rule) : taps inside the input (0 taps -> output 0).  Dilation is honoured by both
 * pools, so any valid conv shape works. */
/* Global average pool: [N, C, HW] -> [N, C]. */
void fr_gap_forward(int n, int c, int hw, const float *x, float *y);
void fr_gap_backward(int n, int c, int hw, const float *dy, float *dx);

/* BatchNorm inference form: y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel.
 * In all BN functions gamma == NULL means 1 and beta == NULL means 0. */
void fr_bn_infer_forward(int n, int c, int hw, const float *x, const float *gamma, const float *beta,
                         const float *mean, const float *var, float eps, float *y);
/* Gradient of the inference form w.r.t. x only (running statistics are constants). */
void fr_bn_infer_backward(int n, int c, int hw, const float *gamma, const float *var, float eps,
                          const float *dy, float *dx);
/* Training form: batch statistics; writes the normalised x_hat [N,C,HW] and per-channel
 * batch mean/inv-std (for backward) and updates running mean/var with `momentum`
 * (running = (1-momentum)*running + momentum*batch, unbiased var, like PyTorch).
 * run_mean, run_var, xhat, bmean, binvstd may each be NULL; backward needs xhat and binvstd.
 * Backward: dx, dgamma, dbeta may each be NULL. */
void fr_bn_train_forward(int n, int c, int hw, const float *x, const float *gamma, const float *beta,
                         float *run_mean, float *run_var, float momentum, float eps,
                         float *y, float *xhat, float *bmean, float *binvstd);
void fr_bn_train_backward(int n, int c, int hw, const float *gamma, const float *xhat,
                          const float *binvstd, const float *dy, float *dx, float *dgamma, float *dbeta);

/* Softmax over `c` logits per row; cross-entropy mean over rows.  Returns the mean loss and
 * writes dlogits = (softmax - onehot) / n when dlogits != NULL.  Labels must be in [0, c)
 * (validated by the loader; FR_ASSERT here). */
void fr_softmax(int n, int c, const float *logits, float *prob);
float fr_softmax_xent(int n, int c, const float *logits, const int32_t *labels, float *dlogits);

/* Broadcasting binary ops on per-sample shapes: a is [N, C, H, W]; b is either the same
 * shape, [N, C, 1, 1] (squeeze-excitation), or a per-sample constant broadcast described by
 * (bc, bh, bw) with bn == 1 (shared across the batch).  Each b dim must be 1 or equal. */
/* dst[i] += src[i] (gradient accumulation at fan-out points), in fr_par parts. */
void fr_add_into(size_t count, float *dst, const float *src);
/* dst[i] = src[i] in fr_par parts: a copy into fresh memory (a calibration store) then takes
 * its page faults on every thread rather than one. */
void fr_copy(size_t count, float *dst, const float *src);
/* dst[i] = 0 in fr_par parts, for the same reason (an executor's fresh buffers). */
void fr_zero(size_t count, float *dst);

typedef enum { FR_BIN_ADD, FR_BIN_SUB, FR_BIN_MUL, FR_BIN_DIV } fr_binop;
void fr_binary_forward(fr_binop op, int n, int c, int h, int w, const float *a,
                       int bn, int bc, int bh, int bw, const float *b, float *y);
/* da / db may be NULL.  db is reduced over broadcast dims (overwritten). */
void fr_binary_backward(fr_binop op, int n, int c, int h, int w, const float *a,
                        int bn, int bc, int bh, int bw, const float *b, const float *dy,
                        float *da, float *db);

/* Zero padding of H/W.  Negative pads crop (ONNX Pad); the output must stay non-empty. */
void fr_pad_forward(int n, int c, int h, int w, int pt, int pl, int pb, int pr, const float *x, float *y);
void fr_pad_backward(int n, int c, int h, int w, int pt, int pl, int pb, int pr, const float *dy, float *dx);
/* Per-sample permutation of (C, H, W) by perm (a permutation of {0,1,2}). */
void fr_transpose_forward(int n, int c, int h, int w, const int perm[3], const float *x, float *y);
void fr_transpose_backward(int n, int c, int h, int w, const int perm[3], const float *dy, float *dx);


#endif
