/* test_timeline.c — issue 18 items 2, 3, 7: parameter history in checkpoints (recording,
 * decimation bound, round trip, old files, crafted frames), replay time travel through the
 * view keys (known answer: S2 == 1 at iteration 0), the APNG chunk structure, slides (size
 * and title), the loss CSV round trip and the overlay of runs with its value cursor.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fr_test.h"
#include "model_builder.h"
#include "frtui/blas.h"
#include "frtui/ckpt.h"
#include "frtui/frm.h"
#include "frtui/overlay.h"
#include "frtui/plot.h"
#include "frtui/png.h"
#include "frtui/raster.h"
#include "frtui/recon.h"
#include "frtui/recon_ckpt.h"
#include "frtui/teachpng.h"
#include "frtui/timeline.h"
#include "frtui/colour.h"
#include "frtui/view.h"

static char tmpdir[256];
static fr_model g_m;
static fr_run_config g_cfg;
static uint8_t *g_buf;   /* checkpoint of the finished run */
static size_t g_n;

#define ITERS 100

static void make_mlp(fr_model *m)
{
    fr_rng wr;
    fr_rng_seed(&wr, 5);
    fr_tb_begin(m, "tiny-mlp", "input", 1, 28, 28);
    int x = fr_tb_node(m, "flatten", FR_OP_FLATTEN, 0, -1);
    x = fr_tb_linear(m, &wr, "fc1.weight", "fc1.bias", "fc1", x, 784, 8, 0.08f, 1);
    x = fr_tb_node(m, "fc1.relu", FR_OP_RELU, x, -1);
    fr_tb_linear(m, &wr, "fc2.weight", "fc2.bias", "fc2", x, 8, 10, 0.08f, 1);
    snprintf(m->meta.layout, sizeof m->meta.layout, "NCHW");
    m->meta.mean[0] = 0.3f;
    m->meta.std[0] = 0.35f;
    m->meta.n_classes = 10;
    fr_rng g;
    fr_rng_seed(&g, 77);
    fr_dataset *D = &m->calib;
    D->n = 32; D->c = 1; D->h = 28; D->w = 28; D->dtype = 0; D->scale = 1.0f / 255;
    D->u8 = fr_xmalloc((size_t)D->n * 784);
    for (size_t p = 0; p < (size_t)D->n * 784; p++) D->u8[p] = (uint8_t)fr_rng_below(&g, 256);
    fr_err e;
    FR_ASSERT(fr_graph_validate(&m->g, &m->meta, "test", &e) == FR_OK);
}

static int run_to(fr_recon *r, int unit, int iters)   /* units before `unit` finished, then `iters` steps */
{
    fr_err e;
    for (int k = 0; k <= unit; k++) {
        if (fr_recon_begin(r, k, &e)) return -1;
        int stop = k == unit ? iters : ITERS;
        while (fr_recon_iter(r) < stop && fr_recon_iter(r) < fr_recon_iters(r))
            if (fr_recon_step(r) != FR_OK) return -1;
        if (k < unit || stop >= ITERS) { if (fr_recon_end(r, &e)) return -1; }
    }
    return 0;
}

static uint8_t *encode(fr_recon *r, size_t *n)
{
    fr_ckpt_info in = {"test.frm", fr_frm_fingerprint(&g_m), fr_ckpt_calib_fingerprint(&g_m, g_cfg.n_calib), -1, -1, 0, 0};
    fr_ckpt_blob *b = fr_ckpt_capture(r, &in);
    uint8_t *buf;
    fr_err e;
    FR_ASSERT(fr_ckpt_encode(b, 1, &buf, n, &e) == FR_OK);
    fr_ckpt_blob_free(b);
    return buf;
}

static void setup(void)
{
    fr_err e;
    fr_model_init(&g_m);
    make_mlp(&g_m);
    FR_ASSERT(fr_run_config_preset(&g_cfg, "teaching", &e) == FR_OK);
    g_cfg.method = FR_METHOD_FLEXROUND;
    g_cfg.iters = ITERS;
    g_cfg.batch = 8;
    g_cfg.bits = 3;
    g_cfg.seed = 99;
    g_cfg.init_minmax = 1;
    g_cfg.layerwise = 1;
    fr_recon *r = fr_recon_new(&g_m, &g_cfg, &e);
    FR_ASSERT(r);
    const fr_partition *p = fr_recon_partition(r);
    FR_ASSERT(run_to(r, p->n - 1, ITERS) == 0);
    g_buf = encode(r, &g_n);
    fr_recon_free(r);
}

