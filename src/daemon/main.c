/* nullspaced: the Nullspace daemon.
 *   nullspaced --state-dir DIR --listen HOST:PORT
 * One process, one event loop, one state directory. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../include/nsproto.h"
#include "../common/log.h"
#include "../core/build.h"
#include "../core/deploy.h"
#include "../core/builtin.h"
#include "../core/pools.h"
#include "../core/trust.h"
#include "../core/volumes.h"
#include "../runtime/driver.h"
#include "../common/util.h"
#include "api/api.h"
#include "api/e2b.h"
#include "api/viewer.h"
#include "app.h"
#include "args.h"
#include "auth.h"
#include "observe.h"
#include "state.h"

struct options {
        const char *state_dir;
        const char *listen;
        struct http_server_cfg http;
        unsigned machine_timeout_s;
        const char *net_pool;
        const char *dns_upstream;
        const char *preview_domain;
        unsigned preview_port;
        unsigned preview_idle_ms;
        const char *runtime;
        int no_prepare;
        unsigned events_retention_days;
        unsigned metrics_interval_ms;
        unsigned idle_pause_s, idle_hibernate_s, memory_watermark_mb;
        unsigned base_pool;
        unsigned netns_pool;
        const char *metrics_listen;
        int webhook_allow_private;
        const char *machine_ca;
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: nullspaced [OPTIONS]\n"
                "Runs the Nullspace daemon: the HTTP/WebSocket API on one event loop, with its\n"
                "state (SQLite database, first API key) in one directory.\n\n"
                "Options:\n"
                "  --state-dir DIR        state directory (default: $NULLSPACE_STATE_DIR, else\n"
                "                         /var/lib/nullspace as root, ~/.local/state/nullspace)\n"
                "  --listen HOST:PORT     address to serve (default 127.0.0.1:7700; port 0 picks\n"
                "                         a free port, written to DIR/nullspaced.addr)\n"
                "  --log-level LEVEL      debug|info|warn|error (default info)\n"
                "  --max-connections N    open connections before new ones get 503 (1024)\n"
                "  --idle-timeout-ms N    close idle keep-alive connections after N ms (60000)\n"
                "  --request-timeout-ms N a request must arrive whole within N ms (30000)\n"
                "  --machine-timeout-s N  default deadline of new machines (300)\n"
                "  --machine-network CIDR address pool of machine networks (10.200.0.0/16;\n"
                "                         each machine takes a /30)\n"
                "  --dns-upstream IP[:PORT] resolver for machines whose policy names domains\n"
                "                         (default: the first nameserver of /etc/resolv.conf)\n"
                "  --preview-domain NAME  preview URLs are http://PORT-MACHINE-TOKEN.NAME\n"
                "                         (default localhost: browsers resolve it to loopback)\n"
                "  --preview-port N       the port preview URLs name (default: the --listen port)\n"
                "  --preview-idle-timeout-ms N  close a proxied preview connection after N ms\n"
                "                         without traffic either way (300000)\n"
                "  --default-runtime NAME runtime of machines created without one: gvisor\n"
                "                         (default) or vm (QEMU virtual machines)\n"
                "  --config FILE          settings file (default " NS_CONFIG_PATH " when it\n"
                "                         exists): option-name = value lines; flags win over\n"
                "                         NULLSPACE_OPTION_NAME variables, which win over it\n"
                "  --events-retention-days N  keep lifecycle events N days (30; 0 keeps them\n"
                "                         forever); finished webhook deliveries go with them\n"
                "  --idle-pause-after-s N  pause machines without their own idle policy\n"
                "                         after N s without use (0: never, the default)\n"
                "  --idle-hibernate-after-s N  hibernate such machines N s after that\n"
                "                         (0: never, the default)\n"
                "  --memory-watermark-mb N  below N MiB of available host memory,\n"
                "                         hibernate the longest-paused machines first\n"
                "                         (default: 5 %% of the host's memory); warm pools\n"
                "                         stop refilling and give up their machines first\n"
                "  --base-pool N          machines of the default (base) template kept ready,\n"
                "                         paused, for creates with default settings (2; 0\n"
                "                         turns the pool off; at most 32)\n"
                "  --netns-pool N         network namespaces made ahead of machines, so a\n"
                "                         create only renames one (4; 0 turns it off; at\n"
                "                         most 64)\n"
                "  --metrics-interval-ms N  sample machines' usage every N ms (5000, at\n"
                "                         least 100); the last 720 samples are kept per machine\n"
                "  --metrics-listen HOST:PORT  also serve GET /metrics there, without a key\n"
                "                         (for a Prometheus that holds none; keep it private)\n"
                "  --machine-ca SOURCE    certificate authorities machines trust beyond\n"
                "                         Debian's: host (the default: the host's own, in\n"
                "                         /usr/local/share/ca-certificates), none, or a PEM\n"
                "                         file or a directory of .crt/.pem files\n"
                "  --webhook-allow-private  let webhooks target loopback, link-local and\n"
                "                         private addresses (refused by default)\n"
                "  --no-prepare           do not build the base template (and the VM guest)\n"
                "                         at start-up; the first create builds it instead\n"
                "  --print-routes         print the served routes (METHOD PATH) and exit\n"
                "  --print-errors         print the error-code catalogue as JSON and exit\n"
                "  --version              print the version, the store schema and the agent\n"
                "                         protocol version, and exit\n"
                "  --help                 this text\n\n"
                "Environment:\n"
                "  NULLSPACE_API_KEY      first admin key when the state dir is initialised;\n"
                "                         otherwise one is generated into DIR/api-key (0600)\n"
                "  NULLSPACE_CACHE_DIR    shared build artefacts across state dirs (the base\n"
                "                         template, the VM guest kernel and disk images)\n");
}

static void print_routes(void)
{
        for (size_t i = 0; i < api_nroutes; i++)
                printf("%s %s\n", api_routes[i].method, api_routes[i].pattern);
        for (size_t s = 0; s < api_nservices; s++) /* taken at their head (api/services.c) */
                for (size_t i = 0; i < api_services[s].nroutes; i++)
                        printf("%s %s\n", api_services[s].routes[i].method,
                               api_services[s].routes[i].pattern);
        printf("%s %s\n", api_viewer_file_route.method, api_viewer_file_route.pattern);
}

