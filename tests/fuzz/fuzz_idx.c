/* fuzz_idx.c — libFuzzer harness for the IDX readers (images and labels).  Both readers see
 * every input: from memory, or for a gzip input through the path readers (header-first
 * gunzip); each must succeed or fail with a message naming the input. */
#include "frtui/dataio.h"
#include "frtui/inflate.h"
#include "frtui/graph.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_err e;
    fr_dataset d;
    memset(&d, 0, sizeof d);
    fr_err_clear(&e);
    int gz = fr_is_gzip(data, size);
    const char *name = gz ? fz_file(0, data, size) : "fuzz.idx";
    int rc = gz ? fr_idx_read_images(name, &d, &e) : fr_idx_read_images_mem(data, size, name, &d, &e);
    fz_named(rc, &e, name, "images");
    if (rc == FR_OK) {
        size_t bytes = (size_t)d.n * d.c * d.h * d.w;
        if (bytes && d.u8) { volatile uint8_t s = d.u8[0] ^ d.u8[bytes - 1]; (void)s; }
        fr_dataset_free(&d);
    }
    int32_t *labels = NULL;
    int count = 0;
    fr_err_clear(&e);
    rc = gz ? fr_idx_read_labels(name, &labels, &count, &e) : fr_idx_read_labels_mem(data, size, name, &labels, &count, &e);
    fz_named(rc, &e, name, "labels");
    for (int i = 0; rc == FR_OK && i < count; i++)
        if (labels[i] < 0 || labels[i] >= FR_MAX_CLASSES) __builtin_trap();
    free(labels);
    return 0;
}