/* Recording and decimation, known answer: with 16 slots and doubling, 100 iterations leave
 * iterations 0, 8, ..., 96 (the interval doubles at 16, 32 and 64). */
static void test_history_bound_and_roundtrip(void)
{
    fr_ckpt c;
    fr_err e;
    FR_CHECKF(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &c, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(c.minor == FR_CKPT_MINOR && c.minor >= 4);   /* HIST frames since 1.4 */
    for (int k = 0; k < c.n_units; k++) {
        const fr_ckpt_hist *h = &c.units[k].hist;
        FR_CHECK(h->n == 13 && h->every == 8 && h->n <= FR_CKPT_HIST_MAX);
        for (int j = 0; j < h->n; j++) FR_CHECK(h->iter[j] == 8 * j);
        size_t want = 0;
        for (int l = 0; l < c.units[k].n_layers; l++)
            for (int p = 0; p < c.units[k].layers[l].n_params; p++) want += c.units[k].layers[l].params[p].n;
        FR_CHECK(h->stride == want && want > 0);
    }
    /* The moment at iteration 40 is the parameters an engine has after 40 steps. */
    fr_recon *r = fr_recon_new(&g_m, &g_cfg, &e);
    FR_CHECK(run_to(r, 0, 40) == 0);
    size_t n;
    uint8_t *b = encode(r, &n);
    fr_ckpt mid;
    FR_CHECK(fr_ckpt_load_mem(b, n, "mid.frc", &mid, &e) == FR_OK);
    const fr_ckpt_unit *U = &mid.units[0];
    size_t off = 0;
    int same = 1;
    for (int l = 0; l < U->n_layers; l++)
        for (int p = 0; p < U->layers[l].n_params; p++) {
            same &= memcmp(c.units[0].hist.data + 5 * c.units[0].hist.stride + off, U->layers[l].params[p].data,
                           U->layers[l].params[p].n * 4) == 0;
            off += U->layers[l].params[p].n;
        }
    FR_CHECK(same);
    FR_CHECK(U->hist.n == 11 && U->hist.every == 4 && U->hist.iter[10] == 40);   /* doubled at 16 and 32 */
    /* re-encode of the decoded file: same bytes */
    fr_ckpt again;
    FR_CHECK(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &again, &e) == FR_OK);
    fr_ckpt_blob *bl = fr_ckpt_blob_wrap(&again);
    uint8_t *b2;
    size_t n2;
    FR_CHECK(fr_ckpt_encode(bl, 1, &b2, &n2, &e) == FR_OK);
    FR_CHECK(n2 == g_n && memcmp(b2, g_buf, g_n) == 0);
    free(b2);
    fr_ckpt_blob_free(bl);
    free(b);
    fr_ckpt_free(&mid);
    fr_recon_free(r);
    fr_ckpt_free(&c);
}

static void test_old_checkpoint_loads(void)
{
    fr_ckpt c;
    fr_err e;
    int rc = fr_ckpt_load("tests/compat/ckpt-1.0.frc", &c, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc) return;
    FR_CHECK(c.minor == 0);
    for (int k = 0; k < c.n_units; k++) FR_CHECK(c.units[k].hist.n == 0 && c.units[k].hist.data == NULL);
    fr_ckpt_free(&c);
}

typedef void (*mutator)(fr_ckpt_hist *h);
static void m_every(fr_ckpt_hist *h) { h->every = 3; }
static void m_order(fr_ckpt_hist *h) { h->iter[2] = h->iter[1]; }
static void m_multiple(fr_ckpt_hist *h) { h->iter[1] += 1; }
static void m_range(fr_ckpt_hist *h) { h->iter[h->n - 1] = 100000 * h->every; }
static void m_nan(fr_ckpt_hist *h) { h->data[7] = NAN; }
static void m_stride(fr_ckpt_hist *h) { h->stride -= 1; }

