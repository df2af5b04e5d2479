/* fmap.h — input files mapped read-only instead of read whole (issue 14, item 6).
 *
 * Design note
 *   Readers used to read() a whole file into a malloc'd buffer and decode from it: a 600 MB
 *   bundle cost 600 MB of anonymous memory on top of the 600 MB it decodes to, and a file with
 *   a bad field deep inside cost its full size before being refused.  fr_fmap_open opens the
 *   path once (fr_open_regular: O_NONBLOCK, regular files only, so a FIFO is refused and the
 *   fstat describes the file actually opened), hands the first FR_HEAD_BYTES to the reader's
 *   header check, then maps the file PROT_READ / MAP_PRIVATE.  The pages are page cache: only
 *   what the reader touches becomes resident, and fr_fmap_drop(p, len) gives a range back
 *   (madvise MADV_DONTNEED; a later touch re-reads the file).  The _mem decoders call
 *   fr_fmap_drop on every large range once they are done with it (a section after its
 *   checksum, a payload after it was decoded), so resident memory stays at what was decoded
 *   plus one window, whatever the file size.  fr_fmap_drop is a no-op for memory that is not
 *   a live mapping of the calling thread (the fuzzers' and tests' buffers), so the _mem
 *   decoders keep their (buf, n) interface.
 *
 *   Concurrent truncation (decision): a mapped file that another process shrinks raises
 *   SIGBUS when a page past the new end is touched.  We do not catch it.  A siglongjmp out of
 *   a fault inside zstd or a decoder would leak their state and leave half-built models, and
 *   copying every section out first is exactly the double memory this module removes.  The
 *   case is out of scope for the input contract: the contract covers any *content* of the
 *   file (every byte is untrusted and validated), not a file that changes while it is read —
 *   read() would then return a torn mixture of old and new bytes that the checksums catch, or
 *   not.  What happens instead is safe: the fatal-signal handler (fr_fatal_signals_init)
 *   removes live temp files and the terminal is restored, the process ends with SIGBUS
 *   (status 135), and no output is left half-written (outputs are renamed into place only on
 *   success).  No memory is corrupted and nothing is written outside the given paths.
 *
 *   Thread use: the registry of live mappings is per thread (the readers are synchronous: the
 *   thread that maps is the one that decodes and unmaps).
 */
#ifndef FRTUI_FMAP_H
#define FRTUI_FMAP_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"

typedef struct fr_fmap {
    const uint8_t *p;   /* the file's bytes (not NUL-terminated); a static empty buffer for size 0 */
    size_t n;           /* file size */
    void *base;         /* mapping (NULL when n == 0) */
} fr_fmap;

/* Opens and maps path (regular files only, at most max_bytes).  `check` (may be NULL) sees the
 * first min(size, FR_HEAD_BYTES) bytes and the size before anything is mapped.  FR_OK, or an
 * error with one line naming the path. */
int fr_fmap_open(const char *path, size_t max_bytes, fr_head_check check, const void *ctx, fr_fmap *m, fr_err *e);
void fr_fmap_close(fr_fmap *m);
/* Drops the resident pages wholly inside [p, p + len) when that range lies in a live mapping
 * of this thread; otherwise does nothing.  Contents stay readable (re-faulted from the file). */
void fr_fmap_drop(const void *p, size_t len);
/* FNV-1a (fr_fnv1a) of [p, p + len), dropping each window after hashing it. */
uint64_t fr_fmap_fnv(uint64_t h, const uint8_t *p, size_t len);
/* memcpy in windows, dropping the source windows behind it. */
void fr_fmap_copy(void *dst, const uint8_t *src, size_t len);
/* Window size of the two helpers above. */
#define FR_FMAP_WINDOW ((size_t)4 << 20)

#endif
