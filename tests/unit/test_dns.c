/* DNS messages and domain patterns of the machines' resolver proxy. */
#include <arpa/inet.h>
#include <string.h>

#include "../../src/common/dns.h"
#include "tap.h"

/* id 0x1234, RD, one question: Www.Example.COM A IN */
static const unsigned char QUERY[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                                      0,    3,    'W',  'w',  'w', 7,   'E', 'x', 'a', 'm', 'p',
                                      'l',  'e',  3,    'C',  'O', 'M', 0,   0,   1,   0,   1};

/* its answer: a CNAME to cdn.example.com (compressed), then two A records */
static const unsigned char ANSWER[] = {
    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p',
    'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
    /* www.example.com CNAME cdn.example.com */
    0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'c', 'd', 'n', 0xC0, 16,
    /* cdn.example.com A 192.0.2.7 ttl 300 */
    0xC0, 45, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 7,
    /* A 192.0.2.8 ttl 30 */
    0xC0, 45, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 8};

static void test_query(void)
{
        struct dns_query q;
        is_int(dns_parse_query(QUERY, sizeof(QUERY), &q), 0, "a query parses");
        ok(q.id == 0x1234 && q.qtype == 1 && q.qclass == 1, "... id, type and class");
        is_str(q.name, "www.example.com", "... the name, lowercase");
        is_int(dns_parse_query(QUERY, 20, &q), -1, "a cut query is refused");
        is_int(dns_parse_query(ANSWER, sizeof(ANSWER), &q), -1, "an answer is not a query");
        unsigned char loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
        is_int(dns_parse_query(loop, sizeof(loop), &q), -1, "a pointer loop is refused");
        unsigned char out[64];
        size_t n = dns_error_reply(QUERY, sizeof(QUERY), DNS_RCODE_REFUSED, out, sizeof(out));
        is_int((int)n, (int)sizeof(QUERY), "an error answer repeats the question");
        ok(out[0] == 0x12 && out[1] == 0x34 && (out[2] & 0x81) == 0x81 && (out[3] & 15) == 5,
           "... with the id, QR, RD and REFUSED");
        ok(out[7] == 0 && out[5] == 1, "... and no answers");
        is_int((int)dns_error_reply(QUERY, sizeof(QUERY), 5, out, 10), 0, "... or nothing");
}

static void test_answer(void)
{
        uint32_t a[4], t[4];
        is_int(dns_answer_a(ANSWER, sizeof(ANSWER), a, t, 4), 2, "two A records after a CNAME");
        char d[16];
        inet_ntop(AF_INET, &a[0], d, sizeof(d));
        is_str(d, "192.0.2.7", "... the first address");
        ok(t[0] == 300 && t[1] == 30, "... their TTLs");
        is_int(dns_answer_a(ANSWER, sizeof(ANSWER), a, t, 1), 1, "at most max addresses");
        is_int(dns_answer_a(ANSWER, sizeof(ANSWER) - 3, a, t, 4), -1, "a cut answer is refused");
        is_int(dns_answer_a(QUERY, sizeof(QUERY), a, t, 4), -1, "a query is not an answer");
}

static void test_patterns(void)
{
        ok(dns_name_match("example.com", "example.com"), "a domain covers itself");
        ok(dns_name_match("a.b.example.com", "example.com"), "... and its subdomains");
        ok(!dns_name_match("badexample.com", "example.com"), "... not a longer name");
        ok(!dns_name_match("example.com", "*.example.com"), "*. covers subdomains only");
        ok(dns_name_match("x.example.com", "*.example.com"), "... which it does");
        static const char *const good[] = {"example.com", "*.example.com", "a-b.c0.io",
                                           "xn--bcher-kva.example"};
        for (unsigned i = 0; i < 4; i++)
                ok(dns_valid_pattern(good[i]), "valid pattern %s", good[i]);
        static const char *const bad[] = {
            "example", "Example.com", "-a.com",       "a-.com", "a..com",  "*.",
            "a.*.com", "10.0.0.1",    "example.com.", "",       "a b.com", "*example.com"};
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ok(!dns_valid_pattern(bad[i]), "invalid pattern '%s'", bad[i]);
}

int main(void)
{
        test_query();
        test_answer();
        test_patterns();
        return tap_done();
}
