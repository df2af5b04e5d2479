/* tui.c — curses front end of the inspector and the headless dump entry point (tui.h).
 *
 * Design note
 *   The only file that includes curses.  Threading: everything here runs on the UI thread;
 *   the worker is touched only through fr_worker_send / fr_worker_acquire / its wake pipe.
 *   Loop: poll() on stdin and the wake fd (250 ms timeout for the clock), drain keys with
 *   wget_wch in nodelay mode, take the newest snapshot, render the whole frame into the cell
 *   grid (view.h) and copy it to stdscr, then one doupdate().  Resize arrives only as
 *   KEY_RESIZE (ncurses turns SIGWINCH into it; nothing is allocated in a signal handler).
 *
 *   Terminal safety: an abort hook (FR_ASSERT) and the fatal-signal handler (common.h: every
 *   signal whose default action ends the process, USR1, ALRM, PIPE, XCPU, ... included) call
 *   endwin() once, restore the default action and re-raise, so the shell gets its cooked,
 *   echoing terminal back and the exit status still says which signal it was.
 *
 *   Colours: cells carry role/RGB colours; they become colour numbers at the depth the
 *   terminal offers (direct colour when terminfo reports >= 2^24 colours, else the 256 cube,
 *   else 16) and pairs are allocated on demand from a small hash cache (init_extended_pair
 *   when available).  When pairs run out the cache is reset, which costs one repaint.
 *
 *   Sweep view (fr_tui_sweep): its own small loop, re-reading the folder every second (files
 *   are the sweep's only channel, sweepdata.h).  Enter opens a point's replay in the same
 *   terminal: this loop leaves curses (endwin), the callback runs fr_tui_run, which calls
 *   initscr again (ncurses then reuses the screen it already has) and endwin when the replay
 *   quits; the sweep loop then restores its modes, forgets its colour pairs (the replay
 *   redefined the numbers) and repaints everything.
 */
#include "frtui/tui.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curses.h>

#include "frtui/canvas.h"
#include "frtui/sb.h"
#include "frtui/sweepdata.h"
#include "frtui/sweepview.h"
#include "frtui/view.h"
#include "frtui/worker.h"

void fr_tui_opts_default(fr_tui_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mouse = 1;
}

int fr_tui_color_depth(const fr_tui_opts *o, int is_tty)
{
    if (o->color == FR_COLOR_NEVER) return 0;
    const char *nc = getenv("NO_COLOR");
    if (o->color != FR_COLOR_ALWAYS && nc && *nc) return 0;
    if (o->color == FR_COLOR_AUTO && !is_tty) return 0;
    if (o->depth == 16 || o->depth == 256 || o->depth == 24) return o->depth;
    int d = fr_colour_depth_from_env();
    if (d == 0 && o->color == FR_COLOR_ALWAYS) d = 256;   /* NO_COLOR/dumb overridden explicitly */
    return d;
}

/* ------------------------------------------------------------------ terminal safety */

static volatile sig_atomic_t g_curses_on;

static void restore_terminal(void)
{
    if (g_curses_on) {
        g_curses_on = 0;
        if (has_mouse()) mousemask(0, NULL);
        endwin();
        fputs("\033[?1000l\033[?1006l", stdout);   /* mouse reporting off, even if endwin skipped it */
        fflush(stdout);
    }
}

/* The handler is common.c's (fr_fatal_signals_init): one for every signal whose default action
 * ends the process, shared with the temp-file cleanup.  endwin() in it is not
 * async-signal-safe, but every curses program relies on it there (htop's CRT_handleSIGSEGV
 * does the same): a wrecked terminal is the worse outcome. */
static void install_handlers(void)
{
    fr_fatal_signals_init();
    fr_fatal_set_hook(restore_terminal);
    fr_set_abort_hook(restore_terminal);
}

static void remove_handlers(void)
{
    fr_fatal_set_hook(NULL);
    fr_set_abort_hook(NULL);
}

static void curses_modes(void)
{
    set_escdelay(25);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
}

/* ------------------------------------------------------------------ colour pairs */

