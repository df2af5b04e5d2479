/* test_dataio.c — inflate/gunzip (RFC 1951/1952), .npy and IDX readers, Fashion-MNIST.
 *
 * Deflate vectors below were produced with Python's zlib (stored, fixed-Huffman and dynamic
 * blocks) or hand-assembled bit by bit (invalid streams).  A larger cross-check compresses
 * generated data with the system `gzip` at several levels when it is installed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/dataio.h"
#include "frtui/inflate.h"

static const uint8_t v_stored[68] = {
    0x01, 0x3f, 0x00, 0xc0, 0xff, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x73, 0x74, 0x6f, 0x72,
    0x65, 0x64, 0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x21, 0x20, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2c,
    0x20, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x64, 0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x21, 0x20, 0x68,
    0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x64, 0x20, 0x77, 0x6f, 0x72,
    0x6c, 0x64, 0x21, 0x20,
};
static const uint8_t v_fixed[36] = {
    0x4b, 0x4c, 0x2a, 0x4a, 0x4c, 0x4e, 0x4c, 0x49, 0x04, 0x52, 0x0a, 0x89, 0xd8, 0xd9, 0x3a, 0x0a,
    0x69, 0x99, 0x15, 0xa9, 0x29, 0x0a, 0x19, 0xa5, 0x69, 0x69, 0xb9, 0x89, 0x79, 0x0a, 0xc9, 0xf9,
    0x29, 0xa9, 0xc5, 0x00,
};
static const uint8_t v_dynamic[255] = {
    0x95, 0xd5, 0x59, 0x52, 0xc3, 0x30, 0x10, 0x45, 0xd1, 0xff, 0xac, 0x42, 0x4b, 0x88, 0xba, 0x2d,
    0x59, 0x62, 0x37, 0x0c, 0x06, 0x02, 0x26, 0x86, 0x84, 0x30, 0xad, 0x9e, 0x02, 0xbd, 0x5e, 0xc0,
    0xfd, 0x76, 0xdd, 0xd2, 0x74, 0x24, 0xaf, 0x87, 0xe3, 0x92, 0xf6, 0x57, 0xe9, 0xfd, 0x71, 0x49,
    0x6f, 0x97, 0xc3, 0xed, 0x73, 0xba, 0x39, 0x6d, 0x9f, 0xc7, 0x74, 0xbf, 0x7d, 0xa5, 0xa7, 0xcb,
    0xcb, 0xeb, 0x39, 0x6d, 0x1f, 0xcb, 0xe9, 0xff, 0xf3, 0x7a, 0xfd, 0xf3, 0x9d, 0xee, 0xb6, 0x87,
    0xb4, 0xdf, 0xad, 0x7f, 0x55, 0x66, 0x55, 0x1e, 0x95, 0xb1, 0x6a, 0x1a, 0x95, 0xb3, 0xaa, 0x8f,
    0x6a, 0x82, 0x33, 0xac, 0x23, 0x2b, 0x2c, 0xb3, 0x32, 0xb2, 0xca, 0x32, 0xd7, 0x68, 0x33, 0xdc,
    0x10, 0xad, 0xad, 0xb1, 0xac, 0x6a, 0x23, 0x3b, 0xcb, 0x9a, 0x4e, 0x2d, 0x43, 0x22, 0xae, 0x0c,
    0x1a, 0x31, 0xcd, 0x32, 0x53, 0x25, 0xb3, 0x3a, 0xe8, 0x64, 0x36, 0x75, 0x50, 0x4a, 0x64, 0x50,
    0x8a, 0xc7, 0x6e, 0x42, 0x2a, 0x35, 0xc6, 0x83, 0x56, 0xba, 0x64, 0x66, 0x88, 0xc5, 0xe3, 0xf8,
    0xa0, 0x96, 0x59, 0x2f, 0x83, 0x41, 0x2d, 0x59, 0xeb, 0x33, 0xc8, 0xa5, 0x68, 0x9e, 0x06, 0xb9,
    0x74, 0x5d, 0x3d, 0x83, 0x5c, 0x26, 0xf1, 0x34, 0xc8, 0xa5, 0xc7, 0xdb, 0x07, 0xbd, 0x4c, 0xb1,
    0x3e, 0xe8, 0xa5, 0xc7, 0x3c, 0xa1, 0x97, 0x12, 0xe7, 0x07, 0xbd, 0x34, 0x65, 0x90, 0x4b, 0x15,
    0x4f, 0x87, 0x5c, 0x4c, 0xb7, 0xdd, 0x21, 0x97, 0xa6, 0x79, 0x3a, 0xe4, 0x52, 0xe2, 0x27, 0x04,
    0xb9, 0x98, 0x58, 0x3b, 0xe4, 0xd2, 0xf4, 0xc4, 0x3b, 0xe4, 0x52, 0xc5, 0xcc, 0xe9, 0x9f, 0x28,
    0xce, 0x01, 0x72, 0xc9, 0x31, 0x1e, 0xe5, 0xa2, 0xeb, 0xe7, 0xd4, 0x4b, 0xdd, 0xfd, 0x02,
};
#define V_DYNAMIC_LEN 2223
#define V_DYNAMIC_CRC 0x4a120014u
static const uint8_t v_empty[2] = {
    0x03, 0x00,
};
static const uint8_t v_gz_fname[41] = {
    0x1f, 0x8b, 0x08, 0x08, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e,
    0x74, 0x78, 0x74, 0x00, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x48, 0xaf, 0xca, 0x2c, 0xe0, 0x02,
    0x00, 0x39, 0x7c, 0x63, 0x56, 0x0b, 0x00, 0x00, 0x00,
};
static const uint8_t v_far[3] = {
    0x03, 0x02, 0x00,
};
static const uint8_t v_btype3[1] = {
    0x07,
};
static const uint8_t v_fixed_rle[4] = {
    0x73, 0x04, 0x02, 0x00,
};
static const uint8_t v_stored_badlen[10] = {
    0x01, 0x05, 0x00, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

static char g_tmp[256];

static void tmp_path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_tmp, name); }

static void write_bytes(const char *path, const void *p, size_t n)
{
    fr_err e;
    FR_ASSERT(fr_atomic_write(path, p, n, &e) == FR_OK);
}

static void test_crc32(void)
{
    FR_CHECK(fr_crc32(0, "123456789", 9) == 0xCBF43926u);
    FR_CHECK(fr_crc32(0, "", 0) == 0);
    /* Chaining equals one pass. */
    FR_CHECK(fr_crc32(fr_crc32(0, "12345", 5), "6789", 4) == 0xCBF43926u);
}

