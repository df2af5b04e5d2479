/* fuzz_json.c — libFuzzer harness for the JSON parser under the tfjs importer (src/json.c):
 * depth, node and input limits, strings, numbers, duplicate keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_json_doc *d = NULL;
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_json_parse((const char *)data, size, "fuzz.json", &d, &e);
    if (rc == FR_OK) fr_json_free(d);
    else if (!strstr(e.msg, "fuzz.json")) {
        fprintf(stderr, "error without a message naming the input: rc %d '%s'\n", rc, e.msg);
        __builtin_trap();
    }
    return 0;
}
