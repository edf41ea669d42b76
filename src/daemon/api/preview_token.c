/* Preview and viewer tokens: base32 (lowercase, host-label safe) of the expiry (u32,
 * seconds since the epoch) and the first 15 bytes of HMAC-SHA256(daemon key,
 * "preview1\nID\nPORT\nEXP") or, for a desktop viewer, "viewer1\nID\nMODE\nEXP" (MODE
 * "view" or "control"). Stateless: a token names no machine itself; the URL around it
 * does, and the MAC ties the two together. Thread-safe. */
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "preview.h"

#define MAC_BYTES 15
#define RAW_BYTES (4 + MAC_BYTES)

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* kind: "preview1" or "viewer1"; what: the port or the viewer's mode */
static void mac_of(const unsigned char key[32], const char *kind, const char *id, const char *what,
                   uint32_t exp, unsigned char out[32])
{
        char msg[160];
        int n = snprintf(msg, sizeof(msg), "%s\n%s\n%s\n%u", kind, id, what, exp);
        unsigned int len = 32;
        HMAC(EVP_sha256(), key, 32, (const unsigned char *)msg, (size_t)n, out, &len);
}

static void token_make(const unsigned char key[32], const char *kind, const char *id,
                       const char *what, uint32_t exp, char out[PREVIEW_TOKEN_LEN + 1])
{
        unsigned char raw[RAW_BYTES], mac[32];
        raw[0] = (unsigned char)(exp >> 24);
        raw[1] = (unsigned char)(exp >> 16);
        raw[2] = (unsigned char)(exp >> 8);
        raw[3] = (unsigned char)exp;
        mac_of(key, kind, id, what, exp, mac);
        memcpy(raw + 4, mac, MAC_BYTES);
        unsigned acc = 0, bits = 0, o = 0;
        for (unsigned i = 0; i < RAW_BYTES; i++) {
                acc = (acc << 8) | raw[i];
                bits += 8;
                while (bits >= 5) {
                        out[o++] = B32[(acc >> (bits - 5)) & 31];
                        bits -= 5;
                }
        }
        if (bits)
                out[o++] = B32[(acc << (5 - bits)) & 31];
        out[o] = '\0';
}

/* NS_OK, -1 (malformed, forged) or 1 (expired). */
static int token_check(const unsigned char key[32], const char *kind, const char *id,
                       const char *what, const char *token, int64_t now_s)
{
        unsigned char raw[RAW_BYTES + 1] = {0};
        if (!token || strlen(token) != PREVIEW_TOKEN_LEN)
                return -1;
        unsigned acc = 0, bits = 0, o = 0;
        for (const char *p = token; *p; p++) {
                const char *at = strchr(B32, *p);
                if (!at)
                        return -1;
                acc = (acc << 5) | (unsigned)(at - B32);
                bits += 5;
                if (bits >= 8) {
                        raw[o++] = (unsigned char)(acc >> (bits - 8));
                        bits -= 8;
                }
        }
        if (acc & ((1u << bits) - 1)) /* padding bits set: not the one encoding of a token */
                return -1;
        uint32_t exp =
            (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
        unsigned char mac[32];
        mac_of(key, kind, id, what, exp, mac);
        if (CRYPTO_memcmp(mac, raw + 4, MAC_BYTES) != 0)
                return -1;
        return (int64_t)exp < now_s ? 1 : 0;
}

void preview_token_make(const unsigned char key[32], const char *id, unsigned port, uint32_t exp,
                        char out[PREVIEW_TOKEN_LEN + 1])
{
        char what[16];
        snprintf(what, sizeof(what), "%u", port);
        token_make(key, "preview1", id, what, exp, out);
}

enum ns_code preview_token_check(const unsigned char key[32], const char *id, unsigned port,
                                 const char *token, int64_t now_s)
{
        char what[16];
        snprintf(what, sizeof(what), "%u", port);
        int rc = token_check(key, "preview1", id, what, token, now_s);
        return rc < 0 ? NS_E_PREVIEW_TOKEN_INVALID : rc ? NS_E_PREVIEW_TOKEN_EXPIRED : NS_OK;
}

void viewer_token_make(const unsigned char key[32], const char *id, int view_only, uint32_t exp,
                       char out[PREVIEW_TOKEN_LEN + 1])
{
        token_make(key, "viewer1", id, view_only ? "view" : "control", exp, out);
}

enum ns_code viewer_token_check(const unsigned char key[32], const char *id, int view_only,
                                const char *token, int64_t now_s)
{
        int rc = token_check(key, "viewer1", id, view_only ? "view" : "control", token, now_s);
        return rc < 0 ? NS_E_VIEWER_TOKEN_INVALID : rc ? NS_E_VIEWER_TOKEN_EXPIRED : NS_OK;
}

int preview_parse_label(const char *label, size_t len, struct preview_target *t)
{
        /* PORT-HEX16[-TOKEN] */
        memset(t, 0, sizeof(*t));
        size_t i = 0;
        unsigned port = 0;
        while (i < len && i < 5 && label[i] >= '0' && label[i] <= '9')
                port = port * 10 + (unsigned)(label[i++] - '0');
        if (i == 0 || i >= len || label[i] != '-' || port == 0 || port > 65535)
                return -1;
        i++;
        if (len - i < 16)
                return -1;
        for (size_t k = 0; k < 16; k++) {
                char c = label[i + k];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return -1;
        }
        snprintf(t->id, sizeof(t->id), "m_%.16s", label + i);
        i += 16;
        t->port = port;
        if (i == len)
                return 0;
        if (label[i] != '-' || len - i - 1 != PREVIEW_TOKEN_LEN)
                return -1;
        memcpy(t->token, label + i + 1, PREVIEW_TOKEN_LEN);
        t->token[PREVIEW_TOKEN_LEN] = '\0';
        return 0;
}
