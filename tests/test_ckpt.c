/* test_ckpt.c — checkpoints: bit-exact interrupt/resume at the engine level, malformed files,
 * model mismatches, replay views, quantized .frm / safetensors export, PNG export, the async
 * writer and atomic writes.
 *
 *   test_ckpt                       run the tests
 *   test_ckpt --gen-bad DIR         (re)write the malformed checkpoint corpus tests/bad/frc
 *   test_ckpt --gen-model FILE.frm  write the tiny bundle the CLI test (ckpt.t.sh) uses
 *   test_ckpt --gen-resnet FILE.frm the zoo ResNet (untrained) with 128 calibration and 64 eval
 *                                   samples: convs in a few seconds (dp.t.sh)
 *   test_ckpt --gen-unfinished DIR  write DIR/model.frm and DIR/unfinished.frc, a checkpoint taken
 *                                   inside the first unit (nothing finished), for ckpt.t.sh
 *   test_ckpt --gen-best-seed FILE  write a valid .frc 1.5 with a BEST frame (a --keep-best run
 *                                   stopped mid-unit): tests/fuzz/seeds/frcs/tiny-keep-best-running.frc
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fr_test.h"
#include "model_builder.h"
#include "frtui/blas.h"
#include "frtui/ckpt.h"
#include "frtui/recon_ckpt.h"
#include "frtui/exec.h"
#include "frtui/export_model.h"
#include "frtui/export_png.h"
#include "frtui/export_run.h"
#include "frtui/export_st.h"
#include "frtui/fidelity.h"
#include "frtui/frm.h"
#include "frtui/lm.h"
#include "frtui/png.h"
#include "frtui/recon.h"
#include "frtui/train.h"
#include "fuzz/repack.h"

static char tmpdir[256];

static void tmp_path(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

/* A zoo model (arch < FR_ZOO__COUNT) or a tiny 784-8-10 MLP (FR_ZOO__COUNT) with random
 * calibration and labelled evaluation data. */
