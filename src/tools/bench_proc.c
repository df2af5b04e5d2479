/* bench_proc.c — whole-process benchmarks: the inspector on a pty, and imports (bench_proc.h).
 *
 * Design note
 *   Inspector.  The child is `frtui-dev bench --child ui|headless MODEL UNIT`: it builds the worker
 *   exactly as the inspector does (same run settings as `frtui MODEL --iters 2000000`), passes
 *   the units before UNIT with RTN, starts the worker, and then either runs fr_tui_run on the
 *   pty (ui) or just waits (headless).  A sampler thread in the child writes one line per
 *   published snapshot to fd 3: the running unit's iteration count and the worker's own
 *   publication timestamp, so an it/s figure is (Δ iterations) / (Δ worker time) between two
 *   publications and owes nothing to the parent's scheduling.  The sampler wakes every 20 ms
 *   and costs the same in both modes.
 *   Key latency: the parent writes `n` or `N` (next / previous unit) to the pty master and
 *   blocks in poll() on it, feeding every byte into the fr_vt screen model, until the Loss
 *   panel's title names the newly selected unit; the figure is write() to that read().  Key
 *   presses are 50..150 ms apart (deterministic jitter) so they do not phase-lock with the
 *   worker's 100 ms publications.  Headless and UI runs alternate (H U H U) so drift in the
 *   machine's load hits both.
 *   Import.  `frtui-dev bench --child import PATH` resets its peak-RSS mark (/proc/self/clear_refs
 *   "5") after start-up, imports, and prints wall time, VmHWM and the RSS before the import.
 *   Threading: the parent is single-threaded; children are reaped before return.
 */
#include "frtui/bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frtui/bench.h"
#include "frtui/blas.h"
#include "frtui/cli.h"
#include "frtui/onnx.h"
#include "frtui/opt.h"
#include "frtui/pb.h"
#include "frtui/pty.h"
#include "frtui/recon.h"
#include "frtui/tfjs.h"
#include "frtui/tui.h"
#include "frtui/worker.h"

#define SELF_EXE "/proc/self/exe"

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static double load1(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = NAN;
        fclose(f);
    }
    return l;
}

/* ---- child side ---------------------------------------------------------------------------- */

typedef struct sampler { fr_worker *w; int unit; FILE *out; } sampler;

static void *sample_loop(void *arg)
{
    sampler *s = arg;
    uint64_t last = 0;
    for (;;) {
        fr_snapshot *snap = fr_worker_acquire(s->w);
        if (snap && snap->gen != last && snap->cur_unit == s->unit && snap->units[s->unit]) {
            last = snap->gen;
            fprintf(s->out, "s %d %.6f\n", snap->units[s->unit]->iter, snap->elapsed_s);
            fflush(s->out);
        }
        fr_snapshot_release(snap);
        sleep_s(0.02);
    }
    return NULL;
}

