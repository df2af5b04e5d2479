/* keymap.h — the one key table: dispatch, the ?/F1 help overlay, the function bar and
 * `frtui --help-keys` are all generated from it.
 *
 * Keys are ints: printable ASCII and control codes as themselves, special keys as FR_KEY_*
 * (outside the Unicode range so they never collide with typed characters).  Letters are the
 * primary bindings; F-keys are aliases (F-keys are often eaten by terminals, htop#998).
 */
#ifndef FRTUI_KEYMAP_H
#define FRTUI_KEYMAP_H

#include <stdio.h>

enum {
    FR_KEY_BASE = 0x110000,
    FR_KEY_UP, FR_KEY_DOWN, FR_KEY_LEFT, FR_KEY_RIGHT, FR_KEY_PGUP, FR_KEY_PGDN, FR_KEY_HOME,
    FR_KEY_END, FR_KEY_BTAB, FR_KEY_RESIZE, FR_KEY_BS,
    FR_KEY_F0 = FR_KEY_BASE + 0x100   /* FR_KEY_F0 + n is Fn */
};
#define FR_KEY_F(n) (FR_KEY_F0 + (n))
#define FR_KEY_CTRL(c) ((c) & 0x1f)
#define FR_KEY_TAB '\t'
#define FR_KEY_ENTER '\n'
#define FR_KEY_ESC 27

typedef enum fr_action {
    FR_ACT_NONE = 0,
    FR_ACT_QUIT, FR_ACT_HELP, FR_ACT_DOWN, FR_ACT_UP, FR_ACT_LEFT, FR_ACT_RIGHT,
    FR_ACT_UNIT_NEXT, FR_ACT_UNIT_PREV, FR_ACT_TOP, FR_ACT_BOTTOM, FR_ACT_PAGE_DOWN, FR_ACT_PAGE_UP,
    FR_ACT_LAYER_NEXT, FR_ACT_LAYER_PREV, FR_ACT_FOCUS_NEXT, FR_ACT_FOCUS_PREV, FR_ACT_EXPAND,
    FR_ACT_BACK, FR_ACT_ZOOM_IN, FR_ACT_ZOOM_OUT, FR_ACT_ZOOM_RESET, FR_ACT_FOLLOW, FR_ACT_LOGY,
    FR_ACT_HEAT_CYCLE, FR_ACT_SCATTER_ABS, FR_ACT_EXPLAIN, FR_ACT_COMPARE, FR_ACT_RECIP,
    FR_ACT_FREEZE, FR_ACT_PAUSE, FR_ACT_STEP, FR_ACT_STEP_MODE, FR_ACT_RESTART, FR_ACT_METHOD,
    FR_ACT_BITS, FR_ACT_ITERS, FR_ACT_EXPORT, FR_ACT_CHECKPOINT, FR_ACT_REPAINT, FR_ACT_FOLLOW_RUN,
    FR_ACT_YES, FR_ACT_NO, FR_ACT_SMOOTH_LESS, FR_ACT_SMOOTH_MORE,
    FR_ACT_EQUATION, FR_ACT_FILTER, FR_ACT_SORT, FR_ACT_TOUR, FR_ACT_SETTINGS,
    FR_ACT_TIME_BACK, FR_ACT_TIME_FWD, FR_ACT_LOSS_X, FR_ACT_CSV, FR_ACT_ANIM, FR_ACT_SLIDES,
    FR_ACT_CHANNELS, FR_ACT_OPEN,
    FR_ACT__COUNT
} fr_action;

/* Contexts are modal: NORMAL (the inspector), HELP (overlay shown), CONFIRM (y/n prompt),
 * SETTINGS (the settings screen), SWEEP (the sweep view of `frtui DIR`, sweepview.h).  Typing into the unit filter (`/`) is a text mode outside
 * the table: every key is text there until Enter or Esc (htop#959: remapped letters must not
 * eat typed ones). */
enum { FR_CTX_NORMAL = 1, FR_CTX_HELP = 2, FR_CTX_CONFIRM = 4, FR_CTX_SETTINGS = 8, FR_CTX_SWEEP = 16 };
enum { FR_KF_WORKER = 1,   /* drives the optimiser: disabled (greyed) in read-only replay */
       FR_KF_PREFIX_G = 2  /* bound to the two-key sequence "gg" (keys[0] == 'g') */ };

#define FR_KEYMAP_MAX_KEYS 4
typedef struct fr_keybind {
    int keys[FR_KEYMAP_MAX_KEYS];  /* 0-terminated when fewer */
    int fkey;                      /* 0 or n for Fn (alias) */
    fr_action act;
    unsigned ctx;                  /* FR_CTX_* mask */
    unsigned flags;                /* FR_KF_* */
    const char *label;             /* function-bar label (NULL: not on the bar) */
    const char *help;              /* help line */
    const char *group;             /* help section */
} fr_keybind;

extern const fr_keybind fr_keymap[];
extern const int fr_keymap_len;

/* The binding for key in ctx (F-key aliases included), or NULL. */
const fr_keybind *fr_keymap_lookup(int key, unsigned ctx);
/* Human name of a key: "j", "Down", "F1", "C-l", "Tab", "?" ... (static buffer per call site
 * is not used: writes into buf). */
const char *fr_keymap_key_name(int key, char *buf, size_t n);
/* "j Down" style list of all keys of a binding, F-key alias last. */
void fr_keymap_keys_text(const fr_keybind *b, char *buf, size_t n);
/* Plain-text key table for `frtui --help-keys` and the README (markdown table when md). */
void fr_keymap_print_help(FILE *out);
void fr_keymap_print_markdown(FILE *out);
const char *fr_action_name(fr_action a);
/* The first binding of act in ctx, or NULL (footer hints name keys through it, so a hint can
 * never show a key the table does not bind). */
const fr_keybind *fr_keymap_for_action(fr_action act, unsigned ctx);

#endif