typedef struct pair_cache {
    int depth;              /* 0, 16, 256, 24 */
    int max_pairs;
    int next;
    int n_slots;
    struct { int fg, bg, pair; } *slot;
    const fr_palette *pal;
} pair_cache;

static int colour_number(pair_cache *pc, uint32_t col)
{
    if (pc->depth == 0) return -1;
    fr_rgb c;
    if (!fr_colour_resolve(pc->pal, col, &c)) return -1;
    if (pc->depth == 24) return (c.r << 16) | (c.g << 8) | c.b;
    if (pc->depth == 256) return fr_colour_index(pc->pal, col, 256);
    int i = fr_colour_index(pc->pal, col, 16);
    return COLORS >= 16 ? i : (i & 7);
}

static void pairs_reset(pair_cache *pc)
{
    for (int i = 0; i < pc->n_slots; i++) pc->slot[i].pair = 0;
    pc->next = 1;
}

static int pair_for(pair_cache *pc, uint32_t fgc, uint32_t bgc)
{
    if (pc->depth == 0) return 0;
    int fg = colour_number(pc, fgc), bg = colour_number(pc, bgc);
    if (fg < 0 && bg < 0) return 0;
    unsigned h = ((unsigned)fg * 2654435761u) ^ ((unsigned)bg * 40503u);
    for (int k = 0; k < pc->n_slots; k++) {
        int i = (int)((h + (unsigned)k) % (unsigned)pc->n_slots);
        if (pc->slot[i].pair == 0) {
            if (pc->next >= pc->max_pairs) {
                pairs_reset(pc);
                return pair_for(pc, fgc, bgc);
            }
            int p = pc->next++;
#if NCURSES_VERSION_MAJOR >= 6 && defined(NCURSES_EXT_COLORS)
            init_extended_pair(p, fg, bg);
#else
            init_pair((short)p, (short)fg, (short)bg);
#endif
            pc->slot[i].fg = fg;
            pc->slot[i].bg = bg;
            pc->slot[i].pair = p;
            return p;
        }
        if (pc->slot[i].fg == fg && pc->slot[i].bg == bg) return pc->slot[i].pair;
    }
    pairs_reset(pc);
    return pair_for(pc, fgc, bgc);
}

static void draw_canvas(const fr_canvas *cv, pair_cache *pc)
{
    for (int y = 0; y < cv->rows; y++)
        for (int x = 0; x < cv->cols; x++) {
            const fr_cell *p = &cv->cells[(size_t)y * cv->cols + x];
            attr_t a = A_NORMAL;
            if (p->attr & FR_A_BOLD) a |= A_BOLD;
            if (p->attr & FR_A_DIM) a |= A_DIM;
            if (p->attr & FR_A_REVERSE) a |= A_REVERSE;
            if (p->attr & FR_A_UNDERLINE) a |= A_UNDERLINE;
            int pair = pair_for(pc, p->fg, p->bg);
            if (pc->depth == 0 && (p->bg & 0xffffff) == FR_R_SELECTION_BG && FR_COL_TAG(p->bg) == FR_COL_TAG_ROLE)
                a |= A_REVERSE;   /* mono: the selection still needs to be visible */
            wchar_t wc[2] = {(wchar_t)(cv->utf8 ? p->cp : fr_canvas_ascii(p->cp)), 0};
            cchar_t cc;
            /* ncurses >= 6.1: a non-NULL opts carries the (extended) pair number */
            setcchar(&cc, wc, a, (short)(pair < 32767 ? pair : 0), &pair);
            mvwadd_wch(stdscr, y, x, &cc);
        }
}

/* ------------------------------------------------------------------ keys */

static int translate_key(int rc, wint_t wch)
{
    if (rc == OK) {
        if (wch == '\r') return '\n';
        if (wch == 127 || wch == 8) return FR_KEY_BS;   /* the filter's text field; nothing binds it elsewhere */
        return (int)wch;
    }
    switch (wch) {
    case KEY_BACKSPACE: return FR_KEY_BS;
    case KEY_UP: return FR_KEY_UP;
    case KEY_DOWN: return FR_KEY_DOWN;
    case KEY_LEFT: return FR_KEY_LEFT;
    case KEY_RIGHT: return FR_KEY_RIGHT;
    case KEY_PPAGE: return FR_KEY_PGUP;
    case KEY_NPAGE: return FR_KEY_PGDN;
    case KEY_HOME: return FR_KEY_HOME;
    case KEY_END: return FR_KEY_END;
    case KEY_BTAB: return FR_KEY_BTAB;
    case KEY_ENTER: return '\n';
    case KEY_RESIZE: return FR_KEY_RESIZE;
    default:
        if (wch >= (wint_t)KEY_F(1) && wch <= (wint_t)KEY_F(12)) return FR_KEY_F((int)(wch - KEY_F0));
        return 0;
    }
}

