/* cli_sweep.c — `frtui sweep`: run every point of a grid (sweep.h) as an ordinary `frtui run`.
 *
 * Design note
 *   A point is a child process: this same binary (/proc/self/exe) running `frtui run` with
 *   --json, --checkpoint and, for an interrupted point, --resume, in the point's directory.
 *   Not in-process, because the compute thread count is process-wide (blas.h, par.h: one
 *   kernel pool, one part count), and determinism is "same seed + same thread count", so two
 *   points sharing one process could not each have their own count; a child also keeps a
 *   crash, an OOM kill or a refused setting inside its point, and makes a point of a sweep
 *   exactly what `frtui run` does with the same flags (the tests compare the two).
 *   Threading: --jobs worker threads each take the next point from a shared index (one
 *   mutex), fork/exec its child and wait for it; nothing else is shared.  The child asks for
 *   SIGKILL when the thread that forked it dies (PR_SET_PDEATHSIG), so a kill -9 of the sweep
 *   takes its runs with it instead of leaving orphans that would race a re-run for the same
 *   checkpoint; each point's directory is also flock'ed while it runs (two sweeps, or two
 *   Slurm tasks given one K, never run one point twice at the same time).
 *   State lives only in files, each written atomically (fr_atomic_*): point.json (the
 *   parameters and the thread count, written before the first start and read back on every
 *   later one, so a resumed point keeps its count), run.frc (the run's checkpoint), report.json
 *   (the run's --json: its presence means done), run.txt (the run's output).  So kill -9 at any
 *   moment loses at most the work since each running point's last checkpoint.
 *   Under `mpirun -n K` (the MPI build, sweep_mpi.c) every rank is such a sweep over the points
 *   k with k % K == rank, with --jobs 1 unless given (the launcher already placed one rank per
 *   slot); rank 0 writes sweep.json before the others start, and once every rank is through
 *   prints the totals and merges (sweep-report).  A refusal of the command line happens
 *   identically on every rank, so only rank 0 prints it and all exit 2 together.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frtui/cli.h"
#include "frtui/json.h"
#include "frtui/opt.h"
#include "frtui/qdefs.h"
#include "frtui/runcfg.h"
#include "frtui/sb.h"
#include "frtui/sweep.h"
#include "frtui/sweep_mpi.h"

extern char **environ;

typedef struct sweep_opts {
    fr_sweep_spec spec;
    const char *out, *emit_slurm, *every, *point_arg;
    int jobs, threads, quiet, list;
    const char *models_pos[FR_SWEEP_MAX_MODELS];
    int n_models_pos;
} sweep_opts;

/* ---- options ------------------------------------------------------------------------------ */

static int opt_spec(const char *name, const char *v, void *dst, fr_err *e)
{
    uint8_t *buf;
    size_t n;
    if (fr_read_file(v, 1 << 20, &buf, &n, e)) { fr_err_prefix(e, name); return e->code; }
    int rc = fr_sweep_parse_spec(dst, (const char *)buf, n, v, e);
    free(buf);
    return rc;
}

#define AXIS_FN(fn, axis)                                                        \
    static int fn(const char *name, const char *v, void *dst, fr_err *e)        \
    {                                                                            \
        return fr_sweep_set_axis(dst, axis, v, name, e);                         \
    }
AXIS_FN(opt_models, FR_SWEEP_MODELS)
AXIS_FN(opt_methods, FR_SWEEP_METHODS)
AXIS_FN(opt_bits, FR_SWEEP_BITS)
AXIS_FN(opt_grain, FR_SWEEP_GRAIN)
AXIS_FN(opt_act, FR_SWEEP_ACT_BITS)
AXIS_FN(opt_lrs, FR_SWEEP_LRS)
AXIS_FN(opt_iters, FR_SWEEP_ITERS)
AXIS_FN(opt_seeds, FR_SWEEP_SEEDS)

