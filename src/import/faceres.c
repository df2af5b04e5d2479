/* faceres.c — the face-api face-recognition ResNet built from its weights manifest alone.
 *
 * Design note
 *   npm @vladmandic/face-api ships `face_recognition_model-weights_manifest.json` (a tfjs
 *   weights manifest: a top-level JSON array of groups, no model topology) plus its shard; the
 *   architecture lives in the package's JavaScript (src/faceRecognitionNet/ in the tarball, a port of
 *   dlib's ResNet-34-style face descriptor).  This module holds that architecture as a small
 *   table and emits an fr_graph from it, taking every tensor from the manifest by name with its
 *   shape checked (tj_get_weight), so a manifest that is not this network fails with one line
 *   naming the missing or mis-shaped tensor.  Called from the tfjs importer (tfjs.c) when the
 *   JSON root is an array; weights decoding, shard resolution and size checks are shared with
 *   the layers-model path (tfjs_weights.c).  Ownership: everything goes into I->m; nothing global.
 *
 *   The network (150x150 RGB, NHWC in tfjs; NCHW here):
 *     x = (rgb - [122.782, 117.001, 104.298]) / 255      -> meta.mean = m/255, std 1, data /255
 *     conv32_down 7x7/2 'valid' + scale + relu; maxpool 3/2 'valid'
 *     residual:      relu(conv2(relu(conv1(x))) + x), 3x3/1 'same' (pad 1 all round)
 *     residualDown:  conv1 3x3/2 'valid'; conv2 3x3/1 'same'; skip = avgpool 2/2 'valid' (x),
 *                    zero channels appended to the skip when the width doubles, and one zero
 *                    row/column appended (bottom/right) to the conv branch when its map is
 *                    smaller than the pooled skip (8->3 vs 4, 4->1 vs 2); relu(skip + branch)
 *     stages 32x3, 64 (down + 3), 128 (down + 2), 256 (down + 2), conv256_down_out (down)
 *     mean over H,W (2x2) -> fc 256->128, no bias.  Output: the 128-d embedding.
 *   Mapping decisions:
 *   - every conv is conv + bias, then the per-channel affine "scale" (folded BatchNorm):
 *     y = (W*x + b) * s + t.  It is folded into the conv exactly (W' = W*s per output channel,
 *     b' = b*s + t): nothing sits between the two, so no affine node is needed.  The only
 *     difference to tfjs is float rounding (one product instead of two).
 *   - all 'valid' convs/pools here have no padding at all, and every 'same' conv is 3x3 stride 1
 *     (symmetric pad 1), so tfjs's asymmetric SAME rule never applies.
 *   - the zero channels of the skip: FR_OP_MUL by a constant 0 of the pooled map, then
 *     FR_OP_CONCAT [pooled, zeros] (tfjs concatenates the pooled map first); the zero row/column
 *     of the branch: FR_OP_PAD bottom/right, applied after the scale like tfjs (literal zeros,
 *     not the bias).  Both are parameter-free, so the quantized layers are exactly the 29 convs
 *     and the fc, and every residual is one ADD whose inputs meet at the block input (a BRECQ
 *     block for fr_partition_build).
 *   - the fc weight [256,128] (x @ W) becomes a linear [128,256].
 *   - weights: uint8-affine dequantized as min + scale*q (tfjs_weights.c), exactly as tfjs.
 */
#include <stdio.h>
#include <string.h>

#include "tfjs_int.h"

#define FACE_SIDE 150

/* One residual stage entry of the table. */
typedef struct fres_block {
    const char *name;
    int cin, cout, down;
} fres_block;

static const fres_block k_blocks[] = {
    {"conv32_1", 32, 32, 0},      {"conv32_2", 32, 32, 0},       {"conv32_3", 32, 32, 0},
    {"conv64_down", 32, 64, 1},   {"conv64_1", 64, 64, 0},       {"conv64_2", 64, 64, 0},
    {"conv64_3", 64, 64, 0},      {"conv128_down", 64, 128, 1},  {"conv128_1", 128, 128, 0},
    {"conv128_2", 128, 128, 0},   {"conv256_down", 128, 256, 1}, {"conv256_1", 256, 256, 0},
    {"conv256_2", 256, 256, 0},   {"conv256_down_out", 256, 256, 1},
};

static int node(imp *I, const char *name, fr_op op, int n_in, const int *in)
{
    return fr_graph_add_node(&I->m->g, name, op, n_in, in);
}

/* conv + bias + scale (folded), optional relu.  k x k, stride s, symmetric pad p.  Returns the
 * output node or -1 (error set). */
