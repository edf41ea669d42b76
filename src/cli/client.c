/* HTTP requests to the daemon through libcurl, and error → exit-code mapping. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define RESP_LIMIT (64u << 20)

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
        struct buf *b = ud;
        return buf_append(b, p, size * n) == 0 ? size * n : 0;
}

/* Prints a client-side error (code, message) and returns its exit status. */
static int client_error(struct cli *c, enum ns_code code, const char *msg)
{
        const struct ns_code_def *d = ns_code_def(code);
        if (c->quiet)
                return d->exit_code;
        if (c->json) {
                json_t *doc = json_pack("{s:{s:s,s:s}}", "error", "code", d->name, "message", msg);
                json_dumpf(doc, stdout, JSON_COMPACT);
                putchar('\n');
                json_decref(doc);
        } else {
                fprintf(stderr, "error: %s: %s\n", d->name, msg);
        }
        return d->exit_code;
}

static int conn_error(struct cli *c, const char *url, const char *why)
{
        char msg[4900];
        snprintf(msg, sizeof(msg), "cannot reach %s: %.200s", url, why);
        return client_error(c, NS_E_CONNECTION_FAILED, msg);
}

/* A transfer that failed: a timeout is request_timeout (what we waited for, and how to
 * wait longer); only a connection that could not be made or broke is connection_failed. */
static int transfer_error(struct cli *c, const char *method, const char *url, CURLcode rc,
                          double waited_s)
{
        if (rc != CURLE_OPERATION_TIMEDOUT)
                return conn_error(c, url, curl_easy_strerror(rc));
        char msg[4900];
        snprintf(msg, sizeof(msg),
                 "gave up after %.0f s waiting for the daemon to answer %s %s; the daemon may "
                 "still complete it. Wait longer with --timeout SECONDS",
                 waited_s, method, url);
        return client_error(c, NS_E_REQUEST_TIMEOUT, msg);
}

/* Lines of a streamed (NDJSON) 200 answer go to on_line as they arrive; any other
 * answer is kept in r->body. */
struct lines {
        struct cli_resp *r;
        CURL *h;
        void (*on_line)(void *ud, json_t *line);
        void *ud;
        struct buf pending; /* a partial line */
};

static size_t on_stream_data(char *p, size_t size, size_t n, void *ud)
{
        struct lines *l = ud;
        long status = 0;
        curl_easy_getinfo(l->h, CURLINFO_RESPONSE_CODE, &status);
        char *ct = NULL;
        curl_easy_getinfo(l->h, CURLINFO_CONTENT_TYPE, &ct);
        if (status != 200 || !ct || strncmp(ct, "application/x-ndjson", 20) != 0)
                return on_data(p, size, n, &l->r->body);
        if (buf_append(&l->pending, p, size * n) < 0)
                return 0;
        char *nl;
        while ((nl = memchr(l->pending.data, '\n', l->pending.len))) {
                size_t len = (size_t)(nl - l->pending.data);
                json_t *line = json_loadb(l->pending.data, len, 0, NULL);
                buf_consume(&l->pending, len + 1);
                if (line)
                        l->on_line(l->ud, line);
                json_decref(line);
        }
        return size * n;
}

/* A long request (create, hibernate, resume, fork, snapshot) shows on a terminal what it
 * waits for: the daemon's preparation when /readyz names one ("building the base
 * template: step 3/10 downloading packages (libc6), 48 s"), else how long it has waited
 * ("hibernating… 3.5 s"). */
