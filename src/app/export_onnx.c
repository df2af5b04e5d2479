/* export_onnx.c — fake-quant ONNX export of a quantized model; contract in
 * include/frtui/export_onnx.h. */
#include "frtui/export_onnx.h"

#include <stdlib.h>
#include <string.h>

#include "frtui/onnx.h"

int fr_export_onnx_source(const fr_model *m, char *buf, size_t n)
{
    const char *p = strstr(m->meta.provenance, "imported from ONNX ");
    if (!p) return -1;
    p += strlen("imported from ONNX ");
    const char *q = strstr(p, " (");
    size_t len = q ? (size_t)(q - p) : strlen(p);
    if (len == 0 || len >= n) return -1;
    memcpy(buf, p, len);
    buf[len] = 0;
    return 0;
}

int fr_export_onnx_encode(const fr_qmodel *q, const char *src, uint8_t **out, size_t *out_n, fr_err *e)
{
    char found[1024];
    *out = NULL;
    *out_n = 0;
    if (!src) {
        if (fr_export_onnx_source(q->src, found, sizeof found))
            return fr_err_set(e, FR_EINPUT, "%s was not imported from ONNX (no source recorded); give --onnx-source MODEL.onnx",
                              q->src->meta.name);
        src = found;
    }
    int n = 0;
    const char **names = fr_xcalloc((size_t)q->g.n_nodes + 1, sizeof(char *));
    const float **data = fr_xcalloc((size_t)q->g.n_nodes + 1, sizeof(float *));
    int64_t *numel = fr_xcalloc((size_t)q->g.n_nodes + 1, sizeof(int64_t));
    for (int i = 0; i < q->g.n_nodes; i++) {
        if (!fr_node_is_layer(&q->g.nodes[i])) continue;
        const fr_tensor *t = &q->g.tensors[q->g.nodes[i].param[0]];
        names[n] = t->name;
        data[n] = t->data;
        numel[n] = fr_tensor_numel(t);
        n++;
    }
    /* A file with symbolic input dims re-imports at the bundle's input shape. */
    const fr_meta *mt = &q->src->meta;
    fr_onnx_shape sh = {.n = 3, .d = {mt->in_c, mt->in_h, mt->in_w}, .strict = 0};
    int rc = fr_onnx_rewrite_weights_mem_shaped(src, &sh, names, data, numel, n, out, out_n, e);
    free(names);
    free(data);
    free(numel);
    return rc;
}
