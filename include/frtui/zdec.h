/* zdec.h — one-shot zstd decompression (and compression) with a reused context.
 *
 * Design note
 *   ZSTD_decompress makes and frees a decompression context (~160 KB) per call; the .frm reader
 *   called it per payload and the .frc loader made one per file.  Under the fuzzers (ASan) that
 *   was a tenth of an execution.  fr_zstd_decompress keeps one idle context in a global slot:
 *   a caller takes it (atomic exchange), or makes a new one when another thread holds it, and
 *   puts it back when the slot is empty (else frees it).  Lock-free, any thread; the slot's
 *   context lives until exit (reachable, so not a leak for LeakSanitizer).
 *   Frames larger than FR_FMAP_WINDOW are decoded as a stream fed one window at a time, each
 *   window's pages dropped once consumed (fr_fmap_drop): a 500 MB payload of a mapped bundle
 *   costs its decoded size, not that plus its compressed size.  The caller has checked that
 *   src holds exactly one frame (ZSTD_findFrameCompressedSize); the streaming path refuses
 *   trailing bytes and frames whose window exceeds zstd's default limit (2^27; frtui's writer
 *   never makes those).
 */
#ifndef FRTUI_ZDEC_H
#define FRTUI_ZDEC_H

#include <stddef.h>

/* ZSTD_decompressDCtx into dst[cap] from src[n]: the zstd return value (check with
 * ZSTD_isError; a failure to make a context returns an error code too). */
size_t fr_zstd_decompress(void *dst, size_t cap, const void *src, size_t n);
/* ZSTD_compress with a reused compression context (the same slot scheme; the output is
 * byte-identical to ZSTD_compress at that level).  The .frm writer compressed each payload
 * with a context made and freed for it. */
size_t fr_zstd_compress(void *dst, size_t cap, const void *src, size_t n, int level);

#endif
