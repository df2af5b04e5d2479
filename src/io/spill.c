/* spill.c — activation stores on disk in zstd-compressed chunks; contract and design note in
 * include/frtui/spill.h. */
#include "frtui/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "frtui/par.h"

/* zstd level 1: measured on MobileNetV2 activations it compresses at hundreds of MB/s per core,
 * the only level fast enough to hide behind the passes (README "Memory"). */
#define SPILL_LEVEL 1

struct fr_spill {
    int fd;
    size_t per, cbytes;            /* floats per sample; bytes of a full chunk */
    int n, chunk, nchunks;
    int64_t *off;
    uint32_t *len;                 /* compressed bytes; 0 = chunk not written */
    int64_t end;
    pthread_mutex_t mu;            /* end, during a parallel put */
    /* LRU of decompressed chunks (gather) */
    int nslots;
    float **slot;
    int *slot_chunk, *chunk_slot;
    uint64_t *slot_used, *slot_pin, *chunk_pend, tick, epoch;
    /* per-part scratch */
    void *zbuf[FR_PAR_MAX];
    float *fbuf[FR_PAR_MAX];
    ZSTD_CCtx *cctx[FR_PAR_MAX];
    ZSTD_DCtx *dctx[FR_PAR_MAX];
    int err;                       /* first error of a parallel region (errno or -1 zstd) */
    double disk;
};

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static fr_spill_stats stats;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void stats_add(double raw_w, double packed_w, double raw_r, double put_s, double get_s, double disk)
{
    pthread_mutex_lock(&stats_mu);
    stats.raw_written += raw_w; stats.packed_written += packed_w; stats.raw_read += raw_r;
    stats.put_s += put_s; stats.get_s += get_s; stats.disk_bytes += disk;
    pthread_mutex_unlock(&stats_mu);
}

void fr_spill_stats_get(fr_spill_stats *st)
{
    pthread_mutex_lock(&stats_mu);
    *st = stats;
    pthread_mutex_unlock(&stats_mu);
}

void fr_spill_stats_reset(void)
{
    pthread_mutex_lock(&stats_mu);
    double d = stats.disk_bytes;
    memset(&stats, 0, sizeof stats);
    stats.disk_bytes = d;   /* live files stay live */
    pthread_mutex_unlock(&stats_mu);
}

int fr_spill_pick_chunk(size_t per, int align, size_t target_bytes)
{
    int c = align > 0 ? align : 1;
    while (c > 1 && (size_t)c * per * sizeof(float) > target_bytes) c /= 2;
    return c;
}

