/* sweep.c — the grid of `frtui sweep`: lists, spec files, points, names, run argv, sbatch text.
 *
 * Design note
 *   Pure functions of their inputs (sweep.h): the executor and the report are elsewhere, so the
 *   parser and the naming can be unit-tested without running anything (tests/test_sweep.c).
 *   Every refusal is one line naming the flag or "FILE:LINE: key", FR_EINPUT.
 *   Invariant: distinct points have distinct names, and a name depends on the point's
 *   parameters only — the directory is the point's identity across re-runs, grids that grow,
 *   and Slurm tasks.
 */
#include "frtui/sweep.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/qdefs.h"
#include "frtui/sb.h"

const char *const fr_sweep_axis_names[FR_SWEEP__AXES] = {"models", "methods", "bits", "grain", "act-bits", "lrs",
                                                         "iters", "seeds"};

void fr_sweep_spec_init(fr_sweep_spec *s)
{
    memset(s, 0, sizeof *s);
}

int fr_sweep_axis_from_name(const char *name)
{
    static const char *const singular[FR_SWEEP__AXES] = {"model", "method", "bit", "grains", "act", "lr", "iter",
                                                         "seed"};
    for (int a = 0; a < FR_SWEEP__AXES; a++)
        if (strcmp(name, fr_sweep_axis_names[a]) == 0 || strcmp(name, singular[a]) == 0) return a;
    return -1;
}

const char *fr_sweep_grain_name(int grain, char *buf, size_t n)
{
    if (grain == FR_SWEEP_GRAIN_TENSOR) snprintf(buf, n, "tensor");
    else if (grain == FR_SWEEP_GRAIN_CHANNEL) snprintf(buf, n, "channel");
    else snprintf(buf, n, "group%d", grain);
    return buf;
}

