/* Webhook endpoints, their delivery outbox and the log of every attempt (store/webhooks.c).
 * Included by store.h; the same rules apply (loop thread, 0 or -errno with e set). */
#ifndef NS_STORE_WEBHOOKS_H
#define NS_STORE_WEBHOOKS_H
#include <stdint.h>

#define WEBHOOK_ID_MAX  24
#define WEBHOOK_URL_MAX 2048

struct webhook_rec {
        char id[WEBHOOK_ID_MAX];
        char url[WEBHOOK_URL_MAX];
        char *events; /* JSON array of type filters, owned (store_webhook_rec_free) */
        int enabled;
        char secret[64]; /* "whsec_" + base64 of 32 random bytes */
        char description[256];
        char previous_secret[64]; /* after a rotation: still signed with until previous_until */
        int64_t previous_until;   /* ms since epoch (0: none) */
        int64_t created_at, updated_at;
        int64_t rowid; /* listing cursor */
};

void store_webhook_rec_free(struct webhook_rec *w);

/* Inserts w (every field but rowid). -EEXIST on a duplicate id. */
int store_webhook_insert(struct store *st, const struct webhook_rec *w, struct err *e);

/* Reads webhook id into out. -ENOENT when absent. */
int store_webhook_get(struct store *st, const char *id, struct webhook_rec *out, struct err *e);

/* Webhooks with rowid > after, oldest first; *out calloc'd (free each, then the array). */
int store_webhook_list(struct store *st, int64_t after, unsigned limit, struct webhook_rec **out,
                       size_t *n, struct err *e);

/* Rewrites url, events, enabled, secret, description and updated_at of w->id. -ENOENT. */
int store_webhook_update(struct store *st, const struct webhook_rec *w, struct err *e);

/* Deletes a webhook with its deliveries and their attempts. -ENOENT when absent. */
int store_webhook_delete(struct store *st, const char *id, struct err *e);

/* One event's delivery to one webhook. */
struct delivery_rec {
        char id[WEBHOOK_ID_MAX];
        char webhook_id[WEBHOOK_ID_MAX];
        int64_t event_seq;
        char event_id[24];
        char type[48];
        char state[12]; /* pending, delivered, failed */
        int attempts;
        int64_t next_at, created_at, updated_at;
        int64_t rowid;
};

/* Leases up to `limit` deliveries of webhook_id that are due at `now`: their next_at
 * becomes `until` (so a daemon killed while sending retries them after it restarts).
 * *out calloc'd; each row has id, webhook_id, event_seq, attempts (type and event_id
 * are left empty). */
int store_delivery_lease(struct store *st, const char *webhook_id, int64_t now, int64_t until,
                         unsigned limit, struct delivery_rec **out, size_t *n, struct err *e);

/* The outcome of one attempt. */
struct attempt_rec {
        int64_t at; /* ms since epoch, when it started */
        int status; /* HTTP status, 0 when none came */
        int duration_ms;
        char error[256]; /* "" on an HTTP answer */
        char *response;  /* the answer's body, truncated; owned (may be NULL) */
};

/* Logs attempt `a` of delivery id and moves it to state (pending with next_at, or
 * delivered/failed). */
int store_delivery_record(struct store *st, const char *id, const struct attempt_rec *a,
                          const char *state, int64_t next_at, struct err *e);

/* Deliveries of a webhook, newest first, rowid < before (0: from the newest). */
int store_delivery_list(struct store *st, const char *webhook_id, int64_t before, unsigned limit,
                        struct delivery_rec **out, size_t *n, struct err *e);

/* One delivery of webhook_id. -ENOENT. */
int store_delivery_get(struct store *st, const char *webhook_id, const char *id,
                       struct delivery_rec *out, struct err *e);

/* A delivery's attempts, oldest first, at most limit; *out calloc'd (free each response). */
int store_attempt_list(struct store *st, const char *delivery_id, unsigned limit,
                       struct attempt_rec **out, size_t *n, struct err *e);

/* Queues delivery id of webhook_id again, due now. -ENOENT. */
int store_delivery_redeliver(struct store *st, const char *webhook_id, const char *id, int64_t now,
                             struct err *e);

/* Makes every leased delivery due at `now` again: at start-up, nothing a previous daemon
 * had in flight is still being sent. Returns how many, or -EIO. */
int store_delivery_unlease(struct store *st, int64_t now, struct err *e);

/* The earliest next_at of a pending delivery of webhook_id, or INT64_MAX. */
int64_t store_delivery_next_due(struct store *st, const char *webhook_id);

/* Starts and ends a batch of writes in one transaction (not nested). */
int store_begin(struct store *st, struct err *e);
int store_commit(struct store *st, struct err *e);

#endif
