/* partition.c — BRECQ-style and layer-wise reconstruction units; see partition.h.
 *
 * Two block rules share this file.  FR_UNITS_SPLIT is the rule frtui used until Dec 2026 and is
 * kept byte-for-byte (old checkpoints replay with it): an inverted residual without skip is a
 * block only when exactly one activation separates its convs.  FR_UNITS_BRECQ follows BRECQ's
 * QuantInvertedResidual: the whole expand -> depthwise -> project chain is one unit whatever
 * sits between the convs, as long as it is "transparent" to the chain — activation chains
 * (torch's ReLU6 export is Relu then Clip), the explicit Pad that tfjs/Keras put before a
 * stride-2 depthwise, and gating diamonds (squeeze-and-excitation, x * hardsigmoid(x)) that
 * read the chain's value and multiply it back in. */
#include "frtui/partition.h"

#include <stdlib.h>
#include <string.h>

static int is_act(fr_op op)
{
    return op == FR_OP_RELU || op == FR_OP_RELU6 || op == FR_OP_CLIP || op == FR_OP_HARDSWISH ||
           op == FR_OP_SIGMOID || op == FR_OP_HARDSIGMOID || op == FR_OP_GELU || op == FR_OP_SILU;
}

static int is_depthwise(const fr_graph *g, const fr_node *n)
{
    if (n->op != FR_OP_CONV || n->a.groups <= 1) return 0;
    const fr_node *in = &g->nodes[n->in[0]];
    return n->a.groups == in->c && n->c % in->c == 0;
}

static int is_pointwise(const fr_node *n) { return n->op == FR_OP_CONV && n->a.kh == 1 && n->a.kw == 1 && n->a.groups == 1; }

/* uses[i]: number of consumers of node i; the last consumer index in last_use[i]. */
typedef struct { int *uses, *first_use, *last_use; } usage;

static void usage_build(const fr_graph *g, usage *u)
{
    u->uses = fr_xcalloc((size_t)g->n_nodes, sizeof(int));
    u->first_use = fr_xcalloc((size_t)g->n_nodes, sizeof(int));
    u->last_use = fr_xcalloc((size_t)g->n_nodes, sizeof(int));
    for (int i = 0; i < g->n_nodes; i++) u->first_use[i] = -1, u->last_use[i] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int j = g->nodes[i].in[k];
            u->uses[j]++;
            if (u->first_use[j] < 0) u->first_use[j] = i;
            u->last_use[j] = i;
        }
}

static void usage_free(usage *u) { free(u->uses); free(u->first_use); free(u->last_use); }

/* A range [a, b] is self-contained when it reads only nodes in [a-1-ish...]: every input of a
 * node inside is inside or equal to `src`, and nothing after b reads a node in [a, b-1]. */
static int range_ok(const fr_graph *g, const usage *u, int src, int a, int b)
{
    for (int i = a; i <= b; i++) {
        const fr_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (!(n->in[k] >= a && n->in[k] <= b) && n->in[k] != src) return 0;
        if (i < b && u->last_use[i] > b) return 0;
    }
    return 1;
}

/* Extends the end of a block over a directly following single-consumer activation. */
static int with_act(const fr_graph *g, const usage *u, int end)
{
    if (end + 1 < g->n_nodes && u->uses[end] == 1 && is_act(g->nodes[end + 1].op) && g->nodes[end + 1].in[0] == end)
        return end + 1;
    return end;
}

/* Gating diamond at k: the last consumer m of k is a Mul reading k, and (k, m] is a short
 * self-contained range that reads only itself and k (SE: GAP -> 1x1 -> act -> 1x1 -> gate -> Mul;
 * hard-swish written out: HardSigmoid -> Mul).  Returns m, or -1.  layers_ok = 0 refuses
 * diamonds with conv/linear inside (a layer unit must stay one layer). */
static int gate_end(const fr_graph *g, const usage *u, int k, int layers_ok)
{
    int m = u->last_use[k];
    if (m <= k + 1 || m - k > 12 || u->uses[k] < 2 || g->nodes[m].op != FR_OP_MUL || g->nodes[m].n_in != 2) return -1;
    if (g->nodes[m].in[0] != k && g->nodes[m].in[1] != k) return -1;
    if (!range_ok(g, u, k, k + 1, m)) return -1;
    for (int i = k + 1; i < m && !layers_ok; i++)
        if (fr_node_is_layer(&g->nodes[i])) return -1;
    return m;
}

