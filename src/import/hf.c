/* hf.c — Hugging Face LLaMA-family import; contract in include/frtui/hf.h. */
#include "frtui/hf.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frtui/json.h"
#include "frtui/path.h"
#include "frtui/stread.h"

/* The checkpoint's folder (no trailing '/') and its config.json. */
static void paths(const char *path, char *dir, size_t nd, char *cfg, size_t nc)
{
    if (fr_path_is_dir(path)) {
        snprintf(dir, nd, "%s", path);
    } else {
        const char *sl = strrchr(path, '/');
        if (sl) snprintf(dir, nd, "%.*s", (int)(sl - path), path);
        else snprintf(dir, nd, ".");
        if (!dir[0]) snprintf(dir, nd, "/");
    }
    size_t L = strlen(dir);
    while (L > 1 && dir[L - 1] == '/') dir[--L] = 0;
    snprintf(cfg, nc, "%s/config.json", dir);
}

int fr_hf_is_checkpoint(const char *path)
{
    if (!fr_path_is_dir(path)) return fr_str_ends_with(path, "config.json") && (!strcmp(path, "config.json") || fr_str_ends_with(path, "/config.json"));
    char dir[PATH_MAX], cfg[PATH_MAX + 16];
    paths(path, dir, sizeof dir, cfg, sizeof cfg);
    struct stat st;
    return stat(cfg, &st) == 0 && S_ISREG(st.st_mode);
}

/* An integer field in [lo, hi]; `def` when absent and def >= 0, else required. */
static int get_int(const fr_json *c, const char *cfg, const char *key, int64_t lo, int64_t hi, int64_t def, int *out, fr_err *e)
{
    const fr_json *v = fr_json_get(c, key);
    int64_t x;
    if (!v || v->type == FR_JSON_NULL) {
        if (def < 0) return fr_err_set(e, FR_EINPUT, "%s: \"%s\" is missing", cfg, key);
        *out = (int)def;
        return FR_OK;
    }
    if (!fr_json_int(v, lo, hi, &x))
        return fr_err_set(e, FR_EINPUT, "%s: \"%s\" must be an integer in %lld..%lld", cfg, key, (long long)lo, (long long)hi);
    *out = (int)x;
    return FR_OK;
}

static int get_num(const fr_json *c, const char *cfg, const char *key, double def, float *out, fr_err *e)
{
    const fr_json *v = fr_json_get(c, key);
    double x;
    if (!v || v->type == FR_JSON_NULL) {
        *out = (float)def;
        return FR_OK;
    }
    if (!fr_json_num(v, &x) || !(x > 0) || !isfinite((float)x))
        return fr_err_set(e, FR_EINPUT, "%s: \"%s\" must be a positive number", cfg, key);
    *out = (float)x;
    return FR_OK;
}

