#include "auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "../common/util.h"
#include "app.h"
#include "http/query.h"

static int valid_secret(const char *s)
{
        size_t n = strlen(s);
        if (n < 16 || n >= KEY_TOKEN_MAX)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] > '~')
                        return 0;
        return 1;
}

int auth_create_key(struct store *st, const char *name, const char *secret, struct key_rec *out,
                    char token[KEY_TOKEN_MAX], struct err *e)
{
        memset(out, 0, sizeof(*out));
        if (secret) {
                if (!valid_secret(secret))
                        return err_set(e, EINVAL,
                                       "an API key must be 16 to 256 printable ASCII "
                                       "characters without spaces");
                snprintf(token, KEY_TOKEN_MAX, "%s", secret);
        } else {
                unsigned char raw[30];
                int r = rand_bytes(raw, sizeof(raw));
                if (r < 0)
                        return err_set(e, -r, "random key");
                memcpy(token, "ns_", 3);
                base64url_encode(raw, sizeof(raw), token + 3);
        }
        int r = rand_id("key_", 8, out->id, sizeof(out->id));
        if (r < 0)
                return err_set(e, -r, "key id");
        snprintf(out->name, sizeof(out->name), "%s", name);
        snprintf(out->prefix, sizeof(out->prefix), "%.10s", token);
        snprintf(out->role, sizeof(out->role), "admin");
        SHA256((const unsigned char *)token, strlen(token), out->hash);
        out->created_at = time_wall_ms();
        return store_key_insert(st, out, e);
}

static const char *presented_key(const struct http_req *req)
{
        const char *v = http_req_header(req, "Authorization");
        if (v) {
                if (strncasecmp(v, "Bearer ", 7) != 0)
                        return NULL;
                v += 7;
                while (*v == ' ')
                        v++;
                return v;
        }
        return http_req_header(req, "X-API-Key");
}

void auth_cache_clear(struct auth_cache *c)
{
        memset(c, 0, sizeof(*c));
}

static struct auth_cache_slot *cache_slot(struct auth_cache *c, const unsigned char hash[32])
{
        unsigned idx = ((unsigned)hash[0] << 8 | hash[1]) % AUTH_CACHE_SIZE;
        return &c->slots[idx];
}

void auth_sign(const unsigned char key[32], const char *method, const char *machine,
               const char *path, long long expires, char out[65])
{
        char msg[QUERY_VALUE_MAX + 256];
        int n = snprintf(msg, sizeof(msg), "v1\n%s\n%s\n%s\n%lld", method, machine, path, expires);
        unsigned char mac[32];
        unsigned int len = sizeof(mac);
        HMAC(EVP_sha256(), key, 32, (const unsigned char *)msg, (size_t)n, mac, &len);
        hex_encode(mac, sizeof(mac), out);
}

static enum ns_code check_signed(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct query_param q[] = {{.name = "path"},
                                  {.name = "mode"},
                                  {.name = "expires"},
                                  {.name = "signature"},
                                  {.name = "format"}};
        char msg[256];
        if (query_parse(ex->req->query, q, 5, msg, sizeof(msg)) < 0 || !q[0].present ||
            !q[2].present || !q[3].present || strlen(q[3].value) != 64)
                return NS_E_INVALID_SIGNATURE;
        char *end;
        long long expires = strtoll(q[2].value, &end, 10);
        if (*end || end == q[2].value)
                return NS_E_INVALID_SIGNATURE;
        char want[65];
        auth_sign(app->signing_key, ex->req->method, ex->match.params[0], q[0].value, expires,
                  want);
        if (CRYPTO_memcmp(want, q[3].value, 64) != 0)
                return NS_E_INVALID_SIGNATURE;
        if (expires * 1000 < time_wall_ms())
                return NS_E_URL_EXPIRED;
        snprintf(ex->key_id, sizeof(ex->key_id), "signed-url");
        return NS_OK;
}

void auth_volume_token(const unsigned char key[32], const char *volume_id, char out[65])
{
        auth_sign(key, "VOLUME", volume_id, "token", 0, out);
}

/* Whether key is the token of the route's volume ({id}, its ID). */
static int volume_token_ok(struct http_exchange *ex, const char *key)
{
        struct app *app = ex->app;
        char want[65];
        if (!(ex->match.route->flags & ROUTE_VOLUME_TOKEN) || !key || strlen(key) != 64)
                return 0;
        auth_volume_token(app->signing_key, ex->match.params[0], want);
        return CRYPTO_memcmp(want, key, 64) == 0;
}

enum ns_code auth_authenticate(struct http_exchange *ex)
{
        struct app *app = ex->app;
        const char *key = presented_key(ex->req);
        if (volume_token_ok(ex, key)) {
                snprintf(ex->key_id, sizeof(ex->key_id), "volume-token");
                return NS_OK;
        }
        if ((!key || !*key) && (ex->match.route->flags & ROUTE_SIGNED) &&
            strstr(ex->req->query, "signature="))
                return check_signed(ex);
        if (!key || !*key || strlen(key) >= KEY_TOKEN_MAX)
                return NS_E_UNAUTHORIZED;
        unsigned char hash[32];
        SHA256((const unsigned char *)key, strlen(key), hash);
        struct auth_cache_slot *slot = cache_slot(&app->auth_cache, hash);
        if (slot->used && CRYPTO_memcmp(slot->hash, hash, sizeof(hash)) == 0) {
                snprintf(ex->key_id, sizeof(ex->key_id), "%s", slot->key_id);
                return NS_OK;
        }
        struct key_rec rec;
        struct err e = {0};
        int r = store_key_find_active(app->core.store, hash, &rec, &e);
        if (r == -ENOENT)
                return NS_E_UNAUTHORIZED;
        if (r < 0) {
                char q[600];
                log_error("auth_store_failed", "request_id=%s error=%s", ex->request_id,
                          log_quote(q, sizeof(q), e.msg));
                return NS_E_INTERNAL;
        }
        if (CRYPTO_memcmp(hash, rec.hash, sizeof(hash)) != 0)
                return NS_E_UNAUTHORIZED;
        snprintf(ex->key_id, sizeof(ex->key_id), "%s", rec.id);
        memcpy(slot->hash, hash, sizeof(hash));
        snprintf(slot->key_id, sizeof(slot->key_id), "%s", rec.id);
        slot->used = 1;
        return NS_OK;
}
