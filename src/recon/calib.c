/* calib.c — the calibration cache: activation stores of the FP and the quantized path over the
 * calibration set, the full passes that fill them, and the memory plan that decides where they
 * live (issue 19).  Part of the reconstruction engine (state in recon_impl.h, public figures
 * fr_recon_cache_* / fr_recon_mem_* in recon.h).
 *
 * Design note
 *   Shards: under several MPI ranks (dp.h) each rank holds only its samples [sh_lo, sh_lo +
 *   sh_n) (recon.c's design note; one rank or --dp-cache replicate: all n_calib), and every row
 *   index below (stores, pieces, binds, gathers, spill chunks) counts from sh_lo.
 *   Ownership: the engine (struct fr_recon) owns, per node i, up to two copies of each path's
 *   store, sh_n x (c*h*w) floats: resident (fp[i], qs[i], fr_amalloc) and on disk (fps[i],
 *   qss[i], fr_spill).  fp[i] holds node i's output through the FP weights, qs[i] through the
 *   quantized ones (BRECQ's X~).  Node 0 (the network input) is shared by both paths: qs[0]
 *   aliases fp[0] and qss[0] aliases fps[0], so each is freed once.
 *   Lifetime: a store is produced when the unit that computes it begins (FP path) or ends
 *   (quantized path) and is needed until its last reader (last_reader[i], the last unit taking
 *   node i as an input) has ended; then it is dropped, unless every store fits max_cache_mb
 *   (2048 MB when unset) and the budget: then keep_all keeps them all so a finished unit can be
 *   re-run for the compare view.
 *   The plan (fr_calib_budget, before anything but the executors' sizes is known) picks one of:
 *   - resident: every live store in memory, as before issue 19 (the fastest: no copies);
 *   - spill: every store is written to disk when produced (zstd level 1, chunks aligned with the
 *     pass slices, src/io/spill.c) and only the current unit's hot set is in memory while it
 *     trains: the quantized-path inputs (qs[ext]), the FP target (fp[last]) and, with QDrop, the
 *     FP inputs.  fr_calib_hot loads them after the FP pass; fr_calib_cold frees them when the
 *     unit ends.  The passes stream everything else batch by batch through staging buffers.
 *     Per unit, when even the hot set does not fit, the unit trains "from disk": mini-batches
 *     are gathered from the spill files through an LRU of decompressed chunks sized to what the
 *     budget leaves (train_spill[k]).
 *   Pass slices: a unit's executor is planned for max(training batch, pass batch), and at 224x224
 *   a pass batch of 64 can need more than the budget (MobileNetV2's block_1_expand: 2.8 GiB).  A
 *   pass's bits are those of batches of prop_batch (the chunked convs stack a batch's samples
 *   into GEMMs), so a smaller pass batch would change them; instead each batch is cut into 2 or 4
 *   slices computed with the whole batch's chunks (fr_exec_forward_slice, fr_calib_piece), and
 *   the plan takes, per unit, the fewest slices that fit (pass_div[k]).  Spill chunks then
 *   divide the slice boundaries (pass_align).
 *   Results never depend on the plan: every copy holds the same floats (zstd is lossless), the
 *   passes compute the same batches with the same chunks, and the mini-batch indices come
 *   from the same RNG draws, so a spilled run is bit-identical to a resident one (tested:
 *   test_spill spill_*, tests/mem_spill.t.sh).
 *   Recomputation instead of spilling (issue 19's alternative) is not implemented: in a BRECQ
 *   partition a unit's stored output is the next unit's input, so recomputing it needs the
 *   previous input kept instead, which is as large or larger (MobileNetV2 blocks shrink
 *   spatially); disk is the cheaper copy at every unit measured (README "Memory").
 */
#include <stdlib.h>
#include <string.h>

#include "frtui/conv.h"
#include "frtui/dp.h"
#include "frtui/exec.h"
#include "frtui/ops.h"
#include "frtui/par.h"
#include "frtui/spill.h"

#include "recon_impl.h"

#define SPILL_CHUNK_BYTES ((size_t)1 << 20)   /* target chunk: ~1 MB raw (one 96x112x112 sample is 4.8 MB: 1 sample) */
#define SPILL_MARGIN ((size_t)4 << 20)        /* index arrays, allocator slack */

static size_t store_bytes(const fr_recon *r, int node) { return nsize(&r->fm.g, node) * (size_t)r->sh_n * sizeof(float); }
static int stored_by(const fr_recon *r, int i, int k) { return r->last_reader[i] > k || i == r->part.units[k].last; }

int fr_calib_piece(const fr_recon *r, int k, int n, int gb, int i, int *s0, int *nb, int *gn, int *off)
{
    int d = unit_pass_div(r, k), bs = i / d * gb, j = i % d;
    if (bs >= n) return 0;
    *gn = FR_MIN(gb, n - bs);
    *off = *gn * j / d;
    *s0 = bs + *off;
    *nb = *gn * (j + 1) / d - *off;
    return 1;
}

void fr_calib_forward(fr_exec *x, int nb, int gn, int off)
{
    if (nb == gn) fr_exec_forward(x, nb);
    else fr_exec_forward_slice(x, nb, gn, off);
}

