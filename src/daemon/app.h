/* The daemon's one context struct: everything mutable the daemon owns hangs off it.
 * Used from the loop thread only. */
#ifndef NS_APP_H
#define NS_APP_H

#include <limits.h>
#include <stdint.h>

#include "dnsproxy.h"
#include "sniproxy.h"
#include "../core/machine.h"
#include "../core/template.h"
#include "../core/vm_guest.h"
#include "../runtime/driver.h"
#include "../store/store.h"
#include "children.h"
#include "auth.h"
#include "http/server.h"
#include "loop.h"

#define NS_VERSION "0.1.0"

struct app {
        struct loop loop;
        struct http_server http;
        struct store *store;
        struct auth_cache auth_cache;
        unsigned char signing_key[32]; /* signs file URLs (DIR/signing-key) */
        struct children children;
        struct templates templates;
        struct prep vm_guest;            /* the VM guest's kernel + initramfs (core/vm_guest.c) */
        const struct driver *driver;     /* the host's default runtime */
        const struct driver *drivers[2]; /* every runtime built in */
        size_t ndrivers;
        const char *default_runtime; /* --default-runtime (NULL: gvisor) */
        struct driver_ctx driver_ctx;
        struct net_host net;      /* machines' host networking (runtime/net.h) */
        const char *net_pool;     /* --machine-network CIDR (NULL: the default) */
        const char *dns_upstream; /* --dns-upstream IP[:PORT] (NULL: /etc/resolv.conf's) */
        struct dnsproxy dns;      /* the machines' resolver proxy */
        struct sniproxy sni;      /* the machines' TLS filter */
        char preview_domain[208];
        unsigned preview_port;         /* named in preview URLs (0: the listen port) */
        unsigned preview_idle_ms;      /* a proxied connection without traffic ends */
        struct preview_conn *previews; /* proxied connections (api/preview.c) */
        unsigned npreviews;            /* ... how many: at most --max-connections */
        char lib_dir[PATH_MAX];        /* nsagent, nsshim, vm-assets.sh (beside us or ../lib) */
        int prepare_off;               /* --no-prepare: build the base on the first create */
        char agent_path[PATH_MAX];
        char shim_path[PATH_MAX];
        struct machine *machines;     /* live machines */
        struct capture *captures;     /* forks and snapshots under way (core/capture.c) */
        struct build *builds;         /* template builds under way (core/build.c) */
        struct loop_timer pool_timer; /* re-checks the warm pools (core/pools.c) */
        struct wsc *ws_clients;       /* WebSocket clients (api/ws.c) */
        /* a build's log grew (ended 0) or the build ended (1): WebSocket log readers */
        void (*build_log_hook)(struct app *app, const char *build_id, int ended);
        unsigned machine_timeout_s; /* default deadline of new machines */
        char state_dir[PATH_MAX];
        char cache_dir[PATH_MAX];
        int64_t started_ms;
        int lock_fd;
        struct loop_io sig_io;
        struct loop_timer shutdown_timer;
        int shutting_down;
};

/* Ends the proxied preview connections to machine id (api/preview.c): a checkpoint
 * cannot keep open TCP connections. */
void preview_drop_machine(struct app *app, const char *id);

/* The route table (api/routes.c). */
extern const struct route api_routes[];
extern const size_t api_nroutes;

#endif
