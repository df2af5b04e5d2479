/* inflate.h — bounded DEFLATE (RFC 1951) and gzip (RFC 1952) decoding for untrusted input.
 *
 * Design note
 *   The decoding is zlib's (src/import/inflate.c; zlib is in the process anyway through
 *   libpng); these functions add what the readers need around it: the output may not grow past
 *   `max_out` (a gzip bomb stops at the cap), a failed allocation is FR_ENOMEM rather than an
 *   abort, concatenated gzip members are decoded in turn and anything after the last is
 *   refused, a header-first mode decodes only the beginning, and every error is one line naming
 *   the input.  Output memory is malloc'd (caller frees).
 */
#ifndef FRTUI_INFLATE_H
#define FRTUI_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"

/* CRC-32 (ISO-HDLC, as in gzip/zlib): crc = fr_crc32(0, p, n), chainable. */
uint32_t fr_crc32(uint32_t crc, const void *p, size_t n);

/* 1 when the buffer starts with the gzip magic 1f 8b. */
int fr_is_gzip(const uint8_t *p, size_t n);

/* Decodes one raw DEFLATE stream from in[0..n).  *consumed (may be NULL) receives the number
 * of input bytes used (the stream's last partial byte counts).  On success *out is a malloc'd
 * buffer of *out_n bytes (never NULL, even when empty).  Output beyond max_out is refused.
 * Errors: FR_EINPUT ("NAME: deflate: what, at input byte N"), FR_ENOMEM. */
int fr_inflate(const uint8_t *in, size_t n, size_t *consumed, uint8_t **out, size_t *out_n,
               size_t max_out, const char *name, fr_err *e);

/* Decodes a gzip file (one or more concatenated members), verifying CRC-32 and ISIZE. */
int fr_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n, size_t max_out,
              const char *name, fr_err *e);

/* Decodes only the beginning of a gzip file: at least `want` bytes of output (fewer only when
 * the content is shorter; then the file is decoded and verified as by fr_gunzip).  A longer
 * stream is not verified past the point where decoding stopped.  For readers that check a
 * header's declared sizes before deciding how much to inflate (a gzip bomb must not cost
 * memory before that check).  Errors as fr_gunzip. */
int fr_gunzip_head(const uint8_t *in, size_t n, size_t want, uint8_t **out, size_t *out_n,
                   const char *name, fr_err *e);

#endif
