/* sweepview.h — the inspector's sweep view (`frtui DIR`): a table of a sweep's points and its
 * plots, rendered into a cell grid like every other view (tui.c draws it, --dump-screen prints
 * it, tests read it).
 *
 * Design note
 *   Pure: state + rows (sweeprows.h) -> cells, and state + key -> action.  The caller owns the
 *   rows and re-reads them from the folder (every second in the terminal); fr_sweepview_sync
 *   then keeps the selection on the same point by name, so points appearing or finishing do
 *   not move the cursor to another run.  Opening a point is an action returned to the caller
 *   (tui.c), which owns the terminal; nothing here touches files.
 */
#ifndef FRTUI_SWEEPVIEW_H
#define FRTUI_SWEEPVIEW_H

#include "frtui/canvas.h"
#include "frtui/sweeprows.h"

typedef struct fr_sweepview {
    char dir[1024];           /* shown in the title */
    int sel, top;             /* selected row, first row shown */
    char sel_name[256];       /* the selected point's name (kept across re-reads) */
    int help;                 /* key help shown */
    int page;                 /* table rows that fit (from the last render; paging) */
    char msg[200];            /* one-line message in the footer */
} fr_sweepview;

enum { FR_SWV_NONE = 0, FR_SWV_QUIT, FR_SWV_OPEN, FR_SWV_RELOAD };

void fr_sweepview_init(fr_sweepview *v, const char *dir);
/* After a re-read: the selection follows its point's name (or stays in range). */
void fr_sweepview_sync(fr_sweepview *v, const fr_sweep_row *rs, int n);
/* One key (keymap.h codes, FR_CTX_SWEEP): returns FR_SWV_*; OPEN means open rs[v->sel]. */
int fr_sweepview_key(fr_sweepview *v, const fr_sweep_row *rs, int n, int key);
/* The whole frame: title, table, the plots of the selected point's group, footer. */
void fr_sweepview_render(fr_sweepview *v, const fr_sweep_row *rs, int n, fr_canvas *c);

#endif
