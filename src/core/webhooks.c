/* The webhook sender: leases due deliveries from the store's outbox per endpoint, sends
 * them with libcurl's multi interface driven by the loop (sockets as loop ios, curl's
 * timeout as a loop timer), and writes each outcome back in the next pump's transaction. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core.h"
#include "webhook_sign.h"
#include "webhooks.h"
#include "../common/cleanup.h"
#include "../common/log.h"
#include "../common/util.h"

struct wh_endpoint {
        char id[WEBHOOK_ID_MAX];
        char url[WEBHOOK_URL_MAX];
        char secret[64];
        char previous[64];      /* the secret before a rotation, also signed with ... */
        int64_t previous_until; /* ... until then (ms since epoch) */
        unsigned inflight;
};

struct wh_send {
        struct webhooks *w;
        CURL *easy;
        struct curl_slist *hdrs;
        char *body;
        char delivery_id[WEBHOOK_ID_MAX];
        char webhook_id[WEBHOOK_ID_MAX];
        int attempts_before;
        int refused; /* the target resolved to an address not allowed */
        int64_t started_at;
        uint64_t started_ns;
        char resp[WEBHOOK_RESPONSE_KEEP + 1];
        size_t resp_len;
        struct wh_send *next;
};

/* An outcome waiting for the next pump's transaction. */
struct wh_result {
        char delivery_id[WEBHOOK_ID_MAX];
        struct attempt_rec a;
        char state[12];
        int64_t next_at;
        struct wh_result *next;
};

struct wh_sock {
        struct loop_io io;
        struct webhooks *w;
};

#define PUMP_MIN_MS 2  /* pumps (each one transaction) at most this often under load */
#define BODY_CACHE  32 /* events whose body one pump serialised (shared by endpoints) */

struct webhooks {
        struct core *core;
        CURLM *multi;
        struct loop_timer curl_timer, pump_timer;
        struct wh_endpoint *eps;
        size_t neps;
        struct wh_send *sends;
        struct wh_result *results;
        int allow_private;
        struct webhook_stats stats;
        uint64_t last_pump; /* loop ms */
        struct {
                int64_t seq;
                char id[EVENT_ID_MAX];
                char *body;
        } bodies[BODY_CACHE];
        unsigned nbodies, evict;
};

static const int64_t retry_ms[] = {1000,    5000,    30000,   120000,  600000,
                                   1800000, 3600000, 7200000, 14400000};

int64_t webhook_retry_delay_ms(int n)
{
        if (n < 1 || n >= WEBHOOK_ATTEMPTS_MAX || (size_t)n > ARRAY_SIZE(retry_ms))
                return -1;
        return retry_ms[n - 1];
}

static struct wh_endpoint *endpoint(struct webhooks *w, const char *id)
{
        for (size_t i = 0; i < w->neps; i++)
                if (strcmp(w->eps[i].id, id) == 0)
                        return &w->eps[i];
        return NULL;
}

static void on_pump(struct loop_timer *t);

/* Runs the pump after delay ms, and never sooner than PUMP_MIN_MS after the last one. */
static void arm_pump(struct webhooks *w, uint64_t delay)
{
        uint64_t now = w->core->loop.now_ms, earliest = w->last_pump + PUMP_MIN_MS;
        if (now + delay < earliest)
                delay = earliest - now;
        if (w->pump_timer.armed && w->pump_timer.due_ms <= now + delay)
                return;
        loop_timer_arm(&w->core->loop, &w->pump_timer, delay, on_pump);
}

/* ---- outcomes -------------------------------------------------------------------------- */

static int retryable(CURLcode res, long status)
{
        return res != CURLE_OK || status == 408 || status == 429 || status >= 500;
}

/* Seconds of a Retry-After header in seconds form (0 when none or a date). */
static int64_t retry_after_s(CURL *easy)
{
        struct curl_header *h = NULL;
        if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h)
                return 0;
        char *end = NULL;
        long long v = strtoll(h->value, &end, 10);
        return end && end != h->value && *end == '\0' && v > 0 ? v : 0;
}