static void print_errors(void)
{
        json_t *arr = json_array();
        for (unsigned i = 1; i < NS_E_COUNT; i++) {
                const struct ns_code_def *d = ns_code_def((enum ns_code)i);
                json_array_append_new(arr, json_pack("{s:s,s:i,s:i,s:s}", "code", d->name,
                                                     "http_status", d->http_status, "exit_code",
                                                     d->exit_code, "meaning", d->meaning));
        }
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(arr);
}

static int parse_uint(const char *s, unsigned *out)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v == 0 || v > 100000000ul)
                return -1;
        *out = (unsigned)v;
        return 0;
}

/* parse_uint that also takes 0 (options whose 0 means "never"). */
static int parse_uint0(const char *s, unsigned *out)
{
        if (strcmp(s, "0") == 0) {
                *out = 0;
                return 0;
        }
        return parse_uint(s, out);
}

static void default_state_dir(char *out, size_t cap)
{
        const char *env = getenv("NULLSPACE_STATE_DIR");
        const char *home = getenv("HOME");
        if (env && *env)
                snprintf(out, cap, "%s", env);
        else if (geteuid() == 0 || !home)
                snprintf(out, cap, "/var/lib/nullspace");
        else
                snprintf(out, cap, "%s/.local/state/nullspace", home);
}

enum {
        O_STATE = 256,
        O_LISTEN,
        O_LOG,
        O_MAXC,
        O_IDLE,
        O_REQ,
        O_MTIMEOUT,
        O_NETPOOL,
        O_DNSUP,
        O_PDOMAIN,
        O_PPORT,
        O_PIDLE,
        O_RUNTIME,
        O_NOPREP,
        O_RETENTION,
        O_WHPRIVATE,
        O_MINTERVAL,
        O_IDLE_PAUSE,
        O_IDLE_HIB,
        O_MEM_WATERMARK,
        O_BASE_POOL,
        O_NETNS_POOL,
        O_MLISTEN,
        O_MACHINE_CA,
        O_CONFIG,
        O_ROUTES,
        O_ERRORS,
        O_VER
};

/* Every option; those before O_CONFIG are settings, which the config file and the
 * environment may give too (config.c: daemon_args). */
