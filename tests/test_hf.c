/* test_hf.c — the pieces under `frtui import HF_DIR` (issue 16, item 5): the safetensors
 * reader (known values in F32/F16/BF16, metadata skipped, every malformed field refused with
 * the file named, non-finite weights refused), config.json defaults and refusals, and token-id
 * windows from .npy.  The whole import against an independent reference is tests/hf.t.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/dataio.h"
#include "frtui/hf.h"
#include "frtui/stread.h"

/* A safetensors file from a header text and data bytes, in memory. */
static uint8_t *st_file(const char *hdr, const void *data, size_t dn, size_t *n)
{
    const size_t h = strlen(hdr);
    *n = 8 + h + dn;
    uint8_t *b = fr_xmalloc(*n);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(b + 8, hdr, h);
    if (dn) memcpy(b + 8 + h, data, dn);
    return b;
}

static void test_stread_values(void)
{
    /* F32 {1.5, -2}; F16 {1.0 (0x3c00), -0.5 (0xb800)}; BF16 {3.0 (0x4040), 0.15625 (0x3e20)}; I64 {7} */
    uint8_t data[8 + 4 + 4 + 8];
    const float f[2] = {1.5f, -2.0f};
    memcpy(data, f, 8);
    const uint16_t h[4] = {0x3c00, 0xb800, 0x4040, 0x3e20};
    memcpy(data + 8, h, 8);
    const int64_t i7 = 7;
    memcpy(data + 16, &i7, 8);
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[8,12]},"
                      "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]},"
                      "\"d\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[16,24]}}";
    size_t n;
    uint8_t *b = st_file(hdr, data, sizeof data, &n);
    fr_st_file s;
    fr_err e;
    FR_ASSERT(fr_st_open_mem(b, n, "v.safetensors", &s, &e) == FR_OK);
    FR_CHECK(s.n == 4 && !fr_st_find(&s, "__metadata__"));
    float out[2];
    const fr_st_entry *t = fr_st_find(&s, "a");
    FR_CHECK(t && fr_st_read_f32(&s, t, out, 2, &e) == FR_OK && out[0] == 1.5f && out[1] == -2.0f);
    t = fr_st_find(&s, "b");
    FR_CHECK(t && t->ndim == 2 && fr_st_read_f32(&s, t, out, 2, &e) == FR_OK && out[0] == 1.0f && out[1] == -0.5f);
    t = fr_st_find(&s, "c");
    FR_CHECK(t && fr_st_read_f32(&s, t, out, 2, &e) == FR_OK && out[0] == 3.0f && out[1] == 0.15625f);
    t = fr_st_find(&s, "d");
    FR_CHECK(t && t->numel == 1 && fr_st_read_f32(&s, t, out, 1, &e) == FR_EINPUT && strstr(e.msg, "is I64") &&
             strstr(e.msg, "v.safetensors"));
    fr_st_close(&s);
    free(b);
}

static void refused(const char *label, const char *hdr, const void *data, size_t dn, const char *want)
{
    size_t n;
    uint8_t *b = st_file(hdr, data, dn, &n);
    fr_st_file s;
    fr_err e;
    int rc = fr_st_open_mem(b, n, "bad.safetensors", &s, &e);
    if (rc == FR_OK) {   /* a fault that only reading finds */
        float out[8];
        rc = s.n ? fr_st_read_f32(&s, &s.t[0], out, s.t[0].numel <= 8 ? s.t[0].numel : 0, &e) : FR_OK;
        fr_st_close(&s);
    }
    FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "bad.safetensors") && strstr(e.msg, want), "%s: rc %d, '%s'", label, rc,
              rc ? e.msg : "");
    free(b);
}

