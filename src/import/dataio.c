/* dataio.c — IDX and .npy readers (and a .npy writer); see include/frtui/dataio.h.
 *
 * Design note
 *   Parsers work on (buf, n) pairs so the fuzzers and tests can drive them from memory; the
 *   path-taking functions only add loading and gunzip.  A plain file is mapped, not read
 *   (include/frtui/fmap.h): the header is checked on its first bytes, and the data is copied
 *   into the decoded array window by window with the file's pages dropped behind
 *   (fr_fmap_copy), so a valid 500 MB .npy costs 500 MB, not 1 GB.  A gzip'd file is inflated
 *   from its mapping (header first, then up to what the header declares).  No parser trusts a header: shapes are multiplied with fr_size_mul and compared
 *   with the bytes present before anything is allocated or copied.
 */
#include "frtui/dataio.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/fmap.h"
#include "frtui/inflate.h"

static int host_le(void) { const uint16_t x = 1; return *(const uint8_t *)&x == 1; }

static void swap_bytes(void *p, size_t count, size_t el)
{
    if (host_le() || el == 1) return;
    uint8_t *b = p;
    for (size_t i = 0; i < count; i++, b += el)
        for (size_t k = 0; k < el / 2; k++) { uint8_t t = b[k]; b[k] = b[el - 1 - k]; b[el - 1 - k] = t; }
}

/* Works out from the start of a file (its first bytes, maybe not all of it) how many bytes
 * the whole file must be, checking the header on the way.  When the header is longer than the
 * bytes given, sets *total = 0 and *need to the bytes it needs (once; bounded by the caller). */
typedef int (*declared_fn)(const uint8_t *head, size_t n, const char *name, const void *ctx, size_t *need,
                           size_t *total, fr_err *e);

/* How much of a gzip'd input is inflated first: enough for any IDX header and for the .npy
 * headers numpy writes (~128 bytes); a longer .npy header asks for its length. */
#define HEAD_BYTES ((size_t)4 << 10)

typedef struct head_ctx { declared_fn declared; const void *ctx; } head_ctx;

/* Before a plain file is read: its header (magic, dtype, shape, memory) from the first bytes. */
static int head_check(const uint8_t *head, size_t n, uint64_t size, const char *path, const void *ctx, fr_err *e)
{
    (void)size;
    const head_ctx *h = ctx;
    if (fr_is_gzip(head, n)) return FR_OK;
    size_t need = 0, total = 0;
    return h->declared(head, n, path, h->ctx, &need, &total, e);
}

/* A loaded input: the mapped file, or (gzip) the inflated content it owns. */
typedef struct src { fr_fmap f; uint8_t *owned; const uint8_t *p; size_t n; } src;

static void src_free(src *s)
{
    fr_fmap_close(&s->f);
    free(s->owned);
    memset(s, 0, sizeof *s);
}

static int load(const char *path, declared_fn declared, const void *ctx, src *s, fr_err *e)
{
    head_ctx hc = {declared, ctx};
    memset(s, 0, sizeof *s);
    int rc = fr_fmap_open(path, FR_MAX_ALLOC, head_check, &hc, &s->f, e);
    if (rc) return rc;
    s->p = s->f.p;
    s->n = s->f.n;
    if (!fr_is_gzip(s->p, s->n)) return FR_OK;
    uint8_t *out = NULL;
    size_t on = 0, total = 0, need = 0, want = HEAD_BYTES;
    for (int pass = 0; pass < 2 && !total; pass++) {
        free(out);
        out = NULL;
        rc = fr_gunzip_head(s->p, s->n, want, &out, &on, path, e);
        if (rc || on < want) break;   /* error, or that was the whole content (verified) */
        rc = declared(out, on, path, ctx, &need, &total, e);
        if (rc || (!total && need <= want)) break;
        want = need;
    }
    if (!rc && total) {   /* more than the head: inflate the rest up to what the header declares */
        free(out);
        out = NULL;
        rc = fr_gunzip(s->p, s->n, &out, &on, total, path, e);
        if (rc == FR_EINPUT && e && strstr(e->msg, "output exceeds the size limit"))   /* say which limit */
            fr_err_set(e, FR_EINPUT, "%s: gzip content is longer than the %zu bytes its header declares", path, total);
    }
    fr_fmap_close(&s->f);   /* the compressed bytes are done with */
    if (rc) { free(out); memset(s, 0, sizeof *s); return rc; }
    static const uint8_t empty[1];
    s->owned = out;
    s->p = out ? out : empty;
    s->n = on;
    return FR_OK;
}