static int inflate_eq(const uint8_t *in, size_t n, const void *want, size_t want_n)
{
    uint8_t *out;
    size_t on, used;
    fr_err e;
    if (fr_inflate(in, n, &used, &out, &on, 1 << 20, "v", &e) != FR_OK) { printf("  %s\n", e.msg); return 0; }
    int ok = on == want_n && memcmp(out, want, on) == 0 && used == n;
    free(out);
    return ok;
}

static void test_inflate_vectors(void)
{
    char stored[100] = "";
    for (int i = 0; i < 3; i++) strcat(stored, "hello, stored world! ");
    FR_CHECK(inflate_eq(v_stored, sizeof v_stored, stored, strlen(stored)));
    const char *fx = "abracadabra abracadabra abracadabra, fixed huffman codes";
    FR_CHECK(inflate_eq(v_fixed, sizeof v_fixed, fx, strlen(fx)));
    FR_CHECK(inflate_eq(v_empty, sizeof v_empty, "", 0));
    FR_CHECK(inflate_eq(v_fixed_rle, sizeof v_fixed_rle, "AAAA", 4));
    uint8_t *out;
    size_t on;
    fr_err e;
    FR_CHECK(fr_inflate(v_dynamic, sizeof v_dynamic, NULL, &out, &on, 1 << 20, "v", &e) == FR_OK);
    FR_CHECK(on == V_DYNAMIC_LEN && fr_crc32(0, out, on) == V_DYNAMIC_CRC);
    FR_CHECK(memcmp(out, "line 0: the quick brown fox", 27) == 0);
    free(out);
    FR_CHECK(fr_gunzip(v_gz_fname, sizeof v_gz_fname, &out, &on, 1 << 20, "v", &e) == FR_OK);
    FR_CHECK(on == 11 && memcmp(out, "hello gzip\n", 11) == 0);
    free(out);
    /* Two members concatenated, plus FEXTRA/FCOMMENT/FHCRC header fields on the second. */
    uint8_t two[200];
    size_t k = 0;
    memcpy(two, v_gz_fname, sizeof v_gz_fname); k += sizeof v_gz_fname;
    static const uint8_t hdr[] = {0x1f, 0x8b, 8, 4 | 16 | 2, 0, 0, 0, 0, 0, 3, 3, 0, 'x', 'y', 'z', 'c', 'm', 0, 0xaa, 0xbb};
    memcpy(two + k, hdr, sizeof hdr);
    /* FHCRC: the low 16 bits of the header's CRC-32 (zlib checks it; the old decoder skipped it). */
    uint32_t hc = fr_crc32(0, hdr, sizeof hdr - 2);
    two[k + sizeof hdr - 2] = (uint8_t)hc;
    two[k + sizeof hdr - 1] = (uint8_t)(hc >> 8);
    k += sizeof hdr;
    memcpy(two + k, v_gz_fname + 20, sizeof v_gz_fname - 20); k += sizeof v_gz_fname - 20;
    FR_CHECK(fr_gunzip(two, k, &out, &on, 1 << 20, "v", &e) == FR_OK);
    FR_CHECK(on == 22 && memcmp(out, "hello gzip\nhello gzip\n", 22) == 0);
    free(out);
}

