/* ckpt.c — the .frc checkpoint file: encode, asynchronous write, checks, replay snapshots (the
 * validating load is ckpt_load.c).  Contract in include/frtui/ckpt.h; byte layout in
 * docs/FORMAT.md.
 *
 * Layout summary (little-endian):
 *   header (32 bytes): "FRTC", u16 major, u16 minor, u32 flags, u32 header_len (32),
 *                      u32 n_frames, u32 reserved 0, u64 FNV-1a-64 of bytes 0..23
 *   n_frames records:  u32 type, u32 reserved 0, u64 raw_len, u64 comp_len, u64 FNV-1a-64 of
 *                      the raw bytes, then comp_len bytes = one zstd frame (content size and
 *                      XXH64 content checksum present) decompressing to raw_len bytes
 *   frame types: 1 META (first, once), 2 UNIT (one per unit, in order), 3 ACTQ (once),
 *                4 END (last; raw = u32 number of frames before it).  Nothing may follow END.
 *                Since 1.4: 5 HIST (optional, right after the UNIT frame it belongs to: the
 *                unit's parameter history, fr_ckpt_hist).
 *                Since 1.5: 6 BEST (optional, after the running unit's UNIT and HIST frames:
 *                the best iterate a --keep-best run has seen in it).
 *
 * Design note: the writer works on a private deep copy (fr_ckpt), so it can compress in its own
 * thread while the engine keeps stepping.  Parsing goes through a bounds-checked cursor: every
 * count is checked against the bytes that remain before anything is allocated, and every
 * structural value (status, method, bits, shapes) against its range; cross-checks against a
 * model are fr_ckpt_check_model's and fr_recon_state_restore's.
 */
#include "frtui/ckpt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#include "ckpt_int.h"

struct fr_ckpt_blob { fr_ckpt c; };

/* ---- small buffers ------------------------------------------------------------------------ */

typedef struct wbuf { uint8_t *p; size_t n, cap; } wbuf;

