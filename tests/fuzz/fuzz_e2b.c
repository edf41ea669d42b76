/* libFuzzer target: what E2B's envd takes from the wire for process.Process/Start — the
 * Authorization header (its first line) and the Connect-enveloped JSON request (the
 * rest) — into our agent's exec request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/daemon/api/e2b.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nl = memchr(data, '\n', size);
        size_t alen = nl ? (size_t)(nl - data) : 0;
        char *auth = malloc(alen + 1);
        if (!auth)
                return 0;
        memcpy(auth, data, alen);
        auth[alen] = '\0';
        const uint8_t *body = nl ? nl + 1 : data;
        size_t blen = nl ? size - alen - 1 : size;
        const char *code = NULL, *why = NULL;
        json_t *req = e2b_start_parse(body, blen, nl ? auth : NULL, &code, &why);
        if (req) {
                json_t *argv = json_object_get(req, "argv");
                /* a request always names a program, and no environment name holds '=' */
                if (!json_is_array(argv) || json_array_size(argv) < 1 ||
                    !json_string_length(json_array_get(argv, 0)))
                        __builtin_trap();
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(req, "env"), k, v) if (strchr(k, '='))
                    __builtin_trap();
                json_decref(req);
        } else if (!code || !why) {
                __builtin_trap();
        }
        free(auth);
        return 0;
}
