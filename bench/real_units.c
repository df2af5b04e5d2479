/* real_units.c — per-unit wall and CPU ms per iteration, and minor page faults per iteration, of
 * the real MobileNetV2 bundle (samples/mobilenetv2-imagenet.frm, `make samples-real`), plus the
 * time of each unit's begin and end passes (issue 15, item 5; session 14's A/B of the fused
 * passes).  Not part of the build; run two builds' copies alternately to compare:
 *
 *   gcc -O2 -march=x86-64-v3 -std=c11 -D_GNU_SOURCE -Iinclude bench/real_units.c \
 *       build/release/libfrtui-tools.a build/release/libfrtui.a -lopenblas -lm -lpthread -lz -lzstd \
 *       -lpng -lncursesw -lutil -o build/real_units
 *   FRTUI_THREADS=2 [NCAL=1024] build/real_units flex|ada [STEPS] [UNIT-SUBSTRING]
 *
 * "min" is the fastest of STEPS timed steps (after two warm-up steps), the figure least moved
 * by other load; the SUM line adds the units' minima.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include "frtui/bench.h"
#include "frtui/blas.h"
#include "frtui/frm.h"
#include "frtui/recon.h"
#include "frtui/runcfg.h"
#include "frtui/partition.h"
static double now(clockid_t c){struct timespec t; clock_gettime(c,&t); return t.tv_sec+t.tv_nsec*1e-9;}
static long flt(void){struct rusage r; getrusage(RUSAGE_SELF,&r); return r.ru_minflt;}
int main(int argc, char **argv){
  fr_err e; int th = getenv("FRTUI_THREADS") ? atoi(getenv("FRTUI_THREADS")) : 2;
  fr_blas_init(argv, th, &e);
  fr_model m; if (fr_frm_read("samples/mobilenetv2-imagenet.frm", &m, &e)) { puts(e.msg); return 1; }
  fr_run_config c; fr_run_config_preset(&c, "teaching", &e);
  c.method = argc > 1 && !strcmp(argv[1],"ada") ? FR_METHOD_ADAROUND : FR_METHOD_FLEXROUND; c.bits = 4; c.iters = 1000; c.seed = 1; c.threads = th; c.lr=1e-3;
  c.n_calib = getenv("NCAL") ? atoi(getenv("NCAL")) : 256;
  int per = argc > 2 ? atoi(argv[2]) : 5;
  const char *only = argc > 3 ? argv[3] : NULL;
  fr_recon *rc = fr_recon_new(&m, &c, &e); if (!rc) { puts(e.msg); return 1; }
  const fr_partition *p = fr_recon_partition(rc);
  double sw = 0, sc = 0, sb = 0, se = 0;
  for (int k = 0; k < p->n; k++) {
    if (only && !strstr(p->units[k].name, only)) { if (fr_recon_begin(rc,k,&e)) {puts(e.msg);return 1;} fr_recon_end(rc,&e); continue; }
    double b0 = now(CLOCK_MONOTONIC);
    if (fr_recon_begin(rc, k, &e)) { puts(e.msg); return 1; }
    double tb = now(CLOCK_MONOTONIC) - b0;
    if (p->units[k].n_layers == 0) { fr_recon_end(rc, &e); continue; }
    fr_recon_step(rc); fr_recon_step(rc);
    long f0 = flt(); double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    double ts[1000]; int np = per < 1000 ? per : 1000;
    for (int i = 0; i < np; i++) { double q = now(CLOCK_MONOTONIC); fr_recon_step(rc); ts[i] = now(CLOCK_MONOTONIC) - q; }
    for (int i = 1; i < np; i++) for (int j = i; j > 0 && ts[j] < ts[j-1]; j--) { double t = ts[j]; ts[j] = ts[j-1]; ts[j-1] = t; }
    double w = (now(CLOCK_MONOTONIC)-w0)*1e3/per, cc = (now(CLOCK_PROCESS_CPUTIME_ID)-c0)*1e3/per; long f = (flt()-f0)/per;
    sw += ts[0]*1e3; sc += cc;
    printf("%-30s min %7.1f med %7.1f wall %8.1f cpu %8.1f ms/it  faults/it %ld\n", p->units[k].name, ts[0]*1e3, ts[np/2]*1e3, w, cc, f); fflush(stdout);
    b0 = now(CLOCK_MONOTONIC); fr_recon_end(rc, &e); double te = now(CLOCK_MONOTONIC) - b0;
    printf("   begin %.2f s end %.2f s\n", tb, te); sb += tb; se += te;
  }
  printf("SUM begin %.1f s end %.1f s\n", sb, se);
  printf("SUM wall %.1f cpu %.1f ms/it -> 800 it/unit: %.1f min wall\n", sw, sc, sw*800/60e3);
  return 0;
}
