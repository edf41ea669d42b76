/* Machine records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static char *dup_text(sqlite3_stmt *s, int col)
{
        const unsigned char *t = sqlite3_column_text(s, col);
        return strdup(t ? (const char *)t : "{}");
}

static void read_row(sqlite3_stmt *s, void *row)
{
        struct machine_rec *m = row;
        memset(m, 0, sizeof(*m));
        db_column_text(s, 0, m->id, sizeof(m->id));
        db_column_text(s, 1, m->state, sizeof(m->state));
        db_column_text(s, 2, m->runtime, sizeof(m->runtime));
        m->spec = dup_text(s, 3);
        m->metadata = dup_text(s, 4);
        db_column_text(s, 5, m->failure, sizeof(m->failure));
        m->deadline_at = sqlite3_column_int64(s, 6);
        m->created_at = sqlite3_column_int64(s, 7);
        m->updated_at = sqlite3_column_int64(s, 8);
        m->seq = sqlite3_column_int64(s, 9);
        db_column_text(s, 10, m->parent_id, sizeof(m->parent_id));
}

void store_machine_rec_free(struct machine_rec *m)
{
        free(m->spec);
        free(m->metadata);
        m->spec = m->metadata = NULL;
}

static void free_row_any(void *row)
{
        store_machine_rec_free(row);
}

int store_machine_insert(struct store *st, const struct machine_rec *m, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_M_INSERT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, m->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, m->state, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, m->runtime, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, m->spec ? m->spec : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, m->metadata ? m->metadata : "{}", -1, SQLITE_STATIC);
        if (m->deadline_at)
                sqlite3_bind_int64(s, 6, m->deadline_at);
        sqlite3_bind_int64(s, 7, m->created_at);
        sqlite3_bind_int64(s, 8, m->updated_at);
        if (m->parent_id[0])
                sqlite3_bind_text(s, 9, m->parent_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc == SQLITE_CONSTRAINT)
                return err_set(e, EEXIST, "machine %s", m->id);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "insert machine");
}

int store_machine_set_state(struct store *st, const char *id, const char *state,
                            const char *failure, int64_t now_ms, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_M_STATE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
        if (failure)
                sqlite3_bind_text(s, 2, failure, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, now_ms);
        sqlite3_bind_text(s, 4, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "machine", e);
}

int store_machine_set_deadline(struct store *st, const char *id, int64_t deadline_at, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_M_DEADLINE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, deadline_at);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "machine", e);
}

int store_machine_set_spec(struct store *st, const char *id, const char *spec, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_M_SPEC, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, spec, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "machine", e);
}

int store_machine_children(struct store *st, const char *id, char ***out, size_t *n, struct err *e)
{
        return db_ids(st, ST_M_CHILDREN, id, out, n, e);
}

int store_snapshot_users(struct store *st, const char *id, char ***out, size_t *n, struct err *e)
{
        return db_ids(st, ST_M_SNAPSHOT_USERS, id, out, n, e);
}

int store_layers_in_use(struct store *st, char ***out, size_t *n, struct err *e)
{
        return db_ids(st, ST_LAYERS_IN_USE, NULL, out, n, e);
}

int store_machine_get(struct store *st, const char *id, struct machine_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_M_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_row, out, "machine", e);
}

int store_machine_list(struct store *st, const struct machine_filter *f, int64_t after_seq,
                       unsigned limit, struct machine_rec **out, size_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_M_LIST, e);
        if (!s)
                return -EIO;
        char path[160];
        if (f->state)
                sqlite3_bind_text(s, 1, f->state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, after_seq);
        if (f->meta_key) {
                snprintf(path, sizeof(path), "$.\"%s\"", f->meta_key);
                sqlite3_bind_text(s, 3, path, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(s, 4, f->meta_value, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int64(s, 5, limit);
        void *rows;
        int r = db_collect_rows(st, s, limit, sizeof(**out), read_row, free_row_any, &rows, n, e);
        if (r == 0)
                *out = rows;
        return r;
}

int store_machine_set_metadata(struct store *st, const char *id, const char *metadata,
                               struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_M_META, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, metadata, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "machine", e);
}
