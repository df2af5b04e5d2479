/* bench_mem.c — `frtui-dev bench-mem` (make bench-mem; opt-in: ~10-30 min): peak RSS and the time
 * cost of spilled calibration caches (issue 19) on the real MobileNetV2 at 224x224 with 1024
 * calibration images, under --max-mem budgets (default 16G, 4G, 2G).  --n-calib, --iters and
 * --budgets scale it down (a full run per budget takes ~30 min on 2 shared cores).
 *
 * Design note
 *   Each budget is one whole `frtui run` child (the frtui next to this frtui-dev), so the peak
 *   RSS (wait4's ru_maxrss) is that run's alone; its --json gives the plan, the spill traffic and
 *   the per-unit results, which are compared with the first budget's: they must be identical
 *   (the time cost is only meaningful for identical work), and the wall time is given as a
 *   ratio to the first budget's (list the roomiest first).  The bundle is
 *   samples/mobilenetv2-imagenet.frm when present (1024 calibration crops), else
 *   build/mnv2-1024.frm, built on first use with build-real-sample (needs the npm model,
 *   tests/tools/fetch_nsfwjs.sh, and the Fashion-MNIST package).  Nothing is asserted; the
 *   machine is shared, so the load average is printed with every row.
 *   --cgroup also runs each budget inside a real memory cgroup of that size (v1 or v2, as root;
 *   as tests/lib.sh fr_t_cgroup does) and reports its peak usage (page cache included) and OOM
 *   kills: the plan must hold under the kernel's limit, not only by its own count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frtui/common.h"
#include "frtui/devtools.h"
#include "frtui/opt.h"
#include "frtui/outset.h"
#include "frtui/sb.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double load1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) { if (fscanf(f, "%lf", &l) != 1) l = -1; fclose(f); }
    return l;
}

/* Read to the end, not by the file's size: cgroup and proc files report a size of 0 or 4096. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *b = fr_xmalloc(cap + 1);
    while ((k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) b = fr_xrealloc(b, (cap *= 2) + 1);
    }
    b[n] = 0;
    fclose(f);
    return b;
}

/* "4G", "512M", "1.5G" -> bytes (0 when not a size). */
static double size_of(const char *v)
{
    char *end;
    double x = strtod(v, &end);
    const char *u = "KMGT", *f = *end ? strchr(u, *end >= 'a' ? *end - 32 : *end) : NULL;
    return f && *f ? x * (double)(1ULL << (10 * (f - u + 1))) : *end ? 0 : x;
}

static int write_str(const char *path, const char *v)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int rc = fputs(v, f) < 0;
    return fclose(f) || rc ? -1 : 0;
}

/* A memory cgroup limited to `bytes` (dir, *v2 set), or 0 when this machine lets us make none. */
static int cg_make(char *dir, size_t n, double bytes, int idx, int *v2)
{
    static const char *const bases[] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup"};
    char lim[32];
    snprintf(lim, sizeof lim, "%.0f", bytes);
    for (int b = 0; b < 2; b++) {
        snprintf(dir, n, "%s/frtui-bench-mem-%d-%d", bases[b], (int)getpid(), idx);
        if (mkdir(dir, 0755) != 0) continue;
        char f[4200];
        *v2 = b == 1;
        snprintf(f, sizeof f, "%s/%s", dir, *v2 ? "memory.max" : "memory.limit_in_bytes");
        if (write_str(f, lim) == 0) return 1;
        rmdir(dir);
    }
    return 0;
}

/* The number after `key` in file dir/name ("oom_kill 3"), or a lone number; -1 when unreadable. */
static double cg_read(const char *dir, const char *name, const char *key)
{
    char f[4200];
    snprintf(f, sizeof f, "%s/%s", dir, name);
    char *t = slurp(f);
    if (!t) return -1;
    const char *p = key ? strstr(t, key) : t;
    double v = p ? strtod(p + (key ? strlen(key) : 0), NULL) : -1;
    free(t);
    return v;
}

static double json_num(const char *j, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = j ? strstr(j, k) : NULL;
    return p ? strtod(p + strlen(k), NULL) : -1;
}

/* The per-unit reports: from "units" to "memory", without the elapsed time. */
static char *units_of(const char *j)
{
    const char *a = j ? strstr(j, "\"units\": [") : NULL, *b = j ? strstr(j, "\"memory\"") : NULL;
    if (!a || !b || b < a) return NULL;
    char *u = fr_xmalloc((size_t)(b - a) + 1);
    memcpy(u, a, (size_t)(b - a));
    u[b - a] = 0;
    return u;
}