static const char *spill_dir(const char *dir)
{
    if (!dir || !*dir) dir = getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

size_t fr_spill_room(const char *dir, const char **used_dir)
{
    dir = spill_dir(dir);
    if (used_dir) *used_dir = dir;
    uint64_t o = fr_env_size("FRTUI_DISK_AVAILABLE");
    if (o) return o > SIZE_MAX ? SIZE_MAX : (size_t)o;
    struct statvfs v;
    if (statvfs(dir, &v) != 0) return SIZE_MAX;   /* a missing directory fails at fr_spill_new, with its reason */
    uint64_t b = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    return b > SIZE_MAX ? SIZE_MAX : (size_t)b;
}

fr_spill *fr_spill_new(const char *dir, size_t per, int n, int chunk, size_t lru_bytes, fr_err *e)
{
    dir = spill_dir(dir);
    FR_ASSERT(per > 0 && n > 0 && chunk > 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/frtui-spill-XXXXXX", dir);
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        fr_err_set(e, FR_EIO, "%s: cannot create a spill file for the calibration caches: %s", dir, strerror(errno));
        return NULL;
    }
    unlink(path);   /* anonymous from now on: the kernel frees it with the descriptor, whatever ends us */
    fr_spill *s = fr_xcalloc(1, sizeof *s);
    s->fd = fd;
    s->per = per;
    s->n = n;
    s->chunk = chunk;
    s->cbytes = (size_t)chunk * per * sizeof(float);
    s->nchunks = (n + chunk - 1) / chunk;
    s->off = fr_xcalloc((size_t)s->nchunks, sizeof *s->off);
    s->len = fr_xcalloc((size_t)s->nchunks, sizeof *s->len);
    s->chunk_slot = fr_xmalloc((size_t)s->nchunks * sizeof(int));
    s->chunk_pend = fr_xcalloc((size_t)s->nchunks, sizeof(uint64_t));
    for (int c = 0; c < s->nchunks; c++) s->chunk_slot[c] = -1;
    size_t ns = lru_bytes / s->cbytes;
    s->nslots = (int)FR_MAX(1, FR_MIN(ns, (size_t)s->nchunks));
    s->slot = fr_xcalloc((size_t)s->nslots, sizeof(float *));
    s->slot_chunk = fr_xmalloc((size_t)s->nslots * sizeof(int));
    s->slot_used = fr_xcalloc((size_t)s->nslots, sizeof(uint64_t));
    s->slot_pin = fr_xcalloc((size_t)s->nslots, sizeof(uint64_t));
    for (int i = 0; i < s->nslots; i++) s->slot_chunk[i] = -1;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void fr_spill_drop_cache(fr_spill *s)
{
    if (!s) return;
    for (int i = 0; i < s->nslots; i++) {
        fr_afree(s->slot[i]);
        s->slot[i] = NULL;
        if (s->slot_chunk[i] >= 0) s->chunk_slot[s->slot_chunk[i]] = -1;
        s->slot_chunk[i] = -1;
    }
    for (int p = 0; p < FR_PAR_MAX; p++) {
        free(s->zbuf[p]); fr_afree(s->fbuf[p]);
        s->zbuf[p] = NULL; s->fbuf[p] = NULL;
        ZSTD_freeCCtx(s->cctx[p]); ZSTD_freeDCtx(s->dctx[p]);
        s->cctx[p] = NULL; s->dctx[p] = NULL;
    }
}

void fr_spill_free(fr_spill *s)
{
    if (!s) return;
    fr_spill_drop_cache(s);
    close(s->fd);
    stats_add(0, 0, 0, 0, 0, -s->disk);
    pthread_mutex_destroy(&s->mu);
    free(s->off); free(s->len); free(s->chunk_slot); free(s->chunk_pend);
    free(s->slot); free(s->slot_chunk); free(s->slot_used); free(s->slot_pin);
    free(s);
}

int fr_spill_chunk(const fr_spill *s) { return s->chunk; }

void fr_spill_set_lru(fr_spill *s, size_t lru_bytes)
{
    fr_spill_drop_cache(s);
    size_t ns = lru_bytes / s->cbytes;
    s->nslots = (int)FR_MAX(1, FR_MIN(ns, (size_t)s->nchunks));
    free(s->slot); free(s->slot_chunk); free(s->slot_used); free(s->slot_pin);
    s->slot = fr_xcalloc((size_t)s->nslots, sizeof(float *));
    s->slot_chunk = fr_xmalloc((size_t)s->nslots * sizeof(int));
    s->slot_used = fr_xcalloc((size_t)s->nslots, sizeof(uint64_t));
    s->slot_pin = fr_xcalloc((size_t)s->nslots, sizeof(uint64_t));
    for (int i = 0; i < s->nslots; i++) s->slot_chunk[i] = -1;
}
size_t fr_spill_lru_bytes(const fr_spill *s) { return (size_t)s->nslots * s->cbytes; }

static int chunk_samples(const fr_spill *s, int c) { return FR_MIN(s->chunk, s->n - c * s->chunk); }

static int write_all(int fd, const void *p, size_t n, int64_t off)
{
    const char *b = p;
    while (n) {
        ssize_t k = pwrite(fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? errno : ENOSPC;
        b += k; n -= (size_t)k; off += k;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n, int64_t off)
{
    char *b = p;
    while (n) {
        ssize_t k = pread(fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? errno : EIO;
        b += k; n -= (size_t)k; off += k;
    }
    return 0;
}

/* Part scratch: a compressed-chunk buffer (and a decompressed one for partial reads). */
static void *zscratch(fr_spill *s, int p)
{
    if (!s->zbuf[p]) s->zbuf[p] = fr_xmalloc(ZSTD_compressBound(s->cbytes));
    return s->zbuf[p];
}

typedef struct put_job { fr_spill *s; int c0, c1, s0; const float *src; double packed; } put_job;

static void put_part(void *ctx, int part, int nparts)
{
    put_job *j = ctx;
    fr_spill *s = j->s;
    int lo, hi;
    fr_par_range(j->c1 - j->c0, part, nparts, &lo, &hi);
    if (lo >= hi) return;
    void *z = zscratch(s, part);
    if (!s->cctx[part]) s->cctx[part] = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(s->cbytes);
    double packed = 0;
    for (int c = j->c0 + lo; c < j->c0 + hi; c++) {
        const float *src = j->src + ((size_t)c * s->chunk - (size_t)j->s0) * s->per;
        size_t raw = (size_t)chunk_samples(s, c) * s->per * sizeof(float);
        size_t k = ZSTD_compressCCtx(s->cctx[part], z, cap, src, raw, SPILL_LEVEL);
        if (ZSTD_isError(k)) { s->err = -1; return; }
        pthread_mutex_lock(&s->mu);
        int64_t off = s->end;
        s->end += (int64_t)k;
        pthread_mutex_unlock(&s->mu);
        int rc = write_all(s->fd, z, k, off);
        if (rc) { s->err = rc; return; }
        s->off[c] = off;
        s->len[c] = (uint32_t)k;
        packed += (double)k;
    }
    pthread_mutex_lock(&s->mu);
    j->packed += packed;
    pthread_mutex_unlock(&s->mu);
}

static int io_error(fr_spill *s, fr_err *e, const char *what)
{
    int err = s->err;
    s->err = 0;
    if (err < 0) return fr_err_set(e, FR_EIO, "calibration cache spill: %s: zstd failed (corrupt or truncated spill file)", what);
    return fr_err_set(e, FR_EIO, "calibration cache spill: %s: %s", what, strerror(err));
}

int fr_spill_put(fr_spill *s, int s0, int cnt, const float *src, fr_err *e)
{
    FR_ASSERT(s0 % s->chunk == 0 && s0 >= 0 && cnt > 0 && s0 + cnt <= s->n);
    FR_ASSERT((s0 + cnt) % s->chunk == 0 || s0 + cnt == s->n);
    double t0 = now_s();
    put_job j = {s, s0 / s->chunk, (s0 + cnt + s->chunk - 1) / s->chunk, s0, src, 0};
    /* A rewritten chunk's old bytes stay dead in the file: count only what is live. */
    double old = 0;
    for (int c = j.c0; c < j.c1; c++) old += s->len[c];
    s->err = 0;
    fr_par_run(put_part, &j);
    if (s->err) return io_error(s, e, "write");
    for (int c = j.c0; c < j.c1; c++)
        if (s->chunk_slot[c] >= 0) {   /* a cached copy is stale now */
            s->slot_chunk[s->chunk_slot[c]] = -1;
            s->chunk_slot[c] = -1;
        }
    s->disk += j.packed - old;
    stats_add((double)cnt * (double)s->per * sizeof(float), j.packed, 0, now_s() - t0, 0, j.packed - old);
    return FR_OK;
}

/* Decompresses chunk c into dst (chunk_samples(c) samples). */
static int load_chunk(fr_spill *s, int part, int c, float *dst)
{
    if (!s->len[c]) return EIO;
    void *z = zscratch(s, part);
    int rc = read_all(s->fd, z, s->len[c], s->off[c]);
    if (rc) return rc;
    if (!s->dctx[part]) s->dctx[part] = ZSTD_createDCtx();
    size_t raw = (size_t)chunk_samples(s, c) * s->per * sizeof(float);
    size_t k = ZSTD_decompressDCtx(s->dctx[part], dst, raw, z, s->len[c]);
    return ZSTD_isError(k) || k != raw ? -1 : 0;
}

typedef struct get_job { fr_spill *s; int s0, cnt, c0, c1; float *dst; } get_job;

static void get_part(void *ctx, int part, int nparts)
{
    get_job *j = ctx;
    fr_spill *s = j->s;
    int lo, hi;
    fr_par_range(j->c1 - j->c0, part, nparts, &lo, &hi);
    for (int c = j->c0 + lo; c < j->c0 + hi && !s->err; c++) {
        int a = c * s->chunk, b = a + chunk_samples(s, c);
        int ra = FR_MAX(a, j->s0), rb = FR_MIN(b, j->s0 + j->cnt);
        float *out = j->dst + (size_t)(ra - j->s0) * s->per;
        int rc;
        if (ra == a && rb == b) rc = load_chunk(s, part, c, out);   /* whole chunk: straight into dst */
        else {
            if (!s->fbuf[part]) s->fbuf[part] = fr_amalloc(s->cbytes);
            FR_ASSERT(s->fbuf[part]);
            rc = load_chunk(s, part, c, s->fbuf[part]);
            if (!rc) memcpy(out, s->fbuf[part] + (size_t)(ra - a) * s->per, (size_t)(rb - ra) * s->per * sizeof(float));
        }
        if (rc) s->err = rc;
    }
}

int fr_spill_get(fr_spill *s, int s0, int cnt, float *dst, fr_err *e)
{
    FR_ASSERT(s0 >= 0 && cnt > 0 && s0 + cnt <= s->n);
    double t0 = now_s();
    get_job j = {s, s0, cnt, s0 / s->chunk, (s0 + cnt + s->chunk - 1) / s->chunk, dst};
    s->err = 0;
    fr_par_run(get_part, &j);
    if (s->err) return io_error(s, e, "read");
    stats_add(0, 0, (double)cnt * (double)s->per * sizeof(float), 0, now_s() - t0, 0);
    return FR_OK;
}

typedef struct fill_job { fr_spill *s; const int *slots; int n; } fill_job;

static void fill_part(void *ctx, int part, int nparts)
{
    fill_job *j = ctx;
    fr_spill *s = j->s;
    int lo, hi;
    fr_par_range(j->n, part, nparts, &lo, &hi);
    for (int i = lo; i < hi && !s->err; i++) {
        int sl = j->slots[i];
        int rc = load_chunk(s, part, s->slot_chunk[sl], s->slot[sl]);
        if (rc) s->err = rc;
    }
}

int fr_spill_gather(fr_spill *s, const int32_t *idx, int cnt, float *dst, fr_err *e)
{
    double t0 = now_s(), raw = 0;
    int *miss = fr_xmalloc((size_t)s->nslots * sizeof(int));
    int j = 0, rc = FR_OK;
    while (j < cnt) {
        /* One round: walk the indices, keeping every slot a sample of this round uses pinned,
         * and assign each missing chunk the least recently used unpinned slot; the round ends
         * when no slot is left to evict.  Then the misses are decompressed (in parallel) and
         * the round's samples copied.  Slots are assigned serially: the same draws give the
         * same cache states, though only the copied floats matter for results. */
        int j0 = j, nmiss = 0;
        s->epoch++;
        while (j < cnt) {
            int c = idx[j] / s->chunk;
            FR_ASSERT(idx[j] >= 0 && idx[j] < s->n);
            if (s->chunk_slot[c] >= 0) { s->slot_pin[s->chunk_slot[c]] = s->epoch; j++; continue; }
            int v = -1;
            for (int i = 0; i < s->nslots; i++)
                if (s->slot_pin[i] != s->epoch && (v < 0 || s->slot_used[i] < s->slot_used[v])) v = i;
            if (v < 0) break;
            if (s->slot_chunk[v] >= 0) s->chunk_slot[s->slot_chunk[v]] = -1;
            if (!s->slot[v]) s->slot[v] = fr_amalloc(s->cbytes);
            FR_ASSERT(s->slot[v]);
            s->slot_chunk[v] = c;
            s->chunk_slot[c] = v;
            s->slot_pin[v] = s->epoch;
            miss[nmiss++] = v;
            raw += (double)chunk_samples(s, c) * (double)s->per * sizeof(float);
            j++;
        }
        FR_ASSERT(j > j0);
        if (nmiss) {
            fill_job fj = {s, miss, nmiss};
            s->err = 0;
            fr_par_run(fill_part, &fj);
            if (s->err) {
                /* The slots hold garbage now: forget them. */
                for (int i = 0; i < nmiss; i++) { s->chunk_slot[s->slot_chunk[miss[i]]] = -1; s->slot_chunk[miss[i]] = -1; }
                rc = io_error(s, e, "read");
                break;
            }
        }
        for (int k = j0; k < j; k++) {
            int c = idx[k] / s->chunk, sl = s->chunk_slot[c];
            memcpy(dst + (size_t)k * s->per, s->slot[sl] + (size_t)(idx[k] - c * s->chunk) * s->per, s->per * sizeof(float));
            s->slot_used[sl] = ++s->tick;
        }
    }
    free(miss);
    stats_add(0, 0, raw, 0, now_s() - t0, 0);
    return rc;
}
