/* export_st.c — a checkpoint's codes and scales as safetensors (contract in
 * include/frtui/export_st.h; the container is io/safetensors.c).
 *
 * Design note: the tensors are the checkpoint's own arrays, converted only where the file's
 * dtype differs (codes int32 -> one byte, I8 two's complement or U8; zero points float ->
 * int32); the converted copies live until the file is encoded.
 */
#include "frtui/export_st.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/recon_ckpt.h"
#include "frtui/safetensors.h"

static int exported(const fr_ckpt *c, int k) { return k != c->cur_unit && c->units[k].status != FR_UNIT_PENDING; }

int fr_export_safetensors_encode(const fr_ckpt *c, const fr_model *m, const char *path, uint8_t **out, size_t *out_n,
                                 fr_err *e)
{
    *out = NULL;
    *out_n = 0;
    /* Straight from the checkpoint: no engine needed, but the bundle must match. */
    if (fr_ckpt_check_model(c, m, c->src[0] ? c->src : m->meta.name, e)) return e->code;
    int nl = 0;
    for (int k = 0; k < c->n_units; k++)
        if (exported(c, k))
            for (int l = 0; l < c->units[k].n_layers; l++) nl += c->units[k].layers[l].has_result;
    if (!nl) return fr_err_set(e, FR_EINPUT, "%s: no finished unit to export", path);
    fr_st_tensor *t = fr_xcalloc((size_t)nl * 3, sizeof *t);
    char (*names)[128] = fr_xcalloc((size_t)nl * 3, sizeof *names);
    void **owned = fr_xcalloc((size_t)nl * 2, sizeof *owned);
    int nt = 0, no = 0;
    for (int k = 0; k < c->n_units; k++) {
        if (!exported(c, k)) continue;
        const fr_ckpt_unit *U = &c->units[k];
        for (int l = 0; l < U->n_layers; l++) {
            const fr_ckpt_layer *L = &U->layers[l];
            if (!L->has_result) continue;
            int sym = L->zp[0] == 0 && c->cfg.symmetric;
            uint8_t *b = fr_xmalloc((size_t)L->n);
            for (int64_t q = 0; q < L->n; q++) b[q] = (uint8_t)(int8_t)L->code[q];  /* I8 two's complement or U8 */
            int32_t *z = fr_xmalloc((size_t)L->ns1 * sizeof(int32_t));
            for (int g = 0; g < L->ns1; g++) z[g] = (int32_t)L->zp[g];
            owned[no++] = b;
            owned[no++] = z;
            fr_st_tensor *T = &t[nt];
            snprintf(names[nt], sizeof names[nt], "%s.qcodes", L->name);
            T->name = names[nt++];
            T->dtype = sym ? FR_ST_I8 : FR_ST_U8;
            T->data = b;
            if (L->kh == 1 && L->kw == 1 && !L->is_conv) {
                T->ndim = 2;
                T->shape[0] = L->o; T->shape[1] = L->i;
            } else {
                T->ndim = 4;
                T->shape[0] = L->o; T->shape[1] = L->i; T->shape[2] = L->kh; T->shape[3] = L->kw;
            }
            T = &t[nt];
            snprintf(names[nt], sizeof names[nt], "%s.scale", L->name);
            /* per group: [o, groups per row], the layout GPTQ-style checkpoints use */
            const int grouped = L->ns1 > L->o;
            *T = grouped ? (fr_st_tensor){names[nt++], FR_ST_F32, 2, {L->o, L->ns1 / L->o}, L->s1}
                         : (fr_st_tensor){names[nt++], FR_ST_F32, 1, {L->ns1}, L->s1};
            T = &t[nt];
            snprintf(names[nt], sizeof names[nt], "%s.zero_point", L->name);
            *T = grouped ? (fr_st_tensor){names[nt++], FR_ST_I32, 2, {L->o, L->ns1 / L->o}, z}
                         : (fr_st_tensor){names[nt++], FR_ST_I32, 1, {L->ns1}, z};
        }
    }
    char bits[16], act_bits[16], seed[32], gran[32];
    snprintf(bits, sizeof bits, "%d", c->cfg.bits);
    snprintf(act_bits, sizeof act_bits, "%d", c->cfg.act_bits);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->cfg.seed);
    fr_st_meta meta[] = {
        {"format", "frtui-qcodes"},
        {"method", fr_method_name(c->cfg.method)},
        {"bits", bits},
        {"act_bits", act_bits},
        {"seed", seed},
        {"granularity", fr_run_granularity(&c->cfg, gran, sizeof gran)},
        {"scheme", c->cfg.symmetric ? "symmetric" : "asymmetric"},
        {"model", m->meta.name},
    };
    int rc = fr_safetensors_encode(meta, (int)(sizeof meta / sizeof meta[0]), t, nt, out, out_n, e);
    for (int i = 0; i < no; i++) free(owned[i]);
    free(owned);
    free(names);
    free(t);
    return rc;
}

int fr_export_safetensors(const fr_ckpt *c, const fr_model *m, const char *path, fr_err *e)
{
    uint8_t *buf;
    size_t n;
    int rc = fr_export_safetensors_encode(c, m, path, &buf, &n, e);
    if (rc) return rc;
    rc = fr_atomic_write(path, buf, n, e);
    free(buf);
    return rc;
}
