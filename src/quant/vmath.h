/* vmath.h — branch-free float helpers shared by the quantizer kernels (quant.c, qgrid.c,
 * aquant.c).  Internal to src/, like ops_impl.h.
 *
 * Why not libm: expf, logf, powf and floorf are scalar calls (or, for floorf, not vectorised by
 * GCC 12 at -O2), and a call in a loop body stops the vectoriser.  These versions are plain
 * arithmetic, so the per-weight loops of FlexRound and AdaRound vectorise with them.  They are
 * static inline on purpose: each kernel gets its own copy, inlined, exactly as when they were
 * private to quant.c (the bundled samples' bits depend on the generated code).
 */
#ifndef FRTUI_VMATH_H
#define FRTUI_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* Branch-free expf (Cephes polynomial, ~1 ulp) so the per-element exp(D2) loops vectorise;
 * libm expf is a scalar call.  exp(0) == 1 exactly (FlexRound init == RTN relies on it).
 * x > 88 -> +inf and x < -87 -> 0 [I]: true expf overflows at 88.72 and goes subnormal below
 * -87.3; for a division factor both ends are already degenerate, and +inf trips the NaN/Inf
 * fallback.  NaN -> NaN. */
static inline float vexpf(float x)
{
    int big = x > 88.0f, small = x < -87.0f;
    float xc = (big | small) ? 0.0f : x;
    float n = rintf(xc * 1.44269504088896341f);
    n = n == n ? n : 0.0f;
    float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float sc;
    memcpy(&sc, &bits, sizeof sc);
    float y = p * sc;
    y = big ? INFINITY : y;
    return small ? 0.0f : y;
}

/* Branch-free logf (Cephes polynomial, ~1 ulp) for x >= FLT_MIN; -inf below (0 included).  With
 * vexpf it gives a vectorisable x^y for the AdaRound regulariser: libm powf was a scalar call per
 * weight and made the regulariser phase ~9x slower than the rest of the step. */
static inline float vlogf(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    float fe = (float)((int32_t)(b >> 23) - 126);
    b = (b & 0x007fffffu) | 0x3f000000u;   /* mantissa in [0.5, 1) */
    float m;
    memcpy(&m, &b, sizeof m);
    int lt = m < 0.707106781186547524f;
    fe = lt ? fe - 1.0f : fe;
    m = lt ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y += fe * -2.12194440e-4f;
    y += -0.5f * z;
    float r = m + y + fe * 0.693359375f;
    return x < 1.17549435e-38f ? -INFINITY : r;
}

/* floorf(x) exactly (rintf under FE_TONEAREST, then step down when it rounded up), NaN kept:
 * GCC 12 at -O2 vectorises rintf but not floorf. */
static inline float vfloorf(float x)
{
    float r = rintf(x);
    return r > x ? r - 1.0f : r;
}

/* a^e for a in [0, 1], e > 0: exact 1 at a == 1 and 0 at a == 0 (vexpf(-inf) == 0). */
static inline float vpow01(float a, float e) { return vexpf(e * vlogf(a)); }

/* 1 iff x is Inf/NaN, in integer arithmetic (a float compare here becomes control flow that
 * blocks vectorisation): the exponent field is all ones iff adding one exponent ulp carries
 * into bit 31. */
static inline uint32_t nonfinite_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return ((b & 0x7f800000u) + 0x00800000u) >> 31;
}

#endif
