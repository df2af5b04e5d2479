/* frm_int.h — what the .frm reader (frm.c) and writer (frm_write.c) share: the layout
 * constants of docs/FORMAT.md (byte layout in frm.c's header comment) and the byte-order
 * helpers.  Internal to src/. */
#ifndef FRTUI_FRM_INT_H
#define FRTUI_FRM_INT_H

#include <stdint.h>
#include <string.h>

#include "frtui/common.h"

#define HDR_SIZE 32
#define ENT_SIZE 32
#define MAX_SECTIONS 64
#define ATTR_BYTES 84
/* minor 1: i32 tokens, i32 form after the 84 bytes, written only by nodes that set them (so
 * files without token ops stay byte-identical minor 0 files) */
#define ATTR_BYTES_1 104
#define ZLEVEL 6
#define MAX_NODES (1 << 20)
#define MAX_TENSORS (1 << 20)

/* Rules the reader enforces on values the writer takes from a model; the writer checks them
 * too (check_encodable) so that frtui never writes a bundle it refuses to read (issue 14,
 * item 5: `import` wrote labels >= n_classes and inputs wider than 65535). */
#define FRM_MAX_INPUT_DIM 65535
static inline int frm_input_dim_ok(uint64_t d) { return d >= 1 && d <= FRM_MAX_INPUT_DIM; }
/* Index of the first label outside 0..n_classes-1 (no upper bound when n_classes is 0), or -1. */
static inline int frm_bad_label(const int32_t *labels, int n, int n_classes)
{
    for (int k = 0; k < n; k++)
        if (labels[k] < 0 || (n_classes > 0 && labels[k] >= n_classes)) return k;
    return -1;
}

/* fr_frm_write_mem with the reader's rules on (1) or off (0: tests/test_frm.c writes its
 * malformed corpus this way). */
struct fr_model;
int frm_encode(const struct fr_model *m, int compress, int reader_rules, uint8_t **out, size_t *out_n, fr_err *e);

static inline int host_le(void) { const uint16_t x = 1; return *(const uint8_t *)&x == 1; }

/* Copies count 4-byte words, converting little-endian <-> host. */
static inline void copy_le32(void *dst, const void *src, size_t count)
{
    memcpy(dst, src, count * 4);
    if (!host_le()) {
        uint8_t *b = dst;
        for (size_t i = 0; i < count; i++, b += 4) {
            uint8_t t = b[0]; b[0] = b[3]; b[3] = t; t = b[1]; b[1] = b[2]; b[2] = t;
        }
    }
}

#endif
