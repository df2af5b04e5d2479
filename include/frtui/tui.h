/* tui.h — the interactive inspector (curses) and headless screen dumps.
 *
 * src/app/tui.c is the only file that includes curses.  It owns the terminal: locale, colours,
 * input (poll() on stdin + the worker's wake pipe), and restoring the terminal on exit, on
 * SIGINT/SIGTERM/SIGHUP, on crashes (SIGSEGV/SIGBUS/SIGABRT) and on failed FR_ASSERTs.
 * Everything it draws comes from view.h's renderer, so --dump-screen shows the same frames.
 *
 * Typical use from main.c:
 *     fr_tui_opts o;  fr_tui_opts_default(&o);  o.mouse = !no_mouse;  ...
 *     if (dump) rc = fr_dump_screen(&(fr_dump_source){.worker = w, .wait_unit = -1}, &o, cols, rows, keys, stdout, &e);
 *     else      rc = fr_tui_run(w, &o, &e);
 */
#ifndef FRTUI_TUI_H
#define FRTUI_TUI_H

#include <stdio.h>
#include "frtui/common.h"
#include "frtui/snapshot.h"
#include "frtui/plotmodel.h"

typedef struct fr_worker fr_worker;   /* worker.h; tui.c is the one that drives it */

typedef enum { FR_COLOR_AUTO = 0, FR_COLOR_ALWAYS, FR_COLOR_NEVER } fr_color_when;

/* PNG export hook for the `e` key: view is "heatmap", "scatter", "loss", "hist", "compare",
 * "reciprocal", "units" or "stats".  Returns FR_OK (msg may name the file written) or an
 * error status with msg set; either way msg is shown in the status line.  st is the panel's
 * state (zoom, smoothing, axes): the export draws the same plot model as the panel. */
typedef int (*fr_export_fn)(void *ctx, const fr_snapshot *s, int unit, int layer, const char *view,
                            const fr_plot_state *st, char *msg, size_t msg_n);

typedef struct fr_tui_opts {
    int ascii;               /* 1: ASCII glyphs only (--ascii); also automatic without a UTF-8 locale */
    fr_color_when color;     /* --color=auto|always|never; NO_COLOR is honoured unless "always" */
    int depth;               /* 0: detect (COLORTERM/TERM); else 16, 256 or 24 (--color=256 ...) */
    int mouse;               /* 0 with --no-mouse */
    int readonly;            /* replay: optimiser actions disabled and greyed */
    const char *palette;     /* "dark" or "light"; NULL: the config file's (settings.h), else dark */
    int no_settings;         /* 1: neither read nor write the config file (benchmarks): defaults, no tour */
    fr_export_fn export_fn;  /* NULL: `e` says export is unavailable */
    void *export_ctx;
    fr_snapshot *replay;     /* fr_tui_run with w == NULL shows this fixed snapshot (checkpoint
                                replay; set readonly too).  Not released by the TUI. */
} fr_tui_opts;

void fr_tui_opts_default(fr_tui_opts *o);
/* Colour depth actually used for an output (0 mono, 16, 256, 24).  is_tty: the output is a
 * terminal (auto mode prints no escapes into files and pipes). */
int fr_tui_color_depth(const fr_tui_opts *o, int is_tty);

/* Interactive inspector over a started worker (or, with w == NULL, over o->replay).  Returns FR_OK when the user quits, FR_EINPUT
 * (with a message pointing to `frtui run`) when stdin/stdout is not a terminal.  Does not
 * stop or free the worker (the caller does, after it returns). */
int fr_tui_run(fr_worker *w, const fr_tui_opts *o, fr_err *e);

/* Source of a headless dump: a live worker (optionally waited on) or a fixed snapshot. */
typedef struct fr_dump_source {
    fr_worker *worker;       /* live source; NULL to use `snapshot` */
    fr_snapshot *snapshot;   /* fixed source (replay, golden tests); not released */
    int wait_unit;           /* live: wait until this unit is done (-1: don't) */
    int wait_done;           /* live: wait until the run has finished (done/failed) */
    double timeout_s;        /* live: give up after this long (<= 0: 600 s); FR_ECANCEL then */
} fr_dump_source;

/* Renders cols x rows after applying the key script (notation: see fr_view_parse_keys in
 * view.h: plain characters, <Down> <Tab> <F1> <C-l> <Esc> <Enter> <lt> ...) and prints the
 * final frame to out, with colour escapes per o->color/o->depth.  With a live worker, keys
 * that command the optimiser are sent to it. */
int fr_dump_screen(const fr_dump_source *src, const fr_tui_opts *o, int cols, int rows, const char *keys, FILE *out,
                   fr_err *e);

/* The sweep view (sweepview.h) of the sweep folder DIR.  `open` opens a point's run.frc: with
 * dump_keys NULL interactively (fr_tui_sweep hands it the terminal and takes it back when it
 * returns), else it prints that run's --dump-screen frame after dump_keys (fr_dump_sweep, when
 * the keys open a point: the rest of the keys go to the run). */
typedef int (*fr_open_run_fn)(void *ctx, const char *frc, const char *dump_keys, fr_err *e);
int fr_tui_sweep(const char *dir, const fr_tui_opts *o, fr_open_run_fn open, void *ctx, fr_err *e);
int fr_dump_sweep(const char *dir, const fr_tui_opts *o, int cols, int rows, const char *keys, fr_open_run_fn open,
                  void *ctx, FILE *out, fr_err *e);

#endif