static int parse_config(const fr_json *c, const char *cfg, fr_lm_arch *a, int *max_pos, int *tied, int *sliding, fr_err *e)
{
    memset(a, 0, sizeof *a);
    if (!c || c->type != FR_JSON_OBJECT) return fr_err_set(e, FR_EINPUT, "%s: not a JSON object", cfg);
    const char *mt = fr_json_str(fr_json_get(c, "model_type"));
    if (!mt) return fr_err_set(e, FR_EINPUT, "%s: \"model_type\" is missing", cfg);
    if (strcmp(mt, "llama") && strcmp(mt, "mistral") && strcmp(mt, "qwen2"))
        return fr_err_set(e, FR_EINPUT, "%s: model_type \"%.40s\" is not one frtui imports (llama, mistral, qwen2)", cfg, mt);
    const char *act = fr_json_str(fr_json_get(c, "hidden_act"));
    if (act && strcmp(act, "silu"))
        return fr_err_set(e, FR_EINPUT, "%s: hidden_act \"%.40s\" (the LLaMA graph's MLP is SwiGLU: silu)", cfg, act);
    const fr_json *rs = fr_json_get(c, "rope_scaling");
    if (rs && rs->type != FR_JSON_NULL)
        return fr_err_set(e, FR_EINPUT, "%s: rope_scaling is set (scaled RoPE, e.g. Llama 3.1's, is not supported)", cfg);
    if (fr_json_bool(fr_json_get(c, "mlp_bias")) == 1) return fr_err_set(e, FR_EINPUT, "%s: mlp_bias true is not supported", cfg);
    const int qwen = !strcmp(mt, "qwen2");
    if (!qwen && fr_json_bool(fr_json_get(c, "attention_bias")) == 1)
        return fr_err_set(e, FR_EINPUT, "%s: attention_bias true (a bias on o_proj) is not supported", cfg);
    const int64_t BIG = 1 << 20;
    int rc;
    if ((rc = get_int(c, cfg, "hidden_size", 2, BIG, -1, &a->d, e)) || (rc = get_int(c, cfg, "intermediate_size", 1, 4 * BIG, -1, &a->ff, e)) ||
        (rc = get_int(c, cfg, "num_hidden_layers", 1, 4096, -1, &a->layers, e)) ||
        (rc = get_int(c, cfg, "num_attention_heads", 1, 4096, -1, &a->heads, e)) ||
        (rc = get_int(c, cfg, "num_key_value_heads", 1, 4096, a->heads, &a->kv_heads, e)) ||
        (rc = get_int(c, cfg, "head_dim", 2, 65536, 0, &a->head_dim, e)) ||
        (rc = get_int(c, cfg, "vocab_size", 2, 1 << 24, -1, &a->vocab, e)) ||
        (rc = get_int(c, cfg, "max_position_embeddings", 1, INT32_MAX, 0, max_pos, e)) ||
        (rc = get_num(c, cfg, "rms_norm_eps", 1e-6, &a->eps, e)) || (rc = get_num(c, cfg, "rope_theta", 10000.0, &a->theta, e)))
        return rc;
    a->qkv_bias = qwen;
    *tied = fr_json_bool(fr_json_get(c, "tie_word_embeddings")) == 1;
    *sliding = 0;
    const fr_json *sw = fr_json_get(c, "sliding_window");
    int use_sw = qwen ? fr_json_bool(fr_json_get(c, "use_sliding_window")) == 1 : 1;
    int64_t w;
    if (use_sw && sw && sw->type != FR_JSON_NULL) {
        if (!fr_json_int(sw, 1, INT32_MAX, &w)) return fr_err_set(e, FR_EINPUT, "%s: \"sliding_window\" must be a positive integer", cfg);
        *sliding = (int)w;
    }
    if (a->heads % a->kv_heads)
        return fr_err_set(e, FR_EINPUT, "%s: %d attention heads are not a multiple of %d key/value heads", cfg, a->heads, a->kv_heads);
    if (!a->head_dim && a->d % a->heads)
        return fr_err_set(e, FR_EINPUT, "%s: hidden_size %d is not a multiple of %d heads (and no head_dim)", cfg, a->d, a->heads);
    if (a->head_dim && a->head_dim * a->heads == a->d) a->head_dim = 0;
    return FR_OK;
}

int fr_hf_config(const char *path, fr_lm_arch *a, int *max_pos, fr_err *e)
{
    char dir[PATH_MAX], cfg[PATH_MAX + 16];
    paths(path, dir, sizeof dir, cfg, sizeof cfg);
    fr_json_doc *doc;
    int rc = fr_json_load_file(cfg, &doc, e), tied, sliding;
    if (rc) return rc;
    rc = parse_config(fr_json_root(doc), cfg, a, max_pos, &tied, &sliding, e);
    fr_json_free(doc);
    return rc;
}

/* ---- weights ---------------------------------------------------------------------------------- */

typedef struct {
    char dir[PATH_MAX];
    const fr_json *map;       /* weight_map of the index, or NULL (one model.safetensors) */
    char index[PATH_MAX + 40];
    fr_st_file *files;
    char (*names)[256];
    int n_files;
    int dtypes[3];            /* tensors read per dtype */
} shards;

