/* cli.c — the model-level sub-commands: info, eval.
 *
 * Design note: commands parse their flags, call library modules, and print.  No logic that
 * the TUI also needs lives here.  Every user-input failure prints exactly one line
 * "frtui: <file>: <what is wrong>" to stderr and exits 2.
 */
#include "frtui/cli.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frtui/blas.h"
#include "frtui/dataio.h"
#include "frtui/exec.h"
#include "frtui/fidelity.h"
#include "frtui/frm.h"
#include "frtui/onnx.h"
#include "frtui/opt.h"
#include "frtui/partition.h"
#include "frtui/recon.h"
#include "frtui/sb.h"
#include "frtui/tfjs.h"

int fr_cli_exit_code(int status)
{
    switch (status) {
    case FR_OK: return 0;
    case FR_EINPUT: case FR_EIO: case FR_ENOMEM: return 2;
    default: return 1;
    }
}

int fr_cli_fail(const fr_err *e)
{
    char clean[sizeof e->msg];
    fprintf(stderr, "frtui: %s\n", e->msg[0] ? fr_term_clean(clean, sizeof clean, e->msg) : "failed");
    return fr_cli_exit_code(e->code ? e->code : FR_EINPUT);
}

int fr_cli_load(const char *path, fr_model *m)
{
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(m);
    int rc = fr_frm_read(path, m, &e);
    if (rc != FR_OK) {
        fprintf(stderr, "frtui: %s\n", e.msg);
        return rc;
    }
    return FR_OK;
}

/* Canonical name of a path that may not exist yet: realpath of its directory + its base name. */
static int canon(const char *path, char *out, size_t n)
{
    char dir[4096], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == dir) snprintf(dir, sizeof dir, "/");
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    if (!realpath(dir, real)) return -1;
    snprintf(out, n, "%s/%s", strcmp(real, "/") ? real : "", base);
    return 0;
}

int fr_cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ca[8200], cb[8200];
    if (canon(a, ca, sizeof ca) || canon(b, cb, sizeof cb)) return strcmp(a, b) == 0;
    return strcmp(ca, cb) == 0;
}

int fr_cli_check_output(const char *flag, const char *out, const char *const *inputs, int n_inputs, fr_err *e)
{
    if (!out) return FR_OK;
    if (!out[0]) return fr_err_set(e, FR_EINPUT, "%s: empty path", flag);
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return fr_err_set(e, FR_EINPUT, "%s %s: is a directory", flag, out);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fr_err_set(e, FR_EINPUT, "%s %s: directory %s does not exist", flag, out, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return fr_err_set(e, FR_EINPUT, "%s %s: directory %s is not writable (%s)", flag, out, dir, strerror(errno));
    for (int k = 0; k < n_inputs; k++)
        if (inputs[k] && fr_cli_same_file(out, inputs[k]))
            return fr_err_set(e, FR_EINPUT, "%s %s: is the input %s; refusing to overwrite it", flag, out, inputs[k]);
    return FR_OK;
}

const char *fr_cli_abspath(const char *path, char *buf, size_t n)
{
    char real[PATH_MAX];
    if (!realpath(path, real) || strlen(real) >= n) return path;
    memcpy(buf, real, strlen(real) + 1);
    return buf;
}

int fr_cli_threads_env(const char *prog, int *threads)
{
    *threads = 2;
    const char *t = getenv("FRTUI_THREADS");
    if (!t || !t[0]) return 0;
    long long x;
    fr_err e;
    if (fr_opt_int("FRTUI_THREADS", t, 1, 256, &x, &e)) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        return 2;
    }
    *threads = (int)x;
    return 0;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "frtui %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see frtui --help)\n");
    return 2;
}

/* Run flags that change the memory plan; info accepts these (from the run table, so they parse
 * and check exactly as for `frtui run`) and no others. */
static const char *const plan_flags[] = {"--preset", "--n-calib", "--batch", "--max-mem", "--max-cache-mb", "--units",
                                         "--granularity", "--qdrop", "--act-bits", NULL};

static int plan_table(fr_opt *t, int n, fr_run_config *c)
{
    fr_opt all[FR_CLI_RUN_NOPTS + 1];
    fr_cli_run_table(all, 0, c);
    for (int k = 0; all[k].name; k++)
        for (int f = 0; plan_flags[f]; f++)
            if (!strcmp(all[k].name, plan_flags[f])) t[n++] = all[k];
    t[n].name = NULL;
    return n;
}