static int parse_ll(const char *t, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(t, &end, 10);
    if (end == t || *end || errno || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

/* One item of a list into slot k of the axis; "a..b" expands (integer axes only).  Returns the
 * new count, or -1 with e set. */
static int add_item(fr_sweep_spec *s, fr_sweep_axis axis, const char *t, int k, const char *where, fr_err *e)
{
    const char *dots = strstr(t, "..");
    if (dots && (axis == FR_SWEEP_BITS || axis == FR_SWEEP_ACT_BITS || axis == FR_SWEEP_ITERS || axis == FR_SWEEP_SEEDS)) {
        char a[64];
        long long lo, hi;
        snprintf(a, sizeof a, "%.*s", (int)(dots - t), t);
        if (parse_ll(a, 0, 2147483647LL, &lo) || parse_ll(dots + 2, 0, 2147483647LL, &hi) || hi < lo)
            return fr_err_set(e, FR_EINPUT, "%s: '%s' is not a range LO..HI of integers", where, t), -1;
        if (hi - lo >= FR_SWEEP_MAX_VALUES)
            return fr_err_set(e, FR_EINPUT, "%s: '%s' has more than %d values", where, t, FR_SWEEP_MAX_VALUES), -1;
        for (long long v = lo; v <= hi; v++) {
            char one[32];
            snprintf(one, sizeof one, "%lld", v);
            if ((k = add_item(s, axis, one, k, where, e)) < 0) return -1;
        }
        return k;
    }
    int cap = axis == FR_SWEEP_MODELS ? FR_SWEEP_MAX_MODELS : FR_SWEEP_MAX_VALUES;
    if (k >= cap) return fr_err_set(e, FR_EINPUT, "%s: more than %d values", where, cap), -1;
    long long x;
    switch (axis) {
    case FR_SWEEP_MODELS:
        if (strlen(t) >= sizeof s->model[0]) return fr_err_set(e, FR_EINPUT, "%s: '%.40s...' is too long", where, t), -1;
        snprintf(s->model[k], sizeof s->model[k], "%s", t);
        break;
    case FR_SWEEP_METHODS: {
        int m = fr_method_from_name(t);
        if (m < 0) return fr_err_set(e, FR_EINPUT, "%s: '%s': expected rtn, adaround or flexround", where, t), -1;
        s->method[k] = m;
        break;
    }
    case FR_SWEEP_BITS:
    case FR_SWEEP_ACT_BITS:
        if (parse_ll(t, axis == FR_SWEEP_BITS ? 2 : 0, 8, &x) || (axis == FR_SWEEP_ACT_BITS && x == 1))
            return fr_err_set(e, FR_EINPUT, "%s: '%s' is not %s", where, t,
                              axis == FR_SWEEP_BITS ? "a bit width 2..8" : "0 (weights only) or a bit width 2..8"), -1;
        (axis == FR_SWEEP_BITS ? s->bits : s->act_bits)[k] = (int)x;
        break;
    case FR_SWEEP_GRAIN:
        if (strcmp(t, "tensor") == 0) s->grain[k] = FR_SWEEP_GRAIN_TENSOR;
        else if (strcmp(t, "channel") == 0) s->grain[k] = FR_SWEEP_GRAIN_CHANNEL;
        else if (strncmp(t, "group", 5) == 0 && !parse_ll(t + 5, 16, 65536, &x) && x % 16 == 0) s->grain[k] = (int)x;
        else return fr_err_set(e, FR_EINPUT, "%s: '%s': expected tensor, channel or groupG (G a multiple of 16, e.g. group128)", where, t), -1;
        break;
    case FR_SWEEP_LRS: {
        char *end;
        errno = 0;
        double v = strtod(t, &end);
        if (end == t || *end || errno || !isfinite(v) || !(v > 0) || v > 10)
            return fr_err_set(e, FR_EINPUT, "%s: '%s' is not a learning rate (a number in (0, 10])", where, t), -1;
        s->lr[k] = (float)v;
        break;
    }
    case FR_SWEEP_ITERS:
        if (parse_ll(t, 0, 100000000LL, &x)) return fr_err_set(e, FR_EINPUT, "%s: '%s' is not an iteration count 0..100000000", where, t), -1;
        s->iters[k] = (int)x;
        break;
    case FR_SWEEP_SEEDS:
        if (parse_ll(t, 0, 2147483647LL, &x)) return fr_err_set(e, FR_EINPUT, "%s: '%s' is not a seed 0..2147483647", where, t), -1;
        s->seed[k] = x;
        break;
    default:
        FR_ASSERT(0);
    }
    /* a repeated value would be one directory claimed by two points */
    for (int j = 0; j < k; j++) {
        int same = axis == FR_SWEEP_MODELS ? strcmp(s->model[j], s->model[k]) == 0
                 : axis == FR_SWEEP_METHODS ? s->method[j] == s->method[k]
                 : axis == FR_SWEEP_BITS ? s->bits[j] == s->bits[k]
                 : axis == FR_SWEEP_GRAIN ? s->grain[j] == s->grain[k]
                 : axis == FR_SWEEP_ACT_BITS ? s->act_bits[j] == s->act_bits[k]
                 : axis == FR_SWEEP_LRS ? s->lr[j] == s->lr[k]
                 : axis == FR_SWEEP_ITERS ? s->iters[j] == s->iters[k] : s->seed[j] == s->seed[k];
        if (same) return fr_err_set(e, FR_EINPUT, "%s: '%s' is given twice", where, t), -1;
    }
    return k + 1;
}

int fr_sweep_set_axis(fr_sweep_spec *s, fr_sweep_axis axis, const char *value, const char *where, fr_err *e)
{
    FR_ASSERT(axis >= 0 && axis < FR_SWEEP__AXES);
    int k = 0;
    const char *p = value;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        char item[1024];
        if (len == 0) return fr_err_set(e, FR_EINPUT, "%s: empty value in '%s'", where, value);
        if (len >= sizeof item) return fr_err_set(e, FR_EINPUT, "%s: '%.40s...' is too long", where, p);
        memcpy(item, p, len);
        item[len] = 0;
        if ((k = add_item(s, axis, item, k, where, e)) < 0) return e->code;
        if (!c) break;
        p = c + 1;
    }
    s->n[axis] = k;
    return FR_OK;
}

int fr_sweep_add_run_arg(fr_sweep_spec *s, const char *w, const char *where, fr_err *e)
{
    /* the grid's own axes, and what the sweep decides per point (outputs, checkpoints) */
    static const char *const owned[] = {"--method", "--bits", "--act-bits", "--seed", "--iters", "--lr", "--per-channel",
                                        "--group-size", "--json", "--csv", "--checkpoint", "--checkpoint-every",
                                        "--resume", "--step", "--quiet", "-q", NULL};
    for (int i = 0; owned[i]; i++) {
        size_t l = strlen(owned[i]);
        if (strncmp(w, owned[i], l) == 0 && (w[l] == 0 || w[l] == '='))
            return fr_err_set(e, FR_EINPUT, "%s: %s is set by the sweep itself (a grid axis or a per-point output); "
                              "give it as a sweep flag, not a fixed run option", where, owned[i]);
    }
    if (s->n_run_args >= FR_SWEEP_MAX_RUN_ARGS) return fr_err_set(e, FR_EINPUT, "%s: more than %d run options", where, FR_SWEEP_MAX_RUN_ARGS);
    if (strlen(w) >= sizeof s->run_args[0]) return fr_err_set(e, FR_EINPUT, "%s: '%.40s...' is too long", where, w);
    snprintf(s->run_args[s->n_run_args++], sizeof s->run_args[0], "%s", w);
    return FR_OK;
}

int fr_sweep_set_run_args(fr_sweep_spec *s, const char *words, const char *where, fr_err *e)
{
    s->n_run_args = 0;
    const char *p = words;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) return FR_OK;
        const char *q = p;
        while (*q && !isspace((unsigned char)*q)) q++;
        char w[300];
        snprintf(w, sizeof w, "%.*s", (int)FR_MIN((size_t)(q - p), sizeof w - 1), p);
        if (fr_sweep_add_run_arg(s, w, where, e)) return e->code;
        p = q;
    }
}

