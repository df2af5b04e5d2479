/* test_spill.c — issue 19: calibration caches that spill to disk and stay bit-identical.
 *
 *   spill_roundtrip       fr_spill: put/get/gather give back exactly the floats put, across
 *                         chunk sizes, a partial tail chunk, partial-range reads, rewrites and an
 *                         LRU of one slot (every draw evicts)
 *   spill_bit_identical   the samples (resnet-fmnist in blocks, 96 calibration samples, so the last
 *                         pass batch and chunk are partial; mobilenetv2-fmnist layer-wise up to
 *                         ir3.expand, whose skip connections are stores read units later),
 *                         FlexRound and AdaRound:
 *                         a run with every store on disk and each unit's hot set in memory
 *                         (FRTUI_SPILL=hot), and one gathering every mini-batch from disk through
 *                         a 3-chunk LRU (FRTUI_SPILL=disk), end in the same encoded engine state
 *                         (codes, scales, loss histories, RNG streams), byte for byte, as the
 *                         all-in-memory run; also QDrop with activation quantization from disk
 *   spill_slices          passes in halves or quarters of their batches (FRTUI_PASS_SLICES=2|4,
 *                         what a tight plan picks to shrink the executors; the slices keep the
 *                         batch's GEMM chunks), in memory and gathering from disk, with partial
 *                         last batches whose quarters are uneven (spill chunks of one sample) and
 *                         with activation quantizers (their init pass is sliced too), end in the
 *                         state of the unsliced in-memory run, byte for byte
 *   spill_resume          a spilled run interrupted mid-unit and between units and resumed from
 *                         its checkpoint state equals the uninterrupted in-memory run
 *   spill_budget          a --max-mem budget too small even for spilling is refused with one
 *                         clear message before the caches are allocated; a budget between the
 *                         spilled minimum and the in-memory total gives a spill plan whose every
 *                         unit fits it
 */
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/ckpt.h"
#include "frtui/common.h"
#include "frtui/frm.h"
#include "frtui/recon.h"
#include "frtui/recon_ckpt.h"
#include "frtui/spill.h"

static void test_spill_roundtrip(void)
{
    fr_rng g;
    fr_rng_seed(&g, 19);
    const int n = 37;
    const size_t per = 300;
    float *src = fr_xmalloc((size_t)n * per * sizeof(float)), *dst = fr_xmalloc((size_t)n * per * sizeof(float));
    for (size_t i = 0; i < (size_t)n * per; i++)   /* ReLU-like: a third zeros, like activations */
        src[i] = fr_rng_below(&g, 3) ? fr_rng_normal(&g) : 0.0f;
    int chunks[] = {1, 4, 8, 64};
    for (int ci = 0; ci < 4; ci++) {
        fr_err e;
        fr_err_clear(&e);
        int ch = chunks[ci];
        fr_spill *s = fr_spill_new(NULL, per, n, ch, 1, &e);   /* LRU of one slot */
        FR_CHECKF(s != NULL, "%s", e.msg);
        if (!s) continue;
        /* Put in pass-sized batches aligned to the chunk (the last one partial). */
        int step = ch * 2;
        for (int s0 = 0; s0 < n; s0 += step) FR_CHECK(fr_spill_put(s, s0, FR_MIN(step, n - s0), src + (size_t)s0 * per, &e) == FR_OK);
        memset(dst, 0, (size_t)n * per * sizeof(float));
        FR_CHECK(fr_spill_get(s, 0, n, dst, &e) == FR_OK);
        FR_CHECKF(memcmp(dst, src, (size_t)n * per * sizeof(float)) == 0, "chunk %d: get differs", ch);
        /* A range starting and ending mid-chunk. */
        FR_CHECK(fr_spill_get(s, 3, 17, dst, &e) == FR_OK);
        FR_CHECK(memcmp(dst, src + 3 * per, 17 * per * sizeof(float)) == 0);
        int32_t idx[200];
        for (int j = 0; j < 200; j++) idx[j] = (int32_t)fr_rng_below(&g, (uint32_t)n);
        float *gd = fr_xmalloc(200 * per * sizeof(float));
        for (int lru = 0; lru < 3; lru++) {
            fr_spill_set_lru(s, lru == 0 ? 1 : lru == 1 ? 3 * (size_t)ch * per * 4 : (size_t)1 << 30);
            FR_CHECK(fr_spill_gather(s, idx, 200, gd, &e) == FR_OK);
            int bad = 0;
            for (int j = 0; j < 200; j++) bad += memcmp(gd + (size_t)j * per, src + (size_t)idx[j] * per, per * sizeof(float)) != 0;
            FR_CHECKF(bad == 0, "chunk %d lru %d: %d gathered samples differ", ch, lru, bad);
        }
        /* Rewriting a chunk replaces it (and a cached copy is not served stale). */
        for (size_t i = 0; i < (size_t)FR_MIN(ch, n) * per; i++) src[i] += 1.0f;
        FR_CHECK(fr_spill_put(s, 0, FR_MIN(ch, n), src, &e) == FR_OK);
        FR_CHECK(fr_spill_gather(s, idx, 1, gd, &e) == FR_OK);
        int32_t z = 0;
        FR_CHECK(fr_spill_gather(s, &z, 1, gd, &e) == FR_OK && memcmp(gd, src, per * sizeof(float)) == 0);
        fr_spill_free(s);
        free(gd);
    }
    fr_spill_stats st;
    fr_spill_stats_get(&st);
    FR_CHECK(st.raw_written > 0 && st.packed_written > 0 && st.packed_written < st.raw_written && st.disk_bytes == 0);
    free(src);
    free(dst);
}

