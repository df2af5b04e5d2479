/* fuzz_frm.c — libFuzzer harness for the .frm bundle reader (fr_frm_read_mem).
 *
 * Design note
 *   Bundles carry FNV-1a checksums over the header and every section, so almost every mutation
 *   would die at the first checksum compare and the parser behind it would never be reached.
 *   The harness therefore repairs the copy it parses: file_size := n, each in-range section's
 *   checksum := FNV of its bytes, header_hash := FNV of header[0..24) + table.  The checksum
 *   refusals themselves are covered by tests/bad/frm.  On success the model goes through the
 *   same consumers the CLI uses (fingerprint, info printer) and a write/read/write round trip
 *   that must be byte-stable (a reader/writer disagreement traps).
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = fz_dup(data, size);
    if (!getenv("FUZZ_FRM_NOFIX")) fr_fuzz_fix_frm(b, size);
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(&m);
    int rc = fr_frm_read_mem(b, size, "fuzz.frm", &m, &e);
    fz_named(rc, &e, "fuzz.frm", "frm");
    if (rc == FR_OK) {
        (void)fr_frm_fingerprint(&m);
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) { fr_frm_info(devnull, NULL, &m, 1); fclose(devnull); }
        uint8_t *w1 = NULL, *w2 = NULL;
        size_t n1 = 0, n2 = 0;
        if (fr_frm_write_mem(&m, 0, &w1, &n1, &e) == FR_OK) {
            fr_model m2;
            fr_model_init(&m2);
            if (fr_frm_read_mem(w1, n1, "fuzz-rt.frm", &m2, &e) != FR_OK) {
                fprintf(stderr, "round trip: rewritten bundle refused: %s\n", e.msg);
                __builtin_trap();
            }
            if (fr_frm_write_mem(&m2, 0, &w2, &n2, &e) == FR_OK && (n1 != n2 || memcmp(w1, w2, n1))) {
                fprintf(stderr, "round trip: write(read(write(x))) != write(x)\n");
                __builtin_trap();
            }
            fr_model_free(&m2);
        }
        free(w1);
        free(w2);
    }
    fr_model_free(&m);
    free(b);
    return 0;
}