/* The open file holding HF tensor `name`, or NULL with e set. */
static fr_st_file *shard_of(shards *s, const char *name, fr_err *e)
{
    const char *file = "model.safetensors";
    if (s->map) {
        file = fr_json_str(fr_json_get(s->map, name));
        if (!file) {
            fr_err_set(e, FR_EINPUT, "%s: weight_map has no \"%s\"", s->index, name);
            return NULL;
        }
        if (!file[0] || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, "..") || strlen(file) >= 256) {
            fr_err_set(e, FR_EINPUT, "%s: shard \"%.100s\" is not a file name in the checkpoint's folder", s->index, file);
            return NULL;
        }
    }
    for (int i = 0; i < s->n_files; i++)
        if (!strcmp(s->names[i], file)) return &s->files[i];
    s->files = fr_xrealloc(s->files, (size_t)(s->n_files + 1) * sizeof *s->files);
    s->names = fr_xrealloc(s->names, (size_t)(s->n_files + 1) * sizeof *s->names);
    char p[PATH_MAX + 300];
    snprintf(p, sizeof p, "%s/%s", s->dir, file);
    if (fr_st_open(p, &s->files[s->n_files], e)) return NULL;
    snprintf(s->names[s->n_files], sizeof s->names[0], "%s", file);
    return &s->files[s->n_files++];
}

/* HF tensor `hf` into frtui tensor `fr` of the graph (same shape). */
static int load(shards *s, fr_graph *g, const char *hf, const char *fr, fr_err *e)
{
    int ti = fr_graph_find_tensor(g, fr);
    FR_ASSERT(ti >= 0);
    fr_tensor *T = &g->tensors[ti];
    fr_st_file *f = shard_of(s, hf, e);
    if (!f) return e->code;
    const fr_st_entry *t = fr_st_find(f, hf);
    if (!t) return fr_err_set(e, FR_EINPUT, "%s: no tensor \"%s\"", f->path, hf);
    int same = t->ndim == T->ndim;
    for (int d = 0; same && d < T->ndim; d++) same = t->shape[d] == T->dim[d];
    if (!same) {
        if (T->ndim == 2)
            return fr_err_set(e, FR_EINPUT, "%s: \"%s\" has shape %s[%lld, %lld], config.json makes it [%lld, %lld]", f->path, hf,
                              t->ndim == 2 ? "" : "of another rank ", (long long)t->shape[0],
                              (long long)(t->ndim > 1 ? t->shape[1] : 0), (long long)T->dim[0], (long long)T->dim[1]);
        return fr_err_set(e, FR_EINPUT, "%s: \"%s\" does not have the %lld values config.json implies", f->path, hf,
                          (long long)T->dim[0]);
    }
    if (t->dtype < FR_STR_OTHER) s->dtypes[t->dtype]++;
    return fr_st_read_f32(f, t, T->data, fr_tensor_numel(T), e);
}

static int load_all(shards *s, fr_model *m, const fr_lm_arch *a, int tied, fr_err *e)
{
    fr_graph *g = &m->g;
    char hf[160], fr[160];
    int rc = load(s, g, "model.embed_tokens.weight", "token_embd.weight", e);
    static const char *const att[][2] = {{"q_proj", "attn_q"}, {"k_proj", "attn_k"}, {"v_proj", "attn_v"}, {"o_proj", "attn_output"}};
    static const char *const mlp[][2] = {{"gate_proj", "ffn_gate"}, {"up_proj", "ffn_up"}, {"down_proj", "ffn_down"}};
    for (int i = 0; !rc && i < a->layers; i++) {
#define L(H, F) (snprintf(hf, sizeof hf, "model.layers.%d.%s", i, H), snprintf(fr, sizeof fr, "blk.%d.%s", i, F), load(s, g, hf, fr, e))
        rc = L("input_layernorm.weight", "attn_norm.weight");
        for (int k = 0; !rc && k < 4; k++) {
            char h2[64], f2[64];
            snprintf(h2, sizeof h2, "self_attn.%s.weight", att[k][0]);
            snprintf(f2, sizeof f2, "%s.weight", att[k][1]);
            rc = L(h2, f2);
            if (!rc && a->qkv_bias && k < 3) {
                snprintf(h2, sizeof h2, "self_attn.%s.bias", att[k][0]);
                snprintf(f2, sizeof f2, "%s.bias", att[k][1]);
                rc = L(h2, f2);
            }
        }
        if (!rc) rc = L("post_attention_layernorm.weight", "ffn_norm.weight");
        for (int k = 0; !rc && k < 3; k++) {
            char h2[64], f2[64];
            snprintf(h2, sizeof h2, "mlp.%s.weight", mlp[k][0]);
            snprintf(f2, sizeof f2, "%s.weight", mlp[k][1]);
            rc = L(h2, f2);
        }
#undef L
    }
    if (!rc) rc = load(s, g, "model.norm.weight", "output_norm.weight", e);
    if (rc) return rc;
    /* the head: lm_head.weight, or a copy of the embedding when tie_word_embeddings is true */
    if (!tied) return load(s, g, "lm_head.weight", "output.weight", e);
    const fr_tensor *E = &g->tensors[fr_graph_find_tensor(g, "token_embd.weight")];
    fr_tensor *H = &g->tensors[fr_graph_find_tensor(g, "output.weight")];
    memcpy(H->data, E->data, (size_t)fr_tensor_numel(E) * sizeof(float));
    return FR_OK;
}

