/* json.c — strict JSON parser; see include/frtui/json.h for the contract.
 *
 * Design note
 *   A recursive-descent parser whose recursion is bounded by FR_JSON_MAX_DEPTH.  All reads go
 *   through peek()/the `end` pointer, never past n, so the input needs no terminator.  Nodes and
 *   strings come from a bump arena owned by the document.  While a container is open its
 *   children sit on a shared pointer stack; on close they are copied into one arena array, so
 *   building the tree costs O(total nodes) and needs no per-container reallocation.
 */
#include "frtui/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    max_align_t data[];
} arena_blk;

struct fr_json_doc {
    arena_blk *blocks;
    const fr_json *root;
};

typedef struct parser {
    const char *buf, *p, *end, *src;
    fr_json_doc *doc;
    const fr_json **stk;   /* open containers' children */
    size_t nstk, capstk;
    size_t nodes;
    fr_err *e;
} parser;

static void *arena_alloc(fr_json_doc *d, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_blk *b = d->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = fr_xmalloc(sizeof *b + cap);
        b->next = d->blocks;
        b->used = 0;
        b->cap = cap;
        d->blocks = b;
    }
    void *r = (char *)b->data + b->used;
    b->used += n;
    return r;
}

/* Reports a syntax error at the parser position with a 1-based line and column. */
static int fail(parser *P, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = P->buf; q < P->p && q < P->end; q++) {
        if (*q == '\n') { line++; col = 1; } else col++;
    }
    return fr_err_set(P->e, FR_EINPUT, "%s: JSON line %d col %d: %s", P->src, line, col, what);
}

static void skip_ws(parser *P)
{
    while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r')) P->p++;
}

static int peek(const parser *P) { return P->p < P->end ? (unsigned char)*P->p : -1; }

static fr_json *new_node(parser *P, fr_json_type t)
{
    if (P->nodes >= FR_JSON_MAX_NODES) return NULL;
    P->nodes++;
    fr_json *v = arena_alloc(P->doc, sizeof *v);
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *P, const char *q, unsigned *out)
{
    if (P->end - q < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)q[i]);
        if (h < 0) return -1;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence starting at q (strict: no overlongs, no surrogates,
 * <= U+10FFFF), or 0 when invalid. */