static int child_inspector(int ui, const char *model, int unit)
{
    FILE *out = fdopen(3, "w");
    if (!out) return 2;
    fr_err e;
    fr_err_clear(&e);
    char *args[] = {"frtui", (char *)model, "--iters", "2000000", NULL};
    fr_run_config c;
    const char *file = NULL;
    fr_model m;
    if (fr_cli_parse_run(4, args, &c, &file, &e) || fr_cli_load(model, &m)) {
        fprintf(out, "error %s\n", e.msg[0] ? e.msg : "cannot load the model");
        return 2;
    }
    fr_worker *w = fr_worker_new(&m, &c, &e);
    fr_recon *r = w ? fr_worker_recon(w) : NULL;
    const fr_partition *p = r ? fr_recon_partition(r) : NULL;
    if (!w || unit >= p->n - 1) {
        fprintf(out, "error %s\n", w ? "unit out of range" : e.msg);
        return 2;
    }
    /* Predecessors with RTN: the timed unit then starts at once, with valid inputs. */
    fr_recon_set_method(r, FR_METHOD_RTN);
    for (int k = 0; k < unit; k++)
        if (fr_recon_begin(r, k, &e) || fr_recon_end(r, &e)) { fprintf(out, "error %s\n", e.msg); return 2; }
    fr_recon_set_method(r, c.method);
    fprintf(out, "u %s\nv %s\nt %d\n", p->units[unit].name, p->units[unit + 1].name, fr_blas_threads());
    fflush(out);
    if (fr_worker_start(w, &e)) { fprintf(out, "error %s\n", e.msg); return 2; }
    sampler s = {w, unit, out};
    pthread_t th;
    pthread_create(&th, NULL, sample_loop, &s);
    if (ui) {
        fr_tui_opts o;
        fr_tui_opts_default(&o);
        o.no_settings = 1;   /* the measured frame is the default one, whatever the user's config */
        if (fr_tui_run(w, &o, &e)) fprintf(out, "error %s\n", e.msg);
    } else {
        for (;;) pause();   /* SIGTERM from the parent ends the process */
    }
    fflush(out);
    _exit(0);   /* the sampler thread never returns; nothing else needs tearing down */
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    long v = -1;
    char line[256];
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0) { v = atol(line + n); break; }
    if (f) fclose(f);
    return v;
}

static int child_import(const char *path)
{
    long base = status_kb("VmRSS:");
    FILE *cr = fopen("/proc/self/clear_refs", "w");   /* "5": reset VmHWM to the current RSS */
    int reset = cr && fputs("5", cr) >= 0;
    if (cr && fclose(cr) != 0) reset = 0;
    fr_model m;
    fr_model_init(&m);
    fr_err e;
    fr_err_clear(&e);
    size_t n = strlen(path);
    double t0 = fr_now();
    int rc = n > 5 && strcmp(path + n - 5, ".json") == 0 ? fr_tfjs_import(path, NULL, &m, &e) : fr_onnx_import(path, &m, &e);
    double t = fr_now() - t0;
    long hwm = status_kb("VmHWM:");
    if (rc) printf("error %s\n", e.msg);
    else printf("import %.6f %ld %ld %d %d\n", t, hwm, base, reset, m.g.n_nodes);
    fr_model_free(&m);
    return rc ? 2 : 0;
}

int fr_bench_child(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "import") == 0) return child_import(argv[2]);
    long long unit;
    fr_err e;
    if (argc >= 4 && (strcmp(argv[1], "ui") == 0 || strcmp(argv[1], "headless") == 0) &&
        fr_opt_int("UNIT", argv[3], 0, 1000000, &unit, &e) == FR_OK)
        return child_inspector(argv[1][0] == 'u', argv[2], (int)unit);
    fprintf(stderr, "frtui-dev bench --child: internal use (ui|headless MODEL UNIT, import PATH)\n");
    return 2;
}

/* ---- inspector: parent side ---------------------------------------------------------------- */

typedef struct sample { int iter; double t; } sample;

typedef struct ichild {
    fr_pty pty;
    int res;                  /* read end of the child's fd 3 */
    char buf[4096];
    size_t nbuf;
    sample last;              /* newest sample */
    int n_samples;
    char unit[96], next[96], err[200];
    int threads, ui;
} ichild;

static void parse_lines(ichild *c)
{
    char *p = c->buf, *nl;
    while ((nl = memchr(p, '\n', c->nbuf - (size_t)(p - c->buf)))) {
        *nl = 0;
        if (p[0] == 's' && sscanf(p, "s %d %lf", &c->last.iter, &c->last.t) == 2) c->n_samples++;
        else if (p[0] == 'u') snprintf(c->unit, sizeof c->unit, "%.95s", p + 2);
        else if (p[0] == 'v') snprintf(c->next, sizeof c->next, "%.95s", p + 2);
        else if (p[0] == 't') c->threads = atoi(p + 2);
        else if (p[0] == 'e') snprintf(c->err, sizeof c->err, "%.199s", p);
        p = nl + 1;
    }
    c->nbuf -= (size_t)(p - c->buf);
    memmove(c->buf, p, c->nbuf);
}

