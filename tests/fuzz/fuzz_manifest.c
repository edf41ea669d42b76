/* libFuzzer target: nullspace.toml (cli/manifest.c) and cron schedules (core/cron.c),
 * both read from files users write. A parse either fails with a message or yields an
 * object; a schedule that parses has a next firing or none, never a time in the past. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/cli/manifest.h"
#include "../../src/core/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[256] = "";
        json_t *m = manifest_parse((const char *)data, size, err, sizeof(err));
        if (!m && !err[0])
                __builtin_trap();
        if (m && !json_is_object(m))
                __builtin_trap();
        json_decref(m);
        char expr[CRON_MAX + 2];
        size_t n = size < sizeof(expr) - 1 ? size : sizeof(expr) - 1;
        memcpy(expr, data, n);
        expr[n] = '\0';
        struct cron c;
        struct err e = {0};
        if (cron_parse(expr, &c, &e) == 0) {
                int64_t t = 1796565000000;
                int64_t nx = cron_next(&c, t);
                if (nx != -1 && nx <= t)
                        __builtin_trap();
        } else if (!e.msg[0]) {
                __builtin_trap();
        }
        return 0;
}