static int gcd(int a, int b) { while (b) { int t = a % b; a = b; b = t; } return a; }

/* Samples per spill chunk must divide every piece boundary of the unit's passes (fr_spill_put
 * writes whole chunks): the slice of a whole batch, and the tail batch's slice ends. */
static int pass_align(const fr_recon *r, int k)
{
    int B = prop_batch(r), d = unit_pass_div(r, k), a = B, tail = r->sh_n % B;
    for (int j = 1; j < d; j++) a = gcd(gcd(a, B * j / d), tail * j / d);
    return a > 0 ? a : 1;
}

/* Rank `rank`'s shard of n samples over K ranks: whole pass batches of b (so each batch of the
 * full passes is the single process's, with its bits) when there are at least K batches, else
 * an even split of the samples. */
static void shard_of(int n, int b, int K, int rank, int *lo, int *cnt)
{
    int nbat = (n + b - 1) / b, a, z;
    if (nbat >= K) {
        a = (int)((int64_t)nbat * rank / K) * b;
        z = FR_MIN(n, (int)((int64_t)nbat * (rank + 1) / K) * b);
    } else {
        a = (int)((int64_t)n * rank / K);
        z = (int)((int64_t)n * (rank + 1) / K);
    }
    *lo = a;
    *cnt = z - a;
}

int fr_recon_shard_check(const char *what, int n_calib, int ranks, const fr_run_config *c, fr_err *e)
{
    if (ranks < 2 || c->dp_replicate || n_calib >= ranks) return FR_OK;
    return fr_err_set(e, FR_EINPUT, "%s: %d calibration samples cannot be sharded over %d MPI ranks; use more samples, "
                      "fewer ranks or --dp-cache replicate", what, n_calib, ranks);
}

int fr_calib_plan(fr_recon *r, fr_err *e)
{
    const fr_model *m = r->orig;
    const fr_graph *g = &r->fm.g;
    r->n_calib = r->cfg.n_calib > 0 && r->cfg.n_calib < m->calib.n ? r->cfg.n_calib : m->calib.n;
    r->sharded = r->dp_size > 1 && !r->cfg.dp_replicate;
    r->sh_lo = 0;
    r->sh_n = r->sh0_n = r->n_calib;
    if (r->sharded) {
        if (fr_recon_shard_check(m->meta.name, r->n_calib, r->dp_size, &r->cfg, e)) return e->code;
        int lo0;
        shard_of(r->n_calib, prop_batch(r), r->dp_size, r->dp_rank, &r->sh_lo, &r->sh_n);
        shard_of(r->n_calib, prop_batch(r), r->dp_size, 0, &lo0, &r->sh0_n);
    }
    int N = g->n_nodes;
    r->fp = fr_xcalloc((size_t)N, sizeof(float *));
    r->qs = fr_xcalloc((size_t)N, sizeof(float *));
    r->fps = fr_xcalloc((size_t)N, sizeof(fr_spill *));
    r->qss = fr_xcalloc((size_t)N, sizeof(fr_spill *));
    r->last_reader = fr_xmalloc((size_t)N * sizeof(int));
    r->train_spill = fr_xcalloc((size_t)(r->part.n ? r->part.n : 1), 1);
    r->unit_lru = fr_xcalloc((size_t)(r->part.n ? r->part.n : 1), sizeof(size_t));
    r->mem = fr_xcalloc((size_t)(r->part.n ? r->part.n : 1), sizeof(fr_mem_row));
    for (int i = 0; i < N; i++) r->last_reader[i] = -1;
    for (int k = 0; k < r->part.n; k++)
        for (int q = 0; q < r->part.units[k].n_ext; q++) r->last_reader[r->part.units[k].ext[q]] = k;
    /* Keep every store (enables compare on finished units) when the total fits the limit. */
    size_t total = 0;
    for (int i = 0; i < N; i++)
        if (r->last_reader[i] >= 0) total += 2 * store_bytes(r, i);
    size_t limit = r->cfg.max_cache_mb ? r->cfg.max_cache_mb << 20 : (size_t)2048 << 20;
    r->keep_all = total <= limit;
    size_t peak = fr_recon_cache_estimate(r);
    if (r->cfg.max_cache_mb && peak > ((size_t)r->cfg.max_cache_mb << 20)) {
        fr_err_set(e, FR_ENOMEM, "%s: the calibration caches need %.0f MB at peak (%d samples%s), more than "
                   "--max-cache-mb %zu; use fewer samples (--n-calib) or raise the limit",
                   m->meta.name, (double)peak / 1048576.0, r->sh_n, r->sharded ? " of this rank's shard" : "",
                   r->cfg.max_cache_mb);
        return e->code;
    }
    return FR_OK;
}

/* Live store bytes (both paths) while unit k runs, walking the units in order exactly as
 * begin/end add and drop them; per unit into live[k] when live != NULL.  Returns the peak. */
static size_t walk_live(const fr_recon *r, int keep_all, size_t *live_k)
{
    const fr_graph *g = &r->fm.g;
    size_t live = store_bytes(r, 0), peak = live;
    for (int k = 0; k < r->part.n; k++) {
        const fr_unit *u = &r->part.units[k];
        for (int i = u->first; i <= u->last; i++)
            if (stored_by(r, i, k)) live += 2 * store_bytes(r, i);
        if (live > peak) peak = live;
        if (live_k) live_k[k] = live;
        if (!keep_all)
            for (int i = 0; i < g->n_nodes; i++)
                if (r->last_reader[i] == k && i != 0) live -= 2 * store_bytes(r, i);
    }
    return peak;
}