/* Mouse reporting as the settings ask (the --no-mouse flag wins): clicks, and the wheel as
 * buttons 4/5. */
static void apply_mouse(const fr_tui_opts *o, const fr_ui *ui)
{
    mmask_t m = BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED;
#ifdef BUTTON5_PRESSED
    m |= BUTTON5_PRESSED;
#endif
    mousemask(o->mouse && ui->cfg.mouse ? m : 0, NULL);
}

static void handle_out(fr_worker *w, const fr_tui_opts *o, fr_ui *ui, const fr_snapshot *s, const fr_view_out *vo)
{
    if (vo->save_settings) {
        fr_err e;
        fr_err_clear(&e);
        if (!ui->cfg_path[0]) snprintf(ui->msg, sizeof ui->msg, "settings kept for this session (no config path: set HOME)");
        else if (fr_settings_save(&ui->cfg, ui->cfg_path, &e) != FR_OK) snprintf(ui->msg, sizeof ui->msg, "settings not saved: %.150s", e.msg);
        else if (!ui->tour) snprintf(ui->msg, sizeof ui->msg, "settings saved to %.160s", ui->cfg_path);
    }
    for (int i = 0; i < vo->n_cmds; i++)
        if (w && fr_worker_send(w, vo->cmd[i].type, vo->cmd[i].arg) != 0)
            snprintf(ui->msg, sizeof ui->msg, "command queue full: try again");
    if (vo->export_view) {
        if (!o->export_fn) {
            snprintf(ui->msg, sizeof ui->msg, "export is not available in this build");
        } else {
            char m[160] = "";
            int rc = o->export_fn(o->export_ctx, fr_ui_snapshot(ui, s), vo->export_unit, vo->export_layer, vo->export_view,
                                  &vo->export_state, m, sizeof m);
            if (rc == FR_OK && vo->export_eqn) {   /* the equation strip beside the view */
                char m2[160] = "";
                rc = o->export_fn(o->export_ctx, fr_ui_snapshot(ui, s), vo->export_unit, vo->export_layer, "equation",
                                  &vo->export_state, m2, sizeof m2);
                size_t l = strlen(m);
                if (rc == FR_OK && l + 8 < sizeof m)
                    snprintf(m + l, sizeof m - l, " and %.*s", (int)(sizeof m - l - 6), strncmp(m2, "wrote ", 6) == 0 ? m2 + 6 : m2);
                else if (rc != FR_OK)
                    snprintf(m, sizeof m, "%s", m2);
            }
            snprintf(ui->msg, sizeof ui->msg, "%s%s", rc == FR_OK ? "" : "export failed: ", m[0] ? m : "exported");
        }
    }
}

/* ------------------------------------------------------------------ interactive */