static int fails_with(const uint8_t *in, size_t n, int gz, const char *needle)
{
    uint8_t *out = (uint8_t *)1;
    size_t on = 1;
    fr_err e;
    fr_err_clear(&e);
    int rc = gz ? fr_gunzip(in, n, &out, &on, 1 << 20, "bad.gz", &e) : fr_inflate(in, n, NULL, &out, &on, 1 << 20, "bad.gz", &e);
    int ok = rc == FR_EINPUT && out == NULL && on == 0 && strncmp(e.msg, "bad.gz: ", 8) == 0 && (!needle || strstr(e.msg, needle));
    if (!ok) printf("  rc=%d msg=%s\n", rc, e.msg);
    return ok;
}

static void test_inflate_errors(void)
{
    FR_CHECK(fails_with(v_far, sizeof v_far, 0, "distance too far back"));
    FR_CHECK(fails_with(v_btype3, sizeof v_btype3, 0, "invalid block type"));
    FR_CHECK(fails_with(v_stored_badlen, sizeof v_stored_badlen, 0, "stored block length"));
    FR_CHECK(fails_with(v_dynamic, 0, 0, "unexpected end"));
    FR_CHECK(fails_with((const uint8_t *)"PK\3\4xxxxxxxxxx", 14, 1, "not a gzip"));
    /* Every truncation of valid streams fails cleanly. */
    int bad = 0;
    for (size_t n = 0; n < sizeof v_dynamic; n++)
        if (!fails_with(v_dynamic, n, 0, NULL)) bad++;
    for (size_t n = 0; n < sizeof v_gz_fname; n++)
        if (!fails_with(v_gz_fname, n, 1, NULL)) bad++;
    FR_CHECK(bad == 0);
    /* CRC, length and trailing garbage. */
    uint8_t g[64];
    memcpy(g, v_gz_fname, sizeof v_gz_fname);
    g[sizeof v_gz_fname - 8] ^= 1;
    FR_CHECK(fails_with(g, sizeof v_gz_fname, 1, "CRC-32"));
    memcpy(g, v_gz_fname, sizeof v_gz_fname);
    g[sizeof v_gz_fname - 4] ^= 1;
    FR_CHECK(fails_with(g, sizeof v_gz_fname, 1, "length mismatch"));
    memcpy(g, v_gz_fname, sizeof v_gz_fname);
    memcpy(g + sizeof v_gz_fname, "junkjunkjunk", 12);
    FR_CHECK(fails_with(g, sizeof v_gz_fname + 12, 1, "trailing garbage"));
    memcpy(g, v_gz_fname, sizeof v_gz_fname);
    g[3] = 0x80;
    FR_CHECK(fails_with(g, sizeof v_gz_fname, 1, "reserved"));
    /* Output limit. */
    uint8_t *out;
    size_t on;
    fr_err e;
    FR_CHECK(fr_inflate(v_dynamic, sizeof v_dynamic, NULL, &out, &on, 1000, "lim", &e) == FR_EINPUT && strstr(e.msg, "limit"));
    /* Random corruption: never a crash (ASan/UBSan builds check memory safety). */
    fr_rng r;
    fr_rng_seed(&r, 3);
    int ok = 1;
    for (int it = 0; it < 20000; it++) {
        uint8_t c[sizeof v_dynamic];
        memcpy(c, v_dynamic, sizeof c);
        int flips = 1 + (int)fr_rng_below(&r, 4);
        for (int f = 0; f < flips; f++) c[fr_rng_below(&r, sizeof c)] ^= (uint8_t)(1u << fr_rng_below(&r, 8));
        int rc = fr_inflate(c, sizeof c, NULL, &out, &on, 1 << 16, "fz", &e);
        if (rc == FR_OK) free(out);
        else if (rc != FR_EINPUT || out) ok = 0;
    }
    FR_CHECK(ok);
}

/* Deterministic test data of a few kinds. */
static void gen_data(uint8_t *p, size_t n, int kind, uint64_t seed)
{
    fr_rng r;
    fr_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: p[i] = (uint8_t)fr_rng_u64(&r); break;                         /* incompressible */
        case 1: p[i] = (uint8_t)("ACGT"[fr_rng_below(&r, 4)]); break;          /* low entropy */
        case 2: p[i] = (uint8_t)(i / 1000 % 3 ? 0 : fr_rng_below(&r, 256)); break; /* long runs */
        default: p[i] = i >= 40000 ? p[i - 32768 + (i % 7)] : (uint8_t)fr_rng_below(&r, 16); break; /* far matches */
        }
    }
}

