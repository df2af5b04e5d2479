/* exec_fold.c — which nodes the executor folds into a convolution, and the helpers exec.c's
 * forward and backward use for them (exec_impl.h).  Split from exec.c.
 *
 * Design note
 *   The plan (fr_xf_plan) comes from whole-graph consumer counts at creation; the decision
 *   (fr_xf_decide) is taken again at every forward, because a hook set on a node turns its
 *   folding off, and backward follows that forward's decision.  The three kinds of fold and
 *   why they keep every bit are described in exec.c's design note.  No allocation, no threads:
 *   the flags live in the fr_exec, which exec.c owns.
 */
#include "exec_impl.h"

#include <stdlib.h>

#include "frtui/ops.h"

static int is_fold_act(fr_op op) { return op == FR_OP_RELU || op == FR_OP_RELU6 || op == FR_OP_CLIP; }

/* The conv a Pad or activation could fold into (exec.c's design note), from whole-graph
 * consumer counts: a node also read beyond `last`, or by a second consumer, stays.  Pads first,
 * since an activation may fold through one. */
void fr_xf_plan(fr_exec *x)
{
    const fr_graph *g = x->g;
    const int N = g->n_nodes;
    int *cons = fr_xmalloc((size_t)N * sizeof(int));   /* sole consumer, -2: several, -1: none */
    for (int i = 0; i < N; i++) cons[i] = -1, x->fold_cons[i] = -1;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int j = g->nodes[i].in[k];
            cons[j] = cons[j] == -1 && k == 0 ? i : -2;
        }
    for (int j = x->first; j < x->last; j++) {
        int c = cons[j];
        if (g->nodes[j].op == FR_OP_PAD && c >= 0 && c <= x->last && g->nodes[c].op == FR_OP_CONV)
            x->fold_cons[j] = c;
    }
    for (int j = x->first; j < x->last; j++) {
        int c = cons[j];
        if (!is_fold_act(g->nodes[j].op) || c < 0 || c > x->last) continue;
        if (g->nodes[c].op == FR_OP_PAD) c = x->fold_cons[c];
        if (c < 0 || g->nodes[c].op != FR_OP_CONV) continue;
        fr_conv_shape s;
        fr_xf_conv_shape(g, &g->nodes[c], 1, &s);
        if (g->nodes[c].in[0] != j) fr_xf_shape(g, &g->nodes[g->nodes[c].in[0]], &s);
        if (fr_conv_can_fold_act(&s)) x->fold_cons[j] = c;
    }
    /* Output folds: an activation that is the sole reader of a depthwise conv in the range, and
     * does not fold into a later conv itself, is computed by that conv's forward sweep. */
    for (int j = 0; j < N; j++) x->ofold_plan[j] = x->oact_of[j] = -1;
    for (int j = x->first; j <= x->last; j++) {
        int c = g->nodes[j].in[0];
        if (!is_fold_act(g->nodes[j].op) || x->fold_cons[j] >= 0 || c < x->first || cons[c] != j ||
            g->nodes[c].op != FR_OP_CONV)
            continue;
        fr_conv_shape s;
        fr_xf_conv_shape(g, &g->nodes[c], 1, &s);
        if (fr_conv_can_fold_act(&s)) x->ofold_plan[j] = c;
    }
    /* Tail fold (fr_exec_set_tail_act): `last` is a ReLU / ReLU6 / Clip whose input is computed
     * in the range and read by nothing else, so the caller can apply it to that input. */
    x->tail_plan = -1;
    {
        const fr_node *t = &g->nodes[x->last];
        int c = t->in[0];
        if (is_fold_act(t->op) && t->n_in == 1 && c >= x->first && c < x->last && cons[c] == x->last)
            x->tail_plan = x->last;
    }
    free(cons);
}

/* Which nodes the coming forward folds: those planned, not hooked, and for an activation that
 * folds through a Pad, only when that Pad folds too. */
void fr_xf_decide(fr_exec *x)
{
    const fr_graph *g = x->g;
    const int on = x->fold_on && !fr_conv_legacy();   /* the legacy kernels are the bench's "before" */
    for (int i = x->first; i <= x->last; i++) {
        x->folded[i] = on && x->fold_cons[i] >= 0 && !x->has_hook[i];
        if (x->folded[i] && g->nodes[i].op != FR_OP_PAD) {
            int c = x->fold_cons[i], p = g->nodes[c].in[0];
            if (p != i) x->folded[i] = x->fold_cons[p] >= 0 && !x->has_hook[p];   /* p folds too */
        }
        x->stale[i] = x->folded[i];
    }
    for (int i = x->first; i <= x->last; i++) x->oact_of[i] = -1;
    for (int j = x->first; j <= x->last; j++) {
        int c = x->ofold_plan[j];
        x->ofolded[j] = on && c >= 0 && !x->has_hook[j] && !x->has_hook[c];
        if (x->ofolded[j]) x->oact_of[c] = j;
    }
    /* The tail is left to the caller only when neither it nor its input is hooked or computed
     * by a depthwise conv's sweep (their buffers then hold what the separate pass would read),
     * and only for this forward.  Neither can fold into a conv: the tail has no reader in the
     * range and its input's only reader is the tail. */
    x->tail = -1;
    if (x->tail_on && on && x->tail_plan >= 0) {
        int t = x->tail_plan, c = g->nodes[t].in[0];
        if (!x->has_hook[t] && !x->has_hook[c] && !x->ofolded[t] && !x->ofolded[c]) {
            x->tail = t;
            x->stale[t] = 1;   /* filled on demand (fr_exec_out, fr_exec_output) */
        }
    }
}