static void test_crafted_history_rejected(void)
{
    static const mutator muts[] = {m_every, m_order, m_multiple, m_range, m_nan, m_stride};
    static const char *const want[] = {"power of two", "out of order", "out of order", "out of order", "not finite", "moment size"};
    for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
        fr_ckpt c;
        fr_err e;
        FR_ASSERT(fr_ckpt_load_mem(g_buf, g_n, "run.frc", &c, &e) == FR_OK);
        muts[i](&c.units[0].hist);
        fr_ckpt_blob *b = fr_ckpt_blob_wrap(&c);
        uint8_t *buf;
        size_t n;
        FR_CHECK(fr_ckpt_encode(b, 1, &buf, &n, &e) == FR_OK);
        fr_ckpt_blob_free(b);
        fr_ckpt d;
        int rc = fr_ckpt_load_mem(buf, n, "bad.frc", &d, &e);
        FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "HIST") && strstr(e.msg, want[i]), "case %zu: %s", i, rc ? e.msg : "loaded");
        if (!rc) fr_ckpt_free(&d);
        free(buf);
    }
}

static fr_snapshot *replay(fr_ckpt *c)
{
    fr_err e;
    FR_ASSERT(fr_ckpt_load_mem(g_buf, g_n, "run.frc", c, &e) == FR_OK);
    fr_snapshot *s = fr_ckpt_snapshot(c, &g_m, &e);
    FR_ASSERT(s);
    return s;
}