static void test_gzip_cli(void)
{
    if (system("gzip --version >/dev/null 2>&1") != 0) { printf("  (gzip not installed; skipped)\n"); return; }
    static const size_t sizes[] = {0, 1, 100, 65535, 65536, 300000};
    static const int levels[] = {1, 6, 9};
    char src[300], gz[300], cmd[800];
    tmp_path(src, sizeof src, "gen.bin");
    tmp_path(gz, sizeof gz, "gen.bin.gz");
    int bad = 0, runs = 0;
    for (int kind = 0; kind < 4; kind++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (size_t li = 0; li < 3; li++) {
                size_t n = sizes[si];
                uint8_t *p = malloc(n + 1);
                gen_data(p, n, kind, 11 + kind);
                write_bytes(src, p, n);
                snprintf(cmd, sizeof cmd, "gzip -%d -n -c '%s' > '%s'", levels[li], src, gz);
                if (system(cmd) != 0) { bad++; free(p); continue; }
                uint8_t *z, *out;
                size_t zn, on;
                fr_err e;
                FR_ASSERT(fr_read_file(gz, 1 << 28, &z, &zn, &e) == FR_OK);
                int rc = fr_gunzip(z, zn, &out, &on, 1 << 28, gz, &e);
                if (rc != FR_OK || on != n || memcmp(out, p, n)) { bad++; printf("  kind %d size %zu level %d: %s\n", kind, n, levels[li], rc ? e.msg : "mismatch"); }
                if (rc == FR_OK) free(out);
                free(z);
                free(p);
                runs++;
            }
    FR_CHECKF(bad == 0, "%d of %d gzip round trips failed", bad, runs);
}

/* ---- .npy ---- */

static size_t npy_hdr(uint8_t *b, int version, const char *dict)
{
    size_t hs = version == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (hs + dl + 1 + 63) & ~(size_t)63, hl = total - hs;
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)version; b[7] = 0;
    if (version == 1) { b[8] = (uint8_t)hl; b[9] = (uint8_t)(hl >> 8); }
    else { b[8] = (uint8_t)hl; b[9] = (uint8_t)(hl >> 8); b[10] = 0; b[11] = 0; }
    memset(b + hs, ' ', hl);
    memcpy(b + hs, dict, dl);
    b[total - 1] = '\n';
    return total;
}

