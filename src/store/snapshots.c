/* Snapshot records: a machine's memory, processes and layers captured under an id,
 * spawnable any number of times. The image files live in the state directory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static void read_row(sqlite3_stmt *s, void *row)
{
        struct snapshot_rec *r = row;
        memset(r, 0, sizeof(*r));
        db_column_text(s, 0, r->id, sizeof(r->id));
        db_column_text(s, 1, r->machine_id, sizeof(r->machine_id));
        db_column_text(s, 2, r->name, sizeof(r->name));
        db_column_text(s, 3, r->state, sizeof(r->state));
        const unsigned char *t = sqlite3_column_text(s, 4);
        r->spec = strdup(t ? (const char *)t : "{}");
        r->size_bytes = sqlite3_column_int64(s, 5);
        r->created_at = sqlite3_column_int64(s, 6);
        r->seq = sqlite3_column_int64(s, 7);
        db_column_text(s, 8, r->kind, sizeof(r->kind));
}

void store_snapshot_rec_free(struct snapshot_rec *r)
{
        free(r->spec);
        r->spec = NULL;
}

static void free_row_any(void *row)
{
        store_snapshot_rec_free(row);
}

int store_snapshot_insert(struct store *st, const struct snapshot_rec *r, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_SN_INSERT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r->machine_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, r->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, r->state, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, r->spec ? r->spec : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, r->size_bytes);
        sqlite3_bind_int64(s, 7, r->created_at);
        sqlite3_bind_text(s, 8, r->kind[0] ? r->kind : "user", -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc == SQLITE_CONSTRAINT)
                return err_set(e, EEXIST, "snapshot %s", r->id);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "insert snapshot");
}

int store_snapshot_get(struct store *st, const char *id, struct snapshot_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_SN_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_row, out, "snapshot", e);
}

int store_snapshot_list(struct store *st, const char *kind, int64_t after_seq, unsigned limit,
                        struct snapshot_rec **out, size_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_SN_LIST, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, after_seq);
        sqlite3_bind_int64(s, 2, limit);
        if (kind)
                sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
        void *rows;
        int r = db_collect_rows(st, s, limit, sizeof(**out), read_row, free_row_any, &rows, n, e);
        if (r == 0)
                *out = rows;
        return r;
}

int store_snapshot_find_name(struct store *st, const char *kind, const char *name,
                             struct snapshot_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_SN_BY_NAME, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_row, out, "snapshot", e);
}

int store_snapshot_update(struct store *st, const char *id, const char *state, const char *spec,
                          int64_t size_bytes, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_SN_STATE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, spec ? spec : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, size_bytes);
        sqlite3_bind_text(s, 4, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "snapshot", e);
}

int store_snapshot_delete(struct store *st, const char *id, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_SN_DELETE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "snapshot", e);
}
