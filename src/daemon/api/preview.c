/* Preview URLs (see preview.h): POST /v1/machines/{id}/previews issues them; requests
 * that carry one are taken off the HTTP server before routing (api_preview_intercept),
 * checked, rewritten (the token removed, Host masked to localhost:PORT, X-Forwarded-*
 * added) and relayed to the machine's address. A hibernated machine with auto_resume
 * is resumed first. Loop thread only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/cleanup.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../http/relay.h"
#include "api.h"
#include "e2b.h"
#include "preview.h"
#include "viewer.h"

#define CONNECT_MS        10000
#define MAX_EXPIRES_S     (7 * 86400)
#define DEFAULT_EXPIRES_S 3600

/* ---- issuing ---- */

struct preview_req {
        int64_t port, expires_in_s;
        int public;
};

static const struct jv_field preview_fields[] = {
    {"port", JV_INT, JV_REQUIRED, offsetof(struct preview_req, port), 0, 1, 65535},
    {"expires_in_s", JV_INT, 0, offsetof(struct preview_req, expires_in_s), 0, 1, MAX_EXPIRES_S},
    {"public", JV_BOOL, 0, offsetof(struct preview_req, public), 0, 0, 0},
};

const char *preview_id_hex(const char *id)
{
        return strncmp(id, "m_", 2) == 0 ? id + 2 : id;
}

static unsigned url_port(const struct app *app)
{
        if (app->preview_port)
                return app->preview_port;
        const char *colon = strrchr(app->http.bound, ':');
        return colon ? (unsigned)atoi(colon + 1) : 80;
}

void preview_domain(const struct app *app, char *out, size_t cap)
{
        unsigned port = url_port(app);
        if (port == 80 || port == 443)
                snprintf(out, cap, "%s", app->preview_domain);
        else
                snprintf(out, cap, "%s:%u", app->preview_domain, port);
}

void api_previews_create(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct preview_req in = {0};
        uint64_t present;
        if (api_decode(ex, preview_fields, ARRAY_SIZE(preview_fields), &in, &present) < 0)
                return;
        struct machine *m = api_networked_machine(ex, NULL);
        if (!m)
                return;
        struct err e = {0};
        if ((present & 4) && machine_net_publish(m, (int)in.port, in.public, &e) < 0) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "%s", e.msg);
                return;
        }
        int64_t expires_in = present & 2 ? in.expires_in_s : DEFAULT_EXPIRES_S;
        uint32_t exp = (uint32_t)(time_wall_ms() / 1000 + expires_in);
        char tok[PREVIEW_TOKEN_LEN + 1], label[80], url[400], path_url[300];
        preview_token_make(app->signing_key, m->id, (unsigned)in.port, exp, tok);
        snprintf(label, sizeof(label), "%u-%s-%s", (unsigned)in.port, preview_id_hex(m->id), tok);
        snprintf(url, sizeof(url), "http://%s.%s:%u/", label, app->preview_domain, url_port(app));
        snprintf(path_url, sizeof(path_url), "http://%s/preview/%s/%u/%s/", app->http.bound, m->id,
                 (unsigned)in.port, tok);
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:i,s:I,s:b}", "url", url, "path_url", path_url, "token", label,
                      "port", (int)in.port, "expires_at", (json_int_t)exp * 1000, "public",
                      machine_net_is_public(m, (int)in.port));
        if (machine_net_is_public(m, (int)in.port)) {
                char pub[300];
                snprintf(pub, sizeof(pub), "http://%u-%s.%s:%u/", (unsigned)in.port,
                         preview_id_hex(m->id), app->preview_domain, url_port(app));
                json_object_set_new(o, "public_url", json_string(pub));
        }
        http_respond_json(ex, 201, o);
}

/* ---- taking requests ---- */

static void take(struct http_exchange *ex);
static const struct route preview_route = {"*", "(preview)", take, ROUTE_PUBLIC, 0, NULL};

/* The preview host's first label when Host is LABEL.DOMAIN[:port]; its length or 0. */
static size_t host_label(const struct app *app, const char *host, const char **label)
{
        if (!host)
                return 0;
        size_t hl = strcspn(host, ":"), dl = strlen(app->preview_domain);
        const char *dot = memchr(host, '.', hl);
        if (!dot || (size_t)(host + hl - dot - 1) != dl ||
            strncasecmp(dot + 1, app->preview_domain, dl) != 0)
                return 0;
        *label = host;
        return (size_t)(dot - host);
}