static void wb_put(wbuf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        b->p = fr_xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void wb_u8(wbuf *b, uint8_t v) { wb_put(b, &v, 1); }
static void wb_u32(wbuf *b, uint32_t v) { wb_put(b, &v, 4); }
static void wb_i32(wbuf *b, int32_t v) { wb_put(b, &v, 4); }
static void wb_u64(wbuf *b, uint64_t v) { wb_put(b, &v, 8); }
static void wb_i64(wbuf *b, int64_t v) { wb_put(b, &v, 8); }
static void wb_f32(wbuf *b, float v) { wb_put(b, &v, 4); }
static void wb_f64(wbuf *b, double v) { wb_put(b, &v, 8); }
static void wb_str(wbuf *b, const char *s)
{
    size_t n = strlen(s);
    FR_ASSERT(n < 65536);
    uint16_t l = (uint16_t)n;
    wb_put(b, &l, 2);
    wb_put(b, s, n);
}

/* ---- blobs and free --------------------------------------------------------------------------- */

fr_ckpt_blob *fr_ckpt_blob_wrap(fr_ckpt *c)
{
    fr_ckpt_blob *b = fr_xcalloc(1, sizeof *b);
    b->c = *c;
    memset(c, 0, sizeof *c);
    return b;
}

size_t fr_ckpt_blob_bytes(const fr_ckpt_blob *b)
{
    const fr_ckpt *c = &b->c;
    size_t t = sizeof *c;
    for (int k = 0; k < c->n_units; k++) {
        const fr_ckpt_unit *U = &c->units[k];
        t += 8 * (size_t)U->n_loss;
        for (int l = 0; l < U->n_layers; l++) {
            const fr_ckpt_layer *L = &U->layers[l];
            for (int p = 0; p < L->n_params; p++) t += (size_t)L->params[p].n * 4 * (L->params[p].m ? 3 : 1);
            if (L->has_result) t += (size_t)L->n * 4;
        }
        t += (size_t)U->hist.n * U->hist.stride * 4 + (size_t)U->n_best * 4;
    }
    return t;
}

static void free_tensor(fr_ckpt_tensor *t) { free(t->data); free(t->m); free(t->v); }

void fr_ckpt_free(fr_ckpt *c)
{
    if (!c) return;
    for (int k = 0; c->units && k < c->n_units; k++) {
        fr_ckpt_unit *U = &c->units[k];
        free(U->loss); free(U->loss_rec);
        for (int l = 0; U->layers && l < U->n_layers; l++) {
            fr_ckpt_layer *L = &U->layers[l];
            for (int p = 0; p < L->n_params; p++) free_tensor(&L->params[p]);
            for (int p = 0; p < L->n_frozen; p++) free_tensor(&L->frozen[p]);
            free(L->s1); free(L->zp); free(L->code);
        }
        free(U->layers);
        free(U->hist.data);
        free(U->best);
    }
    free(c->units);
    free(c->aq);
    memset(c, 0, sizeof *c);
}

void fr_ckpt_blob_free(fr_ckpt_blob *b)
{
    if (!b) return;
    fr_ckpt_free(&b->c);
    free(b);
}

/* ---- encoding ----------------------------------------------------------------------------- */

static void enc_cfg(wbuf *b, const fr_run_config *g)
{
    wb_i32(b, g->method); wb_i32(b, g->bits); wb_i32(b, g->act_bits); wb_i32(b, g->first_last_bits);
    wb_i32(b, g->layerwise); wb_i32(b, g->iters); wb_i32(b, g->batch); wb_f32(b, g->lr); wb_f32(b, g->act_lr);
    wb_f32(b, g->lambda); wb_i32(b, g->qdrop); wb_f32(b, g->drop_p); wb_i32(b, g->per_channel);
    wb_i32(b, g->symmetric); wb_i32(b, g->init_minmax); wb_i32(b, g->n_calib); wb_u64(b, g->seed);
    wb_i32(b, g->threads); wb_i32(b, g->step_mode); wb_u64(b, (uint64_t)g->max_cache_mb); wb_str(b, g->preset);
}

static void enc_meta(wbuf *b, const fr_ckpt *c)
{
    wb_u32(b, (uint32_t)c->n_nodes); wb_u32(b, (uint32_t)c->n_units); wb_u32(b, (uint32_t)c->n_calib);
    wb_i32(b, c->cur_unit); wb_i32(b, c->iter);
    for (int i = 0; i < 4; i++) wb_u64(b, c->rng.s[i]);
    for (int i = 0; i < 4; i++) wb_u64(b, c->drop_rng.s[i]);
    enc_cfg(b, &c->cfg);
    wb_u64(b, c->model_fp); wb_u64(b, c->calib_fp);
    wb_str(b, c->bundle_path); wb_str(b, c->model_name);
    wb_i32(b, c->blas_threads);
    wb_f64(b, c->acc_fp); wb_f64(b, c->acc_q);
    wb_i32(b, c->run_status); wb_i64(b, c->it_total);
    wb_str(b, c->blas_core);   /* since 1.1 */
    wb_i32(b, c->cfg.unit_rule);   /* since 1.2 */
    wb_i32(b, c->conv_legacy);     /* since 1.3 */
    wb_f32(b, c->cfg.scale_lr);    /* since 1.4 */
    wb_i32(b, c->cfg.keep_best);   /* since 1.5 */
    wb_i32(b, c->cfg.s1_direct);   /* since 1.5 */
    wb_i32(b, c->cfg.group_size);  /* since 1.6 */
    wb_i32(b, c->cfg.act_token);   /* since 1.7 */
}

static void enc_tensor(wbuf *b, const fr_ckpt_tensor *t, int learnable)
{
    wb_str(b, t->name);
    wb_u32(b, t->n);
    wb_put(b, t->data, (size_t)t->n * 4);
    if (learnable) {
        wb_u8(b, t->m && t->v);
        if (t->m && t->v) { wb_put(b, t->m, (size_t)t->n * 4); wb_put(b, t->v, (size_t)t->n * 4); }
    }
}

static void enc_unit(wbuf *b, const fr_ckpt_unit *U, int k)
{
    wb_u32(b, (uint32_t)k); wb_str(b, U->name);
    wb_i32(b, U->status); wb_i32(b, U->method); wb_i32(b, U->iters); wb_i32(b, U->bits);
    wb_u32(b, (uint32_t)U->n_loss);
    wb_put(b, U->loss, (size_t)U->n_loss * 4);
    wb_put(b, U->loss_rec, (size_t)U->n_loss * 4);
    wb_f64(b, U->loss_rtn); wb_f64(b, U->loss_before); wb_f64(b, U->loss_after);
    wb_str(b, U->note);
    wb_u32(b, (uint32_t)(U->status == FR_UNIT_PENDING ? 0 : U->n_layers));
    for (int l = 0; U->status != FR_UNIT_PENDING && l < U->n_layers; l++) {
        const fr_ckpt_layer *L = &U->layers[l];
        wb_str(b, L->name);
        wb_i32(b, L->node); wb_i32(b, L->method); wb_i32(b, L->bits); wb_i32(b, L->ns1);
        wb_i32(b, L->o); wb_i32(b, L->i); wb_i32(b, L->kh); wb_i32(b, L->kw); wb_i32(b, L->is_conv);
        wb_i64(b, L->n);
        wb_u8(b, (uint8_t)L->finalized); wb_u8(b, (uint8_t)L->fell_back); wb_u8(b, (uint8_t)L->nonfinite);
        wb_u8(b, (uint8_t)L->n_params);
        for (int p = 0; p < L->n_params; p++) enc_tensor(b, &L->params[p], 1);
        wb_u8(b, (uint8_t)L->n_frozen);
        for (int p = 0; p < L->n_frozen; p++) enc_tensor(b, &L->frozen[p], 0);
        wb_u8(b, (uint8_t)L->has_result);
        if (L->has_result) {
            wb_put(b, L->s1, (size_t)L->ns1 * 4);
            wb_put(b, L->zp, (size_t)L->ns1 * 4);
            wb_put(b, L->code, (size_t)L->n * 4);
        }
    }
}

/* u32 unit, u32 n, u32 every, u64 stride, i32 iter[n], then the n * stride float bit patterns
 * as 4 byte planes of their difference (mod 2^32) from the previous moment's (docs/FORMAT.md).
 * Consecutive moments of a parameter share sign, exponent and leading mantissa bits, so the
 * differences have mostly constant high bytes, and the planes put those next to each other
 * where zstd finds them; both steps are bit-exact, so the replayed moments are the recorded
 * ones.  Measured (README): the low mantissa bytes stay noise, so this saves ~15%, not more. */
static void enc_hist(wbuf *b, const fr_ckpt_hist *h, int k)
{
    wb_u32(b, (uint32_t)k); wb_u32(b, (uint32_t)h->n); wb_u32(b, (uint32_t)h->every); wb_u64(b, (uint64_t)h->stride);
    wb_put(b, h->iter, (size_t)h->n * 4);
    size_t m = (size_t)h->n * h->stride;
    uint8_t *planes = fr_xmalloc(m > 0 ? m * 4 : 1);
    const uint32_t *w = (const uint32_t *)(const void *)h->data;
    for (size_t q = 0; q < m; q++) {
        uint32_t x = w[q] - (q >= h->stride ? w[q - h->stride] : 0);
        for (int p = 0; p < 4; p++) planes[(size_t)p * m + q] = (uint8_t)(x >> (8 * p));
    }
    wb_put(b, planes, m * 4);
    free(planes);
}

/* u32 unit, i32 iteration, f64 calibration loss, u32 n, f32[n] (fr_ckpt_unit.best). */
static void enc_best(wbuf *b, const fr_ckpt_unit *U, int k)
{
    wb_u32(b, (uint32_t)k); wb_i32(b, U->best_iter); wb_f64(b, U->best_loss);
    wb_u32(b, U->n_best);
    wb_put(b, U->best, (size_t)U->n_best * 4);
}

static void enc_actq(wbuf *b, const fr_ckpt *c)
{
    wb_u32(b, (uint32_t)c->n_aq);
    for (int j = 0; j < c->n_aq; j++) {
        const fr_aquant *a = &c->aq[j].aq;
        wb_i32(b, c->aq[j].node); wb_i32(b, a->bits);
        wb_f32(b, a->qmax); wb_f32(b, a->zp); wb_f32(b, a->s); wb_f32(b, a->s_m); wb_f32(b, a->s_v);
        wb_f32(b, a->s_g); wb_f32(b, a->s_init); wb_i32(b, a->nonfinite);
    }
}

static int put_frame(wbuf *out, ZSTD_CCtx *cc, uint32_t type, const wbuf *raw, fr_err *e)
{
    size_t bound = ZSTD_compressBound(raw->n);
    uint8_t *tmp = fr_xmalloc(bound ? bound : 1);
    size_t cn = ZSTD_compress2(cc, tmp, bound, raw->p ? raw->p : (const uint8_t *)"", raw->n);
    if (ZSTD_isError(cn)) {
        free(tmp);
        return fr_err_set(e, FR_EIO, "zstd compression failed: %s", ZSTD_getErrorName(cn));
    }
    wb_u32(out, type); wb_u32(out, 0); wb_u64(out, raw->n); wb_u64(out, cn);
    wb_u64(out, fr_fnv1a(FR_FNV_INIT, raw->p, raw->n));
    wb_put(out, tmp, cn);
    free(tmp);
    return FR_OK;
}

int fr_ckpt_encode(const fr_ckpt_blob *b, int level, uint8_t **out, size_t *out_n, fr_err *e)
{
    const fr_ckpt *c = &b->c;
    wbuf f = {0}, raw = {0};
    uint8_t hdr[FR_CKPT_HEADER_LEN] = {0};
    wb_put(&f, hdr, sizeof hdr);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    FR_ASSERT(cc);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
    uint32_t nf = 0;
    int rc = FR_OK;
    enc_meta(&raw, c);
    rc = put_frame(&f, cc, FT_META, &raw, e);
    nf++;
    for (int k = 0; k < c->n_units && !rc; k++, nf++) {
        raw.n = 0;
        enc_unit(&raw, &c->units[k], k);
        rc = put_frame(&f, cc, FT_UNIT, &raw, e);
        if (!rc && c->units[k].hist.n > 0 && c->units[k].status != FR_UNIT_PENDING) {
            raw.n = 0;
            enc_hist(&raw, &c->units[k].hist, k);
            rc = put_frame(&f, cc, FT_HIST, &raw, e);
            nf++;
        }
        if (!rc && c->units[k].n_best > 0 && c->units[k].status == FR_UNIT_RUNNING) {
            raw.n = 0;
            enc_best(&raw, &c->units[k], k);
            rc = put_frame(&f, cc, FT_BEST, &raw, e);
            nf++;
        }
    }
    if (!rc) { raw.n = 0; enc_actq(&raw, c); rc = put_frame(&f, cc, FT_ACTQ, &raw, e); nf++; }
    if (!rc) { raw.n = 0; wb_u32(&raw, nf); rc = put_frame(&f, cc, FT_END, &raw, e); nf++; }
    ZSTD_freeCCtx(cc);
    free(raw.p);
    if (rc) { free(f.p); return rc; }
    uint8_t *h = f.p;
    memcpy(h, "FRTC", 4);
    uint16_t v16 = FR_CKPT_MAJOR; memcpy(h + 4, &v16, 2);
    v16 = FR_CKPT_MINOR; memcpy(h + 6, &v16, 2);
    uint32_t v32 = FLAG_ZSTD_CHECKSUM; memcpy(h + 8, &v32, 4);
    v32 = FR_CKPT_HEADER_LEN; memcpy(h + 12, &v32, 4);
    memcpy(h + 16, &nf, 4);
    uint64_t hh = fr_fnv1a(FR_FNV_INIT, h, 24);
    memcpy(h + 24, &hh, 8);
    *out = f.p;
    *out_n = f.n;
    return FR_OK;
}

int fr_ckpt_write_blob(fr_ckpt_blob *b, const char *path, int level, fr_err *e)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = fr_ckpt_encode(b, level, &buf, &n, e);
    fr_ckpt_blob_free(b);
    if (rc) return rc;
    rc = fr_atomic_write(path, buf, n, e);
    free(buf);
    return rc;
}

