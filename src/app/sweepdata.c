/* sweepdata.c — a sweep folder's points as sorted rows (sweepdata.h).
 *
 * Design note
 *   Moved out of cli_sweep_report.c so the report and the inspector's sweep view read the
 *   same rows the same way.  Single-threaded; no state between calls.
 *   "running" must not disturb the sweep: cli_sweep.c takes a non-blocking exclusive flock on
 *   a point's directory before it starts the child and treats failure as "another process runs
 *   it" (the point is then skipped).  Probing that lock by taking it, even briefly, could make
 *   a sweep skip a point, so the lock is read from /proc/locks (the FLOCK entries name the
 *   locked inode) instead; without /proc the state falls back to partial/failed/pending.
 */
#include "frtui/sweepdata.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "frtui/json.h"
#include "frtui/qdefs.h"

static double num(const fr_json *o, const char *key)
{
    double v;
    return fr_json_num(fr_json_get(o, key), &v) ? v : NAN;
}

/* A parameter as the point name spells it: the number, or "def" for null (the default). */
static void param(const fr_json *o, const char *key, char *buf, size_t n)
{
    const fr_json *v = fr_json_get(o, key);
    double x;
    if (fr_json_num(v, &x)) snprintf(buf, n, "%.9g", x);
    else snprintf(buf, n, "def");
}

static void str(const fr_json *o, const char *key, char *buf, size_t n)
{
    const char *s = fr_json_str(fr_json_get(o, key));
    snprintf(buf, n, "%s", s ? s : "?");
}

/* The inodes flock'ed right now ("N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END"). */
typedef struct locks { int n, cap; struct { unsigned maj, min; unsigned long ino; } *l; } locks;

static void read_locks(locks *L)
{
    memset(L, 0, sizeof *L);
    FILE *f = fopen("/proc/locks", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char kind[16];
        unsigned maj, min;
        unsigned long ino;
        /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; blocked waiters ("-> ...") are skipped */
        if (sscanf(line, "%*d: %15s %*s %*s %*d %x:%x:%lu", kind, &maj, &min, &ino) != 4 || strcmp(kind, "FLOCK")) continue;
        if (L->n == L->cap) L->l = fr_xrealloc(L->l, (size_t)(L->cap = L->cap ? 2 * L->cap : 16) * sizeof *L->l);
        L->l[L->n].maj = maj;
        L->l[L->n].min = min;
        L->l[L->n++].ino = ino;
    }
    fclose(f);
}

static int is_locked(const locks *L, const char *path)
{
    struct stat st;
    if (!L->n || stat(path, &st) != 0) return 0;
    for (int i = 0; i < L->n; i++)
        if (L->l[i].ino == (unsigned long)st.st_ino && L->l[i].maj == major(st.st_dev) && L->l[i].min == minor(st.st_dev))
            return 1;
    return 0;
}

static void set_status(fr_sweep_row *r, int st)
{
    r->st = st;
    snprintf(r->status, sizeof r->status, "%s", fr_sweeprows_status_names[st]);
}

