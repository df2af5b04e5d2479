/* tfjs_weights.c — the weights manifest of a tfjs model: shapes, dtypes, byte layout, shards.
 *
 * Design note
 *   Part of the tfjs importer (see src/import/tfjs.c and src/import/tfjs_int.h).  Every size comes from an
 *   untrusted model.json, so: shapes are multiplied with fr_size_mul, each group's byte total
 *   is compared with the shard files' sizes (stat) *before* anything proportional to them is
 *   allocated, and errors name the tensor at the boundary (the one that is cut, or the last
 *   one before trailing bytes).  Decoding is little-endian byte by byte, host-independent.
 */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frtui/fmap.h"
#include "tfjs_int.h"

int tj_nkey_cmp(const void *a, const void *b)
{
    return strcmp(((const nkey *)a)->name, ((const nkey *)b)->name);
}

int tj_nkey_find(const nkey *k, int n, const char *name)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(k[mid].name, name);
        if (c == 0) return k[mid].idx;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return -1;
}


enum { DT_F32, DT_U8, DT_U16 };

static int read_le_u16(const uint8_t *p) { return p[0] | (p[1] << 8); }

static float read_le_f32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Directory part of path including the trailing '/', or "" when there is none; -1 when it
 * does not fit. */
static int dir_of(const char *path, char *out, size_t cap)
{
    const char *s = strrchr(path, '/');
    size_t n = s ? (size_t)(s - path) + 1 : 0;
    if (n >= cap) return -1;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

static int file_size(const char *path, int64_t *sz)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    *sz = (int64_t)st.st_size;
    return 0;
}

/* A shard named by model.json must be a regular file inside the model's directory: its
 * directory part is resolved (symlinks included) and must be the model directory or below it,
 * and the file itself is opened with O_NOFOLLOW.  A crafted "paths": ["link/passwd"] with link
 * -> /etc imported /etc/passwd into a bundle (issue 14, item 7).  Missing, outside, a symlink
 * or not a regular file all get the same message, so the error says nothing about files
 * outside the directory.  Returns an open fd (size in *sz) or -1. */
static int open_shard(const char *dir, const char *full, int64_t *sz)
{
    char root[PATH_MAX], parent[PATH_MAX], rp[PATH_MAX];
    if (!realpath(dir[0] ? dir : ".", root)) return -1;
    const char *slash = strrchr(full, '/');
    size_t pl = slash ? (size_t)(slash - full) : 0;
    if (pl >= sizeof parent) return -1;
    if (slash) { memcpy(parent, full, pl); parent[pl] = 0; } else snprintf(parent, sizeof parent, ".");
    if (!parent[0]) snprintf(parent, sizeof parent, "/");
    if (!realpath(parent, rp)) return -1;
    size_t rl = strlen(root);
    if (strcmp(rp, root) != 0 && !(strncmp(rp, root, rl) == 0 && (rp[rl] == '/' || (rl == 1 && root[0] == '/')))) return -1;
    struct stat st;
    int fd = fr_open_regular(full, O_NOFOLLOW, &st, NULL);
    if (fd >= 0) *sz = (int64_t)st.st_size;
    return fd;
}

static int shard_size(const char *dir, const char *full, int64_t *sz)
{
    int fd = open_shard(dir, full, sz);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

/* Fills buf[0..n) from the files in order; sizes were checked by the caller. */
static int read_into(imp *I, const char *dir, const char *path, uint8_t *buf, size_t n)
{
    int64_t sz = 0;
    int fd = open_shard(dir, path, &sz);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) { if (fd >= 0) close(fd); return IERR("%s: cannot open weights file", path); }
    size_t got = n ? fread(buf, 1, n, f) : 0;
    int extra = fgetc(f);
    fclose(f);
    if (got != n || extra != EOF) return IERR("%s: weights file changed size while reading", path);
    return FR_OK;
}

typedef struct wspec { const fr_json *j; int dt; double qmin, qscale; size_t off, bytes; } wspec;