int fr_sweep_parse_spec(fr_sweep_spec *s, const char *text, size_t n, const char *path, fr_err *e)
{
    int seen = 0, line = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && text[j] != '\n') j++;
        line++;
        char buf[4096];
        size_t len = j - i;
        if (len >= sizeof buf) return fr_err_set(e, FR_EINPUT, "%s:%d: line longer than %zu bytes", path, line, sizeof buf - 1);
        memcpy(buf, text + i, len);
        buf[len] = 0;
        i = j + 1;
        if (memchr(buf, 0, len)) return fr_err_set(e, FR_EINPUT, "%s:%d: NUL byte; not a text file", path, line);
        char *p = buf;
        while (isspace((unsigned char)*p)) p++;
        char *end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1])) *--end = 0;
        if (!*p || *p == '#') continue;
        char *eq = strchr(p, '=');
        if (!eq) return fr_err_set(e, FR_EINPUT, "%s:%d: expected 'key = value', got '%.60s'", path, line, p);
        char *k = p, *ke = eq, *v = eq + 1;
        while (ke > k && isspace((unsigned char)ke[-1])) ke--;
        *ke = 0;
        while (isspace((unsigned char)*v)) v++;
        char where[600];
        snprintf(where, sizeof where, "%.500s:%d: %.40s", path, line, k);
        int bit;
        if (strcmp(k, "run") == 0) {
            bit = FR_SWEEP__AXES;
            if ((seen >> bit) & 1) return fr_err_set(e, FR_EINPUT, "%s is given twice", where);
            if (fr_sweep_set_run_args(s, v, where, e)) return e->code;
        } else {
            int a = fr_sweep_axis_from_name(k);
            if (a < 0)
                return fr_err_set(e, FR_EINPUT, "%s: unknown key (expected models, methods, bits, grain, act-bits, lrs, "
                                  "iters, seeds or run)", where);
            bit = a;
            if ((seen >> bit) & 1) return fr_err_set(e, FR_EINPUT, "%s is given twice", where);
            if (!*v) return fr_err_set(e, FR_EINPUT, "%s: empty value", where);
            if (fr_sweep_set_axis(s, (fr_sweep_axis)a, v, where, e)) return e->code;
        }
        seen |= 1 << bit;
    }
    return FR_OK;
}

/* The model's base name without ".frm", with every byte outside [A-Za-z0-9.-] as '-': '_'
 * separates the fields of a point name. */
static void model_name(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t len = strlen(b);
    if (len > 4 && strcmp(b + len - 4, ".frm") == 0) len -= 4;
    if (len >= n) len = n - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)b[i];
        out[i] = isalnum(c) || c == '.' || c == '-' ? (char)c : '-';
    }
    out[len] = 0;
    if (!len || out[0] == '.') out[0] = len ? '-' : 0;   /* never "", ".", ".." or a hidden name */
    if (!len) snprintf(out, n, "model");
}

