/* ckpt.h — the .frc checkpoint codec: plain structs, encode, asynchronous write, validating load.
 *
 * Design note
 *   This is the codec: it knows the file and the plain structs below, nothing of engines,
 *   models or threads that run them (the engine side is recon_ckpt.h).
 *   A checkpoint goes through three representations:
 *     engine state  --fr_ckpt_capture (recon_ckpt.h; worker thread, memcpy only)-->  fr_ckpt_blob
 *     fr_ckpt_blob  --fr_ckpt_writer (background thread: zstd + FNV, fr_atomic_*)--> RUN.frc
 *     RUN.frc       --fr_ckpt_load (validating)-->  fr_ckpt (plain structs, owned arrays)
 *   and fr_ckpt is what resume (fr_recon_state_restore), replay (fr_ckpt_snapshot) and the
 *   exporters read (recon_ckpt.h).  The byte layout is in docs/FORMAT.md ("`.frc` checkpoint").
 *
 *   Ownership: a blob is handed to the writer, which frees it.  An fr_ckpt owns all of its
 *   arrays; fr_ckpt_free releases them.  Nothing here keeps pointers into an engine.
 *   Threading: everything here is thread-agnostic; the writer thread touches only its blob.
 *   Determinism: a checkpoint holds no clock or pid, so two runs with the same settings that
 *   reach the same state write byte-identical files (the CLI resume test relies on it).
 */
#ifndef FRTUI_CKPT_H
#define FRTUI_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"
#include "frtui/aquant.h"    /* fr_aquant: stored activation-quantizer state */
#include "frtui/quant.h"     /* fr_qmethod range of a stored layer */
#include "frtui/runcfg.h"    /* fr_run_config: the run's stored settings */

#define FR_CKPT_MAJOR 1
#define FR_CKPT_MINOR 7   /* 1.1: META ends with the OpenBLAS core (1.0 files read as "");
                             1.2: then i32 unit rule (older files read as split, the rule they used);
                             1.3: then i32 conv kernels (1 legacy per-sample path; older: see ckpt_load);
                             1.4: then f32 FlexRound shared-scale lr multiplier (older: 1), and
                                  optional HIST frames (parameter history; older files have none);
                             1.5: then i32 keep-best evaluations and i32 s1 parametrisation (older:
                                  0, 0), and an optional BEST
                                  frame for the running unit (its best iterate so far);
                             1.6: then i32 group size (--group-size; older: 0);
                             1.7: then i32 activation granularity (1 per token; older: 0, per tensor) */
#define FR_CKPT_HEADER_LEN 32
#define FR_CKPT_MAX_PARAMS 5   /* d1, D2, d3, d4 | V */
#define FR_CKPT_MAX_FROZEN 3   /* s1_init, d1_init, zp */

/* One learnable (or frozen) tensor of a layer.  m and v are NULL for frozen state and for the
 * learnable tensors of finished units (their Adam moments are no longer needed). */
typedef struct fr_ckpt_tensor {
    char name[16];
    uint32_t n;
    float *data, *m, *v;
} fr_ckpt_tensor;

typedef struct fr_ckpt_layer {
    char name[96];
    int node;               /* node index in the BN-folded graph */
    int method;             /* fr_method */
    int bits, ns1, o, i, kh, kw, is_conv;
    int64_t n;
    int finalized, fell_back, nonfinite;
    int n_params, n_frozen;
    fr_ckpt_tensor params[FR_CKPT_MAX_PARAMS];
    fr_ckpt_tensor frozen[FR_CKPT_MAX_FROZEN];
    int has_result;         /* finished unit: the fr_layer_result below */
    float *s1, *zp;         /* [ns1] */
    int32_t *code;          /* [n] stored codes c + zp */
} fr_ckpt_layer;

/* A unit's parameter history (issue 18): its learnable tensors at up to FR_CKPT_HIST_MAX
 * moments of its run, so a replay can show how S got where it is.  Moments are iterations that
 * are multiples of `every`; when the history is full every other moment is dropped and `every`
 * doubles, so the moments always span the run evenly and the size stays bounded whatever the
 * iteration count.  One moment is every layer's learnable tensors (data only, in the order of
 * fr_ckpt_layer.params), concatenated: `stride` floats. */
#define FR_CKPT_HIST_MAX 16
typedef struct fr_ckpt_hist {
    int n;                  /* moments held, 0..FR_CKPT_HIST_MAX */
    int every;              /* recording interval in iterations, a power of two */
    int32_t iter[FR_CKPT_HIST_MAX];   /* strictly increasing iterations done at each moment */
    size_t stride;          /* floats per moment */
    float *data;            /* [n * stride] (capacity may be larger in the engine) */
} fr_ckpt_hist;

