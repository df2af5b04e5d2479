/* fuzz_onnx.c — libFuzzer harness for the ONNX importer (fr_onnx_import_mem: protobuf
 * decoding, topological sort, shape folding, op lowering, graph validation).  On success the
 * imported model is fingerprinted, as the CLI does before writing the bundle. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/frm.h"
#include "frtui/graph.h"
#include "frtui/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(&m);
    int rc = fr_onnx_import_mem(data, size, "fuzz.onnx", &m, &e);
    if (rc == FR_OK) {
        (void)fr_frm_fingerprint(&m);
        uint8_t *w = NULL;
        size_t n = 0;
        if (fr_frm_write_mem(&m, 0, &w, &n, &e) == FR_OK) free(w);
    } else if (!strstr(e.msg, "fuzz.onnx")) {
        fprintf(stderr, "error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    fr_model_free(&m);
    return 0;
}
