/* The only durable metadata: one SQLite database (WAL, STRICT tables, versioned
 * migrations). No SQL exists outside src/store/. A store handle belongs to one thread
 * (the daemon's loop); functions return 0 or a negative errno with `e` set. */
#ifndef NS_STORE_H
#define NS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../common/prom.h"

struct store;

/* Opens (creating if needed) the database at `path` and applies pending migrations.
 * On success *out is owned by the caller (store_close). Errors: -EIO for SQLite
 * failures, -EPROTO when the file comes from a newer Nullspace (schema too new). */
int store_open(struct store **out, const char *path, struct err *e);

/* Closes the handle (NULL allowed). */
void store_close(struct store *st);

/* Schema version the database is at. */
int store_schema_version(struct store *st);

/* The latency of every statement that wrote (a COMMIT with its fsync included), since
 * the store was opened. Borrowed. */
const struct prom_hist *store_write_latency(const struct store *st);

/* The schema version this build migrates databases to (its newest). */
int store_schema_latest(void);

/* Cheap liveness probe of the database (for /readyz). */
int store_ping(struct store *st, struct err *e);

#define KEY_ID_MAX     40
#define KEY_NAME_MAX   128
#define KEY_PREFIX_MAX 16

struct key_rec {
        char id[KEY_ID_MAX];
        char name[KEY_NAME_MAX + 1];
        char prefix[KEY_PREFIX_MAX]; /* first characters of the secret, for display */
        unsigned char hash[32];      /* SHA-256 of the secret */
        char role[16];
        int64_t created_at; /* ms since epoch */
        int64_t revoked_at; /* 0 while active */
        int64_t seq;        /* insertion order, the list cursor */
};

/* Inserts a key. -EEXIST when the id or hash is taken. */
int store_key_insert(struct store *st, const struct key_rec *k, struct err *e);

/* Reads a key by id (active or revoked). -ENOENT when absent. */
int store_key_get(struct store *st, const char *id, struct key_rec *out, struct err *e);

/* Finds the active key with this hash. -ENOENT when none. */
int store_key_find_active(struct store *st, const unsigned char hash[32], struct key_rec *out,
                          struct err *e);

/* Lists up to `limit` keys with seq > after_seq in insertion order. *out is a
 * malloc'd array owned by the caller (free), *n its length. */
int store_key_list(struct store *st, int64_t after_seq, unsigned limit, struct key_rec **out,
                   size_t *n, struct err *e);

/* Revokes a key (idempotent). -ENOENT when absent; -EBUSY when it is the last active
 * key (the daemon would become unmanageable). */
int store_key_revoke(struct store *st, const char *id, int64_t now_ms, struct err *e);

/* Number of keys ever created (0 on a fresh database). */
int store_key_count(struct store *st, int64_t *n, struct err *e);

#define MACHINE_ID_MAX 40

struct machine_rec {
        char id[MACHINE_ID_MAX];
        char state[16];
        char runtime[16];
        char *spec;     /* JSON text, owned (store_machine_rec_free) */
        char *metadata; /* JSON text, owned */
        char failure[256];
        int64_t deadline_at; /* ms since epoch; 0 = none */
        int64_t created_at;
        int64_t updated_at;
        int64_t seq;
        char parent_id[MACHINE_ID_MAX]; /* "" when not forked */
};

/* Frees the strings a machine record owns. */
void store_machine_rec_free(struct machine_rec *m);

/* Inserts a machine. -EEXIST when the id is taken. */
int store_machine_insert(struct store *st, const struct machine_rec *m, struct err *e);

/* Sets state (and failure reason, may be NULL) and updated_at. -ENOENT when absent. */
int store_machine_set_state(struct store *st, const char *id, const char *state,
                            const char *failure, int64_t now_ms, struct err *e);

/* Sets the deadline. -ENOENT when absent. */
int store_machine_set_deadline(struct store *st, const char *id, int64_t deadline_at,
                               struct err *e);

/* Replaces the machine's spec (JSON text, borrowed). -ENOENT when absent. */
int store_machine_set_spec(struct store *st, const char *id, const char *spec, struct err *e);

/* Replaces the machine's metadata (JSON text, borrowed). -ENOENT when absent. */
int store_machine_set_metadata(struct store *st, const char *id, const char *metadata,
                               struct err *e);

/* Ids of the machines forked from `id` that are not destroyed, oldest first. *out is
 * NULL-terminated (strv_free, common/util.h). */
int store_machine_children(struct store *st, const char *id, char ***out, size_t *n, struct err *e);