static void make_model(fr_model *m, fr_zoo_arch arch, uint64_t seed, int n_calib, int n_eval)
{
    if (arch < FR_ZOO__COUNT) {
        fr_model_init(m);
        FR_ASSERT(fr_zoo_build(m, arch, seed) == FR_OK);
    } else {
        fr_rng wr;
        fr_rng_seed(&wr, seed);
        fr_tb_begin(m, "tiny-mlp", "input", 1, 28, 28);
        int x = fr_tb_node(m, "flatten", FR_OP_FLATTEN, 0, -1);
        x = fr_tb_linear(m, &wr, "fc1.weight", "fc1.bias", "fc1", x, 784, 8, 0.08f, 1);
        x = fr_tb_node(m, "fc1.relu", FR_OP_RELU, x, -1);
        fr_tb_linear(m, &wr, "fc2.weight", "fc2.bias", "fc2", x, 8, 10, 0.08f, 1);
    }
    snprintf(m->meta.layout, sizeof m->meta.layout, "NCHW");
    m->meta.mean[0] = 0.3f;
    m->meta.std[0] = 0.35f;
    m->meta.n_classes = 10;
    fr_rng g;
    fr_rng_seed(&g, seed + 77);
    fr_dataset *ds[2] = {&m->calib, &m->eval};
    int ns[2] = {n_calib, n_eval};
    for (int d = 0; d < 2; d++) {
        fr_dataset *D = ds[d];
        D->n = ns[d]; D->c = 1; D->h = 28; D->w = 28; D->dtype = 0;
        D->scale = 1.0f / 255; D->offset = 0;
        D->u8 = fr_xmalloc((size_t)D->n * 784);
        /* Smooth blobs so activations are not pure noise. */
        for (int s = 0; s < D->n; s++) {
            int cx = 6 + (int)fr_rng_below(&g, 16), cy = 6 + (int)fr_rng_below(&g, 16);
            for (int p = 0; p < 784; p++) {
                int x = p % 28, y = p / 28, d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                int v = 255 - d2 * 4 + (int)fr_rng_below(&g, 40);
                D->u8[(size_t)s * 784 + p] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
        if (d == 1) {
            D->labels = fr_xmalloc((size_t)D->n * sizeof(int32_t));
            for (int s = 0; s < D->n; s++) D->labels[s] = (int32_t)fr_rng_below(&g, 10);
        }
    }
    fr_err e;
    FR_ASSERT(fr_graph_validate(&m->g, &m->meta, "test", &e) == FR_OK);
}

static fr_run_config base_cfg(fr_method method, int iters)
{
    fr_run_config c;
    fr_err e;
    FR_ASSERT(fr_run_config_preset(&c, "teaching", &e) == FR_OK);
    c.method = method;
    c.iters = iters;
    c.batch = 8;
    c.bits = 3;
    c.seed = 4242;
    c.init_minmax = 1;   /* the L2.4 grid search dominates these tiny runs; one test keeps it */
    return c;
}

/* Drives the engine through events (begin = 1 event, each step = 1, end = 1) and stops after
 * `stop` events (stop < 0: to the end).  Continues from whatever state the engine is in. */
static int drive(fr_recon *r, long stop)
{
    long ev = 0;
    fr_err e;
    const fr_partition *p = fr_recon_partition(r);
    for (int k = 0; k < p->n; k++) {
        if (fr_recon_done(r, k)) continue;
        if (fr_recon_current(r) != k) {
            if (stop >= 0 && ev >= stop) return 1;
            if (fr_recon_begin(r, k, &e)) { printf("begin: %s\n", e.msg); return -1; }
            ev++;
        }
        while (fr_recon_iter(r) < fr_recon_iters(r)) {
            if (stop >= 0 && ev >= stop) return 1;
            if (fr_recon_step(r) != FR_OK) break;
            ev++;
        }
        if (stop >= 0 && ev >= stop) return 1;
        if (fr_recon_end(r, &e)) { printf("end: %s\n", e.msg); return -1; }
        ev++;
    }
    return 0;
}

static fr_ckpt_info info_for(const fr_model *m, const fr_run_config *c)
{
    fr_ckpt_info in = {"test.frm", fr_frm_fingerprint(m), fr_ckpt_calib_fingerprint(m, c->n_calib), -1, -1, 0, 0};
    return in;
}

static uint8_t *encode_state(fr_recon *r, const fr_ckpt_info *in, size_t *n)
{
    fr_ckpt_blob *b = fr_ckpt_capture(r, in);
    uint8_t *buf;
    fr_err e;
    FR_ASSERT(fr_ckpt_encode(b, 1, &buf, n, &e) == FR_OK);  /* the writer thread's level */
    fr_ckpt_blob_free(b);
    return buf;
}

/* Uninterrupted vs interrupted-at-`stop`-and-resumed: the final encoded states must be equal. */
static void check_resume(const fr_model *m, const fr_run_config *cfg, const long *stops, int nstops)
{
    fr_err e;
    fr_ckpt_info in = info_for(m, cfg);
    fr_recon *ref = fr_recon_new(m, cfg, &e);
    FR_CHECK(ref != NULL);
    if (!ref) return;
    FR_CHECK(drive(ref, -1) == 0);
    size_t nref;
    uint8_t *bref = encode_state(ref, &in, &nref);
    for (int s = 0; s < nstops; s++) {
        fr_recon *r = fr_recon_new(m, cfg, &e);
        FR_CHECK(drive(r, stops[s]) == 1);
        size_t nmid;
        uint8_t *bmid = encode_state(r, &in, &nmid);
        fr_recon_free(r);
        fr_ckpt c;
        int rc = fr_ckpt_load_mem(bmid, nmid, "mid.frc", &c, &e);
        FR_CHECKF(rc == FR_OK, "%s", e.msg);
        free(bmid);
        if (rc) continue;
        FR_CHECK(fr_ckpt_check_model(&c, m, "mid.frc", &e) == FR_OK);
        r = fr_ckpt_resume_engine(&c, m, &e);
        FR_CHECKF(r != NULL, "stop %ld: %s", stops[s], e.msg);
        fr_ckpt_free(&c);
        if (!r) continue;
        FR_CHECK(drive(r, -1) == 0);
        size_t nres;
        uint8_t *bres = encode_state(r, &in, &nres);
        FR_CHECKF(nres == nref && memcmp(bres, bref, nref) == 0, "stop %ld: resumed run differs (%zu vs %zu bytes)",
                  stops[s], nres, nref);
        /* Codes, s1 and losses also compared structurally (a clearer failure than bytes). */
        const fr_partition *p = fr_recon_partition(r);
        for (int k = 0; k < p->n; k++) {
            int nl, nl2;
            const fr_layer_result *a = fr_recon_results(r, k, &nl), *b = fr_recon_results(ref, k, &nl2);
            for (int l = 0; a && b && l < nl; l++)
                FR_CHECK(memcmp(a[l].code, b[l].code, (size_t)a[l].n * 4) == 0 &&
                         memcmp(a[l].s1, b[l].s1, (size_t)a[l].ns1 * 4) == 0);
        }
        double a1, a2;
        if (m->eval.labels) {
            FR_CHECK(fr_recon_accuracy(r, 1, 0, &a1, &e) == FR_OK && fr_recon_accuracy(ref, 1, 0, &a2, &e) == FR_OK && a1 == a2);
        } else {   /* a language model: the quantized network's perplexity (activation hooks included) */
            fr_fidelity f1, f2;
            FR_CHECKF(fr_recon_fidelity(r, NULL, 0, &f1, &a1, &a2, &e) == FR_OK && fr_recon_fidelity(ref, NULL, 0, &f2, &a1, &a2, &e) == FR_OK &&
                      f1.lm_vocab && f1.nll_q == f2.nll_q && f1.nll_q != f1.nll_fp, "%s", e.msg);
        }
        free(bres);
        fr_recon_free(r);
    }
    free(bref);
    fr_recon_free(ref);
}

static void test_resume_flexround_resnet(void)
{
    fr_model m;
    make_model(&m, FR_ZOO_RESNET, 11, 40, 64);
    fr_run_config c = base_cfg(FR_METHOD_FLEXROUND, 12);
    c.n_calib = 32;
    c.init_minmax = 0;
    /* 7 units x (1 + 12 + 1) events: between units, right after begin, mid-unit, at the end of
     * the iterations before end(), in the last unit. */
    long stops[] = {14, 15, 27, 60, 97};
    check_resume(&m, &c, stops, (int)(sizeof stops / sizeof stops[0]));
    fr_model_free(&m);
}

static void test_resume_adaround_actq_mlp(void)
{
    fr_model m;
    make_model(&m, FR_ZOO_MLP, 12, 48, 64);
    fr_run_config c = base_cfg(FR_METHOD_ADAROUND, 15);
    c.act_bits = 4;
    c.qdrop = 1;
    c.per_channel = 1;
    c.symmetric = 0;
    long stops[] = {3, 17, 20, 33, 40};
    check_resume(&m, &c, stops, (int)(sizeof stops / sizeof stops[0]));
    fr_model_free(&m);
}

/* Per-group grids (--group-size) resume bit-exactly.  G = 112 divides fc1's rows (784 = 7 x 112)
 * but not fc2's or fc3's (256, 128): those layers fall back to one step per output channel. */
static void test_resume_groups(void)
{
    fr_model m;
    make_model(&m, FR_ZOO_MLP, 14, 32, 32);
    fr_run_config c = base_cfg(FR_METHOD_FLEXROUND, 9);
    c.group_size = 112;
    c.symmetric = 0;
    fr_err e;
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_CHECK(r && drive(r, -1) == 0);
    const fr_partition *p = r ? fr_recon_partition(r) : NULL;
    int want[3] = {256 * 7, 128, 10}, k3 = 0;
    for (int k = 0; p && k < p->n; k++) {
        int nl;
        const fr_layer_result *L = fr_recon_results(r, k, &nl);
        for (int l = 0; L && l < nl && k3 < 3; l++, k3++) FR_CHECKF(L[l].ns1 == want[k3], "layer %d: %d steps", k3, L[l].ns1);
    }
    FR_CHECK(k3 == 3);
    fr_recon_free(r);
    long stops[] = {2, 7, 12};
    check_resume(&m, &c, stops, 3);
    fr_model_free(&m);
}

/* W8A8 of a language model: per-token activations (resolved from "auto" for an LM) resume
 * bit-exactly, their row lengths restored from the graph (the checkpoint does not store them). */
static void test_resume_act_token(void)
{
    fr_model m;
    fr_err e;
    const fr_lm_arch a = {.vocab = 256, .d = 16, .layers = 2, .heads = 4, .kv_heads = 2, .ff = 24, .T = 12,
                          .theta = 10000.0f, .eps = 1e-5f};
    fr_model_init(&m);
    FR_ASSERT(fr_lm_build(&m, &a, 3, &e) == FR_OK);
    static const char pat[] = "in the beginning the quick brown fox jumped over ";
    uint8_t text[3000];
    for (size_t k = 0; k < sizeof text; k++) text[k] = (uint8_t)pat[k % (sizeof pat - 1)];
    FR_ASSERT(fr_lm_windows(text, sizeof text, a.T, 16, 3, &m.calib, &e) == FR_OK);
    FR_ASSERT(fr_lm_windows(text, sizeof text, a.T, 8, 0, &m.eval, &e) == FR_OK);
    fr_run_config c = base_cfg(FR_METHOD_FLEXROUND, 6);
    c.act_bits = 8;
    c.act_token = -1;
    c.per_channel = 1;
    c.symmetric = 0;
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_CHECKF(r && fr_recon_config(r)->act_token == 1, "%s", r ? "not per token" : e.msg);
    fr_recon_free(r);
    long stops[] = {2, 9, 17};
    check_resume(&m, &c, stops, 3);
    c.layerwise = 1;
    c.act_token = 1;
    r = fr_recon_new(&m, &c, &e);
    FR_CHECKF(!r && strstr(e.msg, "--act-gran token"), "layer-wise with per-token activations: %s", r ? "accepted" : e.msg);
    fr_recon_free(r);
    fr_model_free(&m);
}

static void test_resume_layerwise_rtn_mix(void)
{
    fr_model m;
    make_model(&m, FR_ZOO_MLP, 13, 32, 32);
    fr_run_config c = base_cfg(FR_METHOD_FLEXROUND, 9);
    c.layerwise = 1;
    c.per_channel = 1;
    long stops[] = {5, 11, 12, 16};
    check_resume(&m, &c, stops, 4);
    c.method = FR_METHOD_RTN;
    long stops2[] = {1, 2, 3};
    check_resume(&m, &c, stops2, 3);
    fr_model_free(&m);
}

/* --keep-best (recon_best.c).  The evaluations must not touch the training: up to and including
 * the first unit that keeps an earlier iterate, every mini-batch loss equals the plain run's;
 * that unit ends strictly below the plain run's loss_after, every unit before it equal to it.
 * At this lr FlexRound overshoots on the ResNet-style zoo model, so some unit does revert. */
static fr_recon *kb_run(const fr_model *m, const fr_run_config *c)
{
    fr_err e;
    fr_recon *r = fr_recon_new(m, c, &e);
    FR_ASSERT(r && drive(r, -1) == 0);
    return r;
}

static fr_ckpt_unit *running_unit(fr_ckpt *c) { FR_ASSERT(c->cur_unit >= 0); return &c->units[c->cur_unit]; }
static void mut_best_iter(fr_ckpt *c) { fr_ckpt_unit *U = running_unit(c); U->best_iter = U->n_loss + 1; }
static void mut_best_nan(fr_ckpt *c) { running_unit(c)->best[1] = NAN; }
static void mut_best_loss(fr_ckpt *c) { running_unit(c)->best_loss = -1; }
static void mut_best_short(fr_ckpt *c) { running_unit(c)->n_best = 1; }
static void mut_best_off(fr_ckpt *c) { c->cfg.keep_best = 0; }

static void test_keep_best(void)
{
    fr_model m;
    make_model(&m, FR_ZOO_RESNET, 31, 40, 64);
    fr_run_config c = base_cfg(FR_METHOD_FLEXROUND, 24);
    c.n_calib = 32;
    c.init_minmax = 0;
    c.lr = 0.05f;
    fr_recon *a = kb_run(&m, &c);
    c.keep_best = 5;   /* iterations 0, 6, 12, 18, 24 */
    fr_recon *b = kb_run(&m, &c);
    const fr_partition *p = fr_recon_partition(b);
    int reverted = -1;
    for (int k = 0; k < p->n && reverted < 0; k++) {
        fr_unit_view *va = fr_recon_view(a, k), *vb = fr_recon_view(b, k);
        FR_CHECKF(va->n_loss == vb->n_loss && memcmp(va->loss, vb->loss, (size_t)va->n_loss * sizeof(float)) == 0,
                  "unit %d: the evaluations changed the training", k);
        if (strncmp(vb->note, "kept iteration", 14) == 0) {
            reverted = k;
            FR_CHECKF(vb->loss_after < va->loss_after, "unit %d: kept %.9g, last iterate %.9g", k, vb->loss_after,
                      va->loss_after);
            /* The note names the last iterate's loss, which is the plain run's loss_after. */
            char want[64];
            snprintf(want, sizeof want, "last iterate %.6g", va->loss_after);
            FR_CHECKF(strstr(vb->note, want) != NULL, "%s (want %s)", vb->note, want);
        } else {
            FR_CHECKF(vb->loss_after == va->loss_after && strstr(vb->note, "kept the last"), "unit %d: %s", k, vb->note);
        }
        fr_unit_view_release(va);
        fr_unit_view_release(vb);
    }
    FR_CHECKF(reverted >= 0, "%s", "no unit kept an earlier iterate at lr 0.05: the test no longer tests anything");
    fr_recon_free(a);
    fr_recon_free(b);

    /* Resume: mid-unit after a snapshot (events: begin, 24 steps, end per unit), right after
     * begin (only the start evaluated), just before end, and in a later unit. */
    long stops[] = {9, 2, 25, 40};
    check_resume(&m, &c, stops, (int)(sizeof stops / sizeof stops[0]));
    /* With activation quantizers in the QDrop setting the snapshot also holds their steps, and
     * the evaluations quantize every activation (no dropping) without drawing from the drop
     * stream: resuming mid-unit still gives the uninterrupted run's bits. */
    {
        fr_run_config q = c;
        q.act_bits = 4;
        q.qdrop = 1;
        long qstops[] = {9, 33};
        check_resume(&m, &q, qstops, 2);
    }

    /* BEST frames broken one way each are refused by name; the unbroken one loads. */
    fr_err e;
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_ASSERT(r && drive(r, 9) == 1);
    fr_ckpt_info in = info_for(&m, &c);
    size_t n0;
    uint8_t *b0 = encode_state(r, &in, &n0);
    fr_recon_free(r);
    fr_ckpt c0;
    FR_CHECK(fr_ckpt_load_mem(b0, n0, "kb.frc", &c0, &e) == FR_OK && running_unit(&c0)->n_best > 1 &&
             (running_unit(&c0)->best_iter == 0 || running_unit(&c0)->best_iter == 6));
    fr_ckpt_free(&c0);
    static void (*const muts[])(fr_ckpt *) = {mut_best_iter, mut_best_nan, mut_best_loss, mut_best_short, mut_best_off};
    static const char *const want[] = {"out of range", "not finite", "out of range", "size", "without --keep-best"};
    for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
        fr_ckpt cm;
        FR_ASSERT(fr_ckpt_load_mem(b0, n0, "x", &cm, &e) == FR_OK);
        muts[i](&cm);
        fr_ckpt_blob *bl = fr_ckpt_blob_wrap(&cm);
        uint8_t *out;
        size_t n;
        FR_ASSERT(fr_ckpt_encode(bl, 3, &out, &n, &e) == FR_OK);
        fr_ckpt_blob_free(bl);
        fr_ckpt cc;
        fr_err_clear(&e);
        int rc = fr_ckpt_load_mem(out, n, "best.frc", &cc, &e);
        if (rc == FR_OK) fr_ckpt_free(&cc);
        FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, want[i]), "case %zu: rc %d: %s", i, rc, e.msg);
        free(out);
    }
    free(b0);
    fr_model_free(&m);
}

