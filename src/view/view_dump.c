/* view_dump.c — headless rendering: key scripts, --dump-screen frames and the frame benchmark.
 *
 * Design note
 *   The same fr_view_key / fr_view_render pair that backs the curses front end runs here
 *   against a fixed snapshot, so golden frames test exactly what users see.  Worker commands
 *   produced by keys are dropped (a fixed snapshot cannot change); tui.c's fr_dump_screen
 *   forwards them when it drives a live worker.
 */
#include "view_impl.h"

#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <stdlib.h>

static const struct { const char *name; int key; } key_names[] = {
    {"Up", FR_KEY_UP}, {"Down", FR_KEY_DOWN}, {"Left", FR_KEY_LEFT}, {"Right", FR_KEY_RIGHT},
    {"PgUp", FR_KEY_PGUP}, {"PgDn", FR_KEY_PGDN}, {"Home", FR_KEY_HOME}, {"End", FR_KEY_END},
    {"Tab", '\t'}, {"S-Tab", FR_KEY_BTAB}, {"Enter", '\n'}, {"CR", '\n'}, {"Esc", 27},
    {"Space", ' '}, {"lt", '<'}, {"Resize", FR_KEY_RESIZE}, {"BS", FR_KEY_BS},
};

/* One key of a --keys string at *s: its code (advancing *s), or -1 with e set. */
static int parse_one(const char **sp, fr_err *e)
{
    const char *s = *sp;
    int key = -1;
    if (*s == '<') {
        const char *end = strchr(s, '>');
        if (end && end - s > 1 && end - s < 16) {
            char nm[16];
            memcpy(nm, s + 1, (size_t)(end - s - 1));
            nm[end - s - 1] = 0;
            for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
                if (strcasecmp(nm, key_names[i].name) == 0) key = key_names[i].key;
            if (key < 0 && (nm[0] == 'F' || nm[0] == 'f') && nm[1] >= '1' && nm[1] <= '9') {
                int f = atoi(nm + 1);
                if (f >= 1 && f <= 12) key = FR_KEY_F(f);
            }
            if (key < 0 && (nm[0] == 'C' || nm[0] == 'c') && nm[1] == '-' && nm[2] && !nm[3]) {
                char ch = nm[2];
                if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
                if (ch >= 'a' && ch <= 'z') key = FR_KEY_CTRL(ch);
            }
            if (key < 0 && isupper((unsigned char)nm[0]))
                return fr_err_set(e, FR_EINPUT, "--keys: unknown key name <%s> (see --help-keys)", nm), -1;
            if (key >= 0) s = end + 1;
        }
        if (key < 0) { key = '<'; s++; }
    } else if (*s == '\\' && s[1]) {
        char ch = s[1];
        key = ch == 't' ? '\t' : ch == 'n' ? '\n' : ch == 'e' ? 27 : ch;
        s += 2;
    } else {
        const char *p = s;
        key = (int)fr_utf8_decode(&p);
        s = p;
    }
    *sp = s;
    return key;
}

const char *fr_view_keys_after(const char *s, int nkeys)
{
    fr_err e;
    for (int i = 0; i < nkeys && *s; i++)
        if (parse_one(&s, &e) < 0) break;
    return s;
}

int fr_view_parse_keys(const char *s, int *keys, int max, fr_err *e)
{
    int n = 0;
    while (*s) {
        int key = parse_one(&s, e);
        if (key < 0) return -1;
        if (n < max) keys[n] = key;
        n++;
    }
    if (n > max) return fr_err_set(e, FR_EINPUT, "--keys: more than %d keys", max), -1;
    return n;
}

int fr_view_dump(fr_snapshot *s, const fr_dump_opts *o, int cols, int rows, const char *keys, FILE *out, fr_err *e)
{
    if (cols < 1 || rows < 1 || cols > 1000 || rows > 500)
        return fr_err_set(e, FR_EINPUT, "--dump-screen: size %dx%d out of range (1..1000 x 1..500)", cols, rows);
    int kbuf[4096];
    int nk = keys ? fr_view_parse_keys(keys, kbuf, 4096, e) : 0;
    if (nk < 0) return FR_EINPUT;
    fr_ui ui;
    fr_ui_init(&ui, o->utf8, o->readonly);
    fr_canvas c;
    fr_canvas_init(&c, cols, rows, o->utf8);
    fr_view_render(&ui, s, &c);   /* first frame sets geometry the keys rely on */
    for (int i = 0; i < nk; i++) {
        fr_view_out vo;
        fr_view_key(&ui, s, kbuf[i], &vo);
        if (vo.quit) break;
        fr_view_render(&ui, s, &c);
    }
    fr_view_render(&ui, s, &c);
    fr_text_opts to = {o->depth, o->pal, 0};
    fr_canvas_write(&c, out, &to);
    fr_canvas_free(&c);
    fr_ui_free(&ui);
    return FR_OK;
}

double fr_view_bench_frame(const fr_snapshot *s, int cols, int rows, int utf8, int reps)
{
    if (reps < 1) reps = 1;
    fr_ui ui;
    fr_ui_init(&ui, utf8, 0);
    ui.follow_run = 1;
    fr_canvas c;
    fr_canvas_init(&c, cols, rows, utf8);
    fr_view_render(&ui, s, &c);
    double t0 = fr_now();
    for (int i = 0; i < reps; i++) fr_view_render(&ui, s, &c);
    double ms = (fr_now() - t0) * 1000.0 / reps;
    fr_canvas_free(&c);
    fr_ui_free(&ui);
    return ms;
}