struct waiting {
        struct cli *c;
        const char *label;
        double start;
        double shown;
        double polled;
        char line[200];
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The daemon's preparation under way as one line, from GET /readyz; "" when none. */
static void poll_preparing(struct cli *c, char *out, size_t cap)
{
        out[0] = '\0';
        char url[1100];
        snprintf(url, sizeof(url), "%s/readyz", c->api_url);
        struct buf b;
        buf_init(&b, 64u << 10);
        CURL *h = curl_easy_init();
        if (!h)
                return;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        json_t *doc = NULL;
        if (curl_easy_perform(h) == CURLE_OK)
                doc = json_loadb(b.data, b.len, 0, NULL);
        curl_easy_cleanup(h);
        buf_fini(&b);
        json_t *t = json_array_get(json_object_get(doc, "waiting_for"), 0);
        if (t) {
                const char *detail = json_string_value(json_object_get(t, "detail"));
                char more[96] = "";
                if (detail)
                        snprintf(more, sizeof(more), " (%s)", detail);
                snprintf(out, cap, "%s: step %lld/%lld %s%s, %lld s",
                         json_string_value(json_object_get(t, "label")),
                         json_integer_value(json_object_get(t, "step")),
                         json_integer_value(json_object_get(t, "steps")),
                         json_string_value(json_object_get(t, "stage")), more,
                         json_integer_value(json_object_get(t, "elapsed_s")));
        }
        json_decref(doc);
}

static int on_waiting(void *ud, curl_off_t dl_total, curl_off_t dl, curl_off_t ul_total,
                      curl_off_t ul)
{
        (void)dl_total, (void)dl, (void)ul_total, (void)ul;
        struct waiting *w = ud;
        double now = now_s(), t = now - w->start;
        if (t < 1.0 || t - w->shown < 0.25)
                return 0;
        if (now - w->polled >= 1.0) {
                poll_preparing(w->c, w->line, sizeof(w->line));
                w->polled = now;
        }
        if (w->line[0])
                fprintf(stderr, "\r\033[K%s", w->line);
        else
                fprintf(stderr, "\r\033[K%s… %.1f s", w->label, t);
        w->shown = t;
        return 0;
}

/* What a request carries: JSON, raw bytes, or nothing. */
struct body {
        const json_t *json;
        const void *raw;
        size_t raw_len;
};

static int perform(struct cli *c, const char *method, const char *path, const struct body *body,
                   int auth, struct cli_resp *r, struct lines *lines)
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
        if (body && body->json) {
                text = json_dumps(body->json, JSON_COMPACT);
                hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        } else if (body && body->raw) {
                hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->raw_len);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->raw);
        }
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        if (lines) {
                lines->r = r;
                lines->h = h;
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream_data);
                curl_easy_setopt(h, CURLOPT_WRITEDATA, lines);
        } else {
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
                curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
        }
        /* a streamed command lasts as long as it runs, and a command that waits for an
         * operation as long as the operation (unless --timeout): only the connection is
         * bounded */
        int unbounded = lines || (c->waiting && !c->timeout_set);
        curl_easy_setopt(h, unbounded ? CURLOPT_CONNECTTIMEOUT_MS : CURLOPT_TIMEOUT_MS,
                         (long)(c->timeout_s * 1000));
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "nullspace-cli/0.1.0");
        struct waiting w = {.c = c, .label = c->waiting, .start = now_s()};
        if (c->waiting && !c->json && isatty(2)) {
                curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_waiting);
                curl_easy_setopt(h, CURLOPT_XFERINFODATA, &w);
        }
        CURLcode rc = curl_easy_perform(h);
        if (w.shown > 0)
                fprintf(stderr, "\r\033[K");
        int ret = 0;
        if (rc != CURLE_OK)
                ret = transfer_error(c, method, url, rc, now_s() - w.start);
        else
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        free(text);
        if (ret == 0 && r->body.len)
                r->doc = json_loadb(r->body.data, r->body.len, 0, NULL);
        return ret;
}

int cli_request(struct cli *c, const char *method, const char *path, const json_t *body, int auth,
                struct cli_resp *r)
{
        struct body b = {body, NULL, 0};
        return perform(c, method, path, &b, auth, r, NULL);
}

int cli_request_raw(struct cli *c, const char *method, const char *path, const void *data, size_t n,
                    struct cli_resp *r)
{
        struct body b = {NULL, data ? data : "", n};
        return perform(c, method, path, &b, 1, r, NULL);
}

