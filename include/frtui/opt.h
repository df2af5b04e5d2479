/* opt.h — the one command-line parser of frtui and frtui-dev: a table of options per command.
 *
 * Every sub-command, the inspector and the developer tools describe their options as an
 * fr_opt table and call fr_opt_parse, so they all accept `--name value` and `--name=value`,
 * stop at `--`, say "unknown option --foo" for what is not in the table, and reject a value that
 * is not a number with the option's name ("--bits: 'four' is not an integer").
 */
#ifndef FRTUI_OPT_H
#define FRTUI_OPT_H

#include <stdint.h>

#include "frtui/common.h"

typedef enum fr_opt_kind {
    FR_OPT_FLAG,     /* no value: *(int *)dst = val */
    FR_OPT_STR,      /* *(const char **)dst = the value (points into argv) */
    FR_OPT_INT,      /* *(int *)dst, an integer in lo..hi */
    FR_OPT_U64,      /* *(uint64_t *)dst, lo..hi (lo >= 0) */
    FR_OPT_SIZE,     /* *(size_t *)dst, lo..hi (lo >= 0) */
    FR_OPT_FLOAT,    /* *(float *)dst, a finite number */
    FR_OPT_CHOICE,   /* *(int *)dst = index of the value in choices ("block|layer") */
    FR_OPT_FN,       /* fn(name, value, dst, e) decides */
    FR_OPT_FN0,      /* no value: fn(name, NULL, dst, e) */
} fr_opt_kind;

typedef struct fr_opt {
    const char *name;    /* "--bits"; NULL ends a table */
    const char *alias;   /* "-o", or NULL */
    fr_opt_kind kind;
    void *dst;
    long long lo, hi;    /* FR_OPT_INT / U64 / SIZE range */
    int val;             /* FR_OPT_FLAG: the value stored */
    const char *choices; /* FR_OPT_CHOICE */
    int (*fn)(const char *name, const char *value, void *dst, fr_err *e);
    int first;           /* applied before every other option (--preset: later flags override it) */
    int seen;            /* set by fr_opt_parse: how often the option was given */
} fr_opt;

/* Parses argv[1..argc-1].  Arguments that are not options go to pos[0..max_pos-1] and their
 * count to *n_pos; one more is refused ("unexpected argument 'x'").  Returns FR_OK, or
 * FR_EINPUT with e->msg one line naming the option (the caller prefixes the command). */
int fr_opt_parse(fr_opt *opts, int argc, char **argv, const char **pos, int max_pos, int *n_pos, fr_err *e);
/* The entry named name (or NULL). */
fr_opt *fr_opt_find(fr_opt *opts, const char *name);
/* 1 when argv[1..] asks for help (--help or -h before any "--"). */
int fr_opt_wants_help(int argc, char **argv);
/* A checked integer: "'x' is not an integer" / "N is out of range lo..hi", naming the option. */
int fr_opt_int(const char *name, const char *v, long long lo, long long hi, long long *out, fr_err *e);

#endif