static void sweep_help(void)
{
    printf("usage: frtui sweep [MODEL.frm...] -o DIR [grid] [options] [-- RUN OPTIONS]\n"
           "  Runs every point of the grid as an ordinary `frtui run`, each in DIR/points/NAME/ with its\n"
           "  report.json, checkpoint run.frc and output run.txt.  Re-running skips finished points and\n"
           "  resumes interrupted ones from their checkpoints.\n"
           "grid (comma lists; integer ranges LO..HI):\n"
           "  --models A.frm,B.frm         bundles (or give them as arguments)\n"
           "  --methods rtn,adaround,flexround   (default flexround)\n"
           "  --bits 2..8                  weight bits (default 4)\n"
           "  --grain tensor,channel,group128   weight-grid granularity (default tensor)\n"
           "  --act-bits 0,8               activation bits, 0 = weights only (default 0)\n"
           "  --lrs 1e-3,2e-3              learning rates (default: each method's)\n"
           "  --iters 100,500              iterations per unit (default: the preset's)\n"
           "  --seeds 1..3                 seeds (default: the preset's)\n"
           "  --spec FILE                  the grid from a file: `key = value` lines with the keys above\n"
           "                               (models, methods, bits, grain, act-bits, lrs, iters, seeds) and\n"
           "                               `run = OPTIONS`; flags given as well replace the file's key\n"
           "  -- RUN OPTIONS               fixed `frtui run` options for every point (--batch 32 ...), after\n"
           "                               the spec file's `run =` ones\n"
           "execution:\n"
           "  -o, --out DIR                the sweep's folder (created)\n"
           "  --jobs N                     points run at once (default: the CPU count)\n"
           "  --threads T                  compute threads of each point (default 1; recorded per point and\n"
           "                               kept when it resumes: same seed + same T = bit-identical)\n"
           "  --checkpoint-every N|Ns      checkpoint cadence of each point (default: every unit and 120s)\n"
           "  --point K|all                run only point K (0-based; default: SLURM_ARRAY_TASK_ID when set)\n"
           "  --emit-slurm FILE            write an sbatch job-array script (task K = --point K), run nothing\n"
           "  --list                       print the points (index, name) and exit\n"
           "  -q, --quiet                  only the summary line\n"
           "under MPI (frtui built with make MPI=1): mpirun -n K frtui sweep ... runs point k on rank k %% K,\n"
           "  --jobs 1 per rank unless given; rank 0 merges (sweep-report) once every rank is through\n"
           "Then: frtui sweep-report DIR (CSV, JSON and PNG plots).\n");
}

