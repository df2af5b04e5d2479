/* layout.h — pure screen geometry: (cols, rows, mode) -> panel rectangles.
 *
 * No state, no allocation, no curses: the same function places panels for the curses front
 * end, for --dump-screen and for tests (no overlap, containment, minimum sizes; checked over
 * many sizes in tests/test_view.c).  Panel rectangles include their borders.  A panel with
 * w == 0 is absent in the current mode.
 */
#ifndef FRTUI_LAYOUT_H
#define FRTUI_LAYOUT_H

#include "frtui/canvas.h"

#define FR_LAYOUT_MIN_W 80
#define FR_LAYOUT_MIN_H 24
#define FR_LAYOUT_EQN_H 5   /* equation strip: border + formula + factors + result */

typedef enum {
    FR_L_HEADER = 0, FR_L_LIST, FR_L_LOSS, FR_L_STATS, FR_L_HEAT, FR_L_SCATTER, FR_L_HIST,
    FR_L_CMP0, FR_L_CMP1, FR_L_CMP2, FR_L_EXPLAIN, FR_L_STATUS, FR_L_BAR,
    FR_L_EQN,          /* equation strip (E), between the body and the explain box */
    FR_L__COUNT
} fr_lpanel;

/* FR_MODE_CHAN: the channel view (W) in the bottom band, drawn in the FR_L_SCATTER rectangle
 * like the reciprocal-rule view. */
typedef enum { FR_MODE_MAIN = 0, FR_MODE_COMPARE, FR_MODE_RECIP, FR_MODE_CHAN } fr_view_mode;

typedef struct fr_layout_req {
    fr_view_mode mode;
    int expanded;      /* -1: none; else an fr_lpanel that takes the whole body */
    int explain;       /* reserve the explain panel: 1 (5 rows, 7 beside the equation strip), 2 (5 rows always) */
    int equation;      /* reserve the equation strip */
} fr_layout_req;

typedef struct fr_layout {
    int ok;                 /* 0: terminal too small; need_w x need_h is required */
    int need_w, need_h;
    fr_rect r[FR_L__COUNT];
} fr_layout;

/* Returns 1 when the layout fits, 0 (with out->need_w/need_h set) when it does not. */
int fr_layout_compute(int cols, int rows, const fr_layout_req *q, fr_layout *out);
int fr_rect_contains(fr_rect outer, fr_rect inner);
int fr_rect_overlaps(fr_rect a, fr_rect b);
fr_rect fr_rect_inner(fr_rect r);   /* inside a 1-cell border */

#endif