int fr_tui_run(fr_worker *w, const fr_tui_opts *o, fr_err *e)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return fr_err_set(e, FR_EINPUT,
                          "frtui: not a terminal; use `frtui run FILE` for batch output or --dump-screen for a text frame");
    setlocale(LC_ALL, "");
    int utf8 = !o->ascii && strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    setenv("ESCDELAY", "25", 0);
    install_handlers();
    if (!initscr()) {
        remove_handlers();
        return fr_err_set(e, FR_EIO, "frtui: cannot initialise the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
    }
    g_curses_on = 1;
    curses_modes();

    /* settings: the config file, unless the command line chose (palette, --no-mouse) */
    fr_ui ui;
    fr_ui_init(&ui, utf8, o->readonly);
    fr_settings cfg;
    int existed = 0;
    char cfg_err[sizeof ui.msg] = "";
    if (!o->no_settings && fr_settings_path(ui.cfg_path, sizeof ui.cfg_path)) {
        fr_err ce;
        fr_err_clear(&ce);
        if (fr_settings_load(&cfg, ui.cfg_path, &existed, &ce) != FR_OK) {
            char clean[sizeof ce.msg];
            snprintf(cfg_err, sizeof cfg_err, "%s", fr_term_clean(clean, sizeof clean, ce.msg));
        }
    } else {
        fr_settings_default(&cfg);
    }
    if (o->no_settings) cfg.tour_done = 1;
    fr_ui_apply_settings(&ui, &cfg);
    if (!ui.cfg.tour_done) {   /* first start: the tour, once (tour_done is saved right away) */
        fr_view_tour_start(&ui);
        fr_err se;
        if (ui.cfg_path[0]) fr_settings_save(&ui.cfg, ui.cfg_path, &se);
    }
    if (cfg_err[0]) snprintf(ui.msg, sizeof ui.msg, "%s", cfg_err);   /* bad config lines: named, then defaults */
    char pal_name[sizeof cfg.palette];
    snprintf(pal_name, sizeof pal_name, "%s", o->palette ? o->palette : ui.cfg.palette);
    apply_mouse(o, &ui);
    int mouse_on = ui.cfg.mouse;

    pair_cache pc;
    memset(&pc, 0, sizeof pc);
    pc.pal = fr_colour_palette(pal_name);
    if (!pc.pal) pc.pal = fr_colour_palette(NULL);
    pc.depth = 0;
    int want = fr_tui_color_depth(o, 1);
    if (want > 0 && has_colors()) {
        start_color();
        use_default_colors();
        if (want == 24 && COLORS >= 0x1000000) pc.depth = 24;
        else if (want >= 256 && COLORS >= 256) pc.depth = 256;
        else pc.depth = 16;
        pc.max_pairs = COLOR_PAIRS > 1 ? COLOR_PAIRS : 1;
        pc.n_slots = 4096;
        pc.slot = fr_xcalloc((size_t)pc.n_slots, sizeof *pc.slot);
        pairs_reset(&pc);
    }

    fr_canvas cv;
    fr_canvas_init(&cv, COLS > 0 ? COLS : 80, LINES > 0 ? LINES : 24, utf8);
    fr_snapshot *snap = w ? fr_worker_acquire(w) : o->replay;
    if (!w) fr_snapshot_retain(snap);
    int wake = w ? fr_worker_wakefd(w) : -1;
    int quit = 0, dirty = 1;
    char shown_msg[sizeof ui.msg] = "";
    double msg_t = 0;
    while (!quit) {
        /* transient messages fade after a few seconds (prompts stay until answered) */
        if (strcmp(shown_msg, ui.msg) != 0) {
            memcpy(shown_msg, ui.msg, sizeof shown_msg);
            msg_t = fr_now();
        } else if (ui.msg[0] && !ui.confirm && fr_now() - msg_t > 4.0) {
            ui.msg[0] = 0;
            shown_msg[0] = 0;
            dirty = 1;
        }
        if (dirty) {
            if (cv.cols != COLS || cv.rows != LINES) fr_canvas_resize(&cv, FR_MAX(COLS, 1), FR_MAX(LINES, 1));
            fr_view_render(&ui, snap, &cv);
            draw_canvas(&cv, &pc);
            wnoutrefresh(stdscr);
            doupdate();
            dirty = 0;
        }
        struct pollfd pfd[2] = {{STDIN_FILENO, POLLIN, 0}, {wake, POLLIN, 0}};
        int np = wake >= 0 ? 2 : 1;
        int pr = poll(pfd, (nfds_t)np, 250);
        if (pr < 0 && errno != EINTR) break;
        if (np == 2 && (pfd[1].revents & POLLIN)) {
            char buf[256];
            while (read(wake, buf, sizeof buf) > 0) {}
        }
        /* keys */
        wint_t wch;
        int rc;
        while (!quit && (rc = wget_wch(stdscr, &wch)) != ERR) {
            int key;
            if (rc == KEY_CODE_YES && wch == KEY_MOUSE) {
                MEVENT me;
                if (getmouse(&me) == OK) {
                    fr_view_out vo;
                    int wheel = me.bstate & BUTTON4_PRESSED ? -1 : 0;
#ifdef BUTTON5_PRESSED
                    if (me.bstate & BUTTON5_PRESSED) wheel = 1;
#endif
                    if (wheel) fr_view_wheel(&ui, snap, me.x, me.y, wheel, &vo);
                    else fr_view_click(&ui, snap, me.x, me.y, &vo);
                    handle_out(w, o, &ui, snap, &vo);
                    if (vo.quit) quit = 1;
                    dirty = 1;
                }
                continue;
            } else {
                key = translate_key(rc, wch);
            }
            if (key == FR_KEY_RESIZE) {
                dirty = 1;
                continue;
            }
            if (!key) continue;
            fr_view_out vo;
            fr_view_key(&ui, snap, key, &vo);
            handle_out(w, o, &ui, snap, &vo);
            if (vo.repaint) clearok(curscr, TRUE);
            if (vo.quit) quit = 1;
            dirty = 1;
            /* the settings screen may have changed what belongs to the terminal */
            if (!o->palette && strcmp(pal_name, ui.cfg.palette) != 0) {
                snprintf(pal_name, sizeof pal_name, "%s", ui.cfg.palette);
                const fr_palette *newpal = fr_colour_palette(pal_name);
                if (newpal) pc.pal = newpal;
                if (pc.slot) pairs_reset(&pc);
                clearok(curscr, TRUE);
            }
            if (mouse_on != ui.cfg.mouse) {
                mouse_on = ui.cfg.mouse;
                apply_mouse(o, &ui);
            }
        }
        /* newest snapshot (cheap: a retain under the worker's lock) */
        if (w) {
            fr_snapshot *ns = fr_worker_acquire(w);
            if (ns && (!snap || ns->gen != snap->gen)) {
                fr_snapshot_release(snap);
                snap = ns;
                if (!ui.frozen) dirty = 1;
            } else {
                fr_snapshot_release(ns);
            }
        }
        if (pr == 0) dirty = 1;   /* clock tick: elapsed/ETA */
    }
    fr_snapshot_release(snap);
    fr_ui_free(&ui);
    fr_canvas_free(&cv);
    free(pc.slot);
    restore_terminal();
    remove_handlers();
    return FR_OK;
}

