/* Template builds, the per-step build cache and template names (name:tag → build).
 * The layers and snapshots they name live in the state directory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static char *text_dup(sqlite3_stmt *s, int col)
{
        const unsigned char *t = sqlite3_column_text(s, col);
        return strdup(t ? (const char *)t : "{}");
}

static void read_build(sqlite3_stmt *s, void *row)
{
        struct build_rec *b = row;
        memset(b, 0, sizeof(*b));
        db_column_text(s, 0, b->id, sizeof(b->id));
        db_column_text(s, 1, b->ref, sizeof(b->ref));
        db_column_text(s, 2, b->state, sizeof(b->state));
        b->spec = text_dup(s, 3);
        b->result = text_dup(s, 4);
        b->step = sqlite3_column_int64(s, 5);
        db_column_text(s, 6, b->error, sizeof(b->error));
        b->created_at = sqlite3_column_int64(s, 7);
        b->updated_at = sqlite3_column_int64(s, 8);
        b->seq = sqlite3_column_int64(s, 9);
}

void store_build_rec_free(struct build_rec *b)
{
        free(b->spec);
        free(b->result);
        b->spec = b->result = NULL;
}

int store_build_insert(struct store *st, const struct build_rec *b, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_B_INSERT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, b->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, b->ref, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, b->state, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, b->spec ? b->spec : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, b->created_at);
        sqlite3_bind_int64(s, 6, b->updated_at);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc == SQLITE_CONSTRAINT)
                return err_set(e, EEXIST, "build %s", b->id);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "insert build");
}

int store_build_get(struct store *st, const char *id, struct build_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_B_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_build, out, "build", e);
}

int store_build_update(struct store *st, const char *id, const char *state, int64_t step,
                       const char *result, const char *error, int64_t now_ms, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_B_UPDATE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, step);
        sqlite3_bind_text(s, 3, result ? result : "{}", -1, SQLITE_STATIC);
        if (error)
                sqlite3_bind_text(s, 4, error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, now_ms);
        sqlite3_bind_text(s, 6, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "build", e);
}

int store_builds_building(struct store *st, char ***out, size_t *n, struct err *e)
{
        return db_ids(st, ST_B_BUILDING, NULL, out, n, e);
}

int store_builds_unnamed(struct store *st, char ***out, size_t *n, struct err *e)
{
        return db_ids(st, ST_B_UNNAMED, NULL, out, n, e);
}

int store_cache_get(struct store *st, const char *key, char **layers, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_BC_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                *layers = text_dup(s, 0);
        sqlite3_reset(s);
        if (rc == SQLITE_DONE)
                return err_set(e, ENOENT, "no cache entry");
        if (rc != SQLITE_ROW)
                return db_fail(st, e, "build cache");
        return *layers ? 0 : err_set(e, ENOMEM, "build cache");
}

int store_cache_put(struct store *st, const char *key, const char *layers, int64_t now_ms,
                    struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_BC_PUT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, layers, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, now_ms);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "build cache");
}

int store_cache_delete(struct store *st, const char *key, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_BC_DELETE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        return db_changed(st, s, "cache entry", e);
}

int store_cache_prune(struct store *st, int64_t before_ms, int64_t *removed, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_BC_PRUNE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, before_ms);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
                return db_fail(st, e, "build cache");
        *removed = sqlite3_changes(st->db);
        return 0;
}

int store_images_in_use(struct store *st, char ***out, size_t *n, struct err *e)
{
        return db_ids(st, ST_IMAGES_IN_USE, NULL, out, n, e);
}

static void read_template(sqlite3_stmt *s, void *row)
{
        struct template_rec *t = row;
        memset(t, 0, sizeof(*t));
        db_column_text(s, 0, t->id, sizeof(t->id));
        db_column_text(s, 1, t->name, sizeof(t->name));
        db_column_text(s, 2, t->build_id, sizeof(t->build_id));
        t->created_at = sqlite3_column_int64(s, 3);
        t->updated_at = sqlite3_column_int64(s, 4);
        t->seq = sqlite3_column_int64(s, 5);
        t->pool_size = (int)sqlite3_column_int64(s, 6);
}

int store_template_put(struct store *st, const char *id, const char *name, const char *build_id,
                       int64_t now_ms, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_T_PUT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, build_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, now_ms);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "template name");
}

int store_template_get(struct store *st, const char *name, struct template_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_T_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_template, out, "template", e);
}

int store_template_list(struct store *st, int64_t after_seq, unsigned limit,
                        struct template_rec **out, size_t *n, struct err *e)
{
        return db_page(st, ST_T_LIST, after_seq, limit, sizeof(**out), read_template, NULL,
                       (void **)out, n, e);
}

int store_template_delete(struct store *st, const char *name, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_T_DELETE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        return db_changed(st, s, "template", e);
}

int store_template_refs(struct store *st, const char *build_id, char ***out, size_t *n,
                        struct err *e)
{
        return db_ids(st, ST_T_REFS, build_id, out, n, e);
}

int store_template_dependents(struct store *st, const char *build_id, char ***out, size_t *n,
                              struct err *e)
{
        return db_ids(st, ST_T_DEPENDENTS, build_id, out, n, e);
}

int store_template_set_pool(struct store *st, const char *name, int size, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_T_POOL, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, size);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        return db_changed(st, s, "template", e);
}