void fr_sweep_point_name(const fr_sweep_point *p, char *buf, size_t n)
{
    char g[24], lr[32], it[24], seed[32], act[16] = "";
    if (p->lr > 0) snprintf(lr, sizeof lr, "%g", (double)p->lr); else snprintf(lr, sizeof lr, "def");
    if (p->iters >= 0) snprintf(it, sizeof it, "%d", p->iters); else snprintf(it, sizeof it, "def");
    if (p->seed >= 0) snprintf(seed, sizeof seed, "%lld", (long long)p->seed); else snprintf(seed, sizeof seed, "def");
    if (p->act_bits) snprintf(act, sizeof act, "A%d", p->act_bits);
    snprintf(buf, n, "%s_%s_W%d%s_%s_lr%s_it%s_s%s", p->model_name, fr_method_name((fr_method)p->method), p->bits, act,
             fr_sweep_grain_name(p->grain, g, sizeof g), lr, it, seed);
}

int fr_sweep_points(const fr_sweep_spec *s, fr_sweep_point **out, int *n_out, fr_err *e)
{
    *out = NULL;
    *n_out = 0;
    if (!s->n[FR_SWEEP_MODELS]) return fr_err_set(e, FR_EINPUT, "no model: give MODEL.frm (or --models, or models = in the spec)");
    int cnt[FR_SWEEP__AXES];
    long long total = 1;
    for (int a = 0; a < FR_SWEEP__AXES; a++) {
        cnt[a] = s->n[a] ? s->n[a] : 1;
        total *= cnt[a];
        if (total > FR_SWEEP_MAX_POINTS)
            return fr_err_set(e, FR_EINPUT, "the grid has more than %d points", FR_SWEEP_MAX_POINTS);
    }
    fr_sweep_point *pt = fr_xcalloc((size_t)total, sizeof *pt);
    int idx[FR_SWEEP__AXES] = {0};
    for (long long k = 0; k < total; k++) {
        /* mixed-radix counter, the last axis (seeds) fastest */
        long long r = k;
        for (int a = FR_SWEEP__AXES - 1; a >= 0; a--) { idx[a] = (int)(r % cnt[a]); r /= cnt[a]; }
        fr_sweep_point *p = &pt[k];
        p->index = (int)k;
        p->model = s->model[idx[FR_SWEEP_MODELS]];
        model_name(p->model, p->model_name, sizeof p->model_name);
        p->method = s->n[FR_SWEEP_METHODS] ? s->method[idx[FR_SWEEP_METHODS]] : FR_METHOD_FLEXROUND;
        p->bits = s->n[FR_SWEEP_BITS] ? s->bits[idx[FR_SWEEP_BITS]] : 4;
        p->grain = s->n[FR_SWEEP_GRAIN] ? s->grain[idx[FR_SWEEP_GRAIN]] : FR_SWEEP_GRAIN_TENSOR;
        p->act_bits = s->n[FR_SWEEP_ACT_BITS] ? s->act_bits[idx[FR_SWEEP_ACT_BITS]] : 0;
        p->lr = s->n[FR_SWEEP_LRS] ? s->lr[idx[FR_SWEEP_LRS]] : 0;
        p->iters = s->n[FR_SWEEP_ITERS] ? s->iters[idx[FR_SWEEP_ITERS]] : -1;
        p->seed = s->n[FR_SWEEP_SEEDS] ? s->seed[idx[FR_SWEEP_SEEDS]] : -1;
        fr_sweep_point_name(p, p->name, sizeof p->name);
    }
    /* Values are distinct per axis, so only model base names can collide: compare within the
     * first point of each model. */
    long long per_model = total / cnt[FR_SWEEP_MODELS];
    for (int a = 0; a < cnt[FR_SWEEP_MODELS]; a++)
        for (int b = 0; b < a; b++)
            if (strcmp(pt[a * per_model].model_name, pt[b * per_model].model_name) == 0) {
                fr_err_set(e, FR_EINPUT, "models %s and %s share the name '%s', which names the point directories; "
                           "rename one", pt[b * per_model].model, pt[a * per_model].model, pt[a * per_model].model_name);
                free(pt);
                return e->code;
            }
    *out = pt;
    *n_out = (int)total;
    return FR_OK;
}