/* The memory plan `frtui run` would make for m with c (issue 19), from the engine's own planner;
 * a run it would refuse prints the refusal instead. */
static void info_mem_plan(FILE *out, const fr_model *m, const fr_run_config *c)
{
    if (m->calib.n == 0) {
        fprintf(out, "\nMemory plan: none (no calibration data; import the model with --calib to run it)\n");
        return;
    }
    fr_err e;
    fr_err_clear(&e);
    fr_recon *r = fr_recon_plan_new(m, c, &e);
    int nc = c->n_calib > 0 && c->n_calib < m->calib.n ? c->n_calib : m->calib.n;
    fprintf(out, "\nMemory plan of `frtui run` (%d calibration samples, batch %d, %s):\n", nc, c->batch,
            c->max_mem ? "--max-mem" : "default budget");
    if (!r) {
        fprintf(out, "refused: %s\n", e.msg);
        return;
    }
    fr_recon_mem_plan_print(r, out);
    fr_recon_free(r);
}

int fr_cli_info(int argc, char **argv)
{
    int verbose = 0, nfiles = 0, rc = 0;
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui info [--verbose] [--input-shape CxHxW] [run options] FILE.frm|MODEL.onnx|model.json...\n"
               "  the bundle's layers, datasets and quantization, its reconstruction units (BRECQ blocks\n"
               "  and layer-wise), and the memory plan `frtui run` would make (caches in memory or spilled,\n"
               "  per unit); --verbose adds the OpenBLAS core and per-section details.  An ONNX or\n"
               "  tfjs model is imported in memory first (as `frtui import` would, without data;\n"
               "  --input-shape for symbolic input dims)\n"
               "  run options that change the plan, as for `frtui run`: --n-calib N  --batch N  --max-mem SIZE\n"
               "  --max-cache-mb N  --units brecq|split  --granularity block|layer  --qdrop  --act-bits N  --preset NAME\n");
        return 0;
    }
    const char *shape_s = NULL;
    fr_opt t[FR_CLI_RUN_NOPTS + 3] = {{.name = "--verbose", .alias = "-v", .kind = FR_OPT_FLAG, .dst = &verbose, .val = 1},
                                      {.name = "--input-shape", .kind = FR_OPT_STR, .dst = &shape_s}};
    fr_run_config rc_cfg;
    plan_table(t, 2, &rc_cfg);
    const char **files = fr_xcalloc((size_t)argc + 1, sizeof *files);
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_run_config_preset(&rc_cfg, "teaching", &pe) || fr_opt_parse(t, argc, argv, files, argc, &nfiles, &pe) ||
        fr_run_config_check(&rc_cfg, &pe)) {
        free(files);
        return fr_cli_usage("info", &pe);
    }
    if (verbose) {
        printf("OpenBLAS core: %s, %d thread(s)\n", fr_blas_describe(), fr_blas_threads());
    }
    if (!nfiles) { free(files); return usage_error("info", "%s", "needs a bundle file"); }
    fr_onnx_shape shape = {0};
    if (shape_s && fr_onnx_parse_shape(shape_s, &shape, &pe)) { free(files); return fr_cli_usage("info", &pe); }
    for (int i = 0; i < nfiles; i++) {
        fr_model m;
        size_t fl = strlen(files[i]);
        int st;
        if ((fl > 5 && !strcmp(files[i] + fl - 5, ".onnx")) || (fl > 5 && !strcmp(files[i] + fl - 5, ".json"))) {
            fr_err ie;
            fr_model_init(&m);
            st = files[i][fl - 1] == 'x' ? fr_onnx_import_shaped(files[i], &shape, &m, &ie)
                                         : fr_tfjs_import(files[i], NULL, &m, &ie);
            if (st) { fr_cli_fail(&ie); rc = fr_cli_exit_code(st); continue; }
        } else {
            st = fr_cli_load(files[i], &m);
            if (st) { rc = fr_cli_exit_code(st); continue; }
        }
        /* Names come from the file: everything info prints goes through the terminal filter, so
         * an ESC or CSI inside a node name is shown as '?' instead of acting on the terminal. */
        char *text = NULL;
        size_t tlen = 0;
        FILE *out = open_memstream(&text, &tlen);
        FR_ASSERT(out);
        fr_frm_info(out, files[i], &m, verbose);
        fr_graph_fold_bn(&m.g);
        /* The default rule's table, then the old split rule's only where it differs, then the
         * layer-wise table (run --granularity / --units pick one). */
        fr_partition def = {0};
        for (int v = 0; v < 3; v++) {
            int lw = v == 2;
            fr_unit_rule rule = v == 1 ? FR_UNITS_SPLIT : FR_UNITS_BRECQ;
            fr_partition p;
            fr_err e;
            if (fr_partition_build(&m.g, lw, rule, &p, &e) == FR_OK) {
                int same = v == 1 && p.n == def.n;
                for (int k = 0; same && k < p.n; k++)
                    same = p.units[k].first == def.units[k].first && p.units[k].last == def.units[k].last;
                if (same) {
                    fprintf(out, "\nBlock rule split (--units split): the same units\n");
                } else {
                    fprintf(out, "\nReconstruction units (%s, %d units, after folding batch-norm):\n",
                            lw ? "layer-wise" : v == 0 ? "BRECQ blocks, rule brecq (default)" : "BRECQ blocks, rule split (--units split)", p.n);
                    fr_partition_print(out, &p, &m.g);
                }
                if (v == 0) def = p;
                else fr_partition_free(&p);
            } else {
                fprintf(out, "partition: %s\n", e.msg);
            }
        }
        fr_partition_free(&def);
        info_mem_plan(out, &m, &rc_cfg);   /* (the engine folds its own copy again: a no-op on folded graphs) */
        fclose(out);
        fr_sb clean = {0};
        fr_sb_term(&clean, text, 1);
        fputs(fr_sb_str(&clean), stdout);
        fr_sb_free(&clean);
        free(text);
        fr_model_free(&m);
        if (nfiles > 1) printf("\n");
    }
    free(files);
    return rc;
}