/* ---- background writer ---------------------------------------------------------------------- */

struct fr_ckpt_writer {
    pthread_t th;
    int running;            /* a thread exists that has not been joined */
    atomic_int done;        /* the thread finished its write */
    int reported;
    fr_ckpt_blob *b;
    char path[4096];
    int rc;
    fr_err err;
    size_t bytes;
    double secs;
};

static void *writer_main(void *arg)
{
    fr_ckpt_writer *w = arg;
    /* Background work: yield the CPU to the worker thread (Linux nices threads individually). */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 15) != 0) { /* best effort */ }
    double t0 = fr_now();
    fr_err_clear(&w->err);
    uint8_t *buf = NULL;
    size_t n = 0;
    w->rc = fr_ckpt_encode(w->b, 1, &buf, &n, &w->err);
    fr_ckpt_blob_free(w->b);
    w->b = NULL;
    if (!w->rc) w->rc = fr_atomic_write(w->path, buf, n, &w->err);
    free(buf);
    w->bytes = n;
    w->secs = fr_now() - t0;
    atomic_store(&w->done, 1);
    return NULL;
}

fr_ckpt_writer *fr_ckpt_writer_new(void)
{
    fr_ckpt_writer *w = fr_xcalloc(1, sizeof *w);
    atomic_init(&w->done, 0);
    w->reported = 1;
    return w;
}