/* Waits up to ms for output of either channel and consumes it all.  -1: the child is gone. */
static int pump(ichild *c, int ms)
{
    struct pollfd q[2] = {{c->pty.fd, POLLIN, 0}, {c->res, POLLIN, 0}};
    if (poll(q, 2, ms) < 0 && errno != EINTR) return -1;
    int gone = 0;
    if (q[0].revents) gone |= fr_pty_pump(&c->pty, 0) < 0;
    if (q[1].revents) {
        for (;;) {
            if (c->nbuf == sizeof c->buf) c->nbuf = 0;   /* a line longer than the buffer: drop */
            ssize_t k = read(c->res, c->buf + c->nbuf, sizeof c->buf - c->nbuf);
            if (k > 0) { c->nbuf += (size_t)k; continue; }
            if (k == 0) gone = 1;
            break;
        }
        parse_lines(c);
    }
    return gone ? -1 : 0;
}

/* Pumps for s seconds. */
static int pump_for(ichild *c, double s)
{
    double end = fr_now() + s;
    for (double left = s; left > 0; left = end - fr_now())
        if (pump(c, (int)(left * 1e3) + 1) < 0) return -1;
    return 0;
}

/* The first sample published after now. */
static int next_sample(ichild *c, sample *out, double timeout_s)
{
    int n0 = c->n_samples;
    double end = fr_now() + timeout_s;
    while (c->n_samples == n0) {
        if (fr_now() > end || pump(c, 50) < 0) return -1;
    }
    *out = c->last;
    return 0;
}