static void test_npy_parse(void)
{
    uint8_t b[512];
    fr_npy a;
    fr_err e;
    for (int v = 1; v <= 3; v++) {
        size_t h = npy_hdr(b, v, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
        for (int i = 0; i < 6; i++) { float f = (float)i * 0.5f; memcpy(b + h + 4 * i, &f, 4); }
        int rc = fr_npy_read_mem(b, h + 24, "a.npy", &a, &e);
        FR_CHECKF(rc == FR_OK, "v%d: %s", v, e.msg);
        if (rc) continue;
        FR_CHECK(a.dtype == FR_NPY_F32 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6);
        FR_CHECK(((float *)a.data)[5] == 2.5f);
        fr_npy_free(&a);
    }
    /* Key order, double quotes, 1-tuples, no trailing comma. */
    size_t h = npy_hdr(b, 1, "{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"|u1\"}");
    memcpy(b + h, "\1\2\3\4", 4);
    FR_CHECK(fr_npy_read_mem(b, h + 4, "b.npy", &a, &e) == FR_OK && a.ndim == 1 && a.shape[0] == 4 && ((uint8_t *)a.data)[3] == 4);
    fr_npy_free(&a);
    h = npy_hdr(b, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }");
    int64_t v = -7;
    memcpy(b + h, &v, 8);
    FR_CHECK(fr_npy_read_mem(b, h + 8, "c.npy", &a, &e) == FR_OK && a.ndim == 0 && a.count == 1 && ((int64_t *)a.data)[0] == -7);
    fr_npy_free(&a);

    static const struct { const char *dict; size_t data; const char *needle; } bad[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, "Fortran"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24, "not supported"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48, "not supported"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, "needs 24"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, "needs 24"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", 0, "more than"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, ), }", 0, "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 0, "bad shape"},
        {"{'descr': '<f4', 'fortran_order': False }", 0, "lacks"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8, "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8, "unexpected key"},
        {"['descr', '<f4']", 0, "not a dict"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", 8, "header"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9), }", 0, "dimensions"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h = npy_hdr(b, 1, bad[i].dict);
        memset(b + h, 0, sizeof b - h);
        fr_err_clear(&e);
        int rc = fr_npy_read_mem(b, h + bad[i].data, "bad.npy", &a, &e);
        FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "bad.npy: ") == e.msg && strstr(e.msg, bad[i].needle), "case %zu: rc=%d %s", i, rc, e.msg);
        if (rc == FR_OK) fr_npy_free(&a);
    }
    /* Structural faults: bad magic, version 4, header length past the end; every truncation. */
    FR_CHECK(fr_npy_read_mem((const uint8_t *)"NUMPY\x01\x00\x10\x00{}", 11, "m.npy", &a, &e) == FR_EINPUT);
    h = npy_hdr(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    b[6] = 4;
    FR_CHECK(fr_npy_read_mem(b, h + 24, "v.npy", &a, &e) == FR_EINPUT && strstr(e.msg, "version"));
    b[6] = 1; b[9] = 0x70;
    FR_CHECK(fr_npy_read_mem(b, h + 24, "l.npy", &a, &e) == FR_EINPUT && strstr(e.msg, "past the end"));
    b[9] = 0;
    int badt = 0;
    for (size_t n = 0; n < h + 24; n++) {
        int rc = fr_npy_read_mem(b, n, "t.npy", &a, &e);
        if (rc != FR_EINPUT) { badt++; if (rc == FR_OK) fr_npy_free(&a); }
    }
    FR_CHECK(badt == 0);
}

static void test_npy_roundtrip(void)
{
    char p[300];
    fr_err e;
    tmp_path(p, sizeof p, "x.npy");
    const fr_npy_dtype types[] = {FR_NPY_U8, FR_NPY_F32, FR_NPY_I32, FR_NPY_I64};
    for (int t = 0; t < 4; t++)
        for (int nd = 1; nd <= 4; nd++) {
            fr_npy a = {.dtype = types[t], .ndim = nd};
            size_t count = 1;
            for (int k = 0; k < nd; k++) { a.shape[k] = 2 + k; count *= (size_t)(2 + k); }
            a.count = count;
            size_t el = fr_npy_elsize(a.dtype);
            a.data = fr_amalloc(count * el);
            for (size_t i = 0; i < count * el; i++) ((uint8_t *)a.data)[i] = (uint8_t)(i * 13 + 1);
            FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
            fr_npy r;
            int rc = fr_npy_read(p, &r, &e);
            FR_CHECKF(rc == FR_OK, "%s", e.msg);
            if (rc == FR_OK) {
                FR_CHECK(r.dtype == a.dtype && r.ndim == nd && r.count == count && memcmp(r.shape, a.shape, sizeof(int64_t) * (size_t)nd) == 0);
                FR_CHECK(memcmp(r.data, a.data, count * el) == 0);
                fr_npy_free(&r);
            }
            /* Header exactly as numpy writes it (aligned to 64, '\n' terminated). */
            uint8_t *raw;
            size_t rn;
            FR_ASSERT(fr_read_file(p, 1 << 20, &raw, &rn, &e) == FR_OK);
            size_t hl = raw[8] | (size_t)raw[9] << 8;
            FR_CHECK((10 + hl) % 64 == 0 && raw[10 + hl - 1] == '\n' && rn == 10 + hl + count * el);
            if (nd == 1) FR_CHECK(strstr((char *)raw + 10, "'shape': (2,), }") != NULL);
            free(raw);
            fr_npy_free(&a);
        }
}

static void test_npy_dataset(void)
{
    char p[300];
    fr_err e;
    tmp_path(p, sizeof p, "ds.npy");
    static const int shapes[3][4] = {{5, 3, 4, 6}, {5, 4, 6, 0}, {5, 12, 0, 0}};
    static const int want[3][4] = {{5, 3, 4, 6}, {5, 1, 4, 6}, {5, 12, 1, 1}};
    for (int s = 0; s < 3; s++)
        for (int t = 0; t < 2; t++) {
            fr_npy a = {.dtype = t ? FR_NPY_F32 : FR_NPY_U8};
            size_t count = 1;
            for (int k = 0; k < 4 && shapes[s][k]; k++) { a.shape[a.ndim++] = shapes[s][k]; count *= (size_t)shapes[s][k]; }
            a.count = count;
            a.data = fr_amalloc(count * fr_npy_elsize(a.dtype));
            for (size_t i = 0; i < count; i++) {
                if (t) ((float *)a.data)[i] = (float)i / 7; else ((uint8_t *)a.data)[i] = (uint8_t)i;
            }
            FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
            fr_dataset d;
            int rc = fr_npy_read_dataset(p, &d, &e);
            FR_CHECKF(rc == FR_OK, "%s", e.msg);
            if (rc == FR_OK) {
                FR_CHECK(d.n == want[s][0] && d.c == want[s][1] && d.h == want[s][2] && d.w == want[s][3]);
                FR_CHECK(d.dtype == t && d.labels == NULL && d.offset == 0);
                FR_CHECK(t ? (d.scale == 1.0f && d.f32[count - 1] == (float)(count - 1) / 7)
                           : (fabsf(d.scale - 1.0f / 255) < 1e-9f && d.u8[count - 1] == (uint8_t)(count - 1)));
                fr_dataset_free(&d);
            }
            fr_npy_free(&a);
        }
    /* Refusals: 1-D samples, int samples, NaN samples. */
    fr_npy a = {.dtype = FR_NPY_F32, .ndim = 1, .shape = {4}, .count = 4};
    float f[4] = {0, 1, 2, 3};
    a.data = f;
    FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
    fr_dataset d;
    FR_CHECK(fr_npy_read_dataset(p, &d, &e) == FR_EINPUT && strstr(e.msg, p));
    a.ndim = 2; a.shape[0] = 2; a.shape[1] = 2; f[2] = NAN;
    FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
    FR_CHECK(fr_npy_read_dataset(p, &d, &e) == FR_EINPUT && strstr(e.msg, "not finite"));
    int32_t iv[4] = {1, 2, 3, 4};
    fr_npy ai = {.dtype = FR_NPY_I32, .ndim = 2, .shape = {2, 2}, .count = 4, .data = iv};
    FR_CHECK(fr_npy_write(p, &ai, &e) == FR_OK);
    FR_CHECK(fr_npy_read_dataset(p, &d, &e) == FR_EINPUT && strstr(e.msg, "uint8"));
}

static void test_npy_labels(void)
{
    char p[300];
    fr_err e;
    tmp_path(p, sizeof p, "labels.npy");
    int64_t l64[5] = {0, 9, 3, 3, 999};
    int32_t l32[5] = {1, 2, 3, 4, 5};
    uint8_t l8[5] = {9, 8, 7, 6, 5};
    void *src[3] = {l64, l32, l8};
    fr_npy_dtype ty[3] = {FR_NPY_I64, FR_NPY_I32, FR_NPY_U8};
    for (int k = 0; k < 3; k++) {
        fr_npy a = {.dtype = ty[k], .ndim = k == 1 ? 2 : 1, .shape = {5, 1}, .count = 5, .data = src[k]};
        FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
        int32_t *l;
        int n;
        int rc = fr_npy_read_labels(p, &l, &n, &e);
        FR_CHECKF(rc == FR_OK, "%s", e.msg);
        if (rc) continue;
        FR_CHECK(n == 5);
        for (int i = 0; i < 5; i++)
            FR_CHECK(l[i] == (k == 0 ? (int32_t)l64[i] : k == 1 ? l32[i] : l8[i]));
        free(l);
    }
    int32_t *l;
    int n;
    l64[1] = 1000;
    fr_npy a = {.dtype = FR_NPY_I64, .ndim = 1, .shape = {5}, .count = 5, .data = l64};
    FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
    FR_CHECK(fr_npy_read_labels(p, &l, &n, &e) == FR_EINPUT && strstr(e.msg, "out of range") && l == NULL);
    l64[1] = -1;
    FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
    FR_CHECK(fr_npy_read_labels(p, &l, &n, &e) == FR_EINPUT);
    l64[1] = (int64_t)1 << 40;
    FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
    FR_CHECK(fr_npy_read_labels(p, &l, &n, &e) == FR_EINPUT);
    a.ndim = 2; a.shape[0] = 1; a.shape[1] = 5;
    FR_CHECK(fr_npy_write(p, &a, &e) == FR_OK);
    FR_CHECK(fr_npy_read_labels(p, &l, &n, &e) == FR_EINPUT && strstr(e.msg, "shape"));
    float ff[2] = {1, 2};
    fr_npy af = {.dtype = FR_NPY_F32, .ndim = 1, .shape = {2}, .count = 2, .data = ff};
    FR_CHECK(fr_npy_write(p, &af, &e) == FR_OK);
    FR_CHECK(fr_npy_read_labels(p, &l, &n, &e) == FR_EINPUT && strstr(e.msg, "integers"));
    FR_CHECK(fr_npy_read_labels("/nonexistent.npy", &l, &n, &e) == FR_EINPUT && strstr(e.msg, "/nonexistent.npy"));
}

/* ---- IDX ---- */

static size_t idx_make(uint8_t *b, uint8_t type, int nd, const uint32_t *dims, size_t data)
{
    b[0] = 0; b[1] = 0; b[2] = type; b[3] = (uint8_t)nd;
    for (int k = 0; k < nd; k++) {
        b[4 + 4 * k] = (uint8_t)(dims[k] >> 24); b[5 + 4 * k] = (uint8_t)(dims[k] >> 16);
        b[6 + 4 * k] = (uint8_t)(dims[k] >> 8); b[7 + 4 * k] = (uint8_t)dims[k];
    }
    size_t h = 4 + 4 * (size_t)nd;
    for (size_t i = 0; i < data; i++) b[h + i] = (uint8_t)(i * 7);
    return h + data;
}

static void test_idx(void)
{
    uint8_t b[1024];
    fr_err e;
    fr_dataset d;
    uint32_t dims[4] = {3, 4, 5, 0};
    size_t n = idx_make(b, 8, 3, dims, 60);
    FR_CHECK(fr_idx_read_images_mem(b, n, "i.idx", &d, &e) == FR_OK);
    FR_CHECK(d.n == 3 && d.c == 1 && d.h == 4 && d.w == 5 && d.dtype == 0 && d.u8[59] == (uint8_t)(59 * 7) && !d.labels);
    fr_dataset_free(&d);
    uint32_t d4[4] = {2, 3, 2, 2};
    n = idx_make(b, 8, 4, d4, 24);
    FR_CHECK(fr_idx_read_images_mem(b, n, "i4.idx", &d, &e) == FR_OK && d.n == 2 && d.c == 3 && d.h == 2 && d.w == 2);
    fr_dataset_free(&d);
    uint32_t dl[1] = {10};
    n = idx_make(b, 8, 1, dl, 10);
    int32_t *l;
    int ln;
    FR_CHECK(fr_idx_read_labels_mem(b, n, "l.idx", &l, &ln, &e) == FR_OK && ln == 10 && l[3] == 21);
    free(l);
    /* Refusals. */
    n = idx_make(b, 8, 3, dims, 60);
    FR_CHECK(fr_idx_read_images_mem(b, n - 1, "t.idx", &d, &e) == FR_EINPUT && strstr(e.msg, "t.idx: ") == e.msg);
    FR_CHECK(fr_idx_read_images_mem(b, 10, "t.idx", &d, &e) == FR_EINPUT);
    FR_CHECK(fr_idx_read_images_mem(b, 2, "t.idx", &d, &e) == FR_EINPUT);
    FR_CHECK(fr_idx_read_labels_mem(b, n, "t.idx", &l, &ln, &e) == FR_EINPUT && strstr(e.msg, "dimensions") && !l);
    b[2] = 0x0d;
    FR_CHECK(fr_idx_read_images_mem(b, n, "f.idx", &d, &e) == FR_EINPUT && strstr(e.msg, "0x0d"));
    b[2] = 8; b[0] = 1;
    FR_CHECK(fr_idx_read_images_mem(b, n, "m.idx", &d, &e) == FR_EINPUT && strstr(e.msg, "magic"));
    uint32_t huge[3] = {0x7fffffff, 0x7fffffff, 0x7fffffff};
    n = idx_make(b, 8, 3, huge, 16);
    FR_CHECK(fr_idx_read_images_mem(b, n, "h.idx", &d, &e) == FR_EINPUT && strstr(e.msg, "too large"));
    uint32_t zero[3] = {0, 4, 4};
    n = idx_make(b, 8, 3, zero, 0);
    FR_CHECK(fr_idx_read_images_mem(b, n, "z.idx", &d, &e) == FR_EINPUT);
    /* Every truncation of a gzip'd IDX file fails cleanly (via the path API). */
    if (system("gzip --version >/dev/null 2>&1") == 0) {
        char p[300], cmd[700];
        tmp_path(p, sizeof p, "img.idx");
        n = idx_make(b, 8, 3, dims, 60);
        write_bytes(p, b, n);
        snprintf(cmd, sizeof cmd, "gzip -9 -f '%s'", p);
        FR_CHECK(system(cmd) == 0);
        strcat(p, ".gz");
        FR_CHECK(fr_idx_read_images(p, &d, &e) == FR_OK && d.n == 3 && d.u8[10] == 70);
        fr_dataset_free(&d);
        uint8_t *z;
        size_t zn;
        FR_ASSERT(fr_read_file(p, 1 << 20, &z, &zn, &e) == FR_OK);
        int bad = 0;
        char q[300];
        tmp_path(q, sizeof q, "trunc.idx.gz");
        for (size_t k = 2; k < zn; k++) {
            write_bytes(q, z, k);
            int rc = fr_idx_read_images(q, &d, &e);
            if (rc != FR_EINPUT || !strstr(e.msg, q)) bad++;
            if (rc == FR_OK) fr_dataset_free(&d);
        }
        FR_CHECK(bad == 0);
        free(z);
    }
}

static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    static const char *sets[2] = {"train", "t10k"};
    static const int counts[2] = {60000, 10000};
    for (int s = 0; s < 2; s++) {
        char ip[256], lp[256];
        snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, sets[s]);
        snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, sets[s]);
        if (access(ip, R_OK) || access(lp, R_OK)) { printf("  (%s not installed; skipped)\n", ip); continue; }
        fr_dataset d;
        fr_err e;
        int rc = fr_idx_read_images(ip, &d, &e);
        FR_CHECKF(rc == FR_OK, "%s", e.msg);
        if (rc) continue;
        FR_CHECK(d.n == counts[s] && d.c == 1 && d.h == 28 && d.w == 28 && d.dtype == 0);
        double sum = 0;
        size_t total = (size_t)d.n * 784;
        for (size_t i = 0; i < total; i++) sum += d.u8[i];
        double mean = sum / (double)total / 255.0;
        FR_CHECKF(mean > 0.27 && mean < 0.30, "mean pixel %.4f", mean);   /* Fashion-MNIST mean is 0.286 */
        fr_dataset_free(&d);
        int32_t *l;
        int n;
        rc = fr_idx_read_labels(lp, &l, &n, &e);
        FR_CHECKF(rc == FR_OK, "%s", e.msg);
        if (rc) continue;
        FR_CHECK(n == counts[s]);
        int hist[10] = {0}, range_ok = 1;
        for (int i = 0; i < n; i++) { if (l[i] < 0 || l[i] > 9) range_ok = 0; else hist[l[i]]++; }
        FR_CHECK(range_ok);
        for (int c = 0; c < 10; c++) FR_CHECKF(hist[c] == counts[s] / 10, "class %d: %d", c, hist[c]);
        FR_CHECK(l[0] == 9);   /* both splits start with an ankle boot */
        free(l);
    }
}