/* ---- .npy ------------------------------------------------------------------------------------ */

size_t fr_npy_elsize(fr_npy_dtype t) { return t == FR_NPY_U8 ? 1 : t == FR_NPY_F32 || t == FR_NPY_I32 ? 4 : 8; }

void fr_npy_free(fr_npy *a)
{
    fr_afree(a->data);
    memset(a, 0, sizeof *a);
}

typedef struct pyp { const char *s; size_t n, i; } pyp;

static void py_ws(pyp *p) { while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++; }
static int py_ch(pyp *p, char c) { py_ws(p); if (p->i < p->n && p->s[p->i] == c) { p->i++; return 1; } return 0; }
/* A quoted string into dst (cap bytes). */
static int py_str(pyp *p, char *dst, size_t cap)
{
    py_ws(p);
    if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '"')) return 0;
    char q = p->s[p->i++];
    size_t k = 0;
    while (p->i < p->n && p->s[p->i] != q) {
        if (k + 1 >= cap) return 0;
        dst[k++] = p->s[p->i++];
    }
    if (p->i >= p->n) return 0;
    p->i++;
    dst[k] = 0;
    return 1;
}
static int py_word(pyp *p, const char *w)
{
    py_ws(p);
    size_t k = strlen(w);
    if (p->n - p->i >= k && !memcmp(p->s + p->i, w, k)) { p->i += k; return 1; }
    return 0;
}

#define NPYERR(...) fr_err_set(e, FR_EINPUT, __VA_ARGS__)

/* Parses and checks a .npy header (magic, version, dict, dtype, shape) and sets a's dtype, ndim,
 * shape and count, *dstart (where the data begins) and *bytes (what the shape needs).  Reads
 * only the header, so it works on the first bytes of a gzip'd file too. */