size_t fr_recon_cache_estimate(const fr_recon *r) { return walk_live(r, r->keep_all, NULL); }

/* Bytes of unit k's hot set: quantized-path inputs, FP target, FP inputs with QDrop. */
static size_t hot_bytes(const fr_recon *r, int k)
{
    const fr_unit *u = &r->part.units[k];
    size_t b = store_bytes(r, u->last);
    for (int q = 0; q < u->n_ext; q++) {
        b += store_bytes(r, u->ext[q]);
        if (r->cfg.qdrop && u->ext[q] != 0) b += store_bytes(r, u->ext[q]);
    }
    return b;
}

/* Staging buffers of the streamed passes and the spill scratch (zstd buffers per part). */
static size_t stage_bytes(const fr_recon *r, int k, int gather, int maxb)
{
    const fr_graph *g = &r->fm.g;
    const fr_unit *u = &r->part.units[k];
    size_t per = nsize(g, u->last), B = (size_t)maxb;
    for (int q = 0; q < u->n_ext; q++) per += nsize(g, u->ext[q]);
    size_t b = B * per * sizeof(float);
    if (gather && r->cfg.qdrop)   /* the FP rows of a QDrop mini-batch */
        for (int q = 0; q < u->n_ext; q++) b += (size_t)r->cfg.batch * nsize(g, u->ext[q]) * sizeof(float);
    size_t chunk = 0;
    for (int i = u->first; i <= u->last; i++) chunk = FR_MAX(chunk, nsize(g, i) * sizeof(float));
    for (int q = 0; q < u->n_ext; q++) chunk = FR_MAX(chunk, nsize(g, u->ext[q]) * sizeof(float));
    chunk = FR_MAX(chunk, SPILL_CHUNK_BYTES);   /* a chunk is ~1 MB or one sample */
    /* per part: compressed and decompressed chunk buffers, zstd level-1 contexts (~1.5 MB) */
    return b + (size_t)fr_par_threads() * (2 * chunk + chunk / 64 + ((size_t)2 << 20)) + SPILL_MARGIN;
}

static size_t chunk_bytes_of(const fr_recon *r, int node, int align)
{
    size_t per = nsize(&r->fm.g, node);
    return (size_t)fr_spill_pick_chunk(per, align, SPILL_CHUNK_BYTES) * per * sizeof(float);
}

static void fmt_size(char *dst, size_t cap, double b)
{
    if (b >= (double)(1u << 30)) snprintf(dst, cap, "%.1f GiB", b / (double)(1u << 30));
    else snprintf(dst, cap, "%.1f MiB", b / (double)(1u << 20));
}

