/* lmsample.c — `frtui-dev train-lm`: the bundled language-model sample (issue 16).
 *
 * Design note
 *   The text is the King James Bible as Debian's bible-kjv package prints it (`bible
 *   "Genesis 1:1-Revelation 22:21"`; the text itself is in bible-kjv-text, public domain, the
 *   packaging GPL-2+).  That output has chapter headings between blank lines and numbered,
 *   wrapped verses; kjv_clean turns it into one verse per line without numbers, so the model
 *   learns prose rather than the layout.  Any other file is used as it is.
 *
 *   The split is by 8 KiB chunks of the cleaned text: every 20th chunk (index 19, 39, …) is
 *   held out, the rest is training text, so held-out passages come from every part of the book
 *   and never overlap training windows.  Calibration = windows at seeded offsets in the
 *   training text (as PTQ calibrates on training data); evaluation = consecutive windows of the
 *   held-out text.  Everything is deterministic for a given seed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/blas.h"
#include "frtui/cli.h"
#include "frtui/devtools.h"
#include "frtui/fidelity.h"
#include "frtui/frm.h"
#include "frtui/lm.h"
#include "frtui/opt.h"

#define CHUNK 8192
#define HOLD_EVERY 20

/* 1 when line [p, q) is a numbered verse ("  12 text"); *text gets the start of its words. */
static int verse_line(const uint8_t *p, const uint8_t *q, const uint8_t **text)
{
    while (p < q && *p == ' ') p++;
    const uint8_t *d = p;
    while (p < q && isdigit(*p)) p++;
    if (p == d || p >= q || *p != ' ') return 0;
    *text = p + 1;
    return 1;
}

size_t fr_kjv_clean(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0, verses = 0;
    int prev_blank = 1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && in[j] != '\n') j++;
        const uint8_t *p = in + i, *q = in + j, *t;
        if (p == q) prev_blank = 1;
        else {
            if (verse_line(p, q, &t)) {
                if (verses++) out[o++] = '\n';
                memcpy(out + o, t, (size_t)(q - t));
                o += (size_t)(q - t);
            } else if (!prev_blank && verses) {   /* a wrapped verse goes on */
                out[o++] = ' ';
                memcpy(out + o, p, (size_t)(q - p));
                o += (size_t)(q - p);
            }   /* else a chapter heading (between blank lines) */
            prev_blank = 0;
        }
        i = j + 1;
    }
    if (verses) out[o++] = '\n';
    return verses ? o : 0;
}

