/* Lifecycle events: an append-only log per subject (machine, snapshot, ...). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

int store_event_append(struct store *st, int64_t ts, const char *kind, const char *subject_type,
                       const char *subject_id, const char *data, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_EV_APPEND, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, ts);
        sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, subject_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, subject_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, data ? data : "{}", -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
                return db_fail(st, e, "append event");
        if (st->hook.fn)
                st->hook.fn(st->hook.ud, (int64_t)sqlite3_last_insert_rowid(st->db), ts, kind,
                            subject_type, subject_id, data ? data : "{}");
        return 0;
}

void store_set_event_hook(struct store *st, const struct store_event_hook *hook)
{
        st->hook = hook ? *hook : (struct store_event_hook){0};
}

int store_event_list(struct store *st, const char *subject_type, const char *subject_id,
                     int64_t after_seq, unsigned limit, struct event_rec **out, size_t *n,
                     struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_EV_LIST, e);
        if (!s)
                return -EIO;
        struct event_rec *v = calloc(limit ? limit : 1, sizeof(*v));
        if (!v)
                return err_set(e, ENOMEM, "list events");
        sqlite3_bind_text(s, 1, subject_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, subject_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, after_seq);
        sqlite3_bind_int64(s, 4, limit);
        size_t k = 0;
        int rc = SQLITE_DONE;
        while (k < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                struct event_rec *r = &v[k++];
                r->seq = sqlite3_column_int64(s, 0);
                r->ts = sqlite3_column_int64(s, 1);
                db_column_text(s, 2, r->kind, sizeof(r->kind));
                db_column_text(s, 3, r->subject_id, sizeof(r->subject_id));
                const unsigned char *d = sqlite3_column_text(s, 4);
                r->data = strdup(d ? (const char *)d : "{}");
        }
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                for (size_t i = 0; i < k; i++)
                        free(v[i].data);
                free(v);
                return db_fail(st, e, "list events");
        }
        *out = v;
        *n = k;
        return 0;
}
