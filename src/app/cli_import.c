/* cli_import.c — `frtui import`: ONNX or Keras/tfjs models plus calibration / evaluation data
 * from files, written as a .frm bundle.
 *
 * Data preprocessing (documented in README "Importing your model"): samples are read as
 * uint8 (scale 1/255) or float32 (scale 1); when their per-sample shape differs from the
 * model input they are resized with bilinear interpolation (align_corners = False, the
 * PyTorch / TF2 convention) and grey is replicated to 3 channels (RGB to grey is the channel
 * mean).  The model's per-channel normalisation (x - mean) / std comes from --mean/--std.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frtui/cli.h"
#include "frtui/opt.h"
#include "frtui/path.h"
#include "frtui/dataio.h"
#include "frtui/frm.h"
#include "frtui/hf.h"
#include "frtui/onnx.h"
#include "frtui/png.h"
#include "frtui/tfjs.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A folder of PNG images, sorted by file name, as an 8-bit RGB dataset at native size (all
 * images must share one size; resizing to the model happens afterwards). */
static int read_png_dir(const char *dir, int max_n, fr_dataset *d, fr_err *e)
{
    memset(d, 0, sizeof *d);
    DIR *dp = opendir(dir);
    if (!dp) return fr_err_set(e, FR_EINPUT, "%s: cannot open folder", dir);
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (!fr_str_ends_with(de->d_name, ".png") && !fr_str_ends_with(de->d_name, ".PNG")) continue;
        if (n == cap) { cap = cap ? 2 * cap : 64; names = fr_xrealloc(names, (size_t)cap * sizeof *names); }
        names[n++] = fr_xstrdup(de->d_name);
    }
    closedir(dp);
    int rc = FR_OK;
    if (n == 0) { free(names); return fr_err_set(e, FR_EINPUT, "%s: no .png files in the folder", dir); }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int total = n;
    if (max_n > 0 && n > max_n) n = max_n;
    for (int i = 0; i < n && rc == FR_OK; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        uint8_t *rgb = NULL;
        int w = 0, h = 0;
        if ((rc = fr_png_read(path, &rgb, &w, &h, e))) break;
        if (i == 0) {
            size_t bytes;
            if (fr_size_mul(&bytes, (size_t)n * 3, (size_t)w * h)) {
                fr_afree(rgb);
                rc = fr_err_set(e, FR_EINPUT, "%s: %d images of %dx%d are too large", dir, n, w, h);
                break;
            }
            /* The folder's total, from the first image's size, before allocating (issue 14, item 6). */
            if ((rc = fr_mem_check(e, bytes, "%s: %d images of %dx%d", dir, n, w, h))) { fr_afree(rgb); break; }
            *d = (fr_dataset){.n = n, .c = 3, .h = h, .w = w, .dtype = 0, .scale = 1.0f / 255.0f};
            d->u8 = fr_amalloc(bytes);
            if (!d->u8) { fr_afree(rgb); rc = fr_err_set(e, FR_ENOMEM, "%s: out of memory", dir); break; }
        } else if (w != d->w || h != d->h) {
            fr_afree(rgb);
            rc = fr_err_set(e, FR_EINPUT, "%s: image is %dx%d but %s was %dx%d (all images must share one size)", path, w,
                            h, names[0], d->w, d->h);
            break;
        }
        /* interleaved RGB -> planar CHW */
        size_t hw = (size_t)w * h;
        for (size_t p = 0; p < hw; p++)
            for (int c = 0; c < 3; c++) d->u8[(size_t)i * 3 * hw + (size_t)c * hw + p] = rgb[p * 3 + (size_t)c];
        fr_afree(rgb);
    }
    for (int i = 0; i < total; i++) free(names[i]);
    free(names);
    if (rc) fr_dataset_free(d);
    return rc;
}

static int read_data(const char *path, int max_n, fr_dataset *d, fr_err *e)
{
    if (fr_path_is_dir(path)) return read_png_dir(path, max_n, d, e);
    int rc;
    if (fr_str_ends_with(path, ".npy") || fr_str_ends_with(path, ".npy.gz")) rc = fr_npy_read_dataset(path, d, e);
    else rc = fr_idx_read_images(path, d, e);
    if (rc == FR_OK && max_n > 0 && d->n > max_n) d->n = max_n;   /* the tail stays allocated, unused */
    return rc;
}

