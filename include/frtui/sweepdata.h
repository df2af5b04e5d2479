/* sweepdata.h — a sweep folder's points as rows: what `frtui sweep-report` tabulates and the
 * inspector's sweep view (sweepview.h) shows, read from the files the sweep writes.
 *
 * Design note
 *   Reads only files (DIR/sweep.json, the grid's point names, so points not started yet are
 *   listed as pending; DIR/points/NAME/point.json, report.json, run.frc, run.txt; cli_sweep.c
 *   says when each appears), so it works on a finished sweep, on the merge step of a Slurm
 *   array and on a sweep that is still running: it is polled by the sweep view.  A row owns
 *   no pointers; the array is one allocation (fr_sweepdata_free).  Rows are sorted by
 *   parameters (plot group, then method, bits, seed), never by directory order.
 */
#ifndef FRTUI_SWEEPDATA_H
#define FRTUI_SWEEPDATA_H

#include "frtui/common.h"
#include "frtui/sweeprows.h"

/* Every point of DIR (a folder with points/): *rows (free with fr_sweepdata_free) and *n,
 * sorted.  FR_EINPUT with one line when DIR has no points/ folder; unreadable points are left
 * out (a point.json being written appears on the next call). */
int fr_sweepdata_load(const char *dir, fr_sweep_row **rows, int *n, fr_err *e);
void fr_sweepdata_free(fr_sweep_row *rows);
/* DIR looks like a sweep folder: DIR/sweep.json or DIR/points/ exists. */
int fr_sweepdata_is_sweep(const char *dir);

#endif
