/* memcheck.c — how much memory a new allocation can expect, and refusing sizes past it
 * (memcheck.h).
 *
 * Design note
 *   Split from common.c: this is the part of the base layer that asks the system how much
 *   room there is (/proc/meminfo, the cgroup files, rlimits, /proc/self), a concern of its own
 *   beside errors, allocation, the RNG and file output.  No state: every call measures afresh (the figure moves while frtui runs) except
 *   below 64 MiB, where fr_mem_check trusts FR_MAX_ALLOC alone because it sits on every
 *   reader's hot path.  Thread-safe: reads files and the environment, writes only its
 *   arguments.  The FRTUI_MEM_* environment stand-ins exist so tests can exercise the
 *   refusals on any machine.
 */
#include "frtui/memcheck.h"
#include "frtui/common.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The first unsigned number in a file after `key` (key NULL: at the start), times `mul`; 0 when
 * the file or key is missing or the value is "max". */
static uint64_t file_number(const char *path, const char *key, uint64_t mul)
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0) return 0;
    buf[k] = 0;
    const char *p = buf;
    if (key && !(p = strstr(buf, key))) return 0;
    if (key) p += strlen(key);
    while (*p == ' ' || *p == '\t' || *p == ':') p++;
    if (*p < '0' || *p > '9') return 0;
    return strtoull(p, NULL, 10) * mul;
}

static size_t min_known(size_t a, uint64_t b) { return b && b < a ? (size_t)b : a; }

/* Limit minus usage of a cgroup directory: v2 files (memory.max, memory.current) or v1 files
 * (memory.limit_in_bytes, memory.usage_in_bytes); 0 when absent or unlimited. */
static uint64_t cgroup_dir_room(const char *dir, int v1)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/%s", dir, v1 ? "memory.limit_in_bytes" : "memory.max");
    uint64_t max = file_number(path, NULL, 1);
    if (!max || max >= ((uint64_t)1 << 60)) return 0;   /* "max", or v1's "unlimited" (~2^63) */
    snprintf(path, sizeof path, "%s/%s", dir, v1 ? "memory.usage_in_bytes" : "memory.current");
    uint64_t cur = file_number(path, NULL, 1);
    /* Usage counts the page cache, which the kernel reclaims before it refuses anyone: clean
     * file pages (the bundle just read, spilled caches, issue 19) are room, not use. */
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    uint64_t file = file_number(path, v1 ? "total_inactive_file" : "\ninactive_file", 1) +
                    file_number(path, v1 ? "total_active_file" : "\nactive_file", 1);
    cur = cur > file ? cur - file : 0;
    return max > cur ? max - cur : 1;
}

/* Room left in the memory cgroup this process is in (v2 "0::/path" line, or a v1 hierarchy
 * with the memory controller), 0 when unknown or unlimited.  The directory named in
 * /proc/self/cgroup is tried, then the mount's root (inside a cgroup namespace the two agree,
 * outside one the path may not be visible). */
static uint64_t cgroup_room(void)
{
    char buf[2048], dir[1200];
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0) return 0;
    buf[k] = 0;
    uint64_t best = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        int v2 = c1[1] == 0, v1 = !v2 && strstr(c1 + 1, "memory") != NULL;
        if (!v2 && !v1) continue;
        const char *mount = v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
        const char *sub = strcmp(c2 + 1, "/") ? c2 + 1 : "";
        snprintf(dir, sizeof dir, "%s%s", mount, sub);
        uint64_t r = cgroup_dir_room(dir, v1);
        if (!r && *sub) r = cgroup_dir_room(mount, v1);
        if (r && (!best || r < best)) best = r;
    }
    return best;
}

/* An rlimit minus what the process already has of it (pages from /proc/self/statm field
 * `field`: 0 = total virtual size, 5 = data + stack), 0 when unlimited or unknown. */
static uint64_t rlimit_room(int resource, int field)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
    char buf[256];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    uint64_t used = 0;
    if (fd >= 0) {
        ssize_t k = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (k > 0) {
            buf[k] = 0;
            char *p = buf;
            for (int i = 0; i < field && p; i++) { p = strchr(p, ' '); if (p) p++; }
            if (p) used = strtoull(p, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE);
        }
    }
    return (uint64_t)rl.rlim_cur > used ? (uint64_t)rl.rlim_cur - used : 1;
}