int fr_calib_budget(fr_recon *r, const fr_work *wk, fr_err *e)
{
    const fr_model *m = r->orig;
    int n = r->part.n;
    size_t rss = fr_mem_plan_base(), avail = fr_mem_available();
    /* Data parallel (dp.h): every rank on this machine holds its own cache (a shard, or all of
     * it with --dp-cache replicate; store_bytes counts what this rank holds), so each plans for
     * its share of what the machine has; --max-mem stays per process. */
    if (r->dp_size > 1) avail /= (size_t)fr_dp_local_size();
    /* Hard: what the run may not exceed.  Soft: what the plan aims at -- with no --max-mem, a
     * safe share (80 %) of what the machine (cgroup, rlimits, FRTUI_MEM_AVAILABLE) has now, so
     * the page cache, the inspector and other programs keep some room. */
    size_t hard = avail, soft = avail / 10 * 8;
    const char *kind = "available";
    if (r->cfg.max_mem) {
        size_t b = r->cfg.max_mem > rss ? r->cfg.max_mem - rss : 0;
        if (b < hard) { hard = b; kind = "--max-mem"; }
        /* Aim 5 % (at least 64 MB) below: allocator rounding, the kernel's page tables and the
         * spill files' page cache share a cgroup's limit with us. */
        size_t head = FR_MAX(b / 20, (size_t)64 << 20);
        soft = FR_MIN(hard, b > head ? b - head : 0);
    }
    r->mem_budget = r->cfg.max_mem ? r->cfg.max_mem : rss + soft;
    r->mem_base = rss;
    size_t K = wk->keep, ev0 = wk->eval[0];
    size_t *live = fr_xcalloc((size_t)(n ? n : 1), sizeof(size_t));
    r->spill = 0;
    r->pass_div = fr_xcalloc((size_t)(n ? n : 1), sizeof(int));
    r->eval_b = FR_MAX(1, wk->eval_b0);
    /* FRTUI_SPILL (tests, docs/TESTING.md): "hot" forces the spill plan with every hot set in
     * memory, "disk" forces every unit to gather from disk through a 3-chunk LRU (the most
     * evictions), whatever the machine has.  FRTUI_PASS_SLICES=2|4 cuts every unit's pass
     * batches into that many slices, whatever the plan. */
    const char *force = getenv("FRTUI_SPILL"), *fsl = getenv("FRTUI_PASS_SLICES");
    int forced = force && !strcmp(force, "hot") ? 1 : force && !strcmp(force, "disk") ? 2 : 0;
    int fdiv = fr_conv_legacy() ? -1 : fsl && !strcmp(fsl, "2") ? 1 : fsl && !strcmp(fsl, "4") ? 2 : -1;
    if (forced) soft = hard = SIZE_MAX / 4;
    /* Slices keep the bits only on the chunked kernels (the legacy linear rows follow the parts). */
    int d0 = fdiv >= 0 ? fdiv : 0, d1 = fdiv >= 0 ? fdiv : fr_conv_legacy() ? 0 : FR_PASS_DIVS - 1;
    /* 1. Everything resident (keeping all for compare when that fits too), with the units'
     * passes in as few slices as fit. */
    for (int pass = 0; pass < 2 && !forced; pass++) {
        if (pass == 1) { if (!r->keep_all) continue; r->keep_all = 0; }
        size_t peak = walk_live(r, r->keep_all, live);
        for (int d = d0; d <= d1; d++) {
            size_t wmax = K + ev0;
            for (int k = 0; k < n; k++) wmax = FR_MAX(wmax, FR_MAX(wk->big[d][k], ev0) + K);
            if (peak <= soft && wmax <= soft - peak) {
                for (int k = 0; k < n; k++) {
                    r->pass_div[k] = 1 << d;
                    size_t w = FR_MAX(wk->big[d][k], ev0) + K;
                    r->mem[k] = (fr_mem_row){live[k], w, live[k] + w, 0, unit_pass_batch(r, k), FR_MEM_RESIDENT};
                }
                free(live);
                return FR_OK;
            }
        }
    }
    r->keep_all = 0;
    /* 2. Spill.  The accuracy passes run when no unit holds anything: the largest batch that
     * fits alone (accuracy is counted per sample, whatever the batch). */
    size_t need_min = 0;
    int worst = -1;
    if (wk->eval_n > 0) {
        int i = 0;
        while (i + 1 < FR_WORK_EVAL && wk->eval[i] + K > soft) i++;
        r->eval_b = FR_MAX(1, wk->eval_b0 >> i);
        if (wk->eval[i] + K > hard) need_min = wk->eval[i] + K;
    }
    /* Per unit, the fastest that fits: its hot set in memory with whole pass batches, then in
     * slices; else its mini-batches gathered from disk (the rest of the budget as LRU), with
     * the fewest slices that leave room for the smallest LRU. */
    walk_live(r, 0, live);
    int B = prop_batch(r);
    for (int k = 0; k < n; k++) {
        const fr_unit *u = &r->part.units[k];
        size_t hot = hot_bytes(r, k), w = 0;
        fr_mem_row *row = &r->mem[k];
        int done = 0;
        for (int d = d0; d <= d1 && !done && forced != 2; d++) {
            r->pass_div[k] = 1 << d;
            w = wk->big[d][k] + K + stage_bytes(r, k, 0, unit_plan_batch(r, k));
            if (w + hot <= soft) {
                *row = (fr_mem_row){hot, w, w + hot, live[k], unit_pass_batch(r, k), FR_MEM_SPILL};
                done = 1;
            }
        }
        if (done) continue;
        /* From disk: the LRU of each gathered store gets an equal share of what is left. */
        int ng = 1 + u->n_ext * (r->cfg.qdrop ? 2 : 1);
        size_t minlru = chunk_bytes_of(r, u->last, B);
        for (int q = 0; q < u->n_ext; q++) minlru += chunk_bytes_of(r, u->ext[q], B) * (r->cfg.qdrop ? 2 : 1);
        for (int d = d0; d <= d1; d++) {
            r->pass_div[k] = 1 << d;
            w = wk->big[d][k] + K + stage_bytes(r, k, 1, unit_plan_batch(r, k));
            if (w + minlru <= soft) break;
        }
        size_t left = soft > w ? soft - w : 0;
        size_t lru = forced == 2 ? 3 * chunk_bytes_of(r, u->last, B) : left / (size_t)ng;
        r->unit_lru[k] = lru;
        r->train_spill[k] = 1;
        size_t cache = FR_MAX(lru * (size_t)ng, minlru);
        *row = (fr_mem_row){cache, w, w + cache, live[k], unit_pass_batch(r, k), FR_MEM_DISK};
        if (w + minlru > need_min) { need_min = w + minlru; worst = k; }
    }
    free(live);
    if (need_min > hard) {
        char want[32], have[32], least[32], where[160] = "the accuracy pass";
        fmt_size(want, sizeof want, (double)need_min);
        fmt_size(have, sizeof have, (double)hard);
        /* What --max-mem would have to be: the need on top of what the program holds now,
         * rounded up to the next 0.1 GiB / 16 MiB so the figure given works when retried. */
        size_t unit = need_min + rss >= ((size_t)1 << 30) ? ((size_t)1 << 30) / 10 : (size_t)16 << 20;
        fmt_size(least, sizeof least, (double)((need_min + rss + unit) / unit * unit));
        if (worst >= 0)
            snprintf(where, sizeof where, "unit %s at pass batch %d", r->part.units[worst].name, unit_pass_batch(r, worst));
        return fr_err_set(e, FR_ENOMEM, "%s: the run (calibration caches of %d samples spilled to disk, training batch "
                          "%d; %s) needs %s, more than the %s %s%s; the smallest --max-mem that fits is about %s",
                          m->meta.name, r->n_calib, r->cfg.batch, where, want, have, kind,
                          r->cfg.max_mem ? " budget after what the program already holds" : "", least);
    }
    /* The disk is a budget too: a small file whose derived sizes are huge (issue 14 item 3: a
     * flipped pad bit) would otherwise trade the OOM killer for tens of GB of spill files.
     * Counted before compression, the bound zstd can only improve on. */
    size_t disk = 0;
    int dworst = 0;
    for (int k = 0; k < n; k++)
        if (r->mem[k].disk > disk) disk = r->mem[k].disk, dworst = k;
    const char *dir;
    size_t room = fr_spill_room(r->cfg.spill_dir, &dir);
    if (r->dp_size > 1) room /= (size_t)fr_dp_local_size();   /* every rank here spills its own cache */
    if (disk > room) {
        char want[32], have[32];
        fmt_size(want, sizeof want, (double)disk);
        fmt_size(have, sizeof have, (double)room);
        return fr_err_set(e, FR_ENOMEM, "%s: the run's calibration caches of %d samples do not fit in memory and need up to "
                          "%s on disk (at unit %s, before compression), more than the %s free in %s; free some space, point "
                          "--spill-dir elsewhere or give --n-calib fewer samples", m->meta.name, r->n_calib, want, r->part.units[dworst].name, have, dir);
    }
    r->spill = 1;
    return FR_OK;
}

