#include "db.h"

#include "../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EV_COLS "seq, ts, kind, subject_type, subject_id, data, id, reason, key_id"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_KEY_INSERT] = "INSERT INTO api_keys (id, name, prefix, hash, role, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)",
    [ST_KEY_GET] = "SELECT id, name, prefix, hash, role, created_at, revoked_at, rowid "
                   "FROM api_keys WHERE id = ?",
    [ST_KEY_FIND] = "SELECT id, name, prefix, hash, role, created_at, revoked_at, rowid "
                    "FROM api_keys WHERE hash = ? AND revoked_at IS NULL",
    [ST_KEY_LIST] = "SELECT id, name, prefix, hash, role, created_at, revoked_at, rowid "
                    "FROM api_keys WHERE rowid > ? ORDER BY rowid LIMIT ?",
    [ST_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
    [ST_KEY_COUNT] = "SELECT count(*) FROM api_keys",
    [ST_KEY_COUNT_ACTIVE] = "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND id != ?",
#define M_COLS                                                                                     \
        "id, state, runtime, spec, metadata, failure_reason, deadline_at, created_at, "            \
        "updated_at, rowid, parent_id"
    [ST_M_INSERT] = "INSERT INTO machines (id, state, runtime, spec, metadata, deadline_at, "
                    "created_at, updated_at, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_M_SPEC] = "UPDATE machines SET spec = ? WHERE id = ?",
    [ST_M_CHILDREN] = "SELECT id FROM machines WHERE parent_id = ? AND state != 'destroyed' "
                      "ORDER BY rowid",
    [ST_M_SNAPSHOT_USERS] = "SELECT id FROM machines WHERE state NOT IN ('destroyed', 'failed') "
                            "AND json_extract(spec, '$.snapshot') = ? ORDER BY rowid",
    [ST_LAYERS_IN_USE] =
        "SELECT value FROM machines, json_each(machines.spec, '$.layers') "
        "WHERE state NOT IN ('destroyed', 'failed') UNION SELECT value FROM snapshots, "
        "json_each(snapshots.spec, '$.layers') UNION SELECT value FROM build_cache, "
        "json_each(build_cache.layers) UNION SELECT value FROM builds, "
        "json_each(builds.result, '$.layers') WHERE builds.state = 'ready'",
    [ST_SN_INSERT] = "INSERT INTO snapshots (id, machine_id, name, state, spec, size_bytes, "
                     "created_at, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_SN_GET] = "SELECT id, machine_id, name, state, spec, size_bytes, created_at, rowid, kind "
                  "FROM snapshots WHERE id = ?",
    [ST_SN_LIST] = "SELECT id, machine_id, name, state, spec, size_bytes, created_at, rowid, kind "
                   "FROM snapshots WHERE rowid > ?1 AND (?3 IS NULL OR kind = ?3) "
                   "ORDER BY rowid LIMIT ?2",
    [ST_SN_BY_NAME] = "SELECT id, machine_id, name, state, spec, size_bytes, created_at, rowid, "
                      "kind FROM snapshots WHERE name = ?1 AND kind = ?2 AND state = 'ready' "
                      "ORDER BY rowid DESC LIMIT 1",
    [ST_SN_STATE] = "UPDATE snapshots SET state = ?, spec = ?, size_bytes = ? WHERE id = ?",
    [ST_SN_DELETE] = "DELETE FROM snapshots WHERE id = ?",
    [ST_M_STATE] = "UPDATE machines SET state = ?, failure_reason = ?, updated_at = ? "
                   "WHERE id = ?",
    [ST_M_DEADLINE] = "UPDATE machines SET deadline_at = ? WHERE id = ?",
    [ST_M_GET] = "SELECT " M_COLS " FROM machines WHERE id = ?",
#define B_COLS "id, ref, state, spec, result, step, error, created_at, updated_at, rowid"
    [ST_B_INSERT] = "INSERT INTO builds (id, ref, state, spec, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
    [ST_B_GET] = "SELECT " B_COLS " FROM builds WHERE id = ?",
    [ST_B_UPDATE] = "UPDATE builds SET state = ?, step = ?, result = ?, error = ?, "
                    "updated_at = ? WHERE id = ?",
    [ST_B_BUILDING] = "SELECT id FROM builds WHERE state = 'building' ORDER BY rowid",
    [ST_B_UNNAMED] = "SELECT id FROM builds b WHERE state = 'ready' AND NOT EXISTS "
                     "(SELECT 1 FROM templates t WHERE t.build_id = b.id) ORDER BY rowid",
    [ST_BC_GET] = "SELECT layers FROM build_cache WHERE key = ?",
    [ST_BC_PUT] = "INSERT OR REPLACE INTO build_cache (key, layers, created_at) VALUES (?, ?, ?)",
    [ST_BC_DELETE] = "DELETE FROM build_cache WHERE key = ?",
    [ST_BC_PRUNE] = "DELETE FROM build_cache WHERE created_at < ?",
    /* imported images (STATE/bases/ID) machines, snapshots and builds stand on */
    [ST_IMAGES_IN_USE] =
        "SELECT json_extract(spec, '$.image') FROM machines WHERE state NOT IN ('destroyed', "
        "'failed') AND json_extract(spec, '$.image') IS NOT NULL UNION SELECT "
        "json_extract(spec, '$.image') FROM snapshots WHERE json_extract(spec, '$.image') IS "
        "NOT NULL UNION SELECT json_extract(result, '$.image') FROM builds WHERE state = "
        "'ready' AND json_extract(result, '$.image') IS NOT NULL UNION SELECT "
        "json_extract(spec, '$.from_image') FROM builds WHERE state = 'building' AND "
        "json_extract(spec, '$.from_image') IS NOT NULL",
    [ST_T_PUT] = "INSERT INTO templates (id, name, state, build_id, created_at, updated_at) "
                 "VALUES (?1, ?2, 'ready', ?3, ?4, ?4) ON CONFLICT(name) DO UPDATE SET "
                 "build_id = ?3, updated_at = ?4",
#define T_COLS "id, name, build_id, created_at, updated_at, rowid, pool_size"
#define V_COLS "id, name, size_bytes, created_at, state, metadata, rowid"
    [ST_T_GET] = "SELECT " T_COLS " FROM templates WHERE name = ?",
    [ST_T_LIST] = "SELECT " T_COLS " FROM templates WHERE rowid > ? ORDER BY rowid LIMIT ?",
    [ST_T_POOL] = "UPDATE templates SET pool_size = ? WHERE name = ?",
    [ST_M_META] = "UPDATE machines SET metadata = ? WHERE id = ?",
    [ST_T_DELETE] = "DELETE FROM templates WHERE name = ?",
    [ST_T_REFS] = "SELECT name FROM templates WHERE build_id = ? ORDER BY rowid",
    [ST_T_DEPENDENTS] = "SELECT DISTINCT t.name FROM templates t JOIN builds b ON "
                        "b.id = t.build_id WHERE json_extract(b.spec, '$.from_build') = ? "
                        "ORDER BY t.rowid",
    [ST_EV_APPEND] = "INSERT INTO events (ts, kind, subject_type, subject_id, data, id, reason, "
                     "key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    /* pings go to their own webhook (enabled or not); other events to every enabled
     * webhook with a matching filter: "*", the exact type, or a "prefix.*" */
    [ST_EV_FANOUT] =
        "INSERT INTO deliveries (id, webhook_id, event_seq, next_at, created_at, updated_at) "
        "SELECT 'dl_' || lower(hex(randomblob(8))), w.id, ?1, ?2, ?2, ?2 FROM webhooks w "
        "WHERE (?3 = 'webhook.ping' AND w.id = ?4) OR (?3 <> 'webhook.ping' AND w.enabled = 1 "
        "AND EXISTS (SELECT 1 FROM json_each(w.events) j WHERE j.value = '*' OR j.value = ?3 "
        "OR (substr(j.value, -2) = '.*' AND substr(?3, 1, length(j.value) - 1) = "
        "substr(j.value, 1, length(j.value) - 1))))",
    [ST_EV_QUERY] = "SELECT " EV_COLS " FROM events WHERE (?1 IS NULL OR subject_type = ?1) "
                    "AND (?2 IS NULL OR subject_id = ?2) AND (?3 IS NULL OR kind = ?3 OR "
                    "(substr(?3, -2) = '.*' AND substr(kind, 1, length(?3) - 1) = "
                    "substr(?3, 1, length(?3) - 1))) AND seq > ?4 AND ts >= ?5 "
                    "ORDER BY seq LIMIT ?6",
    [ST_EV_GET] = "SELECT " EV_COLS " FROM events WHERE seq = ?",
    [ST_EV_LAST] = "SELECT coalesce(max(seq), 0) FROM events",
    [ST_EV_PRUNE_DELIVERIES] = "DELETE FROM deliveries WHERE state <> 'pending' AND updated_at < ?",
    [ST_EV_PRUNE] = "DELETE FROM events WHERE ts < ?1 AND seq NOT IN "
                    "(SELECT event_seq FROM deliveries)",
#define WH_COLS                                                                                    \
        "id, url, events, enabled, secret, description, created_at, updated_at, rowid, "           \
        "previous_secret, previous_until"
    [ST_WH_INSERT] = "INSERT INTO webhooks (id, url, events, enabled, secret, description, "
                     "previous_secret, previous_until, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_WH_GET] = "SELECT " WH_COLS " FROM webhooks WHERE id = ?",
    [ST_WH_LIST] = "SELECT " WH_COLS " FROM webhooks WHERE rowid > ? ORDER BY rowid LIMIT ?",
    [ST_WH_UPDATE] = "UPDATE webhooks SET url = ?, events = ?, enabled = ?, secret = ?, "
                     "description = ?, previous_secret = ?, previous_until = ?, updated_at = ? "
                     "WHERE id = ?",
    [ST_WH_DELETE] = "DELETE FROM webhooks WHERE id = ?",
#define DL_COLS                                                                                    \
        "d.id, d.webhook_id, d.event_seq, coalesce(e.id, ''), coalesce(e.kind, ''), d.state, "     \
        "d.attempts, d.next_at, d.created_at, d.updated_at, d.rowid"
    [ST_DL_LEASE] =
        "UPDATE deliveries SET next_at = ?3, leased = 1 WHERE id IN (SELECT id FROM deliveries "
        "WHERE webhook_id = ?1 AND state = 'pending' AND next_at <= ?2 "
        "ORDER BY next_at LIMIT ?4) RETURNING id, event_seq, attempts",
    [ST_DL_SET] =
        "UPDATE deliveries SET state = ?, next_at = ?, attempts = attempts + 1, leased = 0, "
        "updated_at = ? WHERE id = ?",
    [ST_DL_ATTEMPT] = "INSERT INTO delivery_attempts (delivery_id, at, status, duration_ms, "
                      "error, response) VALUES (?, ?, ?, ?, ?, ?)",
    [ST_DL_LIST] = "SELECT " DL_COLS " FROM deliveries d LEFT JOIN events e ON e.seq = "
                   "d.event_seq WHERE d.webhook_id = ?1 AND (?2 = 0 OR d.rowid < ?2) "
                   "ORDER BY d.rowid DESC LIMIT ?3",
    [ST_DL_GET] = "SELECT " DL_COLS " FROM deliveries d LEFT JOIN events e ON e.seq = "
                  "d.event_seq WHERE d.webhook_id = ? AND d.id = ?",
    [ST_DL_ATTEMPTS] = "SELECT at, status, duration_ms, error, response FROM delivery_attempts "
                       "WHERE delivery_id = ? ORDER BY seq LIMIT ?",
    [ST_DL_REDELIVER] = "UPDATE deliveries SET state = 'pending', next_at = ?, updated_at = ? "
                        "WHERE webhook_id = ? AND id = ?",
    [ST_DL_UNLEASE] = "UPDATE deliveries SET next_at = ?, leased = 0 WHERE leased = 1",
    /* per webhook: the (webhook_id, state, next_at) index answers it without a scan */
    [ST_DL_NEXT] = "SELECT coalesce(min(next_at), 9223372036854775807) FROM deliveries "
                   "WHERE webhook_id = ? AND state = 'pending'",
    [ST_UP_INSERT] = "INSERT INTO uploads (id, owner, path, tmp, size, sha256, mode, created_at, "
                     "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_UP_GET] = "SELECT id, owner, path, tmp, size, sha256, mode, created_at, expires_at "
                  "FROM uploads WHERE id = ?",
    [ST_UP_DELETE] = "DELETE FROM uploads WHERE id = ?",
    [ST_V_INSERT] = "INSERT INTO volumes (id, name, size_bytes, created_at, state, metadata) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
    [ST_V_GET] = "SELECT " V_COLS " FROM volumes WHERE id = ?1 OR name = ?1",
    [ST_V_LIST] = "SELECT " V_COLS " FROM volumes WHERE rowid > ? ORDER BY rowid LIMIT ?",
    [ST_V_STATE] = "UPDATE volumes SET state = ? WHERE id = ?",
    [ST_V_DELETE] = "DELETE FROM volumes WHERE id = ?",
    [ST_V_USERS] = "SELECT DISTINCT m.id FROM machines m, json_each(m.spec, '$.volumes') v "
                   "WHERE m.state NOT IN ('destroyed', 'failed') "
                   "AND json_extract(v.value, '$.volume') = ? ORDER BY m.rowid",
    /* an update keeps the row (and its rowid: the list cursor) */
    [ST_SEC_PUT] = "INSERT INTO secrets (name, sealed, created_at, updated_at) "
                   "VALUES (?1, ?2, ?3, ?3) ON CONFLICT(name) DO UPDATE SET "
                   "sealed = excluded.sealed, updated_at = excluded.updated_at "
                   "RETURNING name, created_at, updated_at, rowid",
    [ST_SEC_GET] = "SELECT name, created_at, updated_at, rowid, sealed FROM secrets WHERE name = ?",
    [ST_SEC_LIST] = "SELECT name, created_at, updated_at, rowid FROM secrets WHERE rowid > ? "
                    "ORDER BY rowid LIMIT ?",
    [ST_SEC_DELETE] = "DELETE FROM secrets WHERE name = ?",
    /* deployments: one JSON document a row; an update keeps the rowid (the list cursor) */
    [ST_DEP_PUT] = "INSERT INTO deployments (name, doc) VALUES (?1, ?2) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc",
    [ST_DEP_GET] = "SELECT doc, rowid FROM deployments WHERE name = ?",
    [ST_DEP_LIST] = "SELECT doc, rowid FROM deployments WHERE rowid > ? ORDER BY rowid LIMIT ?",
    [ST_DEP_DELETE] = "DELETE FROM deployments WHERE name = ?",
    [ST_REV_PUT] = "INSERT INTO deployment_revisions (deployment, number, doc) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(deployment, number) DO UPDATE SET doc = excluded.doc",
    [ST_REV_GET] =
        "SELECT doc, number FROM deployment_revisions WHERE deployment = ? AND number = ?",
    [ST_REV_LIST] = "SELECT doc, number FROM deployment_revisions WHERE deployment = ?1 AND "
                    "number < ?2 ORDER BY number DESC LIMIT ?3",
    [ST_RUN_PUT] = "INSERT INTO deployment_runs (id, deployment, doc) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
    [ST_RUN_GET] = "SELECT doc, rowid FROM deployment_runs WHERE id = ?",
    [ST_RUN_LIST] = "SELECT doc, rowid FROM deployment_runs WHERE deployment = ?1 AND rowid < ?2 "
                    "ORDER BY rowid DESC LIMIT ?3",
    [ST_RUN_OPEN] = "SELECT doc, rowid FROM deployment_runs WHERE json_extract(doc, '$.state') "
                    "IN ('starting', 'running') OR json_extract(doc, '$.retained') = 1 "
                    "ORDER BY rowid",
    [ST_M_LIST] = "SELECT " M_COLS " FROM machines WHERE (state = ?1 OR (?1 IS NULL AND "
                  "state != 'destroyed')) AND rowid > ?2 AND (?3 IS NULL OR "
                  "json_extract(metadata, ?3) = ?4) AND json_extract(metadata, "
                  "'$.\"nullspace.pool\"') IS NULL ORDER BY rowid LIMIT ?5",
};