static int npy_header(const uint8_t *buf, size_t n, const char *name, fr_npy *a, size_t *dstart, size_t *bytes_out,
                      fr_err *e)
{
    memset(a, 0, sizeof *a);
    if (n < 10 || memcmp(buf, "\x93NUMPY", 6)) return NPYERR("%s: not a .npy file (bad magic)", name);
    unsigned major = buf[6];
    if (major < 1 || major > 3) return NPYERR("%s: .npy format version %u.%u is not supported", name, major, buf[7]);
    size_t hstart = major == 1 ? 10 : 12;
    if (n < hstart) return NPYERR("%s: .npy header truncated", name);
    size_t hlen = major == 1 ? (size_t)buf[8] | (size_t)buf[9] << 8
                             : (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (hlen > FR_NPY_MAX_HEADER) return NPYERR("%s: .npy header length %zu is over the %d-byte limit", name, hlen, FR_NPY_MAX_HEADER);
    if (hlen > n - hstart) return NPYERR("%s: .npy header length %zu runs past the end of the file (%zu bytes)", name, hlen, n);
    pyp p = {(const char *)buf + hstart, hlen, 0};
    char descr[16] = "", key[32];
    int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
    if (!py_ch(&p, '{')) return NPYERR("%s: .npy header is not a dict", name);
    while (!py_ch(&p, '}')) {
        if (!py_str(&p, key, sizeof key) || !py_ch(&p, ':')) return NPYERR("%s: .npy header: bad key at byte %zu", name, hstart + p.i);
        if (!strcmp(key, "descr")) {
            if (!py_str(&p, descr, sizeof descr)) return NPYERR("%s: .npy header: bad descr", name);
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (py_word(&p, "False")) fortran = 0;
            else if (py_word(&p, "True")) fortran = 1;
            else return NPYERR("%s: .npy header: bad fortran_order", name);
            have_fortran = 1;
        } else if (!strcmp(key, "shape")) {
            if (!py_ch(&p, '(')) return NPYERR("%s: .npy header: shape is not a tuple", name);
            a->ndim = 0;
            while (!py_ch(&p, ')')) {
                py_ws(&p);
                if (a->ndim == FR_NPY_MAXDIM) return NPYERR("%s: .npy shape has more than %d dimensions", name, FR_NPY_MAXDIM);
                int64_t v = 0;
                size_t start = p.i;
                while (p.i < p.n && isdigit((unsigned char)p.s[p.i])) {
                    if (v > (INT64_MAX - 9) / 10) return NPYERR("%s: .npy shape dimension is too large", name);
                    v = v * 10 + (p.s[p.i++] - '0');
                }
                if (p.i == start) return NPYERR("%s: .npy header: bad shape at byte %zu", name, hstart + p.i);
                if (p.i < p.n && p.s[p.i] == 'L') p.i++;   /* Python 2 long suffix */
                a->shape[a->ndim++] = v;
                if (!py_ch(&p, ',')) {
                    if (!py_ch(&p, ')')) return NPYERR("%s: .npy header: bad shape tuple", name);
                    break;
                }
            }
            have_shape = 1;
        } else {
            return NPYERR("%s: .npy header: unexpected key '%s'", name, key);
        }
        if (!py_ch(&p, ',')) {
            if (!py_ch(&p, '}')) return NPYERR("%s: .npy header: expected ',' or '}' at byte %zu", name, hstart + p.i);
            break;
        }
    }
    py_ws(&p);
    if (p.i != p.n) return NPYERR("%s: .npy header: trailing characters", name);
    if (!have_descr || !have_fortran || !have_shape) return NPYERR("%s: .npy header lacks descr, fortran_order or shape", name);
    if (fortran) return NPYERR("%s: .npy array is in Fortran order (save it C-contiguous)", name);
    if (!strcmp(descr, "|u1") || !strcmp(descr, "<u1") || !strcmp(descr, "u1")) a->dtype = FR_NPY_U8;
    else if (!strcmp(descr, "<f4")) a->dtype = FR_NPY_F32;
    else if (!strcmp(descr, "<i4")) a->dtype = FR_NPY_I32;
    else if (!strcmp(descr, "<i8")) a->dtype = FR_NPY_I64;
    else return NPYERR("%s: .npy dtype '%s' is not supported (use <f4, |u1, <i4 or <i8)", name, descr);
    size_t el = fr_npy_elsize(a->dtype), count = 1, bytes;
    for (int k = 0; k < a->ndim; k++)
        if ((uint64_t)a->shape[k] > FR_MAX_ALLOC || fr_size_mul(&count, count, (size_t)a->shape[k]) != FR_OK)
            return NPYERR("%s: .npy shape declares more than %zu elements", name, FR_MAX_ALLOC);
    if (fr_size_mul(&bytes, count, el) != FR_OK) return NPYERR("%s: .npy array is larger than %zu bytes", name, FR_MAX_ALLOC);
    *dstart = hstart + hlen;
    *bytes_out = bytes;
    int rc = fr_mem_check(e, bytes, "%s: .npy array", name);
    if (!rc) a->count = count;
    return rc;
}

static int npy_declared(const uint8_t *head, size_t n, const char *name, const void *ctx, size_t *need,
                        size_t *total, fr_err *e)
{
    (void)ctx;
    *total = 0;
    if (n >= 12 && !memcmp(head, "\x93NUMPY", 6) && head[6] >= 1 && head[6] <= 3) {   /* header longer than n? */
        size_t hstart = head[6] == 1 ? 10 : 12;
        size_t hlen = head[6] == 1 ? (size_t)head[8] | (size_t)head[9] << 8
                                   : (size_t)head[8] | (size_t)head[9] << 8 | (size_t)head[10] << 16 | (size_t)head[11] << 24;
        if (hlen <= FR_NPY_MAX_HEADER && hstart + hlen > n) { *need = hstart + hlen; return FR_OK; }
    }
    fr_npy a;
    size_t dstart, bytes;
    int rc = npy_header(head, n, name, &a, &dstart, &bytes, e);
    if (!rc) *total = dstart + bytes;
    return rc;
}

int fr_npy_read_mem(const uint8_t *buf, size_t n, const char *name, fr_npy *a, fr_err *e)
{
    size_t dstart, bytes;
    int rc = npy_header(buf, n, name, a, &dstart, &bytes, e);
    if (rc) return rc;
    size_t count = a->count, el = fr_npy_elsize(a->dtype);
    a->count = 0;
    if (n - dstart != bytes)
        return NPYERR("%s: .npy data is %zu bytes but the shape needs %zu", name, n - dstart, bytes);
    a->data = fr_amalloc(bytes);
    if (!a->data) return fr_err_set(e, FR_ENOMEM, "%s: out of memory (%zu bytes)", name, bytes);
    if (bytes) fr_fmap_copy(a->data, buf + dstart, bytes);
    swap_bytes(a->data, count, el);
    a->count = count;
    return FR_OK;
}

int fr_npy_read(const char *path, fr_npy *a, fr_err *e)
{
    src s;
    memset(a, 0, sizeof *a);
    int rc = load(path, npy_declared, NULL, &s, e);
    if (rc) return rc;
    rc = fr_npy_read_mem(s.p, s.n, path, a, e);
    src_free(&s);
    return rc;
}

int fr_npy_write(const char *path, const fr_npy *a, fr_err *e)
{
    static const char *descr[] = {"|u1", "<f4", "<i4", "<i8"};
    if ((int)a->dtype < 0 || a->dtype > FR_NPY_I64 || a->ndim < 0 || a->ndim > FR_NPY_MAXDIM)
        return fr_err_set(e, FR_EINPUT, "%s: cannot write this array", path);
    char hdr[512];
    int k = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr[a->dtype]);
    size_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] < 0) return fr_err_set(e, FR_EINPUT, "%s: negative array dimension", path);
        k += snprintf(hdr + k, sizeof hdr - (size_t)k, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
        count *= (size_t)a->shape[i];
    }
    k += snprintf(hdr + k, sizeof hdr - (size_t)k, "%s), }", a->ndim == 1 ? "," : "");
    size_t total = ((size_t)10 + (size_t)k + 1 + 63) & ~(size_t)63;   /* magic..header..'\n', 64-aligned */
    size_t hlen = total - 10, el = fr_npy_elsize(a->dtype), bytes = count * el;
    if (count != a->count) return fr_err_set(e, FR_EINPUT, "%s: array shape does not match its element count", path);
    uint8_t *buf = fr_xmalloc(total + bytes);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)hlen;
    buf[9] = (uint8_t)(hlen >> 8);
    memset(buf + 10, ' ', hlen);
    memcpy(buf + 10, hdr, (size_t)k);
    buf[total - 1] = '\n';
    if (bytes) memcpy(buf + total, a->data, bytes);
    swap_bytes(buf + total, count, el);
    int rc = fr_atomic_write(path, buf, total + bytes, e);
    free(buf);
    return rc;
}