/* ------------------------------------------------------------------ headless */

static int source_ready(const fr_dump_source *src, const fr_snapshot *s)
{
    if (!s) return 0;
    int finished = s->status == FR_RUN_DONE || s->status == FR_RUN_FAILED || s->status == FR_RUN_REPLAY;
    if (src->wait_done && !finished) return 0;
    if (src->wait_unit >= 0 && !finished) {
        if (src->wait_unit >= s->n_units) return 0;
        const fr_unit_view *u = s->units[src->wait_unit];
        if (!u || u->status < FR_UNIT_DONE) return 0;
    }
    return 1;
}

int fr_dump_screen(const fr_dump_source *src, const fr_tui_opts *o, int cols, int rows, const char *keys, FILE *out,
                   fr_err *e)
{
    setlocale(LC_CTYPE, "");
    int utf8 = !o->ascii && strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    fr_dump_opts d = {utf8, fr_tui_color_depth(o, isatty(fileno(out))), o->readonly, fr_colour_palette(o->palette)};
    if (!d.pal) d.pal = fr_colour_palette(NULL);
    if (!src->worker) {
        if (!src->snapshot) return fr_err_set(e, FR_EINPUT, "--dump-screen: nothing to render");
        return fr_view_dump(src->snapshot, &d, cols, rows, keys, out, e);
    }
    double limit = src->timeout_s > 0 ? src->timeout_s : 600, t0 = fr_now();
    int wake = fr_worker_wakefd(src->worker);
    fr_snapshot *s = fr_worker_acquire(src->worker);
    while (!source_ready(src, s)) {
        if (fr_now() - t0 > limit) {
            fr_snapshot_release(s);
            return fr_err_set(e, FR_ECANCEL, "--dump-screen: timed out after %.0f s waiting for %s", limit,
                              src->wait_done ? "the run to finish" : "the unit");
        }
        struct pollfd p = {wake, POLLIN, 0};
        if (poll(&p, wake >= 0 ? 1 : 0, 100) > 0) {
            char buf[256];
            while (read(wake, buf, sizeof buf) > 0) {}
        }
        fr_snapshot_release(s);
        s = fr_worker_acquire(src->worker);
    }
    /* live keys: same path as fr_view_dump, but commands reach the worker */
    int kbuf[4096];
    int nk = keys ? fr_view_parse_keys(keys, kbuf, 4096, e) : 0;
    if (nk < 0) {
        fr_snapshot_release(s);
        return FR_EINPUT;
    }
    fr_ui ui;
    fr_ui_init(&ui, utf8, o->readonly);
    fr_canvas c;
    fr_canvas_init(&c, FR_MAX(cols, 1), FR_MAX(rows, 1), utf8);
    fr_view_render(&ui, s, &c);
    for (int i = 0; i < nk; i++) {
        fr_view_out vo;
        fr_view_key(&ui, s, kbuf[i], &vo);
        handle_out(src->worker, o, &ui, s, &vo);
        if (vo.quit) break;
        fr_view_render(&ui, s, &c);
    }
    fr_view_render(&ui, s, &c);
    fr_text_opts to = {d.depth, d.pal, 0};
    fr_canvas_write(&c, out, &to);
    fr_canvas_free(&c);
    fr_ui_free(&ui);
    fr_snapshot_release(s);
    return FR_OK;
}