/* ---- resident copies ----------------------------------------------------------------------- */

static float *res_alloc(fr_recon *r, int i)
{
    float *p = fr_amalloc(store_bytes(r, i));
    if (p) r->res_bytes += store_bytes(r, i);
    return p;
}

static void res_free(fr_recon *r, float **p, int i)
{
    if (*p) { fr_afree(*p); r->res_bytes -= store_bytes(r, i); }
    *p = NULL;
}

/* Frees node i's resident copies (both paths, once when aliased). */
static void drop_res(fr_recon *r, int i)
{
    if (r->qs[i] == r->fp[i]) r->qs[i] = NULL;
    res_free(r, &r->qs[i], i);
    res_free(r, &r->fp[i], i);
}

static void drop_spill(fr_recon *r, int i)
{
    if (r->qss[i] != r->fps[i]) fr_spill_free(r->qss[i]);
    fr_spill_free(r->fps[i]);
    r->qss[i] = r->fps[i] = NULL;
}

/* A store on disk for node i, its chunks aligned with the pieces (`align`) of the pass that puts it. */
static fr_spill *spill_new(fr_recon *r, int i, int align, fr_err *e)
{
    size_t per = nsize(&r->fm.g, i);
    return fr_spill_new(r->cfg.spill_dir[0] ? r->cfg.spill_dir : NULL, per, r->sh_n,
                        fr_spill_pick_chunk(per, align, SPILL_CHUNK_BYTES), 0, e);
}

int fr_calib_load_input(fr_recon *r, fr_err *e)
{
    const fr_model *m = r->orig;
    /* The network input is shared by both paths. */
    size_t per = nsize(&r->fm.g, 0);
    if (!r->spill) {
        r->fp[0] = res_alloc(r, 0);
        if (!r->fp[0]) return fr_err_set(e, FR_ENOMEM, "out of memory for calibration inputs");
        for (int s = 0; s < r->sh_n; s++) fr_dataset_sample(&m->calib, &m->meta, r->sh_lo + s, r->fp[0] + (size_t)s * per);
        r->qs[0] = r->fp[0];
        return FR_OK;
    }
    r->fps[0] = spill_new(r, 0, PROP_BATCH, e);
    if (!r->fps[0]) return e->code;
    r->qss[0] = r->fps[0];
    float *buf = fr_amalloc((size_t)PROP_BATCH * per * sizeof(float));
    if (!buf) return fr_err_set(e, FR_ENOMEM, "out of memory for calibration inputs");
    int rc = FR_OK;
    for (int s0 = 0; s0 < r->sh_n && !rc; s0 += PROP_BATCH) {
        int nb = FR_MIN(PROP_BATCH, r->sh_n - s0);
        for (int s = 0; s < nb; s++) fr_dataset_sample(&m->calib, &m->meta, r->sh_lo + s0 + s, buf + (size_t)s * per);
        rc = fr_spill_put(r->fps[0], s0, nb, buf, e);
    }
    fr_afree(buf);
    return rc;
}

int fr_calib_have(const fr_recon *r, int i)
{
    return (r->fp[i] || r->fps[i]) && (r->qs[i] || r->qss[i]);
}

int fr_calib_resident(const fr_recon *r, int i)
{
    return r->fp[i] && r->qs[i];
}

