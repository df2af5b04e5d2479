/* common.c — see include/frtui/common.h for the design note. */
#include "frtui/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fr_err_set(fr_err *e, int code, const char *fmt, ...)
{
    if (!e) return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void fr_err_clear(fr_err *e)
{
    if (!e) return;
    e->code = FR_OK;
    e->msg[0] = 0;
}

static fr_abort_hook g_abort_hook;

void fr_err_prefix(fr_err *e, const char *path)
{
    if (!e || !path || !strncmp(e->msg, path, strlen(path))) return;
    char tmp[sizeof e->msg];
    memcpy(tmp, e->msg, sizeof tmp);
    int k = snprintf(e->msg, sizeof e->msg, "%s: ", path);
    if (k < 0) k = 0;
    size_t room = (size_t)k < sizeof e->msg ? sizeof e->msg - 1 - (size_t)k : 0, n = strlen(tmp);
    if (n > room) n = room;
    memcpy(e->msg + sizeof e->msg - 1 - room, tmp, n);
    e->msg[sizeof e->msg - 1 - room + n] = 0;
}

void fr_set_abort_hook(fr_abort_hook hook) { g_abort_hook = hook; }

void fr_abort(const char *file, int line, const char *fmt, ...)
{
    /* The hook restores the terminal first, so the message below is readable. */
    if (g_abort_hook) g_abort_hook();
    fprintf(stderr, "frtui: internal error at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *fr_xmalloc(size_t n)
{
    if (n == 0) fr_abort(__FILE__, __LINE__, "zero-size allocation");
    void *p = malloc(n);
    if (!p) fr_abort(__FILE__, __LINE__, "out of memory (%zu bytes)", n);
    return p;
}

void *fr_xcalloc(size_t n, size_t size)
{
    if (n == 0 || size == 0) fr_abort(__FILE__, __LINE__, "zero-size allocation");
    void *p = calloc(n, size);
    if (!p) fr_abort(__FILE__, __LINE__, "out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *fr_xrealloc(void *p, size_t n)
{
    if (n == 0) fr_abort(__FILE__, __LINE__, "zero-size allocation");
    void *q = realloc(p, n);
    if (!q) fr_abort(__FILE__, __LINE__, "out of memory (%zu bytes)", n);
    return q;
}

char *fr_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = fr_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void *fr_amalloc(size_t n)
{
    if (n == 0) n = 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, (n + 63) & ~(size_t)63) != 0) return NULL;
    return p;
}

void fr_afree(void *p) { free(p); }

int fr_size_mul(size_t *out, size_t a, size_t b)
{
    if (a != 0 && b > SIZE_MAX / a) return FR_ENOMEM;
    size_t r = a * b;
    if (r > FR_MAX_ALLOC) return FR_ENOMEM;
    *out = r;
    return FR_OK;
}

/* ---- RNG ---------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void fr_rng_seed(fr_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

void fr_rng_stream(fr_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    fr_rng_seed(r, splitmix64(&x));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fr_rng_u64(fr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t fr_rng_below(fr_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection keeps the draw unbiased. */
    uint64_t m = (uint64_t)(uint32_t)(fr_rng_u64(r) >> 32) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            m = (uint64_t)(uint32_t)(fr_rng_u64(r) >> 32) * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float fr_rng_uniform(fr_rng *r) { return (float)(fr_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

float fr_rng_normal(fr_rng *r)
{
    double u1 = ((double)(fr_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(fr_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---- files -------------------------------------------------------------------------------- */

/* Live temp files, for the fatal-signal handler (issue 14 item 14).  A fixed table and a
 * lock-free int per slot, because the handler may run on any thread at any moment: it may only
 * read the table and unlink().  A path is published (state 2) after it is complete and
 * withdrawn after the rename, so the handler can at worst unlink a name that no longer exists. */
#define TMP_SLOTS 64
static struct {
    _Atomic int state;   /* 0 free, 1 being filled, 2 live */
    char path[4160];
} g_tmp[TMP_SLOTS];

static int tmp_register(const char *tmp)
{
    for (int i = 0; i < TMP_SLOTS; i++) {
        int want = 0;
        if (atomic_compare_exchange_strong(&g_tmp[i].state, &want, 1)) {
            snprintf(g_tmp[i].path, sizeof g_tmp[i].path, "%s", tmp);
            atomic_store(&g_tmp[i].state, 2);
            return i;
        }
    }
    return -1;   /* more than TMP_SLOTS writes at once: this one is left to the stale sweep */
}

static void tmp_unregister(int slot)
{
    if (slot >= 0 && slot < TMP_SLOTS) atomic_store(&g_tmp[slot].state, 0);
}

void fr_atomic_cleanup(void)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (atomic_load(&g_tmp[i].state) == 2) unlink(g_tmp[i].path);
}

/* Every signal whose default action ends the process (signal(7): Term and Core), so no temp
 * file outlives one and the terminal hook runs for all of them (items 14, 15).  SIGKILL and
 * SIGSTOP cannot be caught: the stale sweep in fr_atomic_open covers SIGKILL. */
static const int g_fatal[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE,
    SIGALRM, SIGTERM,
#ifdef SIGSTKFLT
    SIGSTKFLT,
#endif
    SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
#ifdef SIGIO
    SIGIO,
#endif
#ifdef SIGPWR
    SIGPWR,
#endif
    SIGSYS,
};
#define N_FATAL ((int)(sizeof g_fatal / sizeof g_fatal[0]))
static void (*volatile g_fatal_hook)(void);

static void on_fatal(int sig)
{
    int saved = errno;
    void (*hook)(void) = g_fatal_hook;
    g_fatal_hook = NULL;   /* once, even if the hook itself faults */
    if (hook) hook();
    fr_atomic_cleanup();
    /* SA_RESETHAND restored the default action on entry; the re-raised signal is delivered
     * when the handler returns (a fault re-executes and faults again), so the exit status
     * names the signal. */
    signal(sig, SIG_DFL);
    raise(sig);
    errno = saved;
}

static void install_fatal(int sig)
{
    struct sigaction sa, old;
    if (sigaction(sig, NULL, &old) != 0) return;
    /* Ignored stays ignored (nohup, `trap '' PIPE`); another handler stays too (a sanitizer's
     * SEGV reporter): only the default action is replaced. */
    if ((old.sa_flags & SA_SIGINFO) || (old.sa_handler != SIG_DFL && old.sa_handler != on_fatal)) return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(sig, &sa, NULL);
}

void fr_fatal_signals_init(void)
{
    for (int i = 0; i < N_FATAL; i++) install_fatal(g_fatal[i]);
#if defined(SIGRTMIN) && defined(SIGRTMAX)
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) install_fatal(s);
#endif
}

void fr_fatal_set_hook(void (*hook)(void)) { g_fatal_hook = hook; }

/* "/dev/stdout", "/dev/stderr", "/dev/fd/N", "/proc/self/fd/N" -> N; -1 otherwise.  These
 * name a descriptor the process already has; reopening them would truncate or replace the
 * file the shell redirected to, so they are written through a dup of the descriptor. */
static int fd_name(const char *p)
{
    if (!strcmp(p, "/dev/stdout")) return 1;
    if (!strcmp(p, "/dev/stderr")) return 2;
    const char *d = !strncmp(p, "/dev/fd/", 8) ? p + 8 : !strncmp(p, "/proc/self/fd/", 14) ? p + 14 : NULL;
    if (!d || *d < '0' || *d > '9') return -1;
    char *end;
    long n = strtol(d, &end, 10);
    return *end || n > 1 << 20 ? -1 : (int)n;
}

enum { OUT_FILE, OUT_FD, OUT_DIRECT };

/* What kind of output `path` is; refuses the kinds frtui does not write (item 8):
 *   OUT_FILE    absent or a regular file: temp file beside it + rename (atomic);
 *   OUT_FD      a descriptor name (above), or a symlink whose target is one (/dev/stdout is
 *               /proc/self/fd/1): written through a dup of that descriptor;
 *   OUT_DIRECT  a character device (/dev/null, a tty) or a FIFO: opened and written in place,
 *               never replaced;
 *   refused     any other symlink (renaming would replace the link, writing through it would
 *               write wherever whoever made the link chose: as root, the classic way to clobber
 *               a system file from a shared directory; the user can name the target instead),
 *               directories, block devices, sockets. */
static int out_kind(const char *path, int *kind, int *fd, struct stat *st, fr_err *e)
{
    char link[4096];
    *kind = OUT_FILE;
    *fd = fd_name(path);
    if (*fd < 0 && lstat(path, st) == 0 && S_ISLNK(st->st_mode)) {
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k > 0) { link[k] = 0; *fd = fd_name(link); }
        if (*fd < 0)
            return fr_err_set(e, FR_EINPUT, "%s: is a symbolic link%s%s; frtui replaces no link and writes through "
                              "none: give the path it points to", path, k > 0 ? " to " : "", k > 0 ? link : "");
    }
    if (*fd >= 0) {
        int fl = fcntl(*fd, F_GETFL);
        if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
            return fr_err_set(e, FR_EINPUT, "%s: descriptor %d is not open for writing", path, *fd);
        *kind = OUT_FD;
        return FR_OK;
    }
    if (lstat(path, st) != 0) {
        if (errno == ENOENT) return FR_OK;
        return fr_err_set(e, FR_EIO, "%s: cannot write: %s", path, strerror(errno));
    }
    if (S_ISREG(st->st_mode)) return FR_OK;
    if (S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode)) { *kind = OUT_DIRECT; return FR_OK; }
    return fr_err_set(e, FR_EINPUT, "%s: is a %s, not a file frtui can write", path,
                      S_ISDIR(st->st_mode) ? "directory" : S_ISBLK(st->st_mode) ? "block device"
                      : S_ISSOCK(st->st_mode) ? "socket" : "special file");
}

/* dir part of path ("." when none), into d. */
static void dir_of(const char *path, char *d, size_t cap)
{
    snprintf(d, cap, "%s", path);
    char *slash = strrchr(d, '/');
    if (slash) { if (slash == d) slash[1] = 0; else *slash = 0; } else snprintf(d, cap, ".");
}

int fr_out_check(const char *path, fr_err *e)
{
    struct stat st;
    int fd;
    if (!path[0]) return fr_err_set(e, FR_EINPUT, "an output path is empty");
    if (strlen(path) >= 4096) return fr_err_set(e, FR_EINPUT, "%s: path too long", path);
    int k, rc = out_kind(path, &k, &fd, &st, e);
    if (rc) return rc;
    if (k == OUT_FD) return FR_OK;
    if (k == OUT_DIRECT)
        return access(path, W_OK) == 0 ? FR_OK : fr_err_set(e, FR_EINPUT, "%s: cannot write: %s", path, strerror(errno));
    char d[4096];
    dir_of(path, d, sizeof d);
    struct stat ds;
    if (stat(d, &ds) != 0) return fr_err_set(e, FR_EINPUT, "%s: cannot write: %s: %s", path, d, strerror(errno));
    if (!S_ISDIR(ds.st_mode)) return fr_err_set(e, FR_EINPUT, "%s: cannot write: %s is not a directory", path, d);
    if (access(d, W_OK | X_OK) != 0)
        return fr_err_set(e, FR_EINPUT, "%s: cannot write: directory %s: %s", path, d, strerror(errno));
    return FR_OK;
}

/* Temp files are "<target>.tmp.<pid>.<6 random>" in the target's directory: the pid says
 * whose it is, so a later write of the same target can tell a dead writer's leftover (SIGKILL,
 * power loss) from a live one's.  Leftovers of earlier versions, "<target>.tmp.<pid>", match
 * too.  Only regular files whose pid no longer exists are removed. */
static void sweep_stale(const char *path)
{
    char d[4096];
    dir_of(path, d, sizeof d);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bl = strlen(base);
    if (!bl) return;
    DIR *dir = opendir(d);
    if (!dir) return;
    struct dirent *de;
    while ((de = readdir(dir))) {
        const char *n = de->d_name;
        if (strncmp(n, base, bl) || strncmp(n + bl, ".tmp.", 5)) continue;
        const char *p = n + bl + 5;
        if (*p < '0' || *p > '9') continue;
        char *end;
        long pid = strtol(p, &end, 10);
        if (*end == '.') {
            size_t sl = strlen(end + 1);
            if (sl != 6) continue;
        } else if (*end) {
            continue;
        }
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        struct stat st;
        if (fstatat(dirfd(dir), n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            unlinkat(dirfd(dir), n, 0);
    }
    closedir(dir);
}

/* Six characters of [0-9a-z] that differ per call, per thread and per process. */
static void tmp_suffix(char out[7])
{
    static _Atomic uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40) ^
                 (atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)(uintptr_t)out;
    x = splitmix64(&x);
    for (int i = 0; i < 6; i++) { out[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[x % 36]; x /= 36; }
    out[6] = 0;
}

int fr_atomic_open(fr_atomic *a, const char *path, fr_err *e)
{
    memset(a, 0, sizeof *a);
    a->slot = -1;
    if (strlen(path) >= sizeof a->path) return fr_err_set(e, FR_EINPUT, "%s: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    struct stat st;
    int fd = -1, kfd;
    int k, rc = out_kind(path, &k, &kfd, &st, e);
    if (rc) return rc;
    if (k == OUT_FD) {
        /* What was printed to stdout/stderr so far comes first. */
        fflush(stdout);
        fflush(stderr);
        fd = fcntl(kfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) return fr_err_set(e, FR_EIO, "%s: cannot write: %s", path, strerror(errno));
        a->direct = 1;
    } else if (k == OUT_DIRECT) {
        /* O_NONBLOCK: a FIFO nobody reads is an error now (ENXIO), not a hang. */
        int fifo = S_ISFIFO(st.st_mode);
        fd = open(path, O_WRONLY | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
        if (fd < 0)
            return fr_err_set(e, FR_EIO, "%s: cannot write: %s", path,
                              fifo && errno == ENXIO ? "a FIFO with no reader" : strerror(errno));
        struct stat now;
        if (fstat(fd, &now) != 0 || S_ISREG(now.st_mode)) {   /* swapped for a file since lstat */
            close(fd);
            return fr_err_set(e, FR_EIO, "%s: changed while being opened; not written", path);
        }
        if (fifo) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        a->direct = 1;
    } else {
        sweep_stale(path);
        /* mkstemp-style: a fresh name, O_EXCL (never an existing file, never a planted
         * symlink: O_CREAT|O_EXCL does not follow one) and O_NOFOLLOW (item 9). */
        for (int tries = 0; fd < 0 && tries < 100; tries++) {
            char sfx[7];
            tmp_suffix(sfx);
            if ((size_t)snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld.%s", path, (long)getpid(), sfx) >= sizeof a->tmp)
                return fr_err_set(e, FR_EINPUT, "%s: path too long", path);
            fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (fd < 0 && errno != EEXIST) break;
        }
        if (fd < 0) {
            int saved = errno;
            a->tmp[0] = 0;
            return fr_err_set(e, FR_EIO, "%s: cannot write: %s", path, strerror(saved));
        }
        a->slot = tmp_register(a->tmp);
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        int saved = errno;
        close(fd);
        fr_atomic_abort(a);
        return fr_err_set(e, FR_EIO, "%s: cannot write: %s", path, strerror(saved));
    }
    return FR_OK;
}

int fr_atomic_commit(fr_atomic *a, fr_err *e)
{
    if (!a->f) return fr_err_set(e, FR_EIO, "%s: not open", a->path);
    /* Direct targets (pipes, ttys, /dev/null) cannot be fsync'd: EINVAL is not a failure. */
    int bad = ferror(a->f) || fflush(a->f) != 0 || (!a->direct && fsync(fileno(a->f)) != 0);
    int saved = errno;
    if (fclose(a->f) != 0 && !bad) { bad = 1; saved = errno; }
    a->f = NULL;
    if (bad) {
        fr_atomic_abort(a);
        return fr_err_set(e, FR_EIO, "%s: write failed: %s", a->path, strerror(saved ? saved : EIO));
    }
    if (a->direct) return FR_OK;
    if (rename(a->tmp, a->path) != 0) {
        saved = errno;
        fr_atomic_abort(a);
        return fr_err_set(e, FR_EIO, "%s: cannot rename into place: %s", a->path, strerror(saved));
    }
    tmp_unregister(a->slot);
    a->slot = -1;
    a->tmp[0] = 0;
    /* fsync the directory so the rename itself survives a crash. */
    char dir[4096];
    dir_of(a->path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    return FR_OK;
}

void fr_atomic_abort(fr_atomic *a)
{
    if (a->f) { fclose(a->f); a->f = NULL; }
    if (!a->tmp[0]) return;   /* direct target, never opened, or already committed */
    unlink(a->tmp);
    a->tmp[0] = 0;
    tmp_unregister(a->slot);
    a->slot = -1;
}

int fr_atomic_write(const char *path, const void *buf, size_t n, fr_err *e)
{
    fr_atomic a;
    int rc = fr_atomic_open(&a, path, e);
    if (rc) return rc;
    if (n && fwrite(buf, 1, n, a.f) != n) {
        int saved = errno;
        fr_atomic_abort(&a);
        return fr_err_set(e, FR_EIO, "%s: write failed: %s", path, strerror(saved));
    }
    return fr_atomic_commit(&a, e);
}

/* O_NONBLOCK on the open: opening a FIFO for reading otherwise waits for a writer, forever
 * (issue 14, item 10), and the regular-file check after it never ran.  Non-blocking is then
 * cleared so reads of the regular file behave as usual. */
int fr_open_regular(const char *path, int extra_flags, struct stat *st, fr_err *e)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | extra_flags);
    if (fd < 0) {
        int saved = errno;
        if (saved == ELOOP && (extra_flags & O_NOFOLLOW)) { fr_err_set(e, FR_EINPUT, "%s: is a symbolic link", path); return -1; }
        fr_err_set(e, FR_EINPUT, "%s: cannot open: %s", path, strerror(saved));
        return -1;
    }
    struct stat sb;
    if (!st) st = &sb;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        fr_err_set(e, FR_EINPUT, "%s: not a regular file", path);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

static int read_full(int fd, uint8_t *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, buf + *got, n - *got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        *got += (size_t)r;
    }
    return 0;
}

int fr_read_file_checked(const char *path, size_t max_bytes, fr_head_check check, const void *ctx, uint8_t **out,
                         size_t *out_n, fr_err *e)
{
    *out = NULL;
    *out_n = 0;
    struct stat st;
    int fd = fr_open_regular(path, 0, &st, e);
    if (fd < 0) return e ? e->code : FR_EINPUT;
    /* The magic first: a 1 GB file that is not what the reader expects costs one small read,
     * not 1 GB of memory and I/O (issue 14, item 6). */
    if (check) {
        uint8_t head[FR_HEAD_BYTES];
        size_t hn = 0;
        if (read_full(fd, head, sizeof head, &hn) != 0) { close(fd); return fr_err_set(e, FR_EINPUT, "%s: read failed", path); }
        int rc = check(head, hn, (uint64_t)st.st_size, path, ctx, e);
        if (rc) { close(fd); return rc; }
        if (lseek(fd, 0, SEEK_SET) != 0) { close(fd); return fr_err_set(e, FR_EINPUT, "%s: cannot seek", path); }
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return fr_err_set(e, FR_EINPUT, "%s: file too large (%lld bytes, limit %zu)", path,
                          (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    int rc = fr_mem_check(e, n, "%s: file", path);
    if (rc) { close(fd); return rc; }
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) { close(fd); return fr_err_set(e, FR_ENOMEM, "%s: out of memory", path); }
    size_t got = 0;
    if (read_full(fd, buf, n, &got) != 0 || got != n) {
        free(buf);
        close(fd);
        return fr_err_set(e, FR_EINPUT, "%s: read failed", path);
    }
    close(fd);
    *out = buf;
    *out_n = n;
    return FR_OK;
}

int fr_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_n, fr_err *e)
{
    return fr_read_file_checked(path, max_bytes, NULL, NULL, out, out_n, e);
}

double fr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t fr_fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ULL; }
    return h;
}
