/* keymap.c — the key table (keymap.h) and everything generated from it.
 *
 * Design note
 *   One static const table; no runtime registration, so the help overlay, the function bar,
 *   --help-keys and dispatch can never disagree.  Letters are primary; every F-key is an
 *   alias of a letter.  Vim keys are always on and no single letter has two meanings in the
 *   same context (tests check this).  Movement keys carry one generic action (FR_ACT_DOWN...)
 *   that the view interprets for the focused panel, instead of per-panel duplicates.
 *
 *   `n`/`N` step through units because `p` is pause (the issue asks for both "n/p" and
 *   "p pause"; pausing is the more common action while watching a run).
 */
#include "frtui/keymap.h"

#include <string.h>

#define C FR_CTX_NORMAL
#define W FR_KF_WORKER

const fr_keybind fr_keymap[] = {
    /* --- bar entries first, in bar order --- */
    {{'?'}, 1, FR_ACT_HELP, C, 0, "Help", "help: this overlay, generated from the key table", "General"},
    {{'p'}, 9, FR_ACT_PAUSE, C, W, "Pause", "pause / resume the optimiser (the view stays live)", "Run control"},
    {{'o'}, 5, FR_ACT_STEP, C, W, "Step", "step: run one unit, then pause", "Run control"},
    {{'f'}, 7, FR_ACT_FREEZE, C, 0, "Freeze", "freeze / unfreeze the view (the optimiser keeps going)", "View"},
    {{'c'}, 3, FR_ACT_COMPARE, C, 0, "Compare", "compare RTN / AdaRound / FlexRound on this unit (computes them if needed)", "View"},
    {{'i'}, 4, FR_ACT_EXPLAIN, C, 0, "Explain", "explain panel: how to read the focused view", "View"},
    {{'e'}, 8, FR_ACT_EXPORT, C, 0, "Export", "export the focused view as PNG, as it is shown (with the equation strip open, the strip too)", "Files"},
    {{'s'}, 0, FR_ACT_CHECKPOINT, C, W, "Ckpt", "write a checkpoint now", "Files"},
    {{'C'}, 0, FR_ACT_CSV, C, 0, NULL, "loss curve as CSV (compare view: every method's)", "Files"},
    {{'P'}, 0, FR_ACT_ANIM, C, 0, NULL, "replay: S evolving as an animated PNG and a PNG per moment", "Files"},
    {{'X'}, 0, FR_ACT_SLIDES, C, 0, NULL, "slides: every view of this unit as a labelled 1920x1080 PNG", "Files"},
    {{'q'}, 10, FR_ACT_QUIT, C, 0, "Quit", "quit (asks first while the optimiser runs)", "General"},
    {{'T'}, 0, FR_ACT_TOUR, C | FR_CTX_HELP, 0, NULL, "guided tour of the screen (T again: next step; also from this help)", "General"},
    {{','}, 2, FR_ACT_SETTINGS, C, 0, NULL, "settings screen: palette, smoothing, start-up panels (saved to the config file)", "General"},
    /* --- movement --- */
    {{'j', FR_KEY_DOWN}, 0, FR_ACT_DOWN, C, 0, NULL, "down: next unit (list) / move heatmap cursor", "Move"},
    {{'k', FR_KEY_UP}, 0, FR_ACT_UP, C, 0, NULL, "up: previous unit (list) / move heatmap cursor", "Move"},
    {{'h', FR_KEY_LEFT}, 0, FR_ACT_LEFT, C, 0, NULL, "left: heatmap cursor / loss value cursor (a zoomed window pans at the edge)", "Move"},
    {{'l', FR_KEY_RIGHT}, 0, FR_ACT_RIGHT, C, 0, NULL, "right: heatmap cursor / loss value cursor (past the end: follow the newest)", "Move"},
    {{'n'}, 0, FR_ACT_UNIT_NEXT, C, 0, NULL, "next unit (from any panel)", "Move"},
    {{'N'}, 0, FR_ACT_UNIT_PREV, C, 0, NULL, "previous unit (from any panel)", "Move"},
    {{']'}, 0, FR_ACT_LAYER_NEXT, C, 0, NULL, "next layer inside a block unit", "Move"},
    {{'['}, 0, FR_ACT_LAYER_PREV, C, 0, NULL, "previous layer inside a block unit", "Move"},
    {{'g', FR_KEY_HOME}, 0, FR_ACT_TOP, C, FR_KF_PREFIX_G, NULL, "gg / Home: first unit / heatmap top-left", "Move"},
    {{'G', FR_KEY_END}, 0, FR_ACT_BOTTOM, C, 0, NULL, "last unit / heatmap bottom-right", "Move"},
    {{FR_KEY_CTRL('d'), FR_KEY_PGDN}, 0, FR_ACT_PAGE_DOWN, C, 0, NULL, "half page down", "Move"},
    {{FR_KEY_CTRL('u'), FR_KEY_PGUP}, 0, FR_ACT_PAGE_UP, C, 0, NULL, "half page up", "Move"},
    {{'u'}, 0, FR_ACT_FOLLOW_RUN, C, 0, NULL, "jump to the running unit (and follow it)", "Move"},
    {{FR_KEY_TAB}, 0, FR_ACT_FOCUS_NEXT, C, 0, NULL, "focus next panel", "Panels"},
    {{FR_KEY_BTAB}, 0, FR_ACT_FOCUS_PREV, C, 0, NULL, "focus previous panel", "Panels"},
    {{'z', FR_KEY_ENTER}, 0, FR_ACT_EXPAND, C, 0, NULL, "expand the focused panel to the whole body / restore", "Panels"},
    {{FR_KEY_ESC}, 0, FR_ACT_BACK, C, 0, NULL, "back: leave expand / compare / reciprocal view", "Panels"},
    /* --- view options --- */
    {{'+', '='}, 0, FR_ACT_ZOOM_IN, C, 0, NULL, "zoom in (heatmap: scale; loss: iteration window)", "View"},
    {{'-', '_'}, 0, FR_ACT_ZOOM_OUT, C, 0, NULL, "zoom out", "View"},
    {{'0'}, 0, FR_ACT_ZOOM_RESET, C, 0, NULL, "reset zoom", "View"},
    {{'t'}, 0, FR_ACT_FOLLOW, C, 0, NULL, "loss: follow the newest iteration (tail)", "View"},
    {{'y'}, 0, FR_ACT_LOGY, C, 0, NULL, "loss: log / linear y axis", "View"},
    {{'{'}, 0, FR_ACT_SMOOTH_LESS, C, 0, NULL, "loss: less EMA smoothing", "View"},
    {{'}'}, 0, FR_ACT_SMOOTH_MORE, C, 0, NULL, "loss: more EMA smoothing (capped at 0.999)", "View"},
    {{'v'}, 0, FR_ACT_HEAT_CYCLE, C, 0, NULL, "heatmap: S2 -> S2*s3*s4 -> shift (max |shift| per tile) -> mean |shift| per tile -> h(V)", "View"},
    {{'a'}, 0, FR_ACT_SCATTER_ABS, C, 0, NULL, "scatter: x = |W| or signed W", "View"},
    {{'R'}, 0, FR_ACT_RECIP, C, 0, NULL, "reciprocal rule: dL/dS2 against W", "View"},
    {{'W'}, 0, FR_ACT_CHANNELS, C, 0, NULL, "channel view: max |W| per output / input channel, outlier channels (> 6x the median) listed", "View"},
    {{'E'}, 0, FR_ACT_EQUATION, C, 0, NULL, "equation strip: FlexRound's formula with the numbers of the weight under the heatmap cursor", "View"},
    /* --- unit list --- */
    {{'/'}, 0, FR_ACT_FILTER, C, 0, NULL, "filter the unit list by name (type; Enter keeps it, Esc clears it)", "Unit list"},
    {{'O'}, 0, FR_ACT_SORT, C, 0, NULL, "sort the unit list: run order, loss, loss vs RTN, aggressive %, clipped %", "Unit list"},
    {{FR_KEY_CTRL('l')}, 0, FR_ACT_REPAINT, C, 0, NULL, "repaint the screen", "View"},
    {{'<'}, 0, FR_ACT_TIME_BACK, C, 0, NULL, "replay: step back in time (heatmap, scatter, histograms, stats as they were)", "View"},
    {{'>'}, 0, FR_ACT_TIME_FWD, C, 0, NULL, "replay: step forward in time (to the end: the run as saved)", "View"},
    {{'x'}, 0, FR_ACT_LOSS_X, C, 0, NULL, "loss: x axis by iteration / wall time (live runs record the clock)", "View"},
    /* --- run control for the next run --- */
    {{'d'}, 6, FR_ACT_STEP_MODE, C, W, NULL, "debugger mode: pause after every unit (toggle)", "Run control"},
    {{'r'}, 0, FR_ACT_RESTART, C, W, NULL, "restart the selected unit (and the ones after it)", "Run control"},
    {{'m'}, 0, FR_ACT_METHOD, C, W, NULL, "method for the next unit / restart: rtn, adaround, flexround", "Run control"},
    {{'b'}, 0, FR_ACT_BITS, C, W, NULL, "weight bits for the next unit / restart (cycles 2..8)", "Run control"},
    {{'I'}, 0, FR_ACT_ITERS, C, W, NULL, "iterations per unit for the next unit / restart (cycles)", "Run control"},
    /* --- help overlay --- */
    {{FR_KEY_ESC, 'q', '?'}, 1, FR_ACT_BACK, FR_CTX_HELP, 0, NULL, "close help", "Help overlay"},
    {{'j', FR_KEY_DOWN}, 0, FR_ACT_DOWN, FR_CTX_HELP, 0, NULL, "scroll down", "Help overlay"},
    {{'k', FR_KEY_UP}, 0, FR_ACT_UP, FR_CTX_HELP, 0, NULL, "scroll up", "Help overlay"},
    /* --- settings screen --- */
    {{',', FR_KEY_ESC, 'q'}, 2, FR_ACT_SETTINGS, FR_CTX_SETTINGS, 0, NULL, "save and close the settings screen", "Settings screen"},
    {{'j', FR_KEY_DOWN}, 0, FR_ACT_DOWN, FR_CTX_SETTINGS, 0, NULL, "next setting", "Settings screen"},
    {{'k', FR_KEY_UP}, 0, FR_ACT_UP, FR_CTX_SETTINGS, 0, NULL, "previous setting", "Settings screen"},
    {{'l', FR_KEY_RIGHT, FR_KEY_ENTER, ' '}, 0, FR_ACT_RIGHT, FR_CTX_SETTINGS, 0, NULL, "next value", "Settings screen"},
    {{'h', FR_KEY_LEFT}, 0, FR_ACT_LEFT, FR_CTX_SETTINGS, 0, NULL, "previous value", "Settings screen"},
    /* --- sweep view (`frtui DIR`): its own screen, so its own context --- */
    {{'j', FR_KEY_DOWN}, 0, FR_ACT_DOWN, FR_CTX_SWEEP, 0, NULL, "next point", "Sweep view"},
    {{'k', FR_KEY_UP}, 0, FR_ACT_UP, FR_CTX_SWEEP, 0, NULL, "previous point", "Sweep view"},
    {{'g', FR_KEY_HOME}, 0, FR_ACT_TOP, FR_CTX_SWEEP, 0, NULL, "first point", "Sweep view"},
    {{'G', FR_KEY_END}, 0, FR_ACT_BOTTOM, FR_CTX_SWEEP, 0, NULL, "last point", "Sweep view"},
    {{FR_KEY_CTRL('d'), FR_KEY_PGDN}, 0, FR_ACT_PAGE_DOWN, FR_CTX_SWEEP, 0, NULL, "half page down", "Sweep view"},
    {{FR_KEY_CTRL('u'), FR_KEY_PGUP}, 0, FR_ACT_PAGE_UP, FR_CTX_SWEEP, 0, NULL, "half page up", "Sweep view"},
    {{FR_KEY_ENTER, 'z'}, 0, FR_ACT_OPEN, FR_CTX_SWEEP, 0, NULL, "open the point's run (its run.frc replay); q there comes back", "Sweep view"},
    {{'?'}, 1, FR_ACT_HELP, FR_CTX_SWEEP, 0, NULL, "these keys (any key closes)", "Sweep view"},
    {{FR_KEY_CTRL('l')}, 0, FR_ACT_REPAINT, FR_CTX_SWEEP, 0, NULL, "re-read the folder and repaint (it is re-read every second anyway)", "Sweep view"},
    {{'q', FR_KEY_ESC}, 10, FR_ACT_QUIT, FR_CTX_SWEEP, 0, NULL, "quit the sweep view", "Sweep view"},
    /* --- confirmation prompt --- */
    {{'y', 'Y', FR_KEY_ENTER}, 0, FR_ACT_YES, FR_CTX_CONFIRM, 0, NULL, "confirm", "Prompt"},
    {{'n', 'N', FR_KEY_ESC}, 0, FR_ACT_NO, FR_CTX_CONFIRM, 0, NULL, "cancel", "Prompt"},
};
const int fr_keymap_len = (int)(sizeof fr_keymap / sizeof fr_keymap[0]);

