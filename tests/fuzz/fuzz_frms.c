/* fuzz_frms.c — structure-aware libFuzzer harness for the .frm bundle reader (issue 14, "make
 * the class go away").
 *
 * Design note
 *   fuzz_frm repairs checksums, so the uncompressed sections (META, GRAPH, QUANT) are reached,
 *   but tensor and dataset payloads are zstd frames: a byte mutation there decodes to "corrupt",
 *   never to a NaN weight, a label past the class count or a sample count that disagrees.  The
 *   custom mutator here unpacks the bundle (tests/fuzz/repack.h), and mutates either the
 *   DECOMPRESSED content of one payload (then recompresses it), or one section's own bytes
 *   (for TENSORS/DATASETS: the table), or the section list; packing lays the file out again
 *   with payload offsets/lengths, section offsets/lengths/checksums, the file size and the
 *   header hash all repaired.  The corpus stays real .frm files (an artefact is a tests/bad/frm
 *   entry as it is).  An accepted bundle goes through the same checks as in fuzz_frm: info,
 *   fingerprint, and write(read(write(x))) == write(x) (the writer applies the reader's rules,
 *   issue 14 item 5, so a bundle that reads must also write and read again).
 */
#include "harness.h"
#include "repack.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Mutates buf (n bytes, room for cap) in place; returns the new length. */
static size_t mutate_bytes(uint8_t **buf, size_t n, size_t extra)
{
    uint8_t *b = malloc(n + extra + 1);
    if (!b) return n;
    if (n) memcpy(b, *buf, n);
    size_t m = LLVMFuzzerMutate(b, n, n + extra);
    free(*buf);
    *buf = b;
    return m;
}

static void mutate_payload(fz_pay *p)
{
    if (!p->zstd) { p->n = mutate_bytes(&p->p, p->n, 64); return; }
    unsigned long long cs = ZSTD_getFrameContentSize(p->p, p->n);
    if (cs == ZSTD_CONTENTSIZE_ERROR || cs == ZSTD_CONTENTSIZE_UNKNOWN || cs > ((size_t)1 << 20)) {
        p->n = mutate_bytes(&p->p, p->n, 64);
        return;
    }
    uint8_t *raw = malloc(cs ? cs : 1);
    if (!raw) return;
    size_t got = ZSTD_decompressDCtx(fz_dctx(), raw, cs ? cs : 1, p->p, p->n);
    if (ZSTD_isError(got)) { free(raw); p->n = mutate_bytes(&p->p, p->n, 64); return; }
    /* Mostly keep the length (the table says how many elements): mutate values in place. */
    size_t rn = rand() % 8 ? got : got + 64;
    size_t m = mutate_bytes(&raw, got, rn - got);
    if (rand() % 4) m = got <= m ? got : m;   /* truncate back / keep a shorter one */
    size_t bound = ZSTD_compressBound(m);
    uint8_t *z = malloc(bound);
    if (z) {
        size_t zl = ZSTD_compressCCtx(fz_cctx(), z, bound, raw, m, 1);
        if (!ZSTD_isError(zl)) { free(p->p); p->p = z; p->n = zl; z = NULL; }
        free(z);
    }
    free(raw);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    fz_frm f;
    srand(seed);
    if (fz_frm_unpack(data, size, &f) != 0) {
        size_t n = LLVMFuzzerMutate(data, size, max_size);
        fr_fuzz_fix_frm(data, n);
        return n;
    }
    int total = 0;
    for (int i = 0; i < f.ns; i++) total += f.np[i];
    int r = rand() % 16;
    if (r < 8 && total > 0) {   /* one payload's decompressed content */
        int k = rand() % total;
        for (int i = 0; i < f.ns; i++) {
            if (k < f.np[i]) { mutate_payload(&f.pay[i][k]); break; }
            k -= f.np[i];
        }
    } else if (r < 14) {   /* one section's bytes (the table for TENSORS/DATASETS) */
        int i = rand() % f.ns;
        f.len[i] = mutate_bytes(&f.sec[i], f.len[i], 256);
    } else if (r == 14 && f.ns > 1) {   /* drop a section */
        int i = rand() % f.ns;
        free(f.sec[i]);
        for (int k = 0; k < f.np[i]; k++) free(f.pay[i][k].p);
        free(f.pay[i]);
        for (int j = i; j + 1 < f.ns; j++) {
            f.type[j] = f.type[j + 1]; f.sec[j] = f.sec[j + 1]; f.len[j] = f.len[j + 1];
            f.np[j] = f.np[j + 1]; f.pay[j] = f.pay[j + 1];
        }
        f.ns--;
    } else {   /* retype a section */
        f.type[rand() % f.ns] = (uint32_t)(rand() % 7);
    }
    size_t n = 0;
    uint8_t *out = fz_frm_pack(&f, &n);
    fz_frm_free(&f);
    if (!out || n > max_size) {
        free(out);
        size_t m = LLVMFuzzerMutate(data, size, max_size);
        fr_fuzz_fix_frm(data, m);
        return m;
    }
    memcpy(data, out, n);
    free(out);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_model m;
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(&m);
    int rc = fr_frm_read_mem(data, size, "fuzz.frm", &m, &e);
    fz_named(rc, &e, "fuzz.frm", "frms");
    if (rc == FR_OK) {
        (void)fr_frm_fingerprint(&m);
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) { fr_frm_info(devnull, NULL, &m, 1); fclose(devnull); }
        uint8_t *w1 = NULL, *w2 = NULL;
        size_t n1 = 0, n2 = 0;
        if (fr_frm_write_mem(&m, 1, &w1, &n1, &e) != FR_OK) {
            fprintf(stderr, "a bundle that reads does not write: %s\n", e.msg);
            __builtin_trap();
        }
        fr_model m2;
        fr_model_init(&m2);
        if (fr_frm_read_mem(w1, n1, "fuzz-rt.frm", &m2, &e) != FR_OK) {
            fprintf(stderr, "round trip: rewritten bundle refused: %s\n", e.msg);
            __builtin_trap();
        }
        if (fr_frm_write_mem(&m2, 1, &w2, &n2, &e) == FR_OK && (n1 != n2 || memcmp(w1, w2, n1))) {
            fprintf(stderr, "round trip: write(read(write(x))) != write(x)\n");
            __builtin_trap();
        }
        fr_model_free(&m2);
        free(w1);
        free(w2);
    }
    fr_model_free(&m);
    return 0;
}
