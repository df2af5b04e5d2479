/* conv_impl.h — what the two halves of the convolution module share (conv.c: shapes, im2col
 * and the GEMM paths, the public entry points; conv_dw.c: the direct depthwise kernels).  Not a
 * public API: include/frtui/conv.h is. */
#ifndef FRTUI_CONV_IMPL_H
#define FRTUI_CONV_IMPL_H

#include <stddef.h>

#include "frtui/conv.h"

/* Outputs o in [*lo, *hi) whose tap o*stride + off lands inside [0, n). */
static inline void tap_range(int off, int stride, int n, int on, int *lo, int *hi)
{
    int l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int h = (n - 1 - off) < 0 ? 0 : (n - 1 - off) / stride + 1;
    if (l > on) l = on;
    if (h > on) h = on;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* The depthwise shapes the direct kernels take (groups == c == o, no cropping padding). */
int fr_dw_flat(const fr_conv_shape *s);
/* Floats of scratch one part of a depthwise region uses. */
size_t fr_dw_part_floats(const fr_conv_shape *s);
/* Channels [c0, c1) of all samples, in a part's scratch slice. */
void fr_dw_forward(const fr_conv_shape *s, const float *x, const float *Wt, const float *b, float *y, float *scratch,
                   int c0, int c1);
void fr_dw_backward(const fr_conv_shape *s, const float *x, const float *Wt, const float *dy, float *dx, float *dW,
                    float *db, float *scratch, int c0, int c1);

#endif
