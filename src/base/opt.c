/* opt.c — table-driven option parser (contract in include/frtui/opt.h).
 *
 * Design note: two passes over argv with the same tokenizer.  The first applies only the
 * entries marked `first` (a preset must be in place before the flags that override it, wherever
 * they stand on the line) and reports every syntax error; the second applies the rest.  A value
 * is always the next argument (or the text after '='), so `--iters -5` reaches the range check
 * instead of being taken for an option, and the tokenizer alone decides what is positional.
 */
#include "frtui/opt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int fr_opt_int(const char *name, const char *v, long long lo, long long hi, long long *out, fr_err *e)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno == EINVAL) return fr_err_set(e, FR_EINPUT, "%s: '%s' is not an integer", name, v);
    if (errno == ERANGE || x < lo || x > hi) return fr_err_set(e, FR_EINPUT, "%s: %s is out of range %lld..%lld", name, v, lo, hi);
    *out = x;
    return FR_OK;
}

static int apply(fr_opt *o, const char *v, fr_err *e)
{
    long long x;
    switch (o->kind) {
    case FR_OPT_FLAG: *(int *)o->dst = o->val; return FR_OK;
    case FR_OPT_STR: *(const char **)o->dst = v; return FR_OK;
    case FR_OPT_INT:
        if (fr_opt_int(o->name, v, o->lo, o->hi, &x, e)) return e->code;
        *(int *)o->dst = (int)x;
        return FR_OK;
    case FR_OPT_U64:
        if (fr_opt_int(o->name, v, o->lo, o->hi, &x, e)) return e->code;
        *(uint64_t *)o->dst = (uint64_t)x;
        return FR_OK;
    case FR_OPT_SIZE:
        if (fr_opt_int(o->name, v, o->lo, o->hi, &x, e)) return e->code;
        *(size_t *)o->dst = (size_t)x;
        return FR_OK;
    case FR_OPT_FLOAT: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(d)) return fr_err_set(e, FR_EINPUT, "%s: '%s' is not a number", o->name, v);
        *(float *)o->dst = (float)d;
        return FR_OK;
    }
    case FR_OPT_CHOICE: {
        size_t n = strlen(v);
        int k = 0;
        for (const char *c = o->choices; *c; k++) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && strncmp(c, v, n) == 0) { *(int *)o->dst = k; return FR_OK; }
            c += len + (bar != NULL);
        }
        /* "block|layer" -> "block or layer", "a|b|c" -> "a, b or c" */
        char list[256];
        size_t m = 0;
        int nc = 1;
        for (const char *c = o->choices; *c; c++) nc += *c == '|';
        k = 0;
        for (const char *c = o->choices; *c && m + 8 < sizeof list; c++) {
            if (*c != '|') { list[m++] = *c; continue; }
            k++;
            const char *sep = k == nc - 1 ? " or " : ", ";
            for (; *sep && m + 8 < sizeof list; sep++) list[m++] = *sep;
        }
        list[m] = 0;
        return fr_err_set(e, FR_EINPUT, "%s: '%s': expected %s", o->name, v, list);
    }
    case FR_OPT_FN:
    case FR_OPT_FN0: return o->fn(o->name, v, o->dst, e);
    }
    return fr_err_set(e, FR_EINPUT, "%s: unsupported option kind", o->name);
}

fr_opt *fr_opt_find(fr_opt *opts, const char *name)
{
    for (fr_opt *o = opts; o->name; o++)
        if (strcmp(o->name, name) == 0 || (o->alias && strcmp(o->alias, name) == 0)) return o;
    return NULL;
}

int fr_opt_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    }
    return 0;
}

static int pass(fr_opt *opts, int argc, char **argv, int first, const char **pos, int max_pos, int *n_pos, fr_err *e)
{
    int np = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == 0) {
            if (np >= max_pos) return fr_err_set(e, FR_EINPUT, "unexpected argument '%s'", a);
            pos[np++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) { only_pos = 1; continue; }
        char name[64];
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof name) return fr_err_set(e, FR_EINPUT, "unknown option %.60s...", a);
        memcpy(name, a, len);
        name[len] = 0;
        fr_opt *o = fr_opt_find(opts, name);
        if (!o) return fr_err_set(e, FR_EINPUT, "unknown option %s", name);
        const char *v = NULL;
        if (o->kind == FR_OPT_FLAG || o->kind == FR_OPT_FN0) {
            if (eq) return fr_err_set(e, FR_EINPUT, "%s takes no value", name);
        } else if (eq) {
            v = eq + 1;
        } else {
            if (i + 1 >= argc) return fr_err_set(e, FR_EINPUT, "%s needs a value", name);
            v = argv[++i];
        }
        if (!!o->first != first) continue;
        o->seen++;
        if (apply(o, v, e)) return e->code;
    }
    if (n_pos) *n_pos = np;
    return FR_OK;
}

int fr_opt_parse(fr_opt *opts, int argc, char **argv, const char **pos, int max_pos, int *n_pos, fr_err *e)
{
    const char *scratch[1];
    if (!pos) { pos = scratch; max_pos = 0; }
    for (fr_opt *o = opts; o->name; o++) o->seen = 0;
    if (pass(opts, argc, argv, 1, pos, max_pos, n_pos, e)) return e->code;
    return pass(opts, argc, argv, 0, pos, max_pos, n_pos, e);
}
