/* fuzz_tfjs.c — libFuzzer harness for the tfjs layers-model importer (fr_tfjs_import).
 *
 * Design note
 *   The importer is path-based (model.json + one weights file), so each input is split at its
 *   first NUL byte — JSON text before, weights bytes after (none when there is no NUL) — and
 *   the two parts go to two memfds (harness.h fz_file).  The weights path is always passed
 *   explicitly, so manifest "paths" entries are never opened.  Seeds are built by run.sh from
 *   tests/tfjs/<case>/ and tests/bad/tfjs/<case>/ as json NUL weights.
 */
#include "frtui/tfjs.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t jn = nul ? (size_t)(nul - data) : size;
    const char *json = fz_file(0, data, jn);
    const char *weights = fz_file(1, nul ? nul + 1 : data + size, nul ? size - jn - 1 : 0);
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(&m);
    int rc = fr_tfjs_import(json, weights, &m, &e);
    fz_named(rc, &e, "/proc/self/fd/", "tfjs");
    if (rc == FR_OK) fz_encode(&m);
    fr_model_free(&m);
    return 0;
}