/* argv[1..] up to "--" is the sweep's; the rest are fixed run options. */
static int parse(int argc, char **argv, sweep_opts *o, int *n_own, fr_err *e)
{
    memset(o, 0, sizeof *o);
    fr_sweep_spec_init(&o->spec);
    int own = argc;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) { own = i; break; }
    *n_own = own;
    fr_opt t[] = {
        {.name = "--spec", .kind = FR_OPT_FN, .fn = opt_spec, .dst = &o->spec, .first = 1},
        {.name = "--models", .alias = "--model", .kind = FR_OPT_FN, .fn = opt_models, .dst = &o->spec},
        {.name = "--methods", .alias = "--method", .kind = FR_OPT_FN, .fn = opt_methods, .dst = &o->spec},
        {.name = "--bits", .kind = FR_OPT_FN, .fn = opt_bits, .dst = &o->spec},
        {.name = "--grain", .kind = FR_OPT_FN, .fn = opt_grain, .dst = &o->spec},
        {.name = "--act-bits", .kind = FR_OPT_FN, .fn = opt_act, .dst = &o->spec},
        {.name = "--lrs", .alias = "--lr", .kind = FR_OPT_FN, .fn = opt_lrs, .dst = &o->spec},
        {.name = "--iters", .kind = FR_OPT_FN, .fn = opt_iters, .dst = &o->spec},
        {.name = "--seeds", .alias = "--seed", .kind = FR_OPT_FN, .fn = opt_seeds, .dst = &o->spec},
        {.name = "--out", .alias = "-o", .kind = FR_OPT_STR, .dst = &o->out},
        {.name = "--jobs", .alias = "-j", .kind = FR_OPT_INT, .dst = &o->jobs, .lo = 1, .hi = 256},
        {.name = "--threads", .kind = FR_OPT_INT, .dst = &o->threads, .lo = 1, .hi = 256},
        {.name = "--checkpoint-every", .kind = FR_OPT_STR, .dst = &o->every},
        {.name = "--point", .kind = FR_OPT_STR, .dst = &o->point_arg},
        {.name = "--emit-slurm", .kind = FR_OPT_STR, .dst = &o->emit_slurm},
        {.name = "--list", .kind = FR_OPT_FLAG, .dst = &o->list, .val = 1},
        {.name = "--quiet", .alias = "-q", .kind = FR_OPT_FLAG, .dst = &o->quiet, .val = 1},
        {.name = NULL},
    };
    if (fr_opt_parse(t, own, argv, o->models_pos, FR_SWEEP_MAX_MODELS, &o->n_models_pos, e)) return e->code;
    if (o->n_models_pos) {
        if (fr_opt_find(t, "--models")->seen) return fr_err_set(e, FR_EINPUT, "models given both as arguments and with --models");
        o->spec.n[FR_SWEEP_MODELS] = 0;   /* arguments replace a spec file's models */
        for (int i = 0; i < o->n_models_pos; i++) {
            char one[1100];
            snprintf(one, sizeof one, "%s", o->models_pos[i]);
            if (strchr(one, ',')) return fr_err_set(e, FR_EINPUT, "%s: a model path with ',' can only be given as an argument alone", one);
        }
        fr_sb b = {0};
        for (int i = 0; i < o->n_models_pos; i++) fr_sb_printf(&b, "%s%s", i ? "," : "", o->models_pos[i]);
        int rc = fr_sweep_set_axis(&o->spec, FR_SWEEP_MODELS, fr_sb_str(&b), "model arguments", e);
        fr_sb_free(&b);
        if (rc) return rc;
    }
    for (int i = own + 1; i < argc; i++)
        if (fr_sweep_add_run_arg(&o->spec, argv[i], "run options after --", e)) return e->code;
    if (!o->out && !o->list) return fr_err_set(e, FR_EINPUT, "needs an output folder: -o DIR");
    if (!o->threads) o->threads = 1;
    if (o->every) {   /* the run's own rules, checked now rather than in every point */
        fr_cli_ckpt_opts k = {0};
        fr_opt ct[4];
        fr_cli_ckpt_table(ct, 0, &k);
        char *av[] = {"sweep", "--checkpoint-every", (char *)o->every, NULL};
        if (fr_opt_parse(ct, 3, av, NULL, 0, NULL, e)) return e->code;
    }
    /* the fixed run options: parsed now as `frtui run` would, so a typo fails here, not N times */
    {
        char *av[FR_SWEEP_MAX_RUN_ARGS + 2];
        av[0] = "run";
        for (int i = 0; i < o->spec.n_run_args; i++) av[i + 1] = o->spec.run_args[i];
        fr_run_config c;
        const char *file;
        if (fr_cli_parse_run(o->spec.n_run_args + 1, av, &c, &file, e)) {
            char m[sizeof e->msg];
            snprintf(m, sizeof m, "%s", e->msg);
            return fr_err_set(e, FR_EINPUT, "run options: %s", m);
        }
        if (file) return fr_err_set(e, FR_EINPUT, "run options: unexpected argument '%s' (models go before --)", file);
    }
    for (int i = 0; i < o->spec.n[FR_SWEEP_MODELS]; i++)
        if (!fr_cli_has_magic(o->spec.model[i], "FRTM"))
            return fr_err_set(e, FR_EINPUT, "%s: not a readable frtui bundle (.frm)", o->spec.model[i]);
    return FR_OK;
}

/* ---- files -------------------------------------------------------------------------------- */

static int path_join(char *buf, size_t n, const char *a, const char *b, const char *c)
{
    int w = snprintf(buf, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

static int ensure_dir(const char *path, fr_err *e)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return FR_OK;
        return fr_err_set(e, FR_EINPUT, "%s: exists and is not a folder", path);
    }
    return fr_err_set(e, FR_EIO, "%s: cannot create the folder: %s", path, strerror(errno));
}

