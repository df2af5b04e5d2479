/* partition.h — splitting a graph into reconstruction units.
 *
 * Design note
 *   A unit is a contiguous node range [first, last] of the (topologically sorted, BN-folded)
 *   graph.  The units of a partition cover nodes 1..n-1 exactly once, in order, so running
 *   the units one after the other is running the network.
 *
 *   BRECQ granularity (layerwise == 0):
 *   - a residual block (two activation paths joined by an add, e.g. ResNet BasicBlock or an
 *     inverted residual with skip) is one unit, from the node after the fan-out point to the
 *     add (plus a directly following activation);
 *   - an inverted residual without skip (expand 1x1 -> depthwise -> project 1x1) is one unit;
 *   - every other conv/linear is a layer unit together with a directly following activation.
 *   Two rules decide what may sit between the convs of an inverted residual (fr_unit_rule):
 *   FR_UNITS_BRECQ (default, BRECQ's QuantInvertedResidual): any chain of activations, a Pad
 *   before the depthwise, and gating diamonds such as squeeze-and-excitation (the SE convs
 *   belong to the block's unit); layer units likewise take a whole activation chain.
 *   FR_UNITS_SPLIT (frtui before Dec 2026, kept so old checkpoints resume unchanged): exactly
 *   one activation between convs and no Pad, so e.g. torch's Relu+Clip ReLU6 export or a
 *   Keras stride-2 block falls apart into layer units.
 *   Layer granularity (layerwise == 1): every conv/linear is its own unit.
 *   Parameter-free nodes between units (pools, flatten, GAP) are attached to the front of the
 *   next unit (they only reshape its input); trailing ones (softmax) to the last unit.
 *   A candidate block whose inside is read from outside, or that reads more than its input,
 *   is not a block: its layers become layer units.
 */
#ifndef FRTUI_PARTITION_H
#define FRTUI_PARTITION_H

#include "frtui/graph.h"

#define FR_UNIT_MAX_LAYERS 32
#define FR_UNIT_MAX_EXT 16

typedef struct fr_unit {
    char name[96];
    char ops[96];              /* op names joined by ',' (truncated with "…" when long) */
    int first, last;           /* node range, inclusive */
    int is_block;
    int n_layers;
    int layers[FR_UNIT_MAX_LAYERS];   /* conv/linear node indices in order */
    int n_ext;
    int ext[FR_UNIT_MAX_EXT];  /* nodes outside the range that the range reads */
} fr_unit;

typedef struct fr_partition {
    int n;
    fr_unit *units;
} fr_partition;

typedef enum { FR_UNITS_BRECQ = 0, FR_UNITS_SPLIT = 1, FR_UNITS__COUNT } fr_unit_rule;
/* "brecq" | "split" */
const char *fr_unit_rule_name(fr_unit_rule r);

int fr_partition_build(const fr_graph *g, int layerwise, fr_unit_rule rule, fr_partition *p, fr_err *e);
void fr_partition_free(fr_partition *p);
/* Index of the unit with this name, or of the unit containing a node of this name; -1. */
int fr_partition_find(const fr_partition *p, const fr_graph *g, const char *name);
/* Prints the partition as a table (used by `frtui info`). */
void fr_partition_print(FILE *out, const fr_partition *p, const fr_graph *g);

#endif
