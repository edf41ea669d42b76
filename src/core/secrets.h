/* Secrets: named values (API keys, tokens) kept sealed in the store with AES-256-GCM
 * under a key in the state directory (STATE/secrets.key, 0600, made on first use), and
 * opened only to hand them to a machine's agent as environment variables. Nothing
 * here writes a value anywhere in the clear. Loop thread only. */
#ifndef NS_CORE_SECRETS_H
#define NS_CORE_SECRETS_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"

struct core;
struct secret_rec;

#define SECRET_VALUE_MAX    (64u << 10) /* bytes of one value */
#define SECRETS_PER_MACHINE 64

/* 1 when name can be a secret's name, which is also the environment variable it
 * becomes: [A-Za-z_][A-Za-z0-9_]*, at most SECRET_NAME_MAX bytes. */
int secret_name_valid(const char *name);

/* Sets secret `name` to the len bytes of value (no NUL inside; at most
 * SECRET_VALUE_MAX), sealed; *out gets its record (no value), *created says whether it
 * is new. 0, or -errno with e set (e->code invalid_field for a bad name or value, else
 * internal). */
int core_secret_set(struct core *core, const char *name, const char *value, size_t len,
                    struct secret_rec *out, int *created, struct err *e);

/* Checks a create's "secrets" (NULL or an array of at most SECRETS_PER_MACHINE names,
 * each set): 0, or -1 with e set (code invalid_field, or secret_not_found). */
int core_secrets_check(struct core *core, const json_t *names, struct err *e);

/* Opens each named secret into env (an object: name -> value, set over what it has).
 * 0, or -1 with e set (secret_not_found when one was deleted since; internal when a
 * sealed value does not open: the key file was replaced). The caller must not store
 * or log env. */
int core_secrets_env(struct core *core, const json_t *names, json_t *env, struct err *e);

/* Seals len bytes of plain under key (32 bytes) bound to `name` (GCM's additional data):
 * *out malloc'd, *out_len its length. Opens such bytes back (-EBADMSG when they were
 * not sealed so, with this key and name). Exposed for the unit test. Any thread. */
int secret_seal(const unsigned char *key, const char *name, const unsigned char *plain, size_t len,
                unsigned char **out, size_t *out_len);
int secret_open(const unsigned char *key, const char *name, const unsigned char *sealed, size_t len,
                unsigned char **out, size_t *out_len);

#endif