static void decide(struct wh_send *s, CURLcode res, long status, struct wh_result *r)
{
        int64_t now = r->a.at + r->a.duration_ms;
        int n = s->attempts_before + 1;
        if (res == CURLE_OK && status >= 200 && status < 300) {
                snprintf(r->state, sizeof(r->state), "delivered");
                s->w->stats.delivered++;
                return;
        }
        int64_t delay = !s->refused && retryable(res, status) ? webhook_retry_delay_ms(n) : -1;
        if (delay < 0) {
                snprintf(r->state, sizeof(r->state), "failed");
                s->w->stats.failed++;
                return;
        }
        uint32_t j = 0;
        rand_bytes(&j, sizeof(j));
        delay = delay * 8 / 10 + (int64_t)(j % (uint32_t)(delay * 4 / 10 + 1)); /* ±20% */
        int64_t after = (status == 429 || status == 503) ? retry_after_s(s->easy) * 1000 : 0;
        if (after > delay)
                delay = after < 3600000 ? after : 3600000;
        snprintf(r->state, sizeof(r->state), "pending");
        r->next_at = now + delay;
        s->w->stats.retried++;
}

static void send_free(struct wh_send *s)
{
        if (s->easy) {
                curl_multi_remove_handle(s->w->multi, s->easy);
                curl_easy_cleanup(s->easy);
        }
        curl_slist_free_all(s->hdrs);
        free(s->body);
        free(s);
}

static void finish(struct wh_send *s, CURLcode res)
{
        struct webhooks *w = s->w;
        struct wh_result *r = calloc(1, sizeof(*r));
        long status = 0;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
        if (r) {
                snprintf(r->delivery_id, sizeof(r->delivery_id), "%s", s->delivery_id);
                r->a.at = s->started_at;
                r->a.duration_ms = (int)((time_mono_ns() - s->started_ns) / 1000000);
                r->a.status = (int)status;
                if (s->refused)
                        snprintf(r->a.error, sizeof(r->a.error),
                                 "the target resolved to a loopback, link-local or private "
                                 "address (see --webhook-allow-private)");
                else if (res != CURLE_OK)
                        snprintf(r->a.error, sizeof(r->a.error), "%s", curl_easy_strerror(res));
                s->resp[s->resp_len] = '\0';
                r->a.response = strdup(s->resp);
                decide(s, res, status, r);
                r->next = w->results;
                w->results = r;
        }
        w->stats.attempts++;
        struct wh_endpoint *ep = endpoint(w, s->webhook_id);
        if (ep && ep->inflight)
                ep->inflight--;
        w->stats.inflight--;
        for (struct wh_send **pp = &w->sends; *pp; pp = &(*pp)->next)
                if (*pp == s) {
                        *pp = s->next;
                        break;
                }
        send_free(s);
        arm_pump(w, 0);
}

static void check_done(struct webhooks *w)
{
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(w->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                struct wh_send *s = NULL;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
                if (s)
                        finish(s, msg->data.result);
        }
}

/* ---- libcurl on the loop --------------------------------------------------------------- */

