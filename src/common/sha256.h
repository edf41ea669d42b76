/* SHA-256 (FIPS 180-4) without a library, for the agent (a static binary that links no
 * crypto library): resumable uploads are verified where their bytes are. Any thread
 * (the state is the caller's). */
#ifndef NS_SHA256_H
#define NS_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
        uint32_t h[8];
        uint64_t len; /* bytes hashed so far */
        unsigned char buf[64];
        size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);

/* The digest as 64 lowercase hex digits and a NUL into hex; s is spent. */
void sha256_final_hex(struct sha256 *s, char hex[65]);

#endif