/* Known answer: FlexRound starts at S2 = exp(0) = 1 for every weight. */
static void test_scrub_heatmap(void)
{
    fr_ckpt c;
    fr_snapshot *s = replay(&c);
    FR_CHECK(s->hist && fr_timeline_count(s, 0) == 13);
    fr_ui ui;
    fr_ui_init(&ui, 1, 1);
    fr_view_out out;
    fr_canvas cv;
    fr_canvas_init(&cv, 120, 36, 1);
    fr_view_render(&ui, s, &cv);
    fr_plot_model m;
    fr_err e;
    FR_CHECK(fr_view_panel_model(&ui, fr_ui_snapshot(&ui, s), "heatmap", &m, &e) == FR_OK);
    int ones = 1;
    for (int i = 0; i < m.rows * m.cols; i++) ones &= m.heat[i] == 1.0f;
    FR_CHECK(!ones);   /* the saved state has learned something */
    fr_plot_model_free(&m);
    fr_view_key(&ui, s, '<', &out);
    FR_CHECK(fr_ui_snapshot(&ui, s)->units[0]->iter == 96 && strstr(ui.msg, "it 96 of 100"));
    for (int i = 0; i < 20; i++) fr_view_key(&ui, s, '<', &out);
    const fr_snapshot *t = fr_ui_snapshot(&ui, s);
    FR_CHECK(t != s && t->units[0]->iter == 0 && t->units[0]->n_loss == 0);
    fr_view_render(&ui, s, &cv);
    FR_CHECK(fr_view_panel_model(&ui, t, "heatmap", &m, &e) == FR_OK);
    ones = m.rows * m.cols > 0;
    for (int i = 0; i < m.rows * m.cols; i++) ones &= m.heat[i] == 1.0f;
    FR_CHECK(ones && strstr(m.title, "it 0"));
    fr_plot_model_free(&m);
    /* moment 5 is iteration 40, its S2 = exp(D2) of the stored moment */
    for (int i = 0; i < 5; i++) fr_view_key(&ui, s, '>', &out);
    t = fr_ui_snapshot(&ui, s);
    FR_CHECK(t->units[0]->iter == 40 && t->units[0]->n_loss == 40);
    /* to the end: the saved state again, shot dropped */
    for (int i = 0; i < 20; i++) fr_view_key(&ui, s, '>', &out);
    FR_CHECK(fr_ui_snapshot(&ui, s) == s && ui.t_shot == NULL);
    /* another unit drops the shot */
    fr_view_key(&ui, s, '<', &out);
    FR_CHECK(ui.t_shot != NULL);
    fr_view_key(&ui, s, 'n', &out);
    FR_CHECK(fr_ui_snapshot(&ui, s) == s);
    fr_canvas_free(&cv);
    fr_ui_free(&ui);
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
/* fcTL: the whole canvas at (0, 0), 250/1000 s */
static int be16_ok(const uint8_t *d) { return be32(d + 12) == 0 && be32(d + 16) == 0 && d[20] == 0 && d[21] == 250 && be32(d + 20) == (250u << 16 | 1000u); }

static void test_apng(void)
{
    fr_ckpt c;
    fr_snapshot *s = replay(&c);
    char apng[400], prefix[400];
    snprintf(apng, sizeof apng, "%s/s.png", tmpdir);
    snprintf(prefix, sizeof prefix, "%s/seq", tmpdir);
    fr_err e;
    int nf = 0;
    FR_CHECKF(fr_export_timeline(s, 0, 0, "heatmap", NULL, apng, prefix, 250, &nf, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(nf == 14);   /* 13 moments + the saved state */
    size_t n;
    uint8_t *b = NULL;
    FR_CHECK(fr_read_file(apng, 1 << 28, &b, &n, &e) == FR_OK);
    FR_CHECK(b && n > 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0);
    uint32_t seq = 0, frames_actl = 0, fctl = 0, fdat = 0, idat = 0;
    int order_ok = 1, crc_ok = 1, seen_iend = 0, actl_before_idat = 0;
    for (size_t off = 8; b && off + 12 <= n;) {
        uint32_t len = be32(b + off);
        const uint8_t *type = b + off + 4, *d = b + off + 8;
        if (off + 12 + len > n) { order_ok = 0; break; }
        crc_ok &= (uint32_t)crc32(crc32(0L, type, 4), d, len) == be32(d + len);
        if (!memcmp(type, "acTL", 4)) { frames_actl = be32(d); actl_before_idat = idat == 0; }
        if (!memcmp(type, "fcTL", 4)) { order_ok &= be32(d) == seq++; fctl++; order_ok &= be16_ok(d); }
        if (!memcmp(type, "fdAT", 4)) { order_ok &= be32(d) == seq++; fdat++; }
        if (!memcmp(type, "IDAT", 4)) idat++;
        if (!memcmp(type, "IEND", 4)) seen_iend = 1;
        off += 12 + len;
    }
    FR_CHECK(crc_ok && order_ok && seen_iend && actl_before_idat);
    FR_CHECK(frames_actl == 14 && fctl == 14 && fdat == 13 && idat == 1 && seq == 27);
    free(b);
    /* an APNG is a PNG: ordinary readers see the first frame */
    uint8_t *rgb;
    int w, h;
    FR_CHECK(fr_png_read(apng, &rgb, &w, &h, &e) == FR_OK && w > 100 && h > 100);
    fr_afree(rgb);
    /* the sequence is named by iteration */
    char p[500];
    snprintf(p, sizeof p, "%s-it000000.png", prefix);
    FR_CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof p, "%s-it000096.png", prefix);
    FR_CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof p, "%s-it000100.png", prefix);
    FR_CHECK(access(p, F_OK) == 0);
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
}

static void test_slides(void)
{
    fr_ckpt c;
    fr_snapshot *s = replay(&c);
    char dir[400], p[500];
    snprintf(dir, sizeof dir, "%s/slides", tmpdir);
    fr_err e;
    int n = 0;
    FR_CHECKF(fr_export_slides(s, 0, 0, NULL, dir, 0, 0, &n, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(n == 7);   /* loss, heatmap, scatter, hist, reciprocal, overlay, equation; compare not computed */
    snprintf(p, sizeof p, "%s/06-overlay.png", dir);
    FR_CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof p, "%s/07-equation.png", dir);
    FR_CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof p, "%s/02-heatmap.png", dir);
    uint8_t *rgb;
    int w, h;
    FR_CHECK(fr_png_read(p, &rgb, &w, &h, &e) == FR_OK);
    FR_CHECK(w == 1920 && h == 1080);
    /* The title bar carries model / unit (layer) / method / bits / iteration: draw the expected
     * title the same way and compare the pixels. */
    char title[512];
    const fr_unit_view *u = s->units[0];
    snprintf(title, sizeof title, "%s / %s (%s) / flexround / W%d / it %d", s->info.model, u->name, u->layers[0].name,
             u->layers[0].bits, u->iter);
    fr_raster ref;
    FR_CHECK(fr_raster_init(&ref, 1920, 46, FR_RGB(32, 40, 56), &e) == FR_OK);
    fr_raster_text(&ref, 20, 8, title, 3, FR_RGB(255, 255, 255));
    int same = 1;
    for (int y = 0; y < 46 && same; y++) same = memcmp(rgb + (size_t)y * 1920 * 3, ref.px + (size_t)y * 1920 * 3, 1920 * 3) == 0;
    FR_CHECKF(same, "title bar differs from '%s'", title);
    fr_raster_free(&ref);
    fr_afree(rgb);
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
}

static void test_csv_roundtrip(void)
{
    fr_ckpt c;
    fr_snapshot *s = replay(&c);
    char p[400];
    snprintf(p, sizeof p, "%s/loss.csv", tmpdir);
    fr_err e;
    FR_CHECK(fr_export_loss_csv(s, 0, 0.9, 0, p, &e) == FR_OK);
    FILE *f = fopen(p, "r");
    FR_CHECK(f != NULL);
    char line[512];
    int rows = 0, ok = 1;
    const fr_unit_view *u = s->units[0];
    float *ema = fr_xmalloc((size_t)u->n_loss * sizeof(float));
    fr_plot_ema(u->loss, u->n_loss, 0.9, ema);
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == 'i') continue;
        int it;
        float raw, rec, sm;
        char *q = strchr(line, ',');
        if (sscanf(line, "%d", &it) != 1 || !q || sscanf(strchr(q + 1, ',') + 1, "%g,%g,%g", &raw, &rec, &sm) != 3) { ok = 0; break; }
        ok &= it == rows + 1 && raw == u->loss[rows] && rec == u->loss_rec[rows] && sm == ema[rows];
        rows++;
    }
    if (f) fclose(f);
    FR_CHECK(ok && rows == u->n_loss && rows == ITERS);
    free(ema);
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
}

