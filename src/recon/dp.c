/* dp.c — the MPI calls of a data-parallel run (dp.h); stubs unless built with FR_MPI.
 *
 * Design note
 *   One process-wide state: whether this process joined an MPI job, its rank and size, and a
 *   scratch buffer for the gathers.  Only the thread that owns the engine calls the collectives
 *   (dp.h), so the scratch needs no lock; it grows to K x the largest exchanged vector and lives
 *   until fr_dp_finalize.  The sums are gather-then-add-in-rank-order (never MPI_Allreduce), so
 *   the result is the same on every rank and on every run with the same rank count.
 */
#include "frtui/dp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#ifdef FR_MPI
#include <mpi.h>
#endif

static int g_active, g_rank, g_size = 1, g_local = 1;
static double g_comm_s, g_comm_cpu;

double fr_dp_comm_seconds(void) { return g_comm_s; }
double fr_dp_comm_cpu_seconds(void) { return g_comm_cpu; }

double fr_dp_thread_cpu(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)) return 0;
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int env_int(const char *name, int *v)
{
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end;
    long x = strtol(s, &end, 10);
    if (*end || x < 0 || x > 1 << 24) return 0;
    *v = (int)x;
    return 1;
}

/* Open MPI (OMPI_COMM_WORLD_*), PMIx launchers (PMIX_RANK), MPICH/Hydra and srun --mpi=pmi2
 * (PMI_RANK, PMI_SIZE). */
int fr_dp_launched(int *rank, int *size)
{
    int r = 0, s = 1, any = 0;
    any |= env_int("OMPI_COMM_WORLD_RANK", &r) | env_int("PMIX_RANK", &r) | env_int("PMI_RANK", &r);
    int s1 = 0;
    if (env_int("OMPI_COMM_WORLD_SIZE", &s1) || env_int("PMI_SIZE", &s1)) { s = s1; any = 1; }
    *rank = r;
    *size = s;
    return any;
}

int fr_dp_rank(void) { return g_rank; }
int fr_dp_size(void) { return g_size; }
int fr_dp_local_size(void) { return g_local; }

#ifdef FR_MPI

static void *g_scratch;
static size_t g_scratch_cap;

static void *scratch(size_t bytes)
{
    if (bytes > g_scratch_cap) {
        free(g_scratch);
        g_scratch = fr_xmalloc(bytes);
        g_scratch_cap = bytes;
    }
    return g_scratch;
}

int fr_dp_built(void) { return 1; }

int fr_dp_init(int *rank, int *size, fr_err *e)
{
    *rank = 0;
    *size = 1;
    int r, s;
    if (!fr_dp_launched(&r, &s)) return 0;
    int provided;
    /* the collectives run on the worker thread, not the one that initialises (dp.h) */
    MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    g_active = 1;
    if (provided < MPI_THREAD_SERIALIZED) {
        fr_err_set(e, FR_EINPUT, "this MPI library gives thread level %d, below MPI_THREAD_SERIALIZED, which a "
                   "data-parallel run needs (its worker thread calls MPI)", provided);
        return -1;
    }
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &g_local);
        MPI_Comm_free(&node);
    }
    g_rank = *rank;
    g_size = *size;
    return 1;
}

/* Counts are ints in MPI: vectors are exchanged in pieces of at most 2^26 elements. */
#define DP_PIECE ((size_t)1 << 26)

void fr_dp_sum_f(float *v, size_t n)
{
    if (!g_active || g_size < 2 || n == 0) return;
    size_t K = (size_t)g_size;
    double t0 = fr_now(), c0 = fr_dp_thread_cpu();
    for (size_t o = 0; o < n; o += DP_PIECE) {
        size_t m = n - o < DP_PIECE ? n - o : DP_PIECE;
        float *all = scratch(K * m * sizeof(float));
        MPI_Allgather(v + o, (int)m, MPI_FLOAT, all, (int)m, MPI_FLOAT, MPI_COMM_WORLD);
        for (size_t i = 0; i < m; i++) {
            float s = all[i];
            for (size_t k = 1; k < K; k++) s += all[k * m + i];
            v[o + i] = s;
        }
    }
    g_comm_s += fr_now() - t0;
    g_comm_cpu += fr_dp_thread_cpu() - c0;
}

void fr_dp_sum_d(double *v, int n)
{
    if (!g_active || g_size < 2 || n <= 0) return;
    size_t K = (size_t)g_size, m = (size_t)n;
    double t0 = fr_now(), c0 = fr_dp_thread_cpu();
    double *all = scratch(K * m * sizeof(double));
    MPI_Allgather(v, n, MPI_DOUBLE, all, n, MPI_DOUBLE, MPI_COMM_WORLD);
    for (size_t i = 0; i < m; i++) {
        double s = all[i];
        for (size_t k = 1; k < K; k++) s += all[k * m + i];
        v[i] = s;
    }
    g_comm_s += fr_now() - t0;
    g_comm_cpu += fr_dp_thread_cpu() - c0;
}