const fr_keybind *fr_keymap_lookup(int key, unsigned ctx)
{
    for (int i = 0; i < fr_keymap_len; i++) {
        const fr_keybind *b = &fr_keymap[i];
        if (!(b->ctx & ctx)) continue;
        if (b->fkey && key == FR_KEY_F(b->fkey)) return b;
        for (int k = 0; k < FR_KEYMAP_MAX_KEYS && b->keys[k]; k++)
            if (b->keys[k] == key) return b;
    }
    return NULL;
}

const char *fr_keymap_key_name(int key, char *buf, size_t n)
{
    static const char *const special[] = {"", "Up", "Down", "Left", "Right", "PgUp", "PgDn", "Home", "End", "S-Tab", "Resize", "BS"};
    if (key >= FR_KEY_F0 && key < FR_KEY_F0 + 64) snprintf(buf, n, "F%d", key - FR_KEY_F0);
    else if (key > FR_KEY_BASE && key <= FR_KEY_BS) snprintf(buf, n, "%s", special[key - FR_KEY_BASE]);
    else if (key == '\t') snprintf(buf, n, "Tab");
    else if (key == '\n') snprintf(buf, n, "Enter");
    else if (key == 27) snprintf(buf, n, "Esc");
    else if (key == ' ') snprintf(buf, n, "Space");
    else if (key > 0 && key < 32) snprintf(buf, n, "C-%c", key + 'a' - 1);
    else if (key > 32 && key < 127) snprintf(buf, n, "%c", key);
    else snprintf(buf, n, "#%d", key);
    return buf;
}