/* Loads one store from disk into a resident copy. */
static int load_res(fr_recon *r, float **dst, fr_spill *src, int i, fr_err *e)
{
    if (*dst) return FR_OK;
    if (!src) return fr_err_set(e, FR_EINPUT, "calibration cache of %s is missing", r->fm.g.nodes[i].name);
    *dst = res_alloc(r, i);
    if (!*dst)
        return fr_err_set(e, FR_ENOMEM, "out of memory for the calibration cache of %s (%.0f MB)", r->fm.g.nodes[i].name,
                          (double)store_bytes(r, i) / 1048576.0);
    int rc = fr_spill_get(src, 0, r->sh_n, *dst, e);
    if (rc) res_free(r, dst, i);
    return rc;
}

int fr_calib_hot(fr_recon *r, int k, fr_err *e)
{
    if (!r->spill) return FR_OK;
    const fr_unit *u = &r->part.units[k];
    if (r->train_spill[k]) {
        /* Gathered from disk: the LRU bytes are shared by water-filling -- a store smaller than
         * its share is cached whole (every draw a hit), the rest goes to the larger ones. */
        fr_spill *g[2 * FR_UNIT_MAX_EXT + 1];
        size_t sz[2 * FR_UNIT_MAX_EXT + 1];
        int ng = 0;
        g[ng] = r->fps[u->last]; sz[ng++] = store_bytes(r, u->last);
        for (int q = 0; q < u->n_ext; q++) {
            int x = u->ext[q];
            g[ng] = r->qss[x]; sz[ng++] = store_bytes(r, x);
            if (r->cfg.qdrop && x != 0) { g[ng] = r->fps[x]; sz[ng++] = store_bytes(r, x); }
        }
        size_t left = r->unit_lru[k] * (size_t)ng;
        unsigned char set[2 * FR_UNIT_MAX_EXT + 1] = {0};
        for (int left_n = ng; left_n > 0; left_n--) {
            int best = -1;   /* the smallest store not yet given its share */
            for (int i = 0; i < ng; i++)
                if (!set[i] && (best < 0 || sz[i] < sz[best])) best = i;
            size_t share = FR_MIN(sz[best] + (sz[best] >> 4), left / (size_t)left_n);   /* + slack: chunk rounding */
            fr_spill_set_lru(g[best], share);
            set[best] = 1;
            left -= share;
        }
        return FR_OK;
    }
    int rc = load_res(r, &r->fp[u->last], r->fps[u->last], u->last, e);
    for (int q = 0; q < u->n_ext && !rc; q++) {
        int x = u->ext[q];
        if (x == 0) {
            rc = load_res(r, &r->fp[0], r->fps[0], 0, e);
            r->qs[0] = r->fp[0];
            continue;
        }
        rc = load_res(r, &r->qs[x], r->qss[x], x, e);
        if (!rc && r->cfg.qdrop) rc = load_res(r, &r->fp[x], r->fps[x], x, e);
    }
    return rc;
}

void fr_calib_cold(fr_recon *r)
{
    if (!r->spill) return;
    for (int i = 0; i < r->fm.g.n_nodes; i++) {
        drop_res(r, i);
        if (r->fps[i]) fr_spill_drop_cache(r->fps[i]);
        if (r->qss[i] && r->qss[i] != r->fps[i]) fr_spill_drop_cache(r->qss[i]);
    }
}

void fr_calib_release(fr_recon *r, int k)
{
    const fr_unit *u = &r->part.units[k];
    fr_calib_cold(r);
    /* Drop stores no later unit reads. */
    if (!r->keep_all)
        for (int i = 1; i < r->fm.g.n_nodes; i++)
            if (r->last_reader[i] <= k && i != u->last) { drop_res(r, i); drop_spill(r, i); }
    if (!r->keep_all && r->last_reader[u->last] < 0 && u->last != r->fm.g.n_nodes - 1) {
        drop_res(r, u->last);
        drop_spill(r, u->last);
    }
}

void fr_calib_free(fr_recon *r)
{
    for (int i = 0; i < r->fm.g.n_nodes && r->fp; i++) { drop_res(r, i); drop_spill(r, i); }
    free(r->fp); free(r->qs); free(r->fps); free(r->qss); free(r->last_reader);
    free(r->train_spill); free(r->unit_lru); free(r->mem); free(r->pass_div);
    r->pass_div = NULL;
    r->fp = r->qs = NULL;
    r->fps = r->qss = NULL;
    r->last_reader = NULL;
    r->train_spill = NULL;
    r->unit_lru = NULL;
    r->mem = NULL;
}

/* ---- full-calibration passes --------------------------------------------------------------- */

void fr_calib_stage_free(fr_calib_stage *st)
{
    for (int q = 0; q < FR_UNIT_MAX_EXT + 1; q++) { fr_afree(st->buf[q]); st->buf[q] = NULL; st->cap[q] = 0; }
}

/* Rows [s0, s0 + nb) of node i on path q (0 = FP, 1 = quantized): the resident store itself,
 * or staged from disk into st->buf[slot] (grown to nb samples when smaller). */