static const struct option longs[] = {
    {"state-dir", required_argument, 0, O_STATE},
    {"listen", required_argument, 0, O_LISTEN},
    {"log-level", required_argument, 0, O_LOG},
    {"max-connections", required_argument, 0, O_MAXC},
    {"idle-timeout-ms", required_argument, 0, O_IDLE},
    {"request-timeout-ms", required_argument, 0, O_REQ},
    {"machine-timeout-s", required_argument, 0, O_MTIMEOUT},
    {"machine-network", required_argument, 0, O_NETPOOL},
    {"dns-upstream", required_argument, 0, O_DNSUP},
    {"preview-domain", required_argument, 0, O_PDOMAIN},
    {"preview-port", required_argument, 0, O_PPORT},
    {"preview-idle-timeout-ms", required_argument, 0, O_PIDLE},
    {"default-runtime", required_argument, 0, O_RUNTIME},
    {"no-prepare", no_argument, 0, O_NOPREP},
    {"events-retention-days", required_argument, 0, O_RETENTION},
    {"webhook-allow-private", no_argument, 0, O_WHPRIVATE},
    {"metrics-interval-ms", required_argument, 0, O_MINTERVAL},
    {"idle-pause-after-s", required_argument, 0, O_IDLE_PAUSE},
    {"idle-hibernate-after-s", required_argument, 0, O_IDLE_HIB},
    {"memory-watermark-mb", required_argument, 0, O_MEM_WATERMARK},
    {"base-pool", required_argument, 0, O_BASE_POOL},
    {"netns-pool", required_argument, 0, O_NETNS_POOL},
    {"metrics-listen", required_argument, 0, O_MLISTEN},
    {"machine-ca", required_argument, 0, O_MACHINE_CA},
    {"config", required_argument, 0, O_CONFIG},
    {"print-routes", no_argument, 0, O_ROUTES},
    {"print-errors", no_argument, 0, O_ERRORS},
    {"version", no_argument, 0, O_VER},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* Returns 0 to run, 1 to exit successfully, 2 on a usage error (said on stderr, with
 * where the bad setting came from). argv: daemon_args's merge of the config file, the
 * environment and the command line, `origin` naming each. */
static int parse_args(int argc, char **argv, const char *const *origin, struct options *o)
{
        int c;
        enum log_level lvl;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
                switch (c) {
                case O_CONFIG: /* read before: daemon_args */
                        break;
                case O_STATE:
                        o->state_dir = optarg;
                        break;
                case O_LISTEN:
                        o->listen = optarg;
                        break;
                case O_LOG:
                        if (log_parse_level(optarg, &lvl) < 0)
                                goto bad;
                        log_set_level(lvl);
                        break;
                case O_MAXC:
                        if (parse_uint(optarg, &o->http.max_conns) < 0)
                                goto bad;
                        break;
                case O_IDLE:
                        if (parse_uint(optarg, &o->http.idle_timeout_ms) < 0)
                                goto bad;
                        break;
                case O_REQ:
                        if (parse_uint(optarg, &o->http.request_timeout_ms) < 0)
                                goto bad;
                        break;
                case O_MTIMEOUT:
                        if (parse_uint(optarg, &o->machine_timeout_s) < 0)
                                goto bad;
                        break;
                case O_NETPOOL:
                        o->net_pool = optarg;
                        break;
                case O_DNSUP:
                        o->dns_upstream = optarg;
                        break;
                case O_PDOMAIN:
                        if (!*optarg || strlen(optarg) > 200)
                                goto bad;
                        o->preview_domain = optarg;
                        break;
                case O_PPORT:
                        if (parse_uint(optarg, &o->preview_port) < 0 || o->preview_port > 65535)
                                goto bad;
                        break;
                case O_PIDLE:
                        if (parse_uint(optarg, &o->preview_idle_ms) < 0)
                                goto bad;
                        break;
                case O_RUNTIME:
                        if (strcmp(optarg, "gvisor") != 0 && strcmp(optarg, "vm") != 0)
                                goto bad;
                        o->runtime = optarg;
                        break;
                case O_NOPREP:
                        o->no_prepare = 1;
                        break;
                case O_RETENTION:
                        if (strcmp(optarg, "0") == 0)
                                o->events_retention_days = 0;
                        else if (parse_uint(optarg, &o->events_retention_days) < 0 ||
                                 o->events_retention_days > 36500)
                                goto bad;
                        break;
                case O_IDLE_PAUSE:
                        if (parse_uint0(optarg, &o->idle_pause_s) < 0 ||
                            o->idle_pause_s > 30 * 86400)
                                goto bad;
                        break;
                case O_IDLE_HIB:
                        if (parse_uint0(optarg, &o->idle_hibernate_s) < 0 ||
                            o->idle_hibernate_s > 30 * 86400)
                                goto bad;
                        break;
                case O_MEM_WATERMARK:
                        if (parse_uint0(optarg, &o->memory_watermark_mb) < 0)
                                goto bad;
                        break;
                case O_BASE_POOL:
                        if (parse_uint0(optarg, &o->base_pool) < 0 || o->base_pool > POOL_MAX)
                                goto bad;
                        break;
                case O_NETNS_POOL:
                        if (parse_uint0(optarg, &o->netns_pool) < 0 ||
                            o->netns_pool > NETNS_POOL_MAX)
                                goto bad;
                        break;
                case O_MINTERVAL:
                        if (parse_uint(optarg, &o->metrics_interval_ms) < 0 ||
                            o->metrics_interval_ms < 100)
                                goto bad;
                        break;
                case O_MLISTEN:
                        o->metrics_listen = optarg;
                        break;
                case O_MACHINE_CA:
                        if (!*optarg)
                                goto bad;
                        o->machine_ca = optarg;
                        break;
                case O_WHPRIVATE:
                        o->webhook_allow_private = 1;
                        break;
                case O_ROUTES:
                        print_routes();
                        return 1;
                case O_ERRORS:
                        print_errors();
                        return 1;
                case O_VER: /* what a release manifest records (scripts/package.sh) */
                        printf("nullspaced %s (store schema %d, agent protocol %d)\n", NS_VERSION,
                               store_schema_latest(), NSP_VERSION);
                        return 1;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        goto bad;
                }
        }
        if (optind == argc)
                return 0;
        fprintf(stderr, "nullspaced: unexpected argument '%s' (try --help)\n", argv[optind]);
        return 2;
bad:;
        /* the option just looked at; getopt has moved past it (and its value) */
        int at = optind - 1 < argc && optind > 1 ? optind - 1 : 1;
        if (at > 1 && argv[at][0] != '-' && argv[at - 1][0] == '-')
                at--; /* "--opt VALUE" given as two words */
        fprintf(stderr, "nullspaced: bad option or value '%s'%s%s (try --help)\n", argv[at],
                origin[at] ? " from " : "", origin[at] ? origin[at] : "");
        return 2;
}