/* Decodes one tensor from its bytes b (exactly sp->bytes long). */
static int decode_tensor(imp *I, wt *t, const wspec *sp, const uint8_t *b, const char *src)
{
    t->data = fr_amalloc((size_t)(t->numel ? t->numel : 1) * sizeof(float));
    if (!t->data) return fr_err_set(I->e, FR_ENOMEM, "%s: out of memory for tensor %s", src, t->name);
    for (int64_t q = 0; q < t->numel; q++) {
        /* Dequantize in double and round once, as tfjs does (JS numbers -> Float32Array). */
        double v = sp->dt == DT_F32 ? read_le_f32(b + 4 * q)
                 : sp->qmin + sp->qscale * (sp->dt == DT_U8 ? b[q] : read_le_u16(b + 2 * q));
        t->data[q] = (float)v;
        if (!isfinite(t->data[q]))
            return IERR("%s: tensor %s holds a non-finite value at index %lld", src, t->name, (long long)q);
    }
    return FR_OK;
}

int tj_load_weights(imp *I, const fr_json *root, const char *weights_path)
{
    const fr_json *man = fr_json_get(root, "weightsManifest");
    if (!man || man->type != FR_JSON_ARRAY) return IERR("%s: weightsManifest missing or not an array", I->path);
    return tj_load_manifest(I, man, weights_path);
}