static const float *rows(fr_recon *r, int q, int i, int s0, int nb, fr_calib_stage *st, int slot, fr_err *e)
{
    size_t per = nsize(&r->fm.g, i);
    float *res = q ? r->qs[i] : r->fp[i];
    if (res) return res + (size_t)s0 * per;
    fr_spill *sp = q ? r->qss[i] : r->fps[i];
    if (!sp) { fr_err_set(e, FR_EINPUT, "calibration cache of %s is missing", r->fm.g.nodes[i].name); return NULL; }
    if (st->cap[slot] < nb) {
        fr_afree(st->buf[slot]);
        st->buf[slot] = fr_amalloc((size_t)nb * per * sizeof(float));
        st->cap[slot] = st->buf[slot] ? nb : 0;
    }
    if (!st->buf[slot]) { fr_err_set(e, FR_ENOMEM, "out of memory for a calibration batch"); return NULL; }
    if (fr_spill_get(sp, s0, nb, st->buf[slot], e)) return NULL;
    return st->buf[slot];
}

int fr_calib_bind(fr_recon *r, fr_exec *x, int q, int s0, int nb, fr_calib_stage *st, fr_err *e)
{
    for (int k = 0; k < fr_exec_n_inputs(x); k++) {
        const float *p = rows(r, q, fr_exec_input_node(x, k), s0, nb, st, k, e);
        if (!p) return e->code;
        fr_exec_bind_input(x, k, p);
    }
    return FR_OK;
}

/* Runs the unit over all calibration samples from the path-q stores (0 = FP, 1 = quantized).
 * When out != 0 the outputs of nodes that later units read (and of the last node) are written
 * to the same path's stores: resident, or spilled batch by batch.  When loss != NULL the loss
 * against fp[last] is accumulated (same reduction as training). */
/* acc + sum of (y - t)^2 in double, one element after another.  A function of its own so the
 * running sum stays in a register (noinline: inlined, GCC 12 still spilled it): inside
 * fr_calib_pass it was stored and reloaded every element, a store-forwarding chain that was
 * 27 % of the stem unit's set-up.  Same additions, same order, same bits. */
static __attribute__((noinline)) double sumsq_diff(const float *restrict y, const float *restrict t, size_t n, double acc)
{
    for (size_t j = 0; j < n; j++) {
        const double d = (double)y[j] - t[j];
        acc += d * d;
    }
    return acc;
}

int fr_calib_pass(fr_recon *r, fr_exec *x, const fr_unit *u, int q, int out, double *loss, fr_err *e)
{
    const fr_graph *g = &r->fm.g;
    int k = (int)(u - r->part.units);
    float **res = q ? r->qs : r->fp;
    fr_spill **sp = q ? r->qss : r->fps;
    if (out)
        for (int i = u->first; i <= u->last; i++) {
            if (!stored_by(r, i, k)) continue;
            if (!r->spill && !res[i]) {
                res[i] = res_alloc(r, i);
                if (!res[i])
                    return fr_err_set(e, FR_ENOMEM, "out of memory for the calibration cache of %s (%.0f MB)",
                                      g->nodes[i].name, (double)store_bytes(r, i) / 1048576.0);
            }
            if (r->spill) {
                res_free(r, &res[i], i);   /* a stale resident copy would shadow the new data */
                if (!sp[i] && !(sp[i] = spill_new(r, i, pass_align(r, k), e))) return e->code;
                /* The FP target of a unit that trains from memory: kept as it is produced, not
                 * read back from disk by fr_calib_hot (it is part of the unit's hot set). */
                if (!q && i == u->last && !r->train_spill[k] && !(res[i] = res_alloc(r, i)))
                    return fr_err_set(e, FR_ENOMEM, "out of memory for the calibration cache of %s (%.0f MB)",
                                      g->nodes[i].name, (double)store_bytes(r, i) / 1048576.0);
            }
        }
    size_t oper = nsize(g, u->last);
    int hw = g->nodes[u->last].h * g->nodes[u->last].w;
    double acc = 0, part = 0;
    fr_calib_stage st = {{0}, {0}};
    int rc = FR_OK, s0, nb, gn, off;
    for (int p = 0; !rc && fr_calib_piece(r, k, r->sh_n, prop_batch(r), p, &s0, &nb, &gn, &off); p++) {
        if (!nb) continue;
        if ((rc = fr_calib_bind(r, x, q, s0, nb, &st, e))) break;
        fr_calib_forward(x, nb, gn, off);
        if (out)
            for (int i = u->first; i <= u->last && !rc; i++) {
                if (!stored_by(r, i, k)) continue;
                if (res[i]) fr_copy((size_t)nb * nsize(g, i), res[i] + (size_t)s0 * nsize(g, i), fr_exec_out(x, i));
                if (r->spill) rc = fr_spill_put(sp[i], s0, nb, fr_exec_out(x, i), e);
            }
        if (loss && !rc) {
            const float *y = fr_exec_output(x), *t = rows(r, 0, u->last, s0, nb, &st, FR_UNIT_MAX_EXT, e);
            if (!t) { rc = e->code; break; }
            /* Summed in groups of PROP_BATCH samples whatever the pass batch: the same
             * additions in the same order, so the loss does not depend on the plan. */
            part = sumsq_diff(y, t, (size_t)nb * oper, part);
            if ((s0 + nb) % PROP_BATCH == 0 || s0 + nb == r->sh_n) { acc += part; part = 0; }
        }
    }
    fr_calib_stage_free(&st);
    /* A sharded cache: every rank passed over its own samples; the loss is the ranks' partial
     * sums added in rank order (each rank calls this pass, so each reaches the exchange; an
     * error on one rank still enters it, then every rank sees a failed sum below). */
    if (loss && r->sharded) {
        double v[2] = {rc ? 0 : acc, rc ? 1 : 0};
        fr_dp_sum_d(v, 2);
        acc = v[0];
        if (!rc && v[1] > 0) rc = fr_err_set(e, FR_EIO, "a calibration pass failed on another MPI rank");
    }
    if (rc) return rc;
    if (loss) *loss = acc / ((double)r->n_calib * hw);
    return FR_OK;
}

