/* test_stream.c — large inputs cost what they decode to, not their size on top (issue 14,
 * item 6: readers map their input, include/frtui/fmap.h).
 *
 * Each measurement forks a child that does one read and reports the child's peak resident
 * size (getrusage of the waited child, ru_maxrss).  The files are written by other children,
 * so the measuring parent stays small (a fork starts with the parent's resident pages).
 *   - a .frm of FR_STREAM_MB (default 256) MiB of incompressible eval data with one byte
 *     flipped near its end (a checksum mismatch deep inside): refused with a peak far below
 *     the file size (one window of the checksum pass, not the file);
 *   - the same bundle intact: read with a peak below 1.3x its size (reading it whole, as
 *     before, cost about 2x: the file's copy plus the decoded data);
 *   - a .npy of the same size read into a dataset (fr_npy_read_dataset, as import --calib
 *     does): a peak below 1.3x (before: the file read whole, the array, and the dataset's copy
 *     of it); and one whose header declares twice the bytes it has: refused with a small peak.
 * Limits are ratios with wide margins, not timings.  Under AddressSanitizer the shadow memory
 * makes RSS meaningless: the test skips there.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/common.h"
#include "frtui/dataio.h"
#include "frtui/frm.h"
#include "frtui/graph.h"

#if defined(__SANITIZE_ADDRESS__)
#define FR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FR_ASAN 1
#endif
#endif

static char g_dir[256];
static size_t g_bytes;

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
        p[i] = (uint8_t)(g_rng >> 24);
    }
}

/* Runs fn(arg) in a child; returns its exit status and the child's peak RSS in bytes. */
static int in_child(int (*fn)(const char *), const char *arg, size_t *peak)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(fn(arg));
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid) return -1;
    *peak = (size_t)ru.ru_maxrss * 1024;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static size_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (size_t)st.st_size : 0;
}

/* ---- file makers (run in children) ---------------------------------------------------- */

static int make_frm(const char *path)
{
    fr_model m;
    fr_err e;
    if (fr_frm_read("samples/mlp-fmnist.frm", &m, &e) != FR_OK) { printf("# %s\n", e.msg); return 3; }
    fr_dataset_free(&m.eval);
    fr_dataset *d = &m.eval;
    size_t per = (size_t)m.meta.in_c * m.meta.in_h * m.meta.in_w;
    d->n = (int)(g_bytes / per);
    d->c = m.meta.in_c; d->h = m.meta.in_h; d->w = m.meta.in_w;
    d->dtype = 0;
    d->scale = 1.0f / 255.0f;
    d->u8 = fr_amalloc((size_t)d->n * per);
    d->labels = malloc((size_t)d->n * sizeof *d->labels);
    if (!d->u8 || !d->labels) return 4;
    fill_random(d->u8, (size_t)d->n * per);
    for (int i = 0; i < d->n; i++) d->labels[i] = i % (m.meta.n_classes > 0 ? m.meta.n_classes : 1);
    int rc = fr_frm_write(path, &m, 1, &e);
    if (rc) printf("# %s\n", e.msg);
    fr_model_free(&m);
    return rc ? 5 : 0;
}

static int make_npy(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 3;
    size_t n = g_bytes / 784;
    int over = strstr(path, "over") != NULL;   /* the header declares twice the samples */
    char hdr[128];
    memset(hdr, ' ', sizeof hdr);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)(sizeof hdr - 10);
    hdr[9] = 0;
    int k = snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '|u1', 'fortran_order': False, 'shape': (%zu, 1, 28, 28), }",
                     over ? 2 * n : n);
    hdr[10 + k] = ' ';
    hdr[sizeof hdr - 1] = '\n';
    if (write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr) return 4;
    uint8_t *buf = malloc((size_t)1 << 20);
    for (size_t left = n * 784; left;) {
        size_t c = left < ((size_t)1 << 20) ? left : ((size_t)1 << 20);
        fill_random(buf, c);
        if (write(fd, buf, c) != (ssize_t)c) return 5;
        left -= c;
    }
    free(buf);
    return close(fd) ? 6 : 0;
}

/* Flips one byte 4 KiB before the end of the file (inside the last payload). */
static int flip_near_end(const char *path)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) return -1;
    off_t at = lseek(fd, 0, SEEK_END) - 4096;
    uint8_t b = 0;
    int ok = pread(fd, &b, 1, at) == 1;
    b ^= 0x5a;
    ok = ok && pwrite(fd, &b, 1, at) == 1;
    close(fd);
    return ok ? 0 : -1;
}

