/* qdefs.h — the quantizer's vocabulary, shared with everything that reads its results.
 *
 * Design note
 *   The quantizer (src/quant/) owns these definitions; the snapshot, the views, the exporters and
 *   the reports use them as they are instead of keeping copies (there used to be a second method
 *   enum bridged by casts and a second set of histogram constants).  Plain data only: enums,
 *   constants and two name functions, so including this header pulls in no engine code.
 */
#ifndef FRTUI_QDEFS_H
#define FRTUI_QDEFS_H

#include <stdint.h>

typedef enum fr_method { FR_METHOD_RTN = 0, FR_METHOD_ADAROUND = 1, FR_METHOD_FLEXROUND = 2, FR_METHOD__COUNT } fr_method;

/* "rtn", "adaround", "flexround"; "?" for out-of-range values. */
const char *fr_method_name(fr_method m);
/* Case-insensitive; -1 when unknown. */
int fr_method_from_name(const char *s);

/* Per-weight class of a quantized weight (fr_qclass in quant.h decides it; spec 4.3).
 *   INSIDE     the code is one of the two grid points nearest to W (floor or ceil of W/s1);
 *   AGGRESSIVE the code lies beyond those two points (FlexRound's "rounded further away");
 *   CLIPPED    W/s1 lies beyond a grid end (round-to-nearest would leave the grid) and the code
 *              sits at that end: the clamp decided, not the rounding.
 * Stored one byte per weight in the snapshot (fr_layer_view.cls). */
enum fr_wclass { FR_WC_INSIDE = 0, FR_WC_AGGRESSIVE = 1, FR_WC_CLIPPED = 2, FR_WC__COUNT };

/* Histogram layouts of fr_qlayer_stats, used as they are by the snapshot, TUI and PNG.
 * Rounding shift c - W/s1: FR_SHIFT_BINS equal bins over [-FR_SHIFT_RANGE, FR_SHIFT_RANGE);
 * S2 in the log domain: ln S2 = D2 over [-FR_S2_LN_RANGE, FR_S2_LN_RANGE);
 * AdaRound h(V): FR_H_BINS bins over [0, 1].  Values beyond a range go to the end bins. */
#define FR_SHIFT_BINS 64
#define FR_SHIFT_RANGE 4.0f
#define FR_S2_BINS 64
#define FR_S2_LN_RANGE 2.0f
#define FR_H_BINS 50

#endif
