/* test_outfile.c — the output writer (fr_atomic_*, common.h), issue 14 items 8, 9 and 14:
 * special targets are written in place, never replaced; symlinks are refused; temp files are
 * created exclusively (a planted symlink never redirects the write); temp files are removed by
 * the fatal-signal handler and, after a SIGKILL, by the next write of the same target.
 * Character-device cases need root (mknod) and are skipped otherwise.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/common.h"

static char D[256];

static const char *P(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", D, name);
    return buf[k];
}

static int slurp(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0) return -1;
    out[n] = 0;
    return (int)n;
}

static void put(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { if (write(fd, s, strlen(s)) < 0) {} close(fd); }
}

/* Entries of D whose name contains ".tmp." */
static int n_temps(void)
{
    DIR *d = opendir(D);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n += strstr(de->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static pid_t dead_pid(void)
{
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

static void test_regular(void)
{
    fr_err e;
    FR_CHECK(fr_atomic_write(P("a.txt"), "hello", 5, &e) == FR_OK);
    char b[64];
    FR_CHECK(slurp(P("a.txt"), b, sizeof b) == 5 && !strcmp(b, "hello"));
    FR_CHECK(n_temps() == 0);
}

/* Item 9: the old name was PATH.tmp.<pid>, opened O_CREAT|O_TRUNC: a symlink planted there
 * redirected the write (and the rename then moved the link into place). */
static void test_planted_symlink(void)
{
    put(P("victim"), "precious");
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", P("b.txt"), (long)getpid());
    FR_CHECK(symlink(P("victim"), tmp) == 0);
    fr_err e;
    FR_CHECK(fr_atomic_write(P("b.txt"), "new", 3, &e) == FR_OK);
    char b[64];
    FR_CHECK(slurp(P("victim"), b, sizeof b) == 8 && !strcmp(b, "precious"));
    struct stat st;
    FR_CHECK(lstat(P("b.txt"), &st) == 0 && S_ISREG(st.st_mode));
    FR_CHECK(slurp(P("b.txt"), b, sizeof b) == 3 && !strcmp(b, "new"));
    unlink(tmp);
}

/* Item 8: a symlink target is refused, and neither the link nor its target changes. */
static void test_symlink_refused(void)
{
    put(P("target"), "old");
    FR_CHECK(symlink(P("target"), P("link")) == 0);
    fr_err e;
    fr_err_clear(&e);
    FR_CHECK(fr_atomic_write(P("link"), "new", 3, &e) == FR_EINPUT);
    FR_CHECKF(strstr(e.msg, P("link")) && strstr(e.msg, "symbolic link"), "'%s'", e.msg);
    fr_err_clear(&e);
    FR_CHECK(fr_out_check(P("link"), &e) == FR_EINPUT);
    struct stat st;
    FR_CHECK(lstat(P("link"), &st) == 0 && S_ISLNK(st.st_mode));
    char b[64];
    FR_CHECK(slurp(P("target"), b, sizeof b) == 3 && !strcmp(b, "old"));
    FR_CHECK(n_temps() == 0);
    /* A directory is refused too. */
    mkdir(P("dir"), 0755);
    FR_CHECK(fr_atomic_write(P("dir"), "x", 1, &e) == FR_EINPUT);
}

/* Item 8: FIFOs are written in place (with a reader), refused at once without one. */
static void test_fifo(void)
{
    FR_CHECK(mkfifo(P("fifo"), 0644) == 0);
    fr_err e;
    double t0 = fr_now();
    FR_CHECK(fr_atomic_write(P("fifo"), "x", 1, &e) == FR_EIO);
    FR_CHECKF(strstr(e.msg, "no reader") && fr_now() - t0 < 1, "'%s'", e.msg);
    int rfd = open(P("fifo"), O_RDONLY | O_NONBLOCK);
    FR_CHECK(rfd >= 0);
    FR_CHECK(fr_atomic_write(P("fifo"), "through", 7, &e) == FR_OK);
    char b[64] = {0};
    FR_CHECK(read(rfd, b, sizeof b) == 7 && !strcmp(b, "through"));
    close(rfd);
    struct stat st;
    FR_CHECK(lstat(P("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
    FR_CHECK(n_temps() == 0);
}

/* Item 8: descriptor names are written through the descriptor (the shell's redirection keeps
 * its file and offset); /proc/self/fd/N of a pipe, /dev/fd/N of a file opened for appending. */
static void test_fd_names(void)
{
    int pfd[2];
    FR_CHECK(pipe(pfd) == 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", pfd[1]);
    fr_err e;
    FR_CHECK(fr_atomic_write(path, "piped", 5, &e) == FR_OK);
    char b[64] = {0};
    FR_CHECK(read(pfd[0], b, sizeof b) == 5 && !strcmp(b, "piped"));
    close(pfd[0]);
    close(pfd[1]);
    put(P("log"), "table\n");
    int fd = open(P("log"), O_WRONLY | O_APPEND);
    snprintf(path, sizeof path, "/dev/fd/%d", fd);
    FR_CHECK(fr_atomic_write(path, "json\n", 5, &e) == FR_OK);
    close(fd);
    FR_CHECK(slurp(P("log"), b, sizeof b) == 11 && !strcmp(b, "table\njson\n"));
    /* A link to a descriptor name is that descriptor (what /dev/stdout is). */
    FR_CHECK(pipe(pfd) == 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", pfd[1]);
    FR_CHECK(symlink(path, P("stdout")) == 0);
    FR_CHECK(fr_atomic_write(P("stdout"), "linked", 6, &e) == FR_OK);
    memset(b, 0, sizeof b);
    FR_CHECK(read(pfd[0], b, sizeof b) == 6 && !strcmp(b, "linked"));
    close(pfd[0]);
    close(pfd[1]);
    struct stat st;
    FR_CHECK(lstat(P("stdout"), &st) == 0 && S_ISLNK(st.st_mode));
    /* A descriptor open read-only is refused, as is one that is not open. */
    snprintf(path, sizeof path, "/proc/self/fd/%d", 0);
    int ro = open(P("log"), O_RDONLY);
    snprintf(path, sizeof path, "/dev/fd/%d", ro);
    FR_CHECK(fr_atomic_write(path, "x", 1, &e) == FR_EINPUT);
    close(ro);
    FR_CHECK(fr_atomic_write("/dev/fd/999", "x", 1, &e) == FR_EINPUT);
}

/* Item 8 as root: private copies of /dev/null and /dev/full (mknod), so a failure cannot harm
 * the machine's own. */
static void test_char_devices(void)
{
    if (geteuid() != 0) { printf("# not root: character-device cases skipped\n"); return; }
    FR_CHECK(mknod(P("null"), S_IFCHR | 0666, makedev(1, 3)) == 0);
    FR_CHECK(mknod(P("full"), S_IFCHR | 0666, makedev(1, 7)) == 0);
    fr_err e;
    FR_CHECK(fr_atomic_write(P("null"), "gone", 4, &e) == FR_OK);
    fr_err_clear(&e);
    FR_CHECK(fr_atomic_write(P("full"), "nospace", 7, &e) == FR_EIO);
    FR_CHECKF(strstr(e.msg, P("full")) && strstr(e.msg, "No space"), "'%s'", e.msg);
    struct stat st;
    FR_CHECK(lstat(P("null"), &st) == 0 && S_ISCHR(st.st_mode));
    FR_CHECK(lstat(P("full"), &st) == 0 && S_ISCHR(st.st_mode));
    FR_CHECK(n_temps() == 0);
}

/* fr_out_check: what the CLI calls before computing; it creates nothing. */
static void test_out_check(void)
{
    fr_err e;
    FR_CHECK(fr_out_check(P("new.json"), &e) == FR_OK);
    FR_CHECK(access(P("new.json"), F_OK) != 0);
    fr_err_clear(&e);
    FR_CHECK(fr_out_check(P("nodir/x.json"), &e) == FR_EINPUT);
    FR_CHECKF(strstr(e.msg, "nodir"), "'%s'", e.msg);
    FR_CHECK(fr_out_check(P("dir"), &e) == FR_EINPUT);
    FR_CHECK(fr_out_check("/dev/stdout", &e) == FR_OK);
    FR_CHECK(fr_out_check("", &e) == FR_EINPUT);
}

/* Item 14: leftovers of a dead writer of the same target are removed by the next write; a live
 * writer's, another target's and files that only look similar are not. */
static void test_stale_sweep(void)
{
    pid_t dead = dead_pid();
    char a[600], b[600], c[600], d[600], f[600];
    snprintf(a, sizeof a, "%s.tmp.%ld.abc123", P("s.frc"), (long)dead);
    snprintf(b, sizeof b, "%s.tmp.%ld", P("s.frc"), (long)dead);                 /* old naming */
    snprintf(c, sizeof c, "%s.tmp.%ld.abc123", P("s.frc"), (long)getppid());     /* alive */
    snprintf(d, sizeof d, "%s.tmp.%ld.abc123", P("other.frc"), (long)dead);      /* other target */
    snprintf(f, sizeof f, "%s.tmp.%ld.notes", P("s.frc"), (long)dead);           /* not our pattern */
    put(a, "x"); put(b, "x"); put(c, "x"); put(d, "x"); put(f, "x");
    fr_err e;
    FR_CHECK(fr_atomic_write(P("s.frc"), "ckpt", 4, &e) == FR_OK);
    FR_CHECK(access(a, F_OK) != 0);
    FR_CHECK(access(b, F_OK) != 0);
    FR_CHECK(access(c, F_OK) == 0);
    FR_CHECK(access(d, F_OK) == 0);
    FR_CHECK(access(f, F_OK) == 0);
    unlink(c); unlink(d); unlink(f);
    FR_CHECK(n_temps() == 0);
}

/* A child opens an output, writes half of it, and is killed by `sig` (raised at itself, so the
 * moment is exact).  Returns the child's wait status. */
static int die_mid_write(int sig, const char *path)
{
    pid_t p = fork();
    if (p == 0) {
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_CORE, &rl);   /* the Core-action signals: no core files */
        fr_fatal_signals_init();
        fr_atomic a;
        fr_err e;
        if (fr_atomic_open(&a, path, &e)) _exit(90);
        fputs("half a checkpoint", a.f);
        fflush(a.f);
        raise(sig);
        _exit(91);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return st;
}

/* Item 14: every fatal signal removes the live temp file and still ends the process by that
 * signal (exit status); SIGKILL cannot be caught: the next write removes what it left. */
static void test_signals_remove_temps(void)
{
    const int sigs[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGXCPU, SIGXFSZ,
                        SIGVTALRM, SIGPROF, SIGSYS, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL,
#ifdef SIGSTKFLT
                        SIGSTKFLT,
#endif
#ifdef SIGPWR
                        SIGPWR,
#endif
                        SIGRTMIN + 3};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        int st = die_mid_write(sigs[i], P("sig.frc"));
        FR_CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i], "signal %d: status %#x", sigs[i], st);
        FR_CHECKF(n_temps() == 0, "signal %d (%s) left a temp file", sigs[i], strsignal(sigs[i]));
    }
    FR_CHECK(access(P("sig.frc"), F_OK) != 0);   /* nothing half-written in place */
    int st = die_mid_write(SIGKILL, P("kill.frc"));
    FR_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    FR_CHECK(n_temps() == 1);
    fr_err e;
    FR_CHECK(fr_atomic_write(P("kill.frc"), "ok", 2, &e) == FR_OK);
    FR_CHECK(n_temps() == 0);
}

int main(void)
{
    snprintf(D, sizeof D, "%s/test_outfile.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(D)) { perror("mkdtemp"); return 1; }
    signal(SIGPIPE, SIG_DFL);
    FR_RUN(test_regular);
    FR_RUN(test_planted_symlink);
    FR_RUN(test_symlink_refused);
    FR_RUN(test_fifo);
    FR_RUN(test_fd_names);
    FR_RUN(test_char_devices);
    FR_RUN(test_out_check);
    FR_RUN(test_stale_sweep);
    FR_RUN(test_signals_remove_temps);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", D);
    if (system(cmd) != 0) {}
    return FR_REPORT();
}