static int conv_layer(imp *I, const char *prefix, int x, int k, int s, int p, int cin, int cout, int relu)
{
    fr_graph *g = &I->m->g;
    const int64_t wd[4] = {k, k, cin, cout}, vd[1] = {cout};
    const wt *W = tj_get_weight(I, prefix, "conv/filters", 4, wd);
    const wt *B = W ? tj_get_weight(I, prefix, "conv/bias", 1, vd) : NULL;
    const wt *S = B ? tj_get_weight(I, prefix, "scale/weights", 1, vd) : NULL;
    const wt *T = S ? tj_get_weight(I, prefix, "scale/biases", 1, vd) : NULL;
    if (!T) return -1;
    char nm[FR_NAME_MAX];
    snprintf(nm, sizeof nm, "%s/W", prefix);
    const int64_t od[4] = {cout, cin, k, k};
    int tw = fr_graph_add_tensor(g, nm, 4, od);
    snprintf(nm, sizeof nm, "%s/b", prefix);
    int tb = fr_graph_add_tensor(g, nm, 1, vd);
    float *w = g->tensors[tw].data, *b = g->tensors[tb].data;
    /* HWIO -> OIHW, each output channel scaled by s[o]. */
    for (int o = 0; o < cout; o++) {
        float so = S->data[o];
        for (int i = 0; i < cin; i++)
            for (int r = 0; r < k; r++)
                for (int c = 0; c < k; c++)
                    w[(((size_t)o * cin + i) * k + r) * k + c] = W->data[(((size_t)r * k + c) * cin + i) * cout + o] * so;
        b[o] = B->data[o] * so + T->data[o];
    }
    int n = node(I, prefix, FR_OP_CONV, 1, &x);
    fr_node *cn = &g->nodes[n];
    cn->n_param = 2;
    cn->param[0] = tw;
    cn->param[1] = tb;
    cn->a.kh = cn->a.kw = k;
    cn->a.sh = cn->a.sw = s;
    cn->a.pt = cn->a.pl = cn->a.pb = cn->a.pr = p;
    cn->a.dh = cn->a.dw = 1;
    cn->a.groups = 1;
    if (!relu) return n;
    snprintf(nm, sizeof nm, "%s/relu", prefix);
    return node(I, nm, FR_OP_RELU, 1, &n);
}

/* Spatial output side of a 'valid' window k, stride s on a side of n. */
static int valid_out(int n, int k, int s) { return (n - k) / s + 1; }

static int residual(imp *I, const fres_block *bl, int x, int *side)
{
    fr_graph *g = &I->m->g;
    char p1[FR_NAME_MAX], p2[FR_NAME_MAX], nm[FR_NAME_MAX];
    snprintf(p1, sizeof p1, "%s/conv1", bl->name);
    snprintf(p2, sizeof p2, "%s/conv2", bl->name);
    int in_side = *side, y;
    if (!bl->down) {
        if ((y = conv_layer(I, p1, x, 3, 1, 1, bl->cin, bl->cout, 1)) < 0) return -1;
        if ((y = conv_layer(I, p2, y, 3, 1, 1, bl->cout, bl->cout, 0)) < 0) return -1;
        snprintf(nm, sizeof nm, "%s/add", bl->name);
        int ab[2] = {y, x};
        y = node(I, nm, FR_OP_ADD, 2, ab);
    } else {
        if ((y = conv_layer(I, p1, x, 3, 2, 0, bl->cin, bl->cout, 1)) < 0) return -1;
        if ((y = conv_layer(I, p2, y, 3, 1, 1, bl->cout, bl->cout, 0)) < 0) return -1;
        int br = valid_out(in_side, 3, 2), pooled_side = valid_out(in_side, 2, 2);
        if (br != pooled_side) {
            /* tfjs appends one zero row and one zero column when the shapes differ; with this
             * table the difference is always exactly one (checked, not assumed). */
            FR_ASSERT(pooled_side == br + 1);
            snprintf(nm, sizeof nm, "%s/pad", bl->name);
            y = node(I, nm, FR_OP_PAD, 1, &y);
            g->nodes[y].a.pb = g->nodes[y].a.pr = 1;
        }
        snprintf(nm, sizeof nm, "%s/avgpool", bl->name);
        int skip = node(I, nm, FR_OP_AVGPOOL, 1, &x);
        fr_node *pn = &g->nodes[skip];
        pn->a.kh = pn->a.kw = 2;
        pn->a.sh = pn->a.sw = 2;
        pn->a.count_include_pad = 1;
        if (bl->cout != bl->cin) {
            FR_ASSERT(bl->cout == 2 * bl->cin);
            snprintf(nm, sizeof nm, "%s/zero", bl->name);
            const int64_t one[1] = {1};
            int tz = fr_graph_add_tensor(g, nm, 1, one);   /* zero-filled */
            int z = node(I, nm, FR_OP_MUL, 1, &skip);
            g->nodes[z].n_param = 1;
            g->nodes[z].param[0] = tz;
            snprintf(nm, sizeof nm, "%s/widen", bl->name);
            int cc[2] = {skip, z};
            skip = node(I, nm, FR_OP_CONCAT, 2, cc);
        }
        snprintf(nm, sizeof nm, "%s/add", bl->name);
        int ab[2] = {skip, y};
        y = node(I, nm, FR_OP_ADD, 2, ab);
        *side = pooled_side;
    }
    snprintf(nm, sizeof nm, "%s/relu", bl->name);
    return node(I, nm, FR_OP_RELU, 1, &y);
}