/* Ids of the machines spawned from snapshot `id` that are neither destroyed nor failed. */
int store_snapshot_users(struct store *st, const char *id, char ***out, size_t *n, struct err *e);

/* Every filesystem layer some machine (not destroyed) or snapshot refers to. */
int store_layers_in_use(struct store *st, char ***out, size_t *n, struct err *e);

/* Reads one machine (caller frees with store_machine_rec_free). -ENOENT when absent. */
int store_machine_get(struct store *st, const char *id, struct machine_rec *out, struct err *e);

/* Which machines store_machine_list returns. */
struct machine_filter {
        const char *state;    /* NULL: every state but "destroyed" */
        const char *meta_key; /* with meta_value: metadata[meta_key] == meta_value; the key is
                               * [A-Za-z0-9._-] only (checked by the caller) */
        const char *meta_value;
};

/* Lists machines matching f with seq > after_seq in creation order (warm pool members,
 * metadata "nullspace.pool", are not listed). *out is malloc'd
 * (free each record, then the array). */
int store_machine_list(struct store *st, const struct machine_filter *f, int64_t after_seq,
                       unsigned limit, struct machine_rec **out, size_t *n, struct err *e);

#define SNAPSHOT_NAME_MAX 128

struct snapshot_rec {
        char id[MACHINE_ID_MAX];
        char machine_id[MACHINE_ID_MAX];
        char name[SNAPSHOT_NAME_MAX + 1];
        char state[16]; /* creating, ready, failed */
        char kind[16];  /* user (listed), template (a template's; "" at insert: user) */
        char *spec;     /* JSON text, owned (store_snapshot_rec_free) */
        int64_t size_bytes;
        int64_t created_at;
        int64_t seq;
};

/* Frees the strings a snapshot record owns. */
void store_snapshot_rec_free(struct snapshot_rec *s);

/* Inserts a snapshot. -EEXIST when the id is taken. */
int store_snapshot_insert(struct store *st, const struct snapshot_rec *s, struct err *e);

/* Reads one snapshot (store_snapshot_rec_free). -ENOENT when absent. */
int store_snapshot_get(struct store *st, const char *id, struct snapshot_rec *out, struct err *e);

/* Reads the newest ready snapshot of `kind` named `name` (store_snapshot_rec_free).
 * -ENOENT when none. */
int store_snapshot_find_name(struct store *st, const char *kind, const char *name,
                             struct snapshot_rec *out, struct err *e);

/* Lists up to `limit` snapshots of `kind` (NULL: every kind) with seq > after_seq,
 * oldest first; *out malloc'd. */
int store_snapshot_list(struct store *st, const char *kind, int64_t after_seq, unsigned limit,
                        struct snapshot_rec **out, size_t *n, struct err *e);

/* Sets state, spec (JSON text, borrowed) and size. -ENOENT when absent. */
int store_snapshot_update(struct store *st, const char *id, const char *state, const char *spec,
                          int64_t size_bytes, struct err *e);

/* Deletes a snapshot record. -ENOENT when absent. */
int store_snapshot_delete(struct store *st, const char *id, struct err *e);

#define VOLUME_NAME_MAX 64

/* A volume: a filesystem of its own (STATE/volumes/ID) that machines mount. */
struct volume_rec {
        char id[MACHINE_ID_MAX];
        char name[VOLUME_NAME_MAX + 1];
        char state[16]; /* creating, ready */
        char *metadata; /* JSON text, owned (store_volume_rec_free) */
        int64_t size_bytes;
        int64_t created_at;
        int64_t seq;
};

/* Frees the strings a volume record owns. */
void store_volume_rec_free(struct volume_rec *v);

/* Inserts a volume. -EEXIST when its id or name is taken. */
int store_volume_insert(struct store *st, const struct volume_rec *v, struct err *e);

/* Reads the volume whose id or name is `ref` (store_volume_rec_free). -ENOENT when
 * there is none. */
int store_volume_get(struct store *st, const char *ref, struct volume_rec *out, struct err *e);

/* Lists up to `limit` volumes with seq > after_seq, oldest first; *out malloc'd (free
 * each record, then the array). */
int store_volume_list(struct store *st, int64_t after_seq, unsigned limit, struct volume_rec **out,
                      size_t *n, struct err *e);

/* Sets a volume's state. -ENOENT when absent. */
int store_volume_set_state(struct store *st, const char *id, const char *state, struct err *e);

/* Deletes a volume record. -ENOENT when absent. */
int store_volume_delete(struct store *st, const char *id, struct err *e);

