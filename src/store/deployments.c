/* Deployment records: JSON documents keyed by name, (name, number) and run id. The store
 * parses and prints them; what is in them is core/deploy.c's. */
#include <errno.h>
#include <string.h>

#include "db.h"

/* Binds doc's text to parameter i of s; -ENOMEM when it cannot be printed. */
static int bind_doc(sqlite3_stmt *s, int i, const json_t *doc, struct err *e)
{
        char *t = json_dumps(doc, JSON_COMPACT);
        if (!t)
                return err_set(e, ENOMEM, "deployment record");
        sqlite3_bind_text(s, i, t, -1, free);
        return 0;
}

/* Steps a write s, bound by the caller. */
static int step_write(struct store *st, sqlite3_stmt *s, const char *what, struct err *e)
{
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, what);
}

/* Collects s's rows (doc, cursor): up to limit documents into a new array; *last the
 * last one's cursor (unchanged when none), *more (may be NULL) whether a row follows. */
static int collect(struct store *st, sqlite3_stmt *s, unsigned limit, json_t **docs, int64_t *last,
                   int *more, struct err *e)
{
        json_t *a = json_array();
        int rc = SQLITE_DONE;
        unsigned k = 0;
        while (a && (rc = sqlite3_step(s)) == SQLITE_ROW && k++ < limit) {
                json_t *d = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
                if (d)
                        json_array_append_new(a, d);
                if (last)
                        *last = sqlite3_column_int64(s, 1);
        }
        if (more)
                *more = rc == SQLITE_ROW;
        sqlite3_reset(s);
        if (!a)
                return err_set(e, ENOMEM, "list");
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                json_decref(a);
                return db_fail(st, e, "list");
        }
        *docs = a;
        return 0;
}

/* Steps s for one document (-ENOENT "WHAT not found"). */
static int get_one(struct store *st, sqlite3_stmt *s, const char *what, json_t **doc, struct err *e)
{
        json_t *a = NULL;
        int r = collect(st, s, 1, &a, NULL, NULL, e);
        if (r < 0)
                return r;
        if (json_array_size(a) == 0) {
                json_decref(a);
                return err_set(e, ENOENT, "%s not found", what);
        }
        *doc = json_incref(json_array_get(a, 0));
        json_decref(a);
        return 0;
}

int store_deploy_put(struct store *st, const char *name, const json_t *doc, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DEP_PUT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        if (bind_doc(s, 2, doc, e) < 0) {
                sqlite3_reset(s);
                return -ENOMEM;
        }
        return step_write(st, s, "deployment", e);
}

int store_deploy_get(struct store *st, const char *name, json_t **doc, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DEP_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        return get_one(st, s, "deployment", doc, e);
}

int store_deploy_list(struct store *st, int64_t after, unsigned limit, json_t **docs, int64_t *next,
                      int *more, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DEP_LIST, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, after);
        sqlite3_bind_int64(s, 2, limit);
        *next = after;
        return collect(st, s, limit, docs, next, more, e);
}

int store_deploy_delete(struct store *st, const char *name, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DEP_DELETE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        return db_changed(st, s, "deployment", e);
}

int store_revision_put(struct store *st, const char *name, int64_t number, const json_t *doc,
                       struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_REV_PUT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, number);
        if (bind_doc(s, 3, doc, e) < 0) {
                sqlite3_reset(s);
                return -ENOMEM;
        }
        return step_write(st, s, "revision", e);
}

int store_revision_get(struct store *st, const char *name, int64_t number, json_t **doc,
                       struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_REV_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, number);
        return get_one(st, s, "revision", doc, e);
}

int store_revision_list(struct store *st, const char *name, int64_t before, unsigned limit,
                        json_t **docs, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_REV_LIST, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, before);
        sqlite3_bind_int64(s, 3, limit);
        return collect(st, s, limit, docs, NULL, NULL, e);
}

int store_run_put(struct store *st, const char *id, const char *name, const json_t *doc,
                  struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_RUN_PUT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        if (bind_doc(s, 3, doc, e) < 0) {
                sqlite3_reset(s);
                return -ENOMEM;
        }
        return step_write(st, s, "run", e);
}

int store_run_get(struct store *st, const char *id, json_t **doc, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_RUN_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return get_one(st, s, "run", doc, e);
}

int store_run_list(struct store *st, const char *name, int64_t before, unsigned limit,
                   json_t **docs, int64_t *next, int *more, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_RUN_LIST, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, before > 0 ? before : INT64_MAX);
        sqlite3_bind_int64(s, 3, limit);
        *next = 0;
        return collect(st, s, limit, docs, next, more, e);
}

int store_run_open(struct store *st, json_t **docs, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_RUN_OPEN, e);
        if (!s)
                return -EIO;
        return collect(st, s, 10000, docs, NULL, NULL, e);
}
