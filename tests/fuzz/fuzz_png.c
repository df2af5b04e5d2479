/* fuzz_png.c — libFuzzer harness for the PNG reader (fr_png_read, libpng underneath).
 *
 * Design note
 *   fr_png_read takes a path, and png.c is not ours to give a _mem variant, so each input is
 *   written to one memfd (created once per process) and read back through /proc/self/fd/N:
 *   no disk I/O, no temp files left behind by a crashing run.  On success the buffer is
 *   touched end to end (ASan checks its extent against w*h*3).
 *   Inputs whose IHDR declares more than 4 Mpixels are skipped: each would make the reader
 *   allocate up to 768 MiB (legitimately, FR_PNG_MAX_DIM) and ASan map it, ~4 execs/s in all.
 *   The large-dimension refusals are covered by tests/bad/png (width-over-limit, huge-1e6-square,
 *   max-dims-no-data, bomb-idat-64m) through tests/test_regress.c and bad_corpus.t.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frtui/common.h"
#include "frtui/png.h"

static int g_fd = -1;
static char g_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 24 && !memcmp(data + 12, "IHDR", 4)) {
        uint64_t w = (uint64_t)data[16] << 24 | data[17] << 16 | data[18] << 8 | data[19];
        uint64_t h = (uint64_t)data[20] << 24 | data[21] << 16 | data[22] << 8 | data[23];
        if (w * h > ((uint64_t)4 << 20)) return 0;
    }
    if (g_fd < 0) {
        g_fd = memfd_create("fuzz_png", 0);
        if (size >= 24 && !memcmp(data + 12, "IHDR", 4)) {
        uint64_t w = (uint64_t)data[16] << 24 | data[17] << 16 | data[18] << 8 | data[19];
        uint64_t h = (uint64_t)data[20] << 24 | data[21] << 16 | data[22] << 8 | data[23];
        if (w * h > ((uint64_t)4 << 20)) return 0;
    }
    if (g_fd < 0) { perror("memfd_create"); abort(); }
        snprintf(g_path, sizeof g_path, "/proc/self/fd/%d", g_fd);
    }
    if (ftruncate(g_fd, 0) != 0) abort();
    size_t off = 0;
    while (off < size) {
        ssize_t k = pwrite(g_fd, data + off, size - off, (off_t)off);
        if (k <= 0) abort();
        off += (size_t)k;
    }
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_png_read(g_path, &rgb, &w, &h, &e);
    if (rc == FR_OK) {
        if (!rgb || w < 1 || h < 1 || w > FR_PNG_MAX_DIM || h > FR_PNG_MAX_DIM) __builtin_trap();
        size_t bytes = (size_t)w * h * 3;
        volatile uint8_t s = 0;
        for (size_t i = 0; i < bytes; i += 1024) s ^= rgb[i];
        s ^= rgb[bytes - 1];
        (void)s;
        fr_afree(rgb);
    } else {
        if (rgb) __builtin_trap();   /* the contract: *rgb is NULL on failure */
        if (!strstr(e.msg, g_path)) {
            fprintf(stderr, "error without a message naming the input: rc %d '%s'\n", rc, e.msg);
            __builtin_trap();
        }
    }
    return 0;
}