/* ------------------------------------------------------------------ sweep view */

static void open_point(const char *dir, const fr_sweep_row *r, char *frc, size_t n)
{
    snprintf(frc, n, "%s/points/%s/run.frc", dir, r->name);
}

int fr_tui_sweep(const char *dir, const fr_tui_opts *o, fr_open_run_fn open, void *ctx, fr_err *e)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return fr_err_set(e, FR_EINPUT, "frtui: not a terminal; use `frtui sweep-report %s` or --dump-screen for a text frame", dir);
    fr_sweep_row *rs = NULL;
    int n = 0;
    if (fr_sweepdata_load(dir, &rs, &n, e)) return e->code;
    setlocale(LC_ALL, "");
    int utf8 = !o->ascii && strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    setenv("ESCDELAY", "25", 0);
    install_handlers();
    if (!initscr()) {
        remove_handlers();
        fr_sweepdata_free(rs);
        return fr_err_set(e, FR_EIO, "frtui: cannot initialise the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
    }
    g_curses_on = 1;
    curses_modes();
    pair_cache pc;
    memset(&pc, 0, sizeof pc);
    pc.pal = fr_colour_palette(o->palette);
    if (!pc.pal) pc.pal = fr_colour_palette(NULL);
    int want = fr_tui_color_depth(o, 1);
    if (want > 0 && has_colors()) {
        start_color();
        use_default_colors();
        pc.depth = want == 24 && COLORS >= 0x1000000 ? 24 : want >= 256 && COLORS >= 256 ? 256 : 16;
        pc.max_pairs = COLOR_PAIRS > 1 ? COLOR_PAIRS : 1;
        pc.n_slots = 4096;
        pc.slot = fr_xcalloc((size_t)pc.n_slots, sizeof *pc.slot);
        pairs_reset(&pc);
    }
    fr_sweepview v;
    fr_sweepview_init(&v, dir);
    fr_sweepview_sync(&v, rs, n);
    fr_canvas cv;
    fr_canvas_init(&cv, COLS > 0 ? COLS : 80, LINES > 0 ? LINES : 24, utf8);
    int quit = 0, dirty = 1;
    double loaded = fr_now();
    while (!quit) {
        if (fr_now() - loaded >= 1.0) {   /* points appear, start and finish on disk */
            fr_sweep_row *nr;
            int nn;
            fr_err le;
            fr_err_clear(&le);
            if (fr_sweepdata_load(dir, &nr, &nn, &le) == FR_OK) {
                fr_sweepdata_free(rs);
                rs = nr;
                n = nn;
                fr_sweepview_sync(&v, rs, n);
            } else {
                snprintf(v.msg, sizeof v.msg, "%.190s", le.msg);
            }
            loaded = fr_now();
            dirty = 1;
        }
        if (dirty) {
            if (cv.cols != COLS || cv.rows != LINES) fr_canvas_resize(&cv, FR_MAX(COLS, 1), FR_MAX(LINES, 1));
            fr_sweepview_render(&v, rs, n, &cv);
            draw_canvas(&cv, &pc);
            wnoutrefresh(stdscr);
            doupdate();
            dirty = 0;
        }
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        if (poll(&pfd, 1, 250) < 0 && errno != EINTR) break;
        wint_t wch;
        int rc;
        while (!quit && (rc = wget_wch(stdscr, &wch)) != ERR) {
            int key = translate_key(rc, wch);
            if (rc == KEY_CODE_YES && wch == KEY_MOUSE) continue;
            if (key == FR_KEY_RESIZE) { dirty = 1; continue; }
            if (!key) continue;
            int act = fr_sweepview_key(&v, rs, n, key);
            dirty = 1;
            if (act == FR_SWV_QUIT) quit = 1;
            else if (act == FR_SWV_RELOAD) { loaded = 0; clearok(curscr, TRUE); }
            else if (act == FR_SWV_OPEN && open) {
                char frc[4400];
                open_point(dir, &rs[v.sel], frc, sizeof frc);
                restore_terminal();   /* the replay takes the terminal (its own initscr/endwin) */
                fr_err oe;
                fr_err_clear(&oe);
                int orc = open(ctx, frc, NULL, &oe);
                install_handlers();   /* fr_tui_run removed them on its way out */
                g_curses_on = 1;
                curses_modes();
                if (pc.slot) pairs_reset(&pc);
                clearok(curscr, TRUE);
                if (orc) {
                    char clean[sizeof oe.msg];
                    snprintf(v.msg, sizeof v.msg, "%.190s", fr_term_clean(clean, sizeof clean, oe.msg));
                }
                loaded = 0;   /* re-read now: the sweep went on meanwhile */
            }
        }
    }
    fr_sweepdata_free(rs);
    fr_canvas_free(&cv);
    free(pc.slot);
    restore_terminal();
    remove_handlers();
    return FR_OK;
}

