/* tfjs_int.h — private to src/tfjs*.c: the importer state shared by the topology/emission
 * pass (tfjs.c) and the weights-manifest reader (tfjs_weights.c). */
#ifndef FRTUI_TFJS_INT_H
#define FRTUI_TFJS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/graph.h"
#include "frtui/json.h"
#include "frtui/tfjs.h"

#define NAME_LIMIT 80   /* leaves room for "/relu6"-style suffixes within FR_NAME_MAX */

typedef struct wt {
    const char *name;    /* in the JSON document */
    int ndim;
    int64_t dim[4];
    int64_t numel;
    float *data;         /* fr_amalloc'd */
} wt;

/* Name index entry: sorting these needs no global state (qsort has no context argument). */
typedef struct nkey { const char *name; int idx; } nkey;

/* Sorting/looking up name index entries (no global state: qsort has no context argument). */
int tj_nkey_cmp(const void *a, const void *b);
int tj_nkey_find(const nkey *k, int n, const char *name);

typedef struct imp {
    const char *path;    /* model.json, for messages */
    fr_err *e;
    size_t declared;     /* running total of declared tensor bytes (fr_mem_check_total) */
    fr_model *m;
    wt *w;
    int nw;
    nkey *w_sorted;      /* weight names, sorted */
    const fr_json **L;   /* layers */
    int nl;
    nkey *l_sorted;      /* layer names, sorted */
    int *l_out;          /* fr node producing each layer's output, -1 before emission */
    int sequential;
    int use_mem;         /* weights come from wmem (fr_tfjs_import_mem) */
    const uint8_t *wmem;
    size_t wmem_n;
} imp;

#define IERR(...) fr_err_set(I->e, FR_EINPUT, __VA_ARGS__)

/* Reads weightsManifest: checks every tensor's shape/dtype, matches the byte count of the
 * shards (or of weights_path / the memory buffer) exactly, decodes to float.  Fills I->w,
 * I->nw and the sorted name index. */
int tj_load_weights(imp *I, const fr_json *root, const char *weights_path);
/* The same for a bare manifest array (a *-weights_manifest.json file without a topology). */
int tj_load_manifest(imp *I, const fr_json *man, const char *weights_path);
/* Builds the face-api face-recognition ResNet (src/import/faceres.c) from a weights manifest
 * that has no topology: `man` is the document's top-level array.  Fills I->m's graph and meta. */
int tj_import_faceres(imp *I, const fr_json *man, const char *weights_path);

/* "<layer>/<suffix>" (or "<scope>/<layer>/<suffix>") with its shape checked against want. */
const wt *tj_get_weight(imp *I, const char *layer, const char *suffix, int nd, const int64_t *want);

#endif
