/* libFuzzer target: the DNS parsers of the machines' resolver proxy (queries from
 * machines, answers from upstream) and the error answer built from a query. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/common/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dns_query q;
        if (dns_parse_query(data, size, &q) == 0) {
                size_t len = strlen(q.name);
                if (len >= DNS_NAME_MAX)
                        __builtin_trap();
                unsigned char out[DNS_MSG_MAX];
                size_t n = dns_error_reply(data, size, DNS_RCODE_REFUSED, out, sizeof(out));
                if (n > sizeof(out) || (n && dns_parse_query(out, n, &q) != -1 && !(out[2] & 0x80)))
                        __builtin_trap();
                (void)dns_valid_pattern(q.name);
                (void)dns_name_match(q.name, "example.com");
        }
        uint32_t a[8], t[8];
        int got = dns_answer_a(data, size, a, t, 8);
        if (got > 8)
                __builtin_trap();
        return 0;
}
