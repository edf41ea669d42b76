/* The daemon's one context struct: everything mutable the daemon owns hangs off it.
 * Used from the loop thread only. */
#ifndef NS_APP_H
#define NS_APP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsproxy.h"
#include "sniproxy.h"
#include "../core/core.h"
#include "../core/machine.h"
#include "../core/base_rootfs.h"
#include "../core/vm_guest.h"
#include "../runtime/driver.h"
#include "../store/store.h"
#include "../common/children.h"
#include "auth.h"
#include "http/server.h"
#include "../common/loop.h"

#define NS_VERSION "0.1.0"

struct monitor_sub;
struct e2b_watcher;

struct app {
        struct core core; /* machines, templates, builds: everything below the API */
        struct http_server http;
        struct auth_cache auth_cache;
        unsigned char signing_key[32]; /* signs file URLs (DIR/signing-key) */
        const char *net_pool;          /* --machine-network CIDR (NULL: the default) */
        const char *dns_upstream;      /* --dns-upstream IP[:PORT] (NULL: /etc/resolv.conf's) */
        struct dnsproxy dns;           /* the machines' resolver proxy */
        struct sniproxy sni;           /* the machines' TLS filter */
        char preview_domain[208];
        unsigned preview_port;            /* named in preview URLs (0: the listen port) */
        unsigned preview_idle_ms;         /* a proxied connection without traffic ends */
        struct preview_conn *previews;    /* proxied connections (api/preview.c) */
        unsigned npreviews;               /* ... how many: at most --max-connections */
        struct ws_client *ws_clients;     /* WebSocket clients (api/ws.c) */
        struct recording *recordings;     /* desktop recordings under way (api/recordings.c) */
        struct monitor_sub *monitors;     /* monitor stream subscriptions (api/monitor.c) */
        struct e2b_watcher *e2b_watchers; /* E2B's polled watchers (api/e2b_watchers.c) */
        unsigned events_retention_s;      /* --events-retention-days in seconds (0: forever) */
        int webhook_allow_private;        /* --webhook-allow-private */
        struct loop_timer prune_timer;    /* prunes old events hourly (observe.c) */
        struct http_server metrics_http;  /* --metrics-listen: GET /metrics without a key */
        int metrics_listening;
        int64_t started_ms;
        int lock_fd;
        struct loop_io sig_io;
        struct loop_timer shutdown_timer;
};

/* The app around a core (every core the daemon runs is an app's). */
static inline struct app *app_of(struct core *core)
{
        return (struct app *)((char *)core - offsetof(struct app, core));
}

/* Ends the proxied preview connections to machine id (api/preview.c): a checkpoint
 * cannot keep open TCP connections. */
void preview_drop_machine(struct core *core, const char *id);

/* Whether a preview or SSH connection to machine id is open (api/preview.c): the core's
 * idle check leaves it awake. */
int preview_machine_in_use(struct core *core, const char *id);

/* The route table (api/routes.c). */
extern const struct route api_routes[];
extern const size_t api_nroutes;

#endif
