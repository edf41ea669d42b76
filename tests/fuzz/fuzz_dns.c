/* libFuzzer target: the parsers of the machines' egress filters: DNS (queries from
 * machines, answers from upstream, the error answer built from a query) and the TLS
 * ClientHello's server name. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/common/dns.h"
#include "../../src/common/tls.h"

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
        char sni[DNS_NAME_MAX];
        int got_sni = tls_hello_sni(data, size, sni, sizeof(sni));
        if (got_sni == 1 && strlen(sni) >= sizeof(sni))
                __builtin_trap();
        uint32_t a[8], t[8];
        int got = dns_answer_a(data, size, a, t, 8);
        if (got > 8)
                __builtin_trap();
        return 0;
}
