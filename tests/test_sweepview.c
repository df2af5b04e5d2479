/* test_sweepview.c — the sweep folder reader (sweepdata.h) and the sweep view (sweepview.h) on
 * a fixture folder written here: point.json / report.json / run.txt / run.frc files as
 * `frtui sweep` leaves them, one point per state.  Checks the rows and their states (running
 * through a real flock on the point's directory, as cli_sweep.c holds it), the rendered table,
 * the plots, the keys, that a point written to disk shows up on the next read with the
 * selection staying on its point, and a golden frame (tests/golden/sweep_100x30_*.txt; the
 * fixture's times are fixed, so the frame is deterministic; FRTUI_UPDATE_GOLDEN=1 rewrites).
 * The real sweep, the loss plot and Enter -> replay are in tests/sweep_view.t.sh.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/canvas.h"
#include "frtui/keymap.h"
#include "frtui/sweepdata.h"
#include "frtui/sweepview.h"

static char D[64] = "/tmp/frtui-sweepview-XXXXXX";

static void put(const char *name, const char *file, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/points/%s", D, name);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/points/%s/%s", D, name, file);
    FILE *f = fopen(p, "w");
    FR_CHECK(f != NULL);
    if (f) { fputs(text, f); fclose(f); }
}

static void point(const char *method, int bits, int seed, const char *state, double acc, double aggr, double t)
{
    char name[128], js[1024];
    snprintf(name, sizeof name, "m_%s_W%d_tensor_lrdef_it50_s%d", method, bits, seed);
    snprintf(js, sizeof js, "{\"name\": \"%s\", \"model\": \"m\", \"method\": \"%s\", \"bits\": %d, \"act_bits\": 0, "
             "\"grain\": \"tensor\", \"lr\": null, \"iters\": 50, \"seed\": %d, \"threads\": 1, \"run_options\": []}\n",
             name, method, bits, seed);
    put(name, "point.json", js);
    if (!strcmp(state, "done")) {
        snprintf(js, sizeof js, "{\"acc_fp\": 0.9, \"acc_q\": %.4f, \"elapsed_s\": %.1f, \"threads\": 1, "
                 "\"fidelity\": {\"cosine\": 0.99}, \"units\": [{\"layers\": [{\"n\": 100, \"aggressive_pct\": %.2f, "
                 "\"clipped_pct\": 0}]}]}\n", acc, t, aggr);
        put(name, "report.json", js);
        put(name, "run.txt", "ok\n");
    } else if (!strcmp(state, "failed")) {
        put(name, "run.txt", "frtui run: something went wrong\n");
    } else if (!strcmp(state, "partial") || !strcmp(state, "running")) {
        put(name, "run.frc", "not a real checkpoint: only its presence counts here\n");
    }
}

static char *frame(fr_sweepview *v, const fr_sweep_row *rs, int n, int cols, int rows, int utf8)
{
    fr_canvas c;
    fr_canvas_init(&c, cols, rows, utf8);
    fr_sweepview_render(v, rs, n, &c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fr_text_opts to = {0, NULL, 0};
    fr_canvas_write(&c, f, &to);
    fclose(f);
    fr_canvas_free(&c);
    return buf;
}

/* The table line of a point, or NULL: its method, W and A columns, seed and status. */
static const char *line_of(const char *fr, const char *method, int bits, int seed, const char *status)
{
    char wa[32], ss[32];
    snprintf(wa, sizeof wa, " %s ", method);
    snprintf(ss, sizeof ss, " %d   - tensor", bits);
    char st[32];
    snprintf(st, sizeof st, " %d %-8s", seed, status);
    static char line[512];
    for (const char *s = fr; *s;) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        snprintf(line, sizeof line, "%.*s", (int)FR_MIN(n, sizeof line - 1), s);
        if (strstr(line, wa) && strstr(line, ss) && strstr(line, st)) return line;
        s += n + (e != NULL);
    }
    return NULL;
}

static int locked_fd = -1;