/* BRECQ rule: extends k over what directly follows it without changing which conv comes next:
 * single-consumer activation chains, gating diamonds and (pad_ok) a Pad. */
static int skip_transparent(const fr_graph *g, const usage *u, int k, int layers_ok, int pad_ok)
{
    for (;;) {
        const fr_node *nx = k + 1 < g->n_nodes ? &g->nodes[k + 1] : NULL;
        if (nx && u->uses[k] == 1 && nx->in[0] == k && (is_act(nx->op) || (pad_ok && nx->op == FR_OP_PAD))) {
            k++;
            continue;
        }
        int m = gate_end(g, u, k, layers_ok);
        if (m < 0) return k;
        k = m;
    }
}

/* Highest-index common ancestor of a and b (inclusive), or -1. */
static int split_node(const fr_graph *g, int a, int b, unsigned char *mark)
{
    memset(mark, 0, (size_t)g->n_nodes);
    /* Mark ancestors of a with bit 1, of b with bit 2, walking down in index order. */
    mark[a] |= 1;
    mark[b] |= 2;
    int hi = a > b ? a : b;
    for (int i = hi; i >= 0; i--) {
        if (!mark[i]) continue;
        if (mark[i] == 3) return i;
        const fr_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) mark[n->in[k]] |= mark[i];
    }
    return -1;
}

static void add_unit(fr_partition *p, int *cap, const fr_graph *g, int first, int last, int is_block)
{
    if (p->n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        p->units = fr_xrealloc(p->units, (size_t)*cap * sizeof *p->units);
    }
    fr_unit *u = &p->units[p->n++];
    memset(u, 0, sizeof *u);
    u->first = first;
    u->last = last;
    u->is_block = is_block;
    size_t len = 0;
    for (int i = first; i <= last; i++) {
        const fr_node *n = &g->nodes[i];
        if (fr_node_is_layer(n) && u->n_layers < FR_UNIT_MAX_LAYERS) u->layers[u->n_layers++] = i;
        const char *nm = is_depthwise(g, n) ? "dwconv" : fr_op_name(n->op);
        int w = snprintf(u->ops + len, sizeof u->ops - len, "%s%s", len ? "," : "", nm);
        if (w < 0 || (size_t)w >= sizeof u->ops - len) {
            snprintf(u->ops + sizeof u->ops - 5, 5, "...");
            len = sizeof u->ops - 1;
        } else {
            len += (size_t)w;
        }
        for (int k = 0; k < n->n_in; k++) {
            int j = n->in[k], seen = 0;
            if (j >= first) continue;
            for (int q = 0; q < u->n_ext; q++) seen |= u->ext[q] == j;
            if (!seen && u->n_ext < FR_UNIT_MAX_EXT) u->ext[u->n_ext++] = j;
        }
    }
    const char *lead = u->n_layers ? g->nodes[u->layers[0]].name : g->nodes[first].name;
    /* A decoder block is named by what its layers share up to a dot ("blk.3" for blk.3.attn_q …
     * blk.3.ffn_down), as transformer users name blocks; CNN blocks keep their first layer's
     * name, which checkpoints and reports already use. */
    int pre = 0, attn = 0;
    for (int i = first; i <= last; i++) attn |= g->nodes[i].op == FR_OP_ATTENTION;
    if (is_block && attn && u->n_layers > 1) {
        const char *z = g->nodes[u->layers[u->n_layers - 1]].name;
        for (int k = 0; lead[k] && lead[k] == z[k]; k++)
            if (lead[k] == '.') pre = k;
    }
    if (pre > 0) snprintf(u->name, sizeof u->name, "block:%.*s", FR_MIN(pre, (int)sizeof u->name - 8), lead);
    else snprintf(u->name, sizeof u->name, "%s%.*s", is_block ? "block:" : "", (int)sizeof u->name - 8, lead);
}

