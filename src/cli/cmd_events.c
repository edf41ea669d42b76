/* nullspace events [--follow] and nullspace webhooks ...: the lifecycle log, and the
 * endpoints it is delivered to. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_event_row(const json_t *e)
{
        char *data = json_dumps(json_object_get(e, "data"), JSON_COMPACT);
        json_t *subj = json_object_get(e, "subject");
        printf("%-6lld %-14lld %-22s %-22s %-8s %s\n",
               (long long)json_integer_value(json_object_get(e, "seq")),
               (long long)json_integer_value(json_object_get(e, "ts")),
               json_string_value(json_object_get(e, "type")),
               json_string_value(json_object_get(subj, "id")),
               json_string_value(json_object_get(e, "reason")), data ? data : "");
        free(data);
}

static void show_events(const json_t *d)
{
        cli_print_rows(d, "events", cli_event_row);
}

static int digits(const char *s)
{
        return s && *s && strspn(s, "0123456789") == strlen(s);
}

/* --follow: the events after `since` over the WebSocket, until interrupted. */
struct follow {
        struct cli_ws ws;
        struct cli *c;
        int done, status;
};

static void on_text(void *ud, const char *data, size_t len)
{
        struct follow *f = ud;
        json_t *msg = json_loadb(data, len, 0, NULL);
        const char *type = json_string_value(json_object_get(msg, "type"));
        if (type && !strcmp(type, "event")) {
                json_t *ev = json_object_get(msg, "event");
                if (f->c->json) {
                        json_dumpf(ev, stdout, JSON_COMPACT);
                        putchar('\n');
                } else {
                        cli_event_row(ev);
                }
                fflush(stdout);
        } else if (type && !strcmp(type, "error")) {
                f->done = 1;
                f->status = cli_ws_error(msg, "\n");
        }
        json_decref(msg);
}

static int follow(struct cli *c, const char *type, const char *machine, const char *since)
{
        struct follow f = {.c = c};
        f.ws.on_text = on_text;
        f.ws.ud = &f;
        int r = cli_ws_open(c, &f.ws);
        if (r)
                return r;
        json_t *req = json_pack("{s:s,s:i}", "type", "events.subscribe", "id", 1);
        if (type)
                json_object_set_new(req, "event_type", json_string(type));
        if (machine)
                json_object_set_new(req, "machine", json_string(machine));
        json_object_set_new(req, "since_seq", json_integer(since ? atoll(since) : 0));
        cli_ws_send_json(&f.ws, req);
        while (!f.done) {
                struct pollfd p = {f.ws.fd, cli_ws_events(&f.ws), 0};
                if (poll(&p, 1, cli_ws_timeout(&f.ws)) < 0 && errno != EINTR)
                        break;
                if (cli_ws_io(&f.ws, p.revents) < 0 && !f.done) {
                        f.status = ns_code_def(NS_E_CONNECTION_FAILED)->exit_code;
                        break;
                }
        }
        cli_ws_close(&f.ws);
        return f.status;
}

int cmd_events(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("events");
        const char *v[6] = {0}; /* --type --subject --since-seq --limit --cursor --follow */
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        if ((v[2] && !digits(v[2])) || (v[3] && !digits(v[3])) || (v[4] && !digits(v[4])))
                return cli_usage_error(cmd, "--since-seq, --limit and --cursor are whole numbers");
        if (v[1] && (r = cli_id_arg(cmd, v[1], "--subject")))
                return r;
        if (v[5])
                return follow(c, v[0], v[1], v[2]);
        char path[512];
        int n = snprintf(path, sizeof(path), "/v1/events?limit=%s", v[3] ? v[3] : "100");
        const char *names[] = {"type", "subject", "since_seq", NULL, "cursor"};
        for (int i = 0; i < 5; i++)
                if (names[i] && v[i])
                        n += snprintf(path + n, sizeof(path) - (size_t)n, "&%s=%s", names[i], v[i]);
        return cli_call(c, "GET", path, NULL, show_events);
}

