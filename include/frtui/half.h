/* half.h — IEEE 754 binary16 and bfloat16 conversions.
 *
 * Shared by the ONNX reader/writer (float16 initializers), the GGUF export (block scales are
 * fp16) and the safetensors readers.  f32 -> f16 rounds to nearest, ties to even, overflows to
 * infinity and keeps NaN a NaN; f16 -> f32 and bf16 -> f32 are exact.
 */
#ifndef FRTUI_HALF_H
#define FRTUI_HALF_H

#include <stdint.h>

uint16_t fr_f32_to_f16(float f);
float fr_f16_to_f32(uint16_t h);
float fr_bf16_to_f32(uint16_t h);

#endif