int tj_import_faceres(imp *I, const fr_json *man, const char *weights_path)
{
    int rc = tj_load_manifest(I, man, weights_path);
    if (rc != FR_OK) return rc;
    /* Say what this is when the manifest belongs to another network. */
    if (tj_nkey_find(I->w_sorted, I->nw, "conv32_down/conv/filters") < 0)
        return IERR("%s: a weights manifest without a model topology; the only such network frtui knows is face-api's "
                    "face-recognition ResNet (tensor conv32_down/conv/filters is missing)", I->path);
    fr_model *m = I->m;
    fr_graph *g = &m->g;
    int x = node(I, "input", FR_OP_INPUT, 0, NULL);
    if ((x = conv_layer(I, "conv32_down", x, 7, 2, 0, 3, 32, 1)) < 0) return FR_EINPUT;
    int side = valid_out(FACE_SIDE, 7, 2);
    x = node(I, "maxpool", FR_OP_MAXPOOL, 1, &x);
    fr_node *mp = &g->nodes[x];
    mp->a.kh = mp->a.kw = 3;
    mp->a.sh = mp->a.sw = 2;
    side = valid_out(side, 3, 2);
    for (size_t k = 0; k < sizeof k_blocks / sizeof k_blocks[0]; k++)
        if ((x = residual(I, &k_blocks[k], x, &side)) < 0) return FR_EINPUT;
    x = node(I, "mean", FR_OP_GAP, 1, &x);
    const int64_t fd[2] = {256, 128};
    int idx = tj_nkey_find(I->w_sorted, I->nw, "fc");
    const wt *F = NULL;
    if (idx < 0) return IERR("%s: tensor fc (the 256->128 embedding layer) not found in the weights manifest", I->path);
    F = &I->w[idx];
    if (F->ndim != 2 || F->dim[0] != fd[0] || F->dim[1] != fd[1])
        return IERR("%s: tensor fc has shape [%lld,%lld], expected [256,128]", I->path, (long long)F->dim[0],
                    F->ndim > 1 ? (long long)F->dim[1] : 1LL);
    const int64_t ld[2] = {128, 256};
    int tf = fr_graph_add_tensor(g, "fc/W", 2, ld);
    for (int o = 0; o < 128; o++)
        for (int i = 0; i < 256; i++) g->tensors[tf].data[(size_t)o * 256 + i] = F->data[(size_t)i * 128 + o];
    x = node(I, "fc", FR_OP_LINEAR, 1, &x);
    g->nodes[x].n_param = 2;
    g->nodes[x].param[0] = tf;
    g->nodes[x].param[1] = -1;
    /* Unused tensors mean a different network under the same names: refuse rather than guess. */
    int used = 4 + 4 * 2 * (int)(sizeof k_blocks / sizeof k_blocks[0]) + 1;
    if (I->nw != used)
        return IERR("%s: the manifest holds %d tensors; face-api's face-recognition ResNet has %d", I->path, I->nw, used);
    fr_meta *mt = &m->meta;
    mt->in_c = 3;
    mt->in_h = mt->in_w = FACE_SIDE;
    static const float mean_rgb[3] = {122.782f, 117.001f, 104.298f};
    for (int c = 0; c < 4; c++) { mt->mean[c] = c < 3 ? mean_rgb[c] / 255.0f : 0; mt->std[c] = 1; }
    snprintf(mt->name, sizeof mt->name, "face-resnet34");
    const char *bn = strrchr(I->path, '/');
    snprintf(mt->provenance, sizeof mt->provenance,
             "face-api face-recognition ResNet (dlib ResNet-34-style, 29 convs + fc 256->128) built by frtui from the "
             "weights manifest %.200s (%d tensors, uint8-affine dequantized as min+scale*q) and the architecture of "
             "@vladmandic/face-api 1.7.15 src/faceRecognitionNet; per-channel scale folded into each conv; input NCHW "
             "3x150x150 RGB, bytes/255 minus mean/255 (tfjs: (rgb - [122.782,117.001,104.298])/255); output the "
             "128-d embedding", bn ? bn + 1 : I->path, I->nw);
    return FR_OK;
}
