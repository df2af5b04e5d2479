/* runcfg.h — the settings of a quantization run (fr_run_config), its named presets and checks.
 *
 * Design note
 *   Plain data, no threads and no engine: the engine (recon), the worker, the checkpoint codec
 *   (which stores a run's settings) and the CLI all read it, so it sits below all of them.  A
 *   preset fills every field; the CLI then overrides single fields from flags, and
 *   fr_run_config_check validates the result wherever settings enter (flags or a checkpoint).
 */
#ifndef FRTUI_RUNCFG_H
#define FRTUI_RUNCFG_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"
#include "frtui/snapshot.h"   /* fr_method */

typedef struct fr_run_config {
    fr_method method;
    int bits;               /* weight bits 2..8 */
    int act_bits;           /* 0 = weights only; 2..8 = activation quantization */
    int act_token;          /* activation grid: 1 = per token, dynamic symmetric max-abs (the W8A8 of LLM
                             * papers, on the inputs of linear layers); 0 = one learned step per tensor
                             * (BRECQ/QDrop, on layer outputs); -1 = per token for language models, per
                             * tensor otherwise (resolved by fr_recon_new; --act-gran) */
    int first_last_bits;    /* bits of the first and last layer (default 8; 0 = same as bits) */
    int layerwise;          /* 0 = BRECQ blocks, 1 = one unit per layer */
    int unit_rule;          /* fr_unit_rule: 0 = brecq (default), 1 = split (frtui before Dec 2026) */
    int iters;              /* iterations per unit */
    int batch;              /* mini-batch size */
    float lr;               /* learning rate of the rounding parameters */
    float act_lr;           /* learning rate of activation steps (QDrop: 4e-5) */
    float lambda;           /* AdaRound regulariser weight */
    float scale_lr;         /* FlexRound: lr multiplier of the shared scales d1, d3, d4 (--scale-lr) */
    int keep_best;          /* FlexRound: evaluations per unit on the whole calibration set, the unit
                             * keeps its best (recon_best.c); 0 = off, the last iterate (--keep-best) */
    int s1_direct;          /* FlexRound: 1 = Adam on s1 itself (paper's direct form), 0 = on log s1 (--s1-param) */
    int qdrop;              /* 1 = QDrop setting: mix FP/quantized inputs (p = drop_p) */
    float drop_p;
    int per_channel;        /* 0 = per-tensor s1 (paper CNN setting) */
    int group_size;         /* > 0: one s1 per group of this many inputs of a row (--group-size; grids
                             * are then per channel whatever per_channel says); layers whose row length
                             * it does not divide stay per channel */
    int symmetric;          /* 1 = signed symmetric grid (CNN default) */
    int init_minmax;        /* 1 = min-max grid instead of the L2.4 search */
    int n_calib;            /* calibration samples used (0 = all in the bundle) */
    uint64_t seed;
    int threads;            /* BLAS threads used by the worker */
    int step_mode;          /* pause after each unit */
    size_t max_cache_mb;    /* 0 = no limit */
    /* Machine resources, not settings of the result: never stored in a checkpoint. */
    size_t max_mem;         /* --max-mem bytes for the whole process; 0 = a safe share of what there is */
    char spill_dir[512];    /* where spilled caches go ("" = $TMPDIR or /tmp) */
    int dp_replicate;       /* data parallel (several MPI ranks): 0 = each rank holds a shard of the
                             * calibration cache (default), 1 = every rank holds all of it (--dp-cache;
                             * recon.c's design note: the bits at K > 1 differ between the two) */
    char preset[32];
    char stop_unit[96];     /* "" = all units; else stop after this unit (name or node name) */
    char feature[96];       /* fidelity feature node ("" = input of the head, fidelity.h); a
                             * reporting choice, not stored in checkpoints (results do not depend on it) */
} fr_run_config;

/* Fills c with the named preset ("teaching", "brecq", "adaround-aimet", "flexround-llm").
 * Returns FR_EINPUT for an unknown name. */
int fr_run_config_preset(fr_run_config *c, const char *name, fr_err *e);
/* One-line provenance of a preset, for --help. */
const char *fr_run_config_preset_help(const char *name);
extern const char *const fr_presets[];   /* NULL-terminated */
/* Learning rate of a method: c->lr when set, else the method's default. */
float fr_run_config_lr(const fr_run_config *c, fr_method m);
/* The run's settings as the view and the reports show them (snapshot.h); threads and blas_core
 * are the machine's of the live run, or those a checkpoint recorded. */
void fr_run_info_fill(fr_run_info *in, const char *model, const fr_run_config *c, int threads, const char *blas_core);
/* Checks ranges (bits 2..8, iters >= 0, batch >= 1, ...). */
/* "per-tensor", "per-channel" or "per-group-G" into buf; returns buf. */
const char *fr_run_granularity(const fr_run_config *c, char *buf, size_t n);
int fr_run_config_check(const fr_run_config *c, fr_err *e);

#endif
