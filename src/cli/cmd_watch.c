/* `nullspace files watch ID DIR [--recursive] [--count N]`: prints a machine's file
 * events as they happen ("create /path", ...; JSON lines with --json) over the
 * WebSocket, until interrupted, after N events, or when the directory goes away. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct watch {
        struct cli_ws ws;
        struct cli *c;
        long left; /* events still to print (-1: no limit) */
        int done, status;
};

static void on_text(void *ud, const char *data, size_t len)
{
        struct watch *w = ud;
        json_t *msg = json_loadb(data, len, 0, NULL);
        const char *type = json_string_value(json_object_get(msg, "type"));
        json_t *ev = json_object_get(msg, "event");
        if (type && !strcmp(type, "watch") && w->left != 0) {
                if (w->c->json) {
                        json_dumpf(ev, stdout, JSON_COMPACT);
                        putchar('\n');
                } else {
                        const char *from = json_string_value(json_object_get(ev, "from"));
                        printf("%-8s %s", json_string_value(json_object_get(ev, "type")),
                               json_string_value(json_object_get(ev, "path")) ?: "");
                        if (from)
                                printf(" (from %s)", from);
                        putchar('\n');
                }
                fflush(stdout);
                if (w->left > 0 && --w->left == 0)
                        w->done = 1;
        } else if (type && !strcmp(type, "error")) {
                w->done = 1;
                w->status = cli_ws_error(msg, "\n");
        } else if (type && (!strcmp(type, "exit") || !strcmp(type, "detached"))) {
                const char *why = json_string_value(json_object_get(msg, "reason"));
                fprintf(stderr, "nullspace: the watch ended (%s)\n", why ? why : "done");
                w->done = 1;
        }
        json_decref(msg);
}

int cmd_files_watch(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("files watch");
        const char *v[2] = {0};
        char base[160]; /* /v1/machines/ID or /v1/volumes/REF: which one, and its id */
        int r = cli_target_path_args(cmd, argc, argv, v, base, sizeof(base));
        if (r)
                return r;
        int vol = strncmp(base, "/v1/volumes/", 12) == 0;
        const char *who = strrchr(base, '/') + 1;
        if (v[1] && (strspn(v[1], "0123456789") != strlen(v[1]) || !v[1][0]))
                return cli_usage_error(cmd, "--count needs a whole number");
        struct watch w = {.c = c, .left = v[1] ? atol(v[1]) : -1};
        w.ws.on_text = on_text;
        w.ws.ud = &w;
        if ((r = cli_ws_open(c, &w.ws)))
                return r;
        cli_ws_send_json(&w.ws, json_pack("{s:s,s:i,s:s,s:s,s:b}", "type", "watch", "id", 1,
                                          vol ? "volume" : "machine", who, "path", argv[1],
                                          "recursive", v[0] != NULL));
        while (!w.done) {
                struct pollfd p = {w.ws.fd, cli_ws_events(&w.ws), 0};
                if (poll(&p, 1, cli_ws_timeout(&w.ws)) < 0 && errno != EINTR)
                        break;
                if (cli_ws_io(&w.ws, p.revents) < 0 && !w.done) {
                        w.status = ns_code_def(NS_E_CONNECTION_FAILED)->exit_code;
                        break;
                }
        }
        cli_ws_close(&w.ws);
        return w.status;
}
