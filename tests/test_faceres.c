/* test_faceres.c — face-api's face-recognition ResNet built from its bare weights manifest
 * (src/import/faceres.c): graph structure and BRECQ units on a synthetic manifest, refusals of
 * manifests that are not this network, and the 128-d embeddings of the real weights against
 * the package's own runtime (tests/faceapi/ref.txt, made by tests/tools/faceapi_reference.mjs).
 *
 * Environment (optional):
 *   FRTUI_FACEAPI_DIR  directory holding face_recognition_model-weights_manifest.json and
 *                      face_recognition_model.bin (default build/npm/faceapi, made by
 *                      tests/tools/fetch_faceapi.sh).  Missing -> the reference check skips.
 * Run from the repository root (tests/run.sh does). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/dataio.h"
#include "frtui/exec.h"
#include "frtui/partition.h"
#include "frtui/sb.h"
#include "frtui/tfjs.h"

/* ---- a synthetic manifest with the real names and shapes (float32, deterministic values) ---- */

typedef struct mbuf { fr_sb json; uint8_t *w; size_t n, cap; int first; uint32_t seed; } mbuf;

static void put_f32(mbuf *b, float v)
{
    if (b->n + 4 > b->cap) { b->cap = b->cap ? 2 * b->cap : 1 << 16; b->w = realloc(b->w, b->cap); }
    memcpy(b->w + b->n, &v, 4);   /* little-endian hosts only (x86-64, arm64) */
    b->n += 4;
}