/* take: the dataset takes the array's buffer (both are fr_amalloc'd) instead of a copy, so
 * reading a .npy into a dataset costs its size once, not twice. */
static int to_dataset(fr_npy *a, const char *name, fr_dataset *d, int take, fr_err *e)
{
    memset(d, 0, sizeof *d);
    if (a->dtype != FR_NPY_U8 && a->dtype != FR_NPY_F32)
        return fr_err_set(e, FR_EINPUT, "%s: samples must be uint8 (|u1) or float32 (<f4)", name);
    int64_t s[4] = {1, 1, 1, 1};
    if (a->ndim == 4) memcpy(s, a->shape, sizeof s);
    else if (a->ndim == 3) { s[0] = a->shape[0]; s[2] = a->shape[1]; s[3] = a->shape[2]; }
    else if (a->ndim == 2) { s[0] = a->shape[0]; s[1] = a->shape[1]; }
    else return fr_err_set(e, FR_EINPUT, "%s: samples must have shape N,C,H,W or N,H,W or N,D (got %d dims)", name, a->ndim);
    for (int k = 0; k < 4; k++)
        if (s[k] < 1 || s[k] > INT_MAX) return fr_err_set(e, FR_EINPUT, "%s: sample dimension %d is %lld", name, k, (long long)s[k]);
    size_t bytes = a->count * fr_npy_elsize(a->dtype);
    if (a->dtype == FR_NPY_F32)
        for (size_t i = 0; i < a->count; i++)
            if (!isfinite(((const float *)a->data)[i]))
                return fr_err_set(e, FR_EINPUT, "%s: element %zu is not finite", name, i);
    void *p = take ? a->data : fr_amalloc(bytes);
    if (!p) return fr_err_set(e, FR_ENOMEM, "%s: out of memory (%zu bytes)", name, bytes);
    if (take) a->data = NULL;
    else memcpy(p, a->data, bytes);
    d->n = (int)s[0]; d->c = (int)s[1]; d->h = (int)s[2]; d->w = (int)s[3];
    if (a->dtype == FR_NPY_U8) { d->dtype = 0; d->u8 = p; d->scale = 1.0f / 255.0f; }
    else { d->dtype = 1; d->f32 = p; d->scale = 1.0f; }
    d->offset = 0.0f;
    return FR_OK;
}

