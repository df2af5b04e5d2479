/* fuzz_onnx.c — libFuzzer harness for the ONNX importer (fr_onnx_import_mem_shaped: protobuf
 * decoding, topological sort, shape folding, op lowering, graph validation).  On success the
 * imported model is fingerprinted and encoded, as the CLI does before writing the bundle.
 * Symbolic input dims get 3x32x32 (as calibration data would give them), so files exported
 * with dynamic height/width are explored past their input. */
#include "frtui/onnx.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(&m);
    const fr_onnx_shape shape = {.n = 3, .d = {3, 32, 32}, .strict = 0};
    int rc = fr_onnx_import_mem_shaped(data, size, "fuzz.onnx", &shape, &m, &e);
    fz_named(rc, &e, "fuzz.onnx", "onnx");
    if (rc == FR_OK) fz_encode(&m);
    fr_model_free(&m);
    return 0;
}