int preview_host_target(const struct app *app, const char *host, struct preview_target *t)
{
        const char *label;
        size_t n = host_label(app, host, &label);
        return n ? preview_parse_label(label, n, t) : -1;
}

/* E2B's port addressing through E2B_SANDBOX_URL: /e2b/envd/... naming the sandbox in
 * E2b-Sandbox-Id and a port other than envd's in E2b-Sandbox-Port (@e2b/code-interpreter
 * reaches its port 49999 so). 0 with t set and *rest the target after /e2b/envd. */
static int e2b_port_target(struct http_exchange *ex, struct preview_target *t, const char **rest)
{
        const char *id = http_req_header(ex->req, "E2b-Sandbox-Id");
        const char *port = http_req_header(ex->req, "E2b-Sandbox-Port");
        char *end = NULL;
        unsigned long p = port ? strtoul(port, &end, 10) : 0;
        if (!id || !id[0] || strlen(id) >= 32 || !port || end == port || *end || p == 0 ||
            p > 65535 || p == E2B_ENVD_PORT || strncmp(ex->req->target, "/e2b/envd/", 10) != 0)
                return -1;
        memset(t, 0, sizeof(*t));
        e2b_machine_id(id, t->id, sizeof(t->id));
        t->port = (unsigned)p;
        *rest = ex->req->target + strlen("/e2b/envd");
        return 0;
}

const struct route *api_preview_intercept(struct http_exchange *ex)
{
        struct app *app = ex->app;
        const struct route *own = api_service_intercept(ex);
        if (!own)
                own = api_viewer_intercept(ex);
        if (!own)
                own = api_deploy_intercept(ex);
        if (own)
                return own;
        const char *label, *rest;
        struct preview_target t;
        if (e2b_port_target(ex, &t, &rest) == 0)
                return &preview_route;
        size_t n = host_label(app, http_req_header(ex->req, "Host"), &label);
        /* E2B's envd by host (49983-SANDBOXID.DOMAIN): routed as /e2b/envd/... */
        if (n && preview_parse_label(label, n, &t) == 0 && t.port == E2B_ENVD_PORT && !t.token[0] &&
            e2b_envd_route(ex) == 0)
                return NULL;
        if (n || http_req_header(ex->req, "X-Nullspace-Preview-Token") ||
            strncmp(ex->req->path, "/preview/", 9) == 0)
                return &preview_route;
        return NULL;
}

/* Where the request goes: from the host, the header or the path (whose prefix is cut
 * from *target). 0, or -1 when none parses. */
static int find_target(struct http_exchange *ex, struct preview_target *t, const char **target,
                       int *by_path)
{
        struct app *app = ex->app;
        const char *label, *hdr = http_req_header(ex->req, "X-Nullspace-Preview-Token");
        size_t n = host_label(app, http_req_header(ex->req, "Host"), &label);
        *target = ex->req->target;
        *by_path = 0;
        if (e2b_port_target(ex, t, target) == 0) {
                *by_path = 1; /* the daemon's own host, as a path-addressed preview */
                return 0;
        }
        if (n)
                return preview_parse_label(label, n, t);
        if (hdr)
                return preview_parse_label(hdr, strlen(hdr), t);
        /* /preview/ID/PORT[/TOKEN]/rest */
        char id[40];
        unsigned port;
        int used = 0;
        if (sscanf(ex->req->target, "/preview/%39[A-Za-z0-9_]/%5u%n", id, &port, &used) != 2 ||
            port == 0 || port > 65535)
                return -1;
        memset(t, 0, sizeof(*t));
        snprintf(t->id, sizeof(t->id), "%s", id);
        t->port = port;
        const char *rest = ex->req->target + used;
        if (rest[0] == '/' &&
            strspn(rest + 1, "abcdefghijklmnopqrstuvwxyz234567") == PREVIEW_TOKEN_LEN &&
            strchr("/?", rest[1 + PREVIEW_TOKEN_LEN])) {
                memcpy(t->token, rest + 1, PREVIEW_TOKEN_LEN);
                rest += 1 + PREVIEW_TOKEN_LEN;
        }
        if (rest[0] && rest[0] != '/' && rest[0] != '?')
                return -1; /* /preview/ID/8000abc */
        *target = rest;    /* "", "?q" or "/..." (rewrite_head puts the '/' in front) */
        *by_path = 1;
        return 0;
}

