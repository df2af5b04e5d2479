/* settings.c — reading and writing the inspector's config file (settings.h).
 *
 * Design note
 *   One table of keys drives parse, format and the error messages, so the file, the settings
 *   screen and the README cannot list different keys.  Values are parsed strictly (a number
 *   with trailing junk is an error, not a prefix) because a silently half-read setting is
 *   harder to notice than a message naming the line.
 */
#include "frtui/settings.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "frtui/layout.h"
#include "frtui/plotmodel.h"
#include "frtui/plot.h"
#include "frtui/sb.h"

static const char *const sort_names[FR_SORT__COUNT] = {"run", "loss", "vs-rtn", "aggressive", "clipped"};
static const char *const heat_names[] = {"s2", "s2s3s4", "shift", "h", "shift-mean"};   /* fr_heat_qty order (view.h) */
static const char *const panel_names[] = {"none", "units", "loss", "stats", "heatmap", "scatter", "hist"};   /* fr_lpanel 0..6 */

const char *fr_sort_name(int s) { return s >= 0 && s < FR_SORT__COUNT ? sort_names[s] : "?"; }
const char *fr_settings_heat_name(int q) { return q >= 0 && q < 5 ? heat_names[q] : "?"; }
const char *fr_settings_panel_name(int p) { return p >= FR_L_LIST && p <= FR_L_HIST ? panel_names[p] : "none"; }

void fr_settings_default(fr_settings *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->palette, sizeof s->palette, "dark");
    fr_plot_state st;
    fr_plot_state_default(&st);   /* the panels' own start-up state */
    s->smooth = st.smooth;
    s->focus = FR_L_LIST;
    s->expanded = -1;
    s->heat_qty = st.heat_qty;
    s->scatter_abs = st.scatter_abs;
    s->loss_logy = st.loss_logy;
    s->sort = FR_SORT_RUN;
    s->mouse = 1;
}

/* ------------------------------------------------------------------ values */

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"1", "on", "yes", "true"}, *const no[] = {"0", "off", "no", "false"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) { *out = 1; return 0; }
        if (strcasecmp(v, no[i]) == 0) { *out = 0; return 0; }
    }
    return -1;
}

static int parse_choice(const char *v, const char *const *names, int lo, int hi, int *out)
{
    for (int i = lo; i <= hi; i++)
        if (strcasecmp(v, names[i]) == 0) { *out = i; return 0; }
    return -1;
}

typedef enum { K_PALETTE, K_SMOOTH, K_EXPLAIN, K_EQUATION, K_FOCUS, K_EXPANDED, K_HEAT, K_SCATTER, K_LOGY, K_SORT, K_MOUSE, K_TOUR, K__COUNT } key_id;

static const struct { const char *name, *expect; } keys[K__COUNT] = {
    {"palette", "dark or light"},
    {"smoothing", "a number from 0 to 0.999"},
    {"explain", "on or off"},
    {"equation", "on or off"},
    {"focus", "units, loss, stats, heatmap, scatter or hist"},
    {"expanded", "none, units, loss, stats, heatmap, scatter or hist"},
    {"heatmap", "s2, s2s3s4, shift, shift-mean or h"},
    {"scatter_x", "abs or signed"},
    {"loss_scale", "log or linear"},
    {"sort", "run, loss, vs-rtn, aggressive or clipped"},
    {"mouse", "on or off"},
    {"tour_done", "on or off"},
};

/* Applies one value; -1 when it is not valid for the key. */
static int set_value(fr_settings *s, key_id k, const char *v)
{
    int i;
    switch (k) {
    case K_PALETTE:
        if (strcasecmp(v, "dark") && strcasecmp(v, "light")) return -1;
        snprintf(s->palette, sizeof s->palette, "%s", strcasecmp(v, "dark") ? "light" : "dark");
        return 0;
    case K_SMOOTH: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(d) || d < 0 || d > FR_SMOOTH_MAX + 1e-12) return -1;
        s->smooth = d > FR_SMOOTH_MAX ? FR_SMOOTH_MAX : d;
        return 0;
    }
    case K_EXPLAIN: return parse_bool(v, &s->explain);
    case K_EQUATION: return parse_bool(v, &s->equation);
    case K_FOCUS: return parse_choice(v, panel_names, FR_L_LIST, FR_L_HIST, &s->focus);
    case K_EXPANDED:
        if (parse_choice(v, panel_names, 0, FR_L_HIST, &i)) return -1;
        s->expanded = i == 0 ? -1 : i;
        return 0;
    case K_HEAT: return parse_choice(v, heat_names, 0, 4, &s->heat_qty);
    case K_SCATTER:
        if (strcasecmp(v, "abs") == 0) s->scatter_abs = 1;
        else if (strcasecmp(v, "signed") == 0) s->scatter_abs = 0;
        else return -1;
        return 0;
    case K_LOGY:
        if (strcasecmp(v, "log") == 0) s->loss_logy = 1;
        else if (strcasecmp(v, "linear") == 0) s->loss_logy = 0;
        else return -1;
        return 0;
    case K_SORT: return parse_choice(v, sort_names, 0, FR_SORT__COUNT - 1, &s->sort);
    case K_MOUSE: return parse_bool(v, &s->mouse);
    case K_TOUR: return parse_bool(v, &s->tour_done);
    default: return -1;
    }
}