/* Issue 8 R1: a gzip'd .npy is inflated header first — fr_gunzip_head gives a prefix (or the
 * whole, verified content), a header longer than the first 4 KiB head still reads, and content
 * longer than the header declares is refused without inflating it all. */
static void test_gzip_header_first(void)
{
    fr_err e;
    uint8_t *out = NULL;
    size_t on = 0;
    FR_CHECK(fr_gunzip_head(v_gz_fname, sizeof v_gz_fname, 4, &out, &on, "v", &e) == FR_OK && on >= 4 && on <= 11 &&
             memcmp(out, "hello gzip\n", on) == 0);
    free(out);
    FR_CHECK(fr_gunzip_head(v_gz_fname, sizeof v_gz_fname, 100, &out, &on, "v", &e) == FR_OK && on == 11);
    free(out);
    if (system("gzip --version >/dev/null 2>&1") != 0) { printf("  (gzip not installed; skipped)\n"); return; }
    static uint8_t b[16384 + (1 << 20)];
    const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), }";
    size_t hl = 10240 + 64 - 12;   /* a 10 KiB header: longer than the first head */
    memcpy(b, "\x93NUMPY\x02\x00", 8);
    b[8] = (uint8_t)hl; b[9] = (uint8_t)(hl >> 8); b[10] = b[11] = 0;
    memset(b + 12, ' ', hl);
    memcpy(b + 12, h, strlen(h));
    b[12 + hl - 1] = '\n';
    for (int i = 0; i < 16; i++) { float f = (float)i; memcpy(b + 12 + hl + 4 * i, &f, 4); }
    char p[300], cmd[700];
    for (int bomb = 0; bomb < 2; bomb++) {
        tmp_path(p, sizeof p, bomb ? "bomb.npy" : "bighdr.npy");
        size_t n = 12 + hl + 64 + (bomb ? (size_t)1 << 20 : 0);
        if (bomb) memset(b + 12 + hl + 64, 0, (size_t)1 << 20);
        write_bytes(p, b, n);
        snprintf(cmd, sizeof cmd, "gzip -9 -f '%s'", p);
        FR_CHECK(system(cmd) == 0);
        strcat(p, ".gz");
        fr_npy a;
        int rc = fr_npy_read(p, &a, &e);
        if (!bomb) {
            FR_CHECK(rc == FR_OK && a.count == 16 && ((const float *)a.data)[15] == 15.0f);
            if (rc == FR_OK) fr_npy_free(&a);
        } else {
            FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, p) && strstr(e.msg, "longer than the 10368 bytes its header declares"),
                      "bomb: rc %d '%s'", rc, e.msg);
        }
    }
}

int main(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/frtui-test-dataio.%ld", (long)getpid());
    mkdir(g_tmp, 0700);
    FR_RUN(test_crc32);
    FR_RUN(test_inflate_vectors);
    FR_RUN(test_inflate_errors);
    FR_RUN(test_gzip_cli);
    FR_RUN(test_gzip_header_first);
    FR_RUN(test_npy_parse);
    FR_RUN(test_npy_roundtrip);
    FR_RUN(test_npy_dataset);
    FR_RUN(test_npy_labels);
    FR_RUN(test_idx);
    FR_RUN(test_fashion_mnist);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", g_tmp);
    return FR_REPORT();
}
