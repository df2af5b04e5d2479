/* fuzz_png.c — libFuzzer harness for the PNG reader (fr_png_read, libpng underneath).
 *
 * Design note
 *   fr_png_read takes a path, so each input goes through a memfd (harness.h fz_file).  On success the buffer is
 *   touched end to end (ASan checks its extent against w*h*3).
 *   The reader checks w*h*3 with fr_mem_check, so under the harnesses' 4 MiB memory figure an IHDR
 *   over ~1.4 Mpixels is refused before the buffer is allocated (that used to be a skip in this
 *   harness: a 768 MiB allocation per such input made it run at 4 execs/s).
 */
#include "frtui/png.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file(0, data, size);
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_png_read(path, &rgb, &w, &h, &e);
    fz_named(rc, &e, path, "png");
    if (rc == FR_OK) {
        if (!rgb || w < 1 || h < 1 || w > FR_PNG_MAX_DIM || h > FR_PNG_MAX_DIM) __builtin_trap();
        size_t bytes = (size_t)w * h * 3;
        volatile uint8_t s = 0;
        for (size_t i = 0; i < bytes; i += 1024) s ^= rgb[i];
        s ^= rgb[bytes - 1];
        (void)s;
        fr_afree(rgb);
    } else if (rgb) {
        __builtin_trap();   /* the contract: *rgb is NULL on failure */
    }
    return 0;
}
