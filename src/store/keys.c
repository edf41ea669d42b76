/* API key records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static void read_row(sqlite3_stmt *s, void *row)
{
        struct key_rec *k = row;
        memset(k, 0, sizeof(*k));
        db_column_text(s, 0, k->id, sizeof(k->id));
        db_column_text(s, 1, k->name, sizeof(k->name));
        db_column_text(s, 2, k->prefix, sizeof(k->prefix));
        const void *h = sqlite3_column_blob(s, 3);
        if (h && sqlite3_column_bytes(s, 3) == (int)sizeof(k->hash))
                memcpy(k->hash, h, sizeof(k->hash));
        db_column_text(s, 4, k->role, sizeof(k->role));
        k->created_at = sqlite3_column_int64(s, 5);
        k->revoked_at = sqlite3_column_int64(s, 6);
        k->seq = sqlite3_column_int64(s, 7);
}

int store_key_insert(struct store *st, const struct key_rec *k, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_KEY_INSERT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, k->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, k->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, k->prefix, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 4, k->hash, sizeof(k->hash), SQLITE_STATIC);
        sqlite3_bind_text(s, 5, k->role, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, k->created_at);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc == SQLITE_CONSTRAINT)
                return err_set(e, EEXIST, "key %s", k->id);
        if (rc != SQLITE_DONE)
                return db_fail(st, e, "insert key");
        return 0;
}

int store_key_get(struct store *st, const char *id, struct key_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_KEY_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_row, out, "key", e);
}

int store_key_find_active(struct store *st, const unsigned char hash[32], struct key_rec *out,
                          struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_KEY_FIND, e);
        if (!s)
                return -EIO;
        sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
        return db_get_row(st, s, read_row, out, "key", e);
}

int store_key_list(struct store *st, int64_t after_seq, unsigned limit, struct key_rec **out,
                   size_t *n, struct err *e)
{
        return db_page(st, ST_KEY_LIST, after_seq, limit, sizeof(**out), read_row, NULL,
                       (void **)out, n, e);
}

static int count_active_except(struct store *st, const char *id, int64_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_KEY_COUNT_ACTIVE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                *n = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        return rc == SQLITE_ROW ? 0 : db_fail(st, e, "count keys");
}

static int revoke_locked(struct store *st, const char *id, int64_t now_ms, struct err *e)
{
        struct key_rec k;
        int r = store_key_get(st, id, &k, e);
        if (r < 0 || k.revoked_at)
                return r;
        int64_t others = 0;
        r = count_active_except(st, id, &others, e);
        if (r < 0)
                return r;
        if (others == 0)
                return err_set(e, EBUSY, "key %s is the last active key", id);
        sqlite3_stmt *s = db_stmt(st, ST_KEY_REVOKE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, now_ms);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "revoke key");
}

int store_key_revoke(struct store *st, const char *id, int64_t now_ms, struct err *e)
{
        int r = db_exec(st, "BEGIN IMMEDIATE;", e);
        if (r < 0)
                return r;
        r = revoke_locked(st, id, now_ms, e);
        if (r == 0)
                r = db_exec(st, "COMMIT;", e);
        if (r < 0)
                db_exec(st, "ROLLBACK;", NULL);
        return r;
}

int store_key_count(struct store *st, int64_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_KEY_COUNT, e);
        if (!s)
                return -EIO;
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                *n = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        return rc == SQLITE_ROW ? 0 : db_fail(st, e, "count keys");
}