/* ---- engine runs ------------------------------------------------------------------------------ */

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

static uint8_t *encode_state(fr_recon *r, const fr_model *m, const fr_run_config *c, size_t *n)
{
    fr_ckpt_info in = {"test.frm", fr_frm_fingerprint(m), fr_ckpt_calib_fingerprint(m, c->n_calib), -1, -1, 0, 0};
    fr_ckpt_blob *b = fr_ckpt_capture(r, &in);
    uint8_t *buf;
    fr_err e;
    FR_ASSERT(fr_ckpt_encode(b, 1, &buf, n, &e) == FR_OK);
    fr_ckpt_blob_free(b);
    return buf;
}

/* Runs cfg to the end with FRTUI_SPILL=mode (NULL: unset); returns the encoded final state. */
static uint8_t *run_state(const fr_model *m, const fr_run_config *c, const char *mode, size_t *n, int *spilled)
{
    if (mode) setenv("FRTUI_SPILL", mode, 1);
    else unsetenv("FRTUI_SPILL");
    fr_err e;
    fr_recon *r = fr_recon_new(m, c, &e);
    unsetenv("FRTUI_SPILL");
    FR_CHECKF(r != NULL, "%s", e.msg);
    if (!r) return NULL;
    fr_mem_summary s;
    const fr_mem_row *row = fr_recon_mem_plan(r, &s);
    *spilled = s.spill;
    if (mode && !strcmp(mode, "disk"))
        for (int k = 0; k < s.n; k++) FR_CHECK(row[k].mode == FR_MEM_DISK);
    FR_CHECK(drive(r, -1) == 0);
    uint8_t *b = encode_state(r, m, c, n);
    fr_recon_free(r);
    return b;
}

/* run_state with FRTUI_PASS_SLICES=slices; checks the plan's pass batch. */
static uint8_t *run_sliced(const fr_model *m, const fr_run_config *c, const char *mode, int slices, size_t *n)
{
    char v[16];
    snprintf(v, sizeof v, "%d", slices);
    setenv("FRTUI_PASS_SLICES", v, 1);
    if (mode) setenv("FRTUI_SPILL", mode, 1);
    fr_err e;
    fr_recon *r = fr_recon_new(m, c, &e);
    unsetenv("FRTUI_SPILL");
    unsetenv("FRTUI_PASS_SLICES");
    FR_CHECKF(r != NULL, "%s", e.msg);
    if (!r) return NULL;
    fr_mem_summary s;
    const fr_mem_row *row = fr_recon_mem_plan(r, &s);
    int pb = c->n_calib < 64 ? c->n_calib : 64;
    for (int k = 0; k < s.n; k++)
        FR_CHECKF(row[k].batch == (pb + slices - 1) / slices, "unit %d: pass batch %d with %d slices", k, row[k].batch, slices);
    FR_CHECK(drive(r, -1) == 0);
    uint8_t *b = encode_state(r, m, c, n);
    fr_recon_free(r);
    return b;
}

