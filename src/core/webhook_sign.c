/* Webhook secrets, signatures (Standard Webhooks v1) and the target rule. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook_sign.h"
#include "../common/errcodes.h"
#include "../common/util.h"
#include "../store/store.h"

int webhook_secret_new(char *out, size_t cap)
{
        unsigned char raw[32];
        char b64[48];
        if (cap < 64 || rand_bytes(raw, sizeof(raw)) < 0)
                return -EIO;
        base64_encode(raw, sizeof(raw), b64);
        snprintf(out, cap, WEBHOOK_SECRET_PREFIX "%s", b64);
        return 0;
}

int webhook_sign(const char *secret, const char *msg_id, int64_t ts, const char *body, size_t len,
                 char *out)
{
        size_t plen = strlen(WEBHOOK_SECRET_PREFIX);
        if (strncmp(secret, WEBHOOK_SECRET_PREFIX, plen) != 0)
                return -EINVAL;
        unsigned char key[64];
        const char *k = secret + plen;
        ssize_t klen = base64_decode(k, strlen(k), key, sizeof(key));
        if (klen <= 0)
                return -EINVAL;
        char head[96];
        int hn = snprintf(head, sizeof(head), "%s.%lld.", msg_id, (long long)ts);
        unsigned char *msg = malloc((size_t)hn + len + 1);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, head, (size_t)hn);
        memcpy(msg + hn, body, len);
        unsigned char mac[32];
        unsigned int mlen = 0;
        int ok = HMAC(EVP_sha256(), key, (int)klen, msg, (size_t)hn + len, mac, &mlen) != NULL;
        free(msg);
        if (!ok || mlen != sizeof(mac))
                return -EIO;
        memcpy(out, "v1,", 3);
        base64_encode(mac, sizeof(mac), out + 3);
        return 0;
}

static int v4_private(uint32_t a)
{
        return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 24) == 0 ||
               (a & 0xfff00000u) == 0xac100000u || (a & 0xffff0000u) == 0xc0a80000u ||
               (a & 0xffff0000u) == 0xa9fe0000u || (a & 0xffc00000u) == 0x64400000u ||
               (a >> 28) >= 14; /* multicast and reserved */
}

int webhook_addr_private(const struct sockaddr *addr)
{
        if (addr->sa_family == AF_INET)
                return v4_private(ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr));
        if (addr->sa_family != AF_INET6)
                return 1;
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
                uint32_t v4;
                memcpy(&v4, &a->s6_addr[12], 4);
                return v4_private(ntohl(v4));
        }
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
               IN6_IS_ADDR_SITELOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
               (a->s6_addr[0] & 0xfe) == 0xfc;
}

/* The host part of url after the scheme ("" when none); [v6] brackets kept off. */
static int url_host(const char *rest, char *host, size_t cap)
{
        size_t n = strcspn(rest, "/?#");
        if (memchr(rest, '@', n))
                return -1;
        const char *end = rest + n;
        if (*rest == '[') {
                const char *close = memchr(rest, ']', n);
                if (!close)
                        return -1;
                rest++;
                end = close;
        } else {
                const char *colon = memchr(rest, ':', n);
                if (colon)
                        end = colon;
        }
        size_t hl = (size_t)(end - rest);
        if (hl == 0 || hl >= cap)
                return -1;
        memcpy(host, rest, hl);
        host[hl] = '\0';
        return 0;
}

int webhook_url_check(const char *url, int allow_private, struct err *e)
{
        const char *rest = NULL;
        if (strncmp(url, "https://", 8) == 0)
                rest = url + 8;
        else if (strncmp(url, "http://", 7) == 0)
                rest = url + 7;
        char host[256];
        if (!rest || strlen(url) >= WEBHOOK_URL_MAX || strpbrk(url, " \t\r\n") ||
            url_host(rest, host, sizeof(host)) < 0)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'url': an http:// or https:// URL with a host and no user "
                                 "info, at most %d bytes",
                                 WEBHOOK_URL_MAX - 1);
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
        struct sockaddr_in a4 = {.sin_family = AF_INET};
        const struct sockaddr *lit = NULL;
        if (inet_pton(AF_INET, host, &a4.sin_addr) == 1)
                lit = (const struct sockaddr *)&a4;
        else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1)
                lit = (const struct sockaddr *)&a6;
        if (!allow_private &&
            (strcmp(host, "localhost") == 0 || (lit && webhook_addr_private(lit))))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'url': %s is a loopback, link-local or private address; "
                                 "the daemon refuses such targets unless started with "
                                 "--webhook-allow-private",
                                 host);
        return 0;
}