static void on_sock(struct loop_io *io, uint32_t events)
{
        struct wh_sock *k = (struct wh_sock *)io;
        struct webhooks *w = k->w;
        int flags = (events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                    (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        int running;
        curl_multi_socket_action(w->multi, io->fd, flags, &running);
        check_done(w);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        (void)easy;
        struct webhooks *w = userp;
        struct wh_sock *k = socketp;
        if (what == CURL_POLL_REMOVE) {
                if (k) {
                        loop_io_del(&w->core->loop, &k->io);
                        free(k);
                }
                return 0;
        }
        uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (k)
                return loop_io_mod(&w->core->loop, &k->io, ev) < 0 ? -1 : 0;
        k = calloc(1, sizeof(*k));
        if (!k)
                return -1;
        k->w = w;
        k->io.fd = fd;
        k->io.cb = on_sock;
        if (loop_io_add(&w->core->loop, &k->io, ev, NULL) < 0) {
                free(k);
                return -1;
        }
        curl_multi_assign(w->multi, fd, k);
        return 0;
}

static void on_curl_timer(struct loop_timer *t)
{
        struct webhooks *w = (struct webhooks *)((char *)t - offsetof(struct webhooks, curl_timer));
        int running;
        curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(w);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
        (void)multi;
        struct webhooks *w = userp;
        if (timeout_ms < 0)
                loop_timer_cancel(&w->core->loop, &w->curl_timer);
        else
                loop_timer_arm(&w->core->loop, &w->curl_timer, (uint64_t)timeout_ms, on_curl_timer);
        return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
        struct wh_send *s = ud;
        size_t len = size * n, room = WEBHOOK_RESPONSE_KEEP - s->resp_len;
        size_t take = len < room ? len : room;
        memcpy(s->resp + s->resp_len, p, take);
        s->resp_len += take;
        return len;
}

static curl_socket_t open_sock(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
        (void)purpose;
        struct wh_send *s = ud;
        if (!s->w->allow_private && webhook_addr_private(&a->addr)) {
                s->refused = 1;
                return CURL_SOCKET_BAD;
        }
        return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* ---- sending ----------------------------------------------------------------------------- */

static int add_header(struct wh_send *s, const char *name, const char *v)
{
        char line[256];
        snprintf(line, sizeof(line), "%s: %s", name, v);
        struct curl_slist *l = curl_slist_append(s->hdrs, line);
        if (!l)
                return -1;
        s->hdrs = l;
        return 0;
}

/* The event's body (serialised once per pump for every endpoint), or NULL when the
 * event is gone. Borrowed until the pump ends. */
static const char *event_body(struct webhooks *w, int64_t seq, const char **id)
{
        for (unsigned i = 0; i < w->nbodies; i++)
                if (w->bodies[i].seq == seq) {
                        *id = w->bodies[i].id;
                        return w->bodies[i].body;
                }
        struct event_rec ev = {0};
        if (store_event_get(w->core->store, seq, &ev, NULL) < 0)
                return NULL;
        json_t *view = event_view(&ev);
        char *body = view ? json_dumps(view, JSON_COMPACT) : NULL;
        json_decref(view);
        /* a full cache gives up its oldest entry (its body was copied by whoever used it) */
        unsigned k = w->nbodies < BODY_CACHE ? w->nbodies++ : w->evict++ % BODY_CACHE;
        free(w->bodies[k].body);
        w->bodies[k].seq = body ? seq : 0;
        w->bodies[k].body = body;
        snprintf(w->bodies[k].id, sizeof(w->bodies[k].id), "%s", ev.id);
        *id = w->bodies[k].id;
        store_event_rec_free(&ev);
        return body;
}

static void drop_bodies(struct webhooks *w)
{
        for (unsigned i = 0; i < w->nbodies; i++) {
                free(w->bodies[i].body);
                w->bodies[i].body = NULL;
        }
        w->nbodies = w->evict = 0;
}

/* The request to ep: body (copied: curl may send it after the pump), signed under msg_id.
 * -1 when it cannot be made. */
static int prepare(struct wh_send *s, const struct wh_endpoint *ep, const char *msg_id,
                   const char *body)
{
        s->body = strdup(body);
        char ts[24], sig[2 * WEBHOOK_SIG_MAX];
        int64_t now_s = s->started_at / 1000;
        snprintf(ts, sizeof(ts), "%lld", (long long)now_s);
        if (!s->body || webhook_sign(ep->secret, msg_id, now_s, s->body, strlen(s->body), sig) < 0)
                return -1;
        if (ep->previous[0] && s->started_at < ep->previous_until) { /* a rotation's overlap */
                size_t n = strlen(sig);
                sig[n++] = ' ';
                if (webhook_sign(ep->previous, msg_id, now_s, s->body, strlen(s->body), sig + n) <
                    0)
                        sig[n - 1] = '\0';
        }
        if (add_header(s, "Content-Type", "application/json") < 0 ||
            add_header(s, "User-Agent", "Nullspace-Webhooks/1") < 0 ||
            add_header(s, "webhook-id", msg_id) < 0 || add_header(s, "webhook-timestamp", ts) < 0 ||
            add_header(s, "webhook-signature", sig) < 0 || !(s->easy = curl_easy_init()))
                return -1;
        CURL *c = s->easy;
        curl_easy_setopt(c, CURLOPT_URL, ep->url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->hdrs);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS / 2);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_sock);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, s);
        curl_easy_setopt(c, CURLOPT_PRIVATE, s);
        return curl_multi_add_handle(s->w->multi, c) == CURLM_OK ? 0 : -1;
}

