/* common.h — errors, allocation, RNG and atomic file output shared by every module.
 *
 * Design note
 *   Two tiers of failure (see ../shared/spec/ux-and-style.md rec. 12):
 *   - programmer errors: FR_ASSERT -> fr_abort(), which runs the installed abort hook (the TUI
 *     installs one that restores the terminal) and then abort()s;
 *   - recoverable errors on user input, I/O and large allocations: functions return an int status
 *     (FR_OK == 0) and fill an fr_err with one line that names the file and the fault.  main()
 *     turns FR_EINPUT into exit status 2.
 *   Small allocations use fr_xmalloc & co, which abort on failure (zero size is a bug).
 *
 *   Output files are always written through fr_atomic_*: data goes to a fresh temp file beside
 *   the target, is fsync'd, then rename()d over it, so an interrupted write never leaves a half
 *   file; special targets (devices, FIFOs, descriptors) are written in place (see below).
 */
#ifndef FRTUI_COMMON_H
#define FRTUI_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fr_status {
    FR_OK = 0,
    FR_EINPUT = 2,   /* bad user input: file, flag, key.  main() exits with 2. */
    FR_EIO = 3,      /* the OS refused: unwritable path, full disk. Also exits 2. */
    FR_ENOMEM = 4,   /* a declared size exceeds what we may allocate */
    FR_ECANCEL = 5,  /* cooperative cancellation observed */
    FR_ENUM = 6,     /* NaN/Inf appeared in a computation */
};

typedef struct fr_err {
    int code;
    char msg[512];
} fr_err;

/* Sets e->code and formats e->msg (printf style).  Returns code so callers can
 * `return fr_err_set(e, FR_EINPUT, "%s: bad magic", path);`.  e may be NULL. */
