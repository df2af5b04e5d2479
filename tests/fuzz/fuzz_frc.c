/* fuzz_frc.c — libFuzzer harness for the .frc checkpoint loader (fr_ckpt_load_mem).
 *
 * Design note
 *   Like fuzz_frm.c, the harness repairs checksums on its private copy so mutations reach the
 *   frame decoders: the header hash (FNV of bytes 0..24) and, for every frame whose zstd data
 *   decompresses (content size <= 64 MiB), the FNV of the raw bytes.  Checksum refusals
 *   themselves are covered by the checkpoint engineer's tests.  An error must carry a message
 *   naming the input; on success the checkpoint is freed (ASan/LSan check ckpt.h ownership).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "frtui/ckpt.h"
#include "frtui/common.h"
#include "fixup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);
    if (!b) return 0;
    memcpy(b, data, size);
    if (!getenv("FUZZ_FRC_NOFIX")) fr_fuzz_fix_frc(b, size);
    fr_ckpt c;
    fr_err e;
    memset(&c, 0, sizeof c);
    fr_err_clear(&e);
    int rc = fr_ckpt_load_mem(b, size, "fuzz.frc", &c, &e);
    if (rc != FR_OK && !strstr(e.msg, "fuzz.frc")) {
        fprintf(stderr, "error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    fr_ckpt_free(&c);
    free(b);
    return 0;
}