static void make_fixture(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/points", D);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/sweep.json", D);
    FILE *f = fopen(p, "w");
    if (f) { fputs("{}\n", f); fclose(f); }
    point("rtn", 3, 1, "done", 0.80, 0.0, 1.0);
    point("rtn", 4, 1, "done", 0.86, 0.0, 1.0);
    point("flexround", 3, 1, "done", 0.85, 2.5, 4.5);
    point("flexround", 3, 2, "done", 0.87, 3.5, 4.25);
    point("flexround", 4, 1, "running", 0, 0, 0);
    point("flexround", 4, 2, "pending", 0, 0, 0);
    point("adaround", 3, 1, "failed", 0, 0, 0);
    point("adaround", 4, 1, "partial", 0, 0, 0);
    /* "running": the sweep holds an exclusive flock on the point's directory while its child runs */
    snprintf(p, sizeof p, "%s/points/m_flexround_W4_tensor_lrdef_it50_s1", D);
    locked_fd = open(p, O_RDONLY | O_DIRECTORY);
    FR_CHECK(locked_fd >= 0 && flock(locked_fd, LOCK_EX | LOCK_NB) == 0);
}

static void test_rows(void)
{
    fr_sweep_row *rs;
    int n;
    fr_err e = {0};
    FR_CHECK(fr_sweepdata_is_sweep(D));
    FR_CHECK(!fr_sweepdata_is_sweep("/nonexistent-frtui"));
    FR_CHECKF(fr_sweepdata_load(D, &rs, &n, &e) == FR_OK, "%s", e.msg);
    FR_CHECKF(n == 8, "n = %d", n);
    if (n != 8) return;
    /* sorted: rtn, adaround, flexround (the legend's order), then bits, then seed */
    static const char *const want[8][2] = {{"rtn", "done"},          {"rtn", "done"},         {"adaround", "failed"},
                                           {"adaround", "partial"},  {"flexround", "done"},   {"flexround", "done"},
                                           {"flexround", "running"}, {"flexround", "pending"}};
    for (int i = 0; i < 8; i++)
        FR_CHECKF(!strcmp(rs[i].method, want[i][0]) && !strcmp(rs[i].status, want[i][1]), "row %d: %s %s (want %s %s)", i,
                  rs[i].method, rs[i].status, want[i][0], want[i][1]);
    FR_CHECK_NEAR(rs[4].acc_q, 0.85, 1e-9);
    FR_CHECK_NEAR(rs[4].aggr, 2.5, 1e-9);
    FR_CHECK(fr_sweeprows_metric(rs, 0, n) == FR_SWC_ACC_Q);
    fr_sweep_series sv[FR_SWEEP_MAX_SERIES];
    int ns = fr_sweeprows_series(rs, 0, n, FR_SWC_ACC_Q, 100, sv);
    FR_CHECKF(ns == 2, "series %d (rtn and flexround: adaround has no finished point)", ns);
    if (ns == 2) {
        FR_CHECK(!strcmp(sv[1].method, "flexround") && sv[1].n == 1 && sv[1].max_seeds == 2);
        FR_CHECK_NEAR(sv[1].y[0], 86, 1e-9);   /* mean of 85 and 87 */
        FR_CHECK_NEAR(sv[1].lo[0], 85, 1e-9);
        FR_CHECK_NEAR(sv[1].hi[0], 87, 1e-9);
    }
    fr_sweepdata_free(rs);
    FR_CHECK(fr_sweepdata_load("/nonexistent-frtui", &rs, &n, &e) == FR_EINPUT && strstr(e.msg, "not a sweep folder"));
}