/* Three methods on one chart: hand-made views with known losses. */
static void test_overlay(void)
{
    fr_unit_view *run = fr_unit_view_new(0, 64), *ada = fr_unit_view_new(0, 64), *rtn = fr_unit_view_new(0, 0);
    run->method = FR_METHOD_FLEXROUND;
    ada->method = FR_METHOD_ADAROUND;
    rtn->method = FR_METHOD_RTN;
    float *a = fr_unit_view_alloc_floats(run, 10), *b = fr_unit_view_alloc_floats(ada, 10), *t = fr_unit_view_alloc_floats(run, 10);
    for (int i = 0; i < 10; i++) { a[i] = 1.0f / (float)(i + 1); b[i] = 2.0f - 0.1f * (float)i; t[i] = 0.5f * (float)(i + 1); }
    run->loss = a; run->n_loss = 10; run->loss_t = t; run->loss_rtn = 3;
    ada->loss = b; ada->n_loss = 10;
    rtn->loss_after = 3.0;
    run->alt[FR_METHOD_ADAROUND] = ada;
    run->alt[FR_METHOD_RTN] = rtn;
    fr_overlay o;
    FR_CHECK(fr_overlay_build(run, 1, 1, 0.0, &o) == 3);
    FR_CHECK(!o.x_time);   /* AdaRound has no clock: iterations */
    int it;
    double raw, sm;
    FR_CHECK(fr_overlay_at(&o, 0, 4, &it, &raw, &sm) && it == 0 && raw == 3.0);   /* RTN: flat */
    FR_CHECK(fr_overlay_at(&o, 1, 4, &it, &raw, &sm) && it == 4 && raw == (double)b[3] && sm == (double)b[3]);
    FR_CHECK(fr_overlay_at(&o, 2, 7.5, &it, &raw, &sm) && it == 7 && raw == (double)a[6]);
    FR_CHECK(o.ylo == (double)a[9] && o.yhi == 3.0 && o.xmax == 10);
    fr_canvas cv;
    fr_canvas_init(&cv, 80, 12, 0);
    fr_overlay_render(&cv, (fr_rect){0, 0, 80, 12}, &o, -1);
    char row[81];
    for (int x = 0; x < 80; x++) row[x] = (char)cv.cells[x].cp;
    row[80] = 0;
    FR_CHECK(strstr(row, "-- RTN") && strstr(row, "* AdaRound") && strstr(row, "* FlexRound"));
    /* RTN at the top of the range: a full row of '-' on the first plot row */
    int dashes = 0;
    for (int x = 8; x < 80; x++) dashes += cv.cells[80 + x].cp == '-';
    FR_CHECK(dashes >= 70);
    for (int x = 0; x < 80; x++) row[x] = (char)cv.cells[11 * 80 + x].cp;
    FR_CHECKF(strstr(row, "it 10") && strstr(row, "FlexRound 0.1") && strstr(row, "AdaRound 1.1"), "%s", row);
    fr_overlay_free(&o);
    /* FlexRound alone has a clock: the seconds axis */
    FR_CHECK(fr_overlay_build(run, 0, 1, 0.0, &o) == 1 && o.x_time && o.xmax == 5.0);
    FR_CHECK(fr_overlay_at(&o, 0, 1.2, &it, &raw, &sm) && it == 2);
    fr_overlay_free(&o);
    fr_canvas_free(&cv);
    fr_unit_view_release(run);
}

