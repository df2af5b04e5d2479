/* json.h — a small strict JSON (RFC 8259) parser producing a read-only tree.
 *
 * Design note
 *   Used for untrusted files (tfjs model.json), so it is fuzzed: every byte access is bounds
 *   checked against the input length (the input need not be NUL-terminated), nesting depth,
 *   node count and string length are limited, and nothing recurses deeper than FR_JSON_MAX_DEPTH.
 *   Strict means: no comments, no trailing commas, no leading zeros, no NaN/Infinity, no
 *   control characters or invalid UTF-8 in strings, no "\u0000" (strings become C strings), no
 *   duplicate object keys, nothing but whitespace after the top-level value.
 *
 *   Ownership: the document owns every node and string (one arena); fr_json_free releases all.
 *   Nodes are immutable after parsing, so a document may be read from several threads.
 *   Arrays and objects keep their items in document order (O(1) indexing); objects also keep a
 *   key-sorted index, so fr_json_get is O(log n) and duplicate detection is O(n log n).
 */
#ifndef FRTUI_JSON_H
#define FRTUI_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"

#define FR_JSON_MAX_DEPTH 64                 /* nesting of arrays/objects */
#define FR_JSON_MAX_NODES (4u << 20)         /* values in one document */
#define FR_JSON_MAX_INPUT ((size_t)64 << 20) /* bytes */

typedef enum fr_json_type {
    FR_JSON_NULL = 0,
    FR_JSON_FALSE,
    FR_JSON_TRUE,
    FR_JSON_NUMBER,
    FR_JSON_STRING,
    FR_JSON_ARRAY,
    FR_JSON_OBJECT,
} fr_json_type;

typedef struct fr_json fr_json;
struct fr_json {
    fr_json_type type;
    uint32_t n;            /* items of an array/object; bytes of a string (without the NUL) */
    double num;            /* FR_JSON_NUMBER: finite value */
    const char *s;         /* FR_JSON_STRING: NUL-terminated UTF-8 */
    const char *key;       /* key when this value is an object member, else NULL */
    const fr_json **items; /* array/object items in document order */
    const fr_json **sorted;/* object items sorted by key (strcmp) */
};

typedef struct fr_json_doc fr_json_doc;

/* Parses buf[0..n).  `src` names the input in error messages ("SRC: JSON line L col C: ...").
 * On success *out holds the document (free with fr_json_free).  Returns FR_EINPUT on syntax
 * or limit errors, FR_ENOMEM when the document would exceed the limits above. */
int fr_json_parse(const char *buf, size_t n, const char *src, fr_json_doc **out, fr_err *e);
/* Reads the file at `path` (at most FR_JSON_MAX_INPUT bytes: more could not parse anyway) and
 * parses it as fr_json_parse does, naming it by its path.  On failure *out is NULL and the code
 * is returned; e may be NULL where "a document or none" is all the caller needs. */
int fr_json_load_file(const char *path, fr_json_doc **out, fr_err *e);
void fr_json_free(fr_json_doc *d);
const fr_json *fr_json_root(const fr_json_doc *d);

/* NULL when obj is NULL, not an object, or has no such key. */
const fr_json *fr_json_get(const fr_json *obj, const char *key);
/* NULL when arr is NULL, not an array, or i is out of range. */
const fr_json *fr_json_at(const fr_json *arr, size_t i);
/* Item count of an array/object, 0 for anything else (including NULL). */
size_t fr_json_len(const fr_json *v);
/* String value, or NULL when v is not a string. */
const char *fr_json_str(const fr_json *v);
/* Returns 1 and sets *out when v is a number (or, for fr_json_int, an integral number within
 * [lo, hi]); returns 0 otherwise and leaves *out untouched. */
int fr_json_num(const fr_json *v, double *out);
int fr_json_int(const fr_json *v, int64_t lo, int64_t hi, int64_t *out);
/* 1 for true, 0 for false, -1 for anything else. */
int fr_json_bool(const fr_json *v);

#endif
