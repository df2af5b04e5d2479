/* harness.h — what every libFuzzer harness in tests/fuzz/ shares: the memory figure the
 * readers see, the error-contract check, and memfd-backed paths for path-taking readers.
 *
 * Design note
 *   Memory: each harness runs with FRTUI_MEM_AVAILABLE=FR_FUZZ_MEM_AVAILABLE (fixup.h; set in
 *   LLVMFuzzerInitialize unless the environment already sets it), so a reader refuses any
 *   declared size above it through fr_mem_check — the same refusal path a real input meets on
 *   a machine without that much memory.  Without it a 100-byte mutant declaring a 500 MiB zstd
 *   frame was *accepted* and inflated (the machine has the memory), ~0.1 s per exec under ASan:
 *   fuzz_frc ran at 96 exec/s.  The seeds' largest item is < 1 MiB, so nothing a seed reaches
 *   is cut off; inputs are at most 256 KiB (run.sh -max_len).
 *   Errors: a refusal must come with a message naming the input (fz_named traps otherwise).
 *   Paths: png, tfjs and the gzip paths of npy/idx read files, so inputs go through memfds
 *   (created once per process, read back as /proc/self/fd/N): no disk I/O, nothing left behind.
 */
#ifndef FR_FUZZ_HARNESS_H
#define FR_FUZZ_HARNESS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frtui/common.h"
#include "frtui/frm.h"
#include "frtui/graph.h"
#include "fixup.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("FRTUI_MEM_AVAILABLE", FR_FUZZ_MEM_AVAILABLE, 0);
    return 0;
}

/* The error contract: a refusal (rc != FR_OK) names the input; `what` says which call. */
static inline void fz_named(int rc, const fr_err *e, const char *name, const char *what)
{
    if (rc == FR_OK || (e->msg[0] && strstr(e->msg, name))) return;
    fprintf(stderr, "%s: error without a message naming the input: rc %d '%s'\n", what, rc, e->msg);
    __builtin_trap();
}

/* A private, writable copy of the input (checksum repair works on it). */
static inline uint8_t *fz_dup(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);
    if (!b) abort();
    if (size) memcpy(b, data, size);
    return b;
}

/* Puts bytes into memfd number `slot` (0..3) and returns the path that reads them back. */
static inline const char *fz_file(int slot, const uint8_t *p, size_t n)
{
    static int fd[4] = {-1, -1, -1, -1};
    static char path[4][64];
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("fuzz_input", 0);
        if (fd[slot] < 0) { perror("memfd_create"); abort(); }
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) != 0) abort();
    size_t off = 0;
    while (off < n) {
        ssize_t k = pwrite(fd[slot], p + off, n - off, (off_t)off);
        if (k <= 0) abort();
        off += (size_t)k;
    }
    return path[slot];
}

/* What the CLI does with an imported model before writing it: fingerprint and encode. */
static inline void fz_encode(fr_model *m)
{
    fr_err e;
    uint8_t *w = NULL;
    size_t n = 0;
    (void)fr_frm_fingerprint(m);
    if (fr_frm_write_mem(m, 0, &w, &n, &e) == FR_OK) free(w);
}

#endif
