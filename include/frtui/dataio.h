/* dataio.h — calibration / evaluation data readers: IDX (raw or gzip) and NumPy .npy.
 *
 * Design note
 *   All readers check the header in the file's first bytes, then load the whole file
 *   (fr_read_file_checked), gunzip it when it starts with the gzip magic (inflate.h, on
 *   zlib), then parse with every header field checked against the bytes that
 *   are actually there; buffer sizes go through fr_size_mul / FR_MAX_ALLOC before allocating.
 *   Results are owned by the caller: fr_dataset (free with fr_dataset_free), label arrays
 *   (free()), fr_npy (fr_npy_free).  Errors are one line naming the file.
 *
 *   Dataset conventions: uint8 samples get scale 1/255, offset 0 (pixels mapped to [0,1]);
 *   float32 samples get scale 1, offset 0.  N,H,W arrays become N,1,H,W; N,D arrays become
 *   N,D,1,1 (a vector per sample, as graph.h represents vectors).
 */
#ifndef FRTUI_DATAIO_H
#define FRTUI_DATAIO_H

#include <stdint.h>

#include "frtui/common.h"
#include "frtui/graph.h"

#define FR_NPY_MAXDIM 8
/* Longest .npy header accepted (numpy writes < 1 KiB; its own reader stops at 10000 bytes). */
#define FR_NPY_MAX_HEADER 65536

typedef enum fr_npy_dtype {
    FR_NPY_U8 = 0,   /* '|u1' */
    FR_NPY_F32,      /* '<f4' */
    FR_NPY_I32,      /* '<i4' */
    FR_NPY_I64,      /* '<i8' */
} fr_npy_dtype;

typedef struct fr_npy {
    fr_npy_dtype dtype;
    int ndim;                       /* 0..FR_NPY_MAXDIM (0 = scalar) */
    int64_t shape[FR_NPY_MAXDIM];
    size_t count;                   /* number of elements */
    void *data;                     /* count elements, host order, 64-byte aligned (fr_amalloc) */
} fr_npy;

/* Size in bytes of one element. */
size_t fr_npy_elsize(fr_npy_dtype t);

/* Reads a .npy (format versions 1.0, 2.0, 3.0; C order only; dtypes above; little-endian or
 * byte-sized).  A gzip-compressed file (x.npy.gz) is accepted too. */
int fr_npy_read(const char *path, fr_npy *a, fr_err *e);
int fr_npy_read_mem(const uint8_t *buf, size_t n, const char *name, fr_npy *a, fr_err *e);
/* Writes a version 1.0 .npy (version 2.0 when the header needs it), atomically. */
int fr_npy_write(const char *path, const fr_npy *a, fr_err *e);
void fr_npy_free(fr_npy *a);

/* Converts an array of samples (uint8 or float32; N,C,H,W or N,H,W or N,D) into a dataset.
 * The data is copied; `name` is used in messages.  Float data must be finite. */
int fr_npy_to_dataset(const fr_npy *a, const char *name, fr_dataset *d, fr_err *e);
/* fr_npy_read + fr_npy_to_dataset. */
int fr_npy_read_dataset(const char *path, fr_dataset *d, fr_err *e);
/* Reads labels (int32, int64 or uint8; shape N or N,1) as int32 values in 0..FR_MAX_CLASSES-1.
 * *labels is malloc'd (free()). */
int fr_npy_read_labels(const char *path, int32_t **labels, int *n, fr_err *e);

/* IDX (LeCun's MNIST format): magic 0x00000803 (uint8, 3 dims N,H,W) or 0x00000804 (uint8,
 * 4 dims N,C,H,W) images; big-endian u32 dims; raw or gzip.  d gets dtype uint8, scale 1/255,
 * no labels. */
int fr_idx_read_images(const char *path, fr_dataset *d, fr_err *e);
/* IDX labels: magic 0x00000801 (uint8, 1 dim N). */
int fr_idx_read_labels(const char *path, int32_t **labels, int *n, fr_err *e);
/* The same from memory (used by tests and fuzzers). */
int fr_idx_read_images_mem(const uint8_t *buf, size_t n, const char *name, fr_dataset *d, fr_err *e);
int fr_idx_read_labels_mem(const uint8_t *buf, size_t n, const char *name, int32_t **labels, int *count, fr_err *e);

/* `count` windows of T token bytes of text[0, n) as a uint8 dataset (T x 1 x 1, no labels):
 * consecutive and non-overlapping from offset 0 when seed == 0, else at offsets drawn from the
 * seed's stream.  FR_EINPUT when text is shorter than the windows need.  (The byte-level LM's
 * calibration and evaluation sets: the trainer's and `frtui import --calib text`.) */
int fr_lm_windows(const uint8_t *text, size_t n, int T, int count, uint64_t seed, fr_dataset *d, fr_err *e);

/* Token ids from a .npy of int32, int64 or uint8, shape (N, T) or (T,): windows of *T ids as a
 * float32 dataset (exact up to 2^24).  *T == 0 takes the file's T; else it must match.  Every
 * id must lie in [0, vocab).  max_n > 0 keeps the first max_n windows. */
int fr_lm_ids_read(const char *path, int vocab, int *T, int max_n, fr_dataset *d, fr_err *e);

#endif