/* Records an outcome that needs no request (the event is gone, the request cannot be
 * made): failed at once. */
static void fail_now(struct webhooks *w, const struct delivery_rec *d, const char *why)
{
        struct wh_result *r = calloc(1, sizeof(*r));
        if (!r)
                return;
        snprintf(r->delivery_id, sizeof(r->delivery_id), "%s", d->id);
        snprintf(r->state, sizeof(r->state), "failed");
        snprintf(r->a.error, sizeof(r->a.error), "%s", why);
        r->a.at = time_wall_ms();
        r->next = w->results;
        w->results = r;
        w->stats.failed++;
}

static void start_send(struct webhooks *w, struct wh_endpoint *ep, const struct delivery_rec *d)
{
        const char *msg_id = NULL;
        const char *body = event_body(w, d->event_seq, &msg_id);
        if (!body) {
                fail_now(w, d, "the event is no longer stored (retention)");
                return;
        }
        struct wh_send *s = calloc(1, sizeof(*s));
        if (!s) {
                fail_now(w, d, "out of memory");
                return;
        }
        s->w = w;
        snprintf(s->delivery_id, sizeof(s->delivery_id), "%s", d->id);
        snprintf(s->webhook_id, sizeof(s->webhook_id), "%s", ep->id);
        s->attempts_before = d->attempts;
        s->started_at = time_wall_ms();
        s->started_ns = time_mono_ns();
        if (prepare(s, ep, msg_id, body) < 0) {
                send_free(s);
                fail_now(w, d, "the request could not be made (secret or memory)");
                return;
        }
        s->next = w->sends;
        w->sends = s;
        ep->inflight++;
        w->stats.inflight++;
}

/* ---- the pump: outcomes written, due deliveries leased and sent, one transaction ------- */

static void flush_results(struct webhooks *w)
{
        while (w->results) {
                struct wh_result *r = w->results;
                w->results = r->next;
                struct err e = {0};
                int rc = store_delivery_record(w->core->store, r->delivery_id, &r->a, r->state,
                                               r->next_at, &e);
                if (rc < 0 && rc != -ENOENT) /* ENOENT: its webhook was deleted meanwhile */
                        log_warn("webhook_record_failed", "delivery=%s error=%s", r->delivery_id,
                                 e.msg);
                free(r->a.response);
                free(r);
        }
}

/* Leases and sends what is due for every endpoint with room; returns the earliest time
 * something not leased now falls due (INT64_MAX: nothing; now: an endpoint is full and a
 * completion will pump again). */
static int64_t lease_due(struct webhooks *w, int64_t now)
{
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < w->neps; i++) {
                struct wh_endpoint *ep = &w->eps[i];
                unsigned room = WEBHOOK_INFLIGHT_MAX - ep->inflight;
                struct delivery_rec *v = NULL;
                size_t n = 0;
                if (room && store_delivery_lease(w->core->store, ep->id, now,
                                                 now + WEBHOOK_TIMEOUT_MS + 30000, room, &v, &n,
                                                 NULL) == 0) {
                        for (size_t k = 0; k < n; k++)
                                start_send(w, ep, &v[k]);
                        free(v);
                }
                if (room && n < room) { /* all that was due went: when is the next? */
                        int64_t due = store_delivery_next_due(w->core->store, ep->id);
                        next = due < next ? due : next;
                }
        }
        return next;
}