/* ---- webhooks ------------------------------------------------------------------------- */

static void webhook_row(const json_t *w)
{
        char *ev = json_dumps(json_object_get(w, "events"), JSON_COMPACT);
        printf("%-22s %-8s %-30s %s\n", json_string_value(json_object_get(w, "id")),
               json_is_true(json_object_get(w, "enabled")) ? "enabled" : "disabled", ev ? ev : "",
               json_string_value(json_object_get(w, "url")));
        free(ev);
}

static void show_webhook(const json_t *w)
{
        webhook_row(w);
        const char *secret = json_string_value(json_object_get(w, "secret"));
        if (secret)
                printf("secret: %s (shown once: keep it to verify signatures)\n", secret);
}

static void show_webhooks(const json_t *d)
{
        printf("%-22s %-8s %-30s %s\n", "ID", "STATE", "EVENTS", "URL");
        cli_print_rows(d, "webhooks", webhook_row);
}

static void delivery_row(const json_t *d)
{
        json_t *log = json_object_get(d, "attempt_log");
        json_t *last = json_array_get(log, json_array_size(log) - 1);
        json_t *status = json_object_get(last, "status");
        printf("%-22s %-10s %-22s %-2lld %-4s %s\n", json_string_value(json_object_get(d, "id")),
               json_string_value(json_object_get(d, "state")),
               json_string_value(json_object_get(d, "type")),
               (long long)json_integer_value(json_object_get(d, "attempts")),
               json_is_integer(status) ? "" : "-",
               json_string_value(json_object_get(last, "error")) ?: "");
        if (json_is_integer(status))
                printf("%*s last status %lld\n", 22, "", (long long)json_integer_value(status));
}

static void show_deliveries(const json_t *d)
{
        printf("%-22s %-10s %-22s %-2s\n", "ID", "STATE", "TYPE", "N");
        cli_print_rows(d, "deliveries", delivery_row);
}

/* The body of create/update from --url --event... --enable/--disable --description. */
static int webhook_body(const struct cli_cmd *cmd, const char *const *v,
                        const struct cli_multi *events, json_t *body)
{
        if (v[0])
                json_object_set_new(body, "url", json_string(v[0]));
        if (events->n) {
                json_t *a = json_array();
                for (int i = 0; i < events->n; i++)
                        json_array_append_new(a, json_string(events->v[i]));
                json_object_set_new(body, "events", a);
        }
        if (v[2] && v[3])
                return cli_usage_error(cmd, "--enable or --disable, not both");
        if (v[2] || v[3])
                json_object_set_new(body, "enabled", json_boolean(v[2] != NULL));
        if (v[4])
                json_object_set_new(body, "description", json_string(v[4]));
        return 0;
}

/* webhooks create URL [flags] (POST) and webhooks update ID [flags] (PATCH). */
static int webhook_write(struct cli *c, const char *name, int create, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find(name);
        const char *v[5] = {0}; /* --url --event --enable --disable --description */
        struct cli_multi multi[5] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        if (r)
                return r;
        if (create && (npos > 1 || (npos == 0 && !v[0])))
                return cli_usage_error(cmd, "expected the URL deliveries go to");
        if (!create && npos != 1)
                return cli_usage_error(cmd, "expected one webhook ID");
        if (!create && (r = cli_id_arg(cmd, argv[0], "a webhook ID (wh_...)")))
                return r;
        if (create && npos == 1)
                v[0] = argv[0];
        json_t *body = json_object();
        if ((r = webhook_body(cmd, v, &multi[1], body))) {
                json_decref(body);
                return r;
        }
        char path[160] = "/v1/webhooks";
        if (!create)
                snprintf(path, sizeof(path), "/v1/webhooks/%s", argv[0]);
        return cli_call(c, create ? "POST" : "PATCH", path, body, show_webhook);
}

