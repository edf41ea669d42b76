/* Secrets sealed in the store (secrets.h). A sealed value is 1 version byte, a 12-byte
 * random nonce, the ciphertext and GCM's 16-byte tag; the secret's name is the
 * additional data, so a sealed value moved to another name does not open. */
#include "secrets.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"
#include "../common/secret.h"
#include "../common/util.h"
#include "core.h"

#define SEAL_VERSION 1
#define NONCE_LEN    12
#define TAG_LEN      16
#define SEAL_OVER    (1 + NONCE_LEN + TAG_LEN)

int secret_name_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n > SECRET_NAME_MAX || (name[0] >= '0' && name[0] <= '9'))
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                      (c >= 'A' && c <= 'Z')))
                        return 0;
        }
        return 1;
}

/* Runs GCM one way over `in` into out (room for len bytes), with nonce and name as the
 * additional data; tag is read (decrypt) or written (encrypt). 0 or -EBADMSG. */
static int gcm(int encrypt, const unsigned char *key, const unsigned char *nonce, const char *name,
               const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int n = 0, ok = c && len <= INT_MAX &&
                        EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, encrypt) == 1 &&
                        EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)name,
                                         (int)strlen(name)) == 1 &&
                        (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1);
        if (ok && !encrypt)
                ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
        ok = ok && EVP_CipherFinal_ex(c, out + (len ? (size_t)n : 0), &n) == 1;
        if (ok && encrypt)
                ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
        EVP_CIPHER_CTX_free(c);
        return ok ? 0 : -EBADMSG;
}

int secret_seal(const unsigned char *key, const char *name, const unsigned char *plain, size_t len,
                unsigned char **out, size_t *out_len)
{
        unsigned char *s = malloc(len + SEAL_OVER);
        if (!s)
                return -ENOMEM;
        s[0] = SEAL_VERSION;
        if (rand_bytes(s + 1, NONCE_LEN) < 0 ||
            gcm(1, key, s + 1, name, plain, len, s + 1 + NONCE_LEN, s + 1 + NONCE_LEN + len) < 0) {
                free(s);
                return -EIO;
        }
        *out = s;
        *out_len = len + SEAL_OVER;
        return 0;
}

int secret_open(const unsigned char *key, const char *name, const unsigned char *sealed, size_t len,
                unsigned char **out, size_t *out_len)
{
        if (len < SEAL_OVER || sealed[0] != SEAL_VERSION)
                return -EBADMSG;
        size_t n = len - SEAL_OVER;
        unsigned char *p = malloc(n + 1), tag[TAG_LEN];
        if (!p)
                return -ENOMEM;
        memcpy(tag, sealed + 1 + NONCE_LEN + n, TAG_LEN);
        if (gcm(0, key, sealed + 1, name, sealed + 1 + NONCE_LEN, n, p, tag) < 0) {
                explicit_bzero(p, n + 1);
                free(p);
                return -EBADMSG;
        }
        p[n] = 0;
        *out = p;
        *out_len = n;
        return 0;
}

/* The state directory's key, read (or made) once. */
static const unsigned char *sealing_key(struct core *core, struct err *e)
{
        if (core->secrets_key_loaded)
                return core->secrets_key;
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/secrets.key", core->state_dir);
        if (secret_load(path, core->secrets_key, sizeof(core->secrets_key), e) < 0)
                return NULL;
        core->secrets_key_loaded = 1;
        return core->secrets_key;
}

int core_secret_set(struct core *core, const char *name, const char *value, size_t len,
                    struct secret_rec *out, int *created, struct err *e)
{
        if (!secret_name_valid(name))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'name': letters, digits and '_', not starting with a "
                                 "digit, at most %d bytes",
                                 SECRET_NAME_MAX);
        if (len > SECRET_VALUE_MAX || memchr(value, 0, len))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'value': at most %u bytes, without NUL", SECRET_VALUE_MAX);
        const unsigned char *key = sealing_key(core, e);
        unsigned char *sealed;
        size_t n;
        if (!key)
                return -EIO;
        if (secret_seal(key, name, (const unsigned char *)value, len, &sealed, &n) < 0)
                return err_set(e, EIO, "seal secret %s", name);
        int r = store_secret_put(core->store, name, sealed, n, time_wall_ms(), out, created, e);
        free(sealed);
        return r;
}

int core_secrets_check(struct core *core, const json_t *names, struct err *e)
{
        if (!names)
                return 0;
        if (!json_is_array(names) || json_array_size(names) > SECRETS_PER_MACHINE)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'secrets': an array of at most %d names",
                                 SECRETS_PER_MACHINE);
        size_t i;
        json_t *v;
        json_array_foreach(names, i, v)
        {
                const char *name = json_string_value(v);
                struct secret_rec r;
                if (!secret_name_valid(name))
                        return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                         "field 'secrets': item %zu is not a secret's name", i);
                int rc = store_secret_get(core->store, name, &r, e);
                if (rc == -ENOENT)
                        return err_coded(e, NS_E_SECRET_NOT_FOUND, ENOENT,
                                         "no secret is named '%s'", name);
                if (rc < 0)
                        return -1;
                free(r.sealed);
        }
        return 0;
}

/* Opens secret `name` into env. */
static int open_into(struct core *core, const unsigned char *key, const char *name, json_t *env,
                     struct err *e)
{
        struct secret_rec r;
        int rc = store_secret_get(core->store, name, &r, e);
        if (rc == -ENOENT)
                return err_coded(e, NS_E_SECRET_NOT_FOUND, ENOENT, "secret '%s' was deleted", name);
        if (rc < 0)
                return -1;
        unsigned char *plain;
        size_t n;
        rc = secret_open(key, name, r.sealed, r.sealed_len, &plain, &n);
        free(r.sealed);
        if (rc < 0)
                return err_set(e, EBADMSG,
                               "secret '%s' does not open with STATE/secrets.key (was the key "
                               "file replaced?)",
                               name);
        json_t *s = json_stringn((const char *)plain, n);
        explicit_bzero(plain, n);
        free(plain);
        return s && json_object_set_new(env, name, s) == 0 ? 0 : err_set(e, ENOMEM, "secret");
}

int core_secrets_env(struct core *core, const json_t *names, json_t *env, struct err *e)
{
        if (!json_array_size(names))
                return 0;
        const unsigned char *key = sealing_key(core, e);
        if (!key)
                return -1;
        size_t i;
        json_t *v;
        json_array_foreach(names, i, v)
        {
                if (open_into(core, key, json_string_value(v), env, e) < 0)
                        return -1;
        }
        return 0;
}