int fr_npy_to_dataset(const fr_npy *a, const char *name, fr_dataset *d, fr_err *e)
{
    fr_npy c = *a;   /* a shallow copy: to_dataset without take only reads it */
    return to_dataset(&c, name, d, 0, e);
}

int fr_npy_read_dataset(const char *path, fr_dataset *d, fr_err *e)
{
    fr_npy a;
    memset(d, 0, sizeof *d);
    int rc = fr_npy_read(path, &a, e);
    if (rc) return rc;
    rc = to_dataset(&a, path, d, 1, e);
    fr_npy_free(&a);
    return rc;
}

int fr_npy_read_labels(const char *path, int32_t **labels, int *n, fr_err *e)
{
    fr_npy a;
    *labels = NULL;
    *n = 0;
    int rc = fr_npy_read(path, &a, e);
    if (rc) return rc;
    if (!(a.ndim == 1 || (a.ndim == 2 && a.shape[1] == 1)) || a.shape[0] < 1 || a.shape[0] > INT_MAX) {
        fr_npy_free(&a);
        return fr_err_set(e, FR_EINPUT, "%s: labels must have shape (N,) or (N,1)", path);
    }
    if (a.dtype == FR_NPY_F32) {
        fr_npy_free(&a);
        return fr_err_set(e, FR_EINPUT, "%s: labels must be integers (<i4, <i8 or |u1), not float32", path);
    }
    int32_t *l = malloc(a.count * sizeof *l);
    if (!l) { fr_npy_free(&a); return fr_err_set(e, FR_ENOMEM, "%s: out of memory", path); }
    for (size_t i = 0; i < a.count; i++) {
        int64_t v = a.dtype == FR_NPY_U8 ? ((const uint8_t *)a.data)[i]
                  : a.dtype == FR_NPY_I32 ? ((const int32_t *)a.data)[i] : ((const int64_t *)a.data)[i];
        if (v < 0 || v >= FR_MAX_CLASSES) {
            free(l);
            fr_npy_free(&a);
            return fr_err_set(e, FR_EINPUT, "%s: label %zu = %lld is out of range 0..%d", path, i, (long long)v, FR_MAX_CLASSES - 1);
        }
        l[i] = (int32_t)v;
    }
    *labels = l;
    *n = (int)a.count;
    fr_npy_free(&a);
    return FR_OK;
}

/* ---- IDX ------------------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Parses the IDX header, accepting dmin..dmax dimensions: *count data bytes follow the *hdr
 * header bytes.  Reads only the header (works on the start of a gzip'd file too). */
