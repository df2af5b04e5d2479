/* fuzz_idx.c — libFuzzer harness for the IDX readers (images and labels, raw or gzip).  Both
 * readers see every input; each must either succeed or fail with a message naming the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/dataio.h"
#include "frtui/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_err e;
    fr_dataset d;
    memset(&d, 0, sizeof d);
    fr_err_clear(&e);
    int rc = fr_idx_read_images_mem(data, size, "fuzz.idx", &d, &e);
    if (rc == FR_OK) {
        size_t bytes = (size_t)d.n * d.c * d.h * d.w;
        if (bytes && d.u8) { volatile uint8_t s = d.u8[0] ^ d.u8[bytes - 1]; (void)s; }
        fr_dataset_free(&d);
    } else if (!strstr(e.msg, "fuzz.idx")) {
        fprintf(stderr, "images: error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    int32_t *labels = NULL;
    int count = 0;
    fr_err_clear(&e);
    rc = fr_idx_read_labels_mem(data, size, "fuzz.idx", &labels, &count, &e);
    if (rc == FR_OK) {
        for (int i = 0; i < count; i++)
            if (labels[i] < 0 || labels[i] >= FR_MAX_CLASSES) __builtin_trap();
        free(labels);
    } else if (!strstr(e.msg, "fuzz.idx")) {
        fprintf(stderr, "labels: error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    return 0;
}