static void test_frame_and_keys(void)
{
    fr_sweep_row *rs;
    int n;
    fr_err e = {0};
    if (fr_sweepdata_load(D, &rs, &n, &e)) { FR_CHECK(0); return; }
    fr_sweepview v;
    fr_sweepview_init(&v, "fixture");
    fr_sweepview_sync(&v, rs, n);
    char *f = frame(&v, rs, n, 100, 30, 0);
    FR_CHECKF(strstr(f, "8 point(s): 4 done, 1 running, 1 pending, 1 interrupted, 1 failed") != NULL, "title:\n%s", f);
    const char *l = line_of(f, "flexround", 3, 2, "done");
    FR_CHECKF(l && strstr(l, "87.00%") && strstr(l, "3.50") && strstr(l, "4.2s"), "flexround W3 s2 row: %s", l ? l : "(none)");
    FR_CHECK(line_of(f, "flexround", 4, 1, "running") != NULL);
    FR_CHECK(line_of(f, "flexround", 4, 2, "pending") != NULL);
    FR_CHECK(line_of(f, "adaround", 3, 1, "failed") != NULL);
    FR_CHECK(line_of(f, "adaround", 4, 1, "partial") != NULL);
    FR_CHECK(strstr(f, "top-1 % vs bits") && strstr(f, "-- rtn") && strstr(f, "-- flexround") && strstr(f, "band: seed"));
    /* the selection: first row, marked; j moves it; Enter on a pending point opens nothing */
    l = line_of(f, "rtn", 3, 1, "done");
    FR_CHECKF(l && l[1] == '>', "selected row: %s", l ? l : "(none)");
    free(f);
    FR_CHECK(fr_sweepview_key(&v, rs, n, 'j') == FR_SWV_NONE && v.sel == 1);
    FR_CHECK(fr_sweepview_key(&v, rs, n, 'G') == FR_SWV_NONE && v.sel == n - 1);
    FR_CHECK(fr_sweepview_key(&v, rs, n, '\n') == FR_SWV_NONE && strstr(v.msg, "has not started"));
    FR_CHECK(fr_sweepview_key(&v, rs, n, 'k') == FR_SWV_NONE && fr_sweepview_key(&v, rs, n, '\n') == FR_SWV_OPEN &&
             !strcmp(rs[v.sel].status, "running"));
    FR_CHECK(fr_sweepview_key(&v, rs, n, 'g') == FR_SWV_NONE && v.sel == 0);
    FR_CHECK(fr_sweepview_key(&v, rs, n, '?') == FR_SWV_NONE && v.help);
    f = frame(&v, rs, n, 100, 30, 0);
    FR_CHECKF(strstr(f, "sweep view keys") && strstr(f, "open the point's run"), "help box:\n%s", f);
    free(f);
    FR_CHECK(fr_sweepview_key(&v, rs, n, 'x') == FR_SWV_NONE && !v.help);   /* any key closes it */
    FR_CHECK(fr_sweepview_key(&v, rs, n, 'q') == FR_SWV_QUIT && fr_sweepview_key(&v, rs, n, FR_KEY_ESC) == FR_SWV_QUIT);
    /* the keys are in the one key table, so --help-keys lists them */
    const fr_keybind *b = fr_keymap_lookup('\n', FR_CTX_SWEEP);
    FR_CHECK(b && b->act == FR_ACT_OPEN && !strcmp(b->group, "Sweep view"));
    fr_sweepdata_free(rs);
}

/* A point appearing on disk shows up on the next read, and the cursor stays on its point even
 * though the new row sorts before it. */
static void test_refresh(void)
{
    fr_sweep_row *rs;
    int n;
    fr_err e = {0};
    if (fr_sweepdata_load(D, &rs, &n, &e)) { FR_CHECK(0); return; }
    fr_sweepview v;
    fr_sweepview_init(&v, "fixture");
    fr_sweepview_sync(&v, rs, n);
    fr_sweepview_key(&v, rs, n, 'G');   /* the last row: flexround W4 s2 */
    char *f = frame(&v, rs, n, 100, 30, 0);
    FR_CHECK(line_of(f, "rtn", 5, 1, "done") == NULL);
    free(f);
    point("rtn", 5, 1, "done", 0.88, 0, 1.0);
    fr_sweepdata_free(rs);
    if (fr_sweepdata_load(D, &rs, &n, &e)) { FR_CHECK(0); return; }
    fr_sweepview_sync(&v, rs, n);
    FR_CHECK(n == 9 && !strcmp(rs[v.sel].name, "m_flexround_W4_tensor_lrdef_it50_s2"));
    f = frame(&v, rs, n, 100, 30, 0);
    const char *l = line_of(f, "rtn", 5, 1, "done");
    FR_CHECKF(l && strstr(l, "88.00%"), "new point's row: %s\n%s", l ? l : "(none)", f);
    FR_CHECK(strstr(f, "9 point(s): 5 done") != NULL);
    free(f);
    /* the pending point finishes */
    point("flexround", 4, 2, "done", 0.89, 1.5, 3.0);
    fr_sweepdata_free(rs);
    if (fr_sweepdata_load(D, &rs, &n, &e)) { FR_CHECK(0); return; }
    fr_sweepview_sync(&v, rs, n);
    f = frame(&v, rs, n, 100, 30, 0);
    l = line_of(f, "flexround", 4, 2, "done");
    FR_CHECKF(l && l[1] == '>' && strstr(l, "89.00%"), "finished point's row: %s", l ? l : "(none)");
    free(f);
    fr_sweepdata_free(rs);
}

