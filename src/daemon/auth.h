/* API keys: creation (secret shown once, stored as SHA-256) and request
 * authentication with a constant-time comparison. Loop thread only. */
#ifndef NS_AUTH_H
#define NS_AUTH_H

#include "../common/err.h"
#include "../store/store.h"
#include "http/server.h"

#define KEY_TOKEN_MAX   257 /* longest secret accepted, plus NUL */
#define AUTH_CACHE_SIZE 256 /* direct-mapped slots */

/* Recently authenticated keys, so a request needs no database read to be
 * authenticated. Only this daemon changes keys, and every revoke empties the cache,
 * so an entry is never stale. */
struct auth_cache {
        struct auth_cache_slot {
                unsigned char hash[32];
                char key_id[KEY_ID_MAX];
                int used;
        } slots[AUTH_CACHE_SIZE];
};

/* Empties the cache (after any revoke). */
void auth_cache_clear(struct auth_cache *c);

/* Creates and stores a key named `name`. With `secret` NULL a random one is generated
 * ("ns_" + 40 base64url chars); otherwise `secret` is used as given (validated: 16 to
 * 256 printable ASCII bytes, no spaces). Fills *out and token (the secret, to show
 * once). Returns 0, -EINVAL for a bad secret, or a store error. */
int auth_create_key(struct store *st, const char *name, const char *secret, struct key_rec *out,
                    char token[KEY_TOKEN_MAX], struct err *e);

/* The token that opens one volume's files (routes marked ROUTE_VOLUME_TOKEN) in place
 * of an API key: auth_sign over the volume ID. out: 64 hex digits and a NUL. Thread-safe. */
void auth_volume_token(const unsigned char key[32], const char *volume_id, char out[65]);

/* Signs a file URL: hex HMAC-SHA256 of "v1\nMETHOD\nMACHINE\nPATH\nEXPIRES" under the
 * daemon's signing key. out gets 64 hex digits and a NUL. */
void auth_sign(const unsigned char key[32], const char *method, const char *machine,
               const char *path, long long expires, char out[65]);

/* http_app.authenticate: reads `Authorization: Bearer KEY` or `X-API-Key: KEY`; on
 * routes marked ROUTE_SIGNED a request without a key may carry ?expires=&signature=
 * (see auth_sign) instead: invalid_signature or url_expired when they do not hold. */
enum ns_code auth_authenticate(struct http_exchange *ex);

#endif