void db_column_text(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
        const unsigned char *t = sqlite3_column_text(s, col);
        size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;
        if (n >= cap)
                n = cap - 1;
        if (n)
                memcpy(dst, t, n);
        dst[n] = '\0';
}

int db_fail(struct store *st, struct err *e, const char *what)
{
        err_set(e, 0, "%s: %s", what, sqlite3_errmsg(st->db));
        if (e)
                e->errnum = EIO;
        return -EIO;
}

int db_exec(struct store *st, const char *sql, struct err *e)
{
        char *msg = NULL;
        if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
                err_set(e, 0, "sqlite: %s", msg ? msg : "error");
                if (e)
                        e->errnum = EIO;
                sqlite3_free(msg);
                return -EIO;
        }
        return 0;
}

sqlite3_stmt *db_stmt(struct store *st, enum stmt_id id, struct err *e)
{
        sqlite3_stmt *s = st->stmts[id];
        if (!s) {
                if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                       &st->stmts[id], NULL) != SQLITE_OK) {
                        db_fail(st, e, "prepare");
                        return NULL;
                }
                return st->stmts[id];
        }
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
}

static int query_int(struct store *st, const char *sql, int *out)
{
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
                return -EIO;
        int r = sqlite3_step(s) == SQLITE_ROW ? 0 : -EIO;
        if (r == 0)
                *out = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        return r;
}

