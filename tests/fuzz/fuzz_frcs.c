/* fuzz_frcs.c — structure-aware libFuzzer harness for the .frc loader (issue 14, "make the
 * class go away").
 *
 * Design note
 *   fuzz_frc mutates the file bytes and repairs checksums, so most mutations land inside zstd
 *   data and stop at "corrupt"; the crafted-checkpoint crashes of issue 14 (counts stored before
 *   their check, NaN parameters) sat behind the decompression.  Here a custom mutator unpacks
 *   the input (tests/fuzz/repack.h), mutates the DECOMPRESSED content of one frame (or the
 *   frame list: drop, duplicate, retype), and packs it again with raw/compressed sizes, zstd
 *   frames, frame FNVs and the header hash all consistent.  Only the mutated frame is
 *   decompressed, recompressed and re-hashed; the others are copied as stored.  The corpus therefore stays real
 *   .frc files: an artefact replays as is with `frtui export` and belongs in tests/bad/frc.
 *   Inputs that do not unpack (early mutants, the byte-level seeds) get libFuzzer's own
 *   mutation plus fuzz_frc's checksum repair, so nothing is lost against fuzz_frc.
 */
#include "frtui/ckpt.h"
#include "harness.h"
#include "repack.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Frame slot j takes frame i's fields (raw ownership moves with it). */
static void move_frame(fz_frc *f, int j, int i)
{
    f->type[j] = f->type[i]; f->raw[j] = f->raw[i]; f->len[j] = f->len[i];
    f->comp[j] = f->comp[i]; f->clen[j] = f->clen[i]; f->fnv[j] = f->fnv[i];
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    fz_frc f;
    srand(seed);
    /* Lazy: only the frame that is mutated gets decompressed and recompressed; the others are
     * copied as stored (their records' FNVs are those the last repack wrote). */
    if (fz_frc_unpack_lazy(data, size, &f, (size_t)1 << 20) != 0 || f.nf == 0) {
        size_t n = LLVMFuzzerMutate(data, size, max_size);
        fr_fuzz_fix_frc(data, n);
        return n;
    }
    int r = rand() % 16;
    if (r == 0 && f.nf > 1) {   /* drop a frame */
        int k = rand() % f.nf;
        free(f.raw[k]);
        for (int j = k; j + 1 < f.nf; j++) move_frame(&f, j, j + 1);
        f.nf--;
    } else if (r == 1 && f.nf < FZ_MAX_FRAMES) {   /* duplicate a frame */
        int k = rand() % f.nf;
        for (int j = f.nf; j > k; j--) move_frame(&f, j, j - 1);
        f.nf++;
        f.raw[k + 1] = NULL;   /* the copy is packed from the stored bytes */
        if (f.raw[k]) { free(f.raw[k]); f.raw[k] = NULL; }
    } else if (r == 2) {   /* retype a frame */
        f.type[rand() % f.nf] = (uint32_t)(rand() % 6);
    } else {   /* mutate one frame's raw content, bounded so the packed file fits max_size */
        int k = rand() % f.nf;
        if (fz_frc_load(&f, k) != 0) {   /* its zstd data does not decode: byte-level instead */
            fz_frc_free(&f);
            size_t m = LLVMFuzzerMutate(data, size, max_size);
            fr_fuzz_fix_frc(data, m);
            return m;
        }
        {
            size_t cap = f.len[k] + 256;
            uint8_t *b = malloc(cap);
            if (b) {
                memcpy(b, f.raw[k], f.len[k]);
                f.len[k] = LLVMFuzzerMutate(b, f.len[k], cap);
                free(f.raw[k]);
                f.raw[k] = b;
            }
        }
    }
    size_t n = 0;
    uint8_t *out = fz_frc_pack(&f, &n);
    fz_frc_free(&f);
    if (!out || n > max_size) {   /* fall back to a byte-level mutation */
        free(out);
        size_t m = LLVMFuzzerMutate(data, size, max_size);
        fr_fuzz_fix_frc(data, m);
        return m;
    }
    memcpy(data, out, n);
    free(out);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_ckpt c;
    fr_err e;
    memset(&c, 0, sizeof c);
    fr_err_clear(&e);
    int rc = fr_ckpt_load_mem(data, size, "fuzz.frc", &c, &e);
    fz_named(rc, &e, "fuzz.frc", "frcs");
    fr_ckpt_free(&c);
    return 0;
}
