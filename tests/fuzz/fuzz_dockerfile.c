/* libFuzzer target: the Dockerfile subset parser (templates are built from untrusted
 * Dockerfiles). Every parse either fails with a message or yields steps whose first is
 * a FROM. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/core/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err e = {0};
        json_t *args = json_pack("{s:s}", "A", "x");
        json_t *s = dockerfile_parse((const char *)data, size, args, &e);
        if (s) {
                const char *op = json_string_value(json_object_get(json_array_get(s, 0), "op"));
                if (!op || strcmp(op, "from") != 0 || json_array_size(s) > DOCKERFILE_MAX_STEPS)
                        __builtin_trap();
        } else if (!e.msg[0]) {
                __builtin_trap();
        }
        json_decref(s);
        json_decref(args);
        return 0;
}
