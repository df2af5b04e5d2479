/* stread.h — reader of safetensors files (Hugging Face checkpoints), the inverse of
 * safetensors.h's writer.
 *
 * Design note
 *   Untrusted input, fuzzed like the other readers: the u64 header length is checked against
 *   the file before anything is mapped; the header is parsed by the strict JSON parser (depth,
 *   size and node limits); every tensor's dtype, shape (rank <= 8, every dim >= 0) and byte
 *   range are checked when the file is opened — the range must lie inside the data section and
 *   hold exactly numel x element size bytes — so later reads need no checks of their own.
 *   The file is mapped (fmap.h): opening a 5 GB shard costs its header, and a tensor's pages
 *   are dropped once converted.  Only F32, F16 and BF16 tensors can be read as floats; other
 *   dtypes are listed (so a message can name them) and refused when read.  Non-finite values
 *   are refused on read.  One reader per file; not thread-safe.
 */
#ifndef FRTUI_STREAD_H
#define FRTUI_STREAD_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"
#include "frtui/fmap.h"

typedef enum { FR_STR_F32 = 0, FR_STR_F16, FR_STR_BF16, FR_STR_OTHER } fr_str_dtype;

typedef struct fr_st_entry {
    char *name;
    fr_str_dtype dtype;
    char dtype_name[16];     /* as written ("F32", "BF16", "I64", ...) */
    int ndim;
    int64_t shape[8];
    int64_t numel;
    uint64_t begin, end;     /* byte range in the data section */
} fr_st_entry;

typedef struct fr_st_file {
    char path[1024];
    fr_fmap map;
    const uint8_t *data;     /* the data section */
    uint64_t data_n;
    int n;
    fr_st_entry *t;          /* owned */
} fr_st_file;

/* Opens and validates path; on error *f is left closed and e names the path and the fault. */
int fr_st_open(const char *path, fr_st_file *f, fr_err *e);
/* The same on bytes in memory (the fuzzer's entry point); buf must outlive f. */
int fr_st_open_mem(const uint8_t *buf, size_t n, const char *name, fr_st_file *f, fr_err *e);
void fr_st_close(fr_st_file *f);
const fr_st_entry *fr_st_find(const fr_st_file *f, const char *name);
/* Converts tensor t to n floats (n must equal its numel); FR_EINPUT for a dtype that is not
 * F32/F16/BF16 or a non-finite value. */
int fr_st_read_f32(const fr_st_file *f, const fr_st_entry *t, float *out, int64_t n, fr_err *e);

#endif
