/* Strict JSON request decoding: a table of fields describes the object a request
 * accepts; anything else (unknown fields, wrong types, out-of-range values, duplicate
 * keys, trailing bytes) is rejected with a stable code and a message naming the field. */
#ifndef NS_JSONV_H
#define NS_JSONV_H

#include <stddef.h>
#include <stdint.h>

#include "errcodes.h"

enum jv_type {
        JV_STRING,  /* out: char * (malloc'd, caller frees with jv_free) */
        JV_INT,     /* out: int64_t */
        JV_BOOL,    /* out: int (0/1) */
        JV_STRMAP,  /* out: struct jv_strmap (object of string values) */
        JV_STRLIST, /* out: struct jv_strlist (array of strings) */
        JV_OBJECT,  /* out: json_t * (a new reference; its contents are the caller's to check) */
        JV_ARRAY,   /* out: json_t * (a new reference, like JV_OBJECT) */
};

enum { JV_REQUIRED = 1u << 0 };

struct jv_field {
        const char *name;
        enum jv_type type;
        unsigned flags;
        size_t offset;   /* where the value goes in the output struct */
        size_t max;      /* JV_STRING: max bytes; JV_STRMAP/JV_STRLIST: max entries */
        int64_t min_int; /* JV_INT bounds (inclusive) */
        int64_t max_int;
};

struct jv_strmap {
        size_t n;
        char **keys;   /* owned */
        char **values; /* owned */
};

struct jv_strlist {
        size_t n;
        char **items; /* owned */
};

struct jv_error {
        enum ns_code code; /* NS_E_INVALID_JSON, NS_E_UNKNOWN_FIELD, NS_E_INVALID_FIELD, ... */
        char msg[256];
};

/* Longest string value accepted inside a map or list. */
#define JV_MAX_ITEM_LEN 4096

/* Decodes the JSON object in data[0..len) into `out` according to `fields`.
 * An empty body counts as `{}`. Each present field sets bit i of *present (may be NULL;
 * at most 64 fields). On failure returns -1, fills `e`, and leaves nothing allocated
 * in `out`. `out` must be zeroed by the caller. Thread-safe. */
int jv_decode(const char *data, size_t len, const struct jv_field *fields, size_t nfields,
              void *out, uint64_t *present, struct jv_error *e);

/* Frees what jv_decode allocated in `out` (safe on a zeroed struct). */
void jv_free(const struct jv_field *fields, size_t nfields, void *out);

/* A new JSON string holding the standard base64 of p[0..n) (binary-safe output in a
 * JSON document), or NULL when memory cannot be had. Thread-safe. */
struct json_t;
struct json_t *json_base64(const void *p, size_t n);

#endif
