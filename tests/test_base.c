/* test_base.c — src/base's string builder / escaper (sb.c) and option parser (opt.c). */
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/opt.h"
#include "frtui/sb.h"

static const char *json(fr_sb *b, const char *s) { fr_sb_reset(b); fr_sb_json_str(b, s); return fr_sb_str(b); }
static const char *csv(fr_sb *b, const char *s) { fr_sb_reset(b); fr_sb_csv_field(b, s); return fr_sb_str(b); }
static const char *term(fr_sb *b, const char *s, int nl) { fr_sb_reset(b); fr_sb_term(b, s, nl); return fr_sb_str(b); }

static void test_json_escape(void)
{
    fr_sb b = {0};
    FR_CHECK(strcmp(json(&b, "plain"), "\"plain\"") == 0);
    FR_CHECK(strcmp(json(&b, "a\"b\\c"), "\"a\\\"b\\\\c\"") == 0);
    FR_CHECK(strcmp(json(&b, "n\nl\x01\x1b"), "\"n\\u000al\\u0001\\u001b\"") == 0);
    FR_CHECK(strcmp(json(&b, "caf\xc3\xa9"), "\"caf\xc3\xa9\"") == 0);            /* valid UTF-8 kept */
    FR_CHECK(strcmp(json(&b, "x\xffy"), "\"x\\ufffdy\"") == 0);                  /* broken byte */
    FR_CHECK(strcmp(json(&b, "\xc0\xaf"), "\"\\ufffd\\ufffd\"") == 0);           /* overlong '/' */
    FR_CHECK(strcmp(json(&b, "\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"") == 0); /* surrogate */
    FR_CHECK(strcmp(json(&b, "\xe2\x82"), "\"\\ufffd\\ufffd\"") == 0);           /* truncated */
    fr_sb_reset(&b);
    fr_sb_json_num(&b, "%.3f", NAN);
    fr_sb_putc(&b, ' ');
    fr_sb_json_num(&b, "%.3f", -INFINITY);
    fr_sb_putc(&b, ' ');
    fr_sb_json_num(&b, "%.3f", 1.5);
    FR_CHECK(strcmp(fr_sb_str(&b), "null null 1.500") == 0);
    fr_sb_free(&b);
}

static void test_csv_and_term(void)
{
    fr_sb b = {0};
    FR_CHECK(strcmp(csv(&b, "fc1"), "fc1") == 0);
    FR_CHECK(strcmp(csv(&b, "a,b"), "\"a,b\"") == 0);
    FR_CHECK(strcmp(csv(&b, "say \"hi\""), "\"say \"\"hi\"\"\"") == 0);
    FR_CHECK(strcmp(csv(&b, "l1\nl2"), "\"l1\nl2\"") == 0);
    FR_CHECK(strcmp(csv(&b, "e\x1b"), "e?") == 0);
    FR_CHECK(strcmp(csv(&b, "\xff"), "\xef\xbf\xbd") == 0);
    FR_CHECK(strcmp(term(&b, "a\x1b[31mb\xc2\x9b" "2Jc\x7f\xff", 0), "a?[31mb?2Jc??") == 0);
    FR_CHECK(strcmp(term(&b, "l1\nl2\tx\r", 1), "l1\nl2\tx?") == 0);
    FR_CHECK(strcmp(term(&b, "l1\n", 0), "l1?") == 0);
    FR_CHECK(strcmp(term(&b, "\xce\xbb", 0), "\xce\xbb") == 0);
    char small[4];
    FR_CHECK(strcmp(fr_term_clean(small, sizeof small, "a\x1b" "bcdef"), "a?b") == 0);
    /* growth: a long string goes through many reallocations */
    fr_sb_reset(&b);
    for (int i = 0; i < 10000; i++) fr_sb_printf(&b, "%d,", i % 10);
    FR_CHECK(b.n == 20000 && strlen(fr_sb_str(&b)) == 20000);
    fr_sb_free(&b);
    FR_CHECK(strcmp(fr_sb_str(&b), "") == 0);
}

typedef struct popts { int flag, n, choice; const char *s; float f; uint64_t u; size_t z; } popts;

static int parse(popts *o, int argc, char **argv, const char **pos, int max_pos, int *np, fr_err *e)
{
    memset(o, 0, sizeof *o);
    fr_opt t[] = {
        {.name = "--flag", .alias = "-f", .kind = FR_OPT_FLAG, .dst = &o->flag, .val = 7},
        {.name = "--n", .kind = FR_OPT_INT, .dst = &o->n, .lo = -5, .hi = 5},
        {.name = "--mode", .kind = FR_OPT_CHOICE, .dst = &o->choice, .choices = "a|bb|ccc"},
        {.name = "--s", .alias = "-o", .kind = FR_OPT_STR, .dst = &o->s},
        {.name = "--f", .kind = FR_OPT_FLOAT, .dst = &o->f},
        {.name = "--u", .kind = FR_OPT_U64, .dst = &o->u, .lo = 0, .hi = 1000},
        {.name = "--z", .kind = FR_OPT_SIZE, .dst = &o->z, .lo = 1, .hi = 10},
        {.name = NULL},
    };
    fr_err_clear(e);
    return fr_opt_parse(t, argc, argv, pos, max_pos, np, e);
}

static void test_opt_parse(void)
{
    popts o;
    fr_err e;
    const char *pos[2];
    int np = -1;
    char *a1[] = {"p", "x", "--flag", "--n", "-3", "--mode=bb", "-o", "out", "--f", "2.5", "--u=9", "--z", "10", "--", "--y"};
    FR_CHECK(parse(&o, 15, a1, pos, 2, &np, &e) == FR_OK);
    FR_CHECK(o.flag == 7 && o.n == -3 && o.choice == 1 && strcmp(o.s, "out") == 0 && o.f == 2.5f && o.u == 9 && o.z == 10);
    FR_CHECK(np == 2 && strcmp(pos[0], "x") == 0 && strcmp(pos[1], "--y") == 0);
    struct { int argc; char *argv[4]; const char *want; } bad[] = {
        {3, {"p", "--n", "four"}, "--n: 'four' is not an integer"},
        {3, {"p", "--n", "6"}, "--n: 6 is out of range -5..5"},
        {3, {"p", "--n", "99999999999999999999"}, "--n: 99999999999999999999 is out of range"},
        {2, {"p", "--n"}, "--n needs a value"},
        {2, {"p", "--foo"}, "unknown option --foo"},
        {2, {"p", "--foo=1"}, "unknown option --foo"},
        {2, {"p", "--flag=1"}, "--flag takes no value"},
        {3, {"p", "--mode", "d"}, "--mode: 'd': expected a, bb or ccc"},
        {3, {"p", "--f", "nan"}, "--f: 'nan' is not a number"},
        {3, {"p", "--f", "1e999"}, "--f: '1e999' is not a number"},
        {3, {"p", "--u", "-1"}, "--u: -1 is out of range 0..1000"},
        {3, {"p", "--z", "0"}, "--z: 0 is out of range 1..10"},
        {4, {"p", "a", "b", "c"}, "unexpected argument 'c'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = parse(&o, bad[k].argc, bad[k].argv, pos, 2, &np, &e);
        FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, bad[k].want), "case %zu: rc %d, '%s' (want '%s')", k, rc, e.msg, bad[k].want);
    }
    char *h[] = {"p", "--n", "x", "--help"};
    FR_CHECK(fr_opt_wants_help(4, h));
    char *h2[] = {"p", "--", "--help"};
    FR_CHECK(!fr_opt_wants_help(3, h2));
}

/* `first` entries apply before the others wherever they stand (a preset, then the flags). */
static int set_all(const char *name, const char *v, void *dst, fr_err *e)
{
    (void)name; (void)e;
    *(int *)dst = atoi(v) * 100;   /* test fixture: v is a literal below */
    return FR_OK;
}

static void test_opt_first(void)
{
    int x = 0;
    fr_opt t[] = {
        {.name = "--preset", .kind = FR_OPT_FN, .fn = set_all, .dst = &x, .first = 1},
        {.name = "--x", .kind = FR_OPT_INT, .dst = &x, .lo = 0, .hi = 1000},
        {.name = NULL},
    };
    fr_err e;
    char *a[] = {"p", "--x", "5", "--preset", "3"};
    FR_CHECK(fr_opt_parse(t, 5, a, NULL, 0, NULL, &e) == FR_OK && x == 5);
    FR_CHECK(t[0].seen == 1 && t[1].seen == 1);
    char *b[] = {"p", "--preset", "3"};
    FR_CHECK(fr_opt_parse(t, 3, b, NULL, 0, NULL, &e) == FR_OK && x == 300 && t[1].seen == 0);
}

int main(void)
{
    FR_RUN(test_json_escape);
    FR_RUN(test_csv_and_term);
    FR_RUN(test_opt_parse);
    FR_RUN(test_opt_first);
    return FR_REPORT();
}
