/* Lifecycle events: one append-only log with a sequence number, and the webhook outbox
 * filled in the same transaction as the event it delivers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "../common/util.h"

void store_set_event_hook(struct store *st, const struct store_event_hook *hook)
{
        st->hook = hook ? *hook : (struct store_event_hook){0};
}

void store_event_rec_free(struct event_rec *ev)
{
        free(ev->data);
        ev->data = NULL;
}

static int append_rows(struct store *st, struct event_rec *ev, unsigned *fanout, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_EV_APPEND, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, ev->ts);
        sqlite3_bind_text(s, 2, ev->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, ev->subject_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, ev->subject_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, ev->data ? ev->data : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, ev->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, ev->reason[0] ? ev->reason : "system", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, ev->key_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
                return db_fail(st, e, "append event");
        ev->seq = (int64_t)sqlite3_last_insert_rowid(st->db);
        if (!(s = db_stmt(st, ST_EV_FANOUT, e)))
                return -EIO;
        sqlite3_bind_int64(s, 1, ev->seq);
        sqlite3_bind_int64(s, 2, ev->ts);
        sqlite3_bind_text(s, 3, ev->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, ev->subject_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
                return db_fail(st, e, "queue deliveries");
        *fanout = (unsigned)sqlite3_changes(st->db);
        return 0;
}

int store_event_append(struct store *st, struct event_rec *ev, struct err *e)
{
        if (!ev->id[0] && rand_id("ev_", 8, ev->id, sizeof(ev->id)) < 0)
                return err_set(e, EIO, "event id");
        unsigned fanout = 0;
        int r = db_exec(st, "SAVEPOINT event;", e);
        if (r == 0)
                r = append_rows(st, ev, &fanout, e);
        if (r == 0)
                r = db_exec(st, "RELEASE event;", e);
        if (r < 0) {
                db_exec(st, "ROLLBACK TO event; RELEASE event;", NULL);
                return r;
        }
        if (st->hook.fn)
                st->hook.fn(st->hook.ud, ev, fanout);
        return 0;
}

static void read_event(sqlite3_stmt *s, void *row)
{
        struct event_rec *r = row;
        r->seq = sqlite3_column_int64(s, 0);
        r->ts = sqlite3_column_int64(s, 1);
        db_column_text(s, 2, r->kind, sizeof(r->kind));
        db_column_text(s, 3, r->subject_type, sizeof(r->subject_type));
        db_column_text(s, 4, r->subject_id, sizeof(r->subject_id));
        const unsigned char *d = sqlite3_column_text(s, 5);
        r->data = strdup(d ? (const char *)d : "{}");
        db_column_text(s, 6, r->id, sizeof(r->id));
        db_column_text(s, 7, r->reason, sizeof(r->reason));
        db_column_text(s, 8, r->key_id, sizeof(r->key_id));
}

static void free_event(void *row)
{
        store_event_rec_free(row);
}

int store_event_query(struct store *st, const struct event_filter *f, unsigned limit,
                      struct event_rec **out, size_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_EV_QUERY, e);
        if (!s)
                return -EIO;
        if (f->subject_type)
                sqlite3_bind_text(s, 1, f->subject_type, -1, SQLITE_STATIC);
        if (f->subject_id)
                sqlite3_bind_text(s, 2, f->subject_id, -1, SQLITE_STATIC);
        if (f->type)
                sqlite3_bind_text(s, 3, f->type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, f->after_seq);
        sqlite3_bind_int64(s, 5, f->since_ts);
        sqlite3_bind_int64(s, 6, limit);
        return db_collect_rows(st, s, limit, sizeof(**out), read_event, free_event, (void **)out, n,
                               e);
}

int store_event_get(struct store *st, int64_t seq, struct event_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_EV_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, seq);
        return db_get_row(st, s, read_event, out, "event", e);
}

int64_t store_event_last_seq(struct store *st)
{
        sqlite3_stmt *s = db_stmt(st, ST_EV_LAST, NULL);
        if (!s)
                return 0;
        int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_reset(s);
        return v;
}

int store_event_prune(struct store *st, int64_t before_ts, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_EV_PRUNE_DELIVERIES, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, before_ts);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE || !(s = db_stmt(st, ST_EV_PRUNE, e)))
                return db_fail(st, e, "prune deliveries");
        sqlite3_bind_int64(s, 1, before_ts);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
                return db_fail(st, e, "prune events");
        return sqlite3_changes(st->db);
}