int fr_dump_sweep(const char *dir, const fr_tui_opts *o, int cols, int rows, const char *keys, fr_open_run_fn open,
                  void *ctx, FILE *out, fr_err *e)
{
    setlocale(LC_CTYPE, "");
    int utf8 = !o->ascii && strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    const fr_palette *pal = fr_colour_palette(o->palette);
    fr_text_opts to = {fr_tui_color_depth(o, isatty(fileno(out))), pal ? pal : fr_colour_palette(NULL), 0};
    int kbuf[4096];
    int nk = keys ? fr_view_parse_keys(keys, kbuf, 4096, e) : 0;
    if (nk < 0) return FR_EINPUT;
    fr_sweep_row *rs;
    int n;
    if (fr_sweepdata_load(dir, &rs, &n, e)) return e->code;
    fr_sweepview v;
    fr_sweepview_init(&v, dir);
    fr_sweepview_sync(&v, rs, n);
    fr_canvas c;
    fr_canvas_init(&c, FR_MAX(cols, 1), FR_MAX(rows, 1), utf8);
    fr_sweepview_render(&v, rs, n, &c);   /* the first frame sets the page size the keys rely on */
    int rc = FR_OK, opened = 0;
    for (int i = 0; i < nk && !opened; i++) {
        int act = fr_sweepview_key(&v, rs, n, kbuf[i]);
        if (act == FR_SWV_QUIT) break;
        if (act == FR_SWV_OPEN && open) {   /* the rest of the keys drive the opened run */
            char frc[4400];
            open_point(dir, &rs[v.sel], frc, sizeof frc);
            rc = open(ctx, frc, fr_view_keys_after(keys, i + 1), e);
            opened = 1;
        }
        fr_sweepview_render(&v, rs, n, &c);
    }
    if (!opened) {
        fr_sweepview_render(&v, rs, n, &c);
        fr_canvas_write(&c, out, &to);
    }
    fr_canvas_free(&c);
    fr_sweepdata_free(rs);
    return rc;
}