static int skip_header(const char *name, int by_path, int upgrade, int ours)
{
        static const char *const always[] = {"Host", "X-Nullspace-Preview-Token", "X-Forwarded-For",
                                             "X-Forwarded-Host", "X-Forwarded-Proto"};
        for (size_t i = 0; i < ARRAY_SIZE(always); i++)
                if (strcasecmp(name, always[i]) == 0)
                        return 1;
        /* a request of our API: the key never enters the machine */
        if (ours && (strcasecmp(name, "Authorization") == 0 || strcasecmp(name, "X-API-Key") == 0 ||
                     strcasecmp(name, "X-Request-Id") == 0))
                return 1;
        return by_path && !upgrade &&
               (strcasecmp(name, "Connection") == 0 || strcasecmp(name, "Keep-Alive") == 0);
}

/* The request head as the machine's server gets it. */
static int rewrite_head(struct http_exchange *ex, const struct preview_target *t,
                        const char *target, int by_path, int ours, struct buf *out)
{
        const struct http_req *r = ex->req;
        const char *host = http_req_header(r, "Host");
        int bad = buf_printf(out, "%s %s%s HTTP/1.%d\r\n", r->method, target[0] == '/' ? "" : "/",
                             target, r->http_minor) < 0;
        for (unsigned i = 0; i < r->nheaders; i++)
                if (!skip_header(r->headers[i].name, by_path, r->asked_upgrade, ours))
                        bad |= buf_printf(out, "%s: %s\r\n", r->headers[i].name,
                                          r->headers[i].value) < 0;
        if (ours) /* the server's errors carry the request's ID */
                bad |= buf_printf(out, "X-Request-Id: %s\r\n", ex->request_id) < 0;
        bad |= buf_printf(out,
                          "Host: localhost:%u\r\nX-Forwarded-Host: %s\r\n"
                          "X-Forwarded-Proto: http\r\n%s\r\n",
                          t->port, host ? host : "",
                          by_path && !r->asked_upgrade ? "Connection: close\r\n" : "") < 0;
        return bad ? -1 : 0;
}

static void conn_free(struct preview_conn *pc)
{
        struct preview_conn **pp = &pc->app->previews;
        while (*pp && *pp != pc)
                pp = &(*pp)->next;
        if (*pp) {
                *pp = pc->next;
                pc->app->npreviews--;
        }
        buf_fini(&pc->pre);
        free(pc);
}

/* Answers the client ourselves (the socket is ours now) and closes it. */
static void answer_raw(struct preview_conn *pc, enum ns_code code, const char *msg)
{
        const struct ns_code_def *d = ns_code_def(code);
        json_t *body = http_error_doc(code, msg, pc->request_id);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        char head[256];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: "
                         "%zu\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n",
                         d->http_status, http_status_text(d->http_status), text ? strlen(text) : 0,
                         pc->request_id);
        if (send(pc->client, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n && text)
                (void)!send(pc->client, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
        free(text);
        shutdown(pc->client, SHUT_WR);
        close(pc->client);
}

static void on_relay_end(void *ud, int connected, int *client_fd)
{
        struct preview_conn *pc = ud;
        pc->relay = NULL; /* it reset an upstream that closed first: no TIME_WAIT there */
        if (!connected && pc->refused) { /* the opener's to decide: pc lives on */
                pc->client = *client_fd;
                pc->refused(pc);
                return;
        }
        if (!connected) {
                char msg[160];
                snprintf(msg, sizeof(msg), "nothing answered on port %u of machine %s", pc->port,
                         pc->id);
                pc->client = *client_fd;
                answer_raw(pc, NS_E_UPSTREAM_UNREACHABLE, msg);
        }
        conn_free(pc);
}

void preview_conn_fail(struct preview_conn *pc, enum ns_code code, const char *msg)
{
        answer_raw(pc, code, msg);
        conn_free(pc);
}

void preview_conn_connect(struct preview_conn *pc, struct machine *m)
{
        const char *addr = json_string_value(json_object_get(m->conf.network, "address"));
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)pc->port)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || !addr || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
            (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
                if (fd >= 0)
                        close(fd);
                answer_raw(pc, NS_E_UPSTREAM_UNREACHABLE, "cannot connect to the machine");
                conn_free(pc);
                return;
        }
        pc->relay = relay_start(&pc->app->core.loop, pc->client, fd, pc->pre.data, pc->pre.len,
                                CONNECT_MS, pc->app->preview_idle_ms, on_relay_end, pc);
        if (!pc->relay) {
                close(fd);
                answer_raw(pc, NS_E_INTERNAL, "out of memory");
                conn_free(pc);
                return;
        }
        if (pc->reply)
                relay_reply(pc->relay, pc->reply, strlen(pc->reply));
        if (pc->abortive)
                relay_abortive(pc->relay);
}

