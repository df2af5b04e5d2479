/* test_sweep.c — the pure parts of `frtui sweep` (sweep.h): lists and ranges, spec files, point
 * order and names, the run argv of a point, the sbatch script, the line plot of the report, and
 * the environment rules of the MPI module (sweep_mpi.h). */
#include "fr_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/pngline.h"
#include "frtui/qdefs.h"
#include "frtui/raster.h"
#include "frtui/sb.h"
#include "frtui/sweep.h"
#include "frtui/sweep_mpi.h"

static int set(fr_sweep_spec *s, fr_sweep_axis a, const char *v, fr_err *e)
{
    fr_err_clear(e);
    return fr_sweep_set_axis(s, a, v, "--x", e);
}

static void test_lists_and_ranges(void)
{
    fr_sweep_spec s;
    fr_err e;
    fr_sweep_spec_init(&s);
    FR_CHECK(set(&s, FR_SWEEP_BITS, "2..8", &e) == FR_OK && s.n[FR_SWEEP_BITS] == 7 && s.bits[0] == 2 && s.bits[6] == 8);
    FR_CHECK(set(&s, FR_SWEEP_BITS, "2..3, 8", &e) == FR_OK && s.n[FR_SWEEP_BITS] == 3 && s.bits[2] == 8);
    FR_CHECK(set(&s, FR_SWEEP_METHODS, "rtn,adaround,flexround", &e) == FR_OK && s.n[FR_SWEEP_METHODS] == 3 &&
             s.method[1] == FR_METHOD_ADAROUND);
    FR_CHECK(set(&s, FR_SWEEP_GRAIN, "tensor,channel,group128", &e) == FR_OK && s.grain[0] == FR_SWEEP_GRAIN_TENSOR &&
             s.grain[1] == FR_SWEEP_GRAIN_CHANNEL && s.grain[2] == 128);
    FR_CHECK(set(&s, FR_SWEEP_LRS, "1e-3,3e-3", &e) == FR_OK && s.n[FR_SWEEP_LRS] == 2 && s.lr[1] == 3e-3f);
    FR_CHECK(set(&s, FR_SWEEP_SEEDS, "1..3", &e) == FR_OK && s.n[FR_SWEEP_SEEDS] == 3 && s.seed[2] == 3);
    FR_CHECK(set(&s, FR_SWEEP_ACT_BITS, "0,8", &e) == FR_OK && s.act_bits[1] == 8);
    /* refusals: each names the flag and the value */
    const struct { fr_sweep_axis a; const char *v, *want; } bad[] = {
        {FR_SWEEP_BITS, "1..8", "'1'"},   {FR_SWEEP_BITS, "9", "9"},          {FR_SWEEP_BITS, "4,,5", "empty"},
        {FR_SWEEP_BITS, "8..2", "8..2"},   {FR_SWEEP_BITS, "4,4", "twice"},    {FR_SWEEP_METHODS, "gptq", "gptq"},
        {FR_SWEEP_GRAIN, "group100", "group100"}, {FR_SWEEP_GRAIN, "row", "row"}, {FR_SWEEP_LRS, "-1", "-1"},
        {FR_SWEEP_LRS, "nan", "nan"},     {FR_SWEEP_ITERS, "ten", "ten"},     {FR_SWEEP_ACT_BITS, "1", "1"},
        {FR_SWEEP_SEEDS, "0..100", "more than"}, {FR_SWEEP_LRS, "1..3", "1..3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = set(&s, bad[i].a, bad[i].v, &e);
        FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "--x") && strstr(e.msg, bad[i].want), "'%s' -> %d '%s'", bad[i].v, rc,
                  e.msg);
    }
}

static void test_spec_file(void)
{
    fr_sweep_spec s;
    fr_err e;
    fr_sweep_spec_init(&s);
    const char *ok = "# a sweep\n\nmodels = a.frm, b/c.frm\nmethods = rtn, flexround\n  bits=2..4  \nseeds = 1,2\n"
                     "grain = channel\nrun = --batch 16 --n-calib 64\n";
    fr_err_clear(&e);
    FR_CHECKF(fr_sweep_parse_spec(&s, ok, strlen(ok), "g.spec", &e) == FR_OK, "%s", e.msg);
    FR_CHECK(s.n[FR_SWEEP_MODELS] == 2 && strcmp(s.model[1], "b/c.frm") == 0 && s.n[FR_SWEEP_BITS] == 3 &&
             s.n_run_args == 4 && strcmp(s.run_args[3], "64") == 0 && s.grain[0] == FR_SWEEP_GRAIN_CHANNEL);
    const struct { const char *text, *want; } bad[] = {
        {"bits = 4\nbits = 5\n", "g.spec:2: bits is given twice"},
        {"colour = red\n", "g.spec:1: colour: unknown key"},
        {"methods rtn\n", "g.spec:1: expected 'key = value'"},
        {"# x\nbits = 2..9\n", "g.spec:2: bits"},
        {"seeds =\n", "g.spec:1: seeds: empty value"},
        {"run = --bits 4\n", "--bits is set by the sweep"},
        {"run = --json x.json\n", "--json is set by the sweep"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fr_sweep_spec_init(&s);
        fr_err_clear(&e);
        int rc = fr_sweep_parse_spec(&s, bad[i].text, strlen(bad[i].text), "g.spec", &e);
        FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, bad[i].want), "%s -> %d '%s'", bad[i].want, rc, e.msg);
    }
}

