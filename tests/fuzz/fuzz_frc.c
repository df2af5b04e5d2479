/* fuzz_frc.c — libFuzzer harness for the .frc checkpoint loader (fr_ckpt_load_mem).  An error
 * must carry a message naming the input; on success the checkpoint is freed (ASan/LSan check
 * the ownership rules of ckpt.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/ckpt.h"
#include "frtui/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_ckpt c;
    fr_err e;
    memset(&c, 0, sizeof c);
    fr_err_clear(&e);
    int rc = fr_ckpt_load_mem(data, size, "fuzz.frc", &c, &e);
    if (rc != FR_OK && !strstr(e.msg, "fuzz.frc")) {
        fprintf(stderr, "error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    fr_ckpt_free(&c);
    return 0;
}
