/* snapshot.c — reference counting and builders for the immutable run views (snapshot.h). */
#include "frtui/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"

void fr_unit_view_bits(const fr_unit_view *u, int *lo, int *hi)
{
    *lo = 99;
    *hi = 0;
    for (int l = 0; l < u->n_layers; l++) {
        if (u->layers[l].bits < *lo) *lo = u->layers[l].bits;
        if (u->layers[l].bits > *hi) *hi = u->layers[l].bits;
    }
    if (u->n_layers <= 0) *lo = *hi = u->bits;
}

void fr_unit_view_bits_text(const fr_unit_view *u, char *buf, size_t n)
{
    int lo, hi;
    fr_unit_view_bits(u, &lo, &hi);
    if (lo == hi) snprintf(buf, n, "W%d", lo);
    else snprintf(buf, n, "W%d/W%d", lo, hi);
}

void fr_unit_view_retain(fr_unit_view *u)
{
    if (u) atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
}

void fr_unit_view_release(fr_unit_view *u)
{
    if (!u) return;
    /* acq_rel: the last releaser must see every write made before other releases. */
    if (atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1) return;
    for (int m = 0; m < FR_METHOD__COUNT; m++) fr_unit_view_release(u->alt[m]);
    fr_afree(u->owned);
    free(u->layers);
    free(u);
}

void fr_snapshot_retain(fr_snapshot *s)
{
    if (s) atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void fr_snapshot_release(fr_snapshot *s)
{
    if (!s) return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    for (int i = 0; i < s->n_units; i++) fr_unit_view_release(s->units[i]);
    free(s->units);
    free(s->mem_units);
    if (s->hist) {
        if (s->hist->free) s->hist->free(s->hist->ctx);
        free(s->hist);
    }
    free(s);
}

fr_snapshot *fr_snapshot_new(int n_units)
{
    fr_snapshot *s = fr_xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    s->n_units = n_units;
    s->units = fr_xcalloc((size_t)(n_units > 0 ? n_units : 1), sizeof *s->units);
    s->cur_unit = -1;
    s->acc_fp = s->acc_q = -1;
    s->cmp.unit = -1;
    s->cmp.eta_s = -1;
    return s;
}

fr_unit_view *fr_unit_view_new(int n_layers, size_t floats)
{
    fr_unit_view *u = fr_xcalloc(1, sizeof *u);
    atomic_init(&u->refs, 1);
    u->n_layers = n_layers;
    u->layers = fr_xcalloc((size_t)(n_layers > 0 ? n_layers : 1), sizeof *u->layers);
    if (floats) {
        u->owned = fr_amalloc(floats * sizeof(float));
        if (!u->owned) fr_abort(__FILE__, __LINE__, "out of memory for a unit view (%zu floats)", floats);
        u->owned_cap = floats;
    }
    return u;
}

float *fr_unit_view_alloc_floats(fr_unit_view *u, size_t n)
{
    /* Keep every array 64-byte aligned inside the block. */
    size_t start = (u->owned_used + 15) & ~(size_t)15;
    FR_ASSERT(start + n <= u->owned_cap);
    u->owned_used = start + n;
    return u->owned + start;
}