static void on_drained(struct http_server *s)
{
        struct app *app = (struct app *)((char *)s - offsetof(struct app, http));
        loop_stop(&app->core.loop);
}

static void on_shutdown(struct loop_timer *t)
{
        struct app *app = (struct app *)((char *)t - offsetof(struct app, shutdown_timer));
        volume_agents_stop_all(&app->core);
        http_server_drain(&app->http, on_drained);
}

static void on_signal(struct loop_io *io, uint32_t events)
{
        (void)events;
        struct app *app = (struct app *)((char *)io - offsetof(struct app, sig_io));
        struct signalfd_siginfo si;
        while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGCHLD) {
                        children_reap(&app->core.children);
                        continue;
                }
                log_info("signal", "signo=%u open_connections=%u", si.ssi_signo, app->http.nconns);
                if (!app->core.shutting_down) {
                        app->core.shutting_down = 1;
                        /* connections are freed from a timer, never inside this batch */
                        loop_timer_arm(&app->core.loop, &app->shutdown_timer, 0, on_shutdown);
                }
        }
}

static int setup_signals(struct app *app, struct err *e)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGCHLD);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        app->sig_io.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (app->sig_io.fd < 0)
                return err_set(e, errno, "signalfd");
        app->sig_io.cb = on_signal;
        return loop_io_add(&app->core.loop, &app->sig_io, EPOLLIN, e);
}

/* The agent and shim binaries and the VM guest's scripts ship next to nullspaced (a
 * build tree) or in ../lib/nullspace (an installed layout: bin/nullspaced);
 * NULLSPACE_AGENT overrides the agent's path. */
