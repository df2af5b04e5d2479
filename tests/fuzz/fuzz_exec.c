/* fuzz_exec.c — libFuzzer harness for the executor's memory planning (issue 14 item 3).
 *
 * Design note
 *   The input is not a file format but a recipe: bytes pick an input shape, up to 10 nodes
 *   (conv with any kernel/stride/dilation/pads/groups, pooling, the pad op, add/mul/concat
 *   against earlier nodes, BN, activations, GAP, flatten, linear, transpose), a node range, an
 *   executor mode, a batch and a memory figure (FRTUI_MEM_AVAILABLE, 64 KiB .. 8 MiB).  Graphs
 *   that fr_graph_infer_shapes refuses are dropped: the property is about *legal* graphs.
 *   For each legal one:
 *     - the allocator is wrapped (ASan's malloc/free hooks) and the live heap bytes and their
 *       peak are tracked during fr_exec_new;
 *     - when fr_exec_new refuses, it must be FR_ENOMEM with a "needs ..., more than the ...
 *       available" line, the planned figure must exceed the memory figure, and the peak during
 *       the call must stay within the plan's bookkeeping (pointer arrays, no buffer);
 *     - when it accepts, the plan must fit the memory figure, fr_exec_bytes must equal
 *       fr_exec_plan_bytes, and the peak must not exceed plan + bookkeeping; then forward (and
 *       backward in the gradient modes) run on the largest batch and must allocate nothing
 *       that outlives them (live bytes back to where they were).
 *   Any violation traps.  Weights and inputs are small deterministic values: the kernels'
 *   numerics are tested elsewhere (test_ops, test_engine).
 */
#include <sanitizer/allocator_interface.h>

#include "harness.h"
#include "frtui/exec.h"

static size_t g_live, g_peak;
static int g_track;

static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    if (!g_track) return;
    g_live += n;
    if (g_live > g_peak) g_peak = g_live;
}

static void on_free(const volatile void *p)
{
    if (!g_track || !p) return;
    size_t n = __sanitizer_get_allocated_size((const void *)p);
    g_live = n > g_live ? 0 : g_live - n;
}

typedef struct rd { const uint8_t *p; size_t n, i; } rd;
static unsigned u8(rd *r) { return r->i < r->n ? r->p[r->i++] : 0; }
static unsigned u16(rd *r) { unsigned a = u8(r); return a | (u8(r) << 8); }

static int add_t(fr_graph *g, int nd, int64_t a, int64_t b, int64_t c, int64_t d, float v)
{
    int64_t dim[4] = {a, b, c, d};
    for (int k = 0; k < nd; k++) if (dim[k] < 1 || dim[k] > 4096) return -1;
    int64_t numel = 1;
    for (int k = 0; k < nd; k++) numel *= dim[k];
    if (numel > (1 << 18)) return -1;   /* weights stay small: memory is about activations */
    int t = fr_graph_add_tensor(g, "t", nd, dim);
    for (int64_t i = 0; i < numel; i++) g->tensors[t].data[i] = v * (float)((i % 7) - 3);
    return t;
}

