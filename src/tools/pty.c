/* pty.c — programs on a pseudo-terminal and the screen model fed by their output (pty.h).
 *
 * Design note
 *   The screen model implements the subset of ECMA-48 / xterm that terminfo's xterm-256color
 *   entry lets ncurses use; anything else is parsed and ignored, so an unknown sequence can
 *   cost a wrong cell, never a desynchronised parser.  Glyphs are one cell wide (the inspector
 *   draws only box drawing, block, braille and Latin text).
 *   Spawning uses posix_openpt + fork + setsid + TIOCSCTTY rather than forkpty so no -lutil is
 *   needed; the window size is set on the master before the child starts, so the program's
 *   first frame already has the requested size.
 */
#include "frtui/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- screen model ------------------------------------------------------------------------- */

enum { ST_GROUND, ST_ESC, ST_CSI, ST_STR, ST_STR_ESC, ST_SKIP1 };

void fr_vt_init(fr_vt *v, int cols, int rows)
{
    memset(v, 0, sizeof *v);
    v->cols = cols > 0 ? cols : 1;
    v->rows = rows > 0 ? rows : 1;
    v->cell = fr_xcalloc((size_t)v->cols * v->rows, sizeof *v->cell);
    for (size_t i = 0; i < (size_t)v->cols * v->rows; i++) v->cell[i] = ' ';
    v->bot = v->rows - 1;
}

void fr_vt_free(fr_vt *v)
{
    free(v->cell);
    v->cell = NULL;
}

static uint32_t *row_of(fr_vt *v, int y) { return v->cell + (size_t)y * v->cols; }

static void blank(fr_vt *v, int y, int x0, int x1)   /* [x0, x1) of row y */
{
    if (y < 0 || y >= v->rows) return;
    x0 = FR_MAX(x0, 0);
    x1 = FR_MIN(x1, v->cols);
    for (int x = x0; x < x1; x++) row_of(v, y)[x] = ' ';
}

/* Moves rows [top, bot] up by n (new blank rows at the bottom); n < 0 moves them down. */
static void scroll(fr_vt *v, int top, int bot, int n)
{
    if (top > bot) return;
    int h = bot - top + 1;
    size_t w = (size_t)v->cols * sizeof *v->cell;
    if (n > 0) {
        n = FR_MIN(n, h);
        memmove(row_of(v, top), row_of(v, top + n), (size_t)(h - n) * w);
        for (int y = bot - n + 1; y <= bot; y++) blank(v, y, 0, v->cols);
    } else if (n < 0) {
        n = FR_MIN(-n, h);
        memmove(row_of(v, top + n), row_of(v, top), (size_t)(h - n) * w);
        for (int y = top; y < top + n; y++) blank(v, y, 0, v->cols);
    }
}

static void linefeed(fr_vt *v)
{
    if (v->y == v->bot) scroll(v, v->top, v->bot, 1);
    else if (v->y < v->rows - 1) v->y++;
}

static void put(fr_vt *v, uint32_t cp)
{
    if (v->wrap) {   /* xenl: the wrap happens only when the next glyph arrives */
        v->wrap = 0;
        v->x = 0;
        linefeed(v);
    }
    row_of(v, v->y)[v->x] = cp;
    v->last = cp;
    if (v->x == v->cols - 1) v->wrap = 1;
    else v->x++;
}

static int par(const fr_vt *v, int i, int def) { return i < v->npar && v->par[i] > 0 ? v->par[i] : def; }

static void goto_xy(fr_vt *v, int x, int y)
{
    v->x = FR_MAX(0, FR_MIN(x, v->cols - 1));
    v->y = FR_MAX(0, FR_MIN(y, v->rows - 1));
    v->wrap = 0;
}

