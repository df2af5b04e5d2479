/* fuzz_inflate.c — libFuzzer harness for the DEFLATE/gzip decoder (src/import/inflate.c).  The same
 * input is decoded as a raw DEFLATE stream and as a gzip file, with a small output cap so that
 * decompression bombs are refused quickly; consumed must never exceed the input. */
#include "frtui/inflate.h"
#include "harness.h"

#define CAP ((size_t)64 << 10)    /* > 2 windows (32 KiB): every back-reference case; bombs stop early */
#define HEAD ((size_t)4 << 10)    /* fr_gunzip_head: small, so mutants often go past it */

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
    }
    fz_named(rc, &e, "fuzz.deflate", "inflate");
    free(out);
    out = NULL;
    fr_err_clear(&e);
    rc = fr_gunzip(data, size, &out, &out_n, CAP, "fuzz.gz", &e);
    if (rc == FR_OK) {
        if (!out || out_n > CAP) __builtin_trap();
        if (out_n) { volatile uint8_t s = out[0] ^ out[out_n - 1]; (void)s; }
    }
    fz_named(rc, &e, "fuzz.gz", "gunzip");
    /* The header-first path of the .npy/IDX readers: a head is at least HEAD bytes (or all of
     * the content) and is a prefix of what the full decode gives. */
    uint8_t *head = NULL;
    size_t head_n = 0;
    fr_err e2;
    fr_err_clear(&e2);
    int rc2 = fr_gunzip_head(data, size, HEAD, &head, &head_n, "fuzz.gz", &e2);
    fz_named(rc2, &e2, "fuzz.gz", "gunzip_head");
    if (rc == FR_OK && (rc2 != FR_OK || head_n > out_n || (head_n < HEAD && head_n != out_n) ||
                        (head_n && memcmp(head, out, head_n))))
        __builtin_trap();
    if (rc2 == FR_OK && (!head || head_n > HEAD + 65536)) __builtin_trap();
    free(head);
    free(out);
    return 0;
}
