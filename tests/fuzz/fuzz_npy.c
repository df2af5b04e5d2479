/* fuzz_npy.c — libFuzzer harness for the NumPy .npy reader (fr_npy_read_mem), including its
 * gzip path, and the conversions the CLI applies afterwards (dataset, labels).  An error must
 * carry a message naming the input. */
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
    fr_npy a;
    fr_err e;
    memset(&a, 0, sizeof a);
    fr_err_clear(&e);
    int rc = fr_npy_read_mem(data, size, "fuzz.npy", &a, &e);
    if (rc == FR_OK) {
        size_t bytes = a.count * fr_npy_elsize(a.dtype);
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < bytes; i += 4096) sink ^= ((const uint8_t *)a.data)[i];   /* touch the buffer */
        if (bytes) sink ^= ((const uint8_t *)a.data)[bytes - 1];
        (void)sink;
        fr_dataset d;
        memset(&d, 0, sizeof d);
        if (fr_npy_to_dataset(&a, "fuzz.npy", &d, &e) == FR_OK) fr_dataset_free(&d);
        fr_npy_free(&a);
    } else if (e.msg[0] == 0 || !strstr(e.msg, "fuzz.npy")) {
        fprintf(stderr, "error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    return 0;
}