static void point_json(fr_sb *b, const fr_sweep_spec *s, const fr_sweep_point *p, int threads)
{
    char g[24], abs[4096];
    fr_sb_puts(b, "{\n  \"name\": ");
    fr_sb_json_str(b, p->name);
    fr_sb_puts(b, ",\n  \"model\": ");
    fr_sb_json_str(b, p->model_name);
    fr_sb_puts(b, ", \"file\": ");
    fr_sb_json_str(b, fr_cli_abspath(p->model, abs, sizeof abs));
    fr_sb_printf(b, ",\n  \"method\": \"%s\", \"bits\": %d, \"act_bits\": %d, \"grain\": \"%s\"",
                 fr_method_name((fr_method)p->method), p->bits, p->act_bits, fr_sweep_grain_name(p->grain, g, sizeof g));
    fr_sb_puts(b, ",\n  \"lr\": ");
    if (p->lr > 0) fr_sb_printf(b, "%.9g", (double)p->lr); else fr_sb_puts(b, "null");
    fr_sb_puts(b, ", \"iters\": ");
    if (p->iters >= 0) fr_sb_printf(b, "%d", p->iters); else fr_sb_puts(b, "null");
    fr_sb_puts(b, ", \"seed\": ");
    if (p->seed >= 0) fr_sb_printf(b, "%lld", (long long)p->seed); else fr_sb_puts(b, "null");
    fr_sb_printf(b, ",\n  \"threads\": %d, \"run_options\": [", threads);
    for (int i = 0; i < s->n_run_args; i++) {
        if (i) fr_sb_puts(b, ", ");
        fr_sb_json_str(b, s->run_args[i]);
    }
    fr_sb_puts(b, "]\n}\n");
}

/* DIR/sweep.json: the grid as this command expanded it, so `--point K` under Slurm can check
 * that every task sees the same K -> point mapping. */
static int write_sweep_json(const char *path, const fr_sweep_point *pt, int n, fr_err *e)
{
    fr_sb b = {0};
    fr_sb_printf(&b, "{\n  \"version\": 1, \"n_points\": %d,\n  \"points\": [", n);
    for (int k = 0; k < n; k++) {
        fr_sb_puts(&b, k ? ",\n    " : "\n    ");
        fr_sb_json_str(&b, pt[k].name);
    }
    fr_sb_puts(&b, "\n  ]\n}\n");
    int rc = fr_atomic_write(path, fr_sb_str(&b), b.n, e);
    fr_sb_free(&b);
    return rc;
}

/* --point: the recorded grid must map K to the same point as this command line. */
static int check_sweep_json(const char *path, const fr_sweep_point *pt, int n, int k, fr_err *e)
{
    fr_json_doc *d;
    if (fr_json_load_file(path, &d, NULL)) return FR_OK;   /* none yet: this task writes it */
    const fr_json *ps = fr_json_get(fr_json_root(d), "points");
    const char *name = fr_json_str(fr_json_at(ps, (size_t)k));
    int ok = fr_json_len(ps) == (size_t)n && name && strcmp(name, pt[k].name) == 0;
    fr_json_free(d);
    if (!ok)
        return fr_err_set(e, FR_EINPUT, "%s: the recorded grid differs from this command line's (point %d is not %s); "
                          "re-emit the Slurm script or use another -o folder", path, k, pt[k].name);
    return FR_OK;
}

/* ---- running points ------------------------------------------------------------------------- */

typedef struct sweep_run {
    const sweep_opts *o;
    const fr_sweep_point *pt;
    const int *todo;
    int n_todo, next, n_points;
    char exe[4096];
    pthread_mutex_t mu;
    int done, skipped, resumed, failed, busy;
    double t0;
} sweep_run;

enum { PT_DONE, PT_FAILED, PT_BUSY };

