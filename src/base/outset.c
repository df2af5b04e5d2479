/* outset.c — all-or-nothing output of several files; the design note is in
 * include/frtui/outset.h. */
#include "frtui/outset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory's identity plus the last component: equal for "a.frm" and "./a.frm" even
 * before the file exists. */
static int where(const char *path, struct stat *dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    char d[4096];
    if (!slash) snprintf(d, sizeof d, ".");
    else if (slash == path) snprintf(d, sizeof d, "/");
    else snprintf(d, sizeof d, "%.*s", (int)(slash - path), path);
    return stat(d, dir);
}

static int same_target(const char *a, const char *b)
{
    if (strcmp(a, b) == 0) return 1;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    const char *ba, *bb;
    if (where(a, &sa, &ba) || where(b, &sb, &bb)) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && strcmp(ba, bb) == 0;
}

int fr_outset_write(const fr_outfile *f, int n, fr_err *e)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (same_target(f[i].path, f[j].path))
                return fr_err_set(e, FR_EINPUT, "%s: given for two outputs; nothing written", f[i].path);
    fr_atomic *a = fr_xcalloc((size_t)(n ? n : 1), sizeof *a);
    int *existed = fr_xcalloc((size_t)(n ? n : 1), sizeof *existed);
    int rc = FR_OK, opened = 0;
    for (int i = 0; i < n && !rc; i++) {
        if ((rc = fr_atomic_open(&a[i], f[i].path, e))) break;
        opened = i + 1;
        /* Direct targets (FIFOs, devices) cannot be fsync'd and are written at once anyway. */
        if ((f[i].n && fwrite(f[i].data, 1, f[i].n, a[i].f) != f[i].n) || fflush(a[i].f) != 0 ||
            (!a[i].direct && fsync(fileno(a[i].f)) != 0)) {
            int saved = errno;
            rc = fr_err_set(e, FR_EIO, "%s: write failed: %s; nothing written", f[i].path, strerror(saved ? saved : EIO));
        }
    }
    if (rc) {
        for (int i = 0; i < opened; i++) fr_atomic_abort(&a[i]);
        free(a);
        free(existed);
        return rc;
    }
    struct stat st;
    for (int i = 0; i < n; i++) existed[i] = lstat(f[i].path, &st) == 0;
    for (int i = 0; i < n; i++) {
        if (!fr_atomic_commit(&a[i], e)) continue;
        /* Undo what can be undone: outputs this call created. */
        char replaced[512] = "";
        for (int j = 0; j < i; j++) {
            if (!existed[j]) unlink(f[j].path);
            else snprintf(replaced + strlen(replaced), sizeof replaced - strlen(replaced), "%s%s", replaced[0] ? ", " : "",
                          f[j].path);
        }
        for (int j = i + 1; j < n; j++) fr_atomic_abort(&a[j]);
        if (replaced[0]) {
            char m[sizeof e->msg];
            snprintf(m, sizeof m, "%s", e->msg);
            fr_err_set(e, e->code ? e->code : FR_EIO, "%.300s (already replaced: %.180s)", m, replaced);
        }
        rc = e->code ? e->code : FR_EIO;
        break;
    }
    free(a);
    free(existed);
    return rc;
}