static int read_row(const char *dir, const char *name, const locks *L, fr_sweep_row *r)
{
    char p[4400];
    memset(r, 0, sizeof *r);
    snprintf(p, sizeof p, "%s/points/%s/point.json", dir, name);
    fr_json_doc *d;
    if (fr_json_load_file(p, &d, NULL)) return -1;
    const fr_json *o = fr_json_root(d);
    snprintf(r->name, sizeof r->name, "%s", name);
    str(o, "model", r->model, sizeof r->model);
    str(o, "method", r->method, sizeof r->method);
    str(o, "grain", r->grain, sizeof r->grain);
    param(o, "lr", r->lr, sizeof r->lr);
    param(o, "iters", r->iters, sizeof r->iters);
    param(o, "seed", r->seed, sizeof r->seed);
    r->bits = (int)num(o, "bits");
    r->act_bits = (int)num(o, "act_bits");
    r->threads = (int)num(o, "threads");
    fr_json_free(d);
    r->acc_fp = r->acc_q = r->ppl_fp = r->ppl_q = r->cosine = r->rel_mse = r->agree = r->kl = r->aggr = r->clip =
        r->elapsed = NAN;
    snprintf(p, sizeof p, "%s/points/%s/report.json", dir, name);
    if (fr_json_load_file(p, &d, NULL)) {
        snprintf(p, sizeof p, "%s/points/%s", dir, name);
        if (is_locked(L, p)) { set_status(r, FR_SWP_RUNNING); return 0; }
        snprintf(p, sizeof p, "%s/points/%s/run.txt", dir, name);   /* written when the child has exited */
        if (access(p, F_OK) == 0) { set_status(r, FR_SWP_FAILED); return 0; }
        snprintf(p, sizeof p, "%s/points/%s/run.frc", dir, name);
        set_status(r, access(p, F_OK) == 0 ? FR_SWP_PARTIAL : FR_SWP_PENDING);
        return 0;
    }
    o = fr_json_root(d);
    set_status(r, FR_SWP_DONE);
    r->acc_fp = num(o, "acc_fp");
    r->acc_q = num(o, "acc_q");
    r->elapsed = num(o, "elapsed_s");
    double t = num(o, "threads");
    if (isfinite(t)) r->threads = (int)t;
    const fr_json *f = fr_json_get(o, "fidelity");
    r->cosine = num(f, "cosine");
    r->rel_mse = num(f, "rel_mse");
    r->agree = num(f, "top1_agreement");
    r->kl = num(f, "kl");
    const fr_json *lm = fr_json_get(f, "lm");
    r->ppl_fp = num(lm, "ppl_fp");
    r->ppl_q = num(lm, "ppl_q");
    /* the run's aggressive / clipped fraction: over every weight of every layer */
    double sa = 0, sc = 0, sn = 0;
    const fr_json *units = fr_json_get(o, "units");
    for (size_t u = 0; u < fr_json_len(units); u++) {
        const fr_json *ls = fr_json_get(fr_json_at(units, u), "layers");
        for (size_t l = 0; l < fr_json_len(ls); l++) {
            const fr_json *ly = fr_json_at(ls, l);
            double n = num(ly, "n"), a = num(ly, "aggressive_pct"), c = num(ly, "clipped_pct");
            if (!(n > 0) || !isfinite(a) || !isfinite(c)) continue;
            sa += a * n; sc += c * n; sn += n;
        }
    }
    if (sn > 0) { r->aggr = sa / sn; r->clip = sc / sn; }
    fr_json_free(d);
    return 0;
}

/* A point the sweep has not started yet is only a name in sweep.json; its parameters are read
 * back from the name (sweep.c: MODEL_METHOD_W<bits>[A<act>]_GRAIN_lr<lr>_it<iters>_s<seed>),
 * right to left, so a model name with underscores stays whole.  0 when the name does not
 * have that shape. */
static int row_from_name(const char *name, fr_sweep_row *r)
{
    char buf[256], *part[6];
    memset(r, 0, sizeof *r);
    snprintf(buf, sizeof buf, "%s", name);
    for (int k = 5; k >= 0; k--) {   /* seed, iters, lr, grain, W/A, method */
        char *u = strrchr(buf, '_');
        if (!u) return 0;
        *u = 0;
        part[k] = u + 1;
    }
    if (part[5][0] != 's' || strncmp(part[4], "it", 2) || strncmp(part[3], "lr", 2) || part[1][0] != 'W') return 0;
    snprintf(r->name, sizeof r->name, "%.255s", name);
    snprintf(r->model, sizeof r->model, "%.63s", buf);
    snprintf(r->method, sizeof r->method, "%.15s", part[0]);
    r->bits = atoi(part[1] + 1);
    const char *a = strchr(part[1], 'A');
    r->act_bits = a ? atoi(a + 1) : 0;
    snprintf(r->grain, sizeof r->grain, "%.23s", part[2]);
    snprintf(r->lr, sizeof r->lr, "%.23s", part[3] + 2);
    snprintf(r->iters, sizeof r->iters, "%.15s", part[4] + 2);
    snprintf(r->seed, sizeof r->seed, "%.23s", part[5] + 1);
    r->acc_fp = r->acc_q = r->ppl_fp = r->ppl_q = r->cosine = r->rel_mse = r->agree = r->kl = r->aggr = r->clip =
        r->elapsed = NAN;
    set_status(r, FR_SWP_PENDING);
    return 1;
}

