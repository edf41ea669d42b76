/* What a webhook delivery needs besides sending: its secret, its Standard Webhooks
 * signature, and the rule on which targets it may reach. Pure functions; any thread. */
#ifndef NS_CORE_WEBHOOK_SIGN_H
#define NS_CORE_WEBHOOK_SIGN_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/err.h"

#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_SIG_MAX       64 /* "v1," + base64 of 32 bytes + NUL */

/* A new secret: "whsec_" + base64 of 32 random bytes (out: at least 64 bytes). 0 or -EIO. */
int webhook_secret_new(char *out, size_t cap);

/* The signature header's value for (msg_id, ts, body): "v1," + base64 of
 * HMAC-SHA256(key, "msg_id.ts.body"), the key being the secret's base64 part decoded.
 * out has WEBHOOK_SIG_MAX bytes. 0, or -EINVAL when the secret is malformed. */
int webhook_sign(const char *secret, const char *msg_id, int64_t ts, const char *body, size_t len,
                 char *out);

/* Whether addr is loopback, link-local, private (RFC 1918, ULA), carrier-grade NAT,
 * unspecified or multicast: targets refused unless the daemon allows them. */
int webhook_addr_private(const struct sockaddr *addr);

/* Checks a target URL: http or https, a host, at most WEBHOOK_URL_MAX bytes, no user
 * info; a literal private address is refused unless allow_private. 0, or -EINVAL with
 * e (code invalid_field) saying why. */
int webhook_url_check(const char *url, int allow_private, struct err *e);

#endif
