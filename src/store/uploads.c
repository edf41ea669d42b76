/* Resumable upload records (into machines and volumes alike): where the bytes go and
 * what they must add up to. The bytes themselves are in the owner's filesystem. */
#include <errno.h>
#include <string.h>

#include "db.h"

static void read_upload(sqlite3_stmt *s, void *row)
{
        struct upload_rec *u = row;
        memset(u, 0, sizeof(*u));
        db_column_text(s, 0, u->id, sizeof(u->id));
        db_column_text(s, 1, u->owner, sizeof(u->owner));
        db_column_text(s, 2, u->path, sizeof(u->path));
        db_column_text(s, 3, u->tmp, sizeof(u->tmp));
        u->size = sqlite3_column_int64(s, 4);
        db_column_text(s, 5, u->sha256, sizeof(u->sha256));
        u->mode = (unsigned)sqlite3_column_int(s, 6);
        u->created_at = sqlite3_column_int64(s, 7);
        u->expires_at = sqlite3_column_int64(s, 8);
}

int store_upload_insert(struct store *st, const struct upload_rec *u, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_UP_INSERT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, u->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, u->owner, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, u->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, u->tmp, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, u->size);
        sqlite3_bind_text(s, 6, u->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 7, (int)u->mode);
        sqlite3_bind_int64(s, 8, u->created_at);
        sqlite3_bind_int64(s, 9, u->expires_at);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "insert upload");
}

int store_upload_get(struct store *st, const char *id, struct upload_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_UP_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_upload, out, "upload", e);
}

int store_upload_delete(struct store *st, const char *id, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_UP_DELETE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "upload", e);
}