static void csi(fr_vt *v, int final)
{
    if (v->priv) return;   /* private modes (?1049h, ?25l, ...) do not change cells */
    int n = par(v, 0, 1);
    uint32_t *r = row_of(v, v->y);
    switch (final) {
    case 'H': case 'f': goto_xy(v, par(v, 1, 1) - 1, par(v, 0, 1) - 1); break;
    case 'A': goto_xy(v, v->x, v->y - n); break;
    case 'B': goto_xy(v, v->x, v->y + n); break;
    case 'C': goto_xy(v, v->x + n, v->y); break;
    case 'D': goto_xy(v, v->x - n, v->y); break;
    case 'G': case '`': goto_xy(v, n - 1, v->y); break;
    case 'd': goto_xy(v, v->x, n - 1); break;
    case 'K': {
        int m = par(v, 0, 0);
        if (m == 0) blank(v, v->y, v->x, v->cols);
        else if (m == 1) blank(v, v->y, 0, v->x + 1);
        else blank(v, v->y, 0, v->cols);
        break;
    }
    case 'J': {
        int m = par(v, 0, 0);
        if (m == 0) { blank(v, v->y, v->x, v->cols); for (int y = v->y + 1; y < v->rows; y++) blank(v, y, 0, v->cols); }
        else if (m == 1) { for (int y = 0; y < v->y; y++) blank(v, y, 0, v->cols); blank(v, v->y, 0, v->x + 1); }
        else for (int y = 0; y < v->rows; y++) blank(v, y, 0, v->cols);
        break;
    }
    case 'X': blank(v, v->y, v->x, v->x + n); break;
    case '@':
        n = FR_MIN(n, v->cols - v->x);
        memmove(r + v->x + n, r + v->x, (size_t)(v->cols - v->x - n) * sizeof *r);
        blank(v, v->y, v->x, v->x + n);
        break;
    case 'P':
        n = FR_MIN(n, v->cols - v->x);
        memmove(r + v->x, r + v->x + n, (size_t)(v->cols - v->x - n) * sizeof *r);
        blank(v, v->y, v->cols - n, v->cols);
        break;
    case 'L': if (v->y >= v->top && v->y <= v->bot) scroll(v, v->y, v->bot, -n); break;
    case 'M': if (v->y >= v->top && v->y <= v->bot) scroll(v, v->y, v->bot, n); break;
    case 'S': scroll(v, v->top, v->bot, n); break;
    case 'T': scroll(v, v->top, v->bot, -n); break;
    case 'b': for (int i = 0; i < n && v->last; i++) put(v, v->last); break;
    case 'r': {
        int t = par(v, 0, 1) - 1, b = par(v, 1, v->rows) - 1;
        if (t < b && b < v->rows) { v->top = t; v->bot = b; }
        goto_xy(v, 0, 0);
        break;
    }
    case 's': v->sx = v->x; v->sy = v->y; break;
    case 'u': goto_xy(v, v->sx, v->sy); break;
    default: break;   /* m (SGR), h/l, t, n, ...: no effect on the text */
    }
}

static void esc(fr_vt *v, int c)
{
    v->st = ST_GROUND;
    switch (c) {
    case '[': v->st = ST_CSI; v->npar = 0; v->priv = 0; memset(v->par, 0, sizeof v->par); break;
    case ']': case 'P': case '_': case '^': v->st = ST_STR; break;
    case '(': case ')': case '*': case '+': case '#': case '%': v->st = ST_SKIP1; break;
    case '7': v->sx = v->x; v->sy = v->y; break;
    case '8': goto_xy(v, v->sx, v->sy); break;
    case 'D': linefeed(v); break;
    case 'E': v->x = 0; v->wrap = 0; linefeed(v); break;
    case 'M':
        if (v->y == v->top) scroll(v, v->top, v->bot, -1);
        else if (v->y > 0) v->y--;
        break;
    case 'c': { int c0 = v->cols, r0 = v->rows; fr_vt_free(v); fr_vt_init(v, c0, r0); break; }
    default: break;   /* = > and others: keypad modes */
    }
}

static void control(fr_vt *v, int c)
{
    switch (c) {
    case '\r': v->x = 0; v->wrap = 0; break;
    case '\n': case '\v': case '\f': v->wrap = 0; linefeed(v); break;
    case '\b': if (v->x > 0) v->x--; v->wrap = 0; break;
    case '\t': v->x = FR_MIN((v->x / 8 + 1) * 8, v->cols - 1); break;
    case 0x1b: v->st = ST_ESC; break;
    default: break;   /* BEL, SO, SI, NUL */
    }
}

void fr_vt_feed(fr_vt *v, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        int c = p[i];
        switch (v->st) {
        case ST_ESC: esc(v, c); continue;
        case ST_SKIP1: v->st = ST_GROUND; continue;
        case ST_STR: if (c == 7) v->st = ST_GROUND; else if (c == 0x1b) v->st = ST_STR_ESC; continue;
        case ST_STR_ESC: v->st = c == '\\' ? ST_GROUND : ST_STR; continue;
        case ST_CSI:
            if (c >= '0' && c <= '9') {
                if (v->npar == 0) v->npar = 1;
                int *q = &v->par[v->npar - 1];
                if (*q < 100000) *q = *q * 10 + (c - '0');
            } else if (c == ';' || c == ':') {
                if (v->npar == 0) v->npar = 1;
                if (v->npar < 16) v->npar++;
            } else if (c == '?' || c == '>' || c == '=' || c == '<' || c == '!') {
                v->priv = 1;
            } else if (c >= 0x40 && c <= 0x7e) {
                v->st = ST_GROUND;
                csi(v, c);
            } else if (c == 0x1b) {
                v->st = ST_ESC;   /* an interrupted sequence */
            } else if (c < 0x20) {
                control(v, c);
            }
            continue;
        default: break;
        }
        if (v->need) {   /* UTF-8 continuation */
            if ((c & 0xc0) == 0x80) {
                v->cp = (v->cp << 6) | (uint32_t)(c & 0x3f);
                if (--v->need == 0) put(v, v->cp);
                continue;
            }
            v->need = 0;
            put(v, 0xfffd);
        }
        if (c < 0x20 || c == 0x7f) control(v, c);
        else if (c < 0x80) put(v, (uint32_t)c);
        else if ((c & 0xe0) == 0xc0) { v->cp = (uint32_t)(c & 0x1f); v->need = 1; }
        else if ((c & 0xf0) == 0xe0) { v->cp = (uint32_t)(c & 0x0f); v->need = 2; }
        else if ((c & 0xf8) == 0xf0) { v->cp = (uint32_t)(c & 0x07); v->need = 3; }
        else put(v, 0xfffd);
    }
}