static void test_stread_refusals(void)
{
    const uint32_t nan2[2] = {0x3f800000, 0x7fc00000};
    refused("NaN", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", nan2, 8, "non-finite value at element 1");
    refused("past the end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", nan2, 8, "do not hold");
    refused("size vs shape", "{\"w\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]}}", nan2, 8, "do not hold");
    refused("begin after end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", nan2, 8, "data_offsets");
    refused("unknown dtype", "{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", nan2, 8, "unknown dtype 'Q4'");
    refused("negative dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", nan2, 8, "bad or too large shape");
    refused("shape overflow", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", nan2, 8,
            "bad or too large shape");
    refused("not an object", "[1, 2]", NULL, 0, "not a safetensors file");
    refused("bad JSON", "{\"w\":", NULL, 0, "JSON");
    refused("header length", "", NULL, 0, "not a safetensors file");
    uint8_t bomb[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    fr_st_file s;
    fr_err e;
    FR_CHECK(fr_st_open_mem(bomb, sizeof bomb, "bomb.safetensors", &s, &e) == FR_EINPUT && strstr(e.msg, "header length"));
}

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    FR_ASSERT(f);
    fputs(text, f);
    fclose(f);
}

static void test_config(void)
{
    snprintf(dir, sizeof dir, "/tmp/frtui-hf-%ld", (long)getpid());
    mkdir(dir, 0700);
    write_file("config.json", "{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":96,\"num_hidden_layers\":3,"
                              "\"num_attention_heads\":4,\"head_dim\":16,\"vocab_size\":1000}");
    FR_CHECK(fr_hf_is_checkpoint(dir));
    fr_lm_arch a;
    int max_pos = -1;
    fr_err e;
    FR_CHECKF(fr_hf_config(dir, &a, &max_pos, &e) == FR_OK, "%s", e.msg);
    /* defaults: kv heads = heads, eps 1e-6, theta 10000, no max positions; head_dim = d / heads */
    FR_CHECK(a.d == 64 && a.ff == 96 && a.layers == 3 && a.heads == 4 && a.kv_heads == 4 && a.vocab == 1000 &&
             a.eps == 1e-6f && a.theta == 10000.0f && max_pos == 0 && a.head_dim == 0 && !a.qkv_bias);
    struct { const char *json, *want; } bad[] = {
        {"{\"model_type\":\"llama\",\"hidden_size\":64}", "\"intermediate_size\" is missing"},
        {"{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":96,\"num_hidden_layers\":3,\"num_attention_heads\":4,"
         "\"num_key_value_heads\":3,\"vocab_size\":10}", "not a multiple of 3 key/value heads"},
        {"{\"model_type\":\"llama\",\"hidden_size\":60,\"intermediate_size\":96,\"num_hidden_layers\":3,\"num_attention_heads\":8,"
         "\"vocab_size\":10}", "not a multiple of 8 heads"},
        {"{\"model_type\":\"llama\",\"hidden_act\":\"gelu\"}", "hidden_act \"gelu\""},
        {"{\"model_type\":\"llama\",\"hidden_size\":-4}", "\"hidden_size\" must be an integer"},
        {"{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":96,\"num_hidden_layers\":3,\"num_attention_heads\":4,"
         "\"vocab_size\":10,\"rms_norm_eps\":0}", "\"rms_norm_eps\" must be a positive number"},
        {"{\"model_type\":\"llama\",\"attention_bias\":true}", "attention_bias"},
        {"{\"hidden_size\":64}", "\"model_type\" is missing"},
        {"[]", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file("config.json", bad[i].json);
        int rc = fr_hf_config(dir, &a, &max_pos, &e);
        FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "config.json") && strstr(e.msg, bad[i].want), "case %zu: %s", i,
                  rc ? e.msg : "accepted");
    }
    char p[128];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    FR_CHECK(!fr_hf_is_checkpoint(dir));
    rmdir(dir);
}

static void write_npy(const char *path, const char *descr, int rows, int cols, const void *data, size_t esz)
{
    char h[128];
    int k = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", descr, rows, cols);
    while ((10 + k + 1) % 64) h[k++] = ' ';
    h[k++] = '\n';
    FILE *f = fopen(path, "wb");
    FR_ASSERT(f);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(k & 255, f);
    fputc(k >> 8, f);
    fwrite(h, 1, (size_t)k, f);
    fwrite(data, esz, (size_t)rows * cols, f);
    fclose(f);
}

static void test_token_ids(void)
{
    char p[64];
    snprintf(p, sizeof p, "/tmp/frtui-ids-%ld.npy", (long)getpid());
    const int64_t ids[6] = {0, 5, 999, 3, 2, 1};
    write_npy(p, "<i8", 2, 3, ids, 8);
    fr_dataset d;
    fr_err e;
    int T = 0;
    FR_CHECK(fr_lm_ids_read(p, 1000, &T, 0, &d, &e) == FR_OK && T == 3 && d.n == 2 && d.c == 3 && d.dtype == 1 &&
             d.f32[2] == 999.0f && d.f32[5] == 1.0f);
    fr_dataset_free(&d);
    T = 0;
    FR_CHECK(fr_lm_ids_read(p, 1000, &T, 1, &d, &e) == FR_OK && d.n == 1);
    fr_dataset_free(&d);
    T = 4;
    FR_CHECK(fr_lm_ids_read(p, 1000, &T, 0, &d, &e) == FR_EINPUT && strstr(e.msg, "windows of 3 tokens, the model reads 4"));
    T = 0;
    FR_CHECK(fr_lm_ids_read(p, 999, &T, 0, &d, &e) == FR_EINPUT && strstr(e.msg, "token id 999 at window 0, position 2"));
    const int32_t neg[2] = {1, -1};
    write_npy(p, "<i4", 1, 2, neg, 4);
    T = 0;
    FR_CHECK(fr_lm_ids_read(p, 10, &T, 0, &d, &e) == FR_EINPUT && strstr(e.msg, "token id -1"));
    const float fl[2] = {1, 2};
    write_npy(p, "<f4", 1, 2, fl, 4);
    FR_CHECK(fr_lm_ids_read(p, 10, &T, 0, &d, &e) == FR_EINPUT && strstr(e.msg, "must be integers"));
    unlink(p);
}

int main(void)
{
    FR_RUN(test_stread_values);
    FR_RUN(test_stread_refusals);
    FR_RUN(test_config);
    FR_RUN(test_token_ids);
    return FR_REPORT();
}