/* CPU seconds (user + system) of a process, or of one thread when tid > 0. */
static double cpu_s(pid_t pid, pid_t tid)
{
    char path[96], buf[1024];
    if (tid > 0) snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    else snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');   /* comm may hold spaces; fields 14/15 follow it */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return NAN;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double rate(const sample *a, const sample *b)
{
    return b->t > a->t && b->iter >= a->iter ? (b->iter - a->iter) / (b->t - a->t) : NAN;
}

static int spawn_child(ichild *c, int ui, const fr_bench_ui_opts *o, fr_err *e)
{
    memset(c, 0, sizeof *c);
    c->ui = ui;
    c->res = -1;
    int pfd[2];
    if (pipe(pfd)) return fr_err_set(e, FR_EIO, "pipe: %s", strerror(errno));
    char unit[16];
    snprintf(unit, sizeof unit, "%d", o->unit);
    char *argv[] = {SELF_EXE, "bench", "--child", ui ? "ui" : "headless", (char *)o->model, unit, NULL};
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    int rc = fr_pty_spawn(&c->pty, argv, o->cols, o->rows, "xterm-256color", pfd[1], e);
    close(pfd[1]);
    if (rc) { close(pfd[0]); return rc; }
    c->res = pfd[0];
    fcntl(c->res, F_SETFL, fcntl(c->res, F_GETFL) | O_NONBLOCK);
    /* Running: the timed unit has done some iterations (warm caches, Adam past its first steps). */
    double end = fr_now() + 120;
    while (!(c->n_samples && c->last.iter >= 30)) {
        if (c->err[0] || fr_now() > end || pump(c, 100) < 0)
            return fr_err_set(e, FR_EIO, "inspector child: %s", c->err[0] ? c->err : "no progress within 120 s");
    }
    return FR_OK;
}

static void close_child(ichild *c)
{
    fr_pty_close(&c->pty, SIGTERM);
    if (c->res >= 0) close(c->res);
    c->res = -1;
}

/* Title of the Loss panel for unit `name`, as view_render.c writes it. */
static int shows_unit(const fr_vt *v, const char *name)
{
    char want[128];
    snprintf(want, sizeof want, "Loss %s  EMA", name);
    return fr_vt_find(v, want) >= 0;
}

/* One timed key: write it, then read until the screen shows `name`.  ms, or NaN on timeout. */
static double time_key(ichild *c, char key, const char *name)
{
    double t0 = fr_now();
    if (fr_pty_send(&c->pty, &key, 1)) return NAN;
    while (!shows_unit(&c->pty.vt, name)) {
        double left = t0 + 2.0 - fr_now();
        if (left <= 0 || pump(c, (int)(left * 1e3) + 1) < 0) return NAN;
    }
    return (fr_now() - t0) * 1e3;
}

void fr_bench_ui_measure(const fr_bench_ui_opts *o, fr_bench_ui *u)
{
    snprintf(u->model, sizeof u->model, "%s", o->model);
    u->cols = o->cols;
    u->rows = o->rows;
    u->rounds = o->rounds;
    u->load1_before = load1();
    double hs[8], us[8], ks[8], lat[1000], uc[8], pc[2][8];
    int nh = 0, nu = 0, nk = 0, nl = 0, lost = 0, nuc = 0, npc[2] = {0, 0};
    uint32_t jitter = 12345;
    fr_err e;
    fr_err_clear(&e);
    for (int round = 0; round < o->rounds && round < 8 && !e.msg[0]; round++) {
        for (int ui = 0; ui < 2; ui++) {
            ichild c;
            if (spawn_child(&c, ui, o, &e)) { close_child(&c); break; }
            snprintf(u->unit, sizeof u->unit, "%s", c.unit);
            u->threads = c.threads;
            if (ui && !fr_pty_wait_text(&c.pty, c.unit, 10)) {
                fr_err_set(&e, FR_EIO, "the inspector did not show unit %s within 10 s", c.unit);
                close_child(&c);
                break;
            }
            sample a, b;
            if (next_sample(&c, &a, 5) == 0) {
                /* The UI thread is the child's main thread (tid == pid). */
                double w0 = fr_now(), t0 = cpu_s(c.pty.pid, c.pty.pid), p0 = cpu_s(c.pty.pid, 0);
                if (pump_for(&c, o->window_s) == 0 && next_sample(&c, &b, 5) == 0) {
                    double dw = fr_now() - w0;
                    if (ui) us[nu++] = rate(&a, &b);
                    else hs[nh++] = rate(&a, &b);
                    if (ui) uc[nuc++] = 100 * (cpu_s(c.pty.pid, c.pty.pid) - t0) / dw;
                    pc[ui][npc[ui]++] = 100 * (cpu_s(c.pty.pid, 0) - p0) / dw;
                }
            }
            int want = o->keys / o->rounds + (round < o->keys % o->rounds);
            if (ui && want > 0 && next_sample(&c, &a, 5) == 0) {
                for (int i = 0; i < want && nl < 1000; i++) {
                    int fwd = i % 2 == 0;   /* n: to the next unit, N: back to the running one */
                    double ms = time_key(&c, fwd ? 'n' : 'N', fwd ? c.next : c.unit);
                    if (isfinite(ms)) lat[nl++] = ms;
                    else lost++;
                    jitter = jitter * 1103515245u + 12345u;
                    pump_for(&c, 0.05 + (double)(jitter >> 16 & 1023) / 1023.0 * 0.1);
                }
                if (next_sample(&c, &b, 5) == 0) ks[nk++] = rate(&a, &b);
            }
            close_child(&c);
            printf("  round %d %-8s %s\n", round + 1, ui ? "UI" : "headless",
                   ui ? "measured (it/s idle, then key latency)" : "measured (it/s)");
            fflush(stdout);
        }
    }
    u->load1_after = load1();
    u->n_keys = nl;
    u->ips_headless = fr_bench_median(hs, nh);
    u->ips_ui = fr_bench_median(us, nu);
    u->ips_ui_keys = fr_bench_median(ks, nk);
    u->ratio = u->ips_ui / u->ips_headless;
    u->ratio_keys = u->ips_ui_keys / u->ips_headless;
    u->ui_cpu_pct = fr_bench_median(uc, nuc);
    for (int k = 0; k < 2; k++) u->child_cpu_pct[k] = fr_bench_median(pc[k], npc[k]);
    if (nl) {
        u->lat_med = fr_bench_median(lat, nl);   /* sorts lat */
        u->lat_p95 = lat[(int)ceil(0.95 * nl) - 1];
        u->lat_max = lat[nl - 1];
    }
    snprintf(u->note, sizeof u->note, "%.160s%s", e.msg, lost ? "; some keys not seen within 2 s" : "");
    if (lost) u->lat_max = INFINITY;
}

/* ---- import -------------------------------------------------------------------------------- */

void fr_bench_import_measure(const char *what, const char *path, int runs, fr_bench_import *r)
{
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->path, sizeof r->path, "%s", path);
    struct stat st;
    r->file_mb = stat(path, &st) == 0 ? (double)st.st_size / 1e6 : NAN;
    size_t len = strlen(path);
    if (len > 5 && strcmp(path + len - 5, ".json") == 0) {   /* tfjs: add the weight shards beside it */
        char dir[256], pat[300];
        snprintf(dir, sizeof dir, "%s", path);
        char *sl = strrchr(dir, '/');
        snprintf(pat, sizeof pat, "%s/*.bin", sl ? (*sl = 0, dir) : ".");
        glob_t gl;
        if (glob(pat, 0, NULL, &gl) == 0) {
            for (size_t i = 0; i < gl.gl_pathc; i++)
                if (stat(gl.gl_pathv[i], &st) == 0) r->file_mb += (double)st.st_size / 1e6;
            globfree(&gl);
        }
    }
    double ts[16], peak = 0, base[16];
    int n = 0;
    for (int i = 0; i < runs && i < 16; i++) {
        int pfd[2];
        if (pipe(pfd)) break;
        pid_t pid = fork();
        if (pid == 0) {
            dup2(pfd[1], 1);
            close(pfd[0]);
            close(pfd[1]);
            char *argv[] = {SELF_EXE, "bench", "--child", "import", (char *)path, NULL};
            execv(SELF_EXE, argv);
            _exit(127);
        }
        close(pfd[1]);
        char out[512] = "";
        size_t got = 0;
        ssize_t k;
        while (pid > 0 && got < sizeof out - 1 && (k = read(pfd[0], out + got, sizeof out - 1 - got)) != 0) {
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) break;
            got += (size_t)k;
        }
        out[got] = 0;
        close(pfd[0]);
        int status = 0;
        if (pid > 0) waitpid(pid, &status, 0);
        double t;
        long hwm, b0;
        int reset, nodes;
        if (sscanf(out, "import %lf %ld %ld %d %d", &t, &hwm, &b0, &reset, &nodes) == 5) {
            ts[n] = t;
            base[n] = (double)b0 / 1024.0;
            peak = FR_MAX(peak, (double)hwm / 1024.0);
            n++;
            snprintf(r->note, sizeof r->note, "%d graph nodes after import%s", nodes,
                     reset ? "" : "; peak RSS includes start-up (clear_refs unavailable)");
        } else {
            out[strcspn(out, "\n")] = 0;
            snprintf(r->note, sizeof r->note, "import failed: %.180s", out[0] ? out : "child died");
            break;
        }
    }
    r->runs = n;
    r->seconds = fr_bench_median(ts, n);
    r->base_rss_mb = fr_bench_median(base, n);
    r->peak_rss_mb = n ? peak : NAN;
}

