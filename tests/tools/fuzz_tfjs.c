/* fuzz_tfjs.c — libFuzzer harnesses for the strict JSON parser and the tfjs importer.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     $(pkg-config --cflags openblas) -DFUZZ_TFJS tests/tools/fuzz_tfjs.c src/import/json.c src/import/tfjs.c src/import/tfjs_weights.c \
 *     src/engine/graph.c src/base/common.c -o build/fuzz_tfjs -lm
 *   build/fuzz_tfjs -max_len=65536 CORPUS_DIR      (seed it with tests/tfjs/<name>/ files)
 * Without -DFUZZ_TFJS the target is the JSON parser alone.
 * Input format for the importer: u32 little-endian JSON length L, L bytes of model.json, then
 * the weight bytes (all manifest groups concatenated). */
#include <stddef.h>
#include <stdint.h>

#include "frtui/json.h"
#include "frtui/tfjs.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fr_err e;
#ifdef FUZZ_TFJS
    if (n < 4) return 0;
    size_t L = (size_t)d[0] | ((size_t)d[1] << 8) | ((size_t)d[2] << 16) | ((size_t)d[3] << 24);
    if (L > n - 4) return 0;
    fr_model m;
    if (fr_tfjs_import_mem((const char *)d + 4, L, d + 4 + L, n - 4 - L, "fuzz.json", &m, &e) == FR_OK)
        fr_model_free(&m);
#else
    fr_json_doc *doc = NULL;
    if (fr_json_parse((const char *)d, n, "fuzz.json", &doc, &e) == FR_OK) {
        const fr_json *r = fr_json_root(doc);
        for (size_t i = 0; i < fr_json_len(r); i++)
            if (r->items[i]->key) (void)fr_json_get(r, r->items[i]->key);
        fr_json_free(doc);
    }
#endif
    return 0;
}
