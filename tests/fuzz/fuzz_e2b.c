/* libFuzzer target: what E2B's envd takes from the wire. The input's first line is a
 * header value, the rest a body; its first byte picks the parser: process.Process/Start
 * (the Authorization header and a Connect-enveloped JSON request, into our agent's exec
 * request), a multipart/form-data upload (the Content-Type and the body, into parts
 * and their paths), or a gzip-encoded octet-stream upload (the body decoded within a
 * bound). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/gunzip.h"
#include "../../src/daemon/api/e2b.h"

static void start(const char *hdr, const uint8_t *body, size_t n)
{
        const char *code = NULL, *why = NULL;
        json_t *req = e2b_start_parse(body, n, hdr, &code, &why);
        if (!req) {
                if (!code || !why)
                        __builtin_trap();
                return;
        }
        json_t *argv = json_object_get(req, "argv");
        /* a request always names a program, and no environment name holds '=' */
        if (!json_is_array(argv) || json_array_size(argv) < 1 ||
            !json_string_length(json_array_get(argv, 0)))
                __builtin_trap();
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(req, "env"), k, v) if (strchr(k, '=')) __builtin_trap();
        json_decref(req);
}

static void multipart(const char *hdr, const uint8_t *body, size_t n)
{
        struct e2b_part parts[8];
        size_t np = 0;
        const char *why = NULL;
        if (e2b_multipart_parse(hdr, body, n, parts, 8, &np, &why) < 0) {
                if (!why)
                        __builtin_trap();
                return;
        }
        for (size_t i = 0; i < np; i++) { /* every part lies inside the body */
                const struct e2b_part *p = &parts[i];
                if (p->data < body || p->data + p->len > body + n || !p->name)
                        __builtin_trap();
                char path[256];
                if (p->filename &&
                    e2b_form_filename(p->filename, p->filename_len, path, sizeof(path)) == 0 &&
                    (!path[0] || strlen(path) >= sizeof(path)))
                        __builtin_trap();
        }
}

static void gzip_body(const uint8_t *body, size_t n)
{
        unsigned char *out = NULL;
        size_t len = 0;
        const char *why = NULL;
        if (gunzip_bounded(body, n, 1u << 16, &out, &len, &why) < 0) {
                if (!why || out)
                        __builtin_trap();
                return;
        }
        if (len > (1u << 16) || (len && !out))
                __builtin_trap();
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        int which = data[0] % 3;
        data++, size--;
        const uint8_t *nl = memchr(data, '\n', size);
        size_t hlen = nl ? (size_t)(nl - data) : 0;
        char *hdr = malloc(hlen + 1);
        if (!hdr)
                return 0;
        memcpy(hdr, data, hlen);
        hdr[hlen] = '\0';
        const uint8_t *body = nl ? nl + 1 : data;
        size_t blen = nl ? size - hlen - 1 : size;
        /* a copy of exactly blen bytes: reads past the body are caught */
        uint8_t *copy = malloc(blen ? blen : 1);
        if (copy) {
                memcpy(copy, body, blen);
                if (which == 1)
                        multipart(nl ? hdr : NULL, copy, blen);
                else if (which == 2)
                        gzip_body(copy, blen);
                else
                        start(nl ? hdr : NULL, copy, blen);
                free(copy);
        }
        free(hdr);
        return 0;
}