/* The smallest and largest pass batch of the plan's units ("64", or "32-64" when a tight plan
 * sliced some units' passes). */
static void pass_batches(const char *j, char *out, size_t n)
{
    int lo = 0, hi = 0;
    for (const char *p = j ? strstr(j, "\"memory\"") : NULL; p && (p = strstr(p, "\"batch\": ")); p++) {
        int b = atoi(p + 9);
        if (!lo || b < lo) lo = b;
        if (b > hi) hi = b;
    }
    if (lo == hi) snprintf(out, n, "%d", lo);
    else snprintf(out, n, "%d-%d", lo, hi);
}

int fr_dev_bench_mem(int argc, char **argv)
{
    struct stat st;
    const char *bundle = stat("samples/mobilenetv2-imagenet.frm", &st) == 0 ? "samples/mobilenetv2-imagenet.frm"
                                                                              : "build/mnv2-1024.frm";
    const char *budgets = "16G,4G,2G", *json = "bench/mem.json";
    int iters = 50, n_calib = 0, cgroup = 0;
    fr_opt t[] = {
        {.name = "--bundle", .kind = FR_OPT_STR, .dst = &bundle},
        {.name = "--budgets", .kind = FR_OPT_STR, .dst = &budgets},
        {.name = "--iters", .kind = FR_OPT_INT, .dst = &iters, .lo = 0, .hi = 100000},
        {.name = "--n-calib", .kind = FR_OPT_INT, .dst = &n_calib, .lo = 0, .hi = 100000000},
        {.name = "--cgroup", .kind = FR_OPT_FLAG, .dst = &cgroup, .val = 1},
        {.name = "--json", .kind = FR_OPT_STR, .dst = &json},
        {.name = NULL},
    };
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui-dev bench-mem [--bundle F.frm] [--budgets 16G,4G,2G] [--iters 50] [--n-calib N]\n"
               "                           [--cgroup] [--json bench/mem.json]\n"
               "  one `frtui run` per budget (roomiest first): wall time and its ratio to the first budget's,\n"
               "  peak RSS, spill traffic, pass batches, results vs the first budget; --n-calib N uses the\n"
               "  first N calibration images (default all); --cgroup: each run also inside a memory cgroup\n"
               "  of its budget (root), with its peak usage and OOM kills\n");
        return 0;
    }
    fr_err e;
    fr_err_clear(&e);
    if (fr_opt_parse(t, argc, argv, NULL, 0, NULL, &e)) { fprintf(stderr, "frtui-dev bench-mem: %s\n", e.msg); return 2; }
    if (stat(bundle, &st) != 0) {
        printf("building %s (1024 calibration images at 224x224)...\n", bundle);
        char *a[] = {"build-real-sample", "--n-calib", "1024", "--n-train", "300", "--n-eval", "200", "--out", (char *)bundle, NULL};
        if (fr_dev_build_real_sample(9, a) != 0) return 2;
    }
    char exe[4096], frtui[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *sl = strrchr(exe, '/');
    if (sl) *sl = 0;
    snprintf(frtui, sizeof frtui, "%s/frtui", sl ? exe : ".");
    char ncs[16] = "all";
    if (n_calib > 0) snprintf(ncs, sizeof ncs, "%d", n_calib);
    printf("frtui-dev bench-mem: %s, %s calibration images, %d it/unit, budgets %s (frtui: %s)\n", bundle, ncs, iters,
           budgets, frtui);
    printf("%-6s %8s %6s %9s %9s %6s %9s %9s %8s %9s %7s %6s %s\n", "budget", "wall s", "x 1st", "peak RSS", "planned",
           "spill", "raw GB", "packed GB", "ratio", "zstd MB/s", "batches", "load", "results");
    fr_sb out = {0};
    fr_sb_puts(&out, "{\"bundle\": ");
    fr_sb_json_str(&out, bundle);
    fr_sb_printf(&out, ", \"n_calib\": \"%s\", \"iters_per_unit\": %d, \"runs\": [", ncs, iters);
    double wall0 = 0;
    char *ref = NULL, list[256];
    snprintf(list, sizeof list, "%s", budgets);
    int first = 1, rc = 0, idx = 0;
    for (char *save = NULL, *b = strtok_r(list, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
        char js[64], its[16];
        snprintf(js, sizeof js, "/tmp/frtui-bench-mem-%d.json", (int)getpid());
        snprintf(its, sizeof its, "%d", iters);
        char cg[4096] = "";
        int v2 = 0;
        if (cgroup && !cg_make(cg, sizeof cg, size_of(b), idx++, &v2)) {
            printf("%-6s no writable memory cgroup here (not root?): run without one\n", b);
            cg[0] = 0;
        }
        double l0 = load1(), t0 = now_s();
        pid_t pid = fork();
        if (pid == 0) {
            if (cg[0]) {   /* join before exec: everything the run allocates is charged to it */
                char f[4200], me[24];
                snprintf(f, sizeof f, "%s/cgroup.procs", cg);
                snprintf(me, sizeof me, "%d", (int)getpid());
                if (write_str(f, me) != 0) _exit(126);
            }
            char *a[] = {frtui, "run", (char *)bundle, "--iters", its, "--max-mem", b, "--json", js, "-q",
                         n_calib > 0 ? "--n-calib" : NULL, ncs, NULL};
            execv(frtui, a);
            _exit(127);
        }
        int status = 0;
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) status = -1;
        double wall = now_s() - t0, cg_peak = -1, cg_oom = -1;
        if (cg[0]) {
            cg_peak = cg_read(cg, v2 ? "memory.peak" : "memory.max_usage_in_bytes", NULL);
            cg_oom = cg_read(cg, v2 ? "memory.events" : "memory.oom_control", "oom_kill ");
            if (rmdir(cg) != 0) printf("(could not remove %s)\n", cg);
            printf("%-6s cgroup of %s: peak usage %.2fG (page cache included), OOM kills %.0f\n", b, b,
                   cg_peak / 1073741824.0, cg_oom);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("%-6s refused or failed (status %d): see `frtui run %s --max-mem %s`\n", b, status, bundle, b);
            fr_sb_printf(&out, "%s\n  {\"budget\": \"%s\", \"ok\": false}", first ? "" : ",", b);
            first = 0;
            continue;
        }
        char *j = slurp(js);
        unlink(js);
        char *u = units_of(j);
        const char *same = "reference";
        if (ref) same = u && !strcmp(u, ref) ? "identical" : "DIFFER";
        else { ref = u; u = NULL; }
        double raw = json_num(j, "spilled_raw_bytes"), packed = json_num(j, "spilled_packed_bytes");
        double put_s = json_num(j, "spill_write_s"), planned = json_num(j, "planned_peak_bytes");
        double rss = (double)ru.ru_maxrss * 1024.0, l = (l0 + load1()) / 2;
        int spill = j && strstr(j, "\"spill\": true") != NULL;
        if (wall0 <= 0) wall0 = wall;
        char batches[16];
        pass_batches(j, batches, sizeof batches);
        printf("%-6s %8.1f %6.2f %8.2fG %8.2fG %6s %9.2f %9.2f %8.2f %9.0f %7s %6.1f %s\n", b, wall, wall / wall0,
               rss / 1073741824.0, planned / 1073741824.0, spill ? "yes" : "no", raw / 1e9, packed / 1e9,
               packed > 0 ? raw / packed : 0, put_s > 0 ? raw / 1e6 / put_s : 0, batches, l, same);
        fr_sb_printf(&out, "%s\n  {\"budget\": \"%s\", \"ok\": true, \"wall_s\": %.2f, \"peak_rss_bytes\": %.0f, "
                     "\"planned_peak_bytes\": %.0f, \"spill\": %s, \"spilled_raw_bytes\": %.0f, \"spilled_packed_bytes\": %.0f, "
                     "\"spill_write_s\": %.3f, \"read_back_s\": %.3f, \"pass_batches\": \"%s\", \"wall_vs_first\": %.3f, "
                     "\"cgroup_peak_bytes\": %.0f, \"cgroup_oom_kills\": %.0f, \"load1\": %.2f, \"results\": \"%s\"}",
                     first ? "" : ",", b, wall, rss, planned, spill ? "true" : "false", raw, packed, put_s,
                     json_num(j, "read_back_s"), batches, wall / wall0, cg_peak, cg_oom, l, same);
        first = 0;
        if (!strcmp(same, "DIFFER")) rc = 1;
        free(u);
        free(j);
    }
    fr_sb_puts(&out, "\n]}\n");
    free(ref);
    if (json) {
        fr_atomic a;
        if (fr_atomic_open(&a, json, &e) == FR_OK) {
            fputs(fr_sb_str(&out), a.f);
            if (fr_atomic_commit(&a, &e) == FR_OK) printf("wrote %s\n", json);
        }
        if (e.code) fprintf(stderr, "frtui-dev bench-mem: %s\n", e.msg);
    }
    fr_sb_free(&out);
    return rc;
}