/* Points the sweep has not started exist only as names in sweep.json: listed as pending, their
 * parameters read back from the name. */
static void test_unstarted(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/sweep.json", D);
    FILE *f = fopen(p, "w");
    if (!f) { FR_CHECK(0); return; }
    fputs("{\"version\": 1, \"points\": [\"m_rtn_W3_tensor_lrdef_it50_s1\", \"my_model_adaround_W5A8_group64_lr0.001_it50_s3\","
          " \"not-a-point-name\"]}\n", f);
    fclose(f);
    fr_sweep_row *rs;
    int n;
    fr_err e = {0};
    if (fr_sweepdata_load(D, &rs, &n, &e)) { FR_CHECK(0); return; }
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(rs[i].name, "my_model_adaround_W5A8_group64_lr0.001_it50_s3")) continue;
        found++;
        FR_CHECK(!strcmp(rs[i].model, "my_model") && !strcmp(rs[i].method, "adaround") && rs[i].bits == 5 &&
                 rs[i].act_bits == 8 && !strcmp(rs[i].grain, "group64") && !strcmp(rs[i].lr, "0.001") &&
                 !strcmp(rs[i].iters, "50") && !strcmp(rs[i].seed, "3") && rs[i].st == FR_SWP_PENDING);
    }
    FR_CHECKF(found == 1 && n == 10, "found %d, n %d (9 on disk + 1 unstarted; a listed point on disk is not doubled)", found, n);
    fr_sweepdata_free(rs);
}

static void golden(const char *name, int utf8)
{
    fr_sweep_row *rs;
    int n;
    fr_err e = {0};
    if (fr_sweepdata_load(D, &rs, &n, &e)) { FR_CHECK(0); return; }
    fr_sweepview v;
    fr_sweepview_init(&v, "fixture");
    fr_sweepview_sync(&v, rs, n);
    fr_sweepview_key(&v, rs, n, 'j');
    fr_sweepview_key(&v, rs, n, 'j');
    char *got = frame(&v, rs, n, 100, 30, utf8);
    fr_sweepdata_free(rs);
    char path[256];
    snprintf(path, sizeof path, "tests/golden/%s.txt", name);
    const char *upd = getenv("FRTUI_UPDATE_GOLDEN");
    if (upd && *upd == '1') {
        FILE *f = fopen(path, "wb");
        if (f) { fputs(got, f); fclose(f); }
        free(got);
        return;
    }
    uint8_t *want = NULL;
    size_t wn = 0;
    int rc = fr_read_file(path, 1 << 20, &want, &wn, &e);
    FR_CHECKF(rc == FR_OK, "%s (FRTUI_UPDATE_GOLDEN=1 creates it)", e.msg);
    if (rc == FR_OK) FR_CHECKF(wn == strlen(got) && !memcmp(want, got, wn), "%s differs:\n%s", path, got);
    free(want);
    free(got);
}

static void test_golden(void)
{
    golden("sweep_100x30_ascii", 0);
    golden("sweep_100x30_utf8", 1);
}

int main(void)
{
    if (!mkdtemp(D)) { perror("mkdtemp"); return 1; }
    make_fixture();
    FR_RUN(test_rows);
    FR_RUN(test_golden);   /* before test_refresh adds points */
    FR_RUN(test_frame_and_keys);
    FR_RUN(test_refresh);
    FR_RUN(test_unstarted);
    if (locked_fd >= 0) close(locked_fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", D);
    if (system(cmd) != 0) printf("# could not remove %s\n", D);
    return FR_REPORT();
}
