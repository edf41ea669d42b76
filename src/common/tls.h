/* The server name (SNI) of a TLS ClientHello, for the machines' egress filter. Parses
 * untrusted bytes (fuzzed: tests/fuzz/fuzz_dns.c feeds it too). Thread-safe. */
#ifndef NS_TLS_H
#define NS_TLS_H

#include <stddef.h>

#define TLS_HELLO_MAX 16389 /* one TLS record: 5-byte header + 16 KiB */

/* Reads the host_name of the ClientHello starting at p (the first bytes a client sends)
 * into out (lowercase, NUL-terminated). Returns 1 when found, 0 when the hello is whole
 * and names none, -2 when more bytes are needed, -1 when this is not a ClientHello. */
int tls_hello_sni(const unsigned char *p, size_t n, char *out, size_t cap);

#endif
