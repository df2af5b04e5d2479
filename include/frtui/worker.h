/* worker.h — the reconstruction worker thread and its command queue.
 *
 * Threading contract
 *   - One worker thread runs the reconstruction (recon module) and owns every piece of mutable
 *     optimisation state.  It checks its command queue and cancel flag every iteration.
 *   - Other threads (the TUI, the batch CLI, tests) talk to it only through this API:
 *       commands  -> fr_worker_send (bounded queue under a mutex; never blocks the caller for
 *                    longer than a queue push);
 *       state     <- fr_worker_acquire (the latest immutable fr_snapshot, see snapshot.h).
 *   - The worker publishes about every 100 ms and at every unit boundary / state change, and
 *     then writes one byte to a non-blocking pipe whose read end (fr_worker_wakefd) a UI can
 *     poll() on.  The worker never waits on a reader.
 *   - The worker blocks all async signals (pthread_sigmask) so handlers run on the UI thread.
 */
#ifndef FRTUI_WORKER_H
#define FRTUI_WORKER_H

#include "frtui/graph.h"
#include "frtui/snapshot.h"

typedef struct fr_run_config {
    fr_method method;
    int bits;               /* weight bits 2..8 */
    int act_bits;           /* 0 = weights only; 2..8 = activation quantization */
    int first_last_bits;    /* bits of the first and last layer (default 8; 0 = same as bits) */
    int layerwise;          /* 0 = BRECQ blocks, 1 = one unit per layer */
    int iters;              /* iterations per unit */
    int batch;              /* mini-batch size */
    float lr;               /* learning rate of the rounding parameters */
    float act_lr;           /* learning rate of activation steps (QDrop: 4e-5) */
    float lambda;           /* AdaRound regulariser weight */
    int qdrop;              /* 1 = QDrop setting: mix FP/quantized inputs (p = drop_p) */
    float drop_p;
    int per_channel;        /* 0 = per-tensor s1 (paper CNN setting) */
    int symmetric;          /* 1 = signed symmetric grid (CNN default) */
    int init_minmax;        /* 1 = min-max grid instead of the L2.4 search */
    int n_calib;            /* calibration samples used (0 = all in the bundle) */
    uint64_t seed;
    int threads;            /* BLAS threads used by the worker */
    int step_mode;          /* pause after each unit */
    size_t max_cache_mb;    /* 0 = no limit */
    char preset[32];
    char stop_unit[96];     /* "" = all units; else stop after this unit (name or node name) */
} fr_run_config;

/* Fills c with the named preset ("teaching", "brecq", "adaround-aimet", "flexround-llm").
 * Returns FR_EINPUT for an unknown name. */
int fr_run_config_preset(fr_run_config *c, const char *name, fr_err *e);
/* One-line provenance of a preset, for --help. */
const char *fr_run_config_preset_help(const char *name);
extern const char *const fr_presets[];   /* NULL-terminated */
/* Learning rate of a method: c->lr when set, else the method's default. */
float fr_run_config_lr(const fr_run_config *c, fr_method m);
/* Checks ranges (bits 2..8, iters >= 0, batch >= 1, ...). */
int fr_run_config_check(const fr_run_config *c, fr_err *e);

typedef enum {
    FR_CMD_PAUSE = 1,
    FR_CMD_RESUME,
    FR_CMD_STEP_UNIT,       /* run until the end of the current unit, then pause */
    FR_CMD_SET_STEP_MODE,   /* arg = 0/1 */
    FR_CMD_RESTART_UNIT,    /* arg = unit index: redo it (and, in order, everything after) */
    FR_CMD_SET_METHOD,      /* arg = fr_method, applies from the next unit / restart */
    FR_CMD_SET_BITS,        /* arg = bits */
    FR_CMD_SET_ITERS,       /* arg = iterations per unit */
    FR_CMD_COMPARE_UNIT,    /* arg = unit index: also compute the other methods for it */
    FR_CMD_CHECKPOINT,      /* write a checkpoint now (path from fr_worker_set_checkpoint) */
    FR_CMD_QUIT,
} fr_cmd_type;

typedef struct fr_cmd {
    fr_cmd_type type;
    int64_t arg;
} fr_cmd;

typedef struct fr_worker fr_worker;

/* The model must outlive the worker; the worker never modifies it (it keeps its own copy of
 * the weights it quantizes). */
fr_worker *fr_worker_new(const fr_model *m, const fr_run_config *cfg, fr_err *e);
int fr_worker_start(fr_worker *w, fr_err *e);
/* Non-blocking.  Returns 0, or -1 when the queue is full (commands other than CHECKPOINT and
 * QUIT are then dropped oldest-first). */
int fr_worker_send(fr_worker *w, fr_cmd_type type, int64_t arg);
fr_snapshot *fr_worker_acquire(fr_worker *w);   /* caller releases with fr_snapshot_release */
int fr_worker_wakefd(const fr_worker *w);
/* The engine.  Only valid to use from another thread after fr_worker_join returned (the
 * worker is then idle) or before fr_worker_start. */
struct fr_recon *fr_worker_recon(fr_worker *w);
/* Blocks until the run is finished or cancelled. */
void fr_worker_join(fr_worker *w);
/* Requests cancellation, joins, frees.  Safe on a never-started worker. */
void fr_worker_free(fr_worker *w);

#endif