int fr_hf_import(const char *path, int T, fr_model *m, fr_err *e)
{
    shards s;
    memset(&s, 0, sizeof s);
    char cfg[PATH_MAX + 16];
    paths(path, s.dir, sizeof s.dir, cfg, sizeof cfg);
    fr_json_doc *doc = NULL, *idx = NULL;
    fr_lm_arch a;
    int max_pos = 0, tied = 0, sliding = 0;
    int rc = fr_json_load_file(cfg, &doc, e);
    if (!rc) rc = parse_config(fr_json_root(doc), cfg, &a, &max_pos, &tied, &sliding, e);
    if (!rc && sliding && sliding < T)
        rc = fr_err_set(e, FR_EINPUT, "%s: sliding_window %d is shorter than the window of %d tokens", cfg, sliding, T);
    if (!rc && max_pos && T > max_pos)
        rc = fr_err_set(e, FR_EINPUT, "%s: a window of %d tokens is longer than max_position_embeddings %d", cfg, T, max_pos);
    a.T = T;
    if (!rc) {
        /* weights: one float per parameter, checked before the graph allocates them */
        const int64_t hd = fr_lm_head_dim(&a), per = (int64_t)a.d * (a.heads * hd + 2 * a.kv_heads * hd) + a.heads * hd * a.d +
                                                     3 * (int64_t)a.d * a.ff + 2 * a.d;
        const double params = (double)a.layers * (double)per + 2.0 * a.vocab * a.d + a.d;
        if (params * 4 > (double)FR_MAX_ALLOC * 64)
            rc = fr_err_set(e, FR_EINPUT, "%s: %.3g parameters are beyond what frtui holds", cfg, params);
        else
            rc = fr_mem_check(e, (size_t)(params * 4), "%s: %.3g parameters as float32", cfg, params);
    }
    if (!rc) {
        snprintf(s.index, sizeof s.index, "%s/model.safetensors.index.json", s.dir);
        struct stat st;
        if (stat(s.index, &st) == 0) {
            if (!(rc = fr_json_load_file(s.index, &idx, e))) {
                s.map = fr_json_get(fr_json_root(idx), "weight_map");
                if (!s.map || s.map->type != FR_JSON_OBJECT)
                    rc = fr_err_set(e, FR_EINPUT, "%s: no \"weight_map\" object", s.index);
            }
        }
    }
    if (!rc) rc = fr_llama_graph(m, &a, e);
    if (!rc) rc = load_all(&s, m, &a, tied, e);
    if (!rc) {
        const char *nm = fr_json_str(fr_json_get(fr_json_root(doc), "_name_or_path"));
        const char *base = strrchr(s.dir, '/');
        base = nm && *nm ? (strrchr(nm, '/') ? strrchr(nm, '/') + 1 : nm) : base ? base + 1 : s.dir;
        snprintf(m->meta.name, sizeof m->meta.name, "%.120s", base);
        snprintf(m->meta.provenance, sizeof m->meta.provenance,
                 "Hugging Face %s checkpoint %.300s (%d blocks, d %d, %d/%d heads, vocab %d; weights %s%s%s%s%s), window %d",
                 fr_json_str(fr_json_get(fr_json_root(doc), "model_type")), s.dir, a.layers, a.d, a.heads, a.kv_heads, a.vocab,
                 s.dtypes[0] ? "F32 " : "", s.dtypes[1] ? "F16 " : "", s.dtypes[2] ? "BF16 " : "",
                 tied ? "tied head" : "own head", a.qkv_bias ? ", q/k/v biases" : "", T);
    }
    for (int i = 0; i < s.n_files; i++) fr_st_close(&s.files[i]);
    free(s.files);
    free(s.names);
    fr_json_free(idx);
    fr_json_free(doc);
    return rc;
}