static int idx_layout(const uint8_t *buf, size_t n, const char *name, int dmin, int dmax, uint32_t *dims, int *nd,
                      size_t *count, size_t *hdr, fr_err *e)
{
    if (n < 4) return fr_err_set(e, FR_EINPUT, "%s: file too short for an IDX header", name);
    if (buf[0] || buf[1]) return fr_err_set(e, FR_EINPUT, "%s: not an IDX file (bad magic %02x%02x%02x%02x)", name, buf[0], buf[1], buf[2], buf[3]);
    if (buf[2] != 0x08) return fr_err_set(e, FR_EINPUT, "%s: IDX element type 0x%02x is not supported (uint8 only)", name, buf[2]);
    *nd = buf[3];
    if (*nd < dmin || *nd > dmax)
        return fr_err_set(e, FR_EINPUT, "%s: IDX file has %d dimensions, expected %d..%d", name, *nd, dmin, dmax);
    if (n - 4 < (size_t)*nd * 4) return fr_err_set(e, FR_EINPUT, "%s: IDX header truncated", name);
    *count = 1;
    for (int k = 0; k < *nd; k++) {
        dims[k] = be32(buf + 4 + 4 * k);
        if (dims[k] < 1 || dims[k] > INT_MAX || fr_size_mul(count, *count, dims[k]) != FR_OK)
            return fr_err_set(e, FR_EINPUT, "%s: IDX dimension %d = %u is invalid or too large", name, k, dims[k]);
    }
    *hdr = 4 + (size_t)*nd * 4;
    return fr_mem_check(e, *count, "%s: IDX data", name);
}

/* idx_layout, and the data must fill the rest of the file exactly. */
static int idx_header(const uint8_t *buf, size_t n, const char *name, int dmin, int dmax, uint32_t *dims, int *nd,
                      size_t *count, fr_err *e)
{
    size_t hdr;
    int rc = idx_layout(buf, n, name, dmin, dmax, dims, nd, count, &hdr, e);
    if (!rc && n - hdr != *count)
        return fr_err_set(e, FR_EINPUT, "%s: IDX data is %zu bytes but the header declares %zu", name, n - hdr, *count);
    return rc;
}

/* ctx: int[2], the dimension range the caller accepts. */
static int idx_declared(const uint8_t *head, size_t n, const char *name, const void *ctx, size_t *need,
                        size_t *total, fr_err *e)
{
    (void)need;   /* an IDX header is at most 4 + 4 * 4 bytes (dr[1] <= 4): always inside the head */
    const int *dr = ctx;
    uint32_t dims[4];
    int nd;
    size_t count, hdr;
    int rc = idx_layout(head, n, name, dr[0], dr[1], dims, &nd, &count, &hdr, e);
    *total = rc ? 0 : hdr + count;
    return rc;
}

int fr_idx_read_images_mem(const uint8_t *buf, size_t n, const char *name, fr_dataset *d, fr_err *e)
{
    memset(d, 0, sizeof *d);
    uint32_t dims[4];
    int nd;
    size_t count;
    int rc = idx_header(buf, n, name, 3, 4, dims, &nd, &count, e);
    if (rc) return rc;
    uint8_t *p = fr_amalloc(count);
    if (!p) return fr_err_set(e, FR_ENOMEM, "%s: out of memory (%zu bytes)", name, count);
    fr_fmap_copy(p, buf + 4 + 4 * (size_t)nd, count);
    d->n = (int)dims[0];
    d->c = nd == 4 ? (int)dims[1] : 1;
    d->h = (int)dims[nd - 2];
    d->w = (int)dims[nd - 1];
    d->dtype = 0;
    d->u8 = p;
    d->scale = 1.0f / 255.0f;
    d->offset = 0.0f;
    return FR_OK;
}

int fr_idx_read_labels_mem(const uint8_t *buf, size_t n, const char *name, int32_t **labels, int *count, fr_err *e)
{
    *labels = NULL;
    *count = 0;
    uint32_t dims[1];
    int nd;
    size_t cnt;
    int rc = idx_header(buf, n, name, 1, 1, dims, &nd, &cnt, e);
    if (rc) return rc;
    int32_t *l = malloc(cnt * sizeof *l);
    if (!l) return fr_err_set(e, FR_ENOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < cnt; i++) l[i] = buf[8 + i];
    *labels = l;
    *count = (int)cnt;
    return FR_OK;
}

int fr_idx_read_images(const char *path, fr_dataset *d, fr_err *e)
{
    src s;
    static const int dr[2] = {3, 4};
    memset(d, 0, sizeof *d);
    int rc = load(path, idx_declared, dr, &s, e);
    if (rc) return rc;
    rc = fr_idx_read_images_mem(s.p, s.n, path, d, e);
    src_free(&s);
    return rc;
}