static fr_run_config cfg_for(fr_method method)
{
    fr_run_config c;
    fr_err e;
    FR_ASSERT(fr_run_config_preset(&c, "teaching", &e) == FR_OK);
    c.method = method;
    c.iters = 12;
    c.batch = 16;
    c.n_calib = 96;
    c.init_minmax = 1;
    return c;
}

static int load_sample(const char *name, fr_model *m)
{
    char path[256];
    snprintf(path, sizeof path, "samples/%s.frm", name);
    fr_err e;
    fr_model_init(m);
    if (fr_frm_read(path, m, &e) != FR_OK) { printf("# %s: %s (skipped)\n", path, e.msg); return 0; }
    return 1;
}

static void test_spill_bit_identical(void)
{
    const char *samples[] = {"resnet-fmnist", "mobilenetv2-fmnist"};
    for (int si = 0; si < 2; si++) {
        fr_model m;
        if (!load_sample(samples[si], &m)) continue;
        for (int v = 0; v < (si ? 2 : 3); v++) {
            fr_run_config c = cfg_for(v == 1 ? FR_METHOD_ADAROUND : FR_METHOD_FLEXROUND);
            if (v == 2) { c.qdrop = 1; c.act_bits = 4; c.iters = 6; }   /* QDrop: FP rows from disk too */
            if (si) {   /* layer-wise: skip connections are stores read units later */
                c.layerwise = 1;
                c.iters = 6;
                c.n_calib = 72;
                snprintf(c.stop_unit, sizeof c.stop_unit, "ir3.expand");
            }
            size_t n0, n1, n2;
            int sp0, sp1, sp2;
            uint8_t *a = run_state(&m, &c, NULL, &n0, &sp0), *b = run_state(&m, &c, "hot", &n1, &sp1),
                    *d = run_state(&m, &c, "disk", &n2, &sp2);
            FR_CHECKF(!sp0 && sp1 && sp2, "%s: plans: %d %d %d", samples[si], sp0, sp1, sp2);
            FR_CHECKF(a && b && n0 == n1 && memcmp(a, b, n0) == 0, "%s variant %d: hot-set spill differs from in-memory",
                      samples[si], v);
            FR_CHECKF(a && d && n0 == n2 && memcmp(a, d, n0) == 0, "%s variant %d: disk gathers differ from in-memory",
                      samples[si], v);
            free(a); free(b); free(d);
        }
        fr_model_free(&m);
    }
}

static void test_spill_slices(void)
{
    /* resnet-fmnist in blocks, 50 samples (one batch of 50: quarters of 12-13); mobilenetv2-fmnist
     * layer-wise with 8-bit activations, 70 samples (last batch 6: quarters of 1-2).  Each costs a
     * reference and two sliced runs (halves in memory and quarters from disk, or the reverse). */
    const char *samples[] = {"resnet-fmnist", "mobilenetv2-fmnist"};
    for (int v = 0; v < 2; v++) {
        fr_model m;
        if (!load_sample(samples[v], &m)) continue;
        fr_run_config c = cfg_for(FR_METHOD_FLEXROUND);
        c.iters = 4;
        c.n_calib = v ? 70 : 50;
        if (v) {
            c.act_bits = 8;
            c.layerwise = 1;
            snprintf(c.stop_unit, sizeof c.stop_unit, "ir3.expand");
        }
        size_t n0, n1;
        int sp0;
        uint8_t *a = run_state(&m, &c, NULL, &n0, &sp0);
        for (int sl = 2; sl <= 4; sl += 2) {
            int disk = (sl == 4) != v;
            uint8_t *b = run_sliced(&m, &c, disk ? "disk" : NULL, sl, &n1);
            FR_CHECKF(a && b && n0 == n1 && memcmp(a, b, n0) == 0, "%s: %d slices%s differ from the unsliced run",
                      samples[v], sl, disk ? " from disk" : "");
            free(b);
        }
        free(a);
        fr_model_free(&m);
    }
}

