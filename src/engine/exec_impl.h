/* exec_impl.h — what exec.c and exec_fold.c share: the executor's struct and its small
 * helpers.  Private to src/engine (not installed with include/frtui). */
#ifndef FRTUI_EXEC_IMPL_H
#define FRTUI_EXEC_IMPL_H

#include <string.h>

#include "frtui/common.h"
#include "frtui/conv.h"
#include "frtui/exec.h"

#define MAX_EXT 16

struct fr_exec {
    fr_graph *g;
    int first, last, max_batch, mode;
    float **out, **pre, **grad;
    const float **wover;
    fr_out_hook *hooks;
    unsigned char *has_hook, *grad_set;
    int n_ext, ext[MAX_EXT];
    const float *ext_data[MAX_EXT];
    float *ext_grad[MAX_EXT];
    float **pgrad;                  /* per tensor */
    float **bn_xhat, **bn_mean, **bn_inv;
    float *scratch, *tmp, *tmp2;
    size_t max_act;                 /* largest per-batch activation (floats) */
    size_t bytes;
    int dry;                        /* plan_walk sizes without allocating */
    int *fold_cons;                 /* per node: the conv a Pad or activation folds into, else -1 */
    unsigned char *folded;          /* per node: folded in the last forward */
    unsigned char *stale;           /* per node: folded, out[] not filled since that forward */
    int *ofold_plan;                /* per activation node: the depthwise conv it could fold out of, else -1 */
    int *oact_of;                   /* per conv: the activation folded out of it in the last forward, else -1 */
    unsigned char *ofolded;         /* per activation node: computed by its conv in the last forward */
    int fold_on, fwd_nb;
    int tail_plan;                  /* `last` when it is an activation the caller may apply (fr_exec_set_tail_act), else -1 */
    int tail_on;                    /* fr_exec_set_tail_act */
    int tail;                       /* tail_plan when the last forward left it to the caller, else -1 */
    int bias_grads;                 /* fr_exec_set_bias_grads; 1 by default */
};

static inline size_t fr_xf_node_size(const fr_node *n) { return (size_t)n->c * n->h * n->w; }

static inline void fr_xf_conv_shape(const fr_graph *g, const fr_node *n, int nb, fr_conv_shape *s)
{
    const fr_node *in = &g->nodes[n->in[0]];
    memset(s, 0, sizeof *s);
    s->n = nb; s->c = in->c; s->h = in->h; s->w = in->w;
    s->kh = n->a.kh; s->kw = n->a.kw;
    s->sh = n->a.sh; s->sw = n->a.sw;
    s->pt = n->a.pt; s->pl = n->a.pl; s->pb = n->a.pb; s->pr = n->a.pr;
    if (n->op == FR_OP_CONV) {
        s->o = n->c; s->dh = n->a.dh; s->dw = n->a.dw; s->groups = n->a.groups;
    } else { /* pooling */
        s->o = in->c; s->dh = s->dw = 1; s->groups = in->c;
    }
    fr_conv_out_shape(s);
}

static inline const float *fr_xf_in_ptr(const fr_exec *x, int j)
{
    if (j >= x->first) return x->out[j];
    for (int q = 0; q < x->n_ext; q++)
        if (x->ext[q] == j) { FR_ASSERT(x->ext_data[q]); return x->ext_data[q]; }
    fr_abort(__FILE__, __LINE__, "node %d is not bound", j);
}

/* Folding (exec_fold.c; exec.c's design note). */
void fr_xf_plan(fr_exec *x);                 /* at creation: what could fold, from the graph */
void fr_xf_decide(fr_exec *x);               /* at each forward: what folds, given the hooks */
/* The node conv n reads in this forward, with the folded Pad and input activation in *s. */
int fr_xf_conv_source(const fr_exec *x, const fr_node *n, fr_conv_shape *s);
/* The output activation conv c computes in this forward, into *s (none: *s unchanged). */
void fr_xf_conv_oact(const fr_exec *x, int c, fr_conv_shape *s);
/* The conv's shape over a folded Pad's input, both paddings added. */
void fr_xf_shape(const fr_graph *g, const fr_node *pad, fr_conv_shape *s);
/* Forward of a foldable op (Pad, ReLU, ReLU6, Clip); 0 for any other op. */
int fr_xf_forward(const fr_graph *g, const fr_node *n, int nb, const float *a, float *y);
/* Fills a folded node's output (and its folded inputs') if the last forward skipped it. */
void fr_xf_materialise(const fr_exec *x, int i);

#endif
