/* fuzz_frc.c — libFuzzer harness for the .frc checkpoint loader (fr_ckpt_load_mem).
 *
 * Design note
 *   Like fuzz_frm.c, the harness repairs checksums on its private copy so mutations reach the
 *   frame decoders: the header hash (FNV of bytes 0..24) and, for every frame whose zstd data
 *   decompresses (content size <= FR_FUZZ_FIX_MAX), the FNV of the raw bytes.  Checksum refusals
 *   themselves are covered by the checkpoint engineer's tests.  An error must carry a message
 *   naming the input; on success the checkpoint is freed (ASan/LSan check ckpt.h ownership).
 */
#include "frtui/ckpt.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = fz_dup(data, size);
    if (!getenv("FUZZ_FRC_NOFIX")) fr_fuzz_fix_frc(b, size);
    fr_ckpt c;
    fr_err e;
    memset(&c, 0, sizeof c);
    fr_err_clear(&e);
    int rc = fr_ckpt_load_mem(b, size, "fuzz.frc", &c, &e);
    fz_named(rc, &e, "fuzz.frc", "frc");
    fr_ckpt_free(&c);
    free(b);
    return 0;
}
