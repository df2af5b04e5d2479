/* fmap.c — read-only file mappings for the readers; see include/frtui/fmap.h for the design
 * note (why mapping, the drop protocol, and the SIGBUS decision). */
#include "frtui/fmap.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Live mappings of this thread: readers nest at most two deep (an import maps the model, a
 * tfjs import also its weights). */
#define MAX_LIVE 8
static _Thread_local struct { uintptr_t lo, hi; } g_live[MAX_LIVE];
static _Thread_local int g_nlive;

static size_t page_size(void)
{
    static size_t ps;
    if (!ps) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
    }
    return ps;
}

int fr_fmap_open(const char *path, size_t max_bytes, fr_head_check check, const void *ctx, fr_fmap *m, fr_err *e)
{
    static const uint8_t empty[1];
    memset(m, 0, sizeof *m);
    m->p = empty;
    struct stat st;
    int fd = fr_open_regular(path, 0, &st, e);
    if (fd < 0) return e ? e->code : FR_EINPUT;
    if (check) {   /* the magic first: a wrong file costs one small read */
        uint8_t head[FR_HEAD_BYTES];
        ssize_t r;
        do r = pread(fd, head, sizeof head, 0); while (r < 0 && errno == EINTR);
        if (r < 0) { close(fd); return fr_err_set(e, FR_EINPUT, "%s: read failed: %s", path, strerror(errno)); }
        int rc = check(head, (size_t)r, (uint64_t)st.st_size, path, ctx, e);
        if (rc) { close(fd); return rc; }
    }
    if ((uint64_t)st.st_size > max_bytes || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return fr_err_set(e, FR_EINPUT, "%s: file too large (%lld bytes, limit %zu)", path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    if (n == 0) { close(fd); return FR_OK; }
    if (g_nlive >= MAX_LIVE) { close(fd); return fr_err_set(e, FR_ENOMEM, "%s: too many files open at once", path); }
    void *b = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);   /* the mapping keeps the file; nothing else reads the descriptor */
    if (b == MAP_FAILED)
        return fr_err_set(e, saved == ENOMEM ? FR_ENOMEM : FR_EINPUT, "%s: cannot map: %s", path, strerror(saved));
    m->base = b;
    m->p = b;
    m->n = n;
    g_live[g_nlive].lo = (uintptr_t)b;
    g_live[g_nlive].hi = (uintptr_t)b + n;
    g_nlive++;
    return FR_OK;
}

void fr_fmap_close(fr_fmap *m)
{
    if (m->base) {
        for (int i = 0; i < g_nlive; i++)
            if (g_live[i].lo == (uintptr_t)m->base) { g_live[i] = g_live[--g_nlive]; break; }
        munmap(m->base, m->n);
    }
    memset(m, 0, sizeof *m);
}

void fr_fmap_drop(const void *p, size_t len)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + len;
    if (!len || hi < lo) return;
    for (int i = 0; i < g_nlive; i++) {
        if (lo < g_live[i].lo || hi > g_live[i].hi) continue;
        /* Rounded outward to whole pages: the mapping is read-only and private, so no page
         * of it was ever written, and a dropped page is only re-read from the file when
         * touched again (a neighbouring range sharing the page loses nothing). */
        size_t ps = page_size();
        uintptr_t a = lo & ~(uintptr_t)(ps - 1);
        uintptr_t z = (hi + ps - 1) & ~(uintptr_t)(ps - 1);
        if (z > a) (void)madvise((void *)a, z - a, MADV_DONTNEED);
        return;
    }
}

uint64_t fr_fmap_fnv(uint64_t h, const uint8_t *p, size_t len)
{
    while (len) {
        size_t k = len < FR_FMAP_WINDOW ? len : FR_FMAP_WINDOW;
        h = fr_fnv1a(h, p, k);
        fr_fmap_drop(p, k);
        p += k;
        len -= k;
    }
    return h;
}

void fr_fmap_copy(void *dst, const uint8_t *src, size_t len)
{
    uint8_t *d = dst;
    while (len) {
        size_t k = len < FR_FMAP_WINDOW ? len : FR_FMAP_WINDOW;
        memcpy(d, src, k);
        fr_fmap_drop(src, k);
        d += k;
        src += k;
        len -= k;
    }
}