int fr_ckpt_writer_busy(fr_ckpt_writer *w) { return w->running && !atomic_load(&w->done); }

static void join(fr_ckpt_writer *w)
{
    if (!w->running) return;
    pthread_join(w->th, NULL);
    w->running = 0;
}

int fr_ckpt_writer_submit(fr_ckpt_writer *w, fr_ckpt_blob *b, const char *path)
{
    if (fr_ckpt_writer_busy(w)) { fr_ckpt_blob_free(b); return -1; }
    join(w);
    w->b = b;
    snprintf(w->path, sizeof w->path, "%s", path);
    atomic_store(&w->done, 0);
    w->reported = 0;
    w->rc = FR_OK;
    if (pthread_create(&w->th, NULL, writer_main, w) != 0) {
        /* No thread: write synchronously (correct, only slower). */
        writer_main(w);
        return FR_OK;
    }
    w->running = 1;
    return FR_OK;
}

int fr_ckpt_writer_poll(fr_ckpt_writer *w, int *rc, fr_err *e, size_t *bytes, double *secs)
{
    if (w->reported || fr_ckpt_writer_busy(w)) return 0;
    join(w);
    w->reported = 1;
    if (rc) *rc = w->rc;
    if (e) *e = w->err;
    if (bytes) *bytes = w->bytes;
    if (secs) *secs = w->secs;
    return 1;
}