static size_t utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t fr_vt_line(const fr_vt *v, int row, char *out, size_t n)
{
    size_t len = 0, keep = 0;
    if (!n) return 0;
    if (row >= 0 && row < v->rows) {
        const uint32_t *r = v->cell + (size_t)row * v->cols;
        for (int x = 0; x < v->cols; x++) {
            char b[4];
            size_t k = utf8_put(r[x], b);
            if (len + k >= n) break;
            memcpy(out + len, b, k);
            len += k;
            if (r[x] != ' ') keep = len;
        }
    }
    out[keep] = 0;
    return keep;
}

int fr_vt_find(const fr_vt *v, const char *needle)
{
    size_t cap = (size_t)v->cols * 4 + 1;
    char *line = fr_xmalloc(cap);
    int found = -1;
    for (int y = 0; y < v->rows && found < 0; y++) {
        fr_vt_line(v, y, line, cap);
        if (strstr(line, needle)) found = y;
    }
    free(line);
    return found;
}

/* ---- pseudo-terminal ---------------------------------------------------------------------- */

int fr_pty_spawn(fr_pty *p, char *const argv[], int cols, int rows, const char *term, int pass_fd, fr_err *e)
{
    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->pid = -1;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) || unlockpt(m)) {
        if (m >= 0) close(m);
        return fr_err_set(e, FR_EIO, "pty: cannot open a pseudo-terminal: %s", strerror(errno));
    }
    char slave[128];
    if (ptsname_r(m, slave, sizeof slave)) {
        close(m);
        return fr_err_set(e, FR_EIO, "pty: ptsname: %s", strerror(errno));
    }
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(m, TIOCSWINSZ, &ws);
    pid_t pid = fork();
    if (pid < 0) {
        close(m);
        return fr_err_set(e, FR_EIO, "pty: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec, apart from setenv (single-threaded
         * callers only; the bench calls this before any thread of its own starts). */
        setsid();
        int s = open(slave, O_RDWR);
        if (s < 0) _exit(127);
        ioctl(s, TIOCSCTTY, 0);
        ioctl(s, TIOCSWINSZ, &ws);
        if (pass_fd >= 0 && pass_fd != 3) { dup2(pass_fd, 3); close(pass_fd); }
        else if (pass_fd == 3) fcntl(3, F_SETFD, 0);
        dup2(s, 0); dup2(s, 1); dup2(s, 2);
        if (s > 3) close(s);
        setenv("TERM", term ? term : "xterm-256color", 1);
        setenv("LC_ALL", "C.UTF-8", 1);
        unsetenv("NO_COLOR");
        execv(argv[0], argv);
        _exit(127);
    }
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    p->fd = m;
    p->pid = pid;
    fr_vt_init(&p->vt, cols, rows);
    return FR_OK;
}

int fr_pty_send(fr_pty *p, const char *s, size_t n)
{
    while (n) {
        ssize_t k = write(p->fd, s, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EAGAIN) {
            struct pollfd q = {p->fd, POLLOUT, 0};
            poll(&q, 1, 100);
            continue;
        }
        if (k <= 0) return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

int fr_pty_pump(fr_pty *p, int timeout_ms)
{
    struct pollfd q = {p->fd, POLLIN, 0};
    int r = poll(&q, 1, timeout_ms);
    if (r < 0) return errno == EINTR ? 0 : -1;
    if (r == 0) return 0;
    int total = 0;
    char buf[65536];
    for (;;) {
        ssize_t k = read(p->fd, buf, sizeof buf);
        if (k > 0) {
            fr_vt_feed(&p->vt, buf, (size_t)k);
            p->bytes += (uint64_t)k;
            total += (int)k;
            continue;
        }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EAGAIN) break;
        return total ? total : -1;   /* EIO: the slave side is closed */
    }
    return total;
}

int fr_pty_wait_text(fr_pty *p, const char *needle, double timeout_s)
{
    double t_end = fr_now() + timeout_s;
    while (fr_vt_find(&p->vt, needle) < 0) {
        double left = t_end - fr_now();
        if (left <= 0) return 0;
        if (fr_pty_pump(p, (int)(left * 1e3) + 1) < 0) return 0;
    }
    return 1;
}

int fr_pty_close(fr_pty *p, int sig)
{
    int status = 0;
    if (p->pid > 0) {
        if (sig) kill(p->pid, sig);
        double t0 = fr_now();
        int killed = 0;
        for (;;) {
            pid_t r = waitpid(p->pid, &status, WNOHANG);
            if (r == p->pid || (r < 0 && errno != EINTR)) break;
            if (!killed && fr_now() - t0 > 5) { kill(p->pid, SIGKILL); killed = 1; }
            if (p->fd >= 0 && fr_pty_pump(p, 20) < 0) {
                struct timespec ts = {0, 5000000};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (p->fd >= 0) close(p->fd);
    fr_vt_free(&p->vt);
    p->fd = -1;
    p->pid = -1;
    return status;
}
