/* layout.c — pure panel geometry (layout.h).
 *
 * Design note
 *   Rows: header (1) / body / optional equation strip (5) / optional explain box (5; 7 beside
 *   the strip) / status line (1) / function bar (1).  Each optional box lets the body shrink
 *   by 2 rows below the minimum, so 80x27 fits one of them and 80x32 both.
 *   Body: unit list on the left; on the right a top band (loss curve + stats) and a bottom
 *   band whose content depends on the mode (main: heatmap | scatter over histograms; compare:
 *   three method columns; reciprocal rule and channel view: one wide panel).  Proportions are clamped so
 *   the plots get the space as the terminal grows, while lists and stats stay readable.
 */
#include "frtui/layout.h"

#include <string.h>

#include "frtui/common.h"

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

int fr_rect_contains(fr_rect o, fr_rect i)
{
    return i.x >= o.x && i.y >= o.y && i.x + i.w <= o.x + o.w && i.y + i.h <= o.y + o.h;
}

int fr_rect_overlaps(fr_rect a, fr_rect b)
{
    if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0) return 0;
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

fr_rect fr_rect_inner(fr_rect r)
{
    fr_rect i = {r.x + 1, r.y + 1, r.w - 2, r.h - 2};
    if (i.w < 0) i.w = 0;
    if (i.h < 0) i.h = 0;
    return i;
}

int fr_layout_compute(int cols, int rows, const fr_layout_req *q, fr_layout *L)
{
    memset(L, 0, sizeof *L);
    /* beside the strip the explain box says what each factor is: two more lines */
    int eqn_h = q->equation ? FR_LAYOUT_EQN_H : 0, explain_h = q->explain ? (eqn_h && q->explain == 1 ? 7 : 5) : 0;
    L->need_w = FR_LAYOUT_MIN_W;
    L->need_h = FR_LAYOUT_MIN_H + (explain_h ? explain_h - 2 : 0) + (eqn_h ? eqn_h - 2 : 0);
    if (cols < L->need_w || rows < L->need_h) return 0;
    L->ok = 1;
    L->r[FR_L_HEADER] = (fr_rect){0, 0, cols, 1};
    L->r[FR_L_BAR] = (fr_rect){0, rows - 1, cols, 1};
    L->r[FR_L_STATUS] = (fr_rect){0, rows - 2, cols, 1};
    int body_y = 1, body_h = rows - 3 - explain_h - eqn_h;
    if (explain_h) L->r[FR_L_EXPLAIN] = (fr_rect){0, rows - 2 - explain_h, cols, explain_h};
    if (eqn_h) L->r[FR_L_EQN] = (fr_rect){0, rows - 2 - explain_h - eqn_h, cols, eqn_h};
    if (q->expanded >= FR_L_LIST && q->expanded <= FR_L_CMP2) {
        L->r[q->expanded] = (fr_rect){0, body_y, cols, body_h};
        return 1;
    }
    int lw = clampi(cols * 27 / 100, 30, 46);
    L->r[FR_L_LIST] = (fr_rect){0, body_y, lw, body_h};
    int rx = lw, rw = cols - lw;
    int th = clampi(body_h * 34 / 100, 7, 16);
    int sw = clampi(rw * 36 / 100, 30, 46);
    L->r[FR_L_LOSS] = (fr_rect){rx, body_y, rw - sw, th};
    L->r[FR_L_STATS] = (fr_rect){rx + rw - sw, body_y, sw, th};
    int by = body_y + th, bh = body_h - th;
    switch (q->mode) {
    case FR_MODE_COMPARE: {
        int w0 = rw / 3, w1 = rw / 3, w2 = rw - w0 - w1;
        L->r[FR_L_CMP0] = (fr_rect){rx, by, w0, bh};
        L->r[FR_L_CMP1] = (fr_rect){rx + w0, by, w1, bh};
        L->r[FR_L_CMP2] = (fr_rect){rx + w0 + w1, by, w2, bh};
        break;
    }
    case FR_MODE_RECIP:
    case FR_MODE_CHAN:
        L->r[FR_L_SCATTER] = (fr_rect){rx, by, rw, bh};
        break;
    default: {
        int hw = rw / 2;
        L->r[FR_L_HEAT] = (fr_rect){rx, by, hw, bh};
        int sh = clampi(bh * 55 / 100, 6, bh - 5);
        L->r[FR_L_SCATTER] = (fr_rect){rx + hw, by, rw - hw, sh};
        L->r[FR_L_HIST] = (fr_rect){rx + hw, by + sh, rw - hw, bh - sh};
        break;
    }
    }
    return 1;
}