/* Times every statement that writes (COMMIT's fsync included) into st->writes. */
static int on_profile(unsigned type, void *ud, void *p, void *x)
{
        struct store *st = ud;
        const char *sql = type == SQLITE_TRACE_PROFILE ? sqlite3_sql(p) : NULL;
        if (sql && (!sqlite3_stmt_readonly(p) || strncmp(sql, "COMMIT", 6) == 0 ||
                    strncmp(sql, "RELEASE", 7) == 0))
                prom_hist_observe(&st->writes, (double)*(const sqlite3_int64 *)x / 1e9);
        return 0;
}

const struct prom_hist *store_write_latency(const struct store *st)
{
        return &st->writes;
}

int store_open(struct store **out, const char *path, struct err *e)
{
        struct store *st = calloc(1, sizeof(*st));
        if (!st)
                return err_set(e, ENOMEM, "store");
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
                int r = db_fail(st, e, path);
                store_close(st);
                return r;
        }
        sqlite3_busy_timeout(st->db, 5000);
        sqlite3_trace_v2(st->db, SQLITE_TRACE_PROFILE, on_profile, st);
        /* the schema version first: a database a newer build wrote is refused before
         * anything (the journal mode included) is changed in it */
        int r = query_int(st, "PRAGMA user_version", &st->version) < 0
                    ? db_fail(st, e, "read schema version")
                    : db_check_version(st, e);
        if (r == 0)
                r = db_exec(st,
                            /* the daemon is the database's only user (it holds the state
                             * dir's lock): exclusive locking spares two fcntl() locks per
                             * statement and the shared-memory WAL index */
                            "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;"
                            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                            e);
        if (r == 0)
                r = db_migrate(st, e);
        if (r < 0) {
                store_close(st);
                return r;
        }
        *out = st;
        return 0;
}

