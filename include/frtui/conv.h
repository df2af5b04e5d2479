/* conv.h — 2-D convolution kernels (src/engine/conv.c), forward and backward, on NCHW float32.
 *
 * Same conventions as ops.h: pure functions, caller-owned buffers and scratch, weight/bias
 * gradients overwritten.  x [N, C, H, W], W [O, C/groups, kh, kw], y [N, O, oh, ow].
 */
#ifndef FRTUI_CONV_H
#define FRTUI_CONV_H

#include <stddef.h>

typedef struct fr_conv_shape {
    int n, c, h, w;       /* input */
    int o, kh, kw;        /* output channels, kernel */
    int sh, sw;           /* stride */
    int pt, pl, pb, pr;   /* padding */
    int dh, dw;           /* dilation */
    int groups;
    int oh, ow;           /* output spatial size; fill with fr_conv_out_shape */
    /* Slice of a larger batch (forward only; 0 = none): the call computes samples
     * [slice0, slice0 + n) of a batch of slice_of samples, cut into that batch's chunks, so its
     * outputs are bit for bit those the whole batch would give (x and y hold the slice only).
     * The slice must be a union of whole chunks; the quarters floor(slice_of * j / 4) always
     * bound whole chunks (chunk counts are multiples of 4, or one sample each). */
    int slice_of, slice0;
    /* Input activation folded into a depthwise conv (exec.c's design note; depthwise only): x is
     * the activation's input, the conv convolves act(x), and backward's dx is the gradient with
     * respect to x, bit for bit what the separate ReLU / Clip passes give (ops.c). */
    int act;                      /* FR_CONV_ACT_* */
    float act_lo, act_hi;         /* FR_CONV_ACT_CLIP bounds */
    /* Output activation folded into a depthwise conv (exec.c; depthwise only): forward also
     * writes yact = oact(y) in the same sweep; backward's dy is the gradient with respect to
     * yact and ypre holds the conv's own output y (the activation's input, for its mask), so
     * the separate ReLU / Clip passes over y disappear with the same bits. */
    int oact;                     /* FR_CONV_ACT_* */
    float oact_lo, oact_hi;
    float *yact;                  /* forward: where oact(y) goes */
    const float *ypre;            /* backward: y of the forward */
} fr_conv_shape;

enum { FR_CONV_ACT_NONE = 0, FR_CONV_ACT_RELU = 1, FR_CONV_ACT_CLIP = 2 };

/* One value through a folded activation: the comparisons of ops.c's ReLU and Clip forward (NaN
 * passes through), so the bits are those of the separate pass.  Inline so a caller's loop with
 * a constant `act` vectorises (the depthwise kernels; reconstruction's loss, exec.h's tail). */
static inline float fr_conv_act_fwd(int act, float lo, float hi, float v)
{
    if (act == FR_CONV_ACT_RELU) return v < 0.0f ? 0.0f : v;
    if (act == FR_CONV_ACT_CLIP) {
        v = v < lo ? lo : v;
        return v > hi ? hi : v;
    }
    return v;
}

/* One gradient through a folded activation's backward, given the activation's input xv: the
 * predicates of ops.c's ReLU (x > 0) and Clip (lo <= x <= hi) backward. */
static inline float fr_conv_act_bwd(int act, float lo, float hi, float xv, float d)
{
    if (act == FR_CONV_ACT_RELU) return xv > 0.0f ? d : 0.0f;
    if (act == FR_CONV_ACT_CLIP) return xv >= lo && xv <= hi ? d : 0.0f;
    return d;
}

/* Whether fr_conv_* accept s->act != FR_CONV_ACT_NONE for this shape. */
int fr_conv_can_fold_act(const fr_conv_shape *s);

/* Computes oh/ow from the other fields.  Returns 0 when the output would be empty/negative
 * (or kernel/stride/dilation < 1), nonzero otherwise. */
int fr_conv_out_shape(fr_conv_shape *s);
/* Floats of scratch that fr_conv_forward/backward need (im2col columns and GEMM staging for a
 * chunk of samples).  Never 0; non-decreasing in s->n, so size it once at the largest batch and
 * use it for any batch up to that. */
size_t fr_conv_scratch(const fr_conv_shape *s);

/* y[N,O,oh,ow] = conv(x, W) + b (b may be NULL). */
void fr_conv_forward(const fr_conv_shape *s, const float *x, const float *W, const float *b,
                     float *y, float *scratch);
/* dW [O, C/g, kh, kw] and db [O] (db may be NULL) are overwritten; dx (may be NULL) too.
 * dW may be NULL as well (then only dx/db are computed). */
void fr_conv_backward(const fr_conv_shape *s, const float *x, const float *W, const float *dy,
                      float *dx, float *dW, float *db, float *scratch);

/* Kernel choice for the non-depthwise convs.  Default (0): samples are cut into chunks that
 * depend on the shape and batch only, a chunk's samples stacked into one GEMM; results do not
 * depend on the thread count.  1: the earlier per-sample path, one contiguous sample range per
 * thread, whose dW sums depend on the thread count; the bundled samples were trained with it
 * at one thread (frtui-dev train-samples selects it, so `make samples-check` stays
 * byte-identical) and `frtui-dev bench --compare-legacy` times it against the default.
 * Process-wide; set it only while no kernel runs. */
void fr_conv_set_legacy(int on);
int fr_conv_legacy(void);
/* Depthwise outputs and input gradients of at least this many bytes per batch are written with
 * streaming stores (conv_dw.c; 32 MB by default).  Same bits either way: tests set 0 to run
 * the streaming paths on small shapes. */
void fr_conv_set_stream_bytes(size_t bytes);
size_t fr_conv_stream_bytes(void);

/* FLOPs of one conv forward (2*MACs), for benchmarks. */
double fr_conv_flops(const fr_conv_shape *s);

#endif