/* ---- a finished run shared by the next tests ----------------------------------------------- */

static fr_model g_m;
static fr_run_config g_cfg;
static fr_recon *g_r;
static uint8_t *g_buf;
static size_t g_n;
static double g_acc_q;

static void setup_run(int tiny)
{
    fr_err e;
    make_model(&g_m, tiny ? FR_ZOO__COUNT : FR_ZOO_RESNET, 21, 40, 96);
    g_cfg = base_cfg(FR_METHOD_FLEXROUND, 10);
    g_r = fr_recon_new(&g_m, &g_cfg, &e);
    FR_ASSERT(g_r && drive(g_r, -1) == 0);
    FR_ASSERT(fr_recon_accuracy(g_r, 1, 0, &g_acc_q, &e) == FR_OK);
    fr_ckpt_info in = info_for(&g_m, &g_cfg);
    in.acc_q = g_acc_q;
    in.run_status = FR_RUN_DONE;
    g_buf = encode_state(g_r, &in, &g_n);
}

static void test_roundtrip_file_and_writer(void)
{
    char p[512];
    tmp_path(p, sizeof p, "run.frc");
    fr_err e;
    fr_ckpt_info in = info_for(&g_m, &g_cfg);
    in.acc_q = g_acc_q;
    in.run_status = FR_RUN_DONE;
    fr_ckpt_writer *w = fr_ckpt_writer_new();
    FR_CHECK(fr_ckpt_writer_submit(w, fr_ckpt_capture(g_r, &in), p) == FR_OK);
    FR_CHECK(fr_ckpt_writer_wait(w, &e) == FR_OK);
    fr_ckpt_writer_free(w);
    uint8_t *buf;
    size_t n;
    FR_CHECK(fr_read_file(p, 1 << 30, &buf, &n, &e) == FR_OK);
    FR_CHECK(n == g_n && memcmp(buf, g_buf, n) == 0);
    free(buf);
    fr_ckpt c;
    FR_CHECKF(fr_ckpt_load(p, &c, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(c.n_units == fr_recon_partition(g_r)->n && c.cur_unit == -1 && c.acc_q == g_acc_q);
    FR_CHECK(strcmp(c.bundle_path, "test.frm") == 0);
    FR_CHECK(c.minor == FR_CKPT_MINOR && c.cfg.unit_rule == g_cfg.unit_rule);
    FR_CHECK(c.cfg.scale_lr == g_cfg.scale_lr && g_cfg.scale_lr == 1.0f);
    fr_ckpt_free(&c);
    /* A checkpoint from before the unit rule was recorded (1.0) resumes with the split rule,
     * the only one frtui had then, and (before 1.4) with FlexRound's shared scales at the full lr. */
    FR_CHECKF(fr_ckpt_load("tests/compat/ckpt-1.0.frc", &c, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(c.minor == 0 && c.cfg.unit_rule == FR_UNITS_SPLIT && c.cfg.scale_lr == 1.0f);
    fr_ckpt_free(&c);
    /* Unwritable path: error, nothing created. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.frc", tmpdir);
    w = fr_ckpt_writer_new();
    FR_CHECK(fr_ckpt_writer_submit(w, fr_ckpt_capture(g_r, &in), bad) == FR_OK);
    int rc = fr_ckpt_writer_wait(w, &e);
    FR_CHECK(rc == FR_EIO && strstr(e.msg, "x.frc") != NULL);
    fr_ckpt_writer_free(w);
    /* A failed write leaves the previous checkpoint intact: writing over a directory fails. */
    char dirp[600];
    snprintf(dirp, sizeof dirp, "%s/adir", tmpdir);
    mkdir(dirp, 0700);
    FR_CHECK(fr_ckpt_write_blob(fr_ckpt_capture(g_r, &in), dirp, 3, &e) != FR_OK);
    struct stat st;
    FR_CHECK(stat(dirp, &st) == 0 && S_ISDIR(st.st_mode));
}

/* ---- malformed checkpoints ------------------------------------------------------------------- */

typedef struct badcase { char name[64]; uint8_t *p; size_t n; } badcase;

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void fix_header(uint8_t *p) { put64(p + 24, fr_fnv1a(FR_FNV_INIT, p, 24)); }

/* Offsets of the frame records of a valid file. */
static int frames(const uint8_t *p, size_t n, size_t *off, int cap)
{
    size_t o = 32;
    int k = 0;
    while (o + 32 <= n && k < cap) {
        uint64_t cl;
        memcpy(&cl, p + o + 16, 8);
        off[k++] = o;
        o += 32 + cl;
    }
    return k;
}

/* Re-encodes a decoded checkpoint after a mutation (for "counts that do not match" cases). */
static void add_reencoded_from(badcase *bc, int *nb, const char *name, void (*mut)(fr_ckpt *), const uint8_t *base,
                               size_t base_n)
{
    fr_ckpt c;
    fr_err e;
    FR_ASSERT(fr_ckpt_load_mem(base, base_n, "x", &c, &e) == FR_OK);
    mut(&c);
    /* Encode through a blob built from c (the blob owns a fr_ckpt). */
    fr_ckpt_blob *b = fr_ckpt_blob_wrap(&c);
    uint8_t *out;
    size_t n;
    FR_ASSERT(fr_ckpt_encode(b, 3, &out, &n, &e) == FR_OK);
    fr_ckpt_blob_free(b);
    snprintf(bc[*nb].name, sizeof bc[*nb].name, "%s", name);
    bc[*nb].p = out;
    bc[*nb].n = n;
    (*nb)++;
}
static void add_reencoded(badcase *bc, int *nb, const char *name, void (*mut)(fr_ckpt *))
{
    add_reencoded_from(bc, nb, name, mut, g_buf, g_n);
}

static void mut_units(fr_ckpt *c) { c->n_nodes += 1; }
static void mut_unitname(fr_ckpt *c) { snprintf(c->units[1].name, sizeof c->units[1].name, "renamed"); }
static void mut_layer_shape(fr_ckpt *c)
{
    fr_ckpt_layer *L = &c->units[1].layers[0];
    int t = L->o; L->o = L->i; L->i = t;
}
/* A group count that divides no row (1.6 allows ns1 = o * groups per row): refused. */
static void mut_layer_groups(fr_ckpt *c)
{
    fr_ckpt_layer *L = &c->units[1].layers[0];
    int ns = L->o * (int)(L->n / L->o + 1);
    L->s1 = fr_xrealloc(L->s1, (size_t)ns * sizeof(float));
    L->zp = fr_xrealloc(L->zp, (size_t)ns * sizeof(float));
    for (int g = L->ns1; g < ns; g++) L->s1[g] = 1.0f, L->zp[g] = 0.0f;
    L->ns1 = ns;
}
static void mut_param_count(fr_ckpt *c)
{
    fr_ckpt_layer *L = &c->units[1].layers[0];
    L->n_params--;
    free(L->params[L->n_params].data);
    L->params[L->n_params].data = NULL;
}
static void mut_code(fr_ckpt *c) { c->units[0].layers[0].code[0] ^= 1; }
static void mut_calib(fr_ckpt *c) { c->calib_fp ^= 1; }
static void mut_model(fr_ckpt *c) { c->model_fp ^= 1; }
static void mut_ncalib(fr_ckpt *c) { c->n_calib -= 1; }
static void mut_tensor_len(fr_ckpt *c)
{
    fr_ckpt_tensor *t = &c->units[1].layers[0].params[1];
    t->n -= 1;
}
static void mut_running_bad(fr_ckpt *c) { c->cur_unit = 1; }
static void mut_aq_node(fr_ckpt *c)
{
    c->aq = fr_xcalloc(1, sizeof *c->aq);
    c->n_aq = 1;
    c->aq[0].node = 3;
    c->aq[0].aq.bits = 4;
    c->aq[0].aq.s = 0.1f;
}
static void mut_layer_node(fr_ckpt *c) { c->units[1].layers[0].node = c->units[0].layers[0].node; }
static void mut_bits(fr_ckpt *c) { c->units[1].layers[0].bits = 5; }
static void mut_step_mode(fr_ckpt *c) { c->cfg.step_mode = 7; }   /* only 0/1 exist (issue 14 item 10) */


/* Issue 14, item 2: fields the decoder used to store before checking them, and non-finite
 * parameters.  The counts cannot be encoded from a fr_ckpt (the arrays are fixed-size), so the
 * layer's first tensor gets a marker name and the byte in front of it is patched in the raw
 * unit frame, which is then recompressed with sizes and checksums repaired (fuzz/repack.h). */
static fr_ckpt_layer *first_layer(fr_ckpt *c, int frozen, int *unit)
{
    for (int u = 0; u < c->n_units; u++)
        for (int l = 0; l < c->units[u].n_layers; l++) {
            fr_ckpt_layer *L = &c->units[u].layers[l];
            if ((frozen ? L->n_frozen : L->n_params) > 0 && !L->fell_back) { if (unit) *unit = u; return L; }
        }
    FR_ASSERT(!"no layer with tensors in the reference checkpoint");
    return NULL;
}

static void add_count_patch(badcase *bc, int *nb, const char *name, int frozen, uint8_t value)
{
    fr_ckpt c;
    fr_err e;
    FR_ASSERT(fr_ckpt_load_mem(g_buf, g_n, "x", &c, &e) == FR_OK);
    int u = 0;
    fr_ckpt_layer *L = first_layer(&c, frozen, &u);
    snprintf((frozen ? L->frozen : L->params)[0].name, sizeof L->params[0].name, "@count-marker@");
    fr_ckpt_blob *b = fr_ckpt_blob_wrap(&c);
    uint8_t *enc;
    size_t n;
    FR_ASSERT(fr_ckpt_encode(b, 3, &enc, &n, &e) == FR_OK);
    fr_ckpt_blob_free(b);
    fz_frc f;
    FR_ASSERT(fz_frc_unpack(enc, n, &f, (size_t)1 << 30) == 0);
    free(enc);
    int k = 1 + u;   /* META, then one frame per unit */
    long at = fz_find_str(f.raw[k], f.len[k], "@count-marker@");
    FR_ASSERT(at > 0);
    f.raw[k][at - 1] = value;
    snprintf(bc[*nb].name, sizeof bc[*nb].name, "%s", name);
    bc[*nb].p = fz_frc_pack(&f, &bc[*nb].n);
    FR_ASSERT(bc[*nb].p);
    fz_frc_free(&f);
    (*nb)++;
}

static void mut_param_nan(fr_ckpt *c) { first_layer(c, 0, NULL)->params[0].data[0] = NAN; }
static void mut_param_inf(fr_ckpt *c)
{
    fr_ckpt_layer *L = first_layer(c, 0, NULL);
    L->params[L->n_params - 1].data[0] = -INFINITY;
}
static void mut_frozen_nan(fr_ckpt *c) { first_layer(c, 1, NULL)->frozen[0].data[0] = NAN; }
static void mut_s1_inf(fr_ckpt *c)
{
    for (int u = 0; u < c->n_units; u++)
        for (int l = 0; l < c->units[u].n_layers; l++)
            if (c->units[u].layers[l].has_result) { c->units[u].layers[l].s1[0] = INFINITY; return; }
    FR_ASSERT(!"no finished layer in the reference checkpoint");
}
static void mut_aq_nan(fr_ckpt *c)
{
    if (!c->n_aq) {
        c->aq = fr_xcalloc(1, sizeof *c->aq);
        c->n_aq = 1;
        c->aq[0].node = c->units[0].layers[0].node;
        c->aq[0].aq.bits = 4;
        c->aq[0].aq.qmax = 15;
        c->aq[0].aq.s = 0.1f;
        c->aq[0].aq.s_init = 0.1f;
    }
    c->aq[0].aq.nonfinite = 0;
    c->aq[0].aq.s_m = NAN;
}

/* HIST frames (issue 18, .frc 1.4): the reference run keeps no history, so a valid two-moment
 * one (iterations 0 and `every`, each moment the unit's learnable tensors) is put on the first
 * finished unit and then broken in one way each; the loader must refuse every one by name. */
static fr_ckpt_unit *with_hist(fr_ckpt *c)
{
    for (int u = 0; u < c->n_units; u++) {
        fr_ckpt_unit *U = &c->units[u];
        size_t stride = 0;
        for (int l = 0; l < U->n_layers; l++)
            for (int p = 0; p < U->layers[l].n_params; p++) stride += U->layers[l].params[p].n;
        if (U->status == FR_UNIT_PENDING || !stride || U->n_loss < 4) continue;
        fr_ckpt_hist *h = &U->hist;
        free(h->data);   /* the run may have recorded one: replaced */
        h->n = 2;
        h->every = 4;
        h->iter[0] = 0;
        h->iter[1] = 4;
        h->stride = stride;
        h->data = fr_xmalloc(2 * stride * sizeof *h->data);
        for (int j = 0; j < 2; j++) {
            float *d = h->data + (size_t)j * stride;
            for (int l = 0; l < U->n_layers; l++)
                for (int p = 0; p < U->layers[l].n_params; p++) {
                    memcpy(d, U->layers[l].params[p].data, U->layers[l].params[p].n * sizeof *d);
                    d += U->layers[l].params[p].n;
                }
        }
        return U;
    }
    FR_ASSERT(!"no finished unit with learnable tensors in the reference checkpoint");
    return NULL;
}
static void mut_hist_every(fr_ckpt *c) { with_hist(c)->hist.every = 3; }
static void mut_hist_order(fr_ckpt *c) { fr_ckpt_unit *U = with_hist(c); U->hist.iter[1] = 0; }
static void mut_hist_range(fr_ckpt *c) { fr_ckpt_unit *U = with_hist(c); U->hist.iter[1] = (U->n_loss / 4 + 1) * 4; }
static void mut_hist_nan(fr_ckpt *c) { fr_ckpt_unit *U = with_hist(c); U->hist.data[U->hist.stride + 1] = NAN; }
static void mut_hist_stride(fr_ckpt *c) { with_hist(c)->hist.stride -= 1; }

/* BEST frames (.frc 1.5): the shared run's settings with --keep-best 3, stopped in its first
 * unit after the snapshot at iteration 5 (the base of the best-*.frc corpus files and, valid as
 * it is, of tests/fuzz/seeds/frcs/tiny-keep-best-running.frc). */
static uint8_t *keep_best_state(size_t *n)
{
    fr_run_config c = g_cfg;
    c.keep_best = 3;
    fr_err e;
    fr_recon *r = fr_recon_new(&g_m, &c, &e);
    FR_ASSERT(r && drive(r, 8) == 1);
    fr_ckpt_info in = info_for(&g_m, &c);
    uint8_t *kb = encode_state(r, &in, n);
    fr_recon_free(r);
    return kb;
}

static int make_bad(badcase *bc)
{
    int nb = 0;
#define ADD(nm, len) do { snprintf(bc[nb].name, sizeof bc[nb].name, "%s", nm); bc[nb].n = (len); \
        bc[nb].p = fr_xmalloc((len) ? (len) : 1); memcpy(bc[nb].p, g_buf, FR_MIN((len), g_n)); nb++; } while (0)
    size_t fo[256];
    int nf = frames(g_buf, g_n, fo, 256);
    FR_ASSERT(nf >= 4);
    ADD("empty.frc", 0);
    ADD("header-only-part.frc", 20);
    ADD("header-only.frc", 32);
    ADD("truncated-in-meta.frc", fo[0] + 40);
    ADD("truncated-mid-unit.frc", fo[2] + 50);
    ADD("truncated-before-end.frc", fo[nf - 1]);
    ADD("truncated-last-byte.frc", g_n - 1);
    ADD("bad-magic.frc", g_n); memcpy(bc[nb - 1].p, "FRTX", 4); fix_header(bc[nb - 1].p);
    ADD("frm-magic.frc", g_n); memcpy(bc[nb - 1].p, "FRTM", 4);
    ADD("major-2.frc", g_n); bc[nb - 1].p[4] = 2; fix_header(bc[nb - 1].p);
    ADD("major-0.frc", g_n); bc[nb - 1].p[4] = 0; fix_header(bc[nb - 1].p);
    ADD("header-hash.frc", g_n); bc[nb - 1].p[8] ^= 0x10;
    ADD("header-len-huge.frc", g_n); bc[nb - 1].p[14] = 0x7f; fix_header(bc[nb - 1].p);
    ADD("frame-count-0.frc", g_n); memset(bc[nb - 1].p + 16, 0, 4); fix_header(bc[nb - 1].p);
    ADD("frame-count-more.frc", g_n); bc[nb - 1].p[16] += 1; fix_header(bc[nb - 1].p);
    ADD("frame-count-less.frc", g_n); bc[nb - 1].p[16] -= 1; fix_header(bc[nb - 1].p);
    ADD("frame-type.frc", g_n); bc[nb - 1].p[fo[1]] = 9;
    ADD("frame-type-swap.frc", g_n); bc[nb - 1].p[fo[1]] = 3;
    ADD("frame-reserved.frc", g_n); bc[nb - 1].p[fo[1] + 5] = 1;
    ADD("raw-len-wrong.frc", g_n); bc[nb - 1].p[fo[1] + 8] ^= 1;
    ADD("raw-len-huge.frc", g_n); bc[nb - 1].p[fo[1] + 15] = 0x7f;
    ADD("comp-len-short.frc", g_n); bc[nb - 1].p[fo[1] + 16] -= 1;
    ADD("comp-len-huge.frc", g_n); bc[nb - 1].p[fo[1] + 22] = 0x7f;
    ADD("fnv-mismatch.frc", g_n); bc[nb - 1].p[fo[1] + 24] ^= 1;
    ADD("zstd-magic.frc", g_n); bc[nb - 1].p[fo[1] + 32] ^= 0xff;
    ADD("zstd-body.frc", g_n); bc[nb - 1].p[fo[2] + 32 + 20] ^= 0x55;
    ADD("zstd-checksum.frc", g_n);
    { uint64_t cl; memcpy(&cl, g_buf + fo[2] + 16, 8); bc[nb - 1].p[fo[2] + 32 + cl - 1] ^= 0x01; }
    ADD("zstd-meta-body.frc", g_n); bc[nb - 1].p[fo[0] + 32 + 12] ^= 0x20;
    ADD("trailing-garbage.frc", g_n + 7); memset(bc[nb - 1].p + g_n, 0xab, 7);
    ADD("end-not-last.frc", g_n + (g_n - fo[nf - 1]));
    memcpy(bc[nb - 1].p + g_n, g_buf + fo[nf - 1], g_n - fo[nf - 1]); bc[nb - 1].p[16] += 1; fix_header(bc[nb - 1].p);
    add_reencoded(bc, &nb, "nodes-mismatch.frc", mut_units);
    add_reencoded(bc, &nb, "unit-renamed.frc", mut_unitname);
    add_reencoded(bc, &nb, "layer-shape.frc", mut_layer_shape);
    add_reencoded(bc, &nb, "layer-groups.frc", mut_layer_groups);
    add_reencoded(bc, &nb, "param-count.frc", mut_param_count);
    add_reencoded(bc, &nb, "code-flipped.frc", mut_code);
    add_reencoded(bc, &nb, "other-calibration.frc", mut_calib);
    add_reencoded(bc, &nb, "other-bundle.frc", mut_model);
    add_reencoded(bc, &nb, "n-calib.frc", mut_ncalib);
    add_reencoded(bc, &nb, "tensor-length.frc", mut_tensor_len);
    add_reencoded(bc, &nb, "running-unit-status.frc", mut_running_bad);
    add_reencoded(bc, &nb, "actq-unknown-node.frc", mut_aq_node);
    add_reencoded(bc, &nb, "layer-node.frc", mut_layer_node);
    add_reencoded(bc, &nb, "layer-bits.frc", mut_bits);
    add_reencoded(bc, &nb, "step-mode.frc", mut_step_mode);
    add_count_patch(bc, &nb, "param-count-200.frc", 0, 200);
    add_count_patch(bc, &nb, "param-count-6.frc", 0, FR_CKPT_MAX_PARAMS + 1);
    add_count_patch(bc, &nb, "frozen-count-200.frc", 1, 200);
    add_count_patch(bc, &nb, "frozen-count-4.frc", 1, FR_CKPT_MAX_FROZEN + 1);
    add_reencoded(bc, &nb, "param-nan.frc", mut_param_nan);
    add_reencoded(bc, &nb, "param-inf.frc", mut_param_inf);
    add_reencoded(bc, &nb, "frozen-nan.frc", mut_frozen_nan);
    add_reencoded(bc, &nb, "s1-inf.frc", mut_s1_inf);
    add_reencoded(bc, &nb, "actq-moment-nan.frc", mut_aq_nan);
    add_reencoded(bc, &nb, "hist-every-3.frc", mut_hist_every);
    add_reencoded(bc, &nb, "hist-iter-order.frc", mut_hist_order);
    add_reencoded(bc, &nb, "hist-iter-range.frc", mut_hist_range);
    add_reencoded(bc, &nb, "hist-nan.frc", mut_hist_nan);
    add_reencoded(bc, &nb, "hist-stride.frc", mut_hist_stride);
    {
        size_t n;
        uint8_t *kb = keep_best_state(&n);
        add_reencoded_from(bc, &nb, "best-iter-range.frc", mut_best_iter, kb, n);
        add_reencoded_from(bc, &nb, "best-nan.frc", mut_best_nan, kb, n);
        add_reencoded_from(bc, &nb, "best-short.frc", mut_best_short, kb, n);
        add_reencoded_from(bc, &nb, "best-without-keep-best.frc", mut_best_off, kb, n);
        free(kb);
    }
#undef ADD
    return nb;
}

/* Full pipeline a CLI resume goes through: load, check against the model, restore. */
static int full_load_m(const fr_model *m, const uint8_t *p, size_t n, const char *name, fr_err *e)
{
    fr_ckpt c;
    int rc = fr_ckpt_load_mem(p, n, name, &c, e);
    if (rc) return rc;
    rc = fr_ckpt_check_model(&c, m, name, e);
    if (!rc) {
        fr_recon *r = fr_ckpt_resume_engine(&c, m, e);
        if (!r) rc = e->code ? e->code : FR_EINPUT;
        fr_recon_free(r);
    }
    fr_ckpt_free(&c);
    return rc;
}

static int full_load(const uint8_t *p, size_t n, const char *name, fr_err *e) { return full_load_m(&g_m, p, n, name, e); }

static void test_bad_checkpoints(void)
{
    badcase bc[64];
    int nb = make_bad(bc);
    FR_CHECK(nb >= 30);
    for (int i = 0; i < nb; i++) {
        fr_err e;
        fr_err_clear(&e);
        int rc = full_load(bc[i].p, bc[i].n, bc[i].name, &e);
        FR_CHECKF((rc == FR_EINPUT || rc == FR_ENOMEM) && strncmp(e.msg, bc[i].name, strlen(bc[i].name)) == 0,
                  "%s: rc %d: %s", bc[i].name, rc, e.msg);
        FR_CHECKF(strchr(e.msg, '\n') == NULL && e.msg[0], "%s: message '%s'", bc[i].name, e.msg);
        free(bc[i].p);
    }
    /* The committed corpus (if present) fails the same way. */
    int seen = 0;
    fr_model cm;
    fr_err e0;
    if (fr_frm_read("tests/bad/frc/model.frm", &cm, &e0) != FR_OK) return;
    FILE *lst = popen("ls tests/bad/frc/*.frc 2>/dev/null", "r");
    char line[512];
    while (lst && fgets(line, sizeof line, lst)) {
        line[strcspn(line, "\n")] = 0;
        uint8_t *buf = NULL;
        size_t n = 0;
        fr_err e;
        fr_err_clear(&e);
        int rc = fr_read_file(line, 1 << 30, &buf, &n, &e);
        if (!rc) rc = full_load_m(&cm, buf, n, line, &e);
        free(buf);
        if (strstr(line, "other-bundle") || strstr(line, "other-calibration")) {
            FR_CHECKF(rc == FR_EINPUT, "%s: rc %d", line, rc);
        } else {
            FR_CHECKF(rc == FR_EINPUT || rc == FR_ENOMEM, "%s: rc %d: %s", line, rc, e.msg);
        }
        seen++;
    }
    if (lst) pclose(lst);
    fr_model_free(&cm);
    FR_CHECK(seen >= 30);
}

/* The HIST cases fail for the reason they were made for, and the unbroken history they start
 * from loads (so none of them is refused for something else). */
static void mut_hist_none(fr_ckpt *c) { with_hist(c); }
static void test_bad_hist_reasons(void)
{
    static void (*const muts[])(fr_ckpt *) = {mut_hist_none, mut_hist_every, mut_hist_order, mut_hist_range, mut_hist_nan, mut_hist_stride};
    static const char *const want[] = {NULL, "power of two", "out of order", "out of order", "not finite", "moment size"};
    for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
        badcase bc[1];
        int nb = 0;
        add_reencoded(bc, &nb, "h.frc", muts[i]);
        fr_err e;
        fr_err_clear(&e);
        int rc = full_load(bc[0].p, bc[0].n, "h.frc", &e);
        if (!want[i]) {
            FR_CHECKF(rc == FR_OK, "the unbroken history is refused: %s", e.msg);
            fr_ckpt c;
            FR_CHECK(fr_ckpt_load_mem(bc[0].p, bc[0].n, "h.frc", &c, &e) == FR_OK);
            int with = 0;
            for (int u = 0; u < c.n_units; u++) with += c.units[u].hist.n == 2;
            FR_CHECK(with == 1);
            fr_ckpt_free(&c);
        } else {
            FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "HIST") && strstr(e.msg, want[i]), "case %zu: rc %d: %s", i, rc, e.msg);
        }
        free(bc[0].p);
    }
}

