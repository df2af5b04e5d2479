/* train.h — the sample model zoo and a small deterministic trainer over the same operators
 * the quantizer uses.
 *
 * Design note
 *   The trainer exists to produce the bundled Fashion-MNIST samples reproducibly: every random
 *   choice (init, shuffling) comes from fr_rng seeded by the config, and the BLAS thread count
 *   is fixed by the caller (recorded in the bundle), so `make samples` regenerates the same
 *   bytes on the same machine type.  It trains with batch-norm in training mode (batch
 *   statistics, running averages updated); bundles keep BN nodes unfolded and the
 *   reconstruction pipeline folds them (BRECQ does the same).
 */
#ifndef FRTUI_TRAIN_H
#define FRTUI_TRAIN_H

#include <stdio.h>

#include "frtui/exec.h"
#include "frtui/graph.h"

typedef enum { FR_ZOO_MLP = 0, FR_ZOO_RESNET, FR_ZOO_MOBILENET, FR_ZOO__COUNT } fr_zoo_arch;

/* Builds an untrained graph (Kaiming-normal weights, BN identity) for a 1x28x28 input with
 * 10 classes into m->g and fills m->meta's shape fields.  Returns FR_OK. */
int fr_zoo_build(fr_model *m, fr_zoo_arch arch, uint64_t seed);
const char *fr_zoo_name(fr_zoo_arch arch);

typedef struct fr_train_config {
    int epochs;
    int batch;
    float lr;            /* Adam, cosine-decayed to 0 over all steps */
    float weight_decay;  /* decoupled (AdamW), applied to conv/linear weights only */
    uint64_t seed;
    int n_train;         /* samples used from the training set (0 = all) */
} fr_train_config;

/* Trains m in place on `train` (labels required).  Progress lines go to log (may be NULL). */
int fr_train(fr_model *m, const fr_dataset *train, const fr_train_config *c, FILE *log, fr_err *e);

/* AdamW (beta 0.9/0.999, eps 1e-8, bias-corrected, decoupled weight decay on conv/linear
 * weights only) over every tensor x computes a gradient for, BN running statistics excepted;
 * element by element in tensor order, so a step is deterministic.  Shared by both trainers. */
typedef struct fr_adam {
    float **m, **v;   /* per tensor, NULL when not trained */
    char *decay;
} fr_adam;
void fr_adam_init(fr_adam *o, const fr_graph *g, const fr_exec *x);
void fr_adam_step(fr_adam *o, fr_graph *g, const fr_exec *x, float lr, float weight_decay, int step);
void fr_adam_free(fr_adam *o, const fr_graph *g);

#endif