static void test_spill_resume(void)
{
    fr_model m;
    if (!load_sample("resnet-fmnist", &m)) return;
    fr_run_config c = cfg_for(FR_METHOD_FLEXROUND);
    size_t nref;
    int sp;
    uint8_t *ref = run_state(&m, &c, NULL, &nref, &sp);
    /* 7 units x (1 + 12 + 1) events: mid-unit in unit 2, between units 3 and 4, right after the
     * begin of unit 5. */
    long stops[] = {20, 42, 57};
    for (int s = 0; s < 3 && ref; s++) {
        fr_err e;
        setenv("FRTUI_SPILL", s == 1 ? "hot" : "disk", 1);
        fr_recon *r = fr_recon_new(&m, &c, &e);
        FR_CHECKF(r != NULL, "%s", e.msg);
        if (!r) break;
        FR_CHECK(drive(r, stops[s]) == 1);
        size_t nmid;
        uint8_t *mid = encode_state(r, &m, &c, &nmid);
        fr_recon_free(r);
        fr_ckpt ck;
        int rc = fr_ckpt_load_mem(mid, nmid, "mid.frc", &ck, &e);
        free(mid);
        FR_CHECKF(rc == FR_OK, "%s", e.msg);
        if (rc) break;
        r = fr_ckpt_resume_engine(&ck, &m, &e);   /* still under FRTUI_SPILL: the resumed engine spills too */
        fr_ckpt_free(&ck);
        FR_CHECKF(r != NULL, "stop %ld: %s", stops[s], e.msg);
        if (!r) break;
        fr_mem_summary ms;
        fr_recon_mem_plan(r, &ms);
        FR_CHECK(ms.spill);
        FR_CHECK(drive(r, -1) == 0);
        size_t nres;
        uint8_t *res = encode_state(r, &m, &c, &nres);
        FR_CHECKF(nres == nref && memcmp(res, ref, nref) == 0, "stop %ld: spilled resumed run differs from in-memory",
                  stops[s]);
        free(res);
        fr_recon_free(r);
    }
    unsetenv("FRTUI_SPILL");
    free(ref);
    fr_model_free(&m);
}

static void test_spill_budget(void)
{
    fr_model m;
    if (!load_sample("resnet-fmnist", &m)) return;
    fr_run_config c = cfg_for(FR_METHOD_FLEXROUND);
    c.n_calib = 0;   /* all 1024: ~300 MB of caches in memory at peak */
    fr_err e;
    fr_err_clear(&e);
    size_t rss = fr_mem_rss();
    /* The planner's base pinned to this figure: a budget is max_mem minus the RSS the planner
     * reads, and under ASan the RSS can fall by the quarantine's size between here and there
     * (freed blocks of the earlier tests unmapped), which turned "8 MiB over" into 200. */
    char base[32];
    snprintf(base, sizeof base, "%zu", rss);
    setenv("FRTUI_MEM_BASE", base, 1);
    c.max_mem = rss + ((size_t)8 << 20);
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_CHECKF(r == NULL && e.code == FR_ENOMEM && strstr(e.msg, "spilled to disk") && strstr(e.msg, "--max-mem") &&
                  !strchr(e.msg, '\n'),
              "%s", e.msg);
    fr_recon_free(r);
    c.max_mem = rss + ((size_t)120 << 20);
    r = fr_recon_new(&m, &c, &e);
    FR_CHECKF(r != NULL, "%s", e.msg);
    if (r) {
        fr_mem_summary s;
        const fr_mem_row *row = fr_recon_mem_plan(r, &s);
        FR_CHECK(s.spill);
        for (int k = 0; k < s.n; k++)
            FR_CHECKF(s.base + row[k].total <= c.max_mem, "unit %d: %zu + %zu > %zu", k, s.base, row[k].total, c.max_mem);
        FR_CHECK(fr_recon_resident_bytes(r) == 0);   /* the input went to disk, not to memory */
        fr_recon_free(r);
    }
    unsetenv("FRTUI_MEM_BASE");
    fr_model_free(&m);
}

int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    FR_RUN(test_spill_roundtrip);
    FR_RUN(test_spill_bit_identical);
    FR_RUN(test_spill_slices);
    FR_RUN(test_spill_resume);
    FR_RUN(test_spill_budget);
    return FR_REPORT();
}