/* ---- a ~10 MB ONNX model ------------------------------------------------------------------- */

static void attr_ints(fr_pbw *node, const char *name, const int64_t *v, int k)
{
    fr_pbw a;
    fr_pbw_init(&a);
    fr_pbw_str(&a, 1, name);
    fr_pbw_packed_ints(&a, 8, v, k);
    fr_pbw_int(&a, 20, 7);   /* AttributeProto.type = INTS */
    fr_pbw_msg(node, 5, &a);
    fr_pbw_free(&a);
}

static void attr_int(fr_pbw *node, const char *name, int64_t v)
{
    fr_pbw a;
    fr_pbw_init(&a);
    fr_pbw_str(&a, 1, name);
    fr_pbw_int(&a, 3, v);
    fr_pbw_int(&a, 20, 2);   /* INT */
    fr_pbw_msg(node, 5, &a);
    fr_pbw_free(&a);
}

/* NodeProto with up to 5 inputs (NULL-terminated) and one output. */
static void node(fr_pbw *g, const char *op, const char *const *ins, const char *out, int k, int stride)
{
    fr_pbw n;
    fr_pbw_init(&n);
    for (int i = 0; ins[i]; i++) fr_pbw_str(&n, 1, ins[i]);
    fr_pbw_str(&n, 2, out);
    fr_pbw_str(&n, 3, out);
    fr_pbw_str(&n, 4, op);
    if (k) {
        int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pd[4] = {k / 2, k / 2, k / 2, k / 2};
        attr_ints(&n, "kernel_shape", ks, 2);
        attr_ints(&n, "strides", st, 2);
        attr_ints(&n, "pads", pd, 4);
    }
    if (strcmp(op, "Gemm") == 0) attr_int(&n, "transB", 1);
    fr_pbw_msg(g, 1, &n);
    fr_pbw_free(&n);
}