int tj_load_manifest(imp *I, const fr_json *man, const char *weights_path)
{
    /* One source for every group: an explicit file or a memory buffer. */
    int single_src = weights_path != NULL || I->use_mem;
    char dir[4096];
    if (dir_of(I->path, dir, sizeof dir) != 0) return IERR("%.200s...: path too long", I->path);
    /* Count tensors and check the per-tensor fields. */
    size_t total_w = 0;
    for (size_t g = 0; g < man->n; g++) {
        const fr_json *grp = man->items[g], *ws = fr_json_get(grp, "weights");
        if (!ws || ws->type != FR_JSON_ARRAY)
            return IERR("%s: weightsManifest[%zu].weights missing or not an array", I->path, g);
        total_w += ws->n;
    }
    if (total_w > FR_TFJS_MAX_LAYERS * 8)
        return IERR("%s: weightsManifest lists %zu tensors (limit %d)", I->path, total_w, FR_TFJS_MAX_LAYERS * 8);
    I->w = fr_xcalloc(total_w ? total_w : 1, sizeof *I->w);
    wspec *sp = fr_xcalloc(total_w ? total_w : 1, sizeof *sp);
    int rc = FR_OK;
    size_t k = 0, all_bytes = 0;
    fr_fmap single = {0};   /* the one weights file, mapped (include/frtui/fmap.h) */
    for (size_t g = 0; g < man->n && rc == FR_OK; g++) {
        const fr_json *grp = man->items[g], *ws = fr_json_get(grp, "weights");
        size_t gbytes = 0, k0 = k;
        for (size_t i = 0; i < ws->n; i++, k++) {
            const fr_json *wj = ws->items[i];
            wt *t = &I->w[k];
            const char *nm = fr_json_str(fr_json_get(wj, "name"));
            if (!nm || !*nm) { rc = IERR("%s: weightsManifest[%zu].weights[%zu]: name missing", I->path, g, i); break; }
            t->name = nm;
            const fr_json *sh = fr_json_get(wj, "shape");
            if (!sh || sh->type != FR_JSON_ARRAY || sh->n > 4) {
                rc = IERR("%s: tensor %s: shape missing, not an array or more than 4-D", I->path, nm);
                break;
            }
            t->ndim = (int)sh->n;
            size_t numel = 1;
            for (int d = 0; d < 4; d++) t->dim[d] = 1;
            for (int d = 0; d < t->ndim; d++) {
                int64_t v;
                if (!fr_json_int(sh->items[d], 0, INT32_MAX, &v)) {
                    rc = IERR("%s: tensor %s: shape[%d] is not a non-negative integer", I->path, nm, d);
                    break;
                }
                t->dim[d] = v;
                if (fr_size_mul(&numel, numel, (size_t)v) != FR_OK) {
                    rc = IERR("%s: tensor %s: shape is absurdly large", I->path, nm);
                    break;
                }
            }
            if (rc != FR_OK) break;
            t->numel = (int64_t)numel;
            const char *dt = fr_json_str(fr_json_get(wj, "dtype"));
            if (!dt || strcmp(dt, "float32") != 0) {
                rc = IERR("%s: tensor %s: dtype %s is not supported (float32 only)", I->path, nm, dt ? dt : "missing");
                break;
            }
            const fr_json *q = fr_json_get(wj, "quantization");
            wspec *s = &sp[k];
            s->j = wj;
            s->dt = DT_F32;
            if (q) {
                const char *qd = fr_json_str(fr_json_get(q, "dtype"));
                if (!qd || (strcmp(qd, "uint8") != 0 && strcmp(qd, "uint16") != 0)) {
                    rc = IERR("%s: tensor %s: quantization dtype %s is not supported (uint8, uint16)", I->path, nm,
                              qd ? qd : "missing");
                    break;
                }
                s->dt = qd[4] == '8' ? DT_U8 : DT_U16;
                if (!fr_json_num(fr_json_get(q, "min"), &s->qmin) || !fr_json_num(fr_json_get(q, "scale"), &s->qscale)) {
                    rc = IERR("%s: tensor %s: quantization needs numeric min and scale", I->path, nm);
                    break;
                }
            }
            size_t esz = s->dt == DT_F32 ? 4 : s->dt == DT_U8 ? 1 : 2;
            if (fr_size_mul(&s->bytes, numel, esz) != FR_OK || gbytes + s->bytes > FR_MAX_ALLOC) {
                rc = IERR("%s: tensor %s: byte size is absurdly large", I->path, nm);
                break;
            }
            if ((rc = fr_mem_check_total(I->e, &I->declared, numel * sizeof(float), "%s: tensor %s", I->path, nm)) != FR_OK) break;
            s->off = all_bytes + gbytes;
            gbytes += s->bytes;
        }
        if (rc != FR_OK) break;
        if (single_src) { all_bytes += gbytes; continue; }
        /* Shards of this group. */
        const fr_json *paths = fr_json_get(grp, "paths");
        if (!paths || paths->type != FR_JSON_ARRAY || (paths->n == 0 && gbytes > 0)) {
            rc = IERR("%s: weightsManifest[%zu].paths missing or empty", I->path, g);
            break;
        }
        int64_t have = 0;
        for (size_t p = 0; p < paths->n && rc == FR_OK; p++) {
            const char *sp_ = fr_json_str(paths->items[p]);
            char full[8192];
            int64_t sz;
            if (!sp_ || !*sp_ || sp_[0] == '/' || strstr(sp_, "..") || strlen(sp_) > 2048)
                rc = IERR("%s: weightsManifest[%zu].paths[%zu] is not a plain relative file name", I->path, g, p);
            else if (snprintf(full, sizeof full, "%s%s", dir, sp_), shard_size(dir, full, &sz) != 0)
                rc = IERR("%s: weightsManifest[%zu].paths[%zu] (%s) is not a readable regular file inside the "
                          "model's directory", I->path, g, p, sp_);
            else
                have += sz;
        }
        if (rc != FR_OK) break;
        if ((uint64_t)have != gbytes) {
            /* Name the tensor at the boundary so the user knows which one is cut or extra. */
            const char *last = k > k0 ? I->w[k - 1].name : "(none)";
            if ((uint64_t)have < gbytes) {
                size_t j = k0;
                while (j + 1 < k && sp[j].off + sp[j].bytes - all_bytes <= (uint64_t)have) j++;
                rc = IERR("%s: weights of group %zu are too short: %lld bytes, manifest needs %zu; tensor %s "
                          "(bytes %zu..%zu) is cut", I->path, g, (long long)have, gbytes, I->w[j].name,
                          sp[j].off - all_bytes, sp[j].off - all_bytes + sp[j].bytes);
            } else {
                rc = IERR("%s: weights of group %zu are too long: %lld bytes, manifest needs %zu "
                          "(%lld trailing bytes after tensor %s)", I->path, g, (long long)have, gbytes,
                          (long long)(have - (int64_t)gbytes), last);
            }
            break;
        }
        /* Read the group into one buffer, then decode its tensors. */
        uint8_t *buf = malloc(gbytes ? gbytes : 1);
        if (!buf) { rc = fr_err_set(I->e, FR_ENOMEM, "%s: cannot allocate %zu bytes of weights", I->path, gbytes); break; }
        size_t off = 0;
        for (size_t p = 0; p < paths->n && rc == FR_OK; p++) {
            char full[8192];
            int64_t sz = 0;
            snprintf(full, sizeof full, "%s%s", dir, fr_json_str(paths->items[p]));
            if (shard_size(dir, full, &sz) != 0 || off + (size_t)sz > gbytes) rc = IERR("%s: weights file changed while reading", full);
            else rc = read_into(I, dir, full, buf + off, (size_t)sz);
            off += (size_t)sz;
        }
        for (size_t j = k0; j < k && rc == FR_OK; j++)
            rc = decode_tensor(I, &I->w[j], &sp[j], buf + (sp[j].off - all_bytes), I->path);
        free(buf);
        all_bytes += gbytes;
    }
    I->nw = (int)k;
    if (rc == FR_OK && single_src) {
        int64_t have = (int64_t)I->wmem_n;
        if (!weights_path) weights_path = "<weights>";
        if (!I->use_mem && file_size(weights_path, &have) != 0) rc = IERR("%s: cannot open weights file", weights_path);
        else if ((uint64_t)have != all_bytes) {
            size_t j = 0;
            while (j + 1 < k && sp[j].off + sp[j].bytes <= (uint64_t)have) j++;
            if ((uint64_t)have < all_bytes)
                rc = IERR("%s: weights file too short: %lld bytes, %s needs %zu; tensor %s (bytes %zu..%zu) is cut",
                          weights_path, (long long)have, I->path, all_bytes, I->w[j].name, sp[j].off,
                          sp[j].off + sp[j].bytes);
            else
                rc = IERR("%s: weights file too long: %lld bytes, %s needs %zu (trailing bytes after tensor %s)",
                          weights_path, (long long)have, I->path, all_bytes, k ? I->w[k - 1].name : "(none)");
        } else if (I->use_mem || (rc = fr_fmap_open(weights_path, all_bytes, NULL, NULL, &single, I->e)) == FR_OK) {
            const uint8_t *src = I->use_mem ? I->wmem : single.p;
            if (!I->use_mem && single.n != all_bytes) rc = IERR("%s: weights file changed size while reading", weights_path);
            for (size_t j = 0; j < k && rc == FR_OK; j++) {
                rc = decode_tensor(I, &I->w[j], &sp[j], src + sp[j].off, weights_path);
                fr_fmap_drop(src + sp[j].off, sp[j].bytes);   /* decoded: give the pages back */
            }
            fr_fmap_close(&single);
        }
    }
    free(sp);
    if (rc != FR_OK) return rc;
    /* Sorted name index; duplicate names are refused. */
    I->w_sorted = fr_xcalloc((size_t)(I->nw ? I->nw : 1), sizeof *I->w_sorted);
    for (int i = 0; i < I->nw; i++) I->w_sorted[i] = (nkey){I->w[i].name, i};
    qsort(I->w_sorted, (size_t)I->nw, sizeof *I->w_sorted, tj_nkey_cmp);
    for (int i = 1; i < I->nw; i++)
        if (strcmp(I->w_sorted[i - 1].name, I->w_sorted[i].name) == 0)
            return IERR("%s: tensor %s appears twice in weightsManifest", I->path, I->w_sorted[i].name);
    return FR_OK;
}

