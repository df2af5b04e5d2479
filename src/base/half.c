/* half.c — binary16 / bfloat16 conversions; see include/frtui/half.h.  Bit manipulation, not
 * the compiler's _Float16, so the result is the same with any compiler and flag set. */
#include "frtui/half.h"

#include <math.h>
#include <string.h>

uint16_t fr_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t s = (u >> 16) & 0x8000, e = (u >> 23) & 0xff, m = u & 0x7fffff;
    if (e == 0xff) return (uint16_t)(s | 0x7c00 | (m ? 0x200 : 0));
    int ex = (int)e - 127 + 15;
    if (ex >= 31) return (uint16_t)(s | 0x7c00);
    if (ex <= 0) {   /* subnormal half: shift the full significand, round half to even */
        if (ex < -10) return (uint16_t)s;
        m |= 0x800000;
        int shift = 14 - ex;
        uint32_t hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (hm & 1))) hm++;
        return (uint16_t)(s | hm);
    }
    uint32_t hm = m >> 13, rem = m & 0x1fff;
    uint32_t h = s | ((uint32_t)ex << 10) | hm;
    /* a carry out of the significand correctly bumps the exponent (and reaches inf at the top) */
    if (rem > 0x1000 || (rem == 0x1000 && (hm & 1))) h++;
    return (uint16_t)h;
}

float fr_f16_to_f32(uint16_t h)
{
    int s = h >> 15, ex = (h >> 10) & 31, m = h & 1023;
    float v;
    if (ex == 0) v = ldexpf((float)m, -24);
    else if (ex == 31) v = m ? NAN : INFINITY;
    else v = ldexpf((float)(m | 1024), ex - 25);
    return s ? -v : v;
}

float fr_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
