/* fr_test.h — a 40-line test harness (in the spirit of Redis' testhelp.h).
 *
 * Each tests/test_*.c is one binary: it calls its test functions from main() through
 * FR_RUN, uses FR_CHECK* inside them, and ends with FR_REPORT(), which prints
 * "N passed, N failed" and returns the exit status.  tests/run.sh adds the counts up. */
#ifndef FR_TEST_H
#define FR_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fr_t_pass, fr_t_fail;
static const char *fr_t_name = "";

#define FR_CHECK(cond) \
    do { if (cond) fr_t_pass++; else { fr_t_fail++; \
        printf("not ok - %s: %s (%s:%d)\n", fr_t_name, #cond, __FILE__, __LINE__); } } while (0)

#define FR_CHECKF(cond, ...) \
    do { if (cond) fr_t_pass++; else { fr_t_fail++; \
        printf("not ok - %s: %s (%s:%d): ", fr_t_name, #cond, __FILE__, __LINE__); \
        printf(__VA_ARGS__); printf("\n"); } } while (0)

/* Relative-or-absolute closeness, printing both values on failure. */
#define FR_CHECK_NEAR(a, b, tol) \
    do { double fa_ = (a), fb_ = (b); \
         double d_ = fabs(fa_ - fb_), s_ = fmax(1.0, fmax(fabs(fa_), fabs(fb_))); \
         FR_CHECKF(d_ <= (tol) * s_, "%s=%.9g %s=%.9g diff=%.3g", #a, fa_, #b, fb_, d_); } while (0)

#define FR_RUN(fn) \
    do { const char *only_ = getenv("FR_TEST"); \
         if (only_ && *only_ && strcmp(only_, #fn) != 0) break; \
         int f0_ = fr_t_fail; fr_t_name = #fn; fn(); \
         printf("%s - %s\n", fr_t_fail == f0_ ? "ok" : "FAILED", #fn); fflush(stdout); } while (0)

#define FR_REPORT() \
    (printf("%d passed, %d failed\n", fr_t_pass, fr_t_fail), fr_t_fail ? 1 : 0)

#endif