static void test_mismatch_messages(void)
{
    fr_ckpt c;
    fr_err e;
    FR_CHECK(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &c, &e) == FR_OK);
    fr_model other;
    make_model(&other, FR_ZOO_RESNET, 22, 40, 16);   /* other weights, other calibration */
    FR_CHECK(fr_ckpt_check_model(&c, &other, "run.frc", &e) == FR_EINPUT && strstr(e.msg, "calibration"));
    /* Same calibration, other weights. */
    fr_dataset_free(&other.calib);
    other.calib = g_m.calib;
    FR_CHECK(fr_ckpt_check_model(&c, &other, "run.frc", &e) == FR_EINPUT && strstr(e.msg, "another bundle"));
    memset(&other.calib, 0, sizeof other.calib);
    fr_model_free(&other);
    FR_CHECK(fr_ckpt_check_threads(&c, c.blas_threads + 1, "run.frc", &e) == FR_EINPUT && strstr(e.msg, "threads"));
    FR_CHECK(fr_ckpt_check_threads(&c, c.blas_threads, "run.frc", &e) == FR_OK);
    fr_ckpt_free(&c);
}

static void test_replay_snapshot(void)
{
    fr_ckpt c;
    fr_err e;
    FR_CHECK(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &c, &e) == FR_OK);
    fr_snapshot *s = fr_ckpt_snapshot(&c, &g_m, &e);
    FR_CHECKF(s != NULL, "%s", e.msg);
    if (!s) { fr_ckpt_free(&c); return; }
    FR_CHECK(s->status == FR_RUN_REPLAY && s->n_units == c.n_units && s->acc_q == g_acc_q);
    for (int k = 0; k < s->n_units; k++) {
        fr_unit_view *v = s->units[k], *ref = fr_recon_view(g_r, k);
        FR_CHECK(v && v->status == FR_UNIT_DONE && v->n_loss == ref->n_loss);
        FR_CHECK(memcmp(v->loss, ref->loss, (size_t)v->n_loss * 4) == 0);
        FR_CHECK(v->loss_after == ref->loss_after && v->n_layers == ref->n_layers);
        for (int l = 0; l < v->n_layers; l++) {
            const fr_layer_view *a = &v->layers[l], *b = &ref->layers[l];
            size_t nb = (size_t)a->n * 4;
            FR_CHECK(a->w && a->s2 && a->s_comb && a->u && a->code && a->rtn_code && a->shift);
            FR_CHECK(memcmp(a->code, b->code, nb) == 0 && memcmp(a->s_comb, b->s_comb, nb) == 0 &&
                     memcmp(a->shift, b->shift, nb) == 0 && memcmp(a->rtn_code, b->rtn_code, nb) == 0);
            FR_CHECK(a->st.sqnr_db == b->st.sqnr_db && a->st.aggressive == b->st.aggressive &&
                     a->st.clipped == b->st.clipped);
            FR_CHECK(a->cls && b->cls && memcmp(a->cls, b->cls, (size_t)a->n) == 0);
        }
        fr_unit_view_release(ref);
    }
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
}