static int utf8_len(const unsigned char *q, const unsigned char *end)
{
    unsigned c = q[0];
    int n;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    if (end - q < n) return 0;
    unsigned cp = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((q[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (q[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string starting at the opening quote; *out is arena memory, *len its byte count.
 * Decoded text is never longer than the raw text, so one allocation of raw size suffices. */
static int parse_string(parser *P, const char **out, uint32_t *len)
{
    const char *q = P->p + 1, *start = q;
    /* Find the closing quote (skipping escaped characters) to size the buffer. */
    while (q < P->end && *q != '"') {
        if (*q == '\\' && P->end - q < 2) { q = P->end; break; }
        q += *q == '\\' ? 2 : 1;
    }
    if (q >= P->end) return fail(P, "unterminated string");
    size_t raw = (size_t)(q - start);
    if (raw > UINT32_MAX - 1) return fail(P, "string too long");
    char *o = arena_alloc(P->doc, raw + 1);
    size_t k = 0;
    const char *r = start;
    while (r < q) {
        unsigned char c = (unsigned char)*r;
        if (c < 0x20) { P->p = r; return fail(P, "control character in string"); }
        if (c == '\\') {
            char esc = r[1];   /* r + 1 < q: the scan above skipped the escaped byte */
            unsigned cp;
            r += 2;
            switch (esc) {
            case '"': o[k++] = '"'; continue;
            case '\\': o[k++] = '\\'; continue;
            case '/': o[k++] = '/'; continue;
            case 'b': o[k++] = '\b'; continue;
            case 'f': o[k++] = '\f'; continue;
            case 'n': o[k++] = '\n'; continue;
            case 'r': o[k++] = '\r'; continue;
            case 't': o[k++] = '\t'; continue;
            case 'u':
                if (q - r < 4 || read_hex4(P, r, &cp) != 0) { P->p = r; return fail(P, "bad \\u escape"); }
                r += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (q - r < 6 || r[0] != '\\' || r[1] != 'u' || read_hex4(P, r + 2, &lo) != 0 ||
                        lo < 0xDC00 || lo > 0xDFFF) {
                        P->p = r;
                        return fail(P, "unpaired UTF-16 surrogate in \\u escape");
                    }
                    r += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    P->p = r;
                    return fail(P, "unpaired UTF-16 surrogate in \\u escape");
                }
                if (cp == 0) { P->p = r; return fail(P, "\\u0000 is not allowed in strings"); }
                k += put_utf8(o + k, cp);   /* <= 4 bytes from >= 6 raw bytes */
                continue;
            default:
                P->p = r - 1;
                return fail(P, "invalid escape in string");
            }
        }
        int n = utf8_len((const unsigned char *)r, (const unsigned char *)q);
        if (n == 0) { P->p = r; return fail(P, "invalid UTF-8 in string"); }
        memcpy(o + k, r, (size_t)n);
        k += (size_t)n;
        r += n;
    }
    o[k] = '\0';
    *out = o;
    *len = (uint32_t)k;
    P->p = q + 1;
    return FR_OK;
}

static int parse_number(parser *P, double *out)
{
    const char *q = P->p, *s = q;
    char tmp[128];
    if (q < P->end && *q == '-') q++;
    if (q >= P->end) return fail(P, "bad number");
    if (*q == '0') {
        q++;
        if (q < P->end && *q >= '0' && *q <= '9') return fail(P, "leading zero in number");
    } else if (*q >= '1' && *q <= '9') {
        while (q < P->end && *q >= '0' && *q <= '9') q++;
    } else {
        return fail(P, "bad number");
    }
    if (q < P->end && *q == '.') {
        q++;
        if (q >= P->end || *q < '0' || *q > '9') { P->p = q; return fail(P, "digit expected after '.'"); }
        while (q < P->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < P->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < P->end && (*q == '+' || *q == '-')) q++;
        if (q >= P->end || *q < '0' || *q > '9') { P->p = q; return fail(P, "digit expected in exponent"); }
        while (q < P->end && *q >= '0' && *q <= '9') q++;
    }
    size_t len = (size_t)(q - s);
    if (len >= sizeof tmp) return fail(P, "number literal too long");
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    double v = strtod(tmp, NULL);
    if (!isfinite(v)) return fail(P, "number out of range");
    *out = v;
    P->p = q;
    return FR_OK;
}

static int key_cmp(const void *a, const void *b)
{
    const fr_json *x = *(const fr_json *const *)a, *y = *(const fr_json *const *)b;
    return strcmp(x->key, y->key);
}

static void stk_push(parser *P, const fr_json *v)
{
    if (P->nstk == P->capstk) {
        P->capstk = P->capstk ? 2 * P->capstk : 256;
        P->stk = fr_xrealloc(P->stk, P->capstk * sizeof *P->stk);
    }
    P->stk[P->nstk++] = v;
}

static int parse_value(parser *P, int depth, const fr_json **out);

/* Moves the children pushed since `base` into v->items (and v->sorted for objects). */
static int close_container(parser *P, fr_json *v, size_t base)
{
    size_t cnt = P->nstk - base;
    v->n = (uint32_t)cnt;
    if (cnt) {
        v->items = arena_alloc(P->doc, cnt * sizeof *v->items);
        memcpy(v->items, P->stk + base, cnt * sizeof *v->items);
        if (v->type == FR_JSON_OBJECT) {
            v->sorted = arena_alloc(P->doc, cnt * sizeof *v->sorted);
            memcpy(v->sorted, P->stk + base, cnt * sizeof *v->sorted);
            qsort(v->sorted, cnt, sizeof *v->sorted, key_cmp);
            for (size_t i = 1; i < cnt; i++)
                if (strcmp(v->sorted[i - 1]->key, v->sorted[i]->key) == 0) {
                    char msg[160];
                    snprintf(msg, sizeof msg, "duplicate object key \"%.100s\"", v->sorted[i]->key);
                    return fail(P, msg);
                }
        }
    }
    P->nstk = base;
    return FR_OK;
}

static int parse_container(parser *P, int depth, fr_json *v)
{
    int is_obj = v->type == FR_JSON_OBJECT;
    char close = is_obj ? '}' : ']';
    size_t base = P->nstk;
    P->p++;   /* '[' or '{' */
    skip_ws(P);
    if (peek(P) == close) { P->p++; return close_container(P, v, base); }
    for (;;) {
        const char *key = NULL;
        if (is_obj) {
            uint32_t klen;
            if (peek(P) != '"') return fail(P, "object key (string) expected");
            int krc = parse_string(P, &key, &klen);
            if (krc != FR_OK) return krc;
            skip_ws(P);
            if (peek(P) != ':') return fail(P, "':' expected after object key");
            P->p++;
            skip_ws(P);
        }
        const fr_json *child;
        int rc = parse_value(P, depth + 1, &child);
        if (rc != FR_OK) return rc;
        ((fr_json *)child)->key = key;
        stk_push(P, child);
        if (P->nstk - base > UINT32_MAX - 1) return fail(P, "container too large");
        skip_ws(P);
        int c = peek(P);
        if (c == ',') {
            P->p++;
            skip_ws(P);
            if (peek(P) == close) return fail(P, "trailing comma");
            continue;
        }
        if (c == close) { P->p++; return close_container(P, v, base); }
        return fail(P, is_obj ? "',' or '}' expected" : "',' or ']' expected");
    }
}

static int match_lit(parser *P, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(P->end - P->p) < n || memcmp(P->p, lit, n) != 0) return 0;
    P->p += n;
    return 1;
}

static int parse_value(parser *P, int depth, const fr_json **out)
{
    if (depth > FR_JSON_MAX_DEPTH) return fail(P, "nesting deeper than 64 levels");
    skip_ws(P);
    int c = peek(P);
    fr_json *v;
    fr_json_type t;
    switch (c) {
    case -1: return fail(P, "unexpected end of input");
    case '{': t = FR_JSON_OBJECT; break;
    case '[': t = FR_JSON_ARRAY; break;
    case '"': t = FR_JSON_STRING; break;
    case 't': t = FR_JSON_TRUE; break;
    case 'f': t = FR_JSON_FALSE; break;
    case 'n': t = FR_JSON_NULL; break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) { t = FR_JSON_NUMBER; break; }
        return fail(P, "value expected");
    }
    v = new_node(P, t);
    if (!v) return fr_err_set(P->e, FR_ENOMEM, "%s: JSON document has more than %u values", P->src,
                              (unsigned)FR_JSON_MAX_NODES);
    int rc = FR_OK;
    switch (t) {
    case FR_JSON_OBJECT: case FR_JSON_ARRAY: rc = parse_container(P, depth, v); break;
    case FR_JSON_STRING: rc = parse_string(P, &v->s, &v->n); break;
    case FR_JSON_NUMBER: rc = parse_number(P, &v->num); break;
    case FR_JSON_TRUE: if (!match_lit(P, "true")) rc = fail(P, "invalid literal"); break;
    case FR_JSON_FALSE: if (!match_lit(P, "false")) rc = fail(P, "invalid literal"); break;
    case FR_JSON_NULL: if (!match_lit(P, "null")) rc = fail(P, "invalid literal"); break;
    }
    *out = v;
    return rc;
}

int fr_json_parse(const char *buf, size_t n, const char *src, fr_json_doc **out, fr_err *e)
{
    *out = NULL;
    if (!src) src = "<json>";
    if (n > FR_JSON_MAX_INPUT)
        return fr_err_set(e, FR_EINPUT, "%s: JSON input of %zu bytes exceeds the %zu MB limit", src, n,
                          FR_JSON_MAX_INPUT >> 20);
    fr_err local;
    fr_err_clear(&local);
    parser P = {.buf = buf, .p = buf, .end = buf + n, .src = src, .e = e ? e : &local};
    P.doc = fr_xcalloc(1, sizeof *P.doc);
    const fr_json *root = NULL;
    int rc = parse_value(&P, 1, &root);
    if (rc == FR_OK) {
        skip_ws(&P);
        if (P.p != P.end) rc = fail(&P, "unexpected data after the JSON value");
    }
    free(P.stk);
    if (rc != FR_OK) {
        fr_json_free(P.doc);
        return rc;
    }
    P.doc->root = root;
    *out = P.doc;
    return FR_OK;
}

int fr_json_load_file(const char *path, fr_json_doc **out, fr_err *e)
{
    uint8_t *buf;
    size_t n;
    *out = NULL;
    int rc = fr_read_file(path, FR_JSON_MAX_INPUT, &buf, &n, e);
    if (rc) return rc;
    rc = fr_json_parse((const char *)buf, n, path, out, e);
    free(buf);
    return rc;
}

void fr_json_free(fr_json_doc *d)
{
    if (!d) return;
    arena_blk *b = d->blocks;
    while (b) {
        arena_blk *nx = b->next;
        free(b);
        b = nx;
    }
    free(d);
}

const fr_json *fr_json_root(const fr_json_doc *d) { return d ? d->root : NULL; }

const fr_json *fr_json_get(const fr_json *obj, const char *key)
{
    if (!obj || obj->type != FR_JSON_OBJECT || !key) return NULL;
    size_t lo = 0, hi = obj->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(obj->sorted[mid]->key, key);
        if (c == 0) return obj->sorted[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

const fr_json *fr_json_at(const fr_json *arr, size_t i)
{
    if (!arr || arr->type != FR_JSON_ARRAY || i >= arr->n) return NULL;
    return arr->items[i];
}

size_t fr_json_len(const fr_json *v)
{
    return v && (v->type == FR_JSON_ARRAY || v->type == FR_JSON_OBJECT) ? v->n : 0;
}

const char *fr_json_str(const fr_json *v) { return v && v->type == FR_JSON_STRING ? v->s : NULL; }

int fr_json_num(const fr_json *v, double *out)
{
    if (!v || v->type != FR_JSON_NUMBER) return 0;
    *out = v->num;
    return 1;
}

int fr_json_int(const fr_json *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!v || v->type != FR_JSON_NUMBER) return 0;
    double d = v->num;
    if (d != floor(d) || d < (double)lo || d > (double)hi || fabs(d) > 9.0e15) return 0;
    *out = (int64_t)d;
    return 1;
}

int fr_json_bool(const fr_json *v)
{
    if (!v) return -1;
    return v->type == FR_JSON_TRUE ? 1 : v->type == FR_JSON_FALSE ? 0 : -1;
}
