/* real_cpu_ab.c — A/B of the conv kernels on the real MobileNetV2 224x224 units by CPU time
 * (issue 15, item 5).  Not part of the build: on a shared, overloaded machine wall-clock bench
 * figures swung 2x both ways (load 7-13 on 2 cores), so this driver runs FRTUI_THREADS=1 and
 * measures process CPU time, alternating the earlier per-sample kernels (fr_conv_set_legacy(1))
 * and the current ones on the same unit in the same process, best of ROUNDS x PER steps each.
 *
 *   gcc -O2 -march=x86-64-v3 -std=c11 -D_GNU_SOURCE -Iinclude bench/real_cpu_ab.c \
 *       build/release/libfrtui-tools.a build/release/libfrtui.a -lopenblas -lm -lpthread -lz -lzstd \
 *       -lpng -lncursesw -lutil -o build/real_cpu_ab
 *   FRTUI_THREADS=1 build/real_cpu_ab flex|ada [PER] [ROUNDS]
 * Needs build/npm/mobilenet_v2/model.json (sh tests/tools/fetch_nsfwjs.sh build/npm).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "frtui/bench.h"
#include "frtui/blas.h"
#include "frtui/conv.h"
#include "frtui/recon.h"
#include "frtui/runcfg.h"
#include "frtui/partition.h"
#include "frtui/tfjs.h"
static double cpu(void){struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t); return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc, char **argv){
  fr_err e; fr_blas_init(argv, 1, &e);
  fr_model m; if (fr_tfjs_import("build/npm/mobilenet_v2/model.json", NULL, &m, &e)) { puts(e.msg); return 1; }
  fr_rng r; fr_rng_seed(&r, 224); fr_bench_random_calib(&m, &r, 64);
  fr_run_config c; fr_run_config_preset(&c, "teaching", &e); c.method = argc > 1 && !strcmp(argv[1],"ada") ? FR_METHOD_ADAROUND : FR_METHOD_FLEXROUND; c.bits = 4; c.iters = 1000; c.seed = 1; c.threads = 1;
  int per = argc > 2 ? atoi(argv[2]) : 2, rounds = argc > 3 ? atoi(argv[3]) : 2;
  fr_recon *rc = fr_recon_new(&m, &c, &e); if (!rc) { puts(e.msg); return 1; }
  const fr_partition *p = fr_recon_partition(rc);
  double so = 0, sn = 0;
  for (int k = 0; k < p->n; k++) {
    fr_recon_begin(rc, k, &e);
    if (p->units[k].n_layers == 0) { fr_recon_end(rc, &e); continue; }
    fr_recon_step(rc);
    double best[2] = {1e9, 1e9};
    for (int q = 0; q < rounds; q++) for (int L = 1; L >= 0; L--) {
      fr_conv_set_legacy(L);
      double t0 = cpu(); for (int i = 0; i < per; i++) fr_recon_step(rc); double t = (cpu() - t0) * 1e3 / per;
      if (t < best[L]) best[L] = t;
    }
    fr_conv_set_legacy(0);
    so += best[1]; sn += best[0];
    printf("%-28s legacy %8.1f  new %8.1f  ms CPU/it  (%.2fx)\n", p->units[k].name, best[1], best[0], best[1] / best[0]); fflush(stdout);
    fr_recon_end(rc, &e);
  }
  printf("SUM legacy %.1f new %.1f ms CPU/it -> 800 it/unit: %.1f / %.1f min of one core\n", so, sn, so*800/60e3, sn*800/60e3);
  return 0;
}