static int cmp_num_str(const char *a, const char *b)
{
    int da = strcmp(a, "def") == 0, db = strcmp(b, "def") == 0;
    if (da || db) return da - db;
    double x = atof(a), y = atof(b);
    return x < y ? -1 : x > y;
}

/* The plot group first (model, grain, A, lr, iters), then method (rtn, adaround, flexround: the
 * legend's order), bits, seed. */
static int row_cmp(const void *pa, const void *pb)
{
    const fr_sweep_row *a = pa, *b = pb;
    int c;
    if ((c = strcmp(a->model, b->model)) || (c = strcmp(a->grain, b->grain)) || (c = a->act_bits - b->act_bits) ||
        (c = cmp_num_str(a->lr, b->lr)) || (c = cmp_num_str(a->iters, b->iters)) ||
        (c = fr_method_from_name(a->method) - fr_method_from_name(b->method)) || (c = strcmp(a->method, b->method)) ||
        (c = a->bits - b->bits) || (c = cmp_num_str(a->seed, b->seed)))
        return c;
    return strcmp(a->name, b->name);
}

int fr_sweepdata_is_sweep(const char *dir)
{
    char p[4200];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    if (access(p, F_OK) == 0) return 1;
    snprintf(p, sizeof p, "%s/points", dir);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int fr_sweepdata_load(const char *dir, fr_sweep_row **rows, int *n_out, fr_err *e)
{
    char p[4400];
    *rows = NULL;
    *n_out = 0;
    snprintf(p, sizeof p, "%s/points", dir);
    DIR *d = opendir(p);
    if (!d) return fr_err_set(e, FR_EINPUT, "%s: not a sweep folder (no points/ in it: %s)", dir, strerror(errno));
    locks L;
    read_locks(&L);
    int n = 0, cap = 64;
    fr_sweep_row *rs = fr_xmalloc((size_t)cap * sizeof *rs);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) rs = fr_xrealloc(rs, (size_t)(cap *= 2) * sizeof *rs);
        if (read_row(dir, de->d_name, &L, &rs[n]) == 0) n++;
    }
    closedir(d);
    free(L.l);
    /* the points of the grid that have not started: listed in sweep.json, no directory yet */
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    fr_json_doc *sj;
    (void)fr_json_load_file(p, &sj, NULL);   /* none: no pending points to add */
    const fr_json *names = sj ? fr_json_get(fr_json_root(sj), "points") : NULL;
    for (size_t i = 0; i < fr_json_len(names); i++) {
        const char *nm = fr_json_str(fr_json_at(names, i));
        int have = 0;
        for (int k = 0; nm && k < n && !have; k++) have = !strcmp(rs[k].name, nm);
        if (!nm || have) continue;
        if (n == cap) rs = fr_xrealloc(rs, (size_t)(cap *= 2) * sizeof *rs);
        if (row_from_name(nm, &rs[n])) n++;
    }
    if (sj) fr_json_free(sj);
    qsort(rs, (size_t)n, sizeof *rs, row_cmp);
    *rows = rs;
    *n_out = n;
    return FR_OK;
}

void fr_sweepdata_free(fr_sweep_row *rows) { free(rows); }
