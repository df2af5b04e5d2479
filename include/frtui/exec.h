/* exec.h — runs a contiguous node range of a graph (the whole model or one reconstruction
 * unit) forward and backward on a batch, with every buffer allocated once.
 *
 * Design note
 *   An fr_exec is a plan for nodes [first, last] of a graph at a maximum batch size.  All
 *   activation, gradient and scratch buffers are allocated in fr_exec_new; forward/backward
 *   allocate nothing, so the reconstruction loop can call them thousands of times.
 *
 *   External inputs: nodes outside the range whose outputs the range reads (for the whole
 *   graph: the input node).  The caller points each one at its data with fr_exec_bind_input
 *   (no copy) before fr_exec_forward.
 *
 *   Weight override: fr_exec_set_weight(x, node, W) makes a conv/linear use W (the quantizer's
 *   Ŵ) instead of the graph tensor; the gradient that backward computes is then dL/dŴ, which
 *   is exactly the G the quantizers consume.
 *
 *   Output hooks: a per-node transform applied to the node's output (activation fake-quant,
 *   QDrop dropping).  The executor keeps the pre-hook values so the hook's backward can use
 *   them.
 *
 *   Threading: an fr_exec belongs to one thread at a time.  It reads graph tensors, never
 *   writes them (training writes go through fr_exec_param_grad + the caller's optimiser).
 */
#ifndef FRTUI_EXEC_H
#define FRTUI_EXEC_H

#include "frtui/graph.h"

typedef struct fr_exec fr_exec;

typedef struct fr_out_hook {
    /* y = f(x) over count values (count = nb * per-sample size). */
    void (*forward)(void *ctx, const float *x, float *y, size_t count);
    /* dx = f'(x) dy.  x is the pre-hook value. */
    void (*backward)(void *ctx, const float *x, const float *dy, float *dx, size_t count);
    void *ctx;
} fr_out_hook;

enum fr_exec_mode {
    FR_EXEC_INFER = 0,  /* forward only; no gradient buffers */
    FR_EXEC_GRAD = 1,   /* forward + backward, batch-norm in inference form (reconstruction) */
    FR_EXEC_TRAIN = 2,  /* batch-norm uses batch statistics and updates running stats (trainer) */
};
/* The graph must outlive the plan.  In FR_EXEC_TRAIN mode the running statistics of BN
 * tensors are updated in place (the one exception to "never writes tensors").  Returns NULL
 * with e set on failure (sizes reported in MB). */
fr_exec *fr_exec_new(fr_graph *g, int first, int last, int max_batch, int mode, fr_err *e);
/* Bytes fr_exec_new(g, first, last, max_batch, mode) allocates (fr_exec_bytes of the result,
 * before any hook), computed without allocating them; SIZE_MAX when the range is not
 * executable.  fr_exec_new itself refuses a plan over fr_mem_available() with FR_ENOMEM before
 * allocating ("executing A..B at batch N needs X, more than the Y available");
 * callers that hold other memory alongside (calibration caches) add this figure to theirs. */
size_t fr_exec_plan_bytes(fr_graph *g, int first, int last, int max_batch, int mode);
void fr_exec_free(fr_exec *x);

/* Bytes held by the plan (activations + gradients + scratch). */
size_t fr_exec_bytes(const fr_exec *x);

int fr_exec_n_inputs(const fr_exec *x);
int fr_exec_input_node(const fr_exec *x, int k);
/* data: nb x (c*h*w of that node) floats, valid until the next forward returns. */
void fr_exec_bind_input(fr_exec *x, int k, const float *data);

void fr_exec_set_weight(fr_exec *x, int node, const float *W);
/* Whether backward computes conv and linear bias gradients (on by default).  Off, their
 * fr_exec_param_grad is NULL and every other gradient keeps its bits; reconstruction, which
 * learns weights only, turns them off to save a read of each conv's output gradient. */
void fr_exec_set_bias_grads(fr_exec *x, int on);
void fr_exec_set_hook(fr_exec *x, int node, const fr_out_hook *hook);   /* NULL removes */

void fr_exec_forward(fr_exec *x, int nb);
/* Forward of samples [slice0, slice0 + nb) of a batch of slice_of (the bound inputs hold the slice
 * only), bit for bit what fr_exec_forward on the whole batch gives for them: convs and linears cut
 * the slice into the whole batch's chunks (conv.h).  Every other op is per sample.  The slice must
 * be one of the batch's quarters, halves or itself: [floor(slice_of*a/4), floor(slice_of*b/4)). */
void fr_exec_forward_slice(fr_exec *x, int nb, int slice_of, int slice0);
/* Zero Pads feeding a conv, and ReLU/ReLU6/Clip feeding a depthwise conv, are not materialised
 * but computed inside the conv (exec.c's design note); on by default.  Same bits either way:
 * the switch exists for tests. */
void fr_exec_set_folding(fr_exec *x, int on);
int fr_exec_n_folded(const fr_exec *x);   /* nodes folded into a conv in the last forward */
/* Tail fold (off by default): when `last` is a ReLU / ReLU6 / Clip whose input is computed in
 * the range and read by nothing else, the forwards run with it on leave that activation to the
 * caller, who applies it (fr_conv_act_fwd) inside a pass of its own, e.g. a loss, and hands
 * backward the gradient with respect to its *input* (fr_conv_act_bwd applied): the activation's
 * forward pass and its backward's write and re-read of a gradient go away.  fr_exec_tail says
 * whether the last forward did so: it returns the activation's input node (whose fr_exec_out
 * is what the caller got) and sets act/lo/hi, else returns -1 and the contract is the usual
 * one.  fr_exec_output and fr_exec_out(last) still give the activated output (filled on
 * demand).  Same bits as the separate passes when the caller uses the inline helpers. */
void fr_exec_set_tail_act(fr_exec *x, int on);
int fr_exec_tail(const fr_exec *x, int *act, float *lo, float *hi);
/* Output of node (in range), nb x per-sample floats. */
const float *fr_exec_out(const fr_exec *x, int node);
const float *fr_exec_output(const fr_exec *x);   /* of `last` */

/* Backward from dy = dL/d(output of last) (of the tail's input, see fr_exec_tail), nb x per-sample.  Computes gradients for every
 * parameter tensor used in the range (see fr_exec_param_grad) and, when want_input_grad,
 * for the external inputs (fr_exec_input_grad). */
void fr_exec_backward(fr_exec *x, int nb, const float *dy, int want_input_grad);
/* Gradient buffer for graph tensor t (same shape), or NULL when t is not used in the range.
 * For a layer with a weight override this is dL/dŴ. */
const float *fr_exec_param_grad(const fr_exec *x, int tensor);
const float *fr_exec_input_grad(const fr_exec *x, int k);

/* Convenience: whole-graph inference over a dataset, returning top-1 accuracy in [0,1].
 * Uses the model's eval set when ds == NULL.  weights: optional per-node override array
 * (n_nodes entries, NULL = graph weights).  batch: evaluation batch size. */
int fr_eval_accuracy(const fr_model *m, const fr_dataset *ds, const float *const *weights, int batch,
                     double *acc, fr_err *e);
/* The same on an explicit graph (e.g. a BN-folded copy) with optional per-node output hooks
 * (n_nodes entries, NULL = none) and a sample limit (0 = all). */
int fr_eval_accuracy_ex(const fr_graph *g, const fr_meta *meta, const fr_dataset *ds, const float *const *weights,
                        const fr_out_hook *const *hooks, int batch, int max_samples, double *acc, fr_err *e);

#endif