/* A ReLU / ReLU6 / Clip node as the conv kernels' FR_CONV_ACT_* and bounds. */
static void conv_act(const fr_node *a, int *act, float *lo, float *hi)
{
    *act = a->op == FR_OP_RELU ? FR_CONV_ACT_RELU : FR_CONV_ACT_CLIP;
    *lo = a->op == FR_OP_CLIP ? a->a.alpha : 0.0f;
    *hi = a->op == FR_OP_CLIP ? a->a.beta : 6.0f;
}

int fr_exec_tail(const fr_exec *x, int *act, float *lo, float *hi)
{
    if (x->tail < 0) return -1;
    const fr_node *t = &x->g->nodes[x->tail];
    conv_act(t, act, lo, hi);
    return t->in[0];
}

void fr_exec_set_tail_act(fr_exec *x, int on) { x->tail_on = on; }

/* The output activation conv c computes in this forward (fr_xf_decide), into s: forward writes
 * it to the activation's buffer, backward takes the activation's gradient and c's output. */
void fr_xf_conv_oact(const fr_exec *x, int c, fr_conv_shape *s)
{
    int j = x->oact_of[c];
    if (j < 0) return;
    conv_act(&x->g->nodes[j], &s->oact, &s->oact_lo, &s->oact_hi);
    s->yact = x->out[j];
    s->ypre = x->out[c];
}

/* The node conv n reads in the current forward, and its shape with the folded Pad and
 * activation in it. */
int fr_xf_conv_source(const fr_exec *x, const fr_node *n, fr_conv_shape *s)
{
    const fr_graph *g = x->g;
    int j = n->in[0];
    if (j >= x->first && x->folded[j] && g->nodes[j].op == FR_OP_PAD) {
        fr_xf_shape(g, &g->nodes[j], s);
        j = g->nodes[j].in[0];
    }
    if (j >= x->first && x->folded[j] && is_fold_act(g->nodes[j].op)) {
        conv_act(&g->nodes[j], &s->act, &s->act_lo, &s->act_hi);
        j = g->nodes[j].in[0];
    }
    return j;
}

/* The conv's shape over the Pad's input, both paddings added. */
void fr_xf_shape(const fr_graph *g, const fr_node *pad, fr_conv_shape *s)
{
    const fr_node *in = &g->nodes[pad->in[0]];
    s->c = in->c; s->h = in->h; s->w = in->w;
    s->pt += pad->a.pt; s->pl += pad->a.pl; s->pb += pad->a.pb; s->pr += pad->a.pr;
}

void fr_exec_set_folding(fr_exec *x, int on) { x->fold_on = !!on; }

/* Forward of the ops that can be folded, for the forward pass and for materialise.  Returns 0
 * for any other op. */
int fr_xf_forward(const fr_graph *g, const fr_node *n, int nb, const float *a, float *y)
{
    const fr_node *an = &g->nodes[n->in[0]];
    size_t cnt = fr_xf_node_size(n) * (size_t)nb;
    switch (n->op) {
    case FR_OP_PAD: fr_pad_forward(nb, an->c, an->h, an->w, n->a.pt, n->a.pl, n->a.pb, n->a.pr, a, y); return 1;
    case FR_OP_RELU: fr_relu_forward(cnt, a, y); return 1;
    case FR_OP_RELU6: fr_relu6_forward(cnt, a, y); return 1;
    case FR_OP_CLIP: fr_clip_forward(cnt, a, n->a.alpha, n->a.beta, y); return 1;
    default: return 0;
    }
}

/* Fills a folded node's output from its input (itself filled first when folded too); the
 * flags live in separately allocated memory, so a const plan can do this. */
void fr_xf_materialise(const fr_exec *x, int i)
{
    if (i < x->first || !x->stale[i]) return;
    const fr_node *n = &x->g->nodes[i];
    fr_xf_materialise(x, n->in[0]);
    if (!fr_xf_forward(x->g, n, x->fwd_nb, fr_xf_in_ptr(x, n->in[0]), x->out[i]))
        fr_abort(__FILE__, __LINE__, "exec: %s folded", fr_op_name(n->op));
    x->stale[i] = 0;
}

int fr_exec_n_folded(const fr_exec *x)
{
    int n = 0;
    for (int i = x->first; i <= x->last; i++) n += x->folded[i] + x->ofolded[i];
    return n;
}