static char *trim(char *a)
{
    while (*a == ' ' || *a == '\t') a++;
    size_t n = strlen(a);
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\t' || a[n - 1] == '\r')) a[--n] = 0;
    return a;
}

/* Printable form of a user's text for a message (no control bytes reach the terminal). */
static void shown(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 5 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 32 || c == 127) k += (size_t)snprintf(out + k, n - k, "\\x%02x", c);
        else out[k++] = (char)c;
    }
    if (*s && k + 4 <= n) { memcpy(out + k, "...", 3); k += 3; }
    out[k < n ? k : n - 1] = 0;
}

int fr_settings_parse(fr_settings *s, const char *text, size_t n, const char *path, fr_err *e)
{
    int bad = 0, line = 0;
    char first[400] = "";
    size_t at = 0;
    while (at < n) {
        size_t end = at;
        while (end < n && text[end] != '\n') end++;
        line++;
        char buf[256], what[300] = "";
        size_t len = end - at;
        if (memchr(text + at, 0, len)) {
            snprintf(what, sizeof what, "a NUL byte (this is not a text file)");
        } else if (len >= sizeof buf) {
            snprintf(what, sizeof what, "line longer than %zu bytes", sizeof buf - 1);
        } else {
            memcpy(buf, text + at, len);
            buf[len] = 0;
            char *l = trim(buf);
            if (*l && *l != '#') {
                char *eq = strchr(l, '=');
                char sk[64], sv[96];
                if (!eq) {
                    shown(l, sk, 40);
                    snprintf(what, sizeof what, "'%s' is not `key = value`", sk);
                } else {
                    *eq = 0;
                    /* a remark after the value: '#' at its start or after a blank (no value holds one) */
                    for (char *h = eq + 1; *h; h++)
                        if (*h == '#' && (h == eq + 1 || h[-1] == ' ' || h[-1] == '\t')) { *h = 0; break; }
                    char *k = trim(l), *v = trim(eq + 1);
                    int id = -1;
                    for (int i = 0; i < K__COUNT; i++)
                        if (strcasecmp(k, keys[i].name) == 0) id = i;
                    shown(k, sk, 40);
                    shown(v, sv, 60);
                    if (id < 0)
                        snprintf(what, sizeof what, "unknown key '%s' (keys: palette, smoothing, explain, equation, focus, "
                                 "expanded, heatmap, scatter_x, loss_scale, sort, mouse, tour_done)", sk);
                    else if (set_value(s, (key_id)id, v))
                        snprintf(what, sizeof what, "%s = '%s': expected %s", keys[id].name, sv, keys[id].expect);
                }
            }
        }
        if (what[0]) {
            if (!bad++) snprintf(first, sizeof first, "%d: %s", line, what);
        }
        at = end + 1;
    }
    if (!bad) return FR_OK;
    if (bad > 1) return fr_err_set(e, FR_EINPUT, "%s:%s (and %d more bad line%s; those settings keep their defaults)", path,
                                   first, bad - 1, bad > 2 ? "s" : "");
    return fr_err_set(e, FR_EINPUT, "%s:%s (that setting keeps its default)", path, first);
}

size_t fr_settings_format(const fr_settings *s, char *buf, size_t n)
{
    return (size_t)snprintf(buf, n,
                            "# frtui settings, written by the settings screen (F2 or , in the inspector).\n"
                            "# One `key = value` per line; edit freely.  A bad line is reported and skipped.\n"
                            "palette = %s\n"
                            "smoothing = %.4g\n"
                            "explain = %s\n"
                            "equation = %s\n"
                            "focus = %s\n"
                            "expanded = %s\n"
                            "heatmap = %s\n"
                            "scatter_x = %s\n"
                            "loss_scale = %s\n"
                            "sort = %s\n"
                            "mouse = %s\n"
                            "tour_done = %s\n",
                            s->palette, s->smooth, s->explain ? "on" : "off", s->equation ? "on" : "off",
                            fr_settings_panel_name(s->focus), fr_settings_panel_name(s->expanded),
                            fr_settings_heat_name(s->heat_qty), s->scatter_abs ? "abs" : "signed",
                            s->loss_logy ? "log" : "linear", fr_sort_name(s->sort), s->mouse ? "on" : "off",
                            s->tour_done ? "on" : "off");
}

