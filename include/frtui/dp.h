/* dp.h — data parallel inside one unit: `mpirun -n K frtui run ...` (issue 17), the MPI calls of
 * a run in one place (src/recon/dp.c).
 *
 * Design note
 *   Compiled with real MPI only in the MPI build (`make MPI=1`: mpicc, -DFR_MPI); in the plain
 *   build every function is a stub (one rank), so frtui has no MPI dependency and the engine
 *   calls these unconditionally.  MPI is joined only when a launcher started this process
 *   (fr_dp_launched), so the MPI build run by hand is the plain program.
 *   The rank count is process state, read by the engine when a run is created (fr_recon_new);
 *   a run created while one rank is active (every test binary, a sweep's child, the inspector)
 *   is the single-process run, bit for bit.
 *   Threads: MPI is initialised by the main thread with MPI_THREAD_SERIALIZED; the collectives
 *   are called by the one thread that owns the engine (the worker thread of `frtui run`, or the
 *   main thread of frtui-dev bench-dp), never by two threads at once; finalize after the worker
 *   has been joined.
 *   Determinism: sums are never MPI_Allreduce (whose order of additions MPI leaves open): every
 *   rank gathers all ranks' partials (MPI_Allgather) and adds them in rank order, so every rank
 *   holds the same bits and a run is reproducible for a given rank count.
 */
#ifndef FRTUI_DP_H
#define FRTUI_DP_H

#include <stddef.h>

#include "frtui/common.h"

/* 1 when a launcher started this process: *rank, *size from its environment variables.
 * Otherwise 0, *rank = 0, *size = 1.  Here rather than in the sweep's MPI module (which uses it
 * too) because the engine layer may not include the app layer. */
int fr_dp_launched(int *rank, int *size);
/* 1 when this binary was built with MPI (FR_MPI). */
int fr_dp_built(void);
/* Joins the MPI job when a launcher started this process: returns 1 with *rank, *size of
 * MPI_COMM_WORLD (size may be 1).  Otherwise returns 0, *rank = 0, *size = 1.  The plain build
 * started by a launcher with several ranks returns -1 with e set (each rank would run the whole
 * run and write the same outputs); *rank, *size are then the launcher's so only rank 0 says so.
 * -1 with e set too when MPI cannot give the thread level the run needs. */
int fr_dp_init(int *rank, int *size, fr_err *e);
int fr_dp_rank(void);           /* 0 when not active */
int fr_dp_size(void);           /* 1 when not active */
int fr_dp_local_size(void);     /* ranks on this machine (shared memory), 1 when not active */
/* v[0..n) = the sum over the ranks of every rank's v, added in rank order (rank 0 first), the
 * same bits on every rank.  No-ops with one rank.  Every rank must call with the same n. */
void fr_dp_sum_f(float *v, size_t n);
void fr_dp_sum_d(double *v, int n);
/* Both at once, in one collective (each is one synchronisation of all ranks, which on a loaded
 * machine costs a scheduling round trip): the same results as fr_dp_sum_f(f, nf) and
 * fr_dp_sum_d(d, nd). */
void fr_dp_sum_fd(float *f, size_t nf, double *d, int nd);
/* Wall seconds this rank has spent in fr_dp_sum_* since fr_dp_init: the exchange, including the
 * wait for the slowest rank (frtui-dev bench-dp). */
double fr_dp_comm_seconds(void);
/* The calling thread's CPU seconds (CLOCK_THREAD_CPUTIME_ID), and those this rank's exchanges
 * used: compute CPU = the difference, which other programs' load does not inflate (bench-dp). */
double fr_dp_thread_cpu(void);
double fr_dp_comm_cpu_seconds(void);
/* v[0..n) = rank 0's v on every rank (a value one rank computed: the activation quantizers'
 * initialisation under a sharded cache, recon.c).  No-op with one rank. */
void fr_dp_bcast_f(float *v, size_t n);
/* Rank 0 collects every rank's n floats of v into all, in rank order; rank 0's own part is
 * taken in place (v == all there, already at the start).  Other ranks' all is unused (NULL).
 * Every rank must call; returns 0, or -1 on every rank when the total exceeds MPI's int counts
 * (nothing is then sent).  With one rank: 0, nothing moves. */
int fr_dp_gather_f(float *v, size_t n, float *all);
/* The largest v over the ranks (timings: the slowest rank sets the pace). */
double fr_dp_max_d(double v);
void fr_dp_barrier(void);
/* Ends this rank's part of the job; rc its exit status: MPI_Abort when nonzero and the other
 * ranks cannot be known to stop with it (coordinated 0), so no rank waits for ever in a
 * collective the failed one will never enter. */
void fr_dp_finalize(int rc, int coordinated);

#endif
