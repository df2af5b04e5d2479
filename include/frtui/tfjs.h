/* tfjs.h — import of TensorFlow.js Keras layers-models (model.json + weight shards), and the
 * MobileNetV2 (nsfwjs) linear-probe bundle builder.
 *
 * Design note
 *   The importer turns a Keras functional (or Sequential) topology into an fr_graph in NCHW.
 *   Everything in model.json and the shards is untrusted: every field is type-checked, every
 *   size goes through fr_size_mul before allocation, and every error is FR_EINPUT with one line
 *   naming the file and the layer or tensor.  Mapping decisions (see src/import/tfjs.c for details):
 *   - Keras input is NHWC [null,H,W,C]; frtui's input is NCHW (C,H,W): meta.in_c/h/w come from
 *     batch_input_shape and a caller must feed NCHW data (recorded in meta.provenance).
 *   - Conv2D kernels HWIO -> OIHW; DepthwiseConv2D [kh,kw,C,M] -> [C*M,1,kh,kw], groups=C
 *     (output channel c*M+m, TF's order); Dense [in,out] -> [out,in].
 *   - padding "same" follows TF: total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0), the odd
 *     pixel on the bottom/right.  Pooling with "same" padding excludes the pad from averages.
 *   - Flatten of a map with H*W > 1 becomes TRANSPOSE (C,H,W)->(H,W,C) then FLATTEN, so the
 *     vector has Keras' NHWC order and the following Dense keeps its rows unpermuted.
 *     A Flatten of a (C,1,1) map is a plain FLATTEN.
 *   - AveragePooling2D whose window covers its whole (valid-padded) input becomes FR_OP_GAP
 *     (nsfwjs' 7x7 pool), GlobalAveragePooling2D too.
 *   - BatchNormalization is imported as FR_OP_BN, then fr_graph_fold_bn folds those that follow
 *     a conv/dense; the rest stay BN nodes.
 *   - Dropout/SpatialDropout2D and linear activations are elided (the consumer reads the
 *     producer).  A layer's activation field becomes an extra node named "<layer>/<act>".
 *   - Weights: float32, or quantization {dtype uint8|uint16, min, scale}: w = min + scale*q
 *     (evaluated in double, rounded once to float, like tfjs).  Each manifest group's bytes are
 *     its shard files concatenated; the byte count must match the manifest exactly.  Shard
 *     paths are resolved relative to model.json's directory and may not be absolute or
 *     contain "..".  weights_path, when given, replaces all shards: it holds every group's
 *     bytes concatenated in manifest order.
 */
#ifndef FRTUI_TFJS_H
#define FRTUI_TFJS_H

#include <stdint.h>

#include "frtui/common.h"
#include "frtui/graph.h"

/* Largest model.json we read (bytes). */
#define FR_TFJS_MAX_JSON ((size_t)32 << 20)
/* Largest number of Keras layers we accept. */
#define FR_TFJS_MAX_LAYERS 100000

/* Imports a tfjs layers-model into *m (need not be initialised; on error it is left empty,
 * fr_model_init state).  The result passed fr_graph_validate and has BN folded where possible.
 * Returns FR_OK, FR_EINPUT (bad/unsupported file, message names the file and the layer or
 * tensor), FR_EIO (unreadable file) or FR_ENOMEM (declared sizes over FR_MAX_ALLOC). */
int fr_tfjs_import(const char *model_json_path, const char *weights_path_or_NULL, fr_model *m, fr_err *e);
/* The same from memory (fuzzers, tests): json[0..json_n) is model.json and weights[0..weights_n)
 * every manifest group's bytes concatenated in manifest order (shard paths are ignored).
 * `name` stands in for the file in messages. */
int fr_tfjs_import_mem(const char *json, size_t json_n, const uint8_t *weights, size_t weights_n, const char *name,
                       fr_model *m, fr_err *e);

#endif
