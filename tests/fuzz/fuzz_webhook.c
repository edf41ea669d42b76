/* libFuzzer target: what webhooks take from users and the wire — a target URL (its
 * scheme, host and address checks), an event type filter, a secret given to the signer,
 * and a Prometheus label value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/prom.h"
#include "../../src/core/webhook_sign.h"
#include "../../src/core/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        struct err e = {0};
        int a = webhook_url_check(s, 0, &e), b = webhook_url_check(s, 1, &e);
        if (a == 0 && b != 0) /* allowing more never refuses what was allowed */
                __builtin_trap();
        if (event_filter_ok(s) && !strchr(s, '*') && !event_filter_matches(s, s))
                __builtin_trap(); /* a type matches itself */
        char sig[WEBHOOK_SIG_MAX];
        if (webhook_sign(s, "ev_1", 1, s, size, sig) == 0 &&
            (strncmp(sig, "v1,", 3) != 0 || strlen(sig) != 47))
                __builtin_trap();
        char label[64];
        prom_label(label, sizeof(label), "k", s);
        if (strlen(label) >= sizeof(label))
                __builtin_trap();
        free(s);
        return 0;
}