void fr_dp_sum_fd(float *f, size_t nf, double *d, int nd)
{
    if (!g_active || g_size < 2) return;
    size_t db = (size_t)(nd > 0 ? nd : 0) * sizeof(double), blk = db + nf * sizeof(float);
    if (blk > ((size_t)1 << 30)) {   /* beyond one int count: the two exchanges */
        fr_dp_sum_d(d, nd);
        fr_dp_sum_f(f, nf);
        return;
    }
    size_t K = (size_t)g_size;
    double t0 = fr_now(), c0 = fr_dp_thread_cpu();
    unsigned char *all = scratch((K + 1) * blk), *mine = all + K * blk;
    memcpy(mine, d, db);   /* doubles first: aligned in every rank's block (blk is a multiple of 4, db of 8) */
    memcpy(mine + db, f, nf * sizeof(float));
    MPI_Allgather(mine, (int)blk, MPI_BYTE, all, (int)blk, MPI_BYTE, MPI_COMM_WORLD);
    for (int i = 0; i < nd; i++) {
        double s, x;
        memcpy(&s, all + (size_t)i * sizeof(double), sizeof s);
        for (size_t k = 1; k < K; k++) { memcpy(&x, all + k * blk + (size_t)i * sizeof(double), sizeof x); s += x; }
        d[i] = s;
    }
    for (size_t i = 0; i < nf; i++) {
        float s, x;
        memcpy(&s, all + db + i * sizeof(float), sizeof s);
        for (size_t k = 1; k < K; k++) { memcpy(&x, all + k * blk + db + i * sizeof(float), sizeof x); s += x; }
        f[i] = s;
    }
    g_comm_s += fr_now() - t0;
    g_comm_cpu += fr_dp_thread_cpu() - c0;
}

double fr_dp_max_d(double v)
{
    if (!g_active || g_size < 2) return v;
    double m;
    MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);   /* a maximum is exact in any order */
    return m;
}

void fr_dp_bcast_f(float *v, size_t n)
{
    if (!g_active || g_size < 2) return;
    double t0 = fr_now(), c0 = fr_dp_thread_cpu();
    for (size_t o = 0; o < n; o += DP_PIECE)
        MPI_Bcast(v + o, (int)(n - o < DP_PIECE ? n - o : DP_PIECE), MPI_FLOAT, 0, MPI_COMM_WORLD);
    g_comm_s += fr_now() - t0;
    g_comm_cpu += fr_dp_thread_cpu() - c0;
}

int fr_dp_gather_f(float *v, size_t n, float *all)
{
    if (!g_active || g_size < 2) return 0;
    double t0 = fr_now(), c0 = fr_dp_thread_cpu();
    long long mine = (long long)n, *cnt = scratch((size_t)g_size * (sizeof(long long) + 2 * sizeof(int)));
    int *ic = (int *)(cnt + g_size), *dis = ic + g_size;
    MPI_Allgather(&mine, 1, MPI_LONG_LONG, cnt, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
    long long tot = 0;
    for (int k = 0; k < g_size; k++) { ic[k] = (int)cnt[k]; dis[k] = (int)tot; tot += cnt[k]; }
    int rc = 0;
    if (tot > INT_MAX) rc = -1;   /* every rank saw the same counts: all return -1 */
    else if (g_rank == 0) MPI_Gatherv(MPI_IN_PLACE, 0, MPI_FLOAT, all, ic, dis, MPI_FLOAT, 0, MPI_COMM_WORLD);
    else MPI_Gatherv(v, (int)n, MPI_FLOAT, NULL, NULL, NULL, MPI_FLOAT, 0, MPI_COMM_WORLD);
    g_comm_s += fr_now() - t0;
    g_comm_cpu += fr_dp_thread_cpu() - c0;
    return rc;
}

void fr_dp_barrier(void)
{
    if (g_active) MPI_Barrier(MPI_COMM_WORLD);
}

void fr_dp_finalize(int rc, int coordinated)
{
    if (!g_active) return;
    g_active = 0;
    free(g_scratch);
    g_scratch = NULL;
    g_scratch_cap = 0;
    if (rc && !coordinated) MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    g_rank = 0;
    g_size = g_local = 1;
}

#else   /* the plain build: one rank */

int fr_dp_built(void) { return 0; }

int fr_dp_init(int *rank, int *size, fr_err *e)
{
    int r, s;
    *rank = 0;
    *size = 1;
    if (fr_dp_launched(&r, &s) && s > 1) {
        *rank = r;
        *size = s;
        fr_err_set(e, FR_EINPUT, "started by an MPI launcher with %d ranks, but this frtui was built without MPI "
                   "(each rank would run the whole run and write the same outputs); build it with `make MPI=1` "
                   "(build/mpi/frtui)", s);
        return -1;
    }
    return 0;
}

void fr_dp_sum_f(float *v, size_t n) { (void)v; (void)n; }
void fr_dp_sum_d(double *v, int n) { (void)v; (void)n; }
void fr_dp_sum_fd(float *f, size_t nf, double *d, int nd) { (void)f; (void)nf; (void)d; (void)nd; }
double fr_dp_max_d(double v) { return v; }
void fr_dp_bcast_f(float *v, size_t n) { (void)v; (void)n; }
int fr_dp_gather_f(float *v, size_t n, float *all) { (void)v; (void)n; (void)all; return 0; }
void fr_dp_barrier(void) {}
void fr_dp_finalize(int rc, int coordinated) { (void)rc; (void)coordinated; (void)g_active; }

#endif