static void test_replay_interrupted(void)
{
    fr_err e;
    fr_recon *r = fr_recon_new(&g_m, &g_cfg, &e);
    FR_CHECK(drive(r, 30) == 1);
    fr_ckpt_info in = info_for(&g_m, &g_cfg);
    size_t n;
    uint8_t *b = encode_state(r, &in, &n);
    fr_ckpt c;
    FR_CHECK(fr_ckpt_load_mem(b, n, "mid.frc", &c, &e) == FR_OK);
    fr_snapshot *s = fr_ckpt_snapshot(&c, &g_m, &e);
    FR_CHECKF(s != NULL, "%s", e.msg);
    if (s) {
        int cur = fr_recon_current(r);
        FR_CHECK(s->cur_unit == cur && cur >= 0);
        fr_unit_view *ref = fr_recon_view(r, cur);
        FR_CHECK(s->units[cur]->status == FR_UNIT_RUNNING && s->units[cur]->iter == ref->iter);
        FR_CHECK(memcmp(s->units[cur]->layers[0].code, ref->layers[0].code, (size_t)ref->layers[0].n * 4) == 0);
        FR_CHECK(s->units[c.n_units - 1]->status == FR_UNIT_PENDING && s->units[c.n_units - 1]->layers[0].code);
        fr_unit_view_release(ref);
        fr_snapshot_release(s);
    }
    fr_ckpt_free(&c);
    free(b);
    fr_recon_free(r);
}

