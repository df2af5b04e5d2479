/* qgrid.h — initial step / zero-point search for weight and activation grids (src/quant/qgrid.c). */
#ifndef FRTUI_QGRID_H
#define FRTUI_QGRID_H

#include <stddef.h>

/* Smallest step a grid may have: a zero or negative step would collapse or invert it. */
#define FR_QSTEP_FLOOR 1e-8f

/* Symmetric signed grid of `bits` over w[m]: returns the step.  init is FR_QINIT_MSE (80
 * shrinking candidates, best L2.4 error) or FR_QINIT_MINMAX (the full range). */
float fr_qgrid_sym(const float *w, size_t m, int bits, int init);
/* Asymmetric grid (range always includes 0): returns the step, *zp_out the zero point, an
 * integer in [0, 2^bits - 1]. */
float fr_qgrid_asym(const float *w, size_t m, int bits, int init, float *zp_out);

#endif