static void on_resumed(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct preview_conn *pc = ud;
        if (code)
                preview_conn_fail(pc, code, error ? error : ns_code_name(code));
        else
                pc->go(pc, m);
}

void preview_conn_start(struct preview_conn *pc, struct machine *m,
                        void (*go)(struct preview_conn *pc, struct machine *m))
{
        pc->go = go;
        if (m->state == M_RUNNING)
                go(pc, m);
        else
                machine_resume(m, on_resumed, pc);
}

/* Which error, if any, keeps the request from the machine. E2B's clients pass its
 * traffic token (a non-public port) and its envd access token (the code interpreter). */
static enum ns_code admit(struct app *app, struct machine *m, const struct preview_target *t,
                          const char *traffic_token, const char *access_token, char *msg,
                          size_t cap)
{
        if (!m) {
                snprintf(msg, cap, "no machine %s", t->id);
                return NS_E_MACHINE_NOT_FOUND;
        }
        if (!m->conf.network) {
                snprintf(msg, cap, "machine %s has no network", m->id);
                return NS_E_NETWORK_UNAVAILABLE;
        }
        int open = !t->token[0] && (machine_net_is_public(m, (int)t->port) ||
                                    e2b_traffic_ok(app, m->id, traffic_token));
        /* the code interpreter runs any code: never by a preview URL, only through our API
         * (api/code.c) or as E2B's SDK reaches it (an open port, or its access token) */
        if (t->port == CODE_PORT) {
                if (open || (!t->token[0] && e2b_envd_token_ok(app, m->id, access_token)))
                        return NS_OK;
                snprintf(msg, cap,
                         "port %u is the code interpreter's: use /v1/machines/%s/code/...",
                         CODE_PORT, m->id);
                return NS_E_FORBIDDEN;
        }
        if (t->port == DESKTOP_PORT) {
                snprintf(msg, cap, "port %u is the desktop's: use /v1/machines/%s/desktop/...",
                         DESKTOP_PORT, m->id);
                return NS_E_FORBIDDEN;
        }
        if (open)
                return NS_OK;
        if (!t->token[0]) {
                snprintf(msg, cap, "port %u of machine %s is not public: use its preview URL",
                         t->port, m->id);
                return NS_E_PREVIEW_TOKEN_REQUIRED;
        }
        enum ns_code c =
            preview_token_check(app->signing_key, m->id, t->port, t->token, time_wall_ms() / 1000);
        snprintf(msg, cap, "%s",
                 c == NS_E_PREVIEW_TOKEN_EXPIRED ? "the preview URL has expired"
                 : c                             ? "the preview token is not valid here"
                                                 : "");
        return c;
}

static void take(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct preview_target t;
        const char *target;
        int by_path;
        char msg[200];
        if (find_target(ex, &t, &target, &by_path) < 0) {
                http_respond_error(ex, NS_E_PREVIEW_TOKEN_INVALID, "not a preview URL");
                return;
        }
        struct machine *m = machine_find(&app->core, t.id);
        enum ns_code c = admit(app, m, &t, http_req_header(ex->req, "E2b-Traffic-Access-Token"),
                               http_req_header(ex->req, "X-Access-Token"), msg, sizeof(msg));
        if (c != NS_OK) {
                http_respond_error(ex, c, "%s", msg);
                return;
        }
        if (preview_conn_admit(ex, m) < 0)
                return;
        struct buf pre;
        buf_init(&pre, RELAY_BUF);
        if (rewrite_head(ex, &t, target, by_path, 0, &pre) < 0) {
                buf_fini(&pre);
                http_respond_error(ex, NS_E_HEADERS_TOO_LARGE, "the request head is too large");
                return;
        }
        struct preview_conn *pc = preview_conn_take(ex, m, t.port, &pre);
        if (!pc)
                return;
        preview_conn_start(pc, m, preview_conn_connect);
}

/* Takes ex to `port` of m as target: by_path closes after one answer, ours strips our
 * API key. The connection, or NULL after answering. */