static int find_agent(struct app *app, struct err *e)
{
        char self[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len < 0)
                return err_set(e, errno, "readlink /proc/self/exe");
        self[len] = '\0';
        *strrchr(self, '/') = '\0';
        snprintf(app->core.lib_dir, sizeof(app->core.lib_dir), "%s", self);
        char probe[PATH_MAX + 16];
        snprintf(probe, sizeof(probe), "%s/nsshim", self);
        if (access(probe, X_OK) < 0 && strlen(self) + 20 < sizeof(app->core.lib_dir))
                snprintf(app->core.lib_dir, sizeof(app->core.lib_dir), "%s/../lib/nullspace", self);
        if (snprintf(app->core.shim_path, sizeof(app->core.shim_path), "%s/nsshim",
                     app->core.lib_dir) >= (int)sizeof(app->core.shim_path))
                return err_set(e, ENAMETOOLONG, "shim path");
        if (access(app->core.shim_path, X_OK) < 0)
                return err_set(e, errno, "shim binary %s", app->core.shim_path);
        const char *env = getenv("NULLSPACE_AGENT");
        if (env && *env) {
                snprintf(app->core.agent_path, sizeof(app->core.agent_path), "%s", env);
        } else {
                if (snprintf(app->core.agent_path, sizeof(app->core.agent_path), "%s/nsagent",
                             app->core.lib_dir) >= (int)sizeof(app->core.agent_path))
                        return err_set(e, ENAMETOOLONG, "agent path");
        }
        if (access(app->core.agent_path, X_OK) < 0)
                return err_set(e, errno, "agent binary %s", app->core.agent_path);
        return 0;
}

/* What the first machine needs is built now, in the background, not on its create:
 * the base template and, where QEMU is installed, the VM guest (docs/configuration.md,
 * "First run"). */
static void prepare_first_run(struct app *app)
{
        if (app->core.prepare_off)
                return;
        prep_start(&app->core.templates.base);
        struct err pe = {0};
        if (qemu_driver.probe(&app->core.driver_ctx, &pe) == 0)
                prep_start(&app->core.vm_guest);
}

static int setup_machines(struct app *app, struct err *e)
{
        int r = find_agent(app, e);
        if (r == 0)
                r = core_init(&app->core, e);
        if (r < 0)
                return r;
        app->core.driver = &gvisor_driver;
        app->core.drivers[0] = &gvisor_driver;
        app->core.drivers[1] = &qemu_driver;
        app->core.ndrivers = 2;
        if (app->core.default_runtime && strcmp(app->core.default_runtime, "vm") == 0)
                app->core.driver = &qemu_driver;
        r = dnsproxy_start(&app->dns, app, app->dns_upstream, e);
        if (r == 0)
                r = sniproxy_start(&app->sni, app, e);
        if (r == 0)
                r = net_host_init(&app->core.net, app->core.state_dir, app->net_pool, app->dns.port,
                                  app->sni.port, e);
        if (r < 0)
                return r;
        if (!app->core.net.enabled)
                log_warn("network_unavailable", "reason=\"%s\" (machines get loopback only)",
                         app->core.net.reason);
        for (size_t i = 0; i < app->core.ndrivers; i++) {
                struct err pe = {0};
                if (app->core.drivers[i]->probe(&app->core.driver_ctx, &pe) < 0)
                        log_warn("runtime_unavailable", "runtime=%s reason=\"%s\"",
                                 app->core.drivers[i]->name, pe.msg);
        }
        prepare_first_run(app);
        qemu_probe_accel(&app->core.driver_ctx);
        volumes_recover(&app->core); /* before the machines that mount them */
        machines_recover(&app->core);
        builds_recover(&app->core);
        deploys_recover(&app->core);
        builtin_templates_refresh(&app->core); /* after an upgrade: rebuilt in the background */
        netns_pool_start(&app->core);
        pools_start(&app->core);
        core_idle_start(&app->core);
        return 0;
}