int fr_dev_train_lm(int argc, char **argv)
{
    const char *text_path = NULL, *out = "samples/tinylm-kjv.frm";
    int steps = 2000, batch = 16, n_calib = 256, n_eval = 512;
    uint64_t seed = 1016;
    fr_lm_arch a = {.vocab = 256, .d = 256, .layers = 4, .heads = 4, .kv_heads = 2, .ff = 640, .T = 128,
                    .theta = 10000.0f, .eps = 1e-5f};
    fr_opt opts[] = {
        {.name = "--text", .kind = FR_OPT_STR, .dst = &text_path},
        {.name = "--out", .kind = FR_OPT_STR, .dst = &out},
        {.name = "--steps", .kind = FR_OPT_INT, .dst = &steps, .lo = 1, .hi = 10000000},
        {.name = "--batch", .kind = FR_OPT_INT, .dst = &batch, .lo = 1, .hi = 4096},
        {.name = "--calib", .kind = FR_OPT_INT, .dst = &n_calib, .lo = 1, .hi = 1000000},
        {.name = "--eval", .kind = FR_OPT_INT, .dst = &n_eval, .lo = 1, .hi = 1000000},
        {.name = "--d", .kind = FR_OPT_INT, .dst = &a.d, .lo = 2, .hi = 8192},
        {.name = "--layers", .kind = FR_OPT_INT, .dst = &a.layers, .lo = 1, .hi = 256},
        {.name = "--heads", .kind = FR_OPT_INT, .dst = &a.heads, .lo = 1, .hi = 256},
        {.name = "--kv-heads", .kind = FR_OPT_INT, .dst = &a.kv_heads, .lo = 1, .hi = 256},
        {.name = "--ff", .kind = FR_OPT_INT, .dst = &a.ff, .lo = 1, .hi = 65536},
        {.name = "--seq", .kind = FR_OPT_INT, .dst = &a.T, .lo = 2, .hi = 65536},
        {.name = "--seed", .kind = FR_OPT_U64, .dst = &seed, .lo = 1, .hi = 9223372036854775807LL},
        {.name = NULL},
    };
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui-dev train-lm --text FILE [--out F.frm] [--steps N] [--batch N] [--calib N] [--eval N]\n"
               "                          [--d N] [--layers N] [--heads N] [--kv-heads N] [--ff N] [--seq T] [--seed N]\n"
               "  trains the byte-level LLaMA-style sample on FILE (the output of the bible-kjv package's `bible`\n"
               "  is cleaned to one verse per line; any other text is used as it is)\n");
        return 0;
    }
    fr_err e;
    fr_err_clear(&e);
    if (fr_opt_parse(opts, argc, argv, NULL, 0, NULL, &e)) {
        fprintf(stderr, "frtui-dev train-lm: %s\n", e.msg);
        return 2;
    }
    if (!text_path) {
        fprintf(stderr, "frtui-dev train-lm: --text FILE is required\n");
        return 2;
    }
    uint8_t *raw = NULL;
    size_t n_raw = 0;
    if (fr_read_file(text_path, (size_t)1 << 30, &raw, &n_raw, &e)) return fr_cli_fail(&e);
    uint8_t *text = fr_xmalloc(n_raw + 1);
    size_t n = fr_kjv_clean(raw, n_raw, text);
    int cleaned = n > 0;
    if (!cleaned) memcpy(text, raw, n = n_raw);
    free(raw);
    /* held-out split by chunks */
    uint8_t *tr = fr_xmalloc(n + 1), *ho = fr_xmalloc(n / HOLD_EVERY + 2 * CHUNK);
    size_t n_tr = 0, n_ho = 0;
    for (size_t c = 0; c * CHUNK < n; c++) {
        size_t len = FR_MIN((size_t)CHUNK, n - c * CHUNK);
        if (c % HOLD_EVERY == HOLD_EVERY - 1) memcpy(ho + n_ho, text + c * CHUNK, len), n_ho += len;
        else memcpy(tr + n_tr, text + c * CHUNK, len), n_tr += len;
    }
    free(text);
    fr_model m;
    fr_model_init(&m);
    int rc = 0;
    if (fr_lm_build(&m, &a, seed, &e) || fr_lm_windows(tr, n_tr, a.T, n_calib, seed, &m.calib, &e) ||
        fr_lm_windows(ho, n_ho, a.T, n_eval, 0, &m.eval, &e)) {
        rc = fr_cli_fail(&e);
        goto done;
    }
    snprintf(m.meta.name, sizeof m.meta.name, "tinylm-kjv");
    fr_lm_train_config tc = {.steps = steps, .batch = batch, .warmup = FR_MIN(200, steps / 10 + 1), .lr = 2e-3f,
                             .lr_min_frac = 0.1f, .weight_decay = 0.1f, .seed = seed, .log_every = 100};
    fprintf(stderr, "training %s: %lld parameters (d %d, %d blocks, %d heads / %d kv, ff %d, T %d) on %zu bytes of %s "
            "(%zu held out), %d steps of %d windows, %d BLAS thread(s)\n", m.meta.name,
            (long long)fr_graph_param_count(&m.g), a.d, a.layers, a.heads, a.kv_heads, a.ff, a.T, n_tr, text_path, n_ho,
            steps, batch, fr_blas_threads());
    double t0 = fr_now();
    if (fr_lm_train(&m, tr, n_tr, &tc, stderr, &e)) { rc = fr_cli_fail(&e); goto done; }
    double train_s = fr_now() - t0, nll = 0;
    long tokens = 0;
    if (fr_eval_lm(&m.g, &m.meta, &m.eval, NULL, NULL, 32, 0, &nll, &tokens, &e)) { rc = fr_cli_fail(&e); goto done; }
    m.meta.train_seed = seed;
    m.meta.train_threads = fr_blas_threads();
    snprintf(m.meta.train_blas_core, sizeof m.meta.train_blas_core, "%s", fr_blas_core());
    snprintf(m.meta.provenance, sizeof m.meta.provenance,
             "trained by frtui-dev train-lm on the King James Bible (Debian bible-kjv-text, public domain; printed "
             "by bible-kjv's `bible`, one verse per line%s): byte-level, %zu training bytes, every %dth %d-byte chunk "
             "held out (%zu bytes); AdamW lr %.0e (warm-up %d, cosine to %.0f%%), weight decay %.1f, %d steps of %d "
             "windows of %d bytes, seed %llu, %d BLAS thread(s), OpenBLAS core %s; calibration = %d training "
             "windows at seeded offsets, evaluation = %d consecutive held-out windows; full-precision held-out "
             "perplexity %.4f (%.4f bits/byte)",
             cleaned ? "" : " -- not cleaned: the file was not bible's output", n_tr, HOLD_EVERY, CHUNK, n_ho,
             (double)tc.lr, tc.warmup, 100.0 * tc.lr_min_frac, (double)tc.weight_decay, steps, batch, a.T,
             (unsigned long long)seed, fr_blas_threads(), fr_blas_core(), n_calib, n_eval, fr_lm_ppl(nll),
             fr_lm_bits(nll));
    if (fr_frm_write(out, &m, 1, &e)) { rc = fr_cli_fail(&e); goto done; }
    fprintf(stderr, "wrote %s: held-out perplexity %.4f, %.4f bits/byte over %ld tokens (training %.0f s, all %.0f s)\n",
            out, fr_lm_ppl(nll), fr_lm_bits(nll), tokens, train_s, fr_now() - t0);
    printf("%s\t%.4f\t%.4f\n", m.meta.name, fr_lm_ppl(nll), fr_lm_bits(nll));
done:
    fr_model_free(&m);
    free(tr);
    free(ho);
    return rc;
}