int fr_err_set(fr_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fr_err_clear(fr_err *e);
/* Prepends "path: " to e->msg unless it already starts with path: for errors found below the
 * layer that knows which file they came from (the engine names models, the CLI files). */
void fr_err_prefix(fr_err *e, const char *path);

/* Programmer-error path. */
typedef void (*fr_abort_hook)(void);
void fr_set_abort_hook(fr_abort_hook hook);
_Noreturn void fr_abort(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define FR_ASSERT(x) \
    do { if (!(x)) fr_abort(__FILE__, __LINE__, "assertion failed: %s", #x); } while (0)

void *fr_xmalloc(size_t n);
void *fr_xcalloc(size_t n, size_t size);
void *fr_xrealloc(void *p, size_t n);
char *fr_xstrdup(const char *s);
/* 64-byte aligned allocation for float buffers fed to BLAS / vector loops; free with fr_afree.
 * Returns NULL (not abort) so large tensors can report FR_ENOMEM. */
void *fr_amalloc(size_t n);
void fr_afree(void *p);

/* Largest single allocation we accept for a tensor or dataset declared in a file (bytes).
 * Inputs declaring more are refused before allocating (reliability issue, item 7). */
#define FR_MAX_ALLOC ((size_t)8 << 30)
/* Returns FR_OK when a*b*... fits in FR_MAX_ALLOC and does not overflow. */
int fr_size_mul(size_t *out, size_t a, size_t b);

/* Available memory and the checks against it (memcheck.c); every module refuses oversized
 * inputs through them, so they come with this header. */
#include "frtui/memcheck.h"

/* Deterministic RNG: xoshiro256** seeded through splitmix64.  The state is plain data so a
 * checkpoint can store it and resume bit-exactly. */
typedef struct fr_rng { uint64_t s[4]; } fr_rng;
void fr_rng_seed(fr_rng *r, uint64_t seed);
/* Derives an independent stream (e.g. one per unit) from a seed and a stream id. */
void fr_rng_stream(fr_rng *r, uint64_t seed, uint64_t stream);
uint64_t fr_rng_u64(fr_rng *r);
uint32_t fr_rng_below(fr_rng *r, uint32_t n);   /* uniform in [0, n) without modulo bias */
float fr_rng_uniform(fr_rng *r);                /* [0, 1) with 24 random bits */
float fr_rng_normal(fr_rng *r);                 /* standard normal (Box-Muller, uses 2 draws) */

/* Output files (issue 14 items 8, 9, 14).  Every writer in frtui goes through fr_atomic_*:
 *   - a regular file (or a new one) is written to "<path>.tmp.<pid>.<6 random>" beside it,
 *     created O_CREAT|O_EXCL|O_NOFOLLOW (a planted file or symlink of that name is never
 *     opened), fsync'd and rename()d over the target, so it is either the old or the new file;
 *   - /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N (and a symlink to one of them) are
 *     written through a dup of that descriptor: the shell's redirection keeps its file;
 *   - a character device (/dev/null, /dev/full, a tty) or a FIFO is opened and written in
 *     place, never replaced (a FIFO without a reader is an error, not a hang);
 *   - any other symbolic link, a directory, a block device or a socket is refused: renaming
 *     would replace the link, following it would write wherever the link's maker chose.
 *   Temp files are unlinked by the fatal-signal handler (fr_fatal_signals_init) and, when a
 *   writer died by SIGKILL, by the next write of the same target (its pid is dead).
 *   Errors name the path. */
typedef struct fr_atomic {
    FILE *f;
    char path[4096];
    char tmp[4160];
    int direct;      /* written in place (descriptor, device, FIFO): nothing to rename */
    int slot;        /* in the signal handler's table of live temp files, -1 when not */
} fr_atomic;
int fr_atomic_open(fr_atomic *a, const char *path, fr_err *e);
int fr_atomic_commit(fr_atomic *a, fr_err *e);
void fr_atomic_abort(fr_atomic *a);
/* Checks, before any work, that fr_atomic_open(path) would be allowed: the kinds above, the
 * directory of a new file exists and is writable.  Creates and opens nothing (a FIFO is not
 * opened, so its reader is not consumed).  FR_OK, or FR_EINPUT/FR_EIO with one line. */
int fr_out_check(const char *path, fr_err *e);
/* Unlinks every live temp file; async-signal-safe (the fatal-signal handler calls it). */
void fr_atomic_cleanup(void);
/* Installs one handler for every signal whose default action ends the process (HUP INT QUIT
 * ILL TRAP ABRT BUS FPE USR1 SEGV USR2 PIPE ALRM TERM STKFLT XCPU XFSZ VTALRM PROF IO PWR SYS
 * and the real-time ones; a signal ignored at start, e.g. under nohup, stays ignored, and one
 * that already has another handler, e.g. a sanitizer's SEGV report, keeps it).  The
 * handler runs the hook (the inspector's terminal restore), removes live temp files, restores
 * the default action and re-raises, so the exit status still names the signal.  main() calls
 * it once; fr_fatal_set_hook(NULL) removes the hook. */
void fr_fatal_signals_init(void);
void fr_fatal_set_hook(void (*hook)(void));
/* Whole-buffer convenience wrapper. */
int fr_atomic_write(const char *path, const void *buf, size_t n, fr_err *e);

/* Reads a whole file into a malloc'd buffer (caller frees).  Refuses anything but a regular
 * file (a FIFO is refused, not waited on), files over max_bytes and files larger than the
 * available memory (fr_mem_check). */
int fr_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_n, fr_err *e);
/* The same, but first hands the file's first min(size, FR_HEAD_BYTES) bytes and its size to
 * `check`, which refuses (returns an error code, e set) before the rest is read. */
#define FR_HEAD_BYTES 64
struct stat;
typedef int (*fr_head_check)(const uint8_t *head, size_t n, uint64_t file_size, const char *path, const void *ctx,
                             fr_err *e);
int fr_read_file_checked(const char *path, size_t max_bytes, fr_head_check check, const void *ctx, uint8_t **out,
                         size_t *out_n, fr_err *e);
/* Opens path for reading (O_NONBLOCK during the open, so a FIFO cannot block; extra_flags e.g.
 * O_NOFOLLOW) and refuses anything but a regular file.  Returns the fd, or -1 with e set
 * (FR_EINPUT, one line naming the path).  st (may be NULL) receives the fstat. */
int fr_open_regular(const char *path, int extra_flags, struct stat *st, fr_err *e);

/* Monotonic clock in seconds. */
double fr_now(void);

/* FNV-1a 64-bit, used for fingerprints of bundles and calibration data. */
uint64_t fr_fnv1a(uint64_t h, const void *p, size_t n);
#define FR_FNV_INIT 0xcbf29ce484222325ULL

#define FR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FR_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