static void test_export_frm(void)
{
    fr_ckpt c;
    fr_err e;
    FR_CHECK(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &c, &e) == FR_OK);
    char p[512];
    tmp_path(p, sizeof p, "q.frm");
    double acc = -1;
    FR_CHECKF(fr_export_frm(&c, &g_m, p, &acc, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(acc == g_acc_q);
    fr_model q;
    FR_CHECKF(fr_frm_read(p, &q, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(q.quant_json && strstr(q.quant_json, "\"frtui-quant\"") && strstr(q.quant_json, "qcodes"));
    double acc2 = -1;
    FR_CHECK(fr_eval_accuracy(&q, NULL, NULL, 64, &acc2, &e) == FR_OK);
    FR_CHECKF(acc2 == g_acc_q, "eval %.6f vs run %.6f", acc2, g_acc_q);
    /* Codes tensor equals the run's codes. */
    int nl;
    const fr_layer_result *res = fr_recon_results(g_r, 1, &nl);
    char qn[128];
    snprintf(qn, sizeof qn, "%s.qcodes", res[0].name);
    int t = fr_graph_find_tensor(&q.g, qn);
    FR_CHECK(t >= 0);
    int same = t >= 0;
    for (int64_t k = 0; same && k < res[0].n; k++) same = q.g.tensors[t].data[k] == (float)res[0].code[k];
    FR_CHECK(same);
    fr_model_free(&q);
    /* Unwritable output: error, nothing written. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/missing/q.frm", tmpdir);
    FR_CHECK(fr_export_frm(&c, &g_m, bad, NULL, &e) == FR_EIO);
    fr_ckpt_free(&c);
}

/* Minimal safetensors reader: header JSON, then checks a few entries. */
static void test_export_safetensors(void)
{
    fr_ckpt c;
    fr_err e;
    FR_CHECK(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &c, &e) == FR_OK);
    char p[512];
    tmp_path(p, sizeof p, "q.safetensors");
    FR_CHECKF(fr_export_safetensors(&c, &g_m, p, &e) == FR_OK, "%s", e.msg);
    uint8_t *buf;
    size_t n;
    FR_CHECK(fr_read_file(p, 1 << 30, &buf, &n, &e) == FR_OK);
    uint64_t hl;
    memcpy(&hl, buf, 8);
    FR_CHECK(hl % 8 == 0 && 8 + hl <= n);
    char *h = fr_xmalloc(hl + 1);
    memcpy(h, buf + 8, hl);
    h[hl] = 0;
    FR_CHECK(strstr(h, "\"__metadata__\":{\"format\":\"frtui-qcodes\",\"method\":\"flexround\",\"bits\":\"3\"") != NULL);
    const fr_ckpt_layer *L = &c.units[1].layers[0];
    char key[256];
    snprintf(key, sizeof key, "\"%s.qcodes\":{\"dtype\":\"I8\",\"shape\":[%d,%d,%d,%d],\"data_offsets\":[", L->name, L->o,
             L->i, L->kh, L->kw);
    char *at = strstr(h, key);
    FR_CHECK(at != NULL);
    if (at) {
        size_t a0 = 0, a1 = 0;
        FR_CHECK(sscanf(at + strlen(key), "%zu,%zu]", &a0, &a1) == 2 && a1 - a0 == (size_t)L->n);
        int same = 8 + hl + a1 <= n;
        for (int64_t k = 0; same && k < L->n; k++) same = (int8_t)buf[8 + hl + a0 + (size_t)k] == L->code[k];
        FR_CHECK(same);
        snprintf(key, sizeof key, "\"%s.scale\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[", L->name, L->ns1);
        at = strstr(h, key);
        FR_CHECK(at && sscanf(at + strlen(key), "%zu,%zu]", &a0, &a1) == 2);
        float s1 = 0;
        if (at) memcpy(&s1, buf + 8 + hl + a0, 4);
        FR_CHECK(s1 == L->s1[0]);
    }
    /* Offsets end exactly at the end of the file. */
    char *last = NULL, *q = h;
    while ((q = strstr(q, "data_offsets"))) last = q++;
    size_t b0, b1;
    FR_CHECK(last && sscanf(last, "data_offsets\":[%zu,%zu]", &b0, &b1) == 2 && 8 + hl + b1 == n);
    free(h);
    free(buf);
    fr_ckpt_free(&c);
}

/* A checkpoint taken inside the first unit: nothing is finished. */
static uint8_t *unfinished_state(const fr_model *m, size_t *n)
{
    fr_err e;
    fr_run_config cfg = base_cfg(FR_METHOD_FLEXROUND, 10);
    fr_recon *r = fr_recon_new(m, &cfg, &e);
    FR_ASSERT(r && drive(r, 3) == 1 && fr_recon_current(r) == 0);
    fr_ckpt_info in = info_for(m, &cfg);
    uint8_t *buf = encode_state(r, &in, n);
    fr_recon_free(r);
    return buf;
}

static int exists(const char *p) { struct stat st; return lstat(p, &st) == 0; }

/* Issue 14 item 12: no finished unit -> refused, not "quantized" with an FP model. */
static void test_export_unfinished(void)
{
    size_t n;
    uint8_t *buf = unfinished_state(&g_m, &n);
    fr_ckpt c;
    fr_err e;
    FR_CHECK(fr_ckpt_load_mem(buf, n, "mid.frc", &c, &e) == FR_OK);
    fr_qmodel q;
    FR_CHECK(fr_qmodel_build(&c, &g_m, &q, NULL, &e) == FR_EINPUT && strstr(e.msg, "no finished unit") &&
             strstr(e.msg, "mid.frc"));
    char p[512], st[512];
    tmp_path(p, sizeof p, "mid.frm");
    tmp_path(st, sizeof st, "mid.safetensors");
    FR_CHECK(fr_export_frm(&c, &g_m, p, NULL, &e) == FR_EINPUT && !exists(p));
    fr_export_req rq = {.frm = p, .safetensors = st, .onnx = NULL};
    double acc = 0;
    FR_CHECK(fr_export_run(&c, &g_m, &rq, &acc, &e) == FR_EINPUT && !exists(p) && !exists(st));
    fr_export_req rs = {.frm = NULL, .safetensors = st, .onnx = NULL};
    FR_CHECK(fr_export_run(&c, &g_m, &rs, &acc, &e) == FR_EINPUT && !exists(st));
    fr_ckpt_free(&c);
    free(buf);
}

/* Issue 14 item 12: several outputs are written all or none. */
static void test_export_all_or_nothing(void)
{
    fr_ckpt c;
    fr_err e;
    FR_CHECK(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &c, &e) == FR_OK);
    char frm[512], st[512], dir[512], bad[600];
    tmp_path(frm, sizeof frm, "set.frm");
    tmp_path(st, sizeof st, "set.safetensors");
    tmp_path(dir, sizeof dir, "a-directory");
    mkdir(dir, 0700);
    snprintf(bad, sizeof bad, "%s/missing/x.safetensors", tmpdir);
    double acc = -1;
    /* A later output that cannot be opened: the first is not created either. */
    fr_export_req r1 = {.frm = frm, .safetensors = bad, .onnx = NULL};
    FR_CHECK(fr_export_run(&c, &g_m, &r1, &acc, &e) == FR_EIO && strstr(e.msg, "missing") && !exists(frm));
    /* A later output that fails only at the rename (target is a directory). */
    fr_export_req r2 = {.frm = frm, .safetensors = dir, .onnx = NULL};
    FR_CHECKF(fr_export_run(&c, &g_m, &r2, &acc, &e) != FR_OK && !exists(frm), "%s", e.msg);
    /* The ONNX target fails last (no source recorded): nothing written. */
    char onnx[512];
    tmp_path(onnx, sizeof onnx, "set.onnx");
    fr_export_req r3 = {.frm = frm, .safetensors = st, .onnx = onnx};
    FR_CHECK(fr_export_run(&c, &g_m, &r3, &acc, &e) == FR_EINPUT && strstr(e.msg, "ONNX") && !exists(frm) &&
             !exists(st) && !exists(onnx));
    /* The same file twice. */
    fr_export_req r4 = {.frm = frm, .safetensors = frm, .onnx = NULL};
    FR_CHECK(fr_export_run(&c, &g_m, &r4, &acc, &e) == FR_EINPUT && !exists(frm));
    /* And the good case writes both, equal to the single-target exporters' files. */
    fr_export_req r5 = {.frm = frm, .safetensors = st, .onnx = NULL};
    FR_CHECKF(fr_export_run(&c, &g_m, &r5, &acc, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(acc == g_acc_q);
    char frm1[512], st1[512];
    tmp_path(frm1, sizeof frm1, "one.frm");
    tmp_path(st1, sizeof st1, "one.safetensors");
    FR_CHECK(fr_export_frm(&c, &g_m, frm1, NULL, &e) == FR_OK && fr_export_safetensors(&c, &g_m, st1, &e) == FR_OK);
    const char *pairs[2][2] = {{frm, frm1}, {st, st1}};
    for (int i = 0; i < 2; i++) {
        uint8_t *a, *b;
        size_t na, nb;
        FR_CHECK(fr_read_file(pairs[i][0], 1 << 30, &a, &na, &e) == FR_OK);
        FR_CHECK(fr_read_file(pairs[i][1], 1 << 30, &b, &nb, &e) == FR_OK);
        FR_CHECK(na == nb && memcmp(a, b, na) == 0);
        free(a);
        free(b);
    }
    fr_ckpt_free(&c);
}

static void test_export_png(void)
{
    fr_ckpt c;
    fr_err e;
    FR_CHECK(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &c, &e) == FR_OK);
    fr_snapshot *s = fr_ckpt_snapshot(&c, &g_m, &e);
    FR_CHECK(s != NULL);
    const char *views[] = {"heatmap", "scatter", "loss", "hist"};
    for (int v = 0; s && v < 4; v++) {
        char p[512];
        tmp_path(p, sizeof p, views[v]);
        strcat(p, ".png");
        int rc = fr_export_png_view(s, 1, views[v], p, &e);
        FR_CHECKF(rc == FR_OK, "%s: %s", views[v], e.msg);
        uint8_t *rgb = NULL;
        int w = 0, h = 0;
        FR_CHECK(fr_png_read(p, &rgb, &w, &h, &e) == FR_OK && w >= 200 && h >= 150);
        long dark = 0, colour = 0;
        for (long k = 0; rgb && k < (long)w * h; k++) {
            const uint8_t *px = rgb + 3 * k;
            dark += px[0] < 80 && px[1] < 80 && px[2] < 80;
            colour += abs(px[0] - px[1]) > 40 || abs(px[1] - px[2]) > 40;
        }
        FR_CHECKF(dark > 200 && colour > 50, "%s: dark %ld colour %ld", views[v], dark, colour);  /* text + data */
        fr_afree(rgb);
    }
    if (s) {
        char p[512];
        tmp_path(p, sizeof p, "cmp.png");
        FR_CHECK(fr_export_png_view(s, 1, "compare", p, &e) == FR_EINPUT && strstr(e.msg, "run compare first"));
        FR_CHECK(access(p, F_OK) != 0);
        FR_CHECK(fr_export_png_view(s, 1, "nope", p, &e) == FR_EINPUT);
        FR_CHECK(fr_export_png_view(s, 99, "loss", p, &e) == FR_EINPUT);
        fr_snapshot_release(s);
    }
    /* compare with alt views from a live engine. */
    fr_unit_view *alt = NULL;
    int ok = 1;
    for (int m = 0; m < FR_METHOD__COUNT && ok; m++) {
        ok = fr_recon_compare(g_r, 2, (fr_method)m, &alt, &e) == FR_OK;
        fr_unit_view_release(alt);
    }
    FR_CHECKF(ok, "%s", e.msg);
    fr_snapshot *live = fr_snapshot_new(fr_recon_partition(g_r)->n);
    for (int k = 0; k < live->n_units; k++) live->units[k] = fr_recon_view(g_r, k);
    /* One definition of the classes (issue 13 §2): the per-weight array every scatter and the PNG
     * colour and count by is exactly what the Stats/JSON percentages count, for each method; RTN
     * and AdaRound are never aggressive. */
    for (int m = 0; m < FR_METHOD__COUNT; m++) {
        const fr_unit_view *v = live->units[2]->alt[m];
        FR_CHECK(v != NULL);
        for (int l = 0; v && l < v->n_layers; l++) {
            const fr_layer_view *L = &v->layers[l];
            int64_t cnt[FR_WC__COUNT] = {0};
            for (int64_t k = 0; k < L->n; k++) cnt[L->cls[k] < FR_WC__COUNT ? L->cls[k] : 0]++;
            FR_CHECK(L->st.aggressive == (double)cnt[FR_WC_AGGRESSIVE] / (double)L->n);
            FR_CHECK(L->st.clipped == (double)cnt[FR_WC_CLIPPED] / (double)L->n);
            if (m != FR_METHOD_FLEXROUND) FR_CHECKF(cnt[FR_WC_AGGRESSIVE] == 0, "%s aggressive", fr_method_name(m));
        }
    }
    char p[512];
    tmp_path(p, sizeof p, "cmp.png");
    FR_CHECKF(fr_export_png_view(live, 2, "compare", p, &e) == FR_OK, "%s", e.msg);
    uint8_t *rgb = NULL;
    int w, h;
    FR_CHECK(fr_png_read(p, &rgb, &w, &h, &e) == FR_OK && w > h);
    fr_afree(rgb);
    fr_snapshot_release(live);
    fr_ckpt_free(&c);
}

/* Worker: it/s with and without a checkpoint being written (printed, not asserted), and MB/s. */
static void test_throughput(void)
{
    fr_err e;
    fr_ckpt_info in = info_for(&g_m, &g_cfg);
    double t0 = fr_now();
    int reps = 5;
    size_t bytes = 0;
    for (int i = 0; i < reps; i++) {
        char p[512];
        tmp_path(p, sizeof p, "tp.frc");
        fr_ckpt_blob *b = fr_ckpt_capture(g_r, &in);
        bytes = fr_ckpt_blob_bytes(b);
        FR_CHECK(fr_ckpt_write_blob(b, p, 3, &e) == FR_OK);
    }
    double tw = (fr_now() - t0) / reps;
    t0 = fr_now();
    for (int i = 0; i < reps; i++) {
        char p[512];
        tmp_path(p, sizeof p, "tp.frc");
        fr_ckpt c;
        FR_CHECK(fr_ckpt_load(p, &c, &e) == FR_OK);
        fr_ckpt_free(&c);
    }
    double tr = (fr_now() - t0) / reps;
    printf("# checkpoint: %.2f MB state, write %.1f MB/s, read %.1f MB/s\n", bytes / 1e6, bytes / 1e6 / tw, bytes / 1e6 / tr);
    /* Engine it/s alone vs while the writer thread compresses + writes a checkpoint. */
    fr_run_config c = g_cfg;
    c.iters = 1000000;
    fr_recon *r = fr_recon_new(&g_m, &c, &e);
    FR_CHECK(r && fr_recon_begin(r, 0, &e) == FR_OK);
    double rate[2] = {0, 0};
    for (int pass = 0; pass < 2 && r; pass++) {
        char p[512];
        tmp_path(p, sizeof p, "bg.frc");
        fr_ckpt_writer *w = fr_ckpt_writer_new();
        long steps = 0;
        double busy = 0;
        for (int rep = 0; rep < 4; rep++) {
            if (pass) FR_CHECK(fr_ckpt_writer_submit(w, fr_ckpt_capture(g_r, &in), p) == FR_OK);
            double s0 = fr_now();
            while (pass ? fr_ckpt_writer_busy(w) : fr_now() - s0 < 0.15) { fr_recon_step(r); steps++; }
            busy += fr_now() - s0;
            fr_ckpt_writer_wait(w, &e);
        }
        rate[pass] = steps / busy;
        fr_ckpt_writer_free(w);
    }
    printf("# worker: %.0f it/s normally, %.0f it/s while a checkpoint is written (%.0f%%)\n", rate[0], rate[1],
           rate[0] > 0 ? 100 * rate[1] / rate[0] : 0);
    fr_recon_free(r);
}

static void gen_model(const char *path)
{
    fr_model m;
    make_model(&m, FR_ZOO_MLP, 5, 64, 200);
    snprintf(m.meta.name, sizeof m.meta.name, "ckpt-test-mlp");
    fr_err e;
    if (fr_frm_write(path, &m, 0, &e)) { fprintf(stderr, "%s\n", e.msg); exit(2); }
    fr_model_free(&m);
}

static void gen_resnet(const char *path)
{
    fr_model m;
    make_model(&m, FR_ZOO_RESNET, 5, 128, 64);
    snprintf(m.meta.name, sizeof m.meta.name, "dp-test-resnet");
    fr_err e;
    if (fr_frm_write(path, &m, 0, &e)) { fprintf(stderr, "%s\n", e.msg); exit(2); }
    fr_model_free(&m);
}

static void gen_unfinished(const char *dir)
{
    fr_model m;
    make_model(&m, FR_ZOO__COUNT, 21, 40, 96);
    snprintf(m.meta.name, sizeof m.meta.name, "ckpt-unfinished");
    char p[8192];
    fr_err e;
    snprintf(p, sizeof p, "%s/model.frm", dir);
    if (fr_frm_write(p, &m, 0, &e)) { fprintf(stderr, "%s\n", e.msg); exit(2); }
    size_t n;
    uint8_t *buf = unfinished_state(&m, &n);
    snprintf(p, sizeof p, "%s/unfinished.frc", dir);
    if (fr_atomic_write(p, buf, n, &e)) { fprintf(stderr, "%s\n", e.msg); exit(2); }
    free(buf);
    fr_model_free(&m);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--gen-model") == 0) { gen_model(argv[2]); return 0; }
    if (argc == 3 && strcmp(argv[1], "--gen-resnet") == 0) { gen_resnet(argv[2]); return 0; }
    if (argc == 3 && strcmp(argv[1], "--gen-unfinished") == 0) { gen_unfinished(argv[2]); return 0; }
    snprintf(tmpdir, sizeof tmpdir, "%s/test_ckpt.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    mkdir(tmpdir, 0700);
    int gen_bad = argc == 3 && strcmp(argv[1], "--gen-bad") == 0;
    int gen_seed = argc == 3 && strcmp(argv[1], "--gen-best-seed") == 0;
    setup_run(gen_bad || gen_seed);
    if (gen_seed) {
        size_t n;
        uint8_t *kb = keep_best_state(&n);
        fr_err e;
        int rc = fr_atomic_write(argv[2], kb, n, &e);
        free(kb);
        if (rc) { fprintf(stderr, "%s\n", e.msg); return 2; }
        return 0;
    }
    if (gen_bad) {
        badcase bc[64];
        int nb = make_bad(bc);
        fr_err e;
        for (int i = 0; i < nb; i++) {
            char p[8192];
            snprintf(p, sizeof p, "%s/%s", argv[2], bc[i].name);
            if (fr_atomic_write(p, bc[i].p, bc[i].n, &e)) { fprintf(stderr, "%s\n", e.msg); return 2; }
            free(bc[i].p);
        }
        /* The bundle these were made for (for the CLI test). */
        char p[8192];
        snprintf(p, sizeof p, "%s/model.frm", argv[2]);
        snprintf(g_m.meta.name, sizeof g_m.meta.name, "ckpt-bad-corpus");
        if (fr_frm_write(p, &g_m, 1, &e)) { fprintf(stderr, "%s\n", e.msg); return 2; }
        printf("%d files\n", nb);
        return 0;
    }
    fr_blas_set_threads(1);
    FR_RUN(test_resume_flexround_resnet);
    FR_RUN(test_resume_adaround_actq_mlp);
    FR_RUN(test_resume_layerwise_rtn_mix);
    FR_RUN(test_resume_act_token);
    FR_RUN(test_resume_groups);
    FR_RUN(test_keep_best);
    FR_RUN(test_roundtrip_file_and_writer);
    FR_RUN(test_bad_checkpoints);
    FR_RUN(test_bad_hist_reasons);
    FR_RUN(test_mismatch_messages);
    FR_RUN(test_replay_snapshot);
    FR_RUN(test_replay_interrupted);
    FR_RUN(test_export_frm);
    FR_RUN(test_export_safetensors);
    FR_RUN(test_export_unfinished);
    FR_RUN(test_export_all_or_nothing);
    FR_RUN(test_export_png);
    FR_RUN(test_throughput);
    free(g_buf);
    fr_recon_free(g_r);
    fr_model_free(&g_m);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
    return FR_REPORT();
}
