/* model_builder.h — the one way the C tests hand-build small models (a graph, its tensors and
 * shapes), instead of each test wiring nodes, tensors and attributes by hand.
 *
 *   fr_tb_begin   fr_model_init + name + input shape + the input node
 *   fr_tb_tensor  a tensor filled from the test's RNG: v = scale·N(0,1) [/ div] [+ offset],
 *                 element by element in order (scale 0: zeros, no draws), so a model built
 *                 from the same seed and the same call order is the same to the bit
 *   fr_tb_node    a node with up to two inputs and up to four parameters (-1: absent),
 *                 shapes re-inferred so the next layer can read its input's channels
 *   fr_tb_conv    conv weight ~ w_scale·N/sqrt(fan_in) (w_scale < 0: |w_scale|·N without the
 *                 fan-in division), bias ~ b_scale·N (b_scale < 0: no bias), "same" padding
 *   fr_tb_linear  weight ~ w_scale·N (0: zeros), a zero bias (or none)
 *   fr_tb_bn      batch norm: gamma ~ 1 + 0.2N, beta ~ 0.2N, mean ~ 0.2N, var ~ 0.5 + U(0,1)
 * Header-only (static inline functions, like view_fixture.h); every test that builds a model by hand
 * includes it. */
#ifndef FR_MODEL_BUILDER_H
#define FR_MODEL_BUILDER_H

#include <math.h>
#include <stdio.h>

#include "frtui/common.h"
#include "frtui/graph.h"

/* Shapes of every node from the input shape; aborts on a wiring mistake in the test itself. */
static inline void fr_tb_infer(fr_model *m)
{
    FR_ASSERT(fr_graph_infer_shapes(&m->g, m->meta.in_c, m->meta.in_h, m->meta.in_w, NULL) == FR_OK);
}

static inline void fr_tb_begin(fr_model *m, const char *name, const char *input, int c, int h, int w)
{
    fr_model_init(m);
    snprintf(m->meta.name, sizeof m->meta.name, "%s", name);
    m->meta.in_c = c; m->meta.in_h = h; m->meta.in_w = w;
    fr_graph_add_node(&m->g, input, FR_OP_INPUT, 0, NULL);
}

static inline int fr_tb_tensor(fr_model *m, fr_rng *r, const char *name, int nd, int64_t d0, int64_t d1, int64_t d2,
                        int64_t d3, float scale, float div, float offset)
{
    int64_t dim[4] = {d0, d1, d2, d3};
    fr_graph *g = &m->g;
    int t = fr_graph_add_tensor(g, name, nd, dim);
    int64_t n = fr_tensor_numel(&g->tensors[t]);
    if (scale != 0)
        for (int64_t i = 0; i < n; i++) {
            float v = scale * fr_rng_normal(r);
            if (div != 1) v /= div;
            g->tensors[t].data[i] = offset != 0 ? offset + v : v;
        }
    return t;
}

/* A node fed by a (and b); a < 0: no input (the input node).  Parameters: fr_tb_params. */
static inline int fr_tb_node(fr_model *m, const char *name, fr_op op, int a, int b)
{
    int in[2] = {a, b};
    return fr_graph_add_node(&m->g, name, op, a < 0 ? 0 : b < 0 ? 1 : 2, in);
}

/* n_param parameters (tensor indices, -1 = an absent optional one such as a conv bias). */
static inline void fr_tb_params(fr_model *m, int node, int n_param, int p0, int p1, int p2, int p3)
{
    int p[4] = {p0, p1, p2, p3};
    m->g.nodes[node].n_param = n_param;
    for (int k = 0; k < n_param; k++) m->g.nodes[node].param[k] = p[k];
}

static inline int fr_tb_conv(fr_model *m, fr_rng *r, const char *name, int in, int o, int k, int stride, int groups,
                      float w_scale, float b_scale)
{
    char nm[128];
    int cin = m->g.nodes[in].c;
    snprintf(nm, sizeof nm, "%s.w", name);
    int t = w_scale >= 0 ? fr_tb_tensor(m, r, nm, 4, o, cin / groups, k, k, w_scale, sqrtf((float)(cin / groups * k * k)), 0)
                         : fr_tb_tensor(m, r, nm, 4, o, cin / groups, k, k, -w_scale, 1, 0);
    int n = fr_tb_node(m, name, FR_OP_CONV, in, -1);
    int tb = -1;
    if (b_scale >= 0) {
        snprintf(nm, sizeof nm, "%s.b", name);
        tb = fr_tb_tensor(m, r, nm, 1, o, 1, 1, 1, b_scale, 1, 0);
    }
    fr_tb_params(m, n, 2, t, tb, -1, -1);
    fr_attrs *a = &m->g.nodes[n].a;
    a->kh = a->kw = k;
    a->sh = a->sw = stride;
    a->pt = a->pl = a->pb = a->pr = k / 2;
    a->groups = groups;
    fr_tb_infer(m);
    return n;
}

static inline int fr_tb_linear(fr_model *m, fr_rng *r, const char *wname, const char *bname, const char *name, int in,
                        int n_in, int n_out, float w_scale, int bias)
{
    int w = fr_tb_tensor(m, r, wname, 2, n_out, n_in, 1, 1, 0, 1, 0);
    int b = bias ? fr_tb_tensor(m, r, bname, 1, n_out, 1, 1, 1, 0, 1, 0) : -1;
    float *d = m->g.tensors[w].data;
    if (w_scale != 0)
        for (int k = 0; k < n_out * n_in; k++) d[k] = w_scale * fr_rng_normal(r);
    int n = fr_tb_node(m, name, FR_OP_LINEAR, in, -1);
    fr_tb_params(m, n, bias ? 2 : 1, w, b, -1, -1);
    return n;
}

static inline int fr_tb_bn(fr_model *m, fr_rng *r, const char *name, int in)
{
    fr_graph *g = &m->g;
    int c = g->nodes[in].c, t[4];
    for (int k = 0; k < 4; k++) {
        char nm[128];
        snprintf(nm, sizeof nm, "%s.%d", name, k);
        t[k] = fr_tb_tensor(m, r, nm, 1, c, 1, 1, 1, 0, 1, 0);
        for (int i = 0; i < c; i++)
            g->tensors[t[k]].data[i] = k == 0   ? 1 + 0.2f * fr_rng_normal(r)
                                       : k == 3 ? 0.5f + fr_rng_uniform(r)
                                                : 0.2f * fr_rng_normal(r);
    }
    int n = fr_tb_node(m, name, FR_OP_BN, in, -1);
    fr_tb_params(m, n, 4, t[0], t[1], t[2], t[3]);
    fr_tb_infer(m);
    return n;
}

#endif
