/* ckpt.h — .frc quantization checkpoints: capture, asynchronous write, load, resume, replay.
 *
 * Design note
 *   A checkpoint goes through three representations:
 *     engine state  --fr_ckpt_capture (worker thread, memcpy only)-->  fr_ckpt_blob (raw frames)
 *     fr_ckpt_blob  --fr_ckpt_writer (background thread: zstd + FNV, fr_atomic_*)--> RUN.frc
 *     RUN.frc       --fr_ckpt_load (validating)-->  fr_ckpt (plain structs, owned arrays)
 *   and fr_ckpt is what resume (fr_recon_state_restore), replay (fr_ckpt_snapshot) and the
 *   exporters read.  The byte layout is in docs/FORMAT.md ("`.frc` checkpoint").
 *
 *   Ownership: a blob is handed to the writer, which frees it.  An fr_ckpt owns all of its
 *   arrays; fr_ckpt_free releases them.  Nothing here keeps pointers into an engine.
 *   Threading: capture must run on the thread that owns the engine (the worker) between two
 *   steps; everything else is thread-agnostic.  The writer thread touches only its blob.
 *   Determinism: a checkpoint holds no clock or pid, so two runs with the same settings that
 *   reach the same state write byte-identical files (the CLI resume test relies on it).
 */
#ifndef FRTUI_CKPT_H
#define FRTUI_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"
#include "frtui/graph.h"
#include "frtui/aquant.h"
#include "frtui/quant.h"
#include "frtui/snapshot.h"
#include "frtui/worker.h"

#define FR_CKPT_MAJOR 1
#define FR_CKPT_MINOR 0
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

/* Run-level facts the engine does not know; the worker / CLI fill them. */
typedef struct fr_ckpt_info {
    const char *bundle_path;
    uint64_t model_fp, calib_fp;
    double acc_fp, acc_q;
    int run_status;
    int64_t it_total;
} fr_ckpt_info;

/* Raw (uncompressed) frames of a captured state. */
typedef struct fr_ckpt_blob fr_ckpt_blob;

/* FNV-1a-64 of the calibration samples the run uses (shape, dtype, scale/offset and the first
 * n_calib samples' bytes; n_calib 0 = all). */
uint64_t fr_ckpt_calib_fingerprint(const fr_model *m, int n_calib);

/* Copies the engine state into a new blob (worker thread; memcpy only, no compression). */
struct fr_recon;
fr_ckpt_blob *fr_ckpt_capture(struct fr_recon *r, const fr_ckpt_info *info);
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

/* Checks that c belongs to bundle m (fingerprints, node/unit counts, layer shapes against the
 * folded graph) and, when cfg != NULL, that cfg does not change a bit-exactness setting.
 * threads: the BLAS thread count of this process (0 = do not check).  One line naming what
 * differs; FR_EINPUT. */
int fr_ckpt_check_model(const fr_ckpt *c, const fr_model *m, const char *path, fr_err *e);
/* Prefixes e->msg with the checkpoint's file name (c->src) unless it already starts with it. */
void fr_ckpt_prefix_error(fr_err *e, const fr_ckpt *c);
int fr_ckpt_check_threads(const fr_ckpt *c, int threads, const char *path, fr_err *e);

/* Replay: immutable views of every unit (all arrays and stats), status FR_RUN_REPLAY, run info
 * from the checkpoint.  m is the bundle (checked with fr_ckpt_check_model). */
fr_snapshot *fr_ckpt_snapshot(const fr_ckpt *c, const fr_model *m, fr_err *e);

/* Resume: builds a new engine for m with the checkpoint's settings and restores it (finished
 * units are replayed, the running unit continues at its saved iteration).  */
struct fr_recon *fr_ckpt_resume_engine(const fr_ckpt *c, const fr_model *m, fr_err *e);

/* ---- worker integration (implemented in src/worker.c) ------------------------------------
 * Checkpoint policy of a worker: path (NULL = none), every `units` finished units (0 = off) and
 * every `seconds` of running (0 = off); a checkpoint is also written at the end of the run and
 * on FR_CMD_CHECKPOINT.  bundle_path is recorded in the file.  Call before fr_worker_start. */
struct fr_worker;
/* units < 0: only on request (FR_CMD_CHECKPOINT), never automatically. */
void fr_worker_set_checkpoint(struct fr_worker *w, const char *path, const char *bundle_path, int units,
                              double seconds);
/* Restores a checkpoint into a worker that was created for the same bundle and has not been
 * started (its engine is replaced).  FR_EINPUT with a message naming the mismatch. */
int fr_worker_resume(struct fr_worker *w, const fr_ckpt *c, fr_err *e);
/* Status of the last checkpoint write ("" when none): for the status line and tests. */
void fr_worker_checkpoint_status(struct fr_worker *w, char *msg, size_t n, int *rc);

#endif