/* One point, start to end (or to failure).  *resumed set when it continued a checkpoint. */
static int run_point(sweep_run *r, const fr_sweep_point *p, int *resumed, char *msg, size_t msg_n)
{
    const sweep_opts *o = r->o;
    char dir[4600], pjson[4700], report[4700], frc[4700], txt[4700];
    fr_err e;
    fr_err_clear(&e);
    *resumed = 0;
    if (path_join(dir, sizeof dir, o->out, "points", p->name) || path_join(pjson, sizeof pjson, dir, "point.json", NULL) ||
        path_join(report, sizeof report, dir, "report.json", NULL) || path_join(frc, sizeof frc, dir, "run.frc", NULL) ||
        path_join(txt, sizeof txt, dir, "run.txt", NULL)) {
        snprintf(msg, msg_n, "%s: path too long", o->out);
        return PT_FAILED;
    }
    if (ensure_dir(dir, &e)) { snprintf(msg, msg_n, "%s", e.msg); return PT_FAILED; }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || flock(dfd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(msg, msg_n, "%.400s: being run by another process; left to it", dir);
        if (dfd >= 0) close(dfd);
        return PT_BUSY;
    }
    int st = PT_FAILED;
    fr_sb b = {0}, out = {0};
    int threads = o->threads;
    fr_json_doc *d;
    if (!fr_json_load_file(report, &d, NULL)) {   /* finished by another process since the list was made */
        fr_json_free(d);
        snprintf(msg, msg_n, "finished meanwhile");
        st = PT_DONE;
        goto end;
    }
    if (!fr_json_load_file(pjson, &d, NULL)) {
        int64_t t;
        if (fr_json_int(fr_json_get(fr_json_root(d), "threads"), 1, 256, &t)) threads = (int)t;
        fr_json_free(d);
    } else {
        point_json(&b, &o->spec, p, threads);
        if (fr_atomic_write(pjson, fr_sb_str(&b), b.n, &e)) { snprintf(msg, msg_n, "%s", e.msg); goto end; }
    }
    /* argv: exe run <point's run args> --json --checkpoint --checkpoint-every [--resume] -q */
    char *av[FR_SWEEP_MAX_RUN_ARGS + 40], store[16384];
    int n = 0;
    av[n++] = r->exe;
    av[n++] = "run";
    int k = fr_sweep_run_args(&o->spec, p, av + n, FR_SWEEP_MAX_RUN_ARGS + 20, store, sizeof store);
    if (k < 0) { snprintf(msg, msg_n, "%s: run options too long", p->name); goto end; }
    n += k;
    av[n++] = "--json"; av[n++] = report;
    av[n++] = "--checkpoint"; av[n++] = frc;
    if (o->every) { av[n++] = "--checkpoint-every"; av[n++] = (char *)o->every; }
    else { av[n++] = "--checkpoint-every"; av[n++] = "1"; av[n++] = "--checkpoint-every"; av[n++] = "120s"; }
    if (fr_cli_is_checkpoint(frc)) { av[n++] = "--resume"; av[n++] = frc; *resumed = 1; }
    av[n++] = "-q";
    av[n] = NULL;
    /* the environment with this point's FRTUI_THREADS */
    int ne = 0;
    while (environ[ne]) ne++;
    char **env = fr_xcalloc((size_t)ne + 2, sizeof *env), tenv[32];
    int m = 0;
    for (int i = 0; i < ne; i++)
        if (strncmp(environ[i], "FRTUI_THREADS=", 14) != 0 && !fr_sweep_mpi_launcher_var(environ[i])) env[m++] = environ[i];
    snprintf(tenv, sizeof tenv, "FRTUI_THREADS=%d", threads);
    env[m++] = tenv;
    env[m] = NULL;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) { free(env); snprintf(msg, msg_n, "pipe: %s", strerror(errno)); goto end; }
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {   /* only async-signal-safe calls until exec */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(137);   /* the sweep died before prctl took effect */
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        execve(r->exe, av, env);
        _exit(127);
    }
    close(pfd[1]);
    free(env);
    if (pid < 0) { close(pfd[0]); snprintf(msg, msg_n, "fork: %s", strerror(errno)); goto end; }
    char buf[4096];
    ssize_t got;
    while ((got = read(pfd[0], buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        fr_sb_put(&out, buf, (size_t)got);
    }
    close(pfd[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    if (out.n && fr_atomic_write(txt, fr_sb_str(&out), out.n, &e)) { snprintf(msg, msg_n, "%s", e.msg); goto end; }
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
        st = PT_DONE;
        msg[0] = 0;
    } else {
        /* the run's own one-line message: the last line it printed */
        const char *s = out.n ? fr_sb_str(&out) : "";
        const char *end = s + strlen(s);
        while (end > s && end[-1] == '\n') end--;
        const char *ls = end;
        while (ls > s && ls[-1] != '\n') ls--;
        if (WIFSIGNALED(ws)) snprintf(msg, msg_n, "killed by signal %d", WTERMSIG(ws));
        else snprintf(msg, msg_n, "exit %d: %.*s", WEXITSTATUS(ws), (int)FR_MIN(end - ls, 300), ls);
    }
end:
    fr_sb_free(&b);
    fr_sb_free(&out);
    close(dfd);   /* releases the lock */
    return st;
}

static double report_num(const char *dir, const char *key)
{
    fr_json_doc *d;
    double v = -1;
    if (!fr_json_load_file(dir, &d, NULL) && !fr_json_num(fr_json_get(fr_json_root(d), key), &v)) v = -1;
    fr_json_free(d);
    return v;
}

static void *worker(void *arg)
{
    sweep_run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int i = r->next < r->n_todo ? r->todo[r->next++] : -1;
        pthread_mutex_unlock(&r->mu);
        if (i < 0) return NULL;
        const fr_sweep_point *p = &r->pt[i];
        char msg[600];
        int resumed;
        double t = fr_now();
        int st = run_point(r, p, &resumed, msg, sizeof msg);
        t = fr_now() - t;
        pthread_mutex_lock(&r->mu);
        r->done += st == PT_DONE;
        r->failed += st == PT_FAILED;
        r->busy += st == PT_BUSY;
        r->resumed += resumed && st == PT_DONE;
        if (!r->o->quiet || st == PT_FAILED) {
            char rep[4700], acc[48] = "";
            if (st == PT_DONE && !path_join(rep, sizeof rep, r->o->out, "points", p->name) &&
                strlen(rep) + 13 < sizeof rep) {
                strcat(rep, "/report.json");
                double a = report_num(rep, "acc_q");
                if (a >= 0) snprintf(acc, sizeof acc, ", top-1 %.2f%%", 100 * a);
            }
            FILE *f = st == PT_FAILED ? stderr : stdout;
            fprintf(f, "frtui sweep: point %d %s: %s%s%s (%.1f s)\n", p->index, p->name,
                    st == PT_DONE ? (resumed ? "done, resumed from its checkpoint" : "done")
                    : st == PT_BUSY ? "busy" : "FAILED",
                    st == PT_DONE ? acc : ": ", st == PT_DONE ? "" : msg, t);
            fflush(f);
        }
        pthread_mutex_unlock(&r->mu);
    }
}

static int emit_slurm(const sweep_opts *o, int argc, char **argv, int own, const char *exe, int n_points, fr_err *e)
{
    /* the sweep's own arguments without those the script sets per task */
    char **args = fr_xcalloc((size_t)argc + 1, sizeof *args);
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i < own) {
            static const char *const drop[] = {"--emit-slurm", "--point", "--jobs", "-j", "--threads", NULL};
            int skip = 0;
            for (int d = 0; drop[d]; d++) {
                size_t l = strlen(drop[d]);
                if (strncmp(a, drop[d], l) == 0 && (a[l] == 0 || a[l] == '=')) skip = a[l] == 0 ? 2 : 1;
            }
            if (skip) { i += skip - 1; continue; }
        }
        args[n++] = argv[i];
    }
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) { free(args); return fr_err_set(e, FR_EIO, "cannot read the current folder: %s", strerror(errno)); }
    char dir[4096];
    fr_sb b = {0};
    fr_sweep_slurm_script(&b, exe, cwd, fr_cli_abspath(o->out, dir, sizeof dir), n_points, o->threads, args, n);
    free(args);
    int rc = fr_atomic_write(o->emit_slurm, fr_sb_str(&b), b.n, e);
    fr_sb_free(&b);
    if (!rc) chmod(o->emit_slurm, 0755);
    return rc;
}

