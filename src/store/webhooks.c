/* Webhook endpoints, the delivery outbox and the attempt log. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

void store_webhook_rec_free(struct webhook_rec *w)
{
        free(w->events);
        w->events = NULL;
}

static void bind_webhook(sqlite3_stmt *s, int first, const struct webhook_rec *w)
{
        sqlite3_bind_text(s, first, w->url, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, first + 1, w->events ? w->events : "[\"*\"]", -1, SQLITE_STATIC);
        sqlite3_bind_int(s, first + 2, w->enabled);
        sqlite3_bind_text(s, first + 3, w->secret, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, first + 4, w->description, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, first + 5, w->previous_secret, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, first + 6, w->previous_until);
}

int store_webhook_insert(struct store *st, const struct webhook_rec *w, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_WH_INSERT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
        bind_webhook(s, 2, w);
        sqlite3_bind_int64(s, 9, w->created_at);
        sqlite3_bind_int64(s, 10, w->updated_at);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc == SQLITE_CONSTRAINT)
                return err_set(e, EEXIST, "webhook %s exists", w->id);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "insert webhook");
}

static void read_webhook(sqlite3_stmt *s, void *row)
{
        struct webhook_rec *w = row;
        db_column_text(s, 0, w->id, sizeof(w->id));
        db_column_text(s, 1, w->url, sizeof(w->url));
        const unsigned char *ev = sqlite3_column_text(s, 2);
        w->events = strdup(ev ? (const char *)ev : "[]");
        w->enabled = sqlite3_column_int(s, 3);
        db_column_text(s, 4, w->secret, sizeof(w->secret));
        db_column_text(s, 5, w->description, sizeof(w->description));
        w->created_at = sqlite3_column_int64(s, 6);
        w->updated_at = sqlite3_column_int64(s, 7);
        w->rowid = sqlite3_column_int64(s, 8);
        db_column_text(s, 9, w->previous_secret, sizeof(w->previous_secret));
        w->previous_until = sqlite3_column_int64(s, 10);
}

static void free_webhook(void *row)
{
        store_webhook_rec_free(row);
}

int store_webhook_get(struct store *st, const char *id, struct webhook_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_WH_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_webhook, out, "webhook", e);
}

int store_webhook_list(struct store *st, int64_t after, unsigned limit, struct webhook_rec **out,
                       size_t *n, struct err *e)
{
        return db_page(st, ST_WH_LIST, after, limit, sizeof(**out), read_webhook, free_webhook,
                       (void **)out, n, e);
}

int store_webhook_update(struct store *st, const struct webhook_rec *w, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_WH_UPDATE, e);
        if (!s)
                return -EIO;
        bind_webhook(s, 1, w);
        sqlite3_bind_int64(s, 8, w->updated_at);
        sqlite3_bind_text(s, 9, w->id, -1, SQLITE_STATIC);
        return db_changed(st, s, "webhook", e);
}

int store_webhook_delete(struct store *st, const char *id, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_WH_DELETE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "webhook", e);
}

static void read_delivery(sqlite3_stmt *s, void *row)
{
        struct delivery_rec *d = row;
        db_column_text(s, 0, d->id, sizeof(d->id));
        db_column_text(s, 1, d->webhook_id, sizeof(d->webhook_id));
        d->event_seq = sqlite3_column_int64(s, 2);
        db_column_text(s, 3, d->event_id, sizeof(d->event_id));
        db_column_text(s, 4, d->type, sizeof(d->type));
        db_column_text(s, 5, d->state, sizeof(d->state));
        d->attempts = sqlite3_column_int(s, 6);
        d->next_at = sqlite3_column_int64(s, 7);
        d->created_at = sqlite3_column_int64(s, 8);
        d->updated_at = sqlite3_column_int64(s, 9);
        d->rowid = sqlite3_column_int64(s, 10);
}

static void read_leased(sqlite3_stmt *s, void *row)
{
        struct delivery_rec *d = row;
        db_column_text(s, 0, d->id, sizeof(d->id));
        d->event_seq = sqlite3_column_int64(s, 1);
        d->attempts = sqlite3_column_int(s, 2);
        snprintf(d->state, sizeof(d->state), "pending");
}

int store_delivery_lease(struct store *st, const char *webhook_id, int64_t now, int64_t until,
                         unsigned limit, struct delivery_rec **out, size_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DL_LEASE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, webhook_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, now);
        sqlite3_bind_int64(s, 3, until);
        sqlite3_bind_int64(s, 4, limit);
        int r = db_collect_rows(st, s, limit, sizeof(**out), read_leased, NULL, (void **)out, n, e);
        for (size_t i = 0; r == 0 && i < *n; i++) {
                snprintf((*out)[i].webhook_id, sizeof((*out)[i].webhook_id), "%s", webhook_id);
                (*out)[i].next_at = until;
        }
        return r;
}

int store_delivery_record(struct store *st, const char *id, const struct attempt_rec *a,
                          const char *state, int64_t next_at, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DL_ATTEMPT, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, a->at);
        sqlite3_bind_int(s, 3, a->status);
        sqlite3_bind_int(s, 4, a->duration_ms);
        sqlite3_bind_text(s, 5, a->error, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, a->response ? a->response : "", -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
                return db_fail(st, e, "log attempt");
        if (!(s = db_stmt(st, ST_DL_SET, e)))
                return -EIO;
        sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, next_at);
        sqlite3_bind_int64(s, 3, a->at + a->duration_ms);
        sqlite3_bind_text(s, 4, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "delivery", e);
}

int store_delivery_list(struct store *st, const char *webhook_id, int64_t before, unsigned limit,
                        struct delivery_rec **out, size_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DL_LIST, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, webhook_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, before);
        sqlite3_bind_int64(s, 3, limit);
        return db_collect_rows(st, s, limit, sizeof(**out), read_delivery, NULL, (void **)out, n,
                               e);
}

int store_delivery_get(struct store *st, const char *webhook_id, const char *id,
                       struct delivery_rec *out, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DL_GET, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, webhook_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        return db_get_row(st, s, read_delivery, out, "delivery", e);
}

static void read_attempt(sqlite3_stmt *s, void *row)
{
        struct attempt_rec *a = row;
        a->at = sqlite3_column_int64(s, 0);
        a->status = sqlite3_column_int(s, 1);
        a->duration_ms = sqlite3_column_int(s, 2);
        db_column_text(s, 3, a->error, sizeof(a->error));
        const unsigned char *r = sqlite3_column_text(s, 4);
        a->response = strdup(r ? (const char *)r : "");
}

static void free_attempt(void *row)
{
        free(((struct attempt_rec *)row)->response);
}

int store_attempt_list(struct store *st, const char *delivery_id, unsigned limit,
                       struct attempt_rec **out, size_t *n, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DL_ATTEMPTS, e);
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, delivery_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, limit);
        return db_collect_rows(st, s, limit, sizeof(**out), read_attempt, free_attempt,
                               (void **)out, n, e);
}

int store_delivery_redeliver(struct store *st, const char *webhook_id, const char *id, int64_t now,
                             struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DL_REDELIVER, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, now);
        sqlite3_bind_int64(s, 2, now);
        sqlite3_bind_text(s, 3, webhook_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, id, -1, SQLITE_STATIC);
        return db_changed(st, s, "delivery", e);
}

int store_delivery_unlease(struct store *st, int64_t now, struct err *e)
{
        sqlite3_stmt *s = db_stmt(st, ST_DL_UNLEASE, e);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, now);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? sqlite3_changes(st->db) : db_fail(st, e, "unlease deliveries");
}

int64_t store_delivery_next_due(struct store *st, const char *webhook_id)
{
        sqlite3_stmt *s = db_stmt(st, ST_DL_NEXT, NULL);
        if (!s)
                return INT64_MAX;
        sqlite3_bind_text(s, 1, webhook_id, -1, SQLITE_STATIC);
        int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : INT64_MAX;
        sqlite3_reset(s);
        return v;
}

int store_begin(struct store *st, struct err *e)
{
        return db_exec(st, "BEGIN IMMEDIATE;", e);
}

int store_commit(struct store *st, struct err *e)
{
        int r = db_exec(st, "COMMIT;", e);
        if (r < 0)
                db_exec(st, "ROLLBACK;", NULL);
        return r;
}
