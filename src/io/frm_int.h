/* frm_int.h — what the .frm reader (frm.c) and writer (frm_write.c) share: the layout
 * constants of docs/FORMAT.md (byte layout in frm.c's header comment) and the byte-order
 * helpers.  Internal to src/. */
#ifndef FRTUI_FRM_INT_H
#define FRTUI_FRM_INT_H

#include <stdint.h>
#include <string.h>

#define HDR_SIZE 32
#define ENT_SIZE 32
#define MAX_SECTIONS 64
#define ATTR_BYTES 84
#define ZLEVEL 6
#define MAX_NODES (1 << 20)
#define MAX_TENSORS (1 << 20)

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
