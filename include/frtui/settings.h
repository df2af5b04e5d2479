/* settings.h — the inspector's persistent settings (issue 18 §6): a small `key = value` file.
 *
 * Design note
 *   Where: $FRTUI_CONFIG when set (tests and scripts point it at a temp file), else
 *   $XDG_CONFIG_HOME/frtui/config, else $HOME/.config/frtui/config.  Read once when the
 *   inspector starts; written by the settings screen (F2 or `,`) and when the first-run tour
 *   has been shown (tour_done), always through fr_atomic_* (temp file + fsync + rename), so an
 *   interrupted write leaves the old file.  `--dump-screen` never reads it: headless frames
 *   stay a function of the snapshot and the key script.
 *
 *   The file is user input.  Blank lines and `#` comments are skipped; every other line must be
 *   `key = value` with a known key and a valid value.  A bad line is skipped (that setting keeps
 *   its default) and reported as "PATH:LINE: what is wrong"; the other lines still apply, so a
 *   typo never stops the inspector from starting.  Pure data and text here: no curses, no UI.
 */
#ifndef FRTUI_SETTINGS_H
#define FRTUI_SETTINGS_H

#include <stddef.h>

#include "frtui/common.h"

/* Orders of the unit list (`O` cycles them; the list shows the sorted quantity). */
typedef enum { FR_SORT_RUN = 0, FR_SORT_LOSS, FR_SORT_VS_RTN, FR_SORT_AGGR, FR_SORT_CLIP, FR_SORT__COUNT } fr_sort;

typedef struct fr_settings {
    char palette[16];        /* "dark" | "light" */
    double smooth;           /* loss EMA smoothing in [0, FR_SMOOTH_MAX] */
    int explain;             /* start with the explain panel open */
    int equation;            /* start with the equation strip open */
    int focus;               /* fr_lpanel focused at start: list, loss, stats, heatmap, scatter, hist */
    int expanded;            /* -1, or the fr_lpanel expanded at start */
    int heat_qty;            /* fr_heat_qty (view.h) */
    int scatter_abs;         /* scatter x = |W| (1) or signed W (0) */
    int loss_logy;           /* log y axis on the loss panel */
    int sort;                /* fr_sort */
    int mouse;               /* mouse reporting on (the --no-mouse flag still wins) */
    int tour_done;           /* the first-run tour has been shown */
} fr_settings;

enum { FR_SETTINGS_MAX_BYTES = 64 * 1024 };

void fr_settings_default(fr_settings *s);

/* Parses a config file's text over *s (which holds the defaults or earlier values).  Every
 * good line applies; bad lines are skipped.  Returns FR_OK, or FR_EINPUT with e naming
 * "path:line: problem" for the first bad line ("(and N more)" when there are several). */
int fr_settings_parse(fr_settings *s, const char *text, size_t n, const char *path, fr_err *e);
/* The file's text for *s (a commented header, then one line per key).  Returns the length,
 * truncated like snprintf. */
size_t fr_settings_format(const fr_settings *s, char *buf, size_t n);

/* The config path per the rules above into buf.  Returns 0 when none can be formed (no
 * FRTUI_CONFIG, XDG_CONFIG_HOME or HOME). */
int fr_settings_path(char *buf, size_t n);
/* Defaults, then the file at path when it exists.  A missing file is FR_OK (first start:
 * *existed = 0).  Unreadable or malformed: FR_EINPUT/FR_EIO with e naming the file; *s then
 * holds the defaults plus the lines that were good. */
int fr_settings_load(fr_settings *s, const char *path, int *existed, fr_err *e);
/* Writes *s to path atomically, creating the parent directory (one level, mode 0700) if it
 * is missing.  An existing file keeps its comments, blank lines, unknown lines and order: only
 * the lines of known keys change (keys it lacks are appended). */
int fr_settings_save(const fr_settings *s, const char *path, fr_err *e);

/* Names used in the file and on the settings screen. */
const char *fr_sort_name(int sort);          /* "run", "loss", "vs-rtn", "aggressive", "clipped" */
const char *fr_settings_panel_name(int p);   /* "units", "loss", "stats", "heatmap", "scatter", "hist"; "none" */
const char *fr_settings_heat_name(int q);    /* "s2", "s2s3s4", "shift", "h" */

#endif
