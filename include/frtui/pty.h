/* pty.h — a program in a pseudo-terminal, and a small model of the screen it draws.
 *
 * Design note
 *   `frtui bench` measures the inspector the way a user meets it: a real process on a real
 *   terminal device.  fr_pty runs argv on a fresh pty (posix_openpt; the child is a session
 *   leader with the slave as its controlling terminal, stdin/stdout/stderr), and every byte
 *   the program writes is fed to fr_vt, a screen model that understands what ncurses sends for
 *   TERM=xterm-256color (cursor addressing, erase, insert/delete, scrolling regions, REP,
 *   UTF-8; colours and attributes are parsed and dropped).  "A key press is visible" then means
 *   "the screen model shows the change", not "some bytes arrived": ncurses sends only the
 *   cells that differ, so byte matching would be fragile.
 *   Reading never sleeps a fixed interval: fr_pty_pump blocks in poll() on the master, so the
 *   caller's clock advances as soon as the first byte is there.
 *   Ownership: fr_pty owns the master fd, the child and the screen; fr_pty_close reaps the
 *   child (it drains the master meanwhile, so a child blocked in write() can always exit).
 */
#ifndef FRTUI_PTY_H
#define FRTUI_PTY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "frtui/common.h"

typedef struct fr_vt {
    int cols, rows;
    uint32_t *cell;          /* rows x cols code points; 0 never appears (blank = ' ') */
    int x, y, wrap;          /* cursor; wrap = a glyph was written in the last column */
    int top, bot;            /* scrolling region, inclusive rows */
    int sx, sy;              /* saved cursor (ESC 7 / ESC 8) */
    uint32_t last;           /* last glyph written (for REP) */
    int st;                  /* parser state */
    int par[16], npar, priv; /* CSI parameters; priv = a '?' / '>' / '=' prefix was seen */
    uint32_t cp;             /* UTF-8 sequence being decoded */
    int need;
} fr_vt;

void fr_vt_init(fr_vt *v, int cols, int rows);
void fr_vt_free(fr_vt *v);
void fr_vt_feed(fr_vt *v, const void *buf, size_t n);
/* Row `row` as UTF-8 with trailing blanks removed; returns its length (truncated to n-1). */
size_t fr_vt_line(const fr_vt *v, int row, char *out, size_t n);
/* First row whose text contains `needle` (UTF-8), or -1. */
int fr_vt_find(const fr_vt *v, const char *needle);

typedef struct fr_pty {
    int fd;                  /* master, non-blocking, close-on-exec */
    pid_t pid;
    fr_vt vt;
    uint64_t bytes;          /* total bytes read from the master */
} fr_pty;

/* Starts argv[0] (a path, no PATH search) on a new cols x rows pty with TERM=term and
 * LC_ALL=C.UTF-8.  pass_fd >= 0 is given to the child as fd 3 (a result channel).
 * Returns FR_OK or FR_EIO. */
int fr_pty_spawn(fr_pty *p, char *const argv[], int cols, int rows, const char *term, int pass_fd, fr_err *e);
/* Writes all of s to the program's input.  0, or -1 on error. */
int fr_pty_send(fr_pty *p, const char *s, size_t n);
/* Waits up to timeout_ms for output and feeds all that is available to the screen.
 * Returns bytes read (> 0), 0 on timeout, -1 at end of output (child gone) or error. */
int fr_pty_pump(fr_pty *p, int timeout_ms);
/* Pumps until `needle` is on screen; 1 = found, 0 = timeout or end of output. */
int fr_pty_wait_text(fr_pty *p, const char *needle, double timeout_s);
/* Sends sig (0 = none), keeps draining output, reaps the child (SIGKILL after 5 s) and frees
 * everything.  Returns the wait status. */
int fr_pty_close(fr_pty *p, int sig);

#endif
