/* fuzz_json.c — libFuzzer harness for the JSON parser under the tfjs importer (src/import/json.c):
 * depth, node and input limits, strings, numbers, duplicate keys. */
#include "frtui/json.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_json_doc *d = NULL;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_json_parse((const char *)data, size, "fuzz.json", &d, &e);
    fz_named(rc, &e, "fuzz.json", "json");
    if (rc == FR_OK) fr_json_free(d);
    return 0;
}