static float rnd(mbuf *b)
{
    b->seed = b->seed * 1664525u + 1013904223u;
    return (float)((b->seed >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static void tensor(mbuf *b, const char *name, int nd, const int *shape, float scale, float bias)
{
    fr_sb_printf(&b->json, "%s{\"name\":\"%s\",\"shape\":[", b->first ? "" : ",", name);
    b->first = 0;
    size_t n = 1;
    for (int d = 0; d < nd; d++) { fr_sb_printf(&b->json, "%s%d", d ? "," : "", shape[d]); n *= (size_t)shape[d]; }
    fr_sb_puts(&b->json, "],\"dtype\":\"float32\"}");
    for (size_t i = 0; i < n; i++) put_f32(b, bias + scale * rnd(b));
}

static void conv_t(mbuf *b, const char *prefix, int k, int cin, int cout)
{
    char nm[128];
    int ws[4] = {k, k, cin, cout}, vs[1] = {cout};
    snprintf(nm, sizeof nm, "%s/conv/filters", prefix); tensor(b, nm, 4, ws, 2.0f / sqrtf((float)(k * k * cin)), 0);
    snprintf(nm, sizeof nm, "%s/conv/bias", prefix); tensor(b, nm, 1, vs, 0.01f, 0);
    snprintf(nm, sizeof nm, "%s/scale/weights", prefix); tensor(b, nm, 1, vs, 0.2f, 1.0f);
    snprintf(nm, sizeof nm, "%s/scale/biases", prefix); tensor(b, nm, 1, vs, 0.1f, 0);
}

/* drop: a tensor name to leave out ("" = none); extra: add one unknown tensor. */
static void make_manifest(mbuf *b, const char *drop, int extra)
{
    memset(b, 0, sizeof *b);
    b->first = 1;
    b->seed = 7;
    fr_sb_puts(&b->json, "[{\"paths\":[\"face_recognition_model.bin\"],\"weights\":[");
    static const struct { const char *n; int cin, cout, down; } bl[] = {
        {"conv32_1", 32, 32, 0}, {"conv32_2", 32, 32, 0}, {"conv32_3", 32, 32, 0}, {"conv64_down", 32, 64, 1},
        {"conv64_1", 64, 64, 0}, {"conv64_2", 64, 64, 0}, {"conv64_3", 64, 64, 0}, {"conv128_down", 64, 128, 1},
        {"conv128_1", 128, 128, 0}, {"conv128_2", 128, 128, 0}, {"conv256_down", 128, 256, 1},
        {"conv256_1", 256, 256, 0}, {"conv256_2", 256, 256, 0}, {"conv256_down_out", 256, 256, 1},
    };
    if (strcmp(drop, "conv32_down") != 0) conv_t(b, "conv32_down", 7, 3, 32);
    for (size_t k = 0; k < sizeof bl / sizeof bl[0]; k++) {
        char p[96];
        snprintf(p, sizeof p, "%s/conv1", bl[k].n);
        if (strcmp(drop, p) != 0) conv_t(b, p, 3, bl[k].cin, bl[k].cout);
        snprintf(p, sizeof p, "%s/conv2", bl[k].n);
        conv_t(b, p, 3, bl[k].cout, bl[k].cout);
    }
    int fs[2] = {256, 128};
    tensor(b, "fc", 2, fs, 0.1f, 0);
    if (extra) { int es[1] = {4}; tensor(b, "extra", 1, es, 1, 0); }
    fr_sb_puts(&b->json, "]}]");
}

static void mbuf_free(mbuf *b) { fr_sb_free(&b->json); free(b->w); }

static void test_structure(void)
{
    mbuf b;
    make_manifest(&b, "", 0);
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_tfjs_import_mem(b.json.p, b.json.n, b.w, b.n, "face.json", &m, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc == FR_OK) {
        FR_CHECKF(m.meta.in_c == 3 && m.meta.in_h == 150 && m.meta.in_w == 150 && m.meta.n_classes == 128, "%d %d %d %d", m.meta.in_c, m.meta.in_h, m.meta.in_w, m.meta.n_classes);
        FR_CHECK(fabsf(m.meta.mean[0] - 122.782f / 255) < 1e-6f && m.meta.std[0] == 1.0f);
        int convs = 0, lin = 0;
        for (int i = 0; i < m.g.n_nodes; i++) {
            convs += m.g.nodes[i].op == FR_OP_CONV;
            lin += m.g.nodes[i].op == FR_OP_LINEAR;
        }
        FR_CHECK(convs == 29 && lin == 1);
        /* The shapes the package's code produces: 72 -> 35 -> 17 -> 8 -> 4 (3 padded) -> 2 (1 padded). */
        int n = fr_graph_find_node(&m.g, "maxpool");
        FR_CHECK(n > 0 && m.g.nodes[n].h == 35 && m.g.nodes[n].c == 32);
        n = fr_graph_find_node(&m.g, "conv256_down/conv1");
        FR_CHECK(n > 0 && m.g.nodes[n].h == 3);
        n = fr_graph_find_node(&m.g, "conv256_down/add");
        FR_CHECK(n > 0 && m.g.nodes[n].h == 4 && m.g.nodes[n].c == 256);
        n = fr_graph_find_node(&m.g, "conv256_down_out/add");
        FR_CHECK(n > 0 && m.g.nodes[n].h == 2);
        /* Folding: conv32_down's first weight is filters[0,0,0,0] * scale[0]; bias b*s + t. */
        const float *w = (const float *)(const void *)b.w;
        n = fr_graph_find_node(&m.g, "conv32_down");
        const fr_tensor *W = &m.g.tensors[m.g.nodes[n].param[0]], *B = &m.g.tensors[m.g.nodes[n].param[1]];
        size_t nw = 7 * 7 * 3 * 32;
        float s0 = w[nw + 32], t0 = w[nw + 64], b0 = w[nw];
        FR_CHECK(W->data[0] == w[0] * s0);
        FR_CHECK(B->data[0] == b0 * s0 + t0);
        /* HWIO -> OIHW: O=1, I=2, kh=3, kw=4 reads filters[3][4][2][1]. */
        float s1 = w[nw + 33];
        FR_CHECK(W->data[((1 * 3 + 2) * 7 + 3) * 7 + 4] == w[((3 * 7 + 4) * 3 + 2) * 32 + 1] * s1);
        /* BRECQ units: the stem (conv + relu + maxpool glue), 14 residual blocks, the fc. */
        fr_partition p;
        FR_CHECK(fr_partition_build(&m.g, 0, FR_UNITS_BRECQ, &p, &e) == FR_OK);
        int blocks = 0;
        for (int k = 0; k < p.n; k++) blocks += p.units[k].is_block;
        FR_CHECKF(blocks == 14 && p.n == 16, "%d blocks of %d units", blocks, p.n);
        fr_partition_free(&p);
        fr_model_free(&m);
    }
    mbuf_free(&b);
}

static void expect_refusal(const char *drop, int extra, const char *needle)
{
    mbuf b;
    make_manifest(&b, drop, extra);
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_tfjs_import_mem(b.json.p, b.json.n, b.w, b.n, "face.json", &m, &e);
    FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, needle) && strstr(e.msg, "face.json") && !strchr(e.msg, '\n'),
              "rc %d: %s (wanted '%s')", rc, e.msg, needle);
    mbuf_free(&b);
}

static void test_refusals(void)
{
    expect_refusal("conv32_down", 0, "conv32_down/conv/filters is missing");
    expect_refusal("conv64_down/conv1", 0, "conv64_down/conv1/conv/filters not found");
    expect_refusal("", 1, "118 tensors");
    /* A manifest of some other network: one line naming what is missing. */
    const char *other = "[{\"paths\":[\"x.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[1],\"dtype\":\"float32\"}]}]";
    float one = 1;
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    FR_CHECK(fr_tfjs_import_mem(other, strlen(other), (const uint8_t *)&one, 4, "o.json", &m, &e) == FR_EINPUT);
    FR_CHECKF(strstr(e.msg, "without a model topology"), "%s", e.msg);
    /* Wrong byte count of the weights: the shared manifest reader's message. */
    mbuf b;
    make_manifest(&b, "", 0);
    fr_err_clear(&e);
    FR_CHECK(fr_tfjs_import_mem(b.json.p, b.json.n, b.w, b.n - 4, "face.json", &m, &e) == FR_EINPUT);
    FR_CHECKF(strstr(e.msg, "too short") && strstr(e.msg, "fc"), "%s", e.msg);
    mbuf_free(&b);
}

/* ---- the real weights against the package's own runtime ---- */

static void test_reference(void)
{
    const char *dir = getenv("FRTUI_FACEAPI_DIR");
    if (!dir) dir = "build/npm/faceapi";
    char mp[4096];
    snprintf(mp, sizeof mp, "%s/face_recognition_model-weights_manifest.json", dir);
    if (access(mp, R_OK) != 0) {
        printf("# SKIP face-api reference check: %s missing (npm unreachable? run sh tests/tools/fetch_faceapi.sh)\n", mp);
        return;
    }
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_tfjs_import(mp, NULL, &m, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc != FR_OK) return;
    FR_CHECK(fr_graph_param_count(&m.g) > 5500000);
    fr_dataset d;
    rc = fr_npy_read_dataset("tests/faceapi/inputs.npy.gz", &d, &e);
    FR_CHECKF(rc == FR_OK && d.n == 3 && d.c == 3 && d.h == 150, "%s", e.msg);
    FILE *f = fopen("tests/faceapi/ref.txt", "r");
    FR_CHECK(f != NULL);
    if (rc == FR_OK && f) {
        size_t per = (size_t)3 * 150 * 150;
        float *in = malloc((size_t)d.n * per * sizeof(float));
        for (int i = 0; i < d.n; i++) fr_dataset_sample(&d, &m.meta, i, in + (size_t)i * per);
        fr_exec *x = fr_exec_new(&m.g, 0, m.g.n_nodes - 1, d.n, FR_EXEC_INFER, &e);
        FR_CHECK(x != NULL);
        if (x) {
            fr_exec_bind_input(x, 0, in);
            fr_exec_forward(x, d.n);
            const float *y = fr_exec_output(x);
            double worst_cos = 1, max_abs = 0, max_ref = 0;
            int k = -1, seen = 0;
            char word[32];
            while (fscanf(f, "%31s %d", word, &k) == 2 && strcmp(word, "image") == 0 && k >= 0 && k < d.n) {
                double dot = 0, na = 0, nb = 0;
                for (int j = 0; j < 128; j++) {
                    double r;
                    if (fscanf(f, "%lf", &r) != 1) { k = -1; break; }
                    double v = y[(size_t)k * 128 + j];
                    dot += v * r; na += v * v; nb += r * r;
                    max_abs = fmax(max_abs, fabs(v - r));
                    max_ref = fmax(max_ref, fabs(r));
                }
                if (k < 0) break;
                worst_cos = fmin(worst_cos, dot / sqrt(na * nb));
                seen++;
            }
            FR_CHECKF(seen == 3, "%d reference images read", seen);
            FR_CHECKF(worst_cos > 0.9999, "worst cosine %.7f", worst_cos);
            FR_CHECKF(max_abs < 1e-4, "max |embedding diff| %.3g", max_abs);
            printf("# face-api ResNet vs its own tfjs runtime: worst cosine %.9f, max |diff| %.3g (values up to %.3g)\n",
                   worst_cos, max_abs, max_ref);
            fr_exec_free(x);
        }
        free(in);
    }
    if (f) fclose(f);
    if (rc == FR_OK) fr_dataset_free(&d);
    fr_model_free(&m);
}

int main(int argc, char **argv)
{
    FR_RUN(test_structure);
    FR_RUN(test_refusals);
    FR_RUN(test_reference);
    return FR_REPORT();
}
