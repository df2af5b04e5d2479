/* recon_dp.c — data parallel inside a unit (`mpirun -n K frtui run`, issue 17): the engine's side
 * of it, over the MPI calls of dp.c (declared in recon_impl.h).
 *
 * Design note
 *   Every rank draws the same B indices from the same r->rng, computes its share of the drawn
 *   batch (forward, loss, backward) with the loss normaliser of the whole batch, then the loss
 *   partial and the per-layer dL/dW (+ activation step gradients) of every rank are gathered
 *   and added in rank order (fr_dp_sum_*), and the quantizer/Adam steps run redundantly on every rank,
 *   which therefore hold the same parameters and RNG state at every iteration.  Same seed +
 *   same K (+ same threads, same --dp-cache) gives the same bits; across K the batch is cut
 *   into different GEMMs and sums, so results agree with the single process within float
 *   tolerance only (tests/dp.t.sh).  K = 1 is the single-process code path.
 *   The cache is sharded by default (calib.c, r->sh_lo/sh_n): rank r holds a contiguous
 *   range of samples, whole pass batches of PROP_BATCH when there are at least K of them (so
 *   each stored row has the single process's bits), its share of a mini-batch is the draws
 *   that fall in its range, and the full-calibration passes (targets, RTN and final loss,
 *   propagation, best iterate, restart replay) run over its own range, their loss sums added
 *   in rank order.  That divides the cache's memory and the passes' work by K; the price is
 *   a binomial share of each mini-batch (for B = 32, K = 2 the busier rank averages ~18
 *   samples, not 16).  The activation quantizers' init sample (the first 256 samples) spans
 *   shards: each rank computes its part, rank 0 collects and initialises, the others take
 *   its result (aq_share).  `--dp-cache replicate` keeps the whole cache on every rank and
 *   cuts each drawn batch evenly (positions [rB/K, (r+1)B/K)), the passes then running whole
 *   on every rank -- for calibration sets that fit and units whose steps dominate.  QDrop
 *   is refused under several ranks: its drop stream is one serial RNG sequence over the batch.
 *   Threading: called by the thread that owns the engine, as dp.h requires of its collectives.
 */
#include <math.h>
#include <string.h>

#include "frtui/dp.h"

#include "recon_impl.h"

int fr_recon_dp_share(fr_recon *r, int B, const int32_t **idx)
{
    if (r->sharded) {   /* the draws that fall in this shard, in draw order, shard-relative */
        int nb = 0;
        for (int j = 0; j < B; j++)
            if (r->idx[j] >= r->sh_lo && r->idx[j] - r->sh_lo < r->sh_n) r->lidx[nb++] = r->idx[j] - r->sh_lo;
        *idx = r->lidx;
        return nb;
    }
    int j0 = (int)((int64_t)B * r->dp_rank / r->dp_size);   /* replicated (or one rank): positions [j0, j1) */
    *idx = r->idx + j0;
    return (int)((int64_t)B * (r->dp_rank + 1) / r->dp_size) - j0;
}

/* A sharded cache: rank 0 initialised activation quantizer a, the others take
 * its fields; its status travels along, so every rank fails or goes on alike.  Returns rc on
 * rank 0 and with one rank. */
int fr_recon_aq_share(const fr_recon *r, fr_aquant *a, int rc, fr_err *e)
{
    if (!r->sharded) return rc;
    float v[8] = {(float)rc, (float)a->bits, a->qmax, a->zp, a->s, a->s_m, a->s_v, a->s_init};
    fr_dp_bcast_f(v, 8);
    if (r->dp_rank == 0) return rc;
    if (v[0] != 0) return fr_err_set(e, FR_EIO, "initialising an activation quantizer failed on MPI rank 0");
    memset(a, 0, sizeof *a);
    a->bits = (int)v[1];
    a->qmax = v[2]; a->zp = v[3]; a->s = v[4]; a->s_m = v[5]; a->s_v = v[6]; a->s_init = v[7];
    return FR_OK;
}

/* Replaces this rank's partial loss sum and partial gradients -- every layer's dL/dW, then the
 * activation steps' s_g -- by their sums over the ranks in rank order.
 * The LSQ step gradient is scaled by 1/sqrt(elements of the backward call) (aquant.c), so a
 * rank's partial over nb of B samples is rescaled by sqrt(nb / B) to be a term of the whole
 * batch's gradient. */
void fr_recon_dp_exchange(fr_recon *r, const fr_unit *u, const unit_state *s, int nb, int B, double *loss)
{
    const fr_graph *g = &r->fm.g;
    float *p = r->dp_buf;
    for (int l = 0; l < u->n_layers; l++) {
        size_t n = s->q[l].n;
        if (nb > 0) memcpy(p, fr_exec_param_grad(r->x, g->nodes[u->layers[l]].param[0]), n * sizeof(float));
        else memset(p, 0, n * sizeof(float));   /* the executor's buffer is a previous step's */
        p += n;
    }
    float sc = (float)sqrt((double)nb / B);
    for (int a = u->first; a <= u->last; a++)
        if (r->aq[a]) *p++ = r->aq[a]->aq.s_g * sc;
    fr_dp_sum_fd(r->dp_buf, r->dp_n, loss, 1);   /* rank order */
    p = r->dp_buf;
    for (int l = 0; l < u->n_layers; l++) p += s->q[l].n;
    for (int a = u->first; a <= u->last; a++)
        if (r->aq[a]) r->aq[a]->aq.s_g = *p++;
}

const float *fr_recon_dp_grad(const fr_recon *r, const unit_state *s, int l)
{
    size_t off = 0;
    for (int j = 0; j < l; j++) off += s->q[j].n;
    return r->dp_buf + off;
}
