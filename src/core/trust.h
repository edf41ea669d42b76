/* The certificate authorities machines trust beyond Debian's (--machine-ca): by default
 * the host's own additions (/usr/local/share/ca-certificates), so that behind a
 * TLS-inspecting proxy `npm install` and `git clone` work in a machine as they do on
 * the host. They reach machines as a layer of the cache (CACHE/layers/trust-HASH, id
 * "k_trust-HASH") stacked on the base: the base's bundle with them appended
 * (/etc/ssl/certs/ca-certificates.crt) and the certificates alone
 * (/usr/local/share/ca-certificates/nullspace.crt, which Node reads through
 * NODE_EXTRA_CA_CERTS and update-ca-certificates keeps). Templates built on the base
 * keep the layer, so their machines trust the same. Loop thread only. */
#ifndef NS_CORE_TRUST_H
#define NS_CORE_TRUST_H

#include <jansson.h>

#include "../common/err.h"

struct core;

#define TRUST_FILE_MAX  (1u << 20) /* bytes of one certificate file read */
#define TRUST_TOTAL_MAX (4u << 20) /* bytes of all certificates together */
#define TRUST_CERT_PATH "/usr/local/share/ca-certificates/nullspace.crt"

/* Reads the certificates `source` names: "host" (every *.crt under
 * /usr/local/share/ca-certificates, none when it is missing; a file there without a
 * certificate is skipped with a warning), "none", or a PEM file or directory of *.crt
 * and *.pem files (each must hold a certificate). Only the PEM certificate blocks are
 * kept, in file-name order; with any, core->trust_id is set. 0, or -errno with e set
 * (a missing or unreadable path, a file without a certificate, too much). */
int trust_init(struct core *core, const char *source, struct err *e);

/* Frees what trust_init kept. */
void trust_fini(struct core *core);

/* The layers of a machine or build on the base (a new array, owned by the caller):
 * [trust_id] when there are certificates, else []. NULL when out of memory. */
json_t *trust_base_layers(const struct core *core);

/* Makes the trust layer (from the base's bundle, which must be ready) unless it exists
 * or there are no certificates; several daemons sharing the cache may race: the last
 * rename wins with the same content. 0, or -errno with e set. */
int trust_layer_ensure(struct core *core, struct err *e);

/* When layers hold a trust layer, sets NODE_EXTRA_CA_CERTS and REQUESTS_CA_BUNDLE in
 * env (an object) unless it has them, so Node and Python's requests trust it too. A
 * machine's sandbox gets them beside PATH and HOME (machine__env_list), under what its
 * create set; they are not part of its recorded env. */
void trust_env(const json_t *layers, json_t *env);

#endif