static int read_labels(const char *path, int32_t **labels, int *n, fr_err *e)
{
    if (fr_str_ends_with(path, ".npy") || fr_str_ends_with(path, ".npy.gz")) return fr_npy_read_labels(path, labels, n, e);
    return fr_idx_read_labels(path, labels, n, e);
}

/* Converts d in place to the model's per-sample shape (c, h, w). */
static int conform(fr_dataset *d, const char *src, int c, int h, int w, fr_err *e)
{
    if (d->c == c && d->h == h && d->w == w) return FR_OK;
    if ((int64_t)d->c * d->h * d->w == (int64_t)c * h * w && (h == 1 || d->h == 1)) {
        /* Same elements, vector vs image layout (an MLP's 784 inputs from 28x28 images). */
        d->c = c; d->h = h; d->w = w;
        return FR_OK;
    }
    if (!(d->c == 1 || d->c == 3) || !(c == 1 || c == 3))
        return fr_err_set(e, FR_EINPUT, "%s: samples are %dx%dx%d, the model expects %dx%dx%d and only grey/RGB images "
                          "can be converted", src, d->c, d->h, d->w, c, h, w);
    size_t per_in = (size_t)d->c * d->h * d->w, per_out = (size_t)c * h * w, bytes, scratch, res_n;
    if (fr_size_mul(&bytes, (size_t)d->n, per_out * (d->dtype ? 4 : 1)) || fr_size_mul(&res_n, (size_t)d->c, (size_t)h * w) ||
        fr_size_mul(&scratch, per_in + res_n, sizeof(float)) || bytes > SIZE_MAX - scratch)
        return fr_err_set(e, FR_ENOMEM, "%s: %d samples at %dx%dx%d exceed the size limit", src, d->n, c, h, w);
    /* The resized copy and the per-sample scratch come on top of what was read: the same memory
     * check as a declared size, and no aborting allocation (a 187 KB .npy.gz whose samples
     * resize to a huge model input aborted with status 134; issue 14, item 6). */
    int rc = fr_mem_check(e, bytes + scratch, "%s: resizing %d samples to %dx%dx%d", src, d->n, c, h, w);
    if (rc) return rc;
    float *tmp = malloc(per_in * sizeof(float)), *res = malloc(res_n * sizeof(float));
    uint8_t *u8 = d->dtype ? NULL : fr_amalloc(bytes);
    float *f32 = d->dtype ? fr_amalloc(bytes) : NULL;
    if ((!u8 && !f32) || !tmp || !res) {
        free(tmp); free(res); fr_afree(u8); fr_afree(f32);
        return fr_err_set(e, FR_ENOMEM, "%s: out of memory resizing %d samples to %dx%dx%d", src, d->n, c, h, w);
    }
    size_t ohw = (size_t)h * w;
    for (int i = 0; i < d->n; i++) {
        for (size_t k = 0; k < per_in; k++)
            tmp[k] = d->dtype ? d->f32[(size_t)i * per_in + k] : (float)d->u8[(size_t)i * per_in + k];
        fr_image_resize_bilinear(tmp, d->w, d->h, d->c, res, w, h);
        for (int oc = 0; oc < c; oc++)
            for (size_t p = 0; p < ohw; p++) {
                float v;
                if (d->c == c) v = res[(size_t)oc * ohw + p];
                else if (d->c == 1) v = res[p];
                else v = (res[p] + res[ohw + p] + res[2 * ohw + p]) / 3.0f;
                size_t o = (size_t)i * per_out + (size_t)oc * ohw + p;
                if (u8) u8[o] = (uint8_t)fminf(255.0f, fmaxf(0.0f, nearbyintf(v)));
                else f32[o] = v;
            }
    }
    free(tmp);
    free(res);
    fr_afree(d->u8);
    fr_afree(d->f32);
    d->u8 = u8;
    d->f32 = f32;
    fprintf(stderr, "frtui import: %s: resized %d samples from %dx%dx%d to %dx%dx%d (bilinear, align_corners=False%s)\n",
            src, d->n, d->c, d->h, d->w, c, h, w, d->c == 1 && c == 3 ? ", grey replicated to RGB" : "");
    d->c = c; d->h = h; d->w = w;
    return FR_OK;
}