/* BRECQ rule for an inverted residual without skip around the depthwise conv d: walks back over
 * transparent single-consumer nodes to a pointwise expand, forward to the pointwise project.
 * Sets *start and *end; returns 0 when no project conv follows. */
static int ir_brecq(const fr_graph *g, const usage *u, int d, int *start, int *end)
{
    int a = g->nodes[d].in[0];
    *start = d;
    for (;;) {
        const fr_node *na = &g->nodes[a];
        if (a > 0 && u->uses[a] == 1 && (is_act(na->op) || na->op == FR_OP_PAD)) { a = na->in[0]; continue; }
        /* A gate ending at a (x * hardsigmoid(x) written out): continue from its source. */
        int j = na->op == FR_OP_MUL && na->n_in == 2 && u->uses[a] == 1 ? na->in[0] : -1;
        if (j >= 0 && gate_end(g, u, j, 0) != a) j = na->in[1];
        if (j >= 0 && gate_end(g, u, j, 0) == a) { a = j; continue; }
        break;
    }
    /* The walk only crossed nodes that skip_transparent crosses forward: check that it leads
     * back to d, i.e. that nothing else sits between the expand and the depthwise. */
    if (a > 0 && a < d && is_pointwise(&g->nodes[a]) && skip_transparent(g, u, a, 0, 1) == d - 1 &&
        g->nodes[d].in[0] == d - 1)
        *start = a;
    int k = skip_transparent(g, u, d, 1, 0);
    if (!(k + 1 < g->n_nodes && u->uses[k] == 1 && is_pointwise(&g->nodes[k + 1]) && g->nodes[k + 1].in[0] == k)) return 0;
    *end = skip_transparent(g, u, k + 1, 0, 0);
    return 1;
}

const char *fr_unit_rule_name(fr_unit_rule r) { return r == FR_UNITS_SPLIT ? "split" : "brecq"; }

