/* Secret records: a name and its value sealed by core/secrets.c (the store never sees a
 * value in the clear). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static void read_row(sqlite3_stmt *s, void *row)
{
        struct secret_rec *r = row;
        memset(r, 0, sizeof(*r));
        db_column_text(s, 0, r->name, sizeof(r->name));
        r->created_at = sqlite3_column_int64(s, 1);
        r->updated_at = sqlite3_column_int64(s, 2);
        r->seq = sqlite3_column_int64(s, 3);
}

/* read_row, and the sealed value (column 4). */
static void read_sealed(sqlite3_stmt *s, void *row)
{
        struct secret_rec *r = row;
        read_row(s, row);
        const void *b = sqlite3_column_blob(s, 4);
        int n = sqlite3_column_bytes(s, 4);
        if (b && n > 0 && (r->sealed = malloc((size_t)n))) {
                memcpy(r->sealed, b, (size_t)n);
                r->sealed_len = (size_t)n;
        }
}

int store_secret_put(struct store *st, const char *name, const unsigned char *sealed, size_t len,
                     int64_t now_ms, struct secret_rec *out, int *created, struct err *e)
{
        struct secret_rec old;
        int r = store_secret_get(st, name, &old, e);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == 0)
                free(old.sealed);
        *created = r == -ENOENT;
        sqlite3_stmt *s = db_stmt(st, ST_SEC_PUT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, sealed, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, now_ms);
        return db_get_row(st, s, read_row, out, "secret", e);
}

int store_secret_get(struct store *st, const char *name, struct secret_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_SEC_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        int r = db_get_row(st, s, read_sealed, out, "secret", e);
        if (r == 0 && !out->sealed)
                return err_set(e, EIO, "secret %s: no value stored", name);
        return r;
}

int store_secret_list(struct store *st, int64_t after_seq, unsigned limit, struct secret_rec **out,
                      size_t *n, struct err *e)
{
        return db_page(st, ST_SEC_LIST, after_seq, limit, sizeof(**out), read_row, NULL,
                       (void **)out, n, e);
}

int store_secret_delete(struct store *st, const char *name, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_SEC_DELETE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        return db_changed(st, s, "secret", e);
}