/* Only a regular file is peeked at (fr_open_regular): a FIFO must not block here, the reader
 * refuses it with its own message. */
int fr_cli_has_magic(const char *path, const char *magic4)
{
    char magic[4] = {0};
    fr_err e;
    fr_err_clear(&e);
    int fd = fr_open_regular(path, 0, NULL, &e);
    if (fd < 0) return 0;
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    return n == (ssize_t)sizeof magic && memcmp(magic, magic4, 4) == 0;
}

int fr_cli_is_checkpoint(const char *path) { return fr_cli_has_magic(path, "FRTC"); }

int fr_cli_eval(int argc, char **argv)
{
    const char *path = NULL, *ref = NULL, *feature = NULL;
    int batch = 64;
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui eval [--batch N] [--reference FP.frm [--feature NODE]] FILE.frm\n"
               "  top-1 accuracy on the bundle's evaluation set; for a run, export it first:\n"
               "  frtui export RUN.frc -o q.frm && frtui eval q.frm\n"
               "  --reference FP.frm: also fidelity of FILE to the full-precision bundle on FILE's evaluation set\n"
               "  (feature cosine and relative MSE at NODE, default the input of the fully connected head; top-1\n"
               "  agreement; KL of the outputs) -- the only measure when the evaluation set has no labels\n"
               "  a language model (token ids in, next-token logits out) reports perplexity and bits per byte (or\n"
               "  token) of its evaluation text; with --reference, per-token fidelity and both perplexities\n");
        return 0;
    }
    fr_opt t[] = {{.name = "--batch", .kind = FR_OPT_INT, .dst = &batch, .lo = 1, .hi = 4096},
                  {.name = "--reference", .kind = FR_OPT_STR, .dst = &ref},
                  {.name = "--feature", .kind = FR_OPT_STR, .dst = &feature},
                  {.name = NULL}};
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_opt_parse(t, argc, argv, &path, 1, NULL, &pe)) return fr_cli_usage("eval", &pe);
    if (path && fr_cli_is_checkpoint(path)) {
        fprintf(stderr, "frtui eval: %s is a checkpoint, not a bundle; export it first: frtui export %s -o q.frm && "
                "frtui eval q.frm\n", path, path);
        return 2;
    }
    if (!path) return usage_error("eval", "%s", "needs a bundle file");
    fr_model m;
    int st = fr_cli_load(path, &m);
    if (st) return fr_cli_exit_code(st);
    fr_err e;
    fr_err_clear(&e);
    double t0 = fr_now();
    if (!ref && fr_graph_lm_vocab(&m.g)) {
        double nll = 0;
        long tokens = 0;
        st = fr_eval_lm(&m.g, &m.meta, &m.eval, NULL, NULL, batch, 0, &nll, &tokens, &e);
        if (st) { fr_model_free(&m); fr_err_prefix(&e, path); return fr_cli_fail(&e); }
        printf("%s: perplexity %.4f, %.4f bits per %s, cross-entropy %.4f nats over %ld next-token predictions in %d "
               "evaluation windows (%.2f s)\n", path, fr_lm_ppl(nll), fr_lm_bits(nll),
               fr_graph_lm_vocab(&m.g) == 256 ? "byte" : "token", nll, tokens, m.eval.n, fr_now() - t0);
        fr_model_free(&m);
        return 0;
    }
    if (!ref) {
        if (m.eval.n > 0 && !m.eval.labels) {
            fprintf(stderr, "frtui eval: %s: the evaluation set has no labels; measure fidelity to the full-precision "
                    "network with --reference FP.frm\n", path);
            fr_model_free(&m);
            return 2;
        }
        double acc = 0;
        st = fr_eval_accuracy(&m, NULL, NULL, batch, &acc, &e);
        if (st) { fr_model_free(&m); fr_err_prefix(&e, path); return fr_cli_fail(&e); }
        printf("%s: top-1 %.2f%% on %d evaluation samples (%.2f s)\n", path, 100.0 * acc, m.eval.n, fr_now() - t0);
        fr_model_free(&m);
        return 0;
    }
    fr_model r;
    if ((st = fr_cli_load(ref, &r))) { fr_model_free(&m); return fr_cli_exit_code(st); }
    int rn = 0, qn = 0;
    fr_fidelity f;
    double acc_r = -1, acc_q = -1;
    if (r.meta.in_c != m.meta.in_c || r.meta.in_h != m.meta.in_h || r.meta.in_w != m.meta.in_w)
        st = fr_err_set(&e, FR_EINPUT, "%s: input %dx%dx%d, but %s takes %dx%dx%d", ref, r.meta.in_c, r.meta.in_h,
                        r.meta.in_w, path, m.meta.in_c, m.meta.in_h, m.meta.in_w);
    /* The feature node is found in the reference and then by the same name in FILE (an exported
     * bundle keeps node names; BN folding may change indices). */
    if (!st) st = fr_fid_resolve(&r.g, feature, &rn, &e);
    if (!st && fr_fid_resolve(&m.g, r.g.nodes[rn].name, &qn, &e))
        st = fr_err_set(&e, FR_EINPUT, "%s: has no node %s (the reference's feature node); give --feature", path,
                        r.g.nodes[rn].name);
    if (!st) st = fr_eval_fidelity2(&r.g, rn, &m.g, qn, NULL, NULL, &m.meta, &m.eval, batch, 0, &f, &acc_r, &acc_q, &e);
    if (st) { fr_model_free(&m); fr_model_free(&r); return fr_cli_fail(&e); }
    if (acc_q >= 0) printf("%s: top-1 %.2f%% (reference %.2f%%) on %d evaluation samples\n", path, 100 * acc_q, 100 * acc_r, f.n);
    if (f.lm_vocab)
        printf("%s: perplexity %.4f (reference %.4f), %.4f bits per %s (reference %.4f) over %ld next-token predictions\n",
               path, fr_lm_ppl(f.nll_q), fr_lm_ppl(f.nll_fp), fr_lm_bits(f.nll_q), f.lm_vocab == 256 ? "byte" : "token",
               fr_lm_bits(f.nll_fp), f.lm_tokens);
    char name[96], zero[160];
    printf("%s: fidelity to %s (%d eval %s, feature %s, %d-d): cosine %.4f, rel. MSE %.4g, top-1 agreement %.2f%%, "
           "KL %.4g%s (%.2f s)\n", path, ref, f.n, f.lm_vocab ? "tokens" : "samples", fr_term_clean(name, sizeof name, f.feat_name),
           f.feat_dim, f.cos, f.rel_mse, 100 * f.agree, f.kl,
           fr_fid_zero_note(zero, sizeof zero, f.zero_q, f.n, f.lm_vocab > 0), fr_now() - t0);
    fr_model_free(&m);
    fr_model_free(&r);
    return 0;
}

