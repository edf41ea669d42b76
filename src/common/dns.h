/* The little of DNS (RFC 1035) the machines' resolver proxy needs: a query's question,
 * the IPv4 addresses of an answer, an error answer, and domain patterns. Every parser
 * here takes untrusted bytes and is fuzzed (tests/fuzz/fuzz_dns.c). Thread-safe. */
#ifndef NS_DNS_H
#define NS_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX       254 /* dotted, lowercase, no trailing dot, NUL included */
#define DNS_MSG_MAX        1232
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_REFUSED  5

struct dns_query {
        uint16_t id;
        char name[DNS_NAME_MAX]; /* lowercase, without the root's dot ("" for the root) */
        uint16_t qtype, qclass;
};

/* Parses a query (QR 0, opcode 0, exactly one question). 0 or -1. */
int dns_parse_query(const unsigned char *p, size_t n, struct dns_query *q);

/* The A records of an answer's answer section: up to max addresses (network order)
 * with their TTLs. Returns how many, or -1 when the message is malformed. */
int dns_answer_a(const unsigned char *p, size_t n, uint32_t *addrs, uint32_t *ttls, int max);

/* An answer to `query` (n bytes, parsed already) with no records and `rcode`, into out
 * (cap bytes). Returns its length, 0 when it does not fit. */
size_t dns_error_reply(const unsigned char *query, size_t n, unsigned rcode, unsigned char *out,
                       size_t cap);

/* True when name (lowercase) is covered by pattern: "example.com" covers it and its
 * subdomains, "*.example.com" only its subdomains. */
int dns_name_match(const char *name, const char *pattern);

/* True when s is a domain pattern a policy accepts: optional "*." then 2+ labels of
 * [a-z0-9-] (1..63 bytes, not starting or ending with '-'; the last not all digits, so
 * an IPv4 address is never a domain), at most 253 bytes. */
int dns_valid_pattern(const char *s);

#endif
