/* lm.c — the tiny LLaMA-style language model, its trainer and its token windows; see
 * include/frtui/lm.h. */
#include "frtui/lm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/exec.h"
#include "frtui/fidelity.h"
#include "frtui/tops.h"
#include "frtui/train.h"

/* Weights N(0, 0.02), the residual-writing projections (attn_output, ffn_down) scaled by
 * 1/sqrt(2 layers) as GPT-2 does, norms 1: drawn tensor by tensor in the graph's creation
 * order, which is what makes a seed give the same model as before the graph moved to
 * engine/llama.c (the bundled sample was trained from it). */
int fr_lm_build(fr_model *m, const fr_lm_arch *a, uint64_t seed, fr_err *e)
{
    int rc = fr_llama_graph(m, a, e);
    if (rc) return rc;
    fr_rng rng;
    fr_rng_stream(&rng, seed, 0x400);
    const float sd = 0.02f, sd_out = 0.02f / sqrtf(2.0f * (float)a->layers);
    for (int t = 0; t < m->g.n_tensors; t++) {
        fr_tensor *T = &m->g.tensors[t];
        const char *nm = T->name;
        const size_t L = strlen(nm);
        if (strstr(nm, "_norm.weight") || (L > 5 && !strcmp(nm + L - 5, ".bias"))) continue;   /* 1 and 0 as built */
        const float s = strstr(nm, "attn_output.") || strstr(nm, "ffn_down.") ? sd_out : sd;
        const int64_t n = fr_tensor_numel(T);
        for (int64_t i = 0; i < n; i++) T->data[i] = s * fr_rng_normal(&rng);
    }
    return FR_OK;
}

int fr_lm_train(fr_model *m, const uint8_t *text, size_t n, const fr_lm_train_config *c, FILE *log, fr_err *e)
{
    fr_graph *g = &m->g;
    const int V = fr_graph_lm_vocab(g), T = m->meta.in_c, B = c->batch;
    if (!V) return fr_err_set(e, FR_EINPUT, "%s: not a language model", m->meta.name);
    if (V < 256) return fr_err_set(e, FR_EINPUT, "%s: a byte-level trainer needs a vocabulary of 256 (not %d)", m->meta.name, V);
    if (n <= (size_t)T || n - T > UINT32_MAX)
        return fr_err_set(e, FR_EINPUT, "training text of %zu bytes does not fit windows of %d", n, T);
    fr_exec *x = fr_exec_new(g, 0, g->n_nodes - 1, B, FR_EXEC_TRAIN, e);
    if (!x) return e->code;
    float *in = fr_amalloc((size_t)B * T * sizeof(float));
    float *dlog = fr_amalloc((size_t)B * T * V * sizeof(float));
    int32_t *tgt = fr_xmalloc((size_t)B * T * sizeof(int32_t));
    if (!in || !dlog) {
        fr_afree(in); fr_afree(dlog); free(tgt); fr_exec_free(x);
        return fr_err_set(e, FR_ENOMEM, "out of memory for a training batch");
    }
    fr_adam opt;
    fr_adam_init(&opt, g, x);
    fr_rng rng;
    fr_rng_stream(&rng, c->seed, 0x410);
    fr_exec_bind_input(x, 0, in);
    double t0 = fr_now(), run = 0;
    int rc = FR_OK, runs = 0;
    for (int step = 0; step < c->steps; step++) {
        for (int k = 0; k < B; k++) {
            size_t off = fr_rng_below(&rng, (uint32_t)(n - T));
            for (int t = 0; t < T; t++) {
                in[k * T + t] = (float)text[off + t];
                tgt[k * T + t] = t + 1 < T ? text[off + t + 1] : -1;
            }
        }
        fr_exec_forward(x, B);
        double loss = fr_lm_xent(B * T, V, fr_exec_output(x), tgt, dlog, NULL);
        if (!isfinite(loss)) {
            rc = fr_err_set(e, FR_ENUM, "training diverged (loss %g) at step %d", loss, step);
            break;
        }
        fr_exec_backward(x, B, dlog, 0);
        /* warm-up, then cosine from lr down to lr * lr_min_frac */
        float lr = c->lr;
        if (step < c->warmup) lr *= (float)(step + 1) / (float)c->warmup;
        else {
            float p = (float)(step - c->warmup) / (float)FR_MAX(1, c->steps - c->warmup);
            lr *= c->lr_min_frac + (1.0f - c->lr_min_frac) * 0.5f * (1.0f + cosf(3.14159265f * p));
        }
        fr_adam_step(&opt, g, x, lr, c->weight_decay, step);
        run += loss;
        runs++;
        if (log && c->log_every > 0 && ((step + 1) % c->log_every == 0 || step + 1 == c->steps)) {
            double el = fr_now() - t0;
            fprintf(log, "  step %d/%d: loss %.4f (%.3f bits/byte), lr %.2e, %.0f tokens/s, %.0f s\n", step + 1,
                    c->steps, run / runs, fr_lm_bits(run / runs), (double)lr, (double)(step + 1) * B * T / el, el);
            fflush(log);
            run = 0;
            runs = 0;
        }
    }
    fr_adam_free(&opt, g);
    fr_afree(in); fr_afree(dlog); free(tgt);
    fr_exec_free(x);
    return rc;
}