/* ---- readers (run in children; exit 0 = accepted, 2 = refused) ----------------------------- */

static int read_frm(const char *path)
{
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_frm_read(path, &m, &e);
    if (rc) { printf("# refused: %s\n", e.msg); fflush(stdout); }
    else fr_model_free(&m);
    return rc ? 2 : 0;
}

/* What `import --calib x.npy` does: the array straight into a dataset. */
static int read_npy(const char *path)
{
    fr_dataset d;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_npy_read_dataset(path, &d, &e);
    if (rc) { printf("# refused: %s\n", e.msg); fflush(stdout); }
    else fr_dataset_free(&d);
    return rc ? 2 : 0;
}

/* FR_STREAM_KEEP=1 leaves the files in the temp directory (to compare binaries by hand). */
static void drop_file(const char *p)
{
    const char *k = getenv("FR_STREAM_KEEP");
    if (!(k && *k == '1')) unlink(p);
}

static void path_of(char *dst, size_t cap, const char *name) { snprintf(dst, cap, "%s/%s", g_dir, name); }

static void test_frm_large(void)
{
    char p[512];
    path_of(p, sizeof p, "big.frm");
    size_t peak = 0;
    FR_CHECK(in_child(make_frm, p, &peak) == 0);
    size_t sz = file_size(p);
    FR_CHECKF(sz >= g_bytes, "%zu bytes", sz);
    int rc = in_child(read_frm, p, &peak);
    printf("# valid .frm of %.1f MiB: accepted, peak RSS %.1f MiB (%.2fx the file)\n", sz / 1048576.0,
           peak / 1048576.0, (double)peak / (double)sz);
    FR_CHECK(rc == 0);
    FR_CHECKF(peak < sz + sz * 3 / 10, "peak %zu for a %zu-byte file", peak, sz);
    FR_CHECK(flip_near_end(p) == 0);
    rc = in_child(read_frm, p, &peak);
    printf("# .frm of %.1f MiB, one byte flipped 4 KiB before the end: exit %d, peak RSS %.1f MiB\n",
           sz / 1048576.0, rc, peak / 1048576.0);
    FR_CHECK(rc == 2);
    FR_CHECKF(peak < sz / 8, "peak %zu for a %zu-byte file", peak, sz);
    drop_file(p);
}

static void test_npy_large(void)
{
    char p[512], q[512];
    path_of(p, sizeof p, "big.npy");
    path_of(q, sizeof q, "over.npy");
    size_t peak = 0;
    FR_CHECK(in_child(make_npy, p, &peak) == 0);
    FR_CHECK(in_child(make_npy, q, &peak) == 0);
    size_t sz = file_size(p);
    int rc = in_child(read_npy, p, &peak);
    printf("# valid .npy of %.1f MiB: accepted, peak RSS %.1f MiB (%.2fx the file)\n", sz / 1048576.0,
           peak / 1048576.0, (double)peak / (double)sz);
    FR_CHECK(rc == 0);
    FR_CHECKF(peak < sz + sz * 3 / 10, "peak %zu for a %zu-byte file", peak, sz);
    rc = in_child(read_npy, q, &peak);
    printf("# .npy of %.1f MiB declaring twice that: exit %d, peak RSS %.1f MiB\n", sz / 1048576.0, rc,
           peak / 1048576.0);
    FR_CHECK(rc == 2);
    FR_CHECKF(peak < sz / 8, "peak %zu for a %zu-byte file", peak, sz);
    drop_file(p);
    drop_file(q);
}

int main(void)
{
#ifdef FR_ASAN
    printf("# SKIP: RSS is meaningless under AddressSanitizer\n");
    return FR_REPORT();
#endif
    const char *mb = getenv("FR_STREAM_MB");
    g_bytes = (size_t)(mb && atoi(mb) > 0 ? atoi(mb) : 256) << 20;
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/frtui-stream.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_dir)) { printf("not ok - mkdtemp\n"); return 1; }
    FR_RUN(test_frm_large);
    FR_RUN(test_npy_large);
    rmdir(g_dir);   /* fails, as it should, when FR_STREAM_KEEP left files */
    printf("# files in %s\n", g_dir);
    return FR_REPORT();
}