typedef struct fr_ckpt_unit {
    char name[96];
    int status;             /* fr_unit_status; PENDING units carry nothing else */
    int method;             /* fr_method */
    int iters, bits;        /* planned iterations; run-level weight bits when it was begun */
    int n_loss;
    float *loss, *loss_rec; /* [n_loss] */
    double loss_rtn, loss_before, loss_after;
    char note[128];
    int n_layers;
    fr_ckpt_layer *layers;  /* [n_layers], NULL when pending */
    fr_ckpt_hist hist;      /* since 1.4 (HIST frame); n == 0 when none */
    /* Since 1.5 (BEST frame, running unit of a --keep-best run only): the best iterate so far,
     * its iteration and calibration loss; best = the unit's learnable tensors in layer and
     * parameter order, then the steps of its activation quantizers in node order. */
    int best_iter;
    double best_loss;
    uint32_t n_best;        /* 0 when none */
    float *best;
} fr_ckpt_unit;

typedef struct fr_ckpt_aq {
    int node;
    fr_aquant aq;
} fr_ckpt_aq;

typedef struct fr_ckpt {
    int major, minor;
    uint32_t flags;
    fr_run_config cfg;      /* the engine's settings (method/bits/iters as last set) */
    uint64_t model_fp;      /* fr_frm_fingerprint of the bundle */
    uint64_t calib_fp;      /* fr_ckpt_calib_fingerprint */
    char bundle_path[4096]; /* as given when the run started (may be relative) */
    char model_name[128];
    char src[512];          /* file it was loaded from (messages); not stored */
    int blas_threads;       /* thread count the run used (bit-exactness needs the same) */
    char blas_core[32];     /* OpenBLAS core the run used (same reason); "" in 1.0 files */
    int conv_legacy;        /* the run used the per-sample conv/linear kernels (fr_conv_legacy) */
    int n_nodes, n_units, n_calib;
    int cur_unit, iter;     /* running unit (-1 = between units) and its iterations done */
    fr_rng rng, drop_rng;   /* the running unit's streams */
    double acc_fp, acc_q;   /* < 0 when not measured yet */
    int run_status;         /* fr_run_status at capture */
    int64_t it_total;       /* iterations run so far (all units) */
    int n_aq;
    fr_ckpt_aq *aq;
    fr_ckpt_unit *units;    /* [n_units] */
} fr_ckpt;

/* Raw (uncompressed) frames of a captured state. */
typedef struct fr_ckpt_blob fr_ckpt_blob;

void fr_ckpt_blob_free(fr_ckpt_blob *b);
/* Wraps a decoded (or hand-made) checkpoint into a blob, taking ownership of *c's arrays
 * (*c is left empty).  Tests use it to re-encode mutated checkpoints. */
fr_ckpt_blob *fr_ckpt_blob_wrap(fr_ckpt *c);
size_t fr_ckpt_blob_bytes(const fr_ckpt_blob *b);
/* Compresses and writes a blob synchronously (the writer thread's body).  Takes ownership of b.
 * Atomic: on any failure the previous file at path is untouched.  level: zstd level (1..19). */
int fr_ckpt_write_blob(fr_ckpt_blob *b, const char *path, int level, fr_err *e);
/* Encodes into memory (tests, fuzz corpus).  Does not take ownership. */
int fr_ckpt_encode(const fr_ckpt_blob *b, int level, uint8_t **out, size_t *out_n, fr_err *e);

/* Background writer: at most one write in flight. */
typedef struct fr_ckpt_writer fr_ckpt_writer;
fr_ckpt_writer *fr_ckpt_writer_new(void);
/* Starts writing b to path in a background thread; takes ownership of b.  Returns FR_OK, or
 * -1 when a write is still in flight (b is then freed and nothing happens). */
int fr_ckpt_writer_submit(fr_ckpt_writer *w, fr_ckpt_blob *b, const char *path);
/* 1 while a write is in flight. */
int fr_ckpt_writer_busy(fr_ckpt_writer *w);
/* Waits for the write in flight (if any) and returns its status (FR_OK when none); e gets the
 * message.  The status is reported once. */
int fr_ckpt_writer_wait(fr_ckpt_writer *w, fr_err *e);
/* Non-blocking: if a write finished since the last call, returns 1 and fills *rc, e, and the
 * bytes written / seconds spent; 0 otherwise. */
int fr_ckpt_writer_poll(fr_ckpt_writer *w, int *rc, fr_err *e, size_t *bytes, double *secs);
void fr_ckpt_writer_free(fr_ckpt_writer *w);   /* waits first */

/* Reads and validates a checkpoint (magic, version, frame checksums, every count and size).
 * On error *c is left empty and e names the file and the fault (FR_EINPUT / FR_EIO). */
int fr_ckpt_load(const char *path, fr_ckpt *c, fr_err *e);
int fr_ckpt_load_mem(const uint8_t *buf, size_t n, const char *name, fr_ckpt *c, fr_err *e);
void fr_ckpt_free(fr_ckpt *c);

/* Prefixes e->msg with the checkpoint's file name (c->src) unless it already starts with it. */
void fr_ckpt_prefix_error(fr_err *e, const fr_ckpt *c);
int fr_ckpt_check_threads(const fr_ckpt *c, int threads, const char *path, fr_err *e);
/* Resume must run the OpenBLAS core the run used (another core's GEMM gives other last bits);
 * FR_OK when they match or the checkpoint does not record one (1.0 files). */
int fr_ckpt_check_core(const fr_ckpt *c, const char *core, const char *path, fr_err *e);

#endif
