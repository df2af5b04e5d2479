/* memcheck.h — available memory and the checks that refuse sizes past it (memcheck.c).
 * Included by common.h, so every module has it; it stands alone as well. */
#ifndef FRTUI_MEMCHECK_H
#define FRTUI_MEMCHECK_H

#include <stddef.h>
#include <stdint.h>

typedef struct fr_err fr_err;   /* common.h */

/* Bytes a new allocation can expect to get now: the smallest of MemAvailable (/proc/meminfo),
 * the cgroup v2 memory.max minus memory.current, and RLIMIT_AS / RLIMIT_DATA minus what this
 * process already uses.  SIZE_MAX when none of them is known.  The environment variable
 * FRTUI_MEM_AVAILABLE (bytes, or a number with a K/M/G suffix) replaces the measured figure;
 * tests use it to exercise the refusal below on any machine. */
/* A size from the environment variable `name`: "123", "64K", "512M", "3G"; 0 when unset or
 * malformed (the stand-ins FRTUI_MEM_AVAILABLE, FRTUI_MEM_BASE, FRTUI_DISK_AVAILABLE). */
uint64_t fr_env_size(const char *name);
size_t fr_mem_available(void);
/* Resident set size of this process now (bytes, /proc/self/statm), 0 when unknown. */
size_t fr_mem_rss(void);
/* Its high-water mark (VmHWM in /proc/self/status), 0 when unknown. */
size_t fr_mem_rss_peak(void);
/* What the memory planner counts as already held: this process's RSS, or FRTUI_MEM_BASE (a
 * size as for FRTUI_MEM_AVAILABLE) so that tests can give two processes -- `frtui info` and
 * the run it describes -- the same planner inputs (their RSS differs by a fraction of a MiB,
 * enough to move a unit that sits at the budget's edge). */
size_t fr_mem_plan_base(void);
/* Checks a size declared by an input file *before* allocating it (reliability issue, item 7):
 * FR_OK when `bytes` fits in FR_MAX_ALLOC and in fr_mem_available(); otherwise sets e to
 * "<fmt...> declares 9.0 GiB, more than the 3.1 GiB available" and returns FR_ENOMEM (exit
 * status 2), so an oversized input is an error, not the OOM killer or an abort.  fmt names
 * the file and the item, e.g. fr_mem_check(e, bytes, "%s: tensor %s", path, name).  Sizes up
 * to 64 MiB skip the /proc reads (they are on every reader's hot path, and the fuzzers'). */
#define fr_mem_check(e, bytes, ...) fr_mem_verb((e), (bytes), "declares", __VA_ARGS__)
/* The same for one item of a file that holds many (tensors, frames): *total (start at 0) sums
 * the file's declared sizes, and the check is on that sum, so a file of many items that each
 * fit cannot add up past the memory there is.  Message: "... brings the file's declared total
 * to X, more than the Y available" (or the per-item one when the item alone is too big). */
int fr_mem_check_total(fr_err *e, size_t *total, size_t bytes, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same check for a size the program derives rather than reads (activation buffers,
 * im2col scratch, calibration caches: issue 14 item 3).  Message: "<fmt...> needs X, more
 * than the Y available". */
#define fr_mem_need(e, bytes, ...) fr_mem_verb((e), (bytes), "needs", __VA_ARGS__)

/* What both say: "<fmt...> <verb> X, more than the Y available" when bytes do not fit. */
int fr_mem_verb(fr_err *e, size_t bytes, const char *verb, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