static struct preview_conn *relay_to(struct http_exchange *ex, struct machine *m, unsigned port,
                                     const char *target, int by_path, int ours)
{
        if (preview_conn_admit(ex, m) < 0)
                return NULL;
        struct preview_target t = {.port = port};
        snprintf(t.id, sizeof(t.id), "%s", m->id);
        struct buf pre;
        buf_init(&pre, RELAY_BUF);
        if (rewrite_head(ex, &t, target, by_path, ours, &pre) < 0) {
                buf_fini(&pre);
                http_respond_error(ex, NS_E_HEADERS_TOO_LARGE, "the request head is too large");
                return NULL;
        }
        return preview_conn_take(ex, m, port, &pre);
}

int preview_relay(struct http_exchange *ex, struct machine *m, unsigned port, const char *target,
                  int by_path)
{
        struct preview_conn *pc = relay_to(ex, m, port, target, by_path, 0);
        if (!pc)
                return -1;
        pc->abortive = 1; /* no socket of the machine lingers into an idle hibernation */
        preview_conn_start(pc, m, preview_conn_connect);
        return 0;
}

int preview_forward(struct http_exchange *ex, struct machine *m, unsigned port, const char *target,
                    void (*refused)(struct preview_conn *pc))
{
        struct preview_conn *pc = relay_to(ex, m, port, target, 1, 1);
        if (!pc)
                return -1;
        pc->refused = refused;
        /* one request, then the server closes: end with a reset, so the machine's socket
         * never lingers half-closed into a checkpoint that follows at once */
        pc->abortive = 1;
        preview_conn_start(pc, m, preview_conn_connect);
        return 0;
}

enum ns_code preview_conn_refusal(const struct app *app, const struct machine *m, char *msg,
                                  size_t cap)
{
        if (!m->conf.network) {
                snprintf(msg, cap, "machine %s has no network", m->id);
                return NS_E_NETWORK_UNAVAILABLE;
        }
        if (app->npreviews >= app->http.cfg.max_conns) {
                snprintf(msg, cap, "%u relayed connections are open; try again later",
                         app->npreviews);
                return NS_E_TOO_MANY_CONNECTIONS;
        }
        if (m->state != M_RUNNING && !machine_wakeable(m)) {
                snprintf(msg, cap, "machine %s is %s", m->id, machine_state_name(m->state));
                return NS_E_MACHINE_NOT_RUNNING;
        }
        return NS_OK;
}

int preview_conn_admit(struct http_exchange *ex, struct machine *m)
{
        char msg[200];
        enum ns_code c = preview_conn_refusal(ex->app, m, msg, sizeof(msg));
        if (c != NS_OK)
                http_respond_error(ex, c, "%s", msg);
        return c == NS_OK ? 0 : -1;
}

struct preview_conn *preview_conn_open(struct app *app, struct machine *m, unsigned port,
                                       int client, const char *request_id)
{
        struct preview_conn *pc = calloc(1, sizeof(*pc));
        if (!pc)
                return NULL;
        pc->app = app;
        snprintf(pc->id, sizeof(pc->id), "%s", m->id);
        snprintf(pc->request_id, sizeof(pc->request_id), "%s", request_id);
        pc->port = port;
        pc->client = client;
        buf_init(&pc->pre, RELAY_BUF);
        pc->next = app->previews;
        app->previews = pc;
        app->npreviews++;
        return pc;
}

struct preview_conn *preview_conn_take(struct http_exchange *ex, struct machine *m, unsigned port,
                                       struct buf *pre)
{
        struct preview_conn *pc = preview_conn_open(ex->app, m, port, -1, ex->request_id);
        if (!pc) {
                buf_fini(pre);
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return NULL;
        }
        buf_fini(&pc->pre);
        pc->pre = *pre;
        if ((pc->client = http_take_socket(ex, &pc->pre)) < 0) {
                conn_free(pc);
                http_respond_error(ex, NS_E_HEADERS_TOO_LARGE, "the request head is too large");
                return NULL;
        }
        return pc;
}

int preview_machine_in_use(struct core *core, const char *id)
{
        for (struct preview_conn *pc = app_of(core)->previews; pc; pc = pc->next)
                if (strcmp(pc->id, id) == 0)
                        return 1;
        return 0;
}

void preview_drop_machine(struct core *core, const char *id)
{
        struct app *app = app_of(core);
        for (struct preview_conn *pc = app->previews, *next; pc; pc = next) {
                next = pc->next;
                if (strcmp(pc->id, id) == 0 && pc->relay) {
                        /* a reset: a FIN would leave the machine's end open (CLOSE_WAIT)
                         * until its server closes it, and gVisor refuses to checkpoint a
                         * connected socket */
                        relay_abortive(pc->relay);
                        relay_stop(pc->relay); /* frees pc through on_relay_end */
                }
        }
}