int fr_ckpt_writer_wait(fr_ckpt_writer *w, fr_err *e)
{
    join(w);
    if (w->reported) return FR_OK;
    w->reported = 1;
    if (e && w->rc) *e = w->err;
    return w->rc;
}

void fr_ckpt_writer_free(fr_ckpt_writer *w)
{
    if (!w) return;
    join(w);
    fr_ckpt_blob_free(w->b);
    free(w);
}

/* ---- checks and messages -------------------------------------------------------------------- */

int fr_ckpt_check_threads(const fr_ckpt *c, int threads, const char *path, fr_err *e)
{
    if (threads > 0 && threads != c->blas_threads)
        return fr_err_set(e, FR_EINPUT, "%s: the run used %d compute threads, this process %d; results would not be "
                          "bit-identical (set FRTUI_THREADS=%d)", path, c->blas_threads, threads, c->blas_threads);
    return FR_OK;
}

int fr_ckpt_check_core(const fr_ckpt *c, const char *core, const char *path, fr_err *e)
{
    if (c->blas_core[0] && core && strcmp(core, c->blas_core) != 0)
        return fr_err_set(e, FR_EINPUT, "%s: the run used OpenBLAS core %s, this process %s; results would not be "
                          "bit-identical (set OPENBLAS_CORETYPE=%s)", path, c->blas_core, core, c->blas_core);
    return FR_OK;
}

void fr_ckpt_prefix_error(fr_err *e, const fr_ckpt *c)
{
    if (!e || !c->src[0] || strncmp(e->msg, c->src, strlen(c->src)) == 0) return;
    char m[sizeof e->msg];
    snprintf(m, sizeof m, "%s", e->msg);
    fr_err_set(e, e->code ? e->code : FR_EINPUT, "%.200s: %.300s", c->src, m);
}
