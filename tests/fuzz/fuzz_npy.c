/* fuzz_npy.c — libFuzzer harness for the NumPy .npy reader (fr_npy_read_mem) and the
 * conversions the CLI applies afterwards (dataset, labels).  A gzip input goes through the
 * path reader instead (fr_npy_read: header-first gunzip, then the same parser) and the labels
 * reader.  An error must carry a message naming the input. */
#include "frtui/dataio.h"
#include "frtui/inflate.h"
#include "frtui/graph.h"
#include "harness.h"

static void check_array(const fr_npy *a)
{
    size_t bytes = a->count * fr_npy_elsize(a->dtype);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < bytes; i += 4096) sink ^= ((const uint8_t *)a->data)[i];   /* touch the buffer */
    if (bytes) sink ^= ((const uint8_t *)a->data)[bytes - 1];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_npy a;
    fr_err e;
    fr_err_clear(&e);
    int gz = fr_is_gzip(data, size);
    const char *name = gz ? fz_file(0, data, size) : "fuzz.npy";
    int rc = gz ? fr_npy_read(name, &a, &e) : fr_npy_read_mem(data, size, name, &a, &e);
    fz_named(rc, &e, name, "npy");
    if (rc == FR_OK) {
        check_array(&a);
        fr_dataset d;
        memset(&d, 0, sizeof d);
        if (fr_npy_to_dataset(&a, name, &d, &e) == FR_OK) fr_dataset_free(&d);
        fr_npy_free(&a);
    }
    if (gz) {
        int32_t *labels = NULL;
        int n = 0;
        fr_err_clear(&e);
        rc = fr_npy_read_labels(name, &labels, &n, &e);
        fz_named(rc, &e, name, "npy labels");
        for (int i = 0; rc == FR_OK && i < n; i++)
            if (labels[i] < 0 || labels[i] >= FR_MAX_CLASSES) __builtin_trap();
        free(labels);
    }
    return 0;
}