int cli_request_lines(struct cli *c, const char *method, const char *path, const json_t *body,
                      void (*on_line)(void *ud, json_t *line), void *ud, struct cli_resp *r)
{
        struct lines l = {.on_line = on_line, .ud = ud};
        buf_init(&l.pending, 4u << 20);
        struct body b = {body, NULL, 0};
        int ret = perform(c, method, path, &b, 1, r, &l);
        buf_fini(&l.pending);
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

int cli_fetch(struct cli *c, const char *method, const char *path, const json_t *body, long want,
              json_t **doc)
{
        struct cli_resp r;
        int rc = cli_request(c, method, path, body, 1, &r);
        if (rc)
                return rc;
        if (r.status != want || !r.doc)
                rc = cli_fail_response(c, &r);
        else
                *doc = json_incref(r.doc);
        cli_resp_free(&r);
        return rc;
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

struct transfer {
        FILE *out;
        struct buf err; /* an error answer is kept to be printed */
        long status;
        CURL *h;
};

static size_t on_download(char *p, size_t size, size_t n, void *ud)
{
        struct transfer *t = ud;
        if (!t->status)
                curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &t->status);
        if (t->status >= 200 && t->status < 300 && t->out)
                return fwrite(p, size, n, t->out) == n ? size * n : 0;
        return buf_append(&t->err, p, size * n) == 0 ? size * n : 0;
}

static size_t on_upload(char *p, size_t size, size_t n, void *ud)
{
        return fread(p, size, n, ud) * size;
}

static int on_progress(void *ud, curl_off_t dl_total, curl_off_t dl, curl_off_t ul_total,
                       curl_off_t ul)
{
        (void)ud;
        curl_off_t done = ul ? ul : dl, total = ul ? ul_total : dl_total;
        if (total > 0)
                fprintf(stderr, "\r%8.1f / %.1f MiB (%3d%%)", done / 1048576.0, total / 1048576.0,
                        (int)(100 * done / total));
        else
                fprintf(stderr, "\r%8.1f MiB", done / 1048576.0);
        return 0;
}

int cli_transfer(struct cli *c, const char *method, const char *path, FILE *in, FILE *out)
{
        char url[4600], auth[400];
        snprintf(url, sizeof(url), "%s%s", c->api_url, path);
        struct transfer t = {.out = out};
        buf_init(&t.err, 1u << 20);
        CURL *h = curl_easy_init();
        if (!h)
                return conn_error(c, url, "curl_easy_init failed");
        t.h = h;
        struct curl_slist *hdrs = NULL;
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->api_key);
        hdrs = curl_slist_append(hdrs, auth);
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_download);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout_s * 1000));
        if (in) {
                struct stat st;
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
                curl_easy_setopt(h, CURLOPT_READDATA, in);
                if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
                        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
        }
        if (isatty(2) && !c->json) {
                curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        }
        CURLcode rc = curl_easy_perform(h);
        if (isatty(2) && !c->json)
                fputc('\n', stderr);
        int ret = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t.status);
        if (rc != CURLE_OK && !(t.status >= 300)) {
                ret = transfer_error(c, method, url, rc, c->timeout_s);
        } else {
                struct cli_resp r = {.status = t.status, .body = t.err};
                r.doc = t.err.len ? json_loadb(t.err.data, t.err.len, 0, NULL) : NULL;
                if (t.status < 200 || t.status >= 300)
                        ret = cli_fail_response(c, &r);
                else if (in && c->json && r.doc)
                        cli_print_json(r.doc);
                json_decref(r.doc);
        }
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        buf_fini(&t.err);
        return ret;
}

int cli_post_streamed(struct cli *c, const char *path, json_t *body,
                      void (*on_line)(void *ud, json_t *line), void *ud, struct cli_resp *r)
{
        if (!c->json)
                json_object_set_new(body, "stream", json_true());
        int rc = c->json ? cli_request(c, "POST", path, body, 1, r)
                         : cli_request_lines(c, "POST", path, body, on_line, ud, r);
        json_decref(body);
        return rc;
}
