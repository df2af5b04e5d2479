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

#include "frtui/cmd.h"
#include "frtui/graph.h"
#include "frtui/runcfg.h"
#include "frtui/snapshot.h"

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

/* ---- checkpoints (the codec is ckpt.h, the engine side recon_ckpt.h) -----------------------
 * Checkpoint policy of a worker: path (NULL = none), every `units` finished units (0 = off) and
 * every `seconds` of running (0 = off); a checkpoint is also written at the end of the run and
 * on FR_CMD_CHECKPOINT.  bundle_path is recorded in the file.  Call before fr_worker_start. */
struct fr_ckpt;
/* units < 0: only on request (FR_CMD_CHECKPOINT), never automatically. */
void fr_worker_set_checkpoint(struct fr_worker *w, const char *path, const char *bundle_path, int units,
                              double seconds);
/* Restores a checkpoint into a worker that was created for the same bundle and has not been
 * started (its engine is replaced).  FR_EINPUT with a message naming the mismatch. */
int fr_worker_resume(struct fr_worker *w, const struct fr_ckpt *c, fr_err *e);
/* Status of the last checkpoint write ("" when none): for the status line and tests. */
void fr_worker_checkpoint_status(struct fr_worker *w, char *msg, size_t n, int *rc);

#endif