/* The title row drawn by teachpng: the expected text drawn the same way, compared pixel for pixel. */
static int title_matches(const fr_raster *img, const char *title)
{
    fr_raster ref;
    fr_err e;
    FR_ASSERT(fr_raster_init(&ref, img->w, FR_FONT_H * FR_TEACHPNG_TITLE_SCALE, FR_RGB(255, 255, 255), &e) == FR_OK);
    fr_raster_text(&ref, FR_TEACHPNG_PAD, 0, title, FR_TEACHPNG_TITLE_SCALE, FR_RGB(33, 33, 33));
    int same = 1;
    for (int y = 0; y < ref.h && same; y++)
        same = memcmp(img->px + (size_t)(y + FR_TEACHPNG_PAD) * img->w * 3, ref.px + (size_t)y * ref.w * 3, (size_t)ref.w * 3) == 0;
    fr_raster_free(&ref);
    return same;
}

static long count_rgb(const fr_raster *r, int y0, fr_rgb c)
{
    long n = 0;
    for (int y = y0; y < r->h; y++)
        for (int x = 0; x < r->w; x++) {
            fr_rgb p = fr_raster_get(r, x, y);
            n += p.r == c.r && p.g == c.g && p.b == c.b;
        }
    return n;
}

/* The overlay PNG: size, title, and the three methods' colours in the plot (RTN's dashed
 * line, AdaRound's and FlexRound's curves); without the compare views AdaRound is absent. */
