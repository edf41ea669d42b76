/* OpenSSH key and certificate formats (see sshkey.h). */
#include "sshkey.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define BLOB_MAX (64u << 10)

/* ---- the wire: big-endian integers and length-prefixed strings ---- */

static int put_u32(struct buf *b, uint32_t v)
{
        unsigned char p[4] = {v >> 24, v >> 16, v >> 8, v};
        return buf_append(b, p, 4);
}

static int put_u64(struct buf *b, uint64_t v)
{
        return put_u32(b, (uint32_t)(v >> 32)) | put_u32(b, (uint32_t)v);
}

static int put_str(struct buf *b, const void *p, size_t n)
{
        return put_u32(b, (uint32_t)n) | buf_append(b, p, n);
}

static int put_cstr(struct buf *b, const char *s)
{
        return put_str(b, s, strlen(s));
}

struct rd {
        const unsigned char *p;
        size_t n;
};

/* The next string of r (its bytes stay in r's memory). 0, or -1 when r runs short. */
static int get_str(struct rd *r, const unsigned char **s, size_t *n)
{
        if (r->n < 4)
                return -1;
        uint32_t l =
            (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
        if (l > r->n - 4)
                return -1;
        *s = r->p + 4;
        *n = l;
        r->p += 4 + l;
        r->n -= 4 + l;
        return 0;
}

static int str_is(const unsigned char *s, size_t n, const char *want)
{
        return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* ---- user keys ---- */

struct key_kind {
        const char *type;
        unsigned fields; /* strings in the blob after the type */
        const char *curve;
};

static const struct key_kind kinds[] = {
    {"ssh-ed25519", 1, NULL},
    {"ssh-rsa", 2, NULL},
    {"ecdsa-sha2-nistp256", 2, "nistp256"},
    {"ecdsa-sha2-nistp384", 2, "nistp384"},
    {"ecdsa-sha2-nistp521", 2, "nistp521"},
    {"sk-ssh-ed25519@openssh.com", 2, NULL},
    {"sk-ecdsa-sha2-nistp256@openssh.com", 3, "nistp256"},
};

static const struct key_kind *kind_of(const char *type, size_t n)
{
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
                if (strlen(kinds[i].type) == n && memcmp(kinds[i].type, type, n) == 0)
                        return &kinds[i];
        return NULL;
}

/* Bits of an mpint (big-endian, a leading zero byte allowed). */
static size_t mpint_bits(const unsigned char *p, size_t n)
{
        while (n && *p == 0) {
                p++;
                n--;
        }
        if (!n)
                return 0;
        size_t bits = (n - 1) * 8;
        for (unsigned v = *p; v; v >>= 1)
                bits++;
        return bits;
}

/* Checks the blob's fields for kind k. NULL when sound, else why not. */
static const char *check_blob(const struct key_kind *k, const unsigned char *blob, size_t len)
{
        struct rd r = {blob, len};
        const unsigned char *f[4];
        size_t fl[4];
        if (get_str(&r, &f[0], &fl[0]) < 0 || !str_is(f[0], fl[0], k->type))
                return "the key's data names another key type than its line";
        for (unsigned i = 1; i <= k->fields; i++)
                if (get_str(&r, &f[i], &fl[i]) < 0)
                        return "the key's data is cut short";
        if (r.n)
                return "the key's data has bytes past its end";
        if (!strcmp(k->type, "ssh-ed25519") || !strcmp(k->type, "sk-ssh-ed25519@openssh.com"))
                return fl[1] == 32 ? NULL : "an Ed25519 key is 32 bytes";
        if (!strcmp(k->type, "ssh-rsa"))
                return mpint_bits(f[2], fl[2]) >= 2048 ? NULL
                                                       : "RSA keys under 2048 bits are refused";
        if (!str_is(f[1], fl[1], k->curve))
                return "the key's curve does not match its type";
        return fl[2] >= 65 && f[2][0] == 4 ? NULL : "the ECDSA point is not an uncompressed point";
}

int ssh_pubkey_parse(const char *line, struct ssh_pubkey *k, char *why, size_t cap)
{
        size_t total = strnlen(line, SSHKEY_LINE_MAX + 1);
        if (total > SSHKEY_LINE_MAX) {
                snprintf(why, cap, "a public key line is at most %u bytes", SSHKEY_LINE_MAX);
                return -1;
        }
        const char *p = line + strspn(line, " \t");
        size_t tn = strcspn(p, " \t\r\n");
        const char *b64 = p + tn + strspn(p + tn, " \t");
        size_t bn = strcspn(b64, " \t\r\n");
        const char *nl = strchr(line, '\n');
        if (nl && nl[strspn(nl, " \t\r\n")]) {
                snprintf(why, cap, "give one public key line, not several");
                return -1;
        }
        if (!strncmp(p, "-----BEGIN", 10)) {
                snprintf(why, cap, "that is a private key: send its public half (the .pub file)");
                return -1;
        }
        const struct key_kind *kd = kind_of(p, tn);
        if (!kd) {
                snprintf(why, cap,
                         "not an OpenSSH public key line of a supported type (ssh-ed25519, "
                         "ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-*)");
                return -1;
        }
        unsigned char *blob = malloc(bn / 4 * 3 + 3);
        ssize_t len = blob && bn ? base64_decode(b64, bn, blob, bn / 4 * 3 + 3) : -1;
        const char *bad =
            len < 0 ? "the key's base64 is malformed" : check_blob(kd, blob, (size_t)len);
        if (bad) {
                free(blob);
                snprintf(why, cap, "%s", bad);
                return -1;
        }
        snprintf(k->type, sizeof(k->type), "%s", kd->type);
        k->blob = blob;
        k->len = (size_t)len;
        return 0;
}

void ssh_pubkey_free(struct ssh_pubkey *k)
{
        free(k->blob);
        k->blob = NULL;
        k->len = 0;
}

/* ---- Ed25519 ---- */

static EVP_PKEY *ed25519_key(const unsigned char seed[32])
{
        return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
}

int ssh_ed25519_public(const unsigned char seed[32], unsigned char pub[32])
{
        EVP_PKEY *k = ed25519_key(seed);
        size_t n = 32;
        int ok = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32;
        EVP_PKEY_free(k);
        return ok ? 0 : -1;
}

static int ed25519_sign(const unsigned char seed[32], const void *msg, size_t n,
                        unsigned char sig[64])
{
        EVP_PKEY *k = ed25519_key(seed);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        size_t sl = 64;
        int ok = k && md && EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1 &&
                 EVP_DigestSign(md, sig, &sl, msg, n) == 1 && sl == 64;
        EVP_MD_CTX_free(md);
        EVP_PKEY_free(k);
        return ok ? 0 : -1;
}

static int ed25519_blob(struct buf *b, const unsigned char pub[32])
{
        return put_cstr(b, "ssh-ed25519") | put_str(b, pub, 32);
}

/* "TYPE BASE64[ COMMENT]" of a blob, malloc'd. */
static char *key_line(const char *type, const void *blob, size_t len, const char *comment)
{
        size_t cap = strlen(type) + (len + 2) / 3 * 4 + (comment ? strlen(comment) : 0) + 4;
        char *out = malloc(cap);
        if (!out)
                return NULL;
        size_t n = (size_t)snprintf(out, cap, "%s ", type);
        n += base64_encode(blob, len, out + n);
        if (comment && *comment)
                snprintf(out + n, cap - n, " %s", comment);
        return out;
}

char *ssh_ed25519_line(const unsigned char pub[32], const char *comment)
{
        struct buf b;
        buf_init(&b, BLOB_MAX);
        char *out = ed25519_blob(&b, pub) ? NULL : key_line("ssh-ed25519", b.data, b.len, comment);
        buf_fini(&b);
        return out;
}

/* The private section of an openssh-key-v1 file: check words, the key, the comment and
 * padding to the cipher block size (8 for "none"). */
static int private_section(struct buf *b, const unsigned char seed[32], const unsigned char pub[32],
                           const char *comment)
{
        uint32_t check;
        if (RAND_bytes((unsigned char *)&check, sizeof(check)) != 1)
                return -1;
        unsigned char both[64];
        memcpy(both, seed, 32);
        memcpy(both + 32, pub, 32);
        int bad = put_u32(b, check) | put_u32(b, check) | ed25519_blob(b, pub) |
                  put_str(b, both, 64) | put_cstr(b, comment ? comment : "");
        OPENSSL_cleanse(both, sizeof(both));
        for (unsigned char pad = 1; !bad && b->len % 8; pad++)
                bad |= buf_append(b, &pad, 1);
        return bad;
}

char *ssh_ed25519_private_file(const unsigned char seed[32], const char *comment)
{
        unsigned char pub[32];
        if (ssh_ed25519_public(seed, pub) < 0)
                return NULL;
        struct buf b, pubb, priv;
        buf_init(&b, BLOB_MAX);
        buf_init(&pubb, BLOB_MAX);
        buf_init(&priv, BLOB_MAX);
        int bad = buf_append(&b, "openssh-key-v1", 15) | put_cstr(&b, "none") |
                  put_cstr(&b, "none") | put_str(&b, "", 0) | put_u32(&b, 1) |
                  ed25519_blob(&pubb, pub) | put_str(&b, pubb.data, pubb.len) |
                  private_section(&priv, seed, pub, comment) | put_str(&b, priv.data, priv.len);
        char *out = NULL;
        size_t b64cap = (b.len + 2) / 3 * 4 + 1;
        char *b64 = bad ? NULL : malloc(b64cap);
        if (b64 && (out = malloc(b64cap + b64cap / 70 + 80))) {
                size_t n = base64_encode((unsigned char *)b.data, b.len, b64);
                size_t o = (size_t)sprintf(out, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
                for (size_t i = 0; i < n; i += 70)
                        o += (size_t)sprintf(out + o, "%.*s\n", (int)(n - i < 70 ? n - i : 70),
                                             b64 + i);
                sprintf(out + o, "-----END OPENSSH PRIVATE KEY-----\n");
        }
        if (b64)
                OPENSSL_cleanse(b64, b64cap);
        free(b64);
        OPENSSL_cleanse(priv.data, priv.len);
        OPENSSL_cleanse(b.data, b.len);
        buf_fini(&b);
        buf_fini(&pubb);
        buf_fini(&priv);
        return out;
}

/* ---- certificates ---- */

/* "T-cert-v01@openssh.com" for T, or "X-cert-v01@openssh.com" for "X@openssh.com". */
static void cert_type(const char *type, char *out, size_t cap)
{
        const char *at = strchr(type, '@');
        snprintf(out, cap, "%.*s-cert-v01@openssh.com",
                 (int)(at ? (size_t)(at - type) : strlen(type)), type);
}

static int put_principals(struct buf *b, const struct ssh_cert_req *r)
{
        struct buf p;
        buf_init(&p, BLOB_MAX);
        int bad = 0;
        for (size_t i = 0; i < r->nprincipals; i++)
                bad |= put_cstr(&p, r->principals[i]);
        bad |= put_str(b, p.data ? p.data : "", p.len);
        buf_fini(&p);
        return bad;
}

/* The extensions, in the lexical order OpenSSH requires, each with empty data. */
static int put_extensions(struct buf *b, unsigned ext)
{
        static const struct {
                const char *name;
                unsigned bit;
        } all[] = {
            {"permit-agent-forwarding", SSH_EXT_AGENT_FORWARDING},
            {"permit-port-forwarding", SSH_EXT_PORT_FORWARDING},
            {"permit-pty", SSH_EXT_PTY},
        };
        struct buf e;
        buf_init(&e, BLOB_MAX);
        int bad = 0;
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
                if (ext & all[i].bit)
                        bad |= put_cstr(&e, all[i].name) | put_str(&e, "", 0);
        bad |= put_str(b, e.data ? e.data : "", e.len);
        buf_fini(&e);
        return bad;
}

/* Everything the CA signs: the certificate up to its signature. */
static int cert_body(struct buf *b, const struct ssh_cert_req *r, const unsigned char ca_pub[32],
                     const char *ctype)
{
        unsigned char nonce[32];
        if (RAND_bytes(nonce, sizeof(nonce)) != 1)
                return -1;
        struct rd key = {r->key->blob, r->key->len};
        const unsigned char *t;
        size_t tl;
        if (get_str(&key, &t, &tl) < 0)
                return -1;
        struct buf ca;
        buf_init(&ca, BLOB_MAX);
        int bad =
            put_cstr(b, ctype) | put_str(b, nonce, sizeof(nonce)) | buf_append(b, key.p, key.n) |
            put_u64(b, r->serial) | put_u32(b, r->host ? 2 : 1) | put_cstr(b, r->key_id) |
            put_principals(b, r) | put_u64(b, r->valid_after) | put_u64(b, r->valid_before) |
            put_str(b, "", 0) /* critical options */ |
            put_extensions(b, r->host ? 0 : r->extensions) | put_str(b, "", 0) /* reserved */ |
            ed25519_blob(&ca, ca_pub) | put_str(b, ca.data, ca.len);
        buf_fini(&ca);
        return bad;
}

char *ssh_cert_sign(const struct ssh_cert_req *r, const unsigned char ca_seed[32],
                    const char *comment)
{
        unsigned char ca_pub[32], sig[64];
        char ctype[80];
        cert_type(r->key->type, ctype, sizeof(ctype));
        struct buf b, s;
        buf_init(&b, BLOB_MAX);
        buf_init(&s, BLOB_MAX);
        char *out = NULL;
        if (ssh_ed25519_public(ca_seed, ca_pub) == 0 && cert_body(&b, r, ca_pub, ctype) == 0 &&
            ed25519_sign(ca_seed, b.data, b.len, sig) == 0 &&
            !(put_cstr(&s, "ssh-ed25519") | put_str(&s, sig, 64)) &&
            put_str(&b, s.data, s.len) == 0)
                out = key_line(ctype, b.data, b.len, comment);
        buf_fini(&b);
        buf_fini(&s);
        return out;
}

void ssh_fingerprint(const unsigned char *blob, size_t len, char out[SSH_FP_LEN])
{
        unsigned char md[32];
        unsigned int ml = 0;
        char b64[48];
        if (EVP_Digest(blob, len, md, &ml, EVP_sha256(), NULL) != 1 || ml != 32) {
                snprintf(out, SSH_FP_LEN, "SHA256:?");
                return;
        }
        size_t n = base64_encode(md, 32, b64);
        while (n && b64[n - 1] == '=')
                n--;
        snprintf(out, SSH_FP_LEN, "SHA256:%.*s", (int)n, b64);
}