static void on_pump(struct loop_timer *t)
{
        struct webhooks *w = (struct webhooks *)((char *)t - offsetof(struct webhooks, pump_timer));
        int64_t now = time_wall_ms();
        w->last_pump = w->core->loop.now_ms;
        struct err e = {0};
        if (store_begin(w->core->store, &e) < 0) {
                log_warn("webhook_pump_failed", "error=%s", e.msg);
                loop_timer_arm(&w->core->loop, &w->pump_timer, 1000, on_pump);
                return;
        }
        flush_results(w);
        int64_t next = lease_due(w, now);
        if (store_commit(w->core->store, &e) < 0)
                log_warn("webhook_pump_failed", "error=%s", e.msg);
        drop_bodies(w);
        int running;
        curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(w);
        if (next != INT64_MAX && !w->pump_timer.armed) {
                int64_t d = next - time_wall_ms();
                arm_pump(w, d > 60000 ? 60000 : d > 0 ? (uint64_t)d : 0);
        }
}

/* ---- life ---------------------------------------------------------------------------------- */

static void load_endpoints(struct webhooks *w)
{
        struct wh_endpoint *eps = NULL;
        size_t n = 0;
        int64_t after = 0;
        for (;;) {
                struct webhook_rec *v = NULL;
                size_t got = 0;
                if (store_webhook_list(w->core->store, after, 200, &v, &got, NULL) < 0 || !got) {
                        free(v);
                        break;
                }
                struct wh_endpoint *grown = realloc(eps, (n + got) * sizeof(*eps));
                for (size_t i = 0; grown && i < got; i++) {
                        after = v[i].rowid;
                        if (v[i].enabled) {
                                struct wh_endpoint *ep = &grown[n++];
                                *ep = (struct wh_endpoint){0};
                                snprintf(ep->id, sizeof(ep->id), "%s", v[i].id);
                                snprintf(ep->url, sizeof(ep->url), "%s", v[i].url);
                                snprintf(ep->secret, sizeof(ep->secret), "%s", v[i].secret);
                                snprintf(ep->previous, sizeof(ep->previous), "%s",
                                         v[i].previous_secret);
                                ep->previous_until = v[i].previous_until;
                                struct wh_endpoint *old = endpoint(w, ep->id);
                                ep->inflight = old ? old->inflight : 0;
                        }
                        store_webhook_rec_free(&v[i]);
                }
                free(v);
                if (!grown)
                        break;
                eps = grown;
        }
        free(w->eps);
        w->eps = eps;
        w->neps = n;
}

int webhooks_start(struct core *core, int allow_private, struct err *e)
{
        static int curl_ready;
        if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return err_set(e, EIO, "libcurl could not be initialised");
        curl_ready = 1;
        struct webhooks *w = calloc(1, sizeof(*w));
        if (!w || !(w->multi = curl_multi_init())) {
                free(w);
                return err_set(e, ENOMEM, "webhook sender");
        }
        w->core = core;
        w->allow_private = allow_private;
        w->pump_timer.cb = on_pump;
        curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
        curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
        core->webhooks = w;
        int n = store_delivery_unlease(core->store, time_wall_ms(), NULL);
        if (n > 0)
                log_info("webhook_deliveries_resumed", "count=%d", n);
        load_endpoints(w);
        loop_timer_arm(&core->loop, &w->pump_timer, 0, on_pump);
        return 0;
}

void webhooks_kick(struct core *core)
{
        if (core->webhooks)
                arm_pump(core->webhooks, 0);
}

void webhooks_reload(struct core *core)
{
        if (!core->webhooks)
                return;
        load_endpoints(core->webhooks);
        webhooks_kick(core);
}

void webhooks_stop(struct core *core)
{
        struct webhooks *w = core->webhooks;
        if (!w)
                return;
        core->webhooks = NULL;
        loop_timer_cancel(&core->loop, &w->pump_timer);
        loop_timer_cancel(&core->loop, &w->curl_timer);
        struct err e = {0};
        int batched = w->results && store_begin(core->store, &e) == 0; /* one commit for all */
        flush_results(w);
        if (batched)
                store_commit(core->store, &e);
        while (w->sends) {
                struct wh_send *s = w->sends;
                w->sends = s->next;
                send_free(s);
        }
        curl_multi_cleanup(w->multi);
        free(w->eps);
        free(w);
}

struct webhook_stats webhooks_stats(const struct core *core)
{
        return core->webhooks ? core->webhooks->stats : (struct webhook_stats){0};
}

int webhooks_allow_private(const struct core *core)
{
        return core->webhooks && core->webhooks->allow_private;
}