static void init(fr_pbw *g, fr_rng *r, const char *name, const int64_t *dims, int nd, float sd, float add)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= dims[i];
    float *v = fr_xmalloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = add + (sd > 0 ? sd * fr_rng_normal(r) : 0);
    fr_pbw t;
    fr_pbw_init(&t);
    fr_pbw_packed_ints(&t, 1, dims, nd);
    fr_pbw_int(&t, 2, 1);   /* FLOAT */
    fr_pbw_str(&t, 8, name);
    fr_pbw_bytes(&t, 9, v, (size_t)n * sizeof *v);
    fr_pbw_msg(g, 5, &t);
    fr_pbw_free(&t);
    free(v);
}

static void value_info(fr_pbw *g, int field, const char *name, const int64_t *dims, int nd)
{
    fr_pbw vi, ty, tt, sh;
    fr_pbw_init(&vi); fr_pbw_init(&ty); fr_pbw_init(&tt); fr_pbw_init(&sh);
    for (int k = 0; k < nd; k++) {
        fr_pbw d;
        fr_pbw_init(&d);
        if (dims[k] < 0) fr_pbw_str(&d, 2, "N");
        else fr_pbw_int(&d, 1, dims[k]);
        fr_pbw_msg(&sh, 1, &d);
        fr_pbw_free(&d);
    }
    fr_pbw_int(&tt, 1, 1);
    fr_pbw_msg(&tt, 2, &sh);
    fr_pbw_msg(&ty, 1, &tt);
    fr_pbw_str(&vi, 1, name);
    fr_pbw_msg(&vi, 2, &ty);
    fr_pbw_msg(g, field, &vi);
    fr_pbw_free(&vi); fr_pbw_free(&ty); fr_pbw_free(&tt); fr_pbw_free(&sh);
}

