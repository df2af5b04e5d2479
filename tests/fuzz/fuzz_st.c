/* fuzz_st.c — libFuzzer harness for the safetensors reader under the Hugging Face importer
 * (src/import/stread.c): header length, JSON header, dtypes, shapes and byte ranges, then every
 * tensor converted to floats (ranges were validated at open, so no read may leave the buffer).
 * An error must carry a message naming the input. */
#include <stdlib.h>

#include "frtui/stread.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_st_file f;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_st_open_mem(data, size, "fuzz.safetensors", &f, &e);
    fz_named(rc, &e, "fuzz.safetensors", "safetensors");
    if (rc) return 0;
    for (int i = 0; i < f.n; i++) {
        const fr_st_entry *t = &f.t[i];
        if (fr_st_find(&f, t->name) == NULL) __builtin_trap();
        if (t->numel > (int64_t)1 << 22) continue;
        float *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof(float));
        fr_err_clear(&e);
        rc = fr_st_read_f32(&f, t, out, t->numel, &e);
        fz_named(rc, &e, "fuzz.safetensors", "safetensors tensor");
        free(out);
    }
    fr_st_close(&f);
    return 0;
}