static int run(struct app *app, const struct options *o, struct err *e)
{
        int r = state_open(app, e);
        if (r < 0)
                return r;
        api_ws_install(app);
        observe_install(app);
        r = loop_init(&app->core.loop, e);
        if (r == 0)
                r = setup_machines(app, e);
        if (r == 0)
                r = setup_signals(app, e);
        if (r == 0)
                r = observe_start(app, e);
        if (r == 0 && o->metrics_listen)
                r = observe_metrics_listen(app, o->metrics_listen, e);
        struct http_app happ = {.routes = api_routes,
                                .nroutes = api_nroutes,
                                .authenticate = auth_authenticate,
                                .ctx = app,
                                .intercept = api_preview_intercept,
                                .error_doc = e2b_error_doc,
                                .dispatch = observe_dispatch,
                                .done = observe_done};
        if (r == 0)
                r = http_server_start(&app->http, &app->core.loop, o->listen, &o->http, &happ, e);
        if (r == 0)
                r = state_write_addr(app, app->http.bound, e);
        if (r < 0)
                return r;
        log_info("listening", "addr=%s state_dir=%s version=%s", app->http.bound,
                 app->core.state_dir, NS_VERSION);
        r = loop_run(&app->core.loop);
        http_server_fini(&app->http);
        e2b_watchers_stop(app);
        observe_stop(app);
        builtin_refresh_stop(&app->core);
        builds_drop(&app->core);
        deploys_drop(&app->core);
        pools_stop(&app->core);
        netns_pool_stop(&app->core);
        base_rootfs_fini(&app->core.templates); /* a preparation under way finishes on its own */
        prep_fini(&app->core.vm_guest);
        core_ssh_fini(&app->core);
        trust_fini(&app->core);
        api_recordings_end_all(app); /* their files stay playable up to here */
        if (!app->core.machines)     /* nothing of it runs on: its rules can go */
                net_host_fini(&app->core.net);
        machines_detach(&app->core); /* they keep running; the next daemon adopts them */
        log_info("stopped", "status=%d", r);
        return r < 0 ? err_set(e, -r, "event loop") : 0;
}

int main(int argc, char **argv)
{
        static struct app app;
        struct options o = {.listen = "127.0.0.1:7700",
                            .machine_timeout_s = 300,
                            .preview_idle_ms = 300000,
                            .events_retention_days = 30,
                            .machine_ca = "host",
                            .base_pool = 2,
                            .netns_pool = 4};
        http_server_cfg_defaults(&o.http);
        struct daemon_args args;
        struct err ae = {0};
        if (daemon_args(argc, argv, longs, O_CONFIG - O_STATE, &args, &ae) < 0) {
                fprintf(stderr, "nullspaced: %s\n", ae.msg);
                return 2;
        }
        int pr = parse_args(args.argc, args.argv, args.origin, &o);
        if (pr) {
                daemon_args_free(&args);
                return pr == 1 ? 0 : 2;
        }
        if (o.state_dir)
                snprintf(app.core.state_dir, sizeof(app.core.state_dir), "%s", o.state_dir);
        else
                default_state_dir(app.core.state_dir, sizeof(app.core.state_dir));
        const char *cache = getenv("NULLSPACE_CACHE_DIR");
        if (cache)
                snprintf(app.core.cache_dir, sizeof(app.core.cache_dir), "%s", cache);
        app.started_ms = time_wall_ms();
        app.core.machine_timeout_s = o.machine_timeout_s;
        app.net_pool = o.net_pool;
        app.dns_upstream = o.dns_upstream;
        snprintf(app.preview_domain, sizeof(app.preview_domain), "%s",
                 o.preview_domain ? o.preview_domain : "localhost");
        app.preview_port = o.preview_port;
        app.preview_idle_ms = o.preview_idle_ms;
        app.core.default_runtime = o.runtime;
        app.core.prepare_off = o.no_prepare;
        app.events_retention_s = o.events_retention_days * 86400u;
        app.webhook_allow_private = o.webhook_allow_private;
        app.core.usage_interval_ms = o.metrics_interval_ms;
        app.core.idle_pause_s = o.idle_pause_s;
        app.core.idle_hibernate_s = o.idle_hibernate_s;
        app.core.memory_watermark_mb = o.memory_watermark_mb;
        app.core.base_pool_size = o.base_pool;
        app.core.netns_pool.want = o.netns_pool;
        app.core.machine_ca = o.machine_ca;
        app.lock_fd = -1;
        app.core.loop.epfd = -1;
        struct err e = {0};
        int r = run(&app, &o, &e);
        store_close(app.core.store);
        loop_fini(&app.core.loop);
        daemon_args_free(&args); /* the options point into it */
        if (r < 0) {
                char q[600];
                log_error("fatal", "error=%s", log_quote(q, sizeof(q), e.msg));
                return 1;
        }
        return 0;
}
