/* spill.h — an activation store on disk: n samples of `per` floats, in zstd-compressed chunks of
 * `chunk` consecutive samples (src/io/spill.c).  The calibration caches of a run that does not
 * fit its memory budget live here (issue 19).
 *
 * Design note
 *   Ownership: one fr_spill owns one file descriptor of an already-unlinked file (created in the
 *   directory given, or $TMPDIR, /tmp): the kernel frees the disk space when the descriptor
 *   closes, which covers a normal exit, an error, a fatal signal and SIGKILL alike; nothing is
 *   left behind for anyone to clean.
 *   Layout: chunks are appended in any order (a pass writes them in order, but nothing relies on
 *   it) and found through an in-memory index (offset, compressed size).  A chunk is written once
 *   per fill; writing it again appends a new copy (the old bytes are dead but harmless: a store
 *   is refilled at most a few times, by a restart).
 *   Reads: get() reads consecutive samples (the passes over the calibration set); gather() reads
 *   samples by index (the training mini-batches) through an LRU of decompressed chunks whose
 *   size the caller fixes (lru_bytes), so random draws decompress a chunk only when it is not
 *   cached.  Both return exactly the floats that were put: the compression is lossless, so a run
 *   drawing its mini-batches from here is bit-identical to one holding the store in memory.
 *   Compression and decompression of the chunks of one call are split over the kernels' parts
 *   (par.h); each chunk is one independent zstd frame, so the bytes do not depend on the split.
 *   Threading: one thread at a time per store (the engine's).
 *   Statistics (bytes in/out, seconds) are kept per store and summed process-wide (for the
 *   bench and the inspector's memory line).
 */
#ifndef FRTUI_SPILL_H
#define FRTUI_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"

typedef struct fr_spill fr_spill;

typedef struct fr_spill_stats {
    double raw_written, packed_written;   /* bytes put (floats) and bytes on disk */
    double raw_read;                      /* bytes decompressed */
    double put_s, get_s;                  /* seconds compressing+writing, reading+decompressing */
    double disk_bytes;                    /* bytes on disk now (all live stores) */
} fr_spill_stats;

/* A store of n samples of per floats in chunks of `chunk` samples, in a fresh unlinked file in
 * dir (NULL: $TMPDIR, else /tmp).  lru_bytes bounds the decompressed-chunk cache of gather()
 * (at least one chunk is always cached).  NULL and e set on failure (naming the directory). */
fr_spill *fr_spill_new(const char *dir, size_t per, int n, int chunk, size_t lru_bytes, fr_err *e);
void fr_spill_free(fr_spill *s);
/* Free space where fr_spill_new(dir, ...) puts its files (dir NULL or "": $TMPDIR, else /tmp),
 * in bytes, SIZE_MAX when unknown; *used_dir (when not NULL) is that directory.
 * FRTUI_DISK_AVAILABLE (a size, as FRTUI_MEM_AVAILABLE) replaces the measured figure, so tests
 * can show the refusal it leads to on any machine. */
size_t fr_spill_room(const char *dir, const char **used_dir);
int fr_spill_chunk(const fr_spill *s);
/* Writes samples [s0, s0 + cnt): s0 must start a chunk, and cnt must end one or the store. */
int fr_spill_put(fr_spill *s, int s0, int cnt, const float *src, fr_err *e);
/* Reads samples [s0, s0 + cnt) into dst; every chunk touched must have been put. */
int fr_spill_get(fr_spill *s, int s0, int cnt, float *dst, fr_err *e);
/* dst[j] = sample idx[j], j < cnt, through the LRU of decompressed chunks. */
int fr_spill_gather(fr_spill *s, const int32_t *idx, int cnt, float *dst, fr_err *e);
/* Resizes the LRU (drops what it holds). */
void fr_spill_set_lru(fr_spill *s, size_t lru_bytes);
/* Drops the LRU's decompressed chunks (memory back to the allocator). */
void fr_spill_drop_cache(fr_spill *s);
/* Bytes of the LRU at most (what a plan must count for gather()). */
size_t fr_spill_lru_bytes(const fr_spill *s);
/* Chunk size in samples for a store of per floats: a power of two dividing `align` (the pass
 * batch), as large as keeps a chunk near target_bytes, at least 1. */
int fr_spill_pick_chunk(size_t per, int align, size_t target_bytes);

void fr_spill_stats_get(fr_spill_stats *st);   /* process-wide sums */
void fr_spill_stats_reset(void);

#endif