int fr_partition_build(const fr_graph *g, int layerwise, fr_unit_rule rule, fr_partition *p, fr_err *e)
{
    int brecq = rule != FR_UNITS_SPLIT;
    memset(p, 0, sizeof *p);
    int N = g->n_nodes;
    if (N < 2) return fr_err_set(e, FR_EINPUT, "graph has no operators to partition");
    usage u;
    usage_build(g, &u);
    /* block_end[i] = end of a block that starts at node i (0 = none). */
    int *block_end = fr_xcalloc((size_t)N, sizeof(int));
    unsigned char *mark = fr_xcalloc((size_t)N, 1);
    if (!layerwise) {
        for (int i = 1; i < N; i++) {
            const fr_node *n = &g->nodes[i];
            int start = -1, end = -1, src = -1;
            if (n->op == FR_OP_ADD && n->n_in == 2) {
                src = split_node(g, n->in[0], n->in[1], mark);
                if (src < 0) continue;
                start = src + 1;
                end = brecq ? skip_transparent(g, &u, i, 0, 0) : with_act(g, &u, i);
            } else if (is_depthwise(g, n) && brecq) {
                if (!ir_brecq(g, &u, i, &start, &end)) continue;
                src = g->nodes[start].in[0];
                if (u.uses[end] == 1 && end + 1 < N && g->nodes[end + 1].op == FR_OP_ADD) continue;
            } else if (is_depthwise(g, n)) {
                /* Inverted residual without skip: [expand 1x1 + act] -> dw + act -> project 1x1. */
                int d = i, a = n->in[0];
                start = d;
                if (is_act(g->nodes[a].op) && is_pointwise(&g->nodes[g->nodes[a].in[0]]) && u.uses[a] == 1 &&
                    u.uses[g->nodes[a].in[0]] == 1)
                    start = g->nodes[a].in[0];
                int k = d;
                if (k + 1 < N && u.uses[k] == 1 && is_act(g->nodes[k + 1].op) && g->nodes[k + 1].in[0] == k) k++;
                if (k + 1 < N && u.uses[k] == 1 && is_pointwise(&g->nodes[k + 1]) && g->nodes[k + 1].in[0] == k) k++;
                else continue;
                end = with_act(g, &u, k);
                src = g->nodes[start].in[0];
                /* A skip connection around this will be found by the add rule instead. */
                if (u.uses[end] == 1 && end + 1 < N && g->nodes[end + 1].op == FR_OP_ADD) continue;
            } else {
                continue;
            }
            if (start < 1 || end < start || !range_ok(g, &u, src, start, end)) continue;
            /* Keep the outermost block when candidates overlap: an earlier, longer one wins. */
            int clash = 0;
            for (int s = 1; s < N && !clash; s++)
                if (block_end[s] && !(block_end[s] < start || s > end)) {
                    if (s <= start && block_end[s] >= end) clash = 1;            /* already covered */
                    else if (start <= s && end >= block_end[s]) block_end[s] = 0; /* we contain it */
                    else clash = 1;
                }
            if (!clash) block_end[start] = end;
        }
    }
    /* Decoder blocks (issue 16): the official FlexRound LLM scripts reconstruct a transformer
     * block as one unit, attention and MLP halves together.  Each half closes with its own
     * residual Add, so the rule above finds two blocks; a block holding an attention node is
     * merged with the block that starts right after it when that one holds none. */
    if (!layerwise && brecq)
        for (int s = 1; s < N; s++) {
            int e1 = block_end[s];
            if (!e1 || e1 + 1 >= N || !block_end[e1 + 1]) continue;
            int att1 = 0, att2 = 0;
            for (int k = s; k <= e1; k++) att1 |= g->nodes[k].op == FR_OP_ATTENTION;
            for (int k = e1 + 1; k <= block_end[e1 + 1]; k++) att2 |= g->nodes[k].op == FR_OP_ATTENTION;
            if (!att1 || att2) continue;
            block_end[s] = block_end[e1 + 1];
            block_end[e1 + 1] = 0;
        }
    /* Cover 1..N-1: glue accumulates and is prepended to the next unit. */
    int cap = 0, glue = -1;
    for (int i = 1; i < N;) {
        int start = glue >= 0 ? glue : i;
        if (block_end[i]) {
            add_unit(p, &cap, g, start, block_end[i], 1);
            i = block_end[i] + 1;
            glue = -1;
        } else if (fr_node_is_layer(&g->nodes[i])) {
            int end = i;
            if (brecq && !layerwise) end = skip_transparent(g, &u, i, 0, 0);
            else if (i + 1 < N && u.uses[i] == 1 && is_act(g->nodes[i + 1].op) && g->nodes[i + 1].in[0] == i) end = i + 1;
            add_unit(p, &cap, g, start, end, 0);
            i = end + 1;
            glue = -1;
        } else {
            if (glue < 0) glue = i;
            i++;
        }
    }
    if (glue >= 0) {
        if (p->n == 0) {
            free(block_end); free(mark); usage_free(&u);
            return fr_err_set(e, FR_EINPUT, "graph has no conv or linear layer to quantize");
        }
        /* Trailing glue joins the last unit: rebuild it over the longer range. */
        fr_unit last = p->units[--p->n];
        add_unit(p, &cap, g, last.first, N - 1, last.is_block);
    }
    free(block_end);
    free(mark);
    usage_free(&u);
    return FR_OK;
}

void fr_partition_free(fr_partition *p)
{
    free(p->units);
    memset(p, 0, sizeof *p);
}

int fr_partition_find(const fr_partition *p, const fr_graph *g, const char *name)
{
    for (int k = 0; k < p->n; k++)
        if (strcmp(p->units[k].name, name) == 0) return k;
    int node = fr_graph_find_node(g, name);
    if (node < 0) return -1;
    for (int k = 0; k < p->n; k++)
        if (node >= p->units[k].first && node <= p->units[k].last) return k;
    return -1;
}

void fr_partition_print(FILE *out, const fr_partition *p, const fr_graph *g)
{
    fprintf(out, "%-4s %-28s %-6s %6s %-14s %s\n", "#", "unit", "kind", "layers", "output", "ops");
    for (int k = 0; k < p->n; k++) {
        const fr_unit *u = &p->units[k];
        const fr_node *o = &g->nodes[u->last];
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", o->c, o->h, o->w);
        fprintf(out, "%-4d %-28.28s %-6s %6d %-14s %s\n", k, u->name, u->is_block ? "block" : "layer", u->n_layers,
                shape, u->ops);
    }
}