/* Mini-batch gathers are memory-bound passes over B activations (9.6 MB each for a 96-channel
 * 28x28 unit), as costly as the GEMMs on small units, so they are split over the kernels'
 * parts (par.h) by sample. */
typedef struct gather_job { float *dst; const float *src; const int32_t *idx; int n; size_t per; } gather_job;

static void gather_part(void *ctx, int part, int nparts)
{
    const gather_job *j = ctx;
    int lo, hi;
    fr_par_range(j->n, part, nparts, &lo, &hi);
    for (int k = lo; k < hi; k++)
        memcpy(j->dst + (size_t)k * j->per, j->src + (size_t)j->idx[k] * j->per, j->per * sizeof(float));
}

const float *fr_calib_store(const fr_recon *r, int q, int i) { return q ? r->qs[i] : r->fp[i]; }

int fr_calib_gather(fr_recon *r, int q, int i, const int32_t *idx, int n, float *dst, fr_err *e)
{
    const float *res = q ? r->qs[i] : r->fp[i];
    if (res) {
        gather_job gj = {dst, res, idx, n, nsize(&r->fm.g, i)};
        fr_par_run(gather_part, &gj);
        return FR_OK;
    }
    fr_spill *sp = q ? r->qss[i] : r->fps[i];
    if (!sp) return fr_err_set(e, FR_EINPUT, "calibration cache of %s is missing", r->fm.g.nodes[i].name);
    return fr_spill_gather(sp, idx, n, dst, e);
}

/* ---- the plan, for the UI and the CLI ------------------------------------------------------ */

const fr_mem_row *fr_recon_mem_plan(const fr_recon *r, fr_mem_summary *s)
{
    if (s) {
        memset(s, 0, sizeof *s);
        s->budget = r->mem_budget;
        s->base = r->mem_base;
        s->spill = r->spill;
        s->n = r->part.n;
        s->eval_batch = r->eval_b;
        for (int k = 0; k < r->part.n; k++) {
            s->peak = FR_MAX(s->peak, r->mem[k].total);
            s->disk_peak = FR_MAX(s->disk_peak, r->spill ? r->mem[k].disk : 0);
        }
    }
    return r->mem;
}

size_t fr_recon_resident_bytes(const fr_recon *r) { return r->res_bytes; }

static const char *mode_name(fr_mem_mode m) { return m == FR_MEM_RESIDENT ? "memory" : m == FR_MEM_SPILL ? "spill" : "disk"; }

void fr_recon_mem_plan_print(const fr_recon *r, FILE *f)
{
    fr_mem_summary s;
    const fr_mem_row *row = fr_recon_mem_plan(r, &s);
    char b[5][32];
    fmt_size(b[0], sizeof b[0], (double)s.budget);
    fmt_size(b[1], sizeof b[1], (double)s.base);
    fmt_size(b[2], sizeof b[2], (double)(s.base + s.peak));
    fprintf(f, "memory plan: budget %s (%s), program and data %s, planned peak %s; caches %s; accuracy at batch %d\n",
            b[0], r->cfg.max_mem ? "--max-mem" : "80% of available", b[1], b[2],
            s.spill ? "spilled to disk (zstd), each unit's hot set in memory" : "in memory", s.eval_batch);
    if (r->dp_size > 1)   /* printed by rank 0: its own figures */
        fprintf(f, "  data parallel, %d ranks: %s\n", r->dp_size, r->sharded ? "the calibration cache is sharded" : "every rank holds the whole calibration cache (--dp-cache replicate)");
    if (r->sharded)
        fprintf(f, "  this rank holds samples [%d, %d) of %d; the figures below are its own\n", r->sh_lo, r->sh_lo + r->sh_n, r->n_calib);
    fprintf(f, "  %-4s %-28s %10s %10s %10s %10s %5s  %s\n", "unit", "name", "caches", "work", "total", "on disk", "batch",
            "where");
    for (int k = 0; k < s.n; k++) {
        fmt_size(b[0], sizeof b[0], (double)row[k].cache);
        fmt_size(b[1], sizeof b[1], (double)row[k].work);
        fmt_size(b[2], sizeof b[2], (double)row[k].total);
        fmt_size(b[3], sizeof b[3], (double)row[k].disk);
        fprintf(f, "  %-4d %-28.28s %10s %10s %10s %10s %5d  %s\n", k + 1, r->part.units[k].name, b[0], b[1], b[2],
                row[k].mode == FR_MEM_RESIDENT ? "-" : b[3], row[k].batch, mode_name(row[k].mode));
    }
}

const char *fr_mem_mode_name(fr_mem_mode m) { return mode_name(m); }
