/* Webhook delivery: events the store queued for each endpoint (its durable outbox) are
 * sent from the loop with libcurl's multi interface, signed per Standard Webhooks, a
 * bounded number in flight per endpoint so one slow endpoint never holds up another,
 * retried with backoff and jitter on network errors, 408, 429 and 5xx (the schedule in
 * docs/observability.md), every attempt logged. Loop thread only. */
#ifndef NS_CORE_WEBHOOKS_H
#define NS_CORE_WEBHOOKS_H
#include <stdint.h>

#include "../common/err.h"

struct core;

#define WEBHOOK_INFLIGHT_MAX    32    /* requests in flight per endpoint */
#define WEBHOOK_TIMEOUT_MS      10000 /* one attempt, connection included */
#define WEBHOOK_RESPONSE_KEEP   1024  /* bytes of an answer's body kept in the attempt log */
#define WEBHOOK_ATTEMPTS_MAX    10    /* then the delivery is failed */
#define WEBHOOK_ROTATE_GRACE_MS (24 * 3600 * 1000LL) /* a rotated-out secret still signs */

/* Counters since start (Prometheus). */
struct webhook_stats {
        uint64_t delivered, failed, retried; /* deliveries that ended so, attempts retried */
        uint64_t attempts;
        uint64_t inflight;
};

/* Starts the sender: loads the endpoints and sends what is due (also what a daemon
 * stopped or killed before left pending). allow_private: targets on loopback,
 * link-local and private addresses are reached (else refused at connect time).
 * 0 or -errno with e. */
int webhooks_start(struct core *core, int allow_private, struct err *e);

/* Sends what became due (new events queued deliveries; a redelivery). Cheap: the work
 * runs from a timer. */
void webhooks_kick(struct core *core);

/* The endpoints changed (created, updated, deleted): reloads them, then kicks. */
void webhooks_reload(struct core *core);

/* Aborts what is in flight (their leases expire; the next start sends them again) and
 * frees the sender. */
void webhooks_stop(struct core *core);

/* The counters (zeros when not started). */
struct webhook_stats webhooks_stats(const struct core *core);

/* Whether targets on private addresses are allowed (the daemon's flag). */
int webhooks_allow_private(const struct core *core);

/* The delay before attempt n+1 after n failed attempts (ms, without jitter), or -1 when
 * n attempts are the last. */
int64_t webhook_retry_delay_ms(int n);

#endif
