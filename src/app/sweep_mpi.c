/* sweep_mpi.c — the MPI side of `frtui sweep` (sweep_mpi.h); stubs unless built with FR_MPI.
 *
 * Design note
 *   The ranks split the points statically (cli_sweep.c: point k belongs to rank k % size), so a
 *   re-launch after a crash gives every rank the same share and the existing report.json test
 *   skips what is done: no work queue, no messages.  What MPI provides is only ordering: rank 0
 *   writes sweep.json before the first barrier, every rank runs its points, and after the last
 *   barrier rank 0 merges (sweep-report, in-process); the per-rank counters are summed so every
 *   rank returns the same exit status and rank 0 prints the totals.
 *   Points stay child processes of this binary, as in a local sweep, rather than running
 *   in-process: the compute thread count is process-wide and a point's results are defined as
 *   those of `FRTUI_THREADS=T frtui run` (cli_sweep.c), a crash or OOM of one point must not take
 *   down the rank (with it the MPI job, every rank's points), and the children of a killed rank
 *   die with it (PR_SET_PDEATHSIG) so a re-launch never races an orphan.  A child is not an MPI
 *   process: it gets the environment without the launcher's variables
 *   (fr_sweep_mpi_launcher_var), so nothing in it can mistake itself for rank r and try to join
 *   the job.  Open MPI allows fork+exec in a rank over shared memory and TCP (the transports of
 *   `mpirun --oversubscribe` on one machine and of most clusters); only the openib verbs
 *   transport objects to fork(), and a rank never touches MPI between fork and exec.
 *   A launcher's presence is read from its environment, so the MPI build run by hand never calls
 *   MPI_Init (no singleton start-up, no dependency on a working Open MPI install) and behaves as
 *   the plain build.  The plain build under a launcher with several ranks refuses: each rank
 *   would believe it is alone and run every point.
 */
#include <stdlib.h>
#include <string.h>

#include "frtui/sweep_mpi.h"
#include "frtui/dp.h"

#ifdef FR_MPI
#include <mpi.h>
#endif

static int g_active;

int fr_sweep_mpi_launcher_var(const char *entry)
{
    static const char *const pre[] = {"OMPI_", "PMIX_", "PMI_", "OPAL_", "HYDRA_", "MPI_LOCAL", NULL};
    for (int i = 0; pre[i]; i++)
        if (strncmp(entry, pre[i], strlen(pre[i])) == 0) return 1;
    return 0;
}

#ifdef FR_MPI

int fr_sweep_mpi_built(void) { return 1; }

int fr_sweep_mpi_init(int *rank, int *size, fr_err *e)
{
    *rank = 0;
    *size = 1;
    int r, s;
    if (!fr_dp_launched(&r, &s)) return 0;
    int provided;
    /* MPI_Init_thread aborts the process itself when it fails (MPI_ERRORS_ARE_FATAL) */
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    g_active = 1;
    (void)e;
    return 1;
}

void fr_sweep_mpi_barrier(void)
{
    if (g_active) MPI_Barrier(MPI_COMM_WORLD);
}

void fr_sweep_mpi_sum(long long *v, int n)
{
    if (g_active) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
}

void fr_sweep_mpi_finalize(int rc, int coordinated)
{
    if (!g_active) return;
    g_active = 0;
    /* a lone failing rank would leave the others waiting in a barrier for ever */
    if (rc && !coordinated) MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
}

#else   /* the plain build: no MPI */

int fr_sweep_mpi_built(void) { return 0; }

int fr_sweep_mpi_init(int *rank, int *size, fr_err *e)
{
    int r, s;
    *rank = 0;
    *size = 1;
    if (fr_dp_launched(&r, &s) && s > 1) {
        *rank = r;
        *size = s;
        fr_err_set(e, FR_EINPUT, "started by an MPI launcher with %d ranks, but this frtui was built without MPI "
                   "(each rank would run every point); build it with `make MPI=1` (build/mpi/frtui)", s);
        return -1;
    }
    return 0;
}

void fr_sweep_mpi_barrier(void) {}
void fr_sweep_mpi_sum(long long *v, int n) { (void)v; (void)n; }
void fr_sweep_mpi_finalize(int rc, int coordinated) { (void)rc; (void)coordinated; (void)g_active; }

#endif
