/* HTTP requests to the daemon through libcurl, and error → exit-code mapping. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define RESP_LIMIT (64u << 20)

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
        struct buf *b = ud;
        return buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static int conn_error(struct cli *c, const char *url, const char *why)
{
        const struct ns_code_def *d = ns_code_def(NS_E_CONNECTION_FAILED);
        if (c->json) {
                json_t *doc = json_pack("{s:{s:s,s:s}}", "error", "code", d->name, "message", why);
                json_dumpf(doc, stdout, JSON_COMPACT);
                putchar('\n');
                json_decref(doc);
        } else {
                fprintf(stderr, "error: %s: cannot reach %s: %s\n", d->name, url, why);
        }
        return d->exit_code;
}

int cli_request(struct cli *c, const char *method, const char *path, const json_t *body, int auth,
                struct cli_resp *r)
{
        memset(r, 0, sizeof(*r));
        buf_init(&r->body, RESP_LIMIT);
        char url[2048];
        snprintf(url, sizeof(url), "%s%s", c->api_url, path);
        CURL *h = curl_easy_init();
        if (!h)
                return conn_error(c, url, "curl_easy_init failed");
        struct curl_slist *hdrs = NULL;
        char auth_hdr[400];
        char *text = NULL;
        if (auth && c->api_key[0]) {
                snprintf(auth_hdr, sizeof(auth_hdr), "Authorization: Bearer %s", c->api_key);
                hdrs = curl_slist_append(hdrs, auth_hdr);
        }
        if (body) {
                text = json_dumps(body, JSON_COMPACT);
                hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        }
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->timeout_s * 1000));
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "nullspace-cli/0.1.0");
        CURLcode rc = curl_easy_perform(h);
        int ret = 0;
        if (rc != CURLE_OK)
                ret = conn_error(c, url, curl_easy_strerror(rc));
        else
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        free(text);
        if (ret == 0 && r->body.len)
                r->doc = json_loadb(r->body.data, r->body.len, 0, NULL);
        return ret;
}

void cli_resp_free(struct cli_resp *r)
{
        buf_fini(&r->body);
        json_decref(r->doc);
        r->doc = NULL;
}

int cli_fail_response(struct cli *c, const struct cli_resp *r)
{
        json_t *err = json_object_get(r->doc, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        const char *msg = json_string_value(json_object_get(err, "message"));
        const char *rid = json_string_value(json_object_get(err, "request_id"));
        enum ns_code nc = code ? ns_code_by_name(code) : NS_E_COUNT;
        int exit_code = nc != NS_E_COUNT ? ns_code_def(nc)->exit_code : 1;
        if (c->json) {
                if (err) {
                        cli_print_json(r->doc);
                } else {
                        json_t *d = json_pack("{s:{s:s,s:I}}", "error", "code", "unexpected",
                                              "http_status", (json_int_t)r->status);
                        cli_print_json(d);
                        json_decref(d);
                }
        } else if (code) {
                fprintf(stderr, "error: %s: %s (request %s)\n", code, msg ? msg : "",
                        rid ? rid : "-");
        } else {
                fprintf(stderr, "error: unexpected HTTP %ld from the daemon\n", r->status);
        }
        return exit_code;
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
        va_list ap;
        fprintf(stderr, "error: usage: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (cmd)
                fprintf(stderr, "\nusage: nullspace %s %s (see nullspace %s --help)\n", cmd->name,
                        cmd->args ? cmd->args : "", cmd->name);
        else
                fputc('\n', stderr);
        return ns_code_def(NS_E_USAGE)->exit_code;
}

void cli_print_json(const json_t *doc)
{
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
}

int cli_call(struct cli *c, const char *method, const char *path, json_t *body,
             void (*show)(const json_t *doc))
{
        struct cli_resp r;
        int ret = cli_request(c, method, path, body, 1, &r);
        json_decref(body);
        if (ret)
                return ret;
        if (r.status < 200 || r.status >= 300)
                ret = cli_fail_response(c, &r);
        else if (c->json && r.doc)
                cli_print_json(r.doc);
        else if (show)
                show(r.doc);
        cli_resp_free(&r);
        return ret;
}
