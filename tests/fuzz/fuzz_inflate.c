/* fuzz_inflate.c — libFuzzer harness for the DEFLATE/gzip decoder (src/inflate.c).  The same
 * input is decoded as a raw DEFLATE stream and as a gzip file, with a small output cap so that
 * decompression bombs are refused quickly; consumed must never exceed the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/inflate.h"

#define CAP ((size_t)256 << 10)   /* bombs stop early; puff-style decoding under ASan is ~10 ns/byte */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_err e;
    uint8_t *out = NULL;
    size_t out_n = 0, consumed = 0;
    fr_err_clear(&e);
    int rc = fr_inflate(data, size, &consumed, &out, &out_n, CAP, "fuzz.deflate", &e);
    if (rc == FR_OK) {
        if (!out || out_n > CAP || consumed > size) __builtin_trap();
        if (out_n) { volatile uint8_t s = out[0] ^ out[out_n - 1]; (void)s; }
        (void)fr_crc32(0, out, out_n);
    } else if (!strstr(e.msg, "fuzz.deflate")) {
        fprintf(stderr, "inflate: error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    free(out);
    out = NULL;
    fr_err_clear(&e);
    rc = fr_gunzip(data, size, &out, &out_n, CAP, "fuzz.gz", &e);
    if (rc == FR_OK) {
        if (!out || out_n > CAP) __builtin_trap();
        if (out_n) { volatile uint8_t s = out[0] ^ out[out_n - 1]; (void)s; }
    } else if (!strstr(e.msg, "fuzz.gz")) {
        fprintf(stderr, "gunzip: error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    free(out);
    return 0;
}