/* Builds a graph from the recipe; returns 0 when the recipe is not a legal graph. */
static int build(rd *r, fr_graph *g, int *in_c, int *in_h, int *in_w)
{
    *in_c = 1 + (int)(u8(r) % 8);
    *in_h = 1 + (int)(u8(r) % 32);
    *in_w = 1 + (int)(u8(r) % 32);
    fr_graph_add_node(g, "input", FR_OP_INPUT, 0, NULL);
    if (fr_graph_infer_shapes(g, *in_c, *in_h, *in_w, NULL)) return 0;
    int nn = 1 + (int)(u8(r) % 10);
    for (int k = 0; k < nn; k++) {
        int prev = g->n_nodes - 1, other = (int)(u8(r) % (unsigned)g->n_nodes);
        const fr_node *p = &g->nodes[prev];
        int pc = p->c, in[2] = {prev, other};
        unsigned op = u8(r) % 14;
        int i;
        char name[16];
        snprintf(name, sizeof name, "n%d", k);
        switch (op) {
        case 0: case 1: {   /* conv: any legal kernel, stride, dilation, pads (large ones too), groups */
            int o = 1 + (int)(u8(r) % 16), kh = 1 + (int)(u8(r) % 7), kw = 1 + (int)(u8(r) % 7);
            int groups = u8(r) & 1 ? 1 : pc;
            if (groups > 1 && o % groups) o = groups * (1 + o / groups);
            i = fr_graph_add_node(g, name, FR_OP_CONV, 1, in);
            fr_node *n = &g->nodes[i];
            n->a.kh = kh; n->a.kw = kw;
            n->a.sh = 1 + (int)(u8(r) % 3); n->a.sw = 1 + (int)(u8(r) % 3);
            n->a.dh = 1 + (int)(u8(r) % 3); n->a.dw = 1 + (int)(u8(r) % 3);
            int big = u8(r);
            n->a.pt = big & 1 ? (int)(u16(r) % 3000) : (int)(u8(r) % 4);
            n->a.pb = big & 2 ? (int)(u16(r) % 3000) : (int)(u8(r) % 4);
            n->a.pl = big & 4 ? (int)(u16(r) % 3000) : (int)(u8(r) % 4);
            n->a.pr = big & 8 ? (int)(u16(r) % 3000) : (int)(u8(r) % 4);
            n->a.groups = groups;
            n->n_param = 2;
            n->param[0] = add_t(g, 4, o, pc / groups, kh, kw, 0.05f);
            n->param[1] = big & 16 ? add_t(g, 1, o, 1, 1, 1, 0.01f) : -1;
            if (n->param[0] < 0) return 0;
            break;
        }
        case 2: {   /* pooling */
            i = fr_graph_add_node(g, name, u8(r) & 1 ? FR_OP_MAXPOOL : FR_OP_AVGPOOL, 1, in);
            fr_node *n = &g->nodes[i];
            n->a.kh = 1 + (int)(u8(r) % 4); n->a.kw = 1 + (int)(u8(r) % 4);
            n->a.sh = 1 + (int)(u8(r) % 3); n->a.sw = 1 + (int)(u8(r) % 3);
            n->a.pt = (int)(u8(r) % (unsigned)n->a.kh); n->a.pl = (int)(u8(r) % (unsigned)n->a.kw);
            n->a.count_include_pad = (int)(u8(r) & 1);
            break;
        }
        case 3: {   /* the pad op: up to 65536 per axis is legal */
            i = fr_graph_add_node(g, name, FR_OP_PAD, 1, in);
            fr_node *n = &g->nodes[i];
            n->a.pt = (int)(u16(r) % 5000); n->a.pb = (int)(u8(r) % 8);
            n->a.pl = (int)(u16(r) % 5000); n->a.pr = (int)(u8(r) % 8);
            break;
        }
        case 4: i = fr_graph_add_node(g, name, FR_OP_RELU, 1, in); break;
        case 5: i = fr_graph_add_node(g, name, FR_OP_SIGMOID, 1, in); break;
        case 6: case 7: {   /* add / mul of two earlier nodes (legal when the shapes agree) */
            i = fr_graph_add_node(g, name, op == 6 ? FR_OP_ADD : FR_OP_MUL, 2, in);
            break;
        }
        case 8: i = fr_graph_add_node(g, name, FR_OP_CONCAT, 2, in); break;
        case 9: {
            i = fr_graph_add_node(g, name, FR_OP_BN, 1, in);
            fr_node *n = &g->nodes[i];
            n->n_param = 4;
            n->param[0] = add_t(g, 1, pc, 1, 1, 1, 0.3f);
            n->param[1] = add_t(g, 1, pc, 1, 1, 1, 0.1f);
            n->param[2] = add_t(g, 1, pc, 1, 1, 1, 0.1f);
            n->param[3] = add_t(g, 1, pc, 1, 1, 1, 0.0f);
            if (n->param[0] < 0 || n->param[3] < 0) return 0;
            for (int c = 0; c < pc; c++) g->tensors[n->param[3]].data[c] = 1.0f;
            break;
        }
        case 10: i = fr_graph_add_node(g, name, FR_OP_GAP, 1, in); break;
        case 11: i = fr_graph_add_node(g, name, FR_OP_FLATTEN, 1, in); break;
        case 12: {
            int o = 1 + (int)(u8(r) % 10);
            i = fr_graph_add_node(g, name, FR_OP_LINEAR, 1, in);
            fr_node *n = &g->nodes[i];
            n->n_param = 2;
            n->param[0] = add_t(g, 2, o, (int64_t)p->c * p->h * p->w, 1, 1, 0.01f);
            n->param[1] = -1;
            if (n->param[0] < 0) return 0;
            break;
        }
        default: {
            i = fr_graph_add_node(g, name, FR_OP_TRANSPOSE, 1, in);
            static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
            const int *pm = perms[u8(r) % 6];
            for (int q = 0; q < 3; q++) g->nodes[i].a.perm[q] = pm[q];
            break;
        }
        }
        (void)i;
        if (fr_graph_infer_shapes(g, *in_c, *in_h, *in_w, NULL)) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooked;
    if (!hooked) { __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free); hooked = 1; }
    rd r = {data, size, 0};
    static const char *const mem[] = {"64K", "256K", "1M", "4M", "8M"};
    const char *avail = mem[u8(&r) % 5];
    int batch = 1 + (int)(u8(&r) % 64), mode = (int)(u8(&r) % 3), first_sel = (int)u8(&r), last_sel = (int)u8(&r);
    fr_graph g;
    fr_graph_init(&g);
    int c, h, w;
    if (!build(&r, &g, &c, &h, &w) || g.n_nodes < 2) { fr_graph_free(&g); return 0; }
    int first = first_sel % g.n_nodes, last = last_sel % g.n_nodes;
    if (first > last) { int t = first; first = last; last = t; }
    if (last == 0) last = 1;
    setenv("FRTUI_MEM_AVAILABLE", avail, 1);
    size_t room = fr_mem_available();
    size_t plan = fr_exec_plan_bytes(&g, first, last, batch, mode);
    /* Bookkeeping outside the plan: the struct, 13 per-node and one per-tensor pointer/flag
     * arrays, the sizing walk's per-tensor marks. */
    size_t books = 4096 + (size_t)(g.n_nodes + 1) * (13 * sizeof(void *) + sizeof(fr_out_hook) + 2) +
                   (size_t)(g.n_tensors + 1) * (sizeof(void *) + 1);
    fr_err e;
    fr_err_clear(&e);
    g_live = g_peak = 0;
    g_track = 1;
    fr_exec *x = fr_exec_new(&g, first, last, batch, mode, &e);
    g_track = 0;
    if (!x) {
        if (e.code == FR_EINPUT && strstr(e.msg, "outside values")) { fr_graph_free(&g); return 0; }
        if (e.code != FR_ENOMEM || !strstr(e.msg, "needs") || !strstr(e.msg, "available")) {
            fprintf(stderr, "refusal without the memory message: rc %d '%s'\n", e.code, e.msg);
            __builtin_trap();
        }
        if (plan <= room) {
            fprintf(stderr, "refused a plan of %zu bytes that fits %zu\n", plan, room);
            __builtin_trap();
        }
        if (g_peak > books) {
            fprintf(stderr, "refusal allocated %zu bytes first (bookkeeping bound %zu)\n", g_peak, books);
            __builtin_trap();
        }
        fr_graph_free(&g);
        return 0;
    }
    if (plan > room || fr_exec_bytes(x) != plan || g_peak > plan + books) {
        fprintf(stderr, "accepted: plan %zu, room %zu, fr_exec_bytes %zu, peak %zu (bookkeeping %zu)\n", plan, room,
                fr_exec_bytes(x), g_peak, books);
        __builtin_trap();
    }
    /* Run it: inputs bound, the largest batch, and nothing allocated that outlives the passes. */
    float *bufs[16] = {0};
    int nin = fr_exec_n_inputs(x);
    for (int q = 0; q < nin && q < 16; q++) {
        const fr_node *n = &g.nodes[fr_exec_input_node(x, q)];
        size_t cnt = (size_t)batch * n->c * n->h * n->w;
        bufs[q] = malloc(cnt * sizeof(float));
        for (size_t k = 0; k < cnt; k++) bufs[q][k] = (float)(k % 13) * 0.1f - 0.6f;
        fr_exec_bind_input(x, q, bufs[q]);
    }
    const fr_node *ln = &g.nodes[last];
    size_t ocnt = (size_t)batch * ln->c * ln->h * ln->w;
    float *dy = malloc(ocnt * sizeof(float));
    for (size_t k = 0; k < ocnt; k++) dy[k] = 0.01f;
    g_live = g_peak = 0;
    g_track = 1;
    fr_exec_forward(x, batch);
    if (mode != FR_EXEC_INFER) fr_exec_backward(x, batch, dy, 1);
    g_track = 0;
    if (g_live != 0) {
        fprintf(stderr, "forward/backward kept %zu bytes allocated\n", g_live);
        __builtin_trap();
    }
    free(dy);
    for (int q = 0; q < 16; q++) free(bufs[q]);
    fr_exec_free(x);
    fr_graph_free(&g);
    return 0;
}
