/* bench.h — `frtui bench`: speed of the reconstruction loop on this machine (see src/bench.c). */
#ifndef FRTUI_BENCH_H
#define FRTUI_BENCH_H

/* frtui bench [--json PATH] [--quick] [--no-samples] [--shape NAME] [--whole-iters N]
 * --shape runs only the standard shapes whose name contains NAME (A/B checks).  Prints a table to stdout and, with --json, writes the same figures atomically to PATH.
 * Returns the process exit status (0, or 2 on a bad flag / unwritable path). */
int fr_cli_bench(int argc, char **argv);

#endif
