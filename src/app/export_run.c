/* export_run.c — all-or-nothing multi-target export; contract in include/frtui/export_run.h. */
#include "frtui/export_run.h"

#include <stdlib.h>

#include "frtui/export_model.h"
#include "frtui/export_onnx.h"
#include "frtui/export_st.h"
#include "frtui/outset.h"

int fr_export_run(const fr_ckpt *c, const fr_model *m, const fr_export_req *r, double *acc_q, fr_err *e)
{
    if (acc_q) *acc_q = -1;
    fr_outfile f[3];
    uint8_t *bufs[3] = {0};
    int n = 0, rc = FR_OK, have_q = 0;
    fr_qmodel q;
    if (r->frm || r->onnx) {
        if ((rc = fr_qmodel_build(c, m, &q, r->frm ? acc_q : NULL, e))) return rc;
        have_q = 1;
    }
    if (!rc && r->frm && !(rc = fr_qmodel_encode_frm(&q, r->frm, &bufs[n], &f[n].n, e))) f[n].path = r->frm, n++;
    if (!rc && r->safetensors && !(rc = fr_export_safetensors_encode(c, m, r->safetensors, &bufs[n], &f[n].n, e)))
        f[n].path = r->safetensors, n++;
    if (!rc && r->onnx && !(rc = fr_export_onnx_encode(&q, r->onnx_source, &bufs[n], &f[n].n, e))) f[n].path = r->onnx, n++;
    if (have_q) fr_qmodel_free(&q);
    for (int i = 0; i < n; i++) f[i].data = bufs[i];
    if (!rc) rc = fr_outset_write(f, n, e);
    for (int i = 0; i < 3; i++) free(bufs[i]);
    return rc;
}