/* Ids of the machines (neither destroyed nor failed) whose spec mounts volume `id`,
 * oldest first; *out NULL-terminated (strv_free). */
int store_volume_users(struct store *st, const char *id, char ***out, size_t *n, struct err *e);

/* A resumable upload: bytes go to `tmp` in its owner (a machine or a volume) until they
 * are all there, then it is renamed to `path`. */
struct upload_rec {
        char id[MACHINE_ID_MAX];
        char owner[MACHINE_ID_MAX]; /* m_... or v_... */
        char path[4097], tmp[4097];
        int64_t size;
        char sha256[65]; /* "" when not given */
        unsigned mode;
        int64_t created_at, expires_at;
};

/* Inserts an upload. */
int store_upload_insert(struct store *st, const struct upload_rec *u, struct err *e);

/* Reads one upload. -ENOENT when absent. */
int store_upload_get(struct store *st, const char *id, struct upload_rec *out, struct err *e);

/* Deletes an upload record. -ENOENT when absent. */
int store_upload_delete(struct store *st, const char *id, struct err *e);

#define TEMPLATE_REF_MAX 96 /* name (<= 64) ':' tag (<= 32) */

/* A template build: its request (spec), where it got to (step) and, once ready, what
 * machines start from (result: snapshot, layers, env, user, cwd, start, ready, ports). */
struct build_rec {
        char id[MACHINE_ID_MAX];
        char ref[TEMPLATE_REF_MAX + 1]; /* the name:tag it builds */
        char state[16];                 /* building, ready, failed */
        char *spec;                     /* JSON text, owned (store_build_rec_free) */
        char *result;                   /* JSON text, owned */
        int64_t step;                   /* index of the step under way, or that failed */
        char error[512];
        int64_t created_at, updated_at, seq;
};

/* Frees the strings a build record owns. */
void store_build_rec_free(struct build_rec *b);

/* Inserts a build (state, spec and times from b). -EEXIST when the id is taken. */
int store_build_insert(struct store *st, const struct build_rec *b, struct err *e);

/* Reads one build (store_build_rec_free). -ENOENT when absent. */
int store_build_get(struct store *st, const char *id, struct build_rec *out, struct err *e);

/* Sets state, step, result (JSON text, borrowed, NULL: "{}"), error (NULL: none) and
 * updated_at. -ENOENT when absent. */
int store_build_update(struct store *st, const char *id, const char *state, int64_t step,
                       const char *result, const char *error, int64_t now_ms, struct err *e);

/* Ids of builds still marked building (NULL-terminated, strv_free). */
int store_builds_building(struct store *st, char ***out, size_t *n, struct err *e);

/* Ids of ready builds no template name points at any more (strv_free). */
int store_builds_unnamed(struct store *st, char ***out, size_t *n, struct err *e);

/* The layers (JSON array text, malloc'd into *layers) cached under key. -ENOENT. */
int store_cache_get(struct store *st, const char *key, char **layers, struct err *e);

/* Records (or replaces) the layers a build step produced under key. */
int store_cache_put(struct store *st, const char *key, const char *layers, int64_t now_ms,
                    struct err *e);

/* Forgets a cache entry (its layers are gone). */
int store_cache_delete(struct store *st, const char *key, struct err *e);

/* Forgets the cache entries made before before_ms; *removed says how many. */
int store_cache_prune(struct store *st, int64_t before_ms, int64_t *removed, struct err *e);

/* IDs of imported images (STATE/bases/ID) a live machine, a snapshot, a ready build or
 * one under way uses (strv_free). */
int store_images_in_use(struct store *st, char ***out, size_t *n, struct err *e);

struct template_rec {
        char id[MACHINE_ID_MAX];
        char name[TEMPLATE_REF_MAX + 1]; /* name:tag */
        char build_id[MACHINE_ID_MAX];
        int pool_size; /* machines kept ready (warm pool) */
        int64_t created_at, updated_at, seq;
};

/* Sets how many machines the name's warm pool keeps. -ENOENT when absent. */
int store_template_set_pool(struct store *st, const char *name, int size, struct err *e);

/* Points name (name:tag) at build_id, creating the name when new. */
int store_template_put(struct store *st, const char *id, const char *name, const char *build_id,
                       int64_t now_ms, struct err *e);

/* Reads the name. -ENOENT when absent. */
int store_template_get(struct store *st, const char *name, struct template_rec *out, struct err *e);