void fr_keymap_keys_text(const fr_keybind *b, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    char nm[16];
    for (int i = 0; i < FR_KEYMAP_MAX_KEYS && b->keys[i]; i++) {
        fr_keymap_key_name(b->keys[i], nm, sizeof nm);
        if ((b->flags & FR_KF_PREFIX_G) && b->keys[i] == 'g') snprintf(nm, sizeof nm, "gg");
        k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s", i ? " " : "", nm);
    }
    if (b->fkey && k < n) snprintf(buf + k, n - k, "%sF%d", k ? " " : "", b->fkey);
}

static const char *const act_names[FR_ACT__COUNT] = {
    "none", "quit", "help", "down", "up", "left", "right", "unit-next", "unit-prev", "top", "bottom",
    "page-down", "page-up", "layer-next", "layer-prev", "focus-next", "focus-prev", "expand", "back",
    "zoom-in", "zoom-out", "zoom-reset", "follow", "log-y", "heat-cycle", "scatter-abs", "explain",
    "compare", "reciprocal", "freeze", "pause", "step", "step-mode", "restart", "method", "bits",
    "iters", "export", "checkpoint", "repaint", "follow-running", "yes", "no", "smooth-less", "smooth-more",
    "equation", "filter", "sort", "tour", "settings",
    "time-back", "time-forward", "loss-x-axis", "csv", "animation", "slides", "channels", "open",
};

