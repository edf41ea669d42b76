/* libFuzzer target: strict JSON request decoding over every field type. */
#include <stddef.h>
#include <stdint.h>

#include "../../src/common/jsonv.h"

struct req {
        char *s;
        int64_t i;
        int b;
        struct jv_strmap m;
        struct jv_strlist l;
};

static const struct jv_field fields[] = {
    {"template", JV_STRING, JV_REQUIRED, offsetof(struct req, s), 64, 0, 0},
    {"vcpus", JV_INT, 0, offsetof(struct req, i), 0, 1, 64},
    {"auto", JV_BOOL, 0, offsetof(struct req, b), 0, 0, 0},
    {"env", JV_STRMAP, 0, offsetof(struct req, m), 16, 0, 0},
    {"argv", JV_STRLIST, 0, offsetof(struct req, l), 16, 0, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct req r = {0};
        struct jv_error e;
        uint64_t present;
        if (jv_decode((const char *)data, size, fields, 5, &r, &present, &e) == 0)
                jv_free(fields, 5, &r);
        else if (r.s || r.m.keys || r.l.items)
                __builtin_trap(); /* a failed decode must leave nothing allocated */
        return 0;
}
