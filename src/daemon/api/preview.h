/* Preview URLs: a machine's port reached through the daemon's proxy, by host
 * (http://PORT-MACHINE-TOKEN.DOMAIN/...), by path (/preview/MACHINE/PORT/TOKEN/...) or,
 * behind the user's own proxy, by header (X-Nullspace-Preview-Token: PORT-MACHINE-TOKEN).
 * MACHINE is the machine ID's hex part. Loop thread only unless said. */
#ifndef NS_API_PREVIEW_H
#define NS_API_PREVIEW_H

#include <stdint.h>

#include "../../common/errcodes.h"

#define PREVIEW_TOKEN_LEN 31

struct preview_target {
        char id[40];
        unsigned port;
        char token[PREVIEW_TOKEN_LEN + 1]; /* "" when the URL has none */
};

/* A token for (id, port) valid until exp (seconds since the epoch). Thread-safe. */
void preview_token_make(const unsigned char key[32], const char *id, unsigned port, uint32_t exp,
                        char out[PREVIEW_TOKEN_LEN + 1]);

/* NS_OK, NS_E_PREVIEW_TOKEN_INVALID (malformed, forged, other machine or port) or
 * NS_E_PREVIEW_TOKEN_EXPIRED. Constant-time compare. Thread-safe. */
enum ns_code preview_token_check(const unsigned char key[32], const char *id, unsigned port,
                                 const char *token, int64_t now_s);

/* Parses a host label "PORT-HEX16[-TOKEN]" of len bytes. 0 or -1. Thread-safe. */
int preview_parse_label(const char *label, size_t len, struct preview_target *t);

#endif
