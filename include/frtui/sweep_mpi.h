/* sweep_mpi.h — `mpirun -n K frtui sweep ...`: the MPI calls of a sweep, in one place.
 *
 * Design note
 *   Compiled with real MPI only in the MPI build (`make MPI=1`: mpicc, -DFR_MPI, build/mpi/);
 *   in the plain build every function is a stub and frtui has no MPI dependency.  cli_sweep.c
 *   calls these unconditionally.  Points, not messages, are the unit of work (the grid is a
 *   pure function of the command line, sweep.h), so the only traffic is barriers and one sum
 *   of the per-rank counters; the file system is the channel, as for a Slurm array.
 *   MPI is initialised only when a launcher started this process (mpirun/srun leave OMPI_*,
 *   PMIX_* or PMI_* in the environment): the MPI build run by hand behaves exactly like the
 *   plain build, without Open MPI's singleton start-up.  All calls come from the main thread
 *   (the sweep's worker threads only fork and wait), hence MPI_THREAD_FUNNELED.
 */
#ifndef FRTUI_SWEEP_MPI_H
#define FRTUI_SWEEP_MPI_H

#include "frtui/common.h"

/* 1 when this binary was built with MPI (FR_MPI). */
int fr_sweep_mpi_built(void);
/* Joins the MPI job when a launcher started this process: *rank, *size of MPI_COMM_WORLD,
 * returns 1 (active).  Otherwise *rank = 0, *size = 1, returns 0.  The plain build started by
 * a launcher with more than one rank returns -1 with e set (each rank would run every point),
 * *rank and *size then taken from the launcher's variables so only rank 0 reports it. */
int fr_sweep_mpi_init(int *rank, int *size, fr_err *e);
/* No-ops when not active. */
void fr_sweep_mpi_barrier(void);
/* Element-wise sum of v[0..n) over the ranks, result on every rank (integers: exact, so the
 * order MPI sums in does not matter). */
void fr_sweep_mpi_sum(long long *v, int n);
/* Ends the job's part of this rank; rc is the rank's exit status (MPI_Abort when nonzero and
 * the other ranks cannot be known to stop too: `coordinated` 0). */
void fr_sweep_mpi_finalize(int rc, int coordinated);
/* 1 when a "NAME=value" environment entry belongs to the MPI launcher (OMPI_*, PMIX_*, PMI_*,
 * OPAL_*, HYDRA_*, MPI_LOCALNRANKS...): stripped from a point's child, which is not a rank. */
int fr_sweep_mpi_launcher_var(const char *entry);

#endif