static void test_points_order_and_names(void)
{
    fr_sweep_spec s;
    fr_err e;
    fr_sweep_spec_init(&s);
    fr_sweep_point *p;
    int n;
    fr_err_clear(&e);
    FR_CHECK(fr_sweep_points(&s, &p, &n, &e) == FR_EINPUT && strstr(e.msg, "no model"));
    set(&s, FR_SWEEP_MODELS, "samples/m_x.frm,other/net", &e);
    set(&s, FR_SWEEP_METHODS, "rtn,flexround", &e);
    set(&s, FR_SWEEP_BITS, "3,4", &e);
    set(&s, FR_SWEEP_SEEDS, "1,2", &e);
    FR_CHECK(fr_sweep_points(&s, &p, &n, &e) == FR_OK && n == 16);
    /* model outermost, seed innermost: the Slurm index K is a function of the grid */
    FR_CHECKF(strcmp(p[0].name, "m-x_rtn_W3_tensor_lrdef_itdef_s1") == 0, "%s", p[0].name);
    FR_CHECKF(strcmp(p[1].name, "m-x_rtn_W3_tensor_lrdef_itdef_s2") == 0, "%s", p[1].name);
    FR_CHECKF(strcmp(p[2].name, "m-x_rtn_W4_tensor_lrdef_itdef_s1") == 0, "%s", p[2].name);
    FR_CHECKF(strcmp(p[4].name, "m-x_flexround_W3_tensor_lrdef_itdef_s1") == 0, "%s", p[4].name);
    FR_CHECKF(strcmp(p[8].name, "net_rtn_W3_tensor_lrdef_itdef_s1") == 0, "%s", p[8].name);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) FR_CHECK(strcmp(p[i].name, p[j].name) != 0);
    free(p);
    /* a name carries every parameter, defaults as "def" */
    fr_sweep_point q = {.model_name = "mlp", .method = FR_METHOD_ADAROUND, .bits = 2, .act_bits = 8, .grain = 128,
                        .lr = 3e-3f, .iters = 500, .seed = 7};
    char name[192];
    fr_sweep_point_name(&q, name, sizeof name);
    FR_CHECKF(strcmp(name, "mlp_adaround_W2A8_group128_lr0.003_it500_s7") == 0, "%s", name);
    /* two models with one base name would share folders */
    set(&s, FR_SWEEP_MODELS, "a/net.frm,b/net.frm", &e);
    fr_err_clear(&e);
    FR_CHECK(fr_sweep_points(&s, &p, &n, &e) == FR_EINPUT && strstr(e.msg, "share the name 'net'"));
}

static void test_run_args(void)
{
    fr_sweep_spec s;
    fr_err e;
    fr_sweep_spec_init(&s);
    set(&s, FR_SWEEP_MODELS, "m.frm", &e);
    set(&s, FR_SWEEP_GRAIN, "group32", &e);
    set(&s, FR_SWEEP_LRS, "2e-3", &e);
    set(&s, FR_SWEEP_ITERS, "10", &e);
    FR_CHECK(fr_sweep_set_run_args(&s, " --batch 8\t--n-calib 64 ", "run", &e) == FR_OK && s.n_run_args == 4);
    fr_sweep_point *p;
    int n;
    FR_CHECK(fr_sweep_points(&s, &p, &n, &e) == FR_OK && n == 1);
    char *av[64], store[2048];
    int k = fr_sweep_run_args(&s, &p[0], av, 64, store, sizeof store);
    fr_sb b = {0};
    for (int i = 0; i < k; i++) fr_sb_printf(&b, "%s%s", i ? " " : "", av[i]);
    FR_CHECKF(strcmp(fr_sb_str(&b), "m.frm --method flexround --bits 4 --group-size 32 --lr 0.00200000009 --iters 10 "
                                    "--batch 8 --n-calib 64") == 0, "%s", fr_sb_str(&b));
    FR_CHECK(fr_sweep_run_args(&s, &p[0], av, 3, store, sizeof store) == -1);   /* no room: refused, not truncated */
    fr_sb_free(&b);
    free(p);
}