/* Lists up to `limit` names with seq > after_seq, oldest first; *out malloc'd (free). */
int store_template_list(struct store *st, int64_t after_seq, unsigned limit,
                        struct template_rec **out, size_t *n, struct err *e);

/* Removes a name. -ENOENT when absent. */
int store_template_delete(struct store *st, const char *name, struct err *e);

/* The names pointing at build_id (strv, NULL-terminated). */
int store_template_refs(struct store *st, const char *build_id, char ***out, size_t *n,
                        struct err *e);

/* The names whose builds started FROM build_id (strv, NULL-terminated). */
int store_template_dependents(struct store *st, const char *build_id, char ***out, size_t *n,
                              struct err *e);

#define EVENT_ID_MAX   24
#define EVENT_TYPE_MAX 48

/* One lifecycle event: what happened (type) to what (subject), why (reason: user,
 * timeout, idle, error, system, pool), which API key asked (key_id, "" when none). */
struct event_rec {
        int64_t seq;
        int64_t ts; /* ms since epoch */
        char id[EVENT_ID_MAX];
        char kind[EVENT_TYPE_MAX];
        char subject_type[16];
        char subject_id[128]; /* an ID, or a template's name:tag */
        char reason[16];
        char key_id[48];
        char *data; /* JSON text, owned (free; store_event_rec_free) */
};

/* Told of every event appended (after it is committed), e.g. to stream it to clients
 * or to wake the webhook sender; `fanout` is how many deliveries it queued. */
struct store_event_hook {
        void (*fn)(void *ud, const struct event_rec *ev, unsigned fanout);
        void *ud;
};

/* Sets the hook (fn NULL: none). */
void store_set_event_hook(struct store *st, const struct store_event_hook *hook);

/* Appends ev (seq and, when empty, id are filled in; data borrowed, NULL means "{}") and,
 * in the same transaction, one pending delivery per enabled webhook whose event filter
 * matches its type (the durable outbox). 0 or -EIO. */
int store_event_append(struct store *st, struct event_rec *ev, struct err *e);

/* What store_event_query selects; NULL/0 fields do not filter. `type` is exact, or a
 * prefix ending in ".*" ("machine.*"). */
struct event_filter {
        const char *subject_type;
        const char *subject_id;
        const char *type;
        int64_t after_seq;
        int64_t since_ts;
};

/* Events matching f, oldest first, at most limit; *out calloc'd (store_event_rec_free
 * each, then free the array). */
int store_event_query(struct store *st, const struct event_filter *f, unsigned limit,
                      struct event_rec **out, size_t *n, struct err *e);

/* The event with this sequence number. -ENOENT when pruned or never existed. */
int store_event_get(struct store *st, int64_t seq, struct event_rec *out, struct err *e);

/* The newest sequence number (0 when the log is empty). */
int64_t store_event_last_seq(struct store *st);

/* Deletes events older than before_ts that no pending delivery still needs, and
 * finished deliveries (with their attempts) older than before_ts. Returns how many
 * events went, or -EIO. */
int store_event_prune(struct store *st, int64_t before_ts, struct err *e);

void store_event_rec_free(struct event_rec *ev);

#define SECRET_NAME_MAX 128

/* A secret's record: its name and times, and (store_secret_get only) its sealed value,
 * which only core/secrets.c can open. */
struct secret_rec {
        char name[SECRET_NAME_MAX + 1];
        int64_t created_at, updated_at; /* ms since epoch */
        int64_t seq;                    /* insertion order, the list cursor */
        unsigned char *sealed;          /* owned (free); NULL from a list */
        size_t sealed_len;
};

/* Sets secret `name` to the sealed bytes (a new record, or the old one's value and
 * updated_at replaced); *out gets the record as it now is (no value), *created says
 * which. */
int store_secret_put(struct store *st, const char *name, const unsigned char *sealed, size_t len,
                     int64_t now_ms, struct secret_rec *out, int *created, struct err *e);

/* Reads a secret with its sealed value (out->sealed malloc'd). -ENOENT when absent. */
int store_secret_get(struct store *st, const char *name, struct secret_rec *out, struct err *e);

/* Lists up to `limit` secrets (no values) with seq > after_seq in insertion order; *out
 * is a malloc'd array (free), *n its length. */
int store_secret_list(struct store *st, int64_t after_seq, unsigned limit, struct secret_rec **out,
                      size_t *n, struct err *e);

/* Deletes a secret. -ENOENT when absent. */
int store_secret_delete(struct store *st, const char *name, struct err *e);

#include "webhooks.h"
#include "deployments.h"

#endif