int fr_sweep_run_args(const fr_sweep_spec *s, const fr_sweep_point *p, char **argv, int cap, char *store, size_t store_n)
{
    int n = 0;
    size_t used = 0;
#define PUSH(...)                                                                                       \
    do {                                                                                                \
        if (n >= cap || used >= store_n) return -1;                                                     \
        int w_ = snprintf(store + used, store_n - used, __VA_ARGS__);                                   \
        if (w_ < 0 || (size_t)w_ >= store_n - used) return -1;                                          \
        argv[n++] = store + used;                                                                       \
        used += (size_t)w_ + 1;                                                                         \
    } while (0)
    PUSH("%s", p->model);
    PUSH("--method");
    PUSH("%s", fr_method_name((fr_method)p->method));
    PUSH("--bits");
    PUSH("%d", p->bits);
    if (p->act_bits) { PUSH("--act-bits"); PUSH("%d", p->act_bits); }
    if (p->grain == FR_SWEEP_GRAIN_CHANNEL) PUSH("--per-channel");
    else if (p->grain != FR_SWEEP_GRAIN_TENSOR) { PUSH("--group-size"); PUSH("%d", p->grain); }
    /* %.9g: the float the run parses back is the one the name was made from */
    if (p->lr > 0) { PUSH("--lr"); PUSH("%.9g", (double)p->lr); }
    if (p->iters >= 0) { PUSH("--iters"); PUSH("%d", p->iters); }
    if (p->seed >= 0) { PUSH("--seed"); PUSH("%lld", (long long)p->seed); }
    for (int i = 0; i < s->n_run_args; i++) PUSH("%s", s->run_args[i]);
#undef PUSH
    return n;
}

void fr_sweep_sh_quote(fr_sb *b, const char *s)
{
    fr_sb_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') fr_sb_puts(b, "'\\''");
        else fr_sb_putc(b, *s);
    }
    fr_sb_putc(b, '\'');
}

void fr_sweep_slurm_script(fr_sb *b, const char *frtui, const char *cwd, const char *dir, int n_points, int threads,
                           char **args, int n_args)
{
    fr_sb_printf(b, "#!/bin/sh\n"
                 "# frtui sweep as a Slurm job array: %d point(s), task K runs point K (frtui sweep --point K).\n"
                 "# Written by `frtui sweep --emit-slurm`.  Submit the array and, after it, the merge step:\n"
                 "#     sh THIS_FILE --submit\n"
                 "# or the array alone (merge later with `frtui sweep-report DIR`):\n"
                 "#     sbatch THIS_FILE\n"
                 "# Finished points are skipped and interrupted ones resume from their checkpoints, so a\n"
                 "# requeued or resubmitted task continues where it stopped.  Each task uses %d thread(s);\n"
                 "# the same seed and thread count give bit-identical results on any node.\n"
                 "#SBATCH --job-name=frtui-sweep\n"
                 "#SBATCH --array=0-%d\n"
                 "#SBATCH --cpus-per-task=%d\n"
                 "#SBATCH --ntasks=1\n", n_points, threads, n_points - 1, threads);
    fr_sb_puts(b, "#SBATCH --output=");
    fr_sb_puts(b, dir);   /* #SBATCH lines are not shell: no quoting (paths with spaces do not work there) */
    fr_sb_puts(b, "/slurm-%A_%a.out\n\nFRTUI=");
    fr_sweep_sh_quote(b, frtui);
    fr_sb_puts(b, "\nSWEEP_DIR=");
    fr_sweep_sh_quote(b, dir);
    fr_sb_puts(b, "\ncd ");
    fr_sweep_sh_quote(b, cwd);
    fr_sb_puts(b, " || exit 1\n"
                  "if [ \"$1\" = --submit ]; then\n"
                  "    jid=$(sbatch --parsable \"$0\") || exit 1\n"
                  "    sbatch --dependency=afterany:\"${jid%%;*}\" --job-name=frtui-sweep-report \\\n"
                  "        --output=\"$SWEEP_DIR/slurm-report-%j.out\" --wrap \"'$FRTUI' sweep-report '$SWEEP_DIR'\"\n"
                  "    exit\n"
                  "fi\n"
                  ": \"${SLURM_ARRAY_TASK_ID:?not a Slurm array task: submit with sbatch or sh THIS_FILE --submit}\"\n"
                  "exec \"$FRTUI\" sweep");
    for (int i = 0; i < n_args; i++) {
        fr_sb_putc(b, ' ');
        fr_sweep_sh_quote(b, args[i]);
    }
    fr_sb_printf(b, " --jobs 1 --threads %d --point \"$SLURM_ARRAY_TASK_ID\"\n", threads);
}
