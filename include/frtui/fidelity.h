/* fidelity.h — label-free fidelity of a quantized network to its full-precision self.
 *
 * Design note
 *   Real networks are calibrated and evaluated on photographs without labels (or with a head
 *   trained for another task), so top-1 accuracy cannot say how much quantization changed them.
 *   Four numbers compare the quantized network with the full-precision one on the same inputs:
 *     cos      mean over samples of the per-sample cosine of the feature vectors f_q and f
 *              (1 when both are zero, 0 when exactly one is);
 *     rel_mse  sum_i ||f_q,i - f_i||^2 / sum_i ||f_i||^2 over all samples (0 when f is all zero
 *              and f_q equals it);
 *     agree    fraction of samples whose top-1 of the network's own output is the same (the
 *              first maximum wins ties, as in top-1 accuracy);
 *     zero_q   samples whose quantized feature is all zeros while the full-precision one is not
 *              (each counts cosine 0): a short budget can leave a ReLU6 layer dead, and the
 *              report says so instead of leaving a bare "cosine 0.0000" to explain;
 *     kl       mean over samples of KL(p_fp || p_q) in nats, p = softmax of the output, or the
 *              output itself when the graph already ends in FR_OP_SOFTMAX (then probabilities
 *              are floored at 1e-30 before the log, so a zero that the quantized net produces
 *              gives a large finite value rather than inf).
 *   Sums run in double in sample order, so results are deterministic for a given executor.
 *
 *   The feature layer: by default the input of the network's head, where the head is the chain
 *   of fully connected layers (with activations, flatten/reshape and softmax between them) that
 *   ends the graph; for MobileNetV2/ResNet that is the global-average-pool output.  A graph
 *   with no such chain uses its output; when the chain reaches back to the graph input (an MLP),
 *   the input of the last fully connected layer.  A node name overrides the rule.
 *
 *   Ownership: the accumulator is plain data; fr_eval_fidelity allocates one executor and its
 *   buffers for the duration of the call.
 */
#ifndef FRTUI_FIDELITY_H
#define FRTUI_FIDELITY_H

#include <math.h>
#include <stddef.h>

#include "frtui/exec.h"

typedef struct fr_fidelity {
    int n;                 /* samples compared; 0 = not measured */
    int feat_node;         /* node whose output is the feature (index in the graph measured) */
    int feat_dim;          /* elements per sample */
    char feat_name[96];
    double cos, rel_mse, agree, kl;
    int zero_q;
    /* Language models (fr_graph_lm_vocab > 0): the numbers above are per token (cosine of each
     * token's feature row, next-token top-1 agreement, KL of each position's distribution), and
     * the next-token cross-entropy of both networks, nats per scored token (perplexity =
     * exp(nll)); lm_vocab 0 and nll NAN otherwise. */
    int lm_vocab;
    long lm_tokens;
    double nll_fp, nll_q;
} fr_fidelity;

typedef struct fr_fid_acc {
    long n, agree, zero_q;
    double cos_sum, d2, r2, kl_sum;
} fr_fid_acc;

void fr_fid_acc_init(fr_fid_acc *a);
/* One sample: features f (full precision) and fq (quantized), d elements each; outputs y and
 * yq, k elements each (logits, or probabilities when probs != 0). */
void fr_fid_add(fr_fid_acc *a, const float *f, const float *fq, size_t d, const float *y, const float *yq, size_t k,
                int probs);
/* Writes the means into out (n, cos, rel_mse, agree, kl, zero_q; the feature fields are left alone). */
void fr_fid_finish(const fr_fid_acc *a, fr_fidelity *out);

/* The report's remark on zero_q: "" when 0, else "; the quantized feature is all zeros on N of M
 * samples (tokens when lm)".  Returns buf. */
const char *fr_fid_zero_note(char *buf, size_t cap, int zero_q, int n, int lm);

/* The default feature node of g (rule above). */
int fr_fid_feature_node(const fr_graph *g);
/* name NULL or "" = the default; else the node of that name (FR_EINPUT naming it when absent). */
int fr_fid_resolve(const fr_graph *g, const char *name, int *node, fr_err *e);

/* Runs ds (the first max_samples, 0 = all) through g twice per batch — as is (full precision)
 * and with the weight overrides and output hooks (n_nodes entries each, NULL = none) — and fills
 * fid for feature node feat_node.  When ds has labels and acc_fp/acc_q are not NULL, they get
 * the top-1 accuracies of both passes; else they are set to -1. */
int fr_eval_fidelity(const fr_graph *g, const fr_meta *meta, const fr_dataset *ds, const float *const *weights,
                     const fr_out_hook *const *hooks, int batch, int max_samples, int feat_node, fr_fidelity *fid,
                     double *acc_fp, double *acc_q, fr_err *e);
/* The same with two graphs: the reference gr (feature node rf_node, run as is) against gq
 * (feature node fq_node, with weights/hooks), e.g. a full-precision bundle against an exported
 * quantized one.  Feature and output sizes must match; meta and ds are shared.  gq == gr is
 * fr_eval_fidelity. */
int fr_eval_fidelity2(const fr_graph *gr, int rf_node, const fr_graph *gq, int fq_node, const float *const *weights,
                      const fr_out_hook *const *hooks, const fr_meta *meta, const fr_dataset *ds, int batch, int max_samples,
                      fr_fidelity *fid, double *acc_fp, double *acc_q, fr_err *e);

/* Next-token cross-entropy of a language model (fr_graph_lm_vocab(g) > 0) on ds: every
 * position but the last of each sample predicts the next id.  *nll: nats per scored token,
 * summed in double in sample order; *tokens: how many were scored.  Weights/hooks as above. */
int fr_eval_lm(const fr_graph *g, const fr_meta *meta, const fr_dataset *ds, const float *const *weights,
               const fr_out_hook *const *hooks, int batch, int max_samples, double *nll, long *tokens, fr_err *e);
/* Perplexity and bits per token of a mean nll in nats (bits per byte for a byte-level model). */
static inline double fr_lm_ppl(double nll) { return exp(nll); }
static inline double fr_lm_bits(double nll) { return nll / 0.69314718055994530942; }

#endif
