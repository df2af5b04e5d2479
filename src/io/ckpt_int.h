/* ckpt_int.h — what the .frc writer (ckpt.c) and loader (ckpt_load.c) share: frame types and
 * limits of the layout described in ckpt.c's header comment.  Internal to src/. */
#ifndef FRTUI_CKPT_INT_H
#define FRTUI_CKPT_INT_H

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the .frc code reads and writes native little-endian values"
#endif

enum { FT_META = 1, FT_UNIT = 2, FT_ACTQ = 3, FT_END = 4, FT_HIST = 5, FT_BEST = 6 };
#define FLAG_ZSTD_CHECKSUM 1u
#define MAX_FRAMES (1u << 20)
#define HIST_MAX_EVERY (1 << 24)   /* largest recording interval a HIST frame may declare */

#endif