void store_close(struct store *st)
{
        if (!st)
                return;
        for (int i = 0; i < ST_COUNT; i++)
                sqlite3_finalize(st->stmts[i]);
        sqlite3_close(st->db);
        free(st);
}

int store_schema_version(struct store *st)
{
        return st->version;
}

int store_ping(struct store *st, struct err *e)
{
        int v;
        if (query_int(st, "SELECT 1", &v) < 0)
                return db_fail(st, e, "ping");
        return 0;
}

int db_collect_ids(struct store *st, sqlite3_stmt *s, char ***out, size_t *n, struct err *e)
{
        size_t k = 0, cap = 8;
        char **v = calloc(cap + 1, sizeof(char *));
        int rc = SQLITE_DONE;
        while (v && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                if (k == cap) {
                        char **nv = realloc(v, (cap * 2 + 1) * sizeof(char *));
                        if (!nv)
                                break;
                        v = nv;
                        cap *= 2;
                }
                const unsigned char *t = sqlite3_column_text(s, 0);
                v[k++] = strdup(t ? (const char *)t : "");
                v[k] = NULL;
        }
        sqlite3_reset(s);
        if (!v || rc != SQLITE_DONE) {
                strv_free(v);
                return v ? db_fail(st, e, "list ids") : err_set(e, ENOMEM, "list ids");
        }
        *out = v;
        *n = k;
        return 0;
}