const fr_keybind *fr_keymap_for_action(fr_action act, unsigned ctx)
{
    for (int i = 0; i < fr_keymap_len; i++)
        if (fr_keymap[i].act == act && (fr_keymap[i].ctx & ctx)) return &fr_keymap[i];
    return NULL;
}

const char *fr_action_name(fr_action a) { return (unsigned)a < FR_ACT__COUNT ? act_names[a] : "?"; }

/* A table cell: '|' (as in |W|, |shift|) escaped, or Markdown would end the cell there. */
static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputc('\\', out);
        fputc(*s, out);
    }
}

static void print_table(FILE *out, int md)
{
    /* fixed group order (the table itself is in function-bar order) */
    static const char *const groups[] = {"General", "Move", "Unit list", "Panels", "View", "Run control", "Files",
                                         "Help overlay", "Settings screen", "Prompt", "Sweep view"};
    if (md) fprintf(out, "| Keys | Action | Group |\n|---|---|---|\n");
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        if (!md) fprintf(out, "%s%s\n", g ? "\n" : "", groups[g]);
        for (int i = 0; i < fr_keymap_len; i++) {
            const fr_keybind *b = &fr_keymap[i];
            if (strcmp(b->group, groups[g]) != 0) continue;
            char keys[64];
            fr_keymap_keys_text(b, keys, sizeof keys);
            int run = (b->flags & FR_KF_WORKER) != 0;
            if (md) {
                fprintf(out, "| `%s` | ", keys);
                md_cell(out, b->help);
                fprintf(out, "%s | %s |\n", run ? " (disabled in read-only replay)" : "", b->group);
            }
            else
                fprintf(out, "  %-16s %s%s\n", keys, b->help, run ? "  [run]" : "");
        }
    }
}

void fr_keymap_print_help(FILE *out)
{
    fprintf(out, "frtui keys (letters are primary; F-keys are aliases; [run] = changes the optimiser,\n"
                 "disabled when replaying a checkpoint)\n\n");
    print_table(out, 0);
}

void fr_keymap_print_markdown(FILE *out) { print_table(out, 1); }
