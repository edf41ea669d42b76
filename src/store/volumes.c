/* Volume records: a volume's name, size limit and labels. Its filesystem lives in the
 * state directory (core/volumes.c); which machines mount it is read from their specs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static void read_row(sqlite3_stmt *s, void *row)
{
        struct volume_rec *r = row;
        memset(r, 0, sizeof(*r));
        db_column_text(s, 0, r->id, sizeof(r->id));
        db_column_text(s, 1, r->name, sizeof(r->name));
        r->size_bytes = sqlite3_column_int64(s, 2);
        r->created_at = sqlite3_column_int64(s, 3);
        db_column_text(s, 4, r->state, sizeof(r->state));
        const unsigned char *t = sqlite3_column_text(s, 5);
        r->metadata = strdup(t ? (const char *)t : "{}");
        r->seq = sqlite3_column_int64(s, 6);
}

void store_volume_rec_free(struct volume_rec *r)
{
        free(r->metadata);
        r->metadata = NULL;
}

static void free_row_any(void *row)
{
        store_volume_rec_free(row);
}

int store_volume_insert(struct store *st, const struct volume_rec *r, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_V_INSERT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, r->size_bytes);
        sqlite3_bind_int64(s, 4, r->created_at);
        sqlite3_bind_text(s, 5, r->state[0] ? r->state : "ready", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, r->metadata ? r->metadata : "{}", -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc == SQLITE_CONSTRAINT)
                return err_set(e, EEXIST, "a volume named '%s' exists", r->name);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "insert volume");
}

int store_volume_get(struct store *st, const char *ref, struct volume_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_V_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_row, out, "volume", e);
}

int store_volume_list(struct store *st, int64_t after_seq, unsigned limit, struct volume_rec **out,
                      size_t *n, struct err *e)
{
        return db_page(st, ST_V_LIST, after_seq, limit, sizeof(**out), read_row, free_row_any,
                       (void **)out, n, e);
}

int store_volume_set_state(struct store *st, const char *id, const char *state, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_V_STATE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "volume", e);
}

int store_volume_delete(struct store *st, const char *id, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_V_DELETE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "volume", e);
}

int store_volume_users(struct store *st, const char *id, char ***out, size_t *n, struct err *e)
{
        return db_ids(st, ST_V_USERS, id, out, n, e);
}