/* Looks up "<layer>/<suffix>", then any "<prefix>/<layer>/<suffix>" (nested tfjs scopes), and
 * checks its shape against want[0..nd).  Returns the weight or NULL with the error set. */
const wt *tj_get_weight(imp *I, const char *layer, const char *suffix, int nd, const int64_t *want)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", layer, suffix);
    int idx = tj_nkey_find(I->w_sorted, I->nw, key);
    if (idx < 0) {
        char tail[520];
        snprintf(tail, sizeof tail, "/%s", key);
        size_t tl = strlen(tail);
        for (int i = 0; i < I->nw && idx < 0; i++) {
            size_t n = strlen(I->w[i].name);
            if (n > tl && strcmp(I->w[i].name + n - tl, tail) == 0) idx = i;
        }
    }
    if (idx < 0) {
        IERR("%s: layer %s: weight %s not found in weightsManifest", I->path, layer, key);
        return NULL;
    }
    const wt *t = &I->w[idx];
    int ok = t->ndim == nd;
    for (int d = 0; ok && d < nd; d++) ok = t->dim[d] == want[d];
    if (!ok) {
        char a[96] = "", b[96] = "";
        for (int d = 0; d < t->ndim; d++)
            snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", d ? "," : "", (long long)t->dim[d]);
        for (int d = 0; d < nd; d++)
            snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", d ? "," : "", (long long)want[d]);
        IERR("%s: layer %s: tensor %s has shape [%s], expected [%s]", I->path, layer, t->name, a, b);
        return NULL;
    }
    return t;
}