static void test_overlay_png(void)
{
    fr_unit_view *run = fr_unit_view_new(0, 64), *ada = fr_unit_view_new(0, 64);
    run->method = FR_METHOD_FLEXROUND;
    ada->method = FR_METHOD_ADAROUND;
    snprintf(run->name, sizeof run->name, "blk1");
    run->iter = 40;
    float *a = fr_unit_view_alloc_floats(run, 40), *b = fr_unit_view_alloc_floats(ada, 40);
    for (int i = 0; i < 40; i++) { a[i] = 2.0f / (float)(i + 1); b[i] = 2.5f - 0.04f * (float)i; }
    run->loss = a; run->n_loss = 40; run->loss_rtn = 2.8;
    ada->loss = b; ada->n_loss = 40;
    fr_snapshot *s = fr_snapshot_new(1);
    snprintf(s->info.model, sizeof s->info.model, "toy");
    s->units[0] = run;
    fr_raster r;
    fr_err e;
    char title[512];
    const fr_palette *lp = fr_colour_palette("light");
    /* without compare views: RTN and FlexRound only */
    FR_CHECKF(fr_teachpng_overlay(&r, s, 0, NULL, title, sizeof title, &e) == FR_OK, "%s", e.msg);
    int y0 = FR_TEACHPNG_PAD + FR_FONT_H * FR_TEACHPNG_TITLE_SCALE + 2 * FR_FONT_H + 30;   /* below the legend */
    FR_CHECK(count_rgb(&r, y0, lp->role[FR_R_ADAROUND]) == 0 && count_rgb(&r, y0, lp->role[FR_R_FLEXROUND]) > 500);
    fr_raster_free(&r);
    run->alt[FR_METHOD_ADAROUND] = ada;   /* the compare view computed AdaRound (owned by run now) */
    FR_CHECKF(fr_teachpng_overlay(&r, s, 0, NULL, title, sizeof title, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(r.w == FR_TEACHPNG_W && r.h == FR_TEACHPNG_H);
    char want[512];
    char bt[32];
    fr_unit_view_bits_text(run, bt, sizeof bt);
    snprintf(want, sizeof want, "toy / blk1 / flexround / %s / it 40 / loss of each method", bt);
    FR_CHECKF(!strcmp(title, want) && title_matches(&r, want), "%s", title);
    long cr = count_rgb(&r, y0, lp->role[FR_R_RTN]), ca = count_rgb(&r, y0, lp->role[FR_R_ADAROUND]),
         cf = count_rgb(&r, y0, lp->role[FR_R_FLEXROUND]);
    FR_CHECKF(cr > 500 && ca > 500 && cf > 500, "RTN %ld AdaRound %ld FlexRound %ld pixels", cr, ca, cf);
    FR_CHECK(memcmp(&lp->role[FR_R_RTN], &lp->role[FR_R_ADAROUND], 3) && memcmp(&lp->role[FR_R_ADAROUND], &lp->role[FR_R_FLEXROUND], 3) &&
             memcmp(&lp->role[FR_R_RTN], &lp->role[FR_R_FLEXROUND], 3));
    fr_raster_free(&r);
    /* a unit with no loss yet has nothing to overlay */
    run->n_loss = 0;
    ada->n_loss = 0;
    FR_CHECK(fr_teachpng_overlay(&r, s, 0, NULL, NULL, 0, &e) == FR_EINPUT && strstr(e.msg, "no loss curves"));
    fr_snapshot_release(s);
}

/* The equation PNG: the default weight is the largest aggressive |W| (checked by a search of
 * its own), the title names it, the strip's numbers are printed, and a weight outside the
 * layer is refused.  The `e` key asks for it with the strip shown, and for the overlay from
 * the compare view's loss panel. */
static void test_equation_png(void)
{
    fr_ckpt c;
    fr_snapshot *s = replay(&c);
    const fr_unit_view *u = s->units[0];
    const fr_layer_view *L = &u->layers[0];
    int row = -1, col = -1;
    FR_CHECK(fr_teachpng_pick_weight(s, 0, 0, &row, &col) == 0);
    int64_t cols = L->n / L->o, k = (int64_t)row * cols + col;
    int any_aggr = 0, larger = 0;
    for (int64_t i = 0; i < L->n; i++) {
        if (L->cls[i] != FR_WC_AGGRESSIVE) continue;
        any_aggr = 1;
        larger |= fabsf(L->w[i]) > fabsf(L->w[k]);
    }
    FR_CHECK(any_aggr && L->cls[k] == FR_WC_AGGRESSIVE && !larger);
    fr_raster r;
    fr_err e;
    char title[512], want[512];
    FR_CHECKF(fr_teachpng_eqn(&r, s, 0, 0, -1, -1, title, sizeof title, &e) == FR_OK, "%s", e.msg);
    snprintf(want, sizeof want, "%s / %s (%s) / flexround / W%d / it %d / weight [%d,%d]", s->info.model, u->name, L->name,
             L->bits, u->iter, row, col);
    FR_CHECKF(!strcmp(title, want) && title_matches(&r, want), "%s", title);
    FR_CHECK(r.w == FR_TEACHPNG_W && r.h >= 240 && r.h <= 720);
    const fr_palette *lp = fr_colour_palette("light");
    FR_CHECK(count_rgb(&r, 60, lp->role[FR_R_FLEXROUND]) > 300 && count_rgb(&r, 60, lp->role[FR_R_WARN]) > 100);
    fr_raster_free(&r);
    /* a given weight: the first factor line is drawn from that weight's numbers */
    FR_CHECK(fr_teachpng_eqn(&r, s, 0, 0, 1, 2, title, sizeof title, &e) == FR_OK && strstr(title, "weight [1,2]"));
    fr_raster_free(&r);
    FR_CHECK(fr_teachpng_eqn(&r, s, 0, 0, L->o, 0, NULL, 0, &e) == FR_EINPUT && strstr(e.msg, "outside layer"));
    char path[400];
    fr_plot_state st;
    fr_plot_state_default(&st);
    snprintf(path, sizeof path, "%s/eq.png", tmpdir);
    FR_CHECK(fr_teachpng_export(s, 0, 0, "equation", &st, path, &e) == FR_OK && access(path, F_OK) == 0);
    /* the keys: e with the strip open exports it too; from compare's loss panel, the overlay */
    fr_ui ui;
    fr_ui_init(&ui, 1, 1);
    fr_view_out out;
    fr_canvas cv;
    fr_canvas_init(&cv, 120, 36, 1);
    fr_view_render(&ui, s, &cv);
    ui.focus = FR_L_LOSS;
    fr_view_key(&ui, s, 'e', &out);
    FR_CHECK(out.export_view && !strcmp(out.export_view, "loss") && !out.export_eqn);
    fr_view_key(&ui, s, 'E', &out);
    ui.cur_r = 3, ui.cur_c = 4;
    fr_view_key(&ui, s, 'e', &out);
    FR_CHECK(out.export_eqn && out.export_state.eqn_row == 3 && out.export_state.eqn_col == 4);
    ui.mode = FR_MODE_COMPARE;
    fr_view_key(&ui, s, 'e', &out);
    FR_CHECK(out.export_view && !strcmp(out.export_view, "overlay"));
    fr_canvas_free(&cv);
    fr_ui_free(&ui);
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
}

static int screen_has(const fr_canvas *cv, const char *needle)
{
    char line[512];
    for (int y = 0; y < cv->rows; y++) {
        int n = 0;
        for (int x = 0; x < cv->cols && n < 511; x++) line[n++] = cv->cells[(size_t)y * cv->cols + x].cp < 128 ? (char)cv->cells[(size_t)y * cv->cols + x].cp : '?';
        line[n] = 0;
        if (strstr(line, needle)) return 1;
    }
    return 0;
}

/* h / l move the loss panel's value cursor: from the newest point to the first iteration and
 * back; past the right edge it follows the newest again.  Zoomed, the window pans at the edge. */
static void test_loss_cursor_keys(void)
{
    fr_ckpt c;
    fr_snapshot *s = replay(&c);
    fr_ui ui;
    fr_ui_init(&ui, 0, 1);
    fr_view_out out;
    fr_canvas cv;
    fr_canvas_init(&cv, 120, 36, 0);
    ui.focus = FR_L_LOSS;
    fr_view_render(&ui, s, &cv);
    FR_CHECK(ui.loss_cursor == -1 && ui.loss_chart_w > 40 && screen_has(&cv, " it 100: "));
    fr_view_key(&ui, s, 'h', &out);
    FR_CHECK(ui.loss_cursor == ui.loss_chart_w - 2);
    for (int i = 0; i < 300; i++) fr_view_key(&ui, s, 'h', &out);
    FR_CHECK(ui.loss_cursor == 0);
    fr_view_render(&ui, s, &cv);
    FR_CHECK(screen_has(&cv, " it 1: ") && !screen_has(&cv, " it 100: "));
    fr_view_key(&ui, s, 'l', &out);
    FR_CHECK(ui.loss_cursor == 1);
    for (int i = 0; i < 300; i++) fr_view_key(&ui, s, 'l', &out);
    FR_CHECK(ui.loss_cursor == -1);
    fr_view_render(&ui, s, &cv);
    FR_CHECK(screen_has(&cv, " it 100: "));
    /* zoomed (a window of the newest iterations, not following): h at the left edge pans back */
    fr_view_key(&ui, s, '+', &out);
    fr_view_key(&ui, s, '+', &out);
    fr_view_render(&ui, s, &cv);
    FR_CHECK(ui.loss_follow && ui.loss_zoom == 2);
    for (int i = 0; i < 300; i++) fr_view_key(&ui, s, 'h', &out);
    FR_CHECK(ui.loss_cursor == 0 && !ui.loss_follow && ui.loss_start == 0);
    /* the compare view's overlay keeps the cursor right of its y labels */
    ui.mode = FR_MODE_COMPARE;
    fr_view_render(&ui, s, &cv);
    for (int i = 0; i < 300; i++) fr_view_key(&ui, s, 'h', &out);
    FR_CHECK(ui.loss_cursor == 8);
    fr_canvas_free(&cv);
    fr_ui_free(&ui);
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/frtui-timeline-XXXXXX");
    FR_ASSERT(mkdtemp(tmpdir));
    fr_blas_set_threads(1);
    setup();
    FR_RUN(test_history_bound_and_roundtrip);
    FR_RUN(test_old_checkpoint_loads);
    FR_RUN(test_crafted_history_rejected);
    FR_RUN(test_scrub_heatmap);
    FR_RUN(test_apng);
    FR_RUN(test_slides);
    FR_RUN(test_csv_roundtrip);
    FR_RUN(test_overlay);
    FR_RUN(test_overlay_png);
    FR_RUN(test_equation_png);
    FR_RUN(test_loss_cursor_keys);
    free(g_buf);
    fr_model_free(&g_m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
    return FR_REPORT();
}