int fr_idx_read_labels(const char *path, int32_t **labels, int *n, fr_err *e)
{
    src s;
    *labels = NULL;
    static const int dr[2] = {1, 1};
    *n = 0;
    int rc = load(path, idx_declared, dr, &s, e);
    if (rc) return rc;
    rc = fr_idx_read_labels_mem(s.p, s.n, path, labels, n, e);
    src_free(&s);
    return rc;
}

int fr_lm_windows(const uint8_t *text, size_t n, int T, int count, uint64_t seed, fr_dataset *d, fr_err *e)
{
    memset(d, 0, sizeof *d);
    if (T < 2 || count < 1 || n < (size_t)T || (!seed && n / (size_t)T < (size_t)count) || n - T > UINT32_MAX)
        return fr_err_set(e, FR_EINPUT, "text of %zu bytes does not hold %d windows of %d", n, count, T);
    *d = (fr_dataset){.n = count, .c = T, .h = 1, .w = 1, .dtype = 0, .scale = 1.0f, .offset = 0.0f};
    d->u8 = fr_amalloc((size_t)count * T);
    if (!d->u8) return fr_err_set(e, FR_ENOMEM, "out of memory for %d windows", count);
    fr_rng rng;
    fr_rng_stream(&rng, seed, 0x420);
    for (int i = 0; i < count; i++) {
        size_t off = seed ? fr_rng_below(&rng, (uint32_t)(n - T + 1)) : (size_t)i * T;
        memcpy(d->u8 + (size_t)i * T, text + off, (size_t)T);
    }
    return FR_OK;
}

int fr_lm_ids_read(const char *path, int vocab, int *T, int max_n, fr_dataset *d, fr_err *e)
{
    memset(d, 0, sizeof *d);
    fr_npy a;
    int rc = fr_npy_read(path, &a, e);
    if (rc) return rc;
    const int64_t n = a.ndim == 2 ? a.shape[0] : 1, t = a.ndim == 2 ? a.shape[1] : a.ndim == 1 ? a.shape[0] : 0;
    if (a.dtype == FR_NPY_F32 || (a.ndim != 1 && a.ndim != 2))
        rc = fr_err_set(e, FR_EINPUT, "%s: token ids must be integers (<i4, <i8 or |u1) of shape (N, T) or (T,)", path);
    else if (t < 2 || t > 1 << 20 || n < 1)
        rc = fr_err_set(e, FR_EINPUT, "%s: windows of %lld tokens (need 2 or more, and at least one window)", path, (long long)t);
    else if (*T && t != *T)
        rc = fr_err_set(e, FR_EINPUT, "%s: windows of %lld tokens, the model reads %d", path, (long long)t, *T);
    const int64_t keep = max_n > 0 && max_n < n ? max_n : n;
    for (int64_t i = 0; !rc && i < keep * t; i++) {
        const int64_t v = a.dtype == FR_NPY_U8 ? ((const uint8_t *)a.data)[i]
                        : a.dtype == FR_NPY_I32 ? ((const int32_t *)a.data)[i] : ((const int64_t *)a.data)[i];
        if (v < 0 || v >= vocab)
            rc = fr_err_set(e, FR_EINPUT, "%s: token id %lld at window %lld, position %lld is outside the vocabulary of %d", path,
                            (long long)v, (long long)(i / t), (long long)(i % t), vocab);
    }
    if (!rc) {
        *d = (fr_dataset){.n = (int)keep, .c = (int)t, .h = 1, .w = 1, .dtype = 1, .scale = 1.0f, .offset = 0.0f};
        d->f32 = fr_amalloc((size_t)(keep * t) * sizeof(float));
        if (!d->f32) rc = fr_err_set(e, FR_ENOMEM, "%s: out of memory for %lld windows", path, (long long)keep);
        for (int64_t i = 0; !rc && i < keep * t; i++)
            d->f32[i] = (float)(a.dtype == FR_NPY_U8 ? ((const uint8_t *)a.data)[i]
                               : a.dtype == FR_NPY_I32 ? ((const int32_t *)a.data)[i] : ((const int64_t *)a.data)[i]);
        *T = (int)t;
    }
    fr_npy_free(&a);
    if (rc) memset(d, 0, sizeof *d);
    return rc;
}