/* conv (no bias) + BatchNormalization + optional Relu; returns the output name in out. */
static void conv_bn(fr_pbw *g, fr_rng *r, const char *x, const char *name, int cin, int cout, int k, int stride, int relu,
                    char *out, size_t out_n)
{
    char w[64], c[64], bn[64], p[4][64];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(c, sizeof c, "%s", name);
    int64_t wd[4] = {cout, cin, k, k}, cd[1] = {cout};
    init(g, r, w, wd, 4, sqrtf(2.0f / (float)(cin * k * k)), 0);
    node(g, "Conv", (const char *const[]){x, w, NULL}, c, k, stride);
    static const char *const suf[4] = {"gamma", "beta", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        snprintf(p[i], sizeof p[i], "%s.bn.%s", name, suf[i]);
        init(g, r, p[i], cd, 1, i == 3 ? 0 : 0.05f, i == 0 || i == 3 ? 1.0f : 0);
    }
    snprintf(bn, sizeof bn, "%s.bn", name);
    node(g, "BatchNormalization", (const char *const[]){c, p[0], p[1], p[2], p[3], NULL}, bn, 0, 0);
    snprintf(out, out_n, "%s", bn);
    if (relu) {
        snprintf(out, out_n, "%s.relu", name);
        node(g, "Relu", (const char *const[]){bn, NULL}, out, 0, 0);
    }
}

int fr_bench_write_onnx(const char *path, double mb, char *msg, size_t msg_n)
{
    fr_rng r;
    fr_rng_seed(&r, 20261126);
    fr_pbw g;
    fr_pbw_init(&g);
    fr_pbw_str(&g, 2, "bench-convnet");
    char x[64], y[64], z[64], nm[64];
    conv_bn(&g, &r, "input", "stem", 3, 64, 3, 1, 1, x, sizeof x);
    conv_bn(&g, &r, x, "down1", 64, 128, 3, 2, 1, y, sizeof y);
    conv_bn(&g, &r, y, "down2", 128, 256, 3, 2, 1, x, sizeof x);
    /* Residual blocks of two 256-channel 3x3 convs (2.36 MB of weights each) up to ~mb. */
    int blocks = (int)fmax(1, round((mb * 1e6 - 1.5e6) / (2 * 2.36e6)));
    for (int b = 0; b < blocks; b++) {
        snprintf(nm, sizeof nm, "block%d.conv1", b);
        conv_bn(&g, &r, x, nm, 256, 256, 3, 1, 1, y, sizeof y);
        snprintf(nm, sizeof nm, "block%d.conv2", b);
        conv_bn(&g, &r, y, nm, 256, 256, 3, 1, 0, z, sizeof z);
        snprintf(nm, sizeof nm, "block%d.add", b);
        node(&g, "Add", (const char *const[]){z, x, NULL}, nm, 0, 0);
        snprintf(x, sizeof x, "block%d.relu", b);
        node(&g, "Relu", (const char *const[]){nm, NULL}, x, 0, 0);
    }
    node(&g, "GlobalAveragePool", (const char *const[]){x, NULL}, "pool", 0, 0);
    node(&g, "Flatten", (const char *const[]){"pool", NULL}, "flat", 0, 0);
    int64_t fw[2] = {10, 256}, fb[1] = {10};
    init(&g, &r, "fc.weight", fw, 2, sqrtf(1.0f / 256), 0);
    init(&g, &r, "fc.bias", fb, 1, 0.01f, 0);
    node(&g, "Gemm", (const char *const[]){"flat", "fc.weight", "fc.bias", NULL}, "logits", 0, 0);
    int64_t in[4] = {-1, 3, 32, 32}, outd[2] = {-1, 10};
    value_info(&g, 11, "input", in, 4);
    value_info(&g, 12, "logits", outd, 2);
    fr_pbw m, os;
    fr_pbw_init(&m);
    fr_pbw_init(&os);
    fr_pbw_int(&m, 1, 8);                  /* ir_version */
    fr_pbw_str(&m, 2, "frtui-bench");      /* producer_name */
    fr_pbw_msg(&m, 7, &g);
    fr_pbw_str(&os, 1, "");
    fr_pbw_int(&os, 2, 13);                /* opset 13 */
    fr_pbw_msg(&m, 8, &os);
    fr_err e;
    int rc = fr_atomic_write(path, m.buf, m.n, &e);
    if (rc) snprintf(msg, msg_n, "%s", e.msg);
    fr_pbw_free(&g);
    fr_pbw_free(&os);
    fr_pbw_free(&m);
    return rc ? -1 : 0;
}