static void test_slurm_script(void)
{
    fr_sb b = {0};
    char *args[] = {"m.frm", "--bits", "2..8", "-o", "out dir", "--", "--n-calib", "it's"};
    fr_sweep_slurm_script(&b, "/usr/bin/frtui", "/home/x", "/home/x/out dir", 14, 2, args, 8);
    const char *t = fr_sb_str(&b);
    FR_CHECK(strncmp(t, "#!/bin/sh\n", 10) == 0);
    FR_CHECK(strstr(t, "\n#SBATCH --array=0-13\n") != NULL);
    FR_CHECK(strstr(t, "\n#SBATCH --cpus-per-task=2\n") != NULL);
    FR_CHECKF(strstr(t, "exec \"$FRTUI\" sweep 'm.frm' '--bits' '2..8' '-o' 'out dir' '--' '--n-calib' 'it'\\''s' "
                        "--jobs 1 --threads 2 --point \"$SLURM_ARRAY_TASK_ID\"\n") != NULL, "%s", t);
    FR_CHECK(strstr(t, "sweep-report") != NULL);
    fr_sb_free(&b);
}

static void test_lines_plot(void)
{
    double x[3] = {2, 3, 4}, y[3] = {50, 80, 90}, lo[3] = {40, 78, 89}, hi[3] = {60, 82, 91};
    fr_lines_series s[2] = {{x, y, lo, hi, 3, "flexround"}, {x, lo, NULL, NULL, 3, "rtn"}};
    fr_lines_in in = {s, 2, 1, "t", "n", "bits", "top-1"};
    fr_raster r;
    fr_plot_geom g;
    fr_err e;
    FR_CHECK(fr_pngplot_render_lines(&r, &in, &g, &e) == FR_OK);
    if (r.px) {
        /* the band is drawn: between lo and hi at x = 3 the pixel is tinted, not the white background */
        int px = fr_plot_geom_px(&g, 3) + 4;
        fr_rgb c = fr_raster_get(&r, px, fr_plot_geom_py(&g, 81.5));
        FR_CHECKF(!(c.r == 255 && c.g == 255 && c.b == 255), "band pixel is background");
        fr_rgb w = fr_raster_get(&r, px, fr_plot_geom_py(&g, 63.3));
        FR_CHECKF(w.r == 255 && w.g == 255 && w.b == 255, "outside the band is not background");
        fr_raster_free(&r);
    }
    double xb[2] = {3, 2};
    fr_lines_series sb = {xb, y, NULL, NULL, 2, "x"};
    fr_lines_in bad = {&sb, 1, 1, "t", NULL, NULL, NULL};
    FR_CHECK(fr_pngplot_render_lines(&r, &bad, NULL, &e) == FR_EINPUT);
}

/* The launcher's variables leave a point's environment, nothing else does; without a launcher
 * init is rank 0 of 1 in either build; the plain build under several ranks refuses. */
static void test_mpi_env(void)
{
    FR_CHECK(fr_sweep_mpi_launcher_var("OMPI_COMM_WORLD_RANK=1"));
    FR_CHECK(fr_sweep_mpi_launcher_var("PMIX_RANK=0"));
    FR_CHECK(fr_sweep_mpi_launcher_var("PMI_SIZE=4"));
    FR_CHECK(!fr_sweep_mpi_launcher_var("FRTUI_THREADS=1"));
    FR_CHECK(!fr_sweep_mpi_launcher_var("PATH=/usr/bin"));
    FR_CHECK(!fr_sweep_mpi_launcher_var("OMP_NUM_THREADS=2"));   /* OpenMP's, not the launcher's */
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return;   /* this test itself runs under a launcher: nothing to check */
    fr_err e;
    fr_err_clear(&e);
    int rank = 7, size = 7;
    FR_CHECK(fr_sweep_mpi_init(&rank, &size, &e) == 0 && rank == 0 && size == 1);
    if (fr_sweep_mpi_built()) return;   /* the MPI build would really join a job below */
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    setenv("OMPI_COMM_WORLD_RANK", "2", 1);
    FR_CHECK(fr_sweep_mpi_init(&rank, &size, &e) < 0 && rank == 2 && size == 3 && strstr(e.msg, "make MPI=1"));
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
    FR_CHECK(fr_sweep_mpi_init(&rank, &size, &e) == 0 && size == 1);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    unsetenv("OMPI_COMM_WORLD_RANK");
}

int main(void)
{
    FR_RUN(test_lists_and_ranges);
    FR_RUN(test_spec_file);
    FR_RUN(test_points_order_and_names);
    FR_RUN(test_run_args);
    FR_RUN(test_slurm_script);
    FR_RUN(test_lines_plot);
    FR_RUN(test_mpi_env);
    return FR_REPORT();
}
