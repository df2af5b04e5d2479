/* ckpt_load.c — the validating .frc loader (fr_ckpt_load, fr_ckpt_load_mem).  Split from
 * ckpt.c, which writes what this reads; layout in ckpt.c's header comment.
 *
 * Design note: the file is mapped (include/frtui/fmap.h), the frame records are walked once
 * before anything is inflated, and each frame's pages are dropped once it is decoded, so a
 * large checkpoint costs what it decodes to.  Every frame's declared size goes through
 * fr_mem_check before its buffer is allocated (a 81-byte file may declare a 6 GiB frame), then a bounds-checked cursor decodes
 * it: every count is checked against the bytes that remain before anything is allocated, and
 * every structural value (status, method, bits, shapes) against its range.
 */
#include "frtui/ckpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ckpt_int.h"
#include "frtui/fmap.h"
#include "frtui/zdec.h"

/* ---- bounds-checked cursor over one frame's raw bytes ------------------------------------- */

typedef struct rd {
    const uint8_t *p;
    size_t n, off;
    int bad;
    fr_err *e;
    const char *name, *what;
} rd;

static int rfail(rd *r, const char *fmt, const char *arg)
{
    if (!r->bad) {
        char m[256];
        snprintf(m, sizeof m, fmt, arg);
        fr_err_set(r->e, FR_EINPUT, "%s: %s frame: %s", r->name, r->what, m);
    }
    r->bad = 1;
    return 0;
}
static const uint8_t *rget(rd *r, size_t n)
{
    if (r->bad) return NULL;
    if (n > r->n - r->off) { rfail(r, "%s", "truncated (a count or length runs past the frame)"); return NULL; }
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}
#define RD_FN(name_, T) static T name_(rd *r) { T v = 0; const uint8_t *q = rget(r, sizeof v); if (q) memcpy(&v, q, sizeof v); return v; }
RD_FN(rd_u8, uint8_t)
RD_FN(rd_u32, uint32_t)
RD_FN(rd_i32, int32_t)
RD_FN(rd_u64, uint64_t)
RD_FN(rd_i64, int64_t)
RD_FN(rd_f32, float)
RD_FN(rd_f64, double)
static void rd_str(rd *r, char *dst, size_t cap, const char *field)
{
    dst[0] = 0;
    uint16_t l = 0;
    const uint8_t *q = rget(r, 2);
    if (!q) return;
    memcpy(&l, q, 2);
    if (l >= cap) { rfail(r, "%s is too long", field); return; }
    q = rget(r, l);
    if (!q) return;
    if (memchr(q, 0, l)) { rfail(r, "%s contains a NUL byte", field); return; }
    memcpy(dst, q, l);
    dst[l] = 0;
}
/* n elements of `size` bytes, into a new array (NULL when n == 0 or on error). */
static void *rd_arr(rd *r, size_t n, size_t size, const char *field)
{
    if (r->bad || n == 0) return NULL;
    if (n > (r->n - r->off) / size) { rfail(r, "%s: count exceeds the frame", field); return NULL; }
    void *d = fr_xmalloc(n * size);
    memcpy(d, rget(r, n * size), n * size);
    return d;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static void dec_cfg(rd *r, fr_run_config *g)
{
    g->method = (fr_method)rd_i32(r); g->bits = rd_i32(r); g->act_bits = rd_i32(r); g->first_last_bits = rd_i32(r);
    g->layerwise = rd_i32(r); g->iters = rd_i32(r); g->batch = rd_i32(r); g->lr = rd_f32(r); g->act_lr = rd_f32(r);
    g->lambda = rd_f32(r); g->qdrop = rd_i32(r); g->drop_p = rd_f32(r); g->per_channel = rd_i32(r);
    g->symmetric = rd_i32(r); g->init_minmax = rd_i32(r); g->n_calib = rd_i32(r); g->seed = rd_u64(r);
    g->threads = rd_i32(r); g->step_mode = rd_i32(r); g->max_cache_mb = (size_t)rd_u64(r);
    rd_str(r, g->preset, sizeof g->preset, "preset");
}

static void dec_meta(rd *r, fr_ckpt *c)
{
    uint32_t nn = rd_u32(r), nu = rd_u32(r), nc = rd_u32(r);
    if (nn < 2 || nn > 1000000) { rfail(r, "%s", "node count out of range"); return; }
    if (nu < 1 || nu > nn) { rfail(r, "%s", "unit count out of range"); return; }
    if (nc < 1 || nc > 100000000) { rfail(r, "%s", "calibration sample count out of range"); return; }
    c->n_nodes = (int)nn; c->n_units = (int)nu; c->n_calib = (int)nc;
    c->cur_unit = rd_i32(r); c->iter = rd_i32(r);
    for (int i = 0; i < 4; i++) c->rng.s[i] = rd_u64(r);
    for (int i = 0; i < 4; i++) c->drop_rng.s[i] = rd_u64(r);
    dec_cfg(r, &c->cfg);
    c->model_fp = rd_u64(r); c->calib_fp = rd_u64(r);
    rd_str(r, c->bundle_path, sizeof c->bundle_path, "bundle path");
    rd_str(r, c->model_name, sizeof c->model_name, "model name");
    c->blas_threads = rd_i32(r);
    c->acc_fp = rd_f64(r); c->acc_q = rd_f64(r);
    c->run_status = rd_i32(r); c->it_total = rd_i64(r);
    if (c->minor >= 1) rd_str(r, c->blas_core, sizeof c->blas_core, "OpenBLAS core");
    /* Before 1.2 every run used the split rule (partition.h): resume with it. */
    c->cfg.unit_rule = c->minor >= 2 ? rd_i32(r) : 1;
    /* Files before 1.2 were written by binaries that had only the per-sample kernels; 1.2 files
     * by the first ones with the chunked path (both came on 2 Dec 2026), which did not record it. */
    c->conv_legacy = c->minor >= 3 ? rd_i32(r) : c->minor < 2;
    if (!r->bad && (c->conv_legacy < 0 || c->conv_legacy > 1)) rfail(r, "%s", "conv kernels out of range");
    /* Before 1.4 every FlexRound run learned d1, d3, d4 at the full lr. */
    c->cfg.scale_lr = c->minor >= 4 ? rd_f32(r) : 1.0f;
    c->cfg.keep_best = c->minor >= 5 ? rd_i32(r) : 0;
    c->cfg.s1_direct = c->minor >= 5 ? rd_i32(r) : 0;
    c->cfg.group_size = c->minor >= 6 ? rd_i32(r) : 0;
    c->cfg.act_token = c->minor >= 7 ? rd_i32(r) : 0;   /* before 1.7 activations were per tensor */
    if (r->bad) return;
    if (c->cur_unit < -1 || c->cur_unit >= c->n_units) { rfail(r, "%s", "running unit index out of range"); return; }
    if (c->iter < 0 || c->iter > 10000000) { rfail(r, "%s", "iteration counter out of range"); return; }
    fr_err sub;
    if (fr_run_config_check(&c->cfg, &sub)) { rfail(r, "run settings: %.200s", sub.msg); return; }
    if (c->cfg.step_mode != 0 && c->cfg.step_mode != 1) { rfail(r, "%s", "step mode is not 0 or 1"); return; }
    if (c->blas_threads < 1 || c->blas_threads > 256) rfail(r, "%s", "thread count out of range");
}

/* n floats that must all be finite (learned and frozen parameters, moments): a NaN would flow
 * into the stats code and the exporter as if it were a weight.  A layer that fell back to RTN
 * may keep what diverged (the reset restores FlexRound's factors, not AdaRound's V), and its
 * codes come from RTN: `any` lets those through. */
static float *rd_finite(rd *r, size_t n, const char *field, int any)
{
    float *d = rd_arr(r, n, 4, field);
    for (size_t k = 0; d && !any && k < n; k++)
        if (!isfinite(d[k])) { rfail(r, "tensor %s: a value is not finite", field); break; }
    return d;
}

static void dec_tensor(rd *r, fr_ckpt_tensor *t, int learnable, int64_t max_n, int any)
{
    rd_str(r, t->name, sizeof t->name, "tensor name");
    uint32_t n = rd_u32(r);
    if (r->bad) return;
    if (n == 0 || (int64_t)n > max_n) { rfail(r, "tensor %s: element count out of range", t->name); return; }
    t->n = n;
    t->data = rd_finite(r, n, t->name, any);
    if (learnable) {
        uint8_t mv = rd_u8(r);
        if (r->bad) return;
        if (mv > 1) { rfail(r, "tensor %s: bad moments flag", t->name); return; }
        if (mv) { t->m = rd_finite(r, n, t->name, any); t->v = rd_finite(r, n, t->name, any); }
    }
}

static void dec_unit(rd *r, fr_ckpt_unit *U, int k)
{
    uint32_t idx = rd_u32(r);
    if (!r->bad && idx != (uint32_t)k) { rfail(r, "%s", "unit frames are out of order"); return; }
    rd_str(r, U->name, sizeof U->name, "unit name");
    U->status = rd_i32(r); U->method = rd_i32(r); U->iters = rd_i32(r); U->bits = rd_i32(r);
    if (r->bad) return;
    if (U->status < FR_UNIT_PENDING || U->status > FR_UNIT_FALLBACK) { rfail(r, "unit %s: bad status", U->name); return; }
    if (U->method < 0 || U->method >= FR_METHOD__COUNT) { rfail(r, "unit %s: bad method", U->name); return; }
    if (U->iters < 0 || U->iters > 10000000) { rfail(r, "unit %s: iterations out of range", U->name); return; }
    if (U->bits < 2 || U->bits > 8) { rfail(r, "unit %s: bits out of range", U->name); return; }
    uint32_t nl = rd_u32(r);
    if (!r->bad && nl > (uint32_t)U->iters + 1) { rfail(r, "unit %s: more losses than iterations", U->name); return; }
    U->n_loss = (int)nl;
    U->loss = rd_arr(r, nl, 4, "loss history");
    U->loss_rec = rd_arr(r, nl, 4, "loss history");
    U->loss_rtn = rd_f64(r); U->loss_before = rd_f64(r); U->loss_after = rd_f64(r);
    rd_str(r, U->note, sizeof U->note, "note");
    uint32_t nly = rd_u32(r);
    if (r->bad) return;
    if (nly > 32 || (U->status != FR_UNIT_PENDING && nly == 0) || (U->status == FR_UNIT_PENDING && nly)) {
        rfail(r, "unit %s: layer count does not fit its status", U->name);
        return;
    }
    U->n_layers = (int)nly;
    if (!nly) return;
    U->layers = fr_xcalloc(nly, sizeof *U->layers);
    for (uint32_t l = 0; l < nly && !r->bad; l++) {
        fr_ckpt_layer *L = &U->layers[l];
        rd_str(r, L->name, sizeof L->name, "layer name");
        L->node = rd_i32(r); L->method = rd_i32(r); L->bits = rd_i32(r); L->ns1 = rd_i32(r);
        L->o = rd_i32(r); L->i = rd_i32(r); L->kh = rd_i32(r); L->kw = rd_i32(r); L->is_conv = rd_i32(r);
        L->n = rd_i64(r);
        L->finalized = rd_u8(r); L->fell_back = rd_u8(r); L->nonfinite = rd_u8(r);
        if (r->bad) return;
        if (L->method < 0 || L->method >= FR_METHOD__COUNT || L->bits < 2 || L->bits > 8 || L->o < 1 || L->i < 1 ||
            L->kh < 1 || L->kw < 1 || L->ns1 < 1 || (L->ns1 != 1 && L->ns1 % L->o) || L->finalized > 1 || L->fell_back > 1 ||
            L->nonfinite > 1 || L->is_conv < 0 || L->is_conv > 1) {
            rfail(r, "layer %s: a field is out of range", L->name);
            return;
        }
        int64_t n = (int64_t)L->o * L->i;
        if (n > (1LL << 31) / L->kh || n * L->kh > (1LL << 31) / L->kw || n * L->kh * L->kw != L->n ||
            (L->ns1 > 1 && L->ns1 != L->o && (L->n % L->ns1 || (L->n / L->o) % (L->n / L->ns1)))) {
            rfail(r, "layer %s: element count does not match its shape", L->name);
            return;
        }
        /* Counts reach the struct only once they are known to fit its arrays: fr_ckpt_free walks
         * params[0..n_params) and frozen[0..n_frozen), so a stored 200 freed 195 garbage
         * pointers (issue 14, item 2). */
        uint8_t np = rd_u8(r);
        if (r->bad) return;
        if (np > FR_CKPT_MAX_PARAMS) { rfail(r, "layer %s: too many tensors", L->name); return; }
        for (int p = 0; p < np && !r->bad; p++) { L->n_params = p + 1; dec_tensor(r, &L->params[p], 1, L->n, L->fell_back); }
        uint8_t nfz = rd_u8(r);
        if (r->bad) return;
        if (nfz > FR_CKPT_MAX_FROZEN) { rfail(r, "layer %s: too many frozen tensors", L->name); return; }
        for (int p = 0; p < nfz && !r->bad; p++) { L->n_frozen = p + 1; dec_tensor(r, &L->frozen[p], 0, L->n, L->fell_back); }
        uint8_t hr = rd_u8(r);
        if (r->bad) return;
        if (hr > 1) { rfail(r, "layer %s: bad result flag", L->name); return; }
        L->has_result = hr;
        if (L->has_result) {
            L->s1 = rd_arr(r, (size_t)L->ns1, 4, "s1");
            L->zp = rd_arr(r, (size_t)L->ns1, 4, "zero points");
            L->code = rd_arr(r, (size_t)L->n, 4, "codes");
            if (r->bad) return;
            int32_t lo = -(1 << (L->bits - 1)), hi = (1 << L->bits) - 1;
            for (int g = 0; g < L->ns1; g++)
                if (!(L->s1[g] > 0) || !isfinite(L->s1[g]) || !(L->zp[g] >= 0 && L->zp[g] <= (float)hi)) {
                    rfail(r, "layer %s: a scale or zero point is out of range", L->name);
                    return;
                }
            for (int64_t q = 0; q < L->n; q++)
                if (L->code[q] < lo || L->code[q] > hi) { rfail(r, "layer %s: a code is outside the grid", L->name); return; }
        }
    }
}

/* The HIST frame of unit U (the one whose UNIT frame came just before).  Every count is
 * checked against the unit it describes before anything is allocated: the moment size must be
 * exactly the unit's learnable tensors, the moments increasing multiples of the interval
 * within the unit's iterations, every value finite (moments are recorded only when finite). */
static void dec_hist(rd *r, fr_ckpt_unit *U, int k)
{
    uint32_t idx = rd_u32(r), n = rd_u32(r), every = rd_u32(r);
    uint64_t stride = rd_u64(r);
    if (r->bad) return;
    if (idx != (uint32_t)k) { rfail(r, "%s", "does not follow its unit's frame"); return; }
    if (U->status == FR_UNIT_PENDING || U->hist.n) { rfail(r, "unit %s: a history for a pending unit or a second one", U->name); return; }
    if (n < 1 || n > FR_CKPT_HIST_MAX) { rfail(r, "unit %s: moment count out of range", U->name); return; }
    if (every < 1 || every > HIST_MAX_EVERY || (every & (every - 1))) { rfail(r, "unit %s: interval is not a power of two in range", U->name); return; }
    uint64_t want = 0;
    for (int l = 0; l < U->n_layers; l++)
        for (int p = 0; p < U->layers[l].n_params; p++) want += U->layers[l].params[p].n;
    if (stride == 0 || stride != want) { rfail(r, "unit %s: moment size does not match the unit's tensors", U->name); return; }
    int32_t *it = rd_arr(r, n, 4, "history iterations");
    if (!it) return;
    for (uint32_t j = 0; j < n && !r->bad; j++)
        if (it[j] < 0 || it[j] > U->n_loss || it[j] % (int32_t)every || (j && it[j] <= it[j - 1]))
            rfail(r, "unit %s: history iterations out of order or range", U->name);
    if (!r->bad && stride > (r->n - r->off) / 4 / n) rfail(r, "unit %s: history data exceeds the frame", U->name);
    /* byte planes of each moment's difference from the one before (enc_hist): undone, then checked */
    size_t m = (size_t)(n * stride);
    uint8_t *planes = r->bad ? NULL : rd_arr(r, m, 4, "history");
    float *d = planes ? fr_xmalloc(m * 4) : NULL;
    if (d) {
        uint32_t *w = (uint32_t *)(void *)d;
        for (size_t q = 0; q < m; q++) {
            uint32_t x = 0;
            for (int p = 0; p < 4; p++) x |= (uint32_t)planes[(size_t)p * m + q] << (8 * p);
            w[q] = x + (q >= stride ? w[q - stride] : 0);
        }
        for (size_t q = 0; q < m; q++)
            if (!isfinite(d[q])) { rfail(r, "%s", "tensor history: a value is not finite"); break; }
    }
    free(planes);
    if (r->bad) { free(it); free(d); return; }
    memcpy(U->hist.iter, it, n * 4);
    free(it);
    U->hist.n = (int)n;
    U->hist.every = (int)every;
    U->hist.stride = (size_t)stride;
    U->hist.data = d;
}

/* The BEST frame of unit U (after its UNIT and HIST frames): only a running unit has one; the
 * snapshot holds at least the unit's learnable tensors (the activation steps that follow are
 * counted exactly by fr_recon_state_restore, which knows the unit's nodes) and only finite
 * values, and the iteration lies within what the unit has run. */
static void dec_best(rd *r, fr_ckpt_unit *U, int k)
{
    uint32_t idx = rd_u32(r);
    int it = rd_i32(r);
    double loss = rd_f64(r);
    uint32_t n = rd_u32(r);
    if (r->bad) return;
    if (idx != (uint32_t)k) { rfail(r, "%s", "does not follow its unit's frame"); return; }
    if (U->status != FR_UNIT_RUNNING || U->n_best) { rfail(r, "unit %s: a best iterate for a unit that is not running, or a second one", U->name); return; }
    if (it < 0 || it > U->n_loss || !(loss >= 0) || !isfinite(loss)) { rfail(r, "unit %s: best iterate's iteration or loss out of range", U->name); return; }
    uint64_t want = 0;
    for (int l = 0; l < U->n_layers; l++)
        for (int p = 0; p < U->layers[l].n_params; p++) want += U->layers[l].params[p].n;
    if (n < want || n - want > 1u << 20) { rfail(r, "unit %s: best iterate's size does not match the unit's tensors", U->name); return; }
    float *d = rd_finite(r, n, "best iterate", 0);
    if (!d || r->bad) { free(d); return; }
    U->best_iter = it;
    U->best_loss = loss;
    U->n_best = n;
    U->best = d;
}

static void dec_actq(rd *r, fr_ckpt *c)
{
    uint32_t n = rd_u32(r);
    if (r->bad) return;
    if (n > (uint32_t)c->n_nodes) { rfail(r, "%s", "more activation quantizers than nodes"); return; }
    c->n_aq = (int)n;
    if (!n) return;
    c->aq = fr_xcalloc(n, sizeof *c->aq);
    for (uint32_t j = 0; j < n && !r->bad; j++) {
        fr_aquant *a = &c->aq[j].aq;
        c->aq[j].node = rd_i32(r); a->bits = rd_i32(r);
        a->qmax = rd_f32(r); a->zp = rd_f32(r); a->s = rd_f32(r); a->s_m = rd_f32(r); a->s_v = rd_f32(r);
        a->s_g = rd_f32(r); a->s_init = rd_f32(r); a->nonfinite = rd_i32(r);
        /* The step s is used as is; its Adam state may have diverged when the quantizer says so. */
        int finite = isfinite(a->qmax) && isfinite(a->zp) && isfinite(a->s) && isfinite(a->s_init) &&
                     (a->nonfinite || (isfinite(a->s_m) && isfinite(a->s_v) && isfinite(a->s_g)));
        if (!r->bad && (c->aq[j].node < 1 || c->aq[j].node >= c->n_nodes || a->bits < 2 || a->bits > 8 || !(a->s > 0) ||
                        !finite || a->nonfinite < 0 || a->nonfinite > 1))
            rfail(r, "%s", "an activation quantizer field is out of range");
    }
}

int fr_ckpt_load_mem(const uint8_t *buf, size_t n, const char *name, fr_ckpt *c, fr_err *e)
{
    memset(c, 0, sizeof *c);
    if (n < FR_CKPT_HEADER_LEN) return fr_err_set(e, FR_EINPUT, "%s: not a checkpoint (file is only %zu bytes)", name, n);
    if (memcmp(buf, "FRTC", 4) != 0) {
        if (memcmp(buf, "FRTM", 4) == 0) return fr_err_set(e, FR_EINPUT, "%s: is a model bundle (.frm), not a checkpoint", name);
        return fr_err_set(e, FR_EINPUT, "%s: not a checkpoint (bad magic)", name);
    }
    uint16_t major, minor;
    uint32_t flags, hlen, nf;
    memcpy(&major, buf + 4, 2); memcpy(&minor, buf + 6, 2);
    memcpy(&flags, buf + 8, 4); memcpy(&hlen, buf + 12, 4); memcpy(&nf, buf + 16, 4);
    if (major != FR_CKPT_MAJOR)
        return fr_err_set(e, FR_EINPUT, "%s: checkpoint version %u.%u is not supported (this frtui reads %d.x)", name, major,
                          minor, FR_CKPT_MAJOR);
    uint64_t hh;
    memcpy(&hh, buf + 24, 8);
    if (hh != fr_fnv1a(FR_FNV_INIT, buf, 24)) return fr_err_set(e, FR_EINPUT, "%s: header checksum mismatch", name);
    if (hlen < FR_CKPT_HEADER_LEN || hlen > n) return fr_err_set(e, FR_EINPUT, "%s: bad header length %u", name, hlen);
    if (nf < 3 || nf > MAX_FRAMES) return fr_err_set(e, FR_EINPUT, "%s: bad frame count %u", name, nf);
    c->major = major; c->minor = minor; c->flags = flags;
    size_t off = hlen;
    int rc = FR_OK;
    uint32_t k;
    int seen_end = 0, units = 0, seen_actq = 0;
    size_t declared = 0;   /* frames decode into state that is kept: check their sum */
    /* The frame records first (32 bytes each, the compressed data skipped): a file whose
     * frames run past its end, or whose declared sizes exceed the memory, is refused before
     * any frame is inflated or its pages touched (a mapped file, fr_ckpt_load). */
    for (k = 0, off = hlen; k < nf; k++) {
        if (n - off < 32) return fr_err_set(e, FR_EINPUT, "%s: truncated (frame %u of %u missing)", name, k + 1, nf);
        uint64_t raw_len, comp_len;
        memcpy(&raw_len, buf + off + 8, 8);
        memcpy(&comp_len, buf + off + 16, 8);
        off += 32;
        if (comp_len > n - off) return fr_err_set(e, FR_EINPUT, "%s: truncated (frame %u runs past the end of the file)", name, k + 1);
        if (raw_len > SIZE_MAX || (rc = fr_mem_check_total(e, &declared, (size_t)raw_len, "%s: frame %u", name, k + 1))) {
            if (!rc) rc = fr_err_set(e, FR_ENOMEM, "%s: frame %u declares %llu bytes", name, k + 1, (unsigned long long)raw_len);
            return rc;
        }
        off += comp_len;
    }
    off = hlen;
    declared = 0;
    for (k = 0; k < nf && !rc; k++) {
        if (n - off < 32) { rc = fr_err_set(e, FR_EINPUT, "%s: truncated (frame %u of %u missing)", name, k + 1, nf); break; }
        uint32_t type, res;
        uint64_t raw_len, comp_len, fnv;
        memcpy(&type, buf + off, 4); memcpy(&res, buf + off + 4, 4); memcpy(&raw_len, buf + off + 8, 8);
        memcpy(&comp_len, buf + off + 16, 8); memcpy(&fnv, buf + off + 24, 8);
        off += 32;
        if (type < FT_META || type > (minor >= 5 ? FT_BEST : minor >= 4 ? FT_HIST : FT_END) || res != 0) { rc = fr_err_set(e, FR_EINPUT, "%s: frame %u has unknown type %u", name, k + 1, type); break; }
        if (comp_len > n - off) { rc = fr_err_set(e, FR_EINPUT, "%s: truncated (frame %u runs past the end of the file)", name, k + 1); break; }
        if (raw_len > SIZE_MAX || (rc = fr_mem_check_total(e, &declared, (size_t)raw_len, "%s: frame %u", name, k + 1))) {
            if (!rc) rc = fr_err_set(e, FR_ENOMEM, "%s: frame %u declares %llu bytes", name, k + 1, (unsigned long long)raw_len);
            break;
        }
        unsigned long long cs = ZSTD_getFrameContentSize(buf + off, comp_len);
        size_t fs = ZSTD_findFrameCompressedSize(buf + off, comp_len);
        if (cs == ZSTD_CONTENTSIZE_ERROR || cs == ZSTD_CONTENTSIZE_UNKNOWN || ZSTD_isError(fs) || fs != comp_len) {
            rc = fr_err_set(e, FR_EINPUT, "%s: frame %u: zstd frame is corrupt or truncated", name, k + 1);
            break;
        }
        if (cs != raw_len) { rc = fr_err_set(e, FR_EINPUT, "%s: frame %u: zstd content size %llu, record says %llu", name, k + 1, cs, (unsigned long long)raw_len); break; }
        /* raw_len comes from the file: a failed allocation is an input error, not an abort. */
        uint8_t *raw = malloc(raw_len ? raw_len : 1);
        if (!raw) { rc = fr_err_set(e, FR_ENOMEM, "%s: frame %u: out of memory (%llu bytes)", name, k + 1, (unsigned long long)raw_len); break; }
        size_t got = fr_zstd_decompress(raw, raw_len ? raw_len : 1, buf + off, comp_len);
        if (ZSTD_isError(got) || got != raw_len) {
            rc = fr_err_set(e, FR_EINPUT, "%s: frame %u: zstd data is corrupt (%s)", name, k + 1,
                            ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
            free(raw);
            break;
        }
        if (fr_fnv1a(FR_FNV_INIT, raw, raw_len) != fnv) {
            rc = fr_err_set(e, FR_EINPUT, "%s: frame %u: checksum mismatch", name, k + 1);
            free(raw);
            break;
        }
        fr_fmap_drop(buf + off, comp_len);   /* decoded: its mapped pages are no longer needed */
        off += comp_len;
        static const char *const names[] = {"", "META", "UNIT", "ACTQ", "END", "HIST", "BEST"};
        rd r = {raw, raw_len, 0, 0, e, name, names[type]};
        if ((k == 0) != (type == FT_META)) rfail(&r, "%s", "META must be the first frame and appear once");
        else if (type == FT_META) {
            dec_meta(&r, c);
            if (!r.bad) c->units = fr_xcalloc((size_t)c->n_units, sizeof *c->units);
        } else if (type == FT_UNIT) {
            if (units >= c->n_units || seen_actq) rfail(&r, "%s", "more unit frames than units");
            else { dec_unit(&r, &c->units[units], units); units++; }
        } else if (type == FT_HIST) {
            if (units < 1 || seen_actq) rfail(&r, "%s", "HIST frame out of place");
            else dec_hist(&r, &c->units[units - 1], units - 1);
        } else if (type == FT_BEST) {
            if (units < 1 || seen_actq) rfail(&r, "%s", "BEST frame out of place");
            else dec_best(&r, &c->units[units - 1], units - 1);
        } else if (type == FT_ACTQ) {
            if (seen_actq || units != c->n_units) rfail(&r, "%s", "ACTQ frame out of place");
            else { seen_actq = 1; dec_actq(&r, c); }
        } else {
            uint32_t cnt = rd_u32(&r);
            if (!r.bad && (cnt != k || !seen_actq)) rfail(&r, "%s", "END frame out of place");
            seen_end = 1;
        }
        if (!r.bad && r.off != r.n) rfail(&r, "%s", "has trailing bytes");
        free(raw);
        if (r.bad) { rc = e ? e->code : FR_EINPUT; if (!rc) rc = FR_EINPUT; break; }
        if (seen_end && k + 1 != nf) { rc = fr_err_set(e, FR_EINPUT, "%s: END frame is not the last frame", name); break; }
    }
    if (!rc && !seen_end) rc = fr_err_set(e, FR_EINPUT, "%s: truncated (no END frame)", name);
    if (!rc && off != n) rc = fr_err_set(e, FR_EINPUT, "%s: %zu bytes of trailing data after the END frame", name, n - off);
    if (!rc) {
        /* Cross-checks inside the file. */
        for (int u = 0; u < c->n_units && !rc; u++) {
            const fr_ckpt_unit *U = &c->units[u];
            int running = u == c->cur_unit;
            if (running != (U->status == FR_UNIT_RUNNING) && !(running && U->status == FR_UNIT_FALLBACK))
                rc = fr_err_set(e, FR_EINPUT, "%s: unit %s: status does not agree with the running unit", name, U->name);
            else if (running && U->n_loss != c->iter)
                rc = fr_err_set(e, FR_EINPUT, "%s: unit %s: %d losses for %d iterations", name, U->name, U->n_loss, c->iter);
            else if (U->n_best && (c->cfg.keep_best < 1 || U->method != FR_METHOD_FLEXROUND))
                rc = fr_err_set(e, FR_EINPUT, "%s: unit %s: a best iterate in a run without --keep-best FlexRound", name, U->name);
            for (int l = 0; l < U->n_layers && !rc; l++) {
                const fr_ckpt_layer *L = &U->layers[l];
                if (!running && U->status != FR_UNIT_PENDING && !L->has_result)
                    rc = fr_err_set(e, FR_EINPUT, "%s: unit %s layer %s: finished but has no codes", name, U->name, L->name);
                if (L->node < 1 || L->node >= c->n_nodes)
                    rc = fr_err_set(e, FR_EINPUT, "%s: unit %s layer %s: node index out of range", name, U->name, L->name);
            }
        }
    }
    if (rc) fr_ckpt_free(c);
    else snprintf(c->src, sizeof c->src, "%s", name);
    return rc;
}

/* The magic before the file is read (issue 14, item 6): the same messages as the full check. */
static int ckpt_head(const uint8_t *head, size_t n, uint64_t size, const char *path, const void *ctx, fr_err *e)
{
    (void)size; (void)ctx;
    if (n < 4 || memcmp(head, "FRTC", 4) == 0) return FR_OK;
    if (memcmp(head, "FRTM", 4) == 0) return fr_err_set(e, FR_EINPUT, "%s: is a model bundle (.frm), not a checkpoint", path);
    return fr_err_set(e, FR_EINPUT, "%s: not a checkpoint (bad magic)", path);
}

int fr_ckpt_load(const char *path, fr_ckpt *c, fr_err *e)
{
    memset(c, 0, sizeof *c);
    fr_fmap f;
    int rc = fr_fmap_open(path, FR_MAX_ALLOC, ckpt_head, NULL, &f, e);
    if (rc) return rc;
    rc = fr_ckpt_load_mem(f.p, f.n, path, c, e);
    fr_fmap_close(&f);
    return rc;
}