int cmd_webhooks_create(struct cli *c, int argc, char **argv)
{
        return webhook_write(c, "webhooks create", 1, argc, argv);
}

int cmd_webhooks_update(struct cli *c, int argc, char **argv)
{
        return webhook_write(c, "webhooks update", 0, argc, argv);
}

int cmd_webhooks_list(struct cli *c, int argc, char **argv)
{
        return cli_list_cmd(c, "webhooks list", "/v1/webhooks", argc, argv, show_webhooks);
}

int cmd_webhooks_get(struct cli *c, int argc, char **argv)
{
        return cli_id_cmd(c, "webhooks get", "GET", "/v1/webhooks", "a webhook ID (wh_...)", NULL,
                          argc, argv, show_webhook);
}

int cmd_webhooks_delete(struct cli *c, int argc, char **argv)
{
        return cli_id_cmd(c, "webhooks delete", "DELETE", "/v1/webhooks", "a webhook ID (wh_...)",
                          "deleted", argc, argv, NULL);
}

/* Parses cmd's flags (into values) and its one webhook ID; NULL after a usage error
 * (its status in *r). */
static const char *webhook_id_arg(const struct cli_cmd *cmd, int argc, char **argv,
                                  const char **values, int *r)
{
        int npos;
        if ((*r = cli_parse_flags(cmd, argc, argv, values, NULL, &npos)))
                return NULL;
        if (npos != 1) {
                *r = cli_usage_error(cmd, "expected one webhook ID");
                return NULL;
        }
        return (*r = cli_id_arg(cmd, argv[0], "a webhook ID (wh_...)")) ? NULL : argv[0];
}

/* POST /v1/webhooks/ID/<verb> for the ID in argv[0]. */
static int webhook_post(struct cli *c, const char *name, const char *verb, int argc, char **argv,
                        void (*show)(const json_t *doc))
{
        int r;
        const char *id = webhook_id_arg(cli_find(name), argc, argv, NULL, &r);
        if (!id)
                return r;
        char path[200];
        snprintf(path, sizeof(path), "/v1/webhooks/%s/%s", id, verb);
        return cli_call(c, "POST", path, NULL, show);
}

static void show_ping(const json_t *d)
{
        printf("ping queued for %s: see `nullspace webhooks deliveries %s`\n",
               json_string_value(json_object_get(d, "webhook_id")),
               json_string_value(json_object_get(d, "webhook_id")));
}

int cmd_webhooks_test(struct cli *c, int argc, char **argv)
{
        return webhook_post(c, "webhooks test", "test", argc, argv, show_ping);
}

int cmd_webhooks_rotate(struct cli *c, int argc, char **argv)
{
        return webhook_post(c, "webhooks rotate-secret", "rotate-secret", argc, argv, show_webhook);
}

int cmd_webhooks_deliveries(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("webhooks deliveries");
        const char *v[2] = {0};
        int r;
        const char *id = webhook_id_arg(cmd, argc, argv, v, &r);
        if (!id)
                return r;
        char base[160], path[300];
        snprintf(base, sizeof(base), "/v1/webhooks/%s/deliveries", id);
        if ((r = cli_page_path(cmd, base, v[0], v[1], path, sizeof(path))))
                return r;
        return cli_call(c, "GET", path, NULL, show_deliveries);
}

int cmd_webhooks_redeliver(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("webhooks redeliver");
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r)
                return r;
        if (npos != 2)
                return cli_usage_error(cmd, "expected a webhook ID and a delivery ID");
        if ((r = cli_id_arg(cmd, argv[0], "webhook ID")) ||
            (r = cli_id_arg(cmd, argv[1], "delivery ID")))
                return r;
        char path[200];
        snprintf(path, sizeof(path), "/v1/webhooks/%s/deliveries/%s/redeliver", argv[0], argv[1]);
        return cli_call(c, "POST", path, NULL, delivery_row);
}