/* This process' place in an MPI job (rank 0 of 1 without one). */
typedef struct sweep_mpi {
    int rank, size, active;
} sweep_mpi;

/* A refusal of the command line: the same on every rank, so printed once. */
static int usage(const sweep_mpi *m, const fr_err *e)
{
    return m->rank == 0 ? fr_cli_usage("sweep", e) : 2;
}

/* *coord: set when every rank returns this status together (see fr_sweep_mpi_finalize). */
static int sweep(int argc, char **argv, const sweep_mpi *mp, int *coord)
{
    sweep_opts *o = fr_xcalloc(1, sizeof *o);
    fr_err e;
    fr_err_clear(&e);
    int own, rc = 0;
    fr_sweep_point *pt = NULL;
    int n = 0;
    *coord = 1;
    if (parse(argc, argv, o, &own, &e) || fr_sweep_points(&o->spec, &pt, &n, &e)) { rc = usage(mp, &e); goto out; }
    if (mp->size > 1 && (o->point_arg || o->emit_slurm)) {
        fr_err_set(&e, FR_EINPUT, "%s: not under mpirun with %d ranks (the ranks share the points: run it without mpirun)",
                   o->point_arg ? "--point" : "--emit-slurm", mp->size);
        rc = usage(mp, &e);
        goto out;
    }
    if (o->list) {
        for (int k = 0; k < n && mp->rank == 0; k++) printf("%d %s\n", k, pt[k].name);
        goto out;
    }
    /* --point K, else SLURM_ARRAY_TASK_ID (an array task started by a hand-written script);
     * under MPI the ranks split the points instead */
    int only = -1;
    const char *ps = o->point_arg;
    const char *env_task = mp->size > 1 ? NULL : getenv("SLURM_ARRAY_TASK_ID");
    if (!ps && env_task && *env_task) ps = env_task;
    if (ps && strcmp(ps, "all") != 0) {
        long long k;
        if (fr_opt_int(o->point_arg ? "--point" : "SLURM_ARRAY_TASK_ID", ps, 0, n - 1, &k, &e)) { rc = usage(mp, &e); goto out; }
        only = (int)k;
        if (!o->point_arg && !o->quiet)
            fprintf(stderr, "frtui sweep: SLURM_ARRAY_TASK_ID=%s: running that point only (--point all: every point)\n", env_task);
    }
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) { fr_err_set(&e, FR_EIO, "cannot find this program (/proc/self/exe)"); rc = fr_cli_fail(&e); *coord = 0; goto out; }
    exe[el] = 0;
    char sj[4200], pdir[4200];
    if (path_join(sj, sizeof sj, o->out, "sweep.json", NULL) || path_join(pdir, sizeof pdir, o->out, "points", NULL)) {
        fr_err_set(&e, FR_EINPUT, "%s: path too long", o->out);
        rc = usage(mp, &e);
        goto out;
    }
    /* the folders and sweep.json: rank 0's alone, the others wait for its verdict (the sum is
     * the barrier the plan asks for, and carries the status so no rank runs points into a
     * folder rank 0 refused) */
    long long setup = 0;
    if (mp->rank == 0) {
        if ((o->emit_slurm && fr_out_check(o->emit_slurm, &e)) || ensure_dir(o->out, &e) || ensure_dir(pdir, &e) ||
            fr_out_check(sj, &e))
            setup = usage(mp, &e);
        else if (!o->emit_slurm && only < 0 && write_sweep_json(sj, pt, n, &e))
            setup = fr_cli_fail(&e);
    }
    fr_sweep_mpi_sum(&setup, 1);
    if (setup) { rc = (int)FR_MIN(setup, 2); goto out; }
    if (o->emit_slurm) {
        if (write_sweep_json(sj, pt, n, &e) || emit_slurm(o, argc, argv, own, exe, n, &e)) { rc = fr_cli_fail(&e); goto out; }
        if (!o->quiet) printf("frtui sweep: wrote %s (array 0-%d, %d thread(s) per task) and %s\n", o->emit_slurm, n - 1, o->threads, sj);
        goto out;
    }
    if (only >= 0) {   /* never under MPI with several ranks (refused above) */
        if (check_sweep_json(sj, pt, n, only, &e)) { rc = fr_cli_usage("sweep", &e); goto out; }
        if (access(sj, F_OK) != 0 && write_sweep_json(sj, pt, n, &e)) { rc = fr_cli_fail(&e); *coord = 0; goto out; }
    }
    sweep_run *r = fr_xcalloc(1, sizeof *r);
    r->o = o;
    r->pt = pt;
    r->n_points = n;
    snprintf(r->exe, sizeof r->exe, "%s", exe);
    pthread_mutex_init(&r->mu, NULL);
    int *todo = fr_xcalloc((size_t)n, sizeof *todo);
    for (int k = 0; k < n; k++) {
        if ((only >= 0 && k != only) || k % mp->size != mp->rank) continue;
        char rep[4700];
        fr_json_doc *d = NULL;
        if (!path_join(rep, sizeof rep, pdir, pt[k].name, "report.json") && !fr_json_load_file(rep, &d, NULL)) {
            fr_json_free(d);
            r->skipped++;
            continue;
        }
        todo[r->n_todo++] = k;
    }
    r->todo = todo;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = o->jobs ? o->jobs : mp->active ? 1 : (int)FR_MAX(1, ncpu / o->threads);
    jobs = FR_MAX(1, FR_MIN(jobs, r->n_todo));
    if (!o->quiet && mp->size > 1)
        printf("frtui sweep: rank %d of %d: %d of %d point(s), %d finished before, %d to run, %d at a time x %d thread(s)\n",
               mp->rank, mp->size, r->skipped + r->n_todo, n, r->skipped, r->n_todo, jobs, o->threads);
    else if (!o->quiet)
        printf("frtui sweep: %d point(s), %d finished before, %d to run, %d at a time x %d thread(s)\n",
               only >= 0 ? 1 : n, r->skipped, r->n_todo, jobs, o->threads);
    fflush(stdout);
    r->t0 = fr_now();
    pthread_t th[256];
    int started = 0;
    for (int j = 0; j < jobs; j++)
        if (pthread_create(&th[started], NULL, worker, r) == 0) started++;
    if (!started) worker(r);
    for (int j = 0; j < started; j++) pthread_join(th[j], NULL);
    /* every rank's counters on every rank: the sum is also the final barrier (it completes once
     * the last rank is through its points), after which rank 0 may merge */
    long long c[5] = {r->done, r->resumed, r->skipped, r->failed, r->busy};
    fr_sweep_mpi_sum(c, 5);
    if (mp->rank == 0) {
        char ranks[32] = "";
        if (mp->active) snprintf(ranks, sizeof ranks, " on %d rank(s)", mp->size);
        printf("frtui sweep: %s: %lld done (%lld resumed), %lld skipped as finished, %lld failed%s, %.1f s%s\n", o->out, c[0],
               c[1], c[2], c[3], c[4] ? ", some busy in another process" : "", fr_now() - r->t0, ranks);
        fflush(stdout);
    }
    rc = c[3] || c[4] ? 1 : 0;
    if (mp->active && mp->rank == 0) {   /* the merge step, in-process: nothing but files to read */
        char *av[] = {"sweep-report", (char *)o->out, NULL};
        int mrc = fr_cli_sweep_report(2, av);
        if (mrc) rc = mrc;
    }
    pthread_mutex_destroy(&r->mu);
    free(todo);
    free(r);
out:
    free(pt);
    free(o);
    return rc;
}

int fr_cli_sweep(int argc, char **argv)
{
    if (fr_opt_wants_help(argc, argv)) { sweep_help(); return 0; }
    fr_err e;
    fr_err_clear(&e);
    sweep_mpi m = {0, 1, 0};
    int a = fr_sweep_mpi_init(&m.rank, &m.size, &e);
    if (a < 0) return usage(&m, &e);
    m.active = a;
    int coord = 1;
    int rc = sweep(argc, argv, &m, &coord);
    fr_sweep_mpi_finalize(rc, coord);
    return rc;
}