int fr_settings_path(char *buf, size_t n)
{
    const char *p = getenv("FRTUI_CONFIG"), *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
    int k;
    if (p && *p) k = snprintf(buf, n, "%s", p);
    else if (x && *x == '/') k = snprintf(buf, n, "%s/frtui/config", x);   /* XDG: relative values are invalid */
    else if (h && *h) k = snprintf(buf, n, "%s/.config/frtui/config", h);
    else return 0;
    return k > 0 && (size_t)k < n;
}

int fr_settings_load(fr_settings *s, const char *path, int *existed, fr_err *e)
{
    fr_settings_default(s);
    *existed = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return FR_OK;   /* first start */
        return fr_err_set(e, FR_EIO, "%s: %s", path, strerror(errno));
    }
    *existed = 1;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = fr_read_file(path, FR_SETTINGS_MAX_BYTES, &data, &len, e);
    if (rc) {
        if (!strstr(e->msg, path)) fr_err_prefix(e, path);
        return rc;
    }
    rc = fr_settings_parse(s, (const char *)data, len, path, e);
    free(data);
    return rc;
}

/* The key a `key = value` line sets (K__COUNT when it sets none: blank, comment, junk). */
static int line_key(const char *l, size_t len)
{
    while (len && (*l == ' ' || *l == '\t')) l++, len--;
    const char *eq = memchr(l, '=', len);
    if (!eq || *l == '#') return K__COUNT;
    size_t k = (size_t)(eq - l);
    while (k && (l[k - 1] == ' ' || l[k - 1] == '\t')) k--;
    for (int i = 0; i < K__COUNT; i++)
        if (strlen(keys[i].name) == k && strncasecmp(l, keys[i].name, k) == 0) return i;
    return K__COUNT;
}

/* The user's file stays theirs: comments, blank lines, unknown and bad lines and the order are
 * kept; each known key's first line gets the new value (later repeats of it, which parse
 * would let override the first, are dropped so the saved value wins); keys the file does not
 * have are appended.  Without a readable file the whole formatted text is written. */
int fr_settings_save(const fr_settings *s, const char *path, fr_err *e)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        struct stat st;
        if (stat(dir, &st) != 0 && mkdir(dir, 0700) != 0 && errno != EEXIST)
            return fr_err_set(e, FR_EIO, "%s: cannot create the directory: %s", dir, strerror(errno));
    }
    char text[1024];
    size_t n = fr_settings_format(s, text, sizeof text);
    if (n >= sizeof text) n = sizeof text - 1;
    /* this value's line for each key, from the formatted text */
    const char *fl[K__COUNT] = {0};
    size_t fn[K__COUNT] = {0};
    for (size_t at = 0; at < n;) {
        size_t end = at;
        while (end < n && text[end] != '\n') end++;
        int k = line_key(text + at, end - at);
        if (k < K__COUNT) fl[k] = text + at, fn[k] = end - at;
        at = end + 1;
    }
    uint8_t *old = NULL;
    size_t on = 0;
    fr_err ig;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || fr_read_file(path, FR_SETTINGS_MAX_BYTES, &old, &on, &ig) != FR_OK ||
        (on && memchr(old, 0, on))) {
        free(old);
        return fr_atomic_write(path, text, n, e);
    }
    fr_sb out = {0};
    int done[K__COUNT] = {0};
    for (size_t at = 0; at < on;) {
        size_t end = at;
        while (end < on && old[end] != '\n') end++;
        int k = line_key((const char *)old + at, end - at);
        if (k == K__COUNT) {
            fr_sb_put(&out, old + at, end - at);
            fr_sb_putc(&out, '\n');
        } else if (!done[k]) {
            fr_sb_put(&out, fl[k], fn[k]);
            fr_sb_putc(&out, '\n');
            done[k] = 1;
        }
        at = end + 1;
    }
    for (int k = 0; k < K__COUNT; k++)
        if (!done[k] && fl[k]) {
            fr_sb_put(&out, fl[k], fn[k]);
            fr_sb_putc(&out, '\n');
        }
    free(old);
    int rc = fr_atomic_write(path, fr_sb_str(&out), out.n, e);
    fr_sb_free(&out);
    return rc;
}