static int parse_floats(const char *s, float *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        out[n++] = strtof(s, &end);
        if (end == s) return -1;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

/* Token windows for a language model: ids from a .npy, or (byte-level models) raw text cut
 * into windows — calibration at offsets drawn from seed 1, evaluation consecutive and
 * non-overlapping — so the same file gives the same sets every time. */
static int read_tokens(const char *path, int vocab, int *T, int max_n, int is_eval, fr_dataset *d, fr_err *e)
{
    if (fr_str_ends_with(path, ".npy")) return fr_lm_ids_read(path, vocab, T, max_n, d, e);
    if (vocab != 256)
        return fr_err_set(e, FR_EINPUT, "%s: plain text needs a byte-level model (vocabulary 256, this one has %d); give "
                          "token ids as an (N, T) .npy", path, vocab);
    uint8_t *text;
    size_t n;
    int rc = fr_read_file(path, (size_t)1 << 30, &text, &n, e);
    if (rc) return rc;
    if (n < (size_t)*T) {
        free(text);
        return fr_err_set(e, FR_EINPUT, "%s: %zu bytes of text do not fill one window of %d", path, n, *T);
    }
    int count = (int)FR_MIN((size_t)(is_eval ? INT32_MAX : 1024), n / (size_t)*T);
    if (max_n > 0 && max_n < count) count = max_n;
    rc = fr_lm_windows(text, n, *T, count, is_eval ? 0 : 1, d, e);
    free(text);
    return rc;
}

/* Token ids rather than samples: an integer .npy (its header is read, not the file) or text. */
static int is_token_file(const char *path)
{
    if (!path) return 0;
    if (fr_str_ends_with(path, ".txt")) return 1;
    if (!fr_str_ends_with(path, ".npy")) return 0;
    char h[256] = {0};
    fr_err e;
    int fd = fr_open_regular(path, 0, NULL, &e);   /* a FIFO is not read (it would block): the reader refuses it */
    if (fd < 0) return 0;
    ssize_t got = read(fd, h, sizeof h - 1);
    close(fd);
    size_t n = got > 0 ? (size_t)got : 0;
    if (n < 10 || memcmp(h, "\x93NUMPY", 6) != 0) return 0;
    for (size_t k = 0; k < n; k++) if (!h[k]) h[k] = ' ';
    return strstr(h, "<i8") || strstr(h, "<i4");
}

/* `frtui import MODEL.onnx` of a transformer fed token ids (onnx_tok.c): the window is the
 * model's (or, where the file leaves it symbolic, --input-shape T, else the token file's). */
static int import_onnx_lm(const char *in, const char *out, const char *calib, const char *eval, const char *name,
                          const fr_onnx_shape *shape_opt, int n_calib, int n_eval)
{
    fr_err e;
    fr_err_clear(&e);
    fr_dataset cal = {0}, ev = {0};
    fr_onnx_shape shape = shape_opt ? *shape_opt : (fr_onnx_shape){0};
    int T = 0, rc;
    const char *tf = calib && fr_str_ends_with(calib, ".npy") ? calib : eval && fr_str_ends_with(eval, ".npy") ? eval : NULL;
    if (!shape.n && tf) {   /* the token file's window resolves a symbolic T */
        fr_npy a;
        if ((rc = fr_npy_read(tf, &a, &e))) return fr_cli_fail(&e);
        if (a.ndim == 2) shape = (fr_onnx_shape){.n = 1, .d = {a.shape[1]}, .strict = 0};
        fr_npy_free(&a);
    }
    fr_model m;
    fr_model_init(&m);
    if ((rc = fr_onnx_import_shaped(in, &shape, &m, &e)) || (rc = fr_frm_check_input(&m.meta, in, &e))) {
        fr_model_free(&m);
        return fr_cli_fail(&e);
    }
    int vocab = fr_graph_lm_vocab(&m.g);
    if (!vocab) {
        fr_model_free(&m);
        const char *tfile = is_token_file(calib) ? calib : eval;
        fprintf(stderr, "frtui: %s: token ids (int32/int64 or text), but %s is not a language model; its samples must be "
                "uint8 or float32\n", tfile, in);
        return 2;
    }
    T = m.meta.in_c;
    if ((calib && (rc = read_tokens(calib, vocab, &T, n_calib, 0, &cal, &e))) ||
        (eval && (rc = read_tokens(eval, vocab, &T, n_eval, 1, &ev, &e)))) {
        fr_dataset_free(&cal);
        fr_model_free(&m);
        return fr_cli_fail(&e);
    }
    m.calib = cal;
    m.eval = ev;
    if (name) snprintf(m.meta.name, sizeof m.meta.name, "%s", name);
    size_t plen = strlen(m.meta.provenance);
    snprintf(m.meta.provenance + plen, sizeof m.meta.provenance - plen, "%simported by frtui from %s", plen ? "; " : "", in);
    if ((rc = fr_frm_write(out, &m, 1, &e))) { fr_model_free(&m); return fr_cli_fail(&e); }
    printf("wrote %s: language model, %d nodes, vocabulary %d, windows of %d tokens, %lld parameters, %d calibration / %d "
           "evaluation windows\n", out, m.g.n_nodes, vocab, T, (long long)fr_graph_param_count(&m.g), m.calib.n, m.eval.n);
    fr_model_free(&m);
    return 0;
}

/* `frtui import CHECKPOINT_DIR`: a Hugging Face LLaMA-family model (hf.h) with token windows. */
static int import_hf(const char *in, const char *out, const char *calib, const char *eval, const char *name, int T,
                     int n_calib, int n_eval)
{
    fr_err e;
    fr_err_clear(&e);
    fr_lm_arch a;
    int max_pos = 0, rc;
    if ((rc = fr_hf_config(in, &a, &max_pos, &e))) return fr_cli_fail(&e);
    fr_dataset cal = {0}, ev = {0};
    /* the window: --seq-len, else the token file's, else 128 (within the model's positions) */
    if (!T && calib && fr_str_ends_with(calib, ".npy") && (rc = read_tokens(calib, a.vocab, &T, n_calib, 0, &cal, &e))) return fr_cli_fail(&e);
    if (!T && eval && fr_str_ends_with(eval, ".npy") && (rc = read_tokens(eval, a.vocab, &T, n_eval, 1, &ev, &e))) return fr_cli_fail(&e);
    if (!T) T = max_pos > 0 && max_pos < 128 ? max_pos : 128;
    if ((calib && !cal.n && (rc = read_tokens(calib, a.vocab, &T, n_calib, 0, &cal, &e))) ||
        (eval && !ev.n && (rc = read_tokens(eval, a.vocab, &T, n_eval, 1, &ev, &e)))) {
        fr_dataset_free(&cal);
        return fr_cli_fail(&e);
    }
    fr_model m;
    fr_model_init(&m);
    if ((rc = fr_hf_import(in, T, &m, &e))) {
        fr_dataset_free(&cal);
        fr_dataset_free(&ev);
        fr_model_free(&m);
        return fr_cli_fail(&e);
    }
    m.calib = cal;
    m.eval = ev;
    if (name) snprintf(m.meta.name, sizeof m.meta.name, "%s", name);
    if ((rc = fr_frm_write(out, &m, 1, &e))) { fr_model_free(&m); return fr_cli_fail(&e); }
    printf("wrote %s: language model, %d blocks, vocabulary %d, windows of %d tokens, %lld parameters, %d calibration / %d "
           "evaluation windows\n", out, a.layers, a.vocab, T, (long long)fr_graph_param_count(&m.g), m.calib.n, m.eval.n);
    fr_model_free(&m);
    return 0;
}

int fr_cli_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *calib = NULL, *eval = NULL, *labels = NULL, *weights = NULL, *name = NULL;
    int n_calib = 1024, n_eval = 0, have_mean = 0, have_std = 0, seq_len = 0;
    float mean[4] = {0}, std_[4] = {1, 1, 1, 1};
    const char *mean_s = NULL, *std_s = NULL, *shape_s = NULL;
    fr_opt t[] = {
        {.name = "--out", .alias = "-o", .kind = FR_OPT_STR, .dst = &out},
        {.name = "--calib", .kind = FR_OPT_STR, .dst = &calib},
        {.name = "--eval", .kind = FR_OPT_STR, .dst = &eval},
        {.name = "--labels", .kind = FR_OPT_STR, .dst = &labels},
        {.name = "--weights", .kind = FR_OPT_STR, .dst = &weights},
        {.name = "--name", .kind = FR_OPT_STR, .dst = &name},
        {.name = "--n-calib", .kind = FR_OPT_INT, .dst = &n_calib, .lo = 0, .hi = 100000000},
        {.name = "--n-eval", .kind = FR_OPT_INT, .dst = &n_eval, .lo = 0, .hi = 100000000},
        {.name = "--mean", .kind = FR_OPT_STR, .dst = &mean_s},
        {.name = "--std", .kind = FR_OPT_STR, .dst = &std_s},
        {.name = "--input-shape", .kind = FR_OPT_STR, .dst = &shape_s},
        {.name = "--seq-len", .kind = FR_OPT_INT, .dst = &seq_len, .lo = 2, .hi = 1 << 20},
        {.name = NULL},
    };
    static const char help[] =
        "usage: frtui import MODEL.onnx|model.json [--weights W.bin] [--calib DATA] [--eval DATA [--labels L]]\n"
        "                    [--mean a,b,c] [--std a,b,c] [--n-calib N] [--n-eval N] [--name NAME]\n"
        "                    [--input-shape CxHxW | NxCxHxW] -o OUT.frm\n"
        "DATA: .npy (N,C,H,W | N,H,W | N,D; uint8 or float32), IDX (raw or .gz), or a folder of .png\n"
        "--n-calib N: keep the first N calibration samples (default 1024, 0 = all); --n-eval likewise (default all)\n"
        "--input-shape: the ONNX input's dims where the file leaves them symbolic (e.g. 3x224x224 or\n"
        "  1x3x224x224; dims the file fixes must agree); without it they come from the --calib data\n"
        "\n"
        "       frtui import HF_DIR|config.json [--calib TOKENS] [--eval TOKENS] [--seq-len T] -o OUT.frm\n"
        "a Hugging Face LLaMA-family checkpoint (llama, mistral, qwen2; config.json + model.safetensors or\n"
        "  shards with model.safetensors.index.json; F32/F16/BF16).  TOKENS: token ids as an (N, T) .npy\n"
        "  (int32/int64), or for a byte-level model (vocabulary 256) plain text cut into windows of T bytes.\n"
        "--seq-len T: the window (default: the token file's T, else 128)\n"
        "\n"
        "       frtui import LM.onnx --calib TOKENS [--eval TOKENS] [--input-shape T] -o OUT.frm\n"
        "a transformer exported to ONNX with token ids [N, T] in and logits [N, T, V] out (torch.onnx.export:\n"
        "  LayerNorm/RMSNorm, GELU, SiLU, RoPE and attention written out as primitive operators are recognised).\n";
    if (fr_opt_wants_help(argc, argv)) { fputs(help, stdout); return 0; }
    fr_err pe;
    fr_err_clear(&pe);
    int np = 0;
    if (fr_opt_parse(t, argc, argv, &in, 1, &np, &pe)) return fr_cli_usage("import", &pe);
    if (mean_s) {
        if (parse_floats(mean_s, mean, 4) < 1) { fprintf(stderr, "frtui import: --mean '%s': expected numbers separated by commas\n", mean_s); return 2; }
        have_mean = 1;
    }
    if (std_s) {
        if (parse_floats(std_s, std_, 4) < 1) { fprintf(stderr, "frtui import: --std '%s': expected numbers separated by commas\n", std_s); return 2; }
        have_std = 1;
    }
    if (!in || !out) {
        fputs(help, stderr);
        return 2;
    }
    /* -o must not be one of the inputs (the model, its weights or data) and must be writable,
     * before anything is read. */
    const char *inputs[] = {in, weights, calib, eval, labels};
    if (fr_cli_check_output("-o", out, inputs, 5, &pe)) return fr_cli_usage("import", &pe);
    if (fr_hf_is_checkpoint(in)) {
        if (weights || labels || mean_s || std_s || shape_s) {
            fr_err_set(&pe, FR_EINPUT, "%s: a language model takes --calib/--eval token files and --seq-len, not --weights, "
                       "--labels, --mean, --std or --input-shape", in);
            return fr_cli_usage("import", &pe);
        }
        return import_hf(in, out, calib, eval, name, seq_len, n_calib, n_eval);
    }
    if (seq_len) {
        fr_err_set(&pe, FR_EINPUT, "--seq-len goes with a Hugging Face checkpoint (a folder with config.json)");
        return fr_cli_usage("import", &pe);
    }
    for (int k = 0; k < 4; k++)
        if (!(std_[k] > 0) || !isfinite(mean[k])) { fprintf(stderr, "frtui import: --std must be positive\n"); return 2; }
    fr_err e;
    fr_err_clear(&e);
    fr_onnx_shape shape = {0};
    if (shape_s && fr_onnx_parse_shape(shape_s, &shape, &pe)) return fr_cli_usage("import", &pe);
    if (fr_str_ends_with(in, ".onnx") && (is_token_file(calib) || is_token_file(eval))) {
        if (labels || mean_s || std_s || weights) {
            fr_err_set(&pe, FR_EINPUT, "%s: with token ids, --labels, --mean, --std and --weights do not apply", in);
            return fr_cli_usage("import", &pe);
        }
        return import_onnx_lm(in, out, calib, eval, name, shape_s ? &shape : NULL, n_calib, n_eval);
    }
    fr_model m;
    fr_model_init(&m);
    int rc;
    /* The calibration data are read first: an ONNX input with symbolic dims takes their shape
     * when --input-shape does not give it (onnx_shape.c). */
    fr_dataset cal = {0};
    if (calib && (rc = read_data(calib, n_calib, &cal, &e))) return fr_cli_fail(&e);
    if (!shape_s && calib) shape = (fr_onnx_shape){.n = 3, .d = {cal.c, cal.h, cal.w}, .strict = 0};
    if (fr_str_ends_with(in, ".onnx")) rc = fr_onnx_import_shaped(in, &shape, &m, &e);
    else if (fr_str_ends_with(in, ".json")) rc = fr_tfjs_import(in, weights, &m, &e);
    else rc = fr_err_set(&e, FR_EINPUT, "%s: unknown model format (expected .onnx or a tfjs model.json)", in);
    /* The bundle's rules, checked here so the message names the model, not the output. */
    if (!rc) rc = fr_frm_check_input(&m.meta, in, &e);
    if (rc) { fr_model_free(&m); fr_dataset_free(&cal); return fr_cli_fail(&e); }
    if (name) snprintf(m.meta.name, sizeof m.meta.name, "%s", name);
    if (have_mean) memcpy(m.meta.mean, mean, sizeof mean);
    if (have_std) memcpy(m.meta.std, std_, sizeof std_);
    size_t plen = strlen(m.meta.provenance);
    snprintf(m.meta.provenance + plen, sizeof m.meta.provenance - plen, "%simported by frtui from %s", plen ? "; " : "", in);
    if (calib) {
        m.calib = cal;
        if ((rc = conform(&m.calib, calib, m.meta.in_c, m.meta.in_h, m.meta.in_w, &e))) {
            fr_model_free(&m);
            return fr_cli_fail(&e);
        }
        free(m.calib.labels);
        m.calib.labels = NULL;
    }
    if (eval) {
        int nl = 0;
        /* Without --labels the eval set is label-free: run/eval/report then measure fidelity to
         * the full-precision network (feature cosine, relative MSE, top-1 agreement, KL). */
        if ((rc = read_data(eval, n_eval, &m.eval, &e)) || (labels && (rc = read_labels(labels, &m.eval.labels, &nl, &e))) ||
            (rc = conform(&m.eval, eval, m.meta.in_c, m.meta.in_h, m.meta.in_w, &e))) {
            fr_model_free(&m);
            return fr_cli_fail(&e);
        }
        if (labels && (rc = fr_frm_check_labels(m.eval.labels, FR_MIN(nl, m.eval.n), m.meta.n_classes, labels, &e))) {
            fr_model_free(&m);
            return fr_cli_fail(&e);
        }
        if (labels && nl < m.eval.n) {
            fr_model_free(&m);
            fprintf(stderr, "frtui: %s: %d labels for %d evaluation samples\n", labels, nl, m.eval.n);
            return 2;
        }
    }
    if ((rc = fr_frm_write(out, &m, 1, &e))) { fr_model_free(&m); return fr_cli_fail(&e); }
    printf("wrote %s: %d nodes, %lld parameters, %d calibration / %d evaluation samples\n", out, m.g.n_nodes,
           (long long)fr_graph_param_count(&m.g), m.calib.n, m.eval.n);
    fr_model_free(&m);
    return 0;
}

