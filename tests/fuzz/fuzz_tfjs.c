/* fuzz_tfjs.c — libFuzzer harness for the tfjs layers-model importer (fr_tfjs_import).
 *
 * Design note
 *   The importer is path-based (model.json + one weights file), so each input is split at its
 *   first NUL byte — JSON text before, weights bytes after (none when there is no NUL) — and
 *   the two parts are written to two memfds read back through /proc/self/fd/N.  The weights
 *   path is always passed explicitly, so manifest "paths" entries are never opened.  Seeds are
 *   built by run.sh from tests/tfjs/<case>/ and tests/bad/tfjs/<case>/ as json NUL weights.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frtui/common.h"
#include "frtui/frm.h"
#include "frtui/graph.h"
#include "frtui/tfjs.h"

static int g_fd[2] = {-1, -1};
static char g_path[2][64];

static void put(int i, const uint8_t *p, size_t n)
{
    if (g_fd[i] < 0) {
        g_fd[i] = memfd_create(i ? "fuzz_tfjs_weights" : "fuzz_tfjs_json", 0);
        if (g_fd[i] < 0) { perror("memfd_create"); abort(); }
        snprintf(g_path[i], sizeof g_path[i], "/proc/self/fd/%d", g_fd[i]);
    }
    if (ftruncate(g_fd[i], 0) != 0) abort();
    size_t off = 0;
    while (off < n) {
        ssize_t k = pwrite(g_fd[i], p + off, n - off, (off_t)off);
        if (k <= 0) abort();
        off += (size_t)k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t jn = nul ? (size_t)(nul - data) : size;
    put(0, data, jn);
    put(1, nul ? nul + 1 : data + size, nul ? size - jn - 1 : 0);
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(&m);
    int rc = fr_tfjs_import(g_path[0], g_path[1], &m, &e);
    if (rc == FR_OK) {
        (void)fr_frm_fingerprint(&m);
        uint8_t *w = NULL;
        size_t n = 0;
        if (fr_frm_write_mem(&m, 0, &w, &n, &e) == FR_OK) free(w);
    } else if (!strstr(e.msg, "/proc/self/fd/")) {
        fprintf(stderr, "error without a message naming an input file: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    fr_model_free(&m);
    return 0;
}
