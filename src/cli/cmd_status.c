/* nullspace status: is the daemon up, which version, is the key accepted, and how far
 * its first-run preparations are (the base template, the VM guest). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* "LABEL  R ready of N (K WHAT)" of a pool view ({size, ready, creating}; NULL: none). */
static void print_pool(const char *label, const json_t *pool, const char *what)
{
        if (pool)
                printf("%-11s %lld ready of %lld (%lld %s)\n", label,
                       json_integer_value(json_object_get(pool, "ready")),
                       json_integer_value(json_object_get(pool, "size")),
                       json_integer_value(json_object_get(pool, "creating")), what);
}

int cmd_status(struct cli *c, int argc, char **argv)
{
        (void)argv;
        if (argc > 0)
                return cli_usage_error(cli_find("status"), "status takes no arguments");
        struct cli_resp health, info;
        int r = cli_request(c, "GET", "/healthz", NULL, 0, &health);
        if (r)
                return r;
        if (health.status != 200) {
                r = cli_fail_response(c, &health);
                cli_resp_free(&health);
                return r;
        }
        cli_resp_free(&health);
        r = cli_request(c, "GET", "/v1/info", NULL, 1, &info);
        if (r)
                return r;
        if (info.status != 200 || !info.doc) {
                r = cli_fail_response(c, &info);
                cli_resp_free(&info);
                return r;
        }
        if (c->json) {
                json_t *doc =
                    json_pack("{s:s,s:s,s:s,s:O}", "status", "ok", "api_url", c->api_url,
                              "key_source", c->key_from ? c->key_from : "none", "info", info.doc);
                cli_print_json(doc);
                json_decref(doc);
        } else {
                json_t *d = info.doc;
                printf("daemon      ok\n"
                       "api url     %s (from %s)\n"
                       "api key     accepted (from %s)\n"
                       "version     %s\n"
                       "uptime      %llds\n"
                       "state dir   %s\n",
                       c->api_url, c->url_from, c->key_from ? c->key_from : "none",
                       json_string_value(json_object_get(d, "version")),
                       (long long)json_integer_value(json_object_get(d, "uptime_s")),
                       json_string_value(json_object_get(d, "state_dir")));
                size_t i;
                json_t *t;
                json_array_foreach(json_object_get(d, "prepare"), i, t)
                {
                        const char *state = json_string_value(json_object_get(t, "state"));
                        printf("%-11s %s", json_string_value(json_object_get(t, "name")), state);
                        if (strcmp(state, "building") == 0)
                                printf(" (step %lld/%lld %s, %lld s)",
                                       json_integer_value(json_object_get(t, "step")),
                                       json_integer_value(json_object_get(t, "steps")),
                                       json_string_value(json_object_get(t, "stage")),
                                       json_integer_value(json_object_get(t, "elapsed_s")));
                        else if (json_object_get(t, "error"))
                                printf(": %s", json_string_value(json_object_get(t, "error")));
                        putchar('\n');
                }
                print_pool("base pool", json_object_get(d, "base_pool"), "starting");
                print_pool("netns pool",
                           json_object_get(json_object_get(d, "network"), "netns_pool"),
                           "being made");
        }
        cli_resp_free(&info);
        return 0;
}