int db_page(struct store *st, enum stmt_id which, int64_t after_seq, unsigned limit, size_t size,
            void (*read)(sqlite3_stmt *s, void *row), void (*free_row)(void *row), void **out,
            size_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, which, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, after_seq);
        sqlite3_bind_int64(s, 2, limit);
        return db_collect_rows(st, s, limit, size, read, free_row, out, n, e);
}

int db_collect_rows(struct store *st, sqlite3_stmt *s, unsigned limit, size_t size,
                    void (*read)(sqlite3_stmt *s, void *row), void (*free_row)(void *row),
                    void **out, size_t *n, struct err *e)
{
        char *v = calloc(limit ? limit : 1, size);
        if (!v) {
                sqlite3_reset(s);
                return err_set(e, ENOMEM, "list");
        }
        size_t k = 0;
        int rc = SQLITE_DONE;
        while (k < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
                read(s, v + size * k++);
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                for (size_t j = 0; free_row && j < k; j++)
                        free_row(v + size * j);
                free(v);
                return db_fail(st, e, "list");
        }
        *out = v;
        *n = k;
        return 0;
}

int db_get_row(struct store *st, sqlite3_stmt *s, void (*read)(sqlite3_stmt *s, void *row),
               void *row, const char *what, struct err *e)
{
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                read(s, row);
        sqlite3_reset(s);
        if (rc == SQLITE_ROW)
                return 0;
        if (rc == SQLITE_DONE)
                return err_set(e, ENOENT, "%s not found", what);
        return db_fail(st, e, "read");
}

int db_changed(struct store *st, sqlite3_stmt *s, const char *what, struct err *e)
{
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
                return db_fail(st, e, what);
        return sqlite3_changes(st->db) ? 0 : err_set(e, ENOENT, "%s not found", what);
}

int db_ids(struct store *st, enum stmt_id which, const char *arg, char ***out, size_t *n,
           struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, which, e);
        if (!s)
                return -EIO;
        if (arg)
                sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
        return db_collect_ids(st, s, out, n, e);
}
