/* E2B's polled directory watch (filesystem.Filesystem CreateWatcher, GetWatcherEvents,
 * RemoveWatcher), what the SDKs without server streams use: a watcher is an agent
 * watch channel the daemon keeps open, its events buffered until the client polls.
 * A watcher ends with its machine (the channel's end) and when not polled for
 * WATCHER_IDLE_MS. Loop thread only. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "api.h"
#include "e2b.h"

#define WATCHER_IDLE_MS (10 * 60 * 1000)
#define WATCHERS_MAX    256 /* in the daemon: each holds a channel and its events */

struct e2b_watcher {
        struct e2b_watcher *next;
        struct app *app;
        char id[40];
        char machine[40];
        char root[PATH_MAX];
        struct agent_conn *agent; /* NULL once the channel ended */
        uint32_t chan;
        json_t *events; /* FilesystemEvents not yet polled */
        int lost;       /* events dropped past E2B_WATCHER_EVENTS */
        int64_t polled_ms;
};

static void watcher_free(struct e2b_watcher *w)
{
        if (w->agent)
                agentconn_chan_close(w->agent, w->chan);
        json_decref(w->events);
        free(w);
}

/* Unlinks and frees w. */
static void drop(struct e2b_watcher *w)
{
        for (struct e2b_watcher **pp = &w->app->e2b_watchers; *pp; pp = &(*pp)->next)
                if (*pp == w) {
                        *pp = w->next;
                        break;
                }
        watcher_free(w);
}

/* Drops the watchers nobody polled for a while. */
static void sweep(struct app *app)
{
        int64_t now = app->core.loop.now_ms;
        for (struct e2b_watcher *w = app->e2b_watchers, *next; w; w = next) {
                next = w->next;
                if (now - w->polled_ms > WATCHER_IDLE_MS)
                        drop(w);
        }
}

static void keep_event(void *ctx, json_t *ev)
{
        struct e2b_watcher *w = ctx;
        if (json_array_size(w->events) < E2B_WATCHER_EVENTS)
                json_array_append_new(w->events, ev);
        else {
                json_decref(ev);
                w->lost = 1;
        }
}

static void on_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct e2b_watcher *w = ud;
        if (!h) {
                w->agent = NULL; /* the machine went: polls answer what was kept */
                return;
        }
        if (h->type == NSP_DATA && h->flags == NSP_STDOUT) {
                e2b_watch_events(w->root, p, h->len, keep_event, w);
                agentconn_grant(w->agent, w->chan, NSP_STDOUT, h->len);
        } else if (h->type == NSP_EXIT) { /* the directory went */
                agentconn_chan_close(w->agent, w->chan);
                w->agent = NULL;
        }
}

static struct e2b_watcher *find(struct app *app, const char *id, const char *machine)
{
        for (struct e2b_watcher *w = app->e2b_watchers; w; w = w->next)
                if (strcmp(w->id, id) == 0 && strcmp(w->machine, machine) == 0)
                        return w;
        return NULL;
}

/* The watch began (or failed): the watcher is listed, or the error answered. */
static void on_started(struct http_exchange *ex, const json_t *resp, enum ns_code code,
                       const char *msg, void *ud)
{
        struct e2b_watcher *w = ud;
        (void)resp;
        if (code) {
                e2b_connect_error(ex, e2b_connect_code(code), msg);
                watcher_free(w);
                return;
        }
        w->next = w->app->e2b_watchers;
        w->app->e2b_watchers = w;
        http_respond_json(ex, 200, json_pack("{s:s}", "watcherId", w->id));
}

static void create(struct http_exchange *ex, const json_t *in, const char *user)
{
        struct app *app = ex->app;
        struct machine *m = machine_find(&app->core, ex->match.params[0]);
        json_t *req = e2b_watch_request(in, user);
        size_t n = 0;
        for (struct e2b_watcher *o = app->e2b_watchers; o; o = o->next)
                n++;
        if (n >= WATCHERS_MAX) {
                json_decref(req);
                e2b_connect_error(ex, "resource_exhausted", "too many watchers: remove some");
                return;
        }
        struct e2b_watcher *w = req && m ? calloc(1, sizeof(*w)) : NULL;
        if (!w) {
                json_decref(req);
                e2b_connect_error(ex, m ? "invalid_argument" : "unavailable",
                                  m ? "{path, recursive} names a directory" : "machine gone");
                return;
        }
        w->app = app;
        w->events = json_array();
        w->polled_ms = app->core.loop.now_ms;
        if (rand_id("w_", 8, w->id, sizeof(w->id)) < 0) {
                json_decref(req);
                e2b_connect_error(ex, "internal", "no randomness");
                watcher_free(w);
                return;
        }
        snprintf(w->machine, sizeof(w->machine), "%s", m->id);
        snprintf(w->root, sizeof(w->root), "%s", json_string_value(json_object_get(req, "path")));
        /* a channel of its own, kept open past this request; the start is checked by
         * the stat that follows (the agent refuses a missing directory at once) */
        w->chan =
            m->state == M_RUNNING ? machine_open_channel(m, req, 0, on_frame, w, &w->agent) : 0;
        json_t *stat = json_pack("{s:s,s:s}", "op", "stat", "path", w->root);
        json_decref(req);
        if (!w->chan) {
                json_decref(stat);
                e2b_connect_error(ex, "unavailable", "the machine is not running");
                watcher_free(w);
                return;
        }
        api_agent_call_owned(ex, stat, on_started, w, (void (*)(void *))watcher_free);
}

void e2b_watcher_call(struct http_exchange *ex, const char *method, const char *user)
{
        struct app *app = ex->app;
        sweep(app);
        json_t *in =
            ex->body.len ? json_loadb(ex->body.data, ex->body.len, 0, NULL) : json_object();
        const char *id = json_string_value(json_object_get(in, "watcherId"));
        struct e2b_watcher *w = id ? find(app, id, ex->match.params[0]) : NULL;
        if (!json_is_object(in)) {
                e2b_connect_error(ex, "invalid_argument", "the request is not a JSON object");
        } else if (strcmp(method, "CreateWatcher") == 0) {
                create(ex, in, user);
        } else if (!w) {
                e2b_connect_error(ex, "not_found", "no such watcher");
        } else if (strcmp(method, "RemoveWatcher") == 0) {
                drop(w);
                http_respond_json(ex, 200, json_object());
        } else { /* GetWatcherEvents: what came since the last poll */
                if (w->lost)
                        log_warn("e2b_watcher_lost_events", "watcher=%s", w->id);
                w->lost = 0;
                w->polled_ms = app->core.loop.now_ms;
                http_respond_json(ex, 200, json_pack("{s:o}", "events", w->events));
                w->events = json_array();
        }
        json_decref(in);
}

void e2b_watchers_stop(struct app *app)
{
        while (app->e2b_watchers) {
                struct e2b_watcher *w = app->e2b_watchers;
                app->e2b_watchers = w->next;
                watcher_free(w);
        }
}