uint64_t fr_env_size(const char *name)
{
    const char *s = getenv(name);
    if (!s || *s < '0' || *s > '9') return 0;
    char *end;
    uint64_t v = strtoull(s, &end, 10);
    int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : *end == 'G' || *end == 'g' ? 30 : 0;
    if (shift) end++;
    if (*end || v > (UINT64_MAX >> shift)) return 0;
    return (v << shift) ? (v << shift) : 1;
}

size_t fr_mem_available(void)
{
    uint64_t o = fr_env_size("FRTUI_MEM_AVAILABLE");
    if (o) return o > SIZE_MAX ? SIZE_MAX : (size_t)o;
    size_t a = SIZE_MAX;
    a = min_known(a, file_number("/proc/meminfo", "MemAvailable", 1024));
    a = min_known(a, cgroup_room());
    a = min_known(a, rlimit_room(RLIMIT_AS, 0));
    a = min_known(a, rlimit_room(RLIMIT_DATA, 5));
    return a;
}

size_t fr_mem_rss(void)
{
    char buf[256];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0) return 0;
    buf[k] = 0;
    char *p = strchr(buf, ' ');
    return p ? (size_t)strtoull(p + 1, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

size_t fr_mem_plan_base(void)
{
    uint64_t o = fr_env_size("FRTUI_MEM_BASE");
    return o ? (o > SIZE_MAX ? SIZE_MAX : (size_t)o) : fr_mem_rss();
}

size_t fr_mem_rss_peak(void) { return (size_t)file_number("/proc/self/status", "VmHWM", 1024); }

/* "9.0 GiB", "512.0 MiB", "12 KiB", "100 bytes" */
static void fmt_bytes(char *dst, size_t cap, double b)
{
    if (b >= (double)(1u << 30)) snprintf(dst, cap, "%.1f GiB", b / (double)(1u << 30));
    else if (b >= (double)(1u << 20)) snprintf(dst, cap, "%.1f MiB", b / (double)(1u << 20));
    else if (b >= 1024.0) snprintf(dst, cap, "%.0f KiB", b / 1024.0);
    else snprintf(dst, cap, "%.0f bytes", b);
}

static int mem_vcheck(fr_err *e, size_t bytes, const char *verb, const char *fmt, va_list ap)
{
    size_t avail = FR_MAX_ALLOC;
    const char *kind = "limit";
    if (bytes > ((size_t)64 << 20) || getenv("FRTUI_MEM_AVAILABLE")) {
        size_t m = fr_mem_available();
        if (m < avail) { avail = m; kind = "available"; }
    }
    if (bytes <= avail) return FR_OK;
    if (!e) return FR_ENOMEM;
    char what[400], have[32], want[32];
    vsnprintf(what, sizeof what, fmt, ap);
    fmt_bytes(want, sizeof want, (double)bytes);
    fmt_bytes(have, sizeof have, (double)avail);
    return fr_err_set(e, FR_ENOMEM, "%s %s %s, more than the %s %s", what, verb, want, have, kind);
}

int fr_mem_verb(fr_err *e, size_t bytes, const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = mem_vcheck(e, bytes, verb, fmt, ap);
    va_end(ap);
    return rc;
}

int fr_mem_check_total(fr_err *e, size_t *total, size_t bytes, const char *fmt, ...)
{
    *total = bytes > SIZE_MAX - *total ? SIZE_MAX : *total + bytes;
    va_list ap;
    /* The item is part of the total, so a total that fits settles it with one check. */
    va_start(ap, fmt);
    int rc = mem_vcheck(NULL, *total, "", fmt, ap);
    va_end(ap);
    if (!rc || !e) return rc;
    /* Refused: the item alone is the clearer message when it is too big by itself. */
    va_start(ap, fmt);
    rc = mem_vcheck(NULL, bytes, "", fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    rc = rc ? mem_vcheck(e, bytes, "declares", fmt, ap)
            : mem_vcheck(e, *total, "brings the file's declared total to", fmt, ap);
    va_end(ap);
    return rc;
}
