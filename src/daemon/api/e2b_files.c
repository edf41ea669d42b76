/* E2B's envd POST /files: the files of a multipart/form-data body (each part's filename
 * its path; or the `path` query for a single part) written one after another through
 * the machine's agent, answered with E2B's [{name, type, path}]; and the one file of a
 * volume content upload (e2b_write_body). The body is whole in memory (the route bounds
 * it). Loop thread only. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../common/cleanup.h"
#include "../../common/gunzip.h"
#include "api.h"
#include "e2b.h"

#define E2B_PARTS_MAX 64

struct e2b_write {
        struct http_exchange *ex; /* NULL once the client left */
        struct agent_conn *agent;
        uint32_t chan;
        struct e2b_part parts[E2B_PARTS_MAX];
        char (*paths)[PATH_MAX]; /* each part's path */
        size_t nparts, cur, sent;
        json_t *done;           /* the answer: entries written so far */
        unsigned char *decoded; /* a gzip body decoded (the lone part's bytes) */
        int mode;               /* of the files written */
        /* e2b_write_body: what answers once the file is written (then_ud is its) */
        void (*then)(struct http_exchange *ex, const char *path, void *ud);
        void *then_ud;
};

static void write_free(void *ctx)
{
        struct e2b_write *w = ctx;
        if (w->then)
                free(w->then_ud);
        json_decref(w->done);
        free(w->decoded);
        free(w->paths);
        free(w);
}

static void next_part(struct e2b_write *w, struct machine *m);

/* Sends what the agent's window takes of the current part; EOF once it is all out. */
static void pump(struct e2b_write *w)
{
        const struct e2b_part *p = &w->parts[w->cur];
        if (w->sent < p->len)
                w->sent +=
                    agentconn_send_stdin(w->agent, w->chan, p->data + w->sent, p->len - w->sent);
        if (w->sent == p->len) {
                agentconn_send_eof(w->agent, w->chan);
                w->sent++; /* EOF sent */
        }
}

static void on_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct e2b_write *w = ud;
        struct http_exchange *ex = w->ex;
        if (h && h->type == NSP_WINDOW) {
                if (w->sent <= w->parts[w->cur].len)
                        pump(w);
                return;
        }
        if (h && h->type != NSP_RESP)
                return;
        if (h)
                agentconn_chan_close(w->agent, w->chan);
        if (!ex) { /* the client left while the agent finished */
                write_free(w);
                return;
        }
        ex->on_abort = NULL;
        char msg[512] = "the machine stopped during the upload";
        enum ns_code code = NS_E_MACHINE_NOT_RUNNING;
        if (h && agentconn_resp_is_error(h, p))
                code = api_agent_error(p, h->len, NS_E_IO_ERROR, msg, sizeof(msg));
        else if (h)
                code = NS_OK;
        if (code != NS_OK) {
                e2b_fail(ex, code, msg);
                write_free(w);
                return;
        }
        const char *path = w->paths[w->cur], *base = strrchr(path, '/');
        json_array_append_new(w->done, json_pack("{s:s,s:s,s:s}", "name", base ? base + 1 : path,
                                                 "type", "file", "path", path));
        w->cur++;
        next_part(w, machine_find(api_core(ex), ex->match.params[0]));
}

static void abort_write(struct http_exchange *ex)
{
        struct e2b_write *w = ex->owner;
        w->ex = NULL; /* the agent's answer frees w (the file is written or not) */
        agentconn_signal(w->agent, w->chan, 9);
}

/* Writes part w->cur, or answers once every part is written. */
static void next_part(struct e2b_write *w, struct machine *m)
{
        struct http_exchange *ex = w->ex;
        if (w->cur == w->nparts && w->then) {
                void (*then)(struct http_exchange *, const char *, void *) = w->then;
                w->then = NULL; /* then_ud is then's */
                then(ex, w->paths[0], w->then_ud);
                write_free(w);
                return;
        }
        if (w->cur == w->nparts) {
                http_respond_json(ex, 200, json_incref(w->done));
                write_free(w);
                return;
        }
        if (!m && !api_is_volume_route(ex)) {
                e2b_fail(ex, NS_E_MACHINE_NOT_RUNNING, "the machine stopped");
                write_free(w);
                return;
        }
        json_t *req = json_pack("{s:s,s:s,s:i}", "op", "write", "path", w->paths[w->cur], "mode",
                                w->mode ? w->mode : 0644);
        w->sent = 0;
        w->chan = api_open_channel(ex, m, &req, on_frame, w, &w->agent); /* answers a failure */
        if (!w->chan) {
                write_free(w);
                return;
        }
        ex->owner = w;
        ex->on_abort = abort_write;
        pump(w);
}

static void go(struct http_exchange *ex, struct machine *m, void *ctx)
{
        (void)ex;
        next_part(ctx, m);
}

/* Each part's path: its filename, or the `path` query for a lone part without one;
 * relative paths under the user's home. -1 after answering 400. */
static int part_paths(struct http_exchange *ex, struct e2b_write *w, const char *query_path,
                      const char *user)
{
        for (size_t i = 0; i < w->nparts; i++) {
                const struct e2b_part *p = &w->parts[i];
                char name[PATH_MAX];
                int ok = query_path && w->nparts == 1
                             ? snprintf(name, sizeof(name), "%s", query_path) < (int)sizeof(name)
                             : p->filename && e2b_form_filename(p->filename, p->filename_len, name,
                                                                sizeof(name)) == 0;
                if (!ok || e2b_resolve_path(name, user, w->paths[i], PATH_MAX) < 0) {
                        e2b_error(ex, 400, "part %zu names no path (its filename, or ?path=)", i);
                        return -1;
                }
        }
        return 0;
}

/* An application/octet-stream body: one file (named by ?path=), gzip-encoded or not. */
static int octet_body(struct http_exchange *ex, struct e2b_write *w, const char **why)
{
        const char *enc = http_req_header(ex->req, "Content-Encoding");
        const unsigned char *data = (const unsigned char *)ex->body.data;
        size_t len = ex->body.len;
        if (enc && strcasecmp(enc, "gzip") == 0) {
                if (gunzip_bounded(data, len, E2B_UPLOAD_MAX, &w->decoded, &len, why) < 0)
                        return -1;
                data = w->decoded;
        } else if (enc && strcasecmp(enc, "identity") != 0) {
                *why = "Content-Encoding: gzip or none";
                return -1;
        }
        w->parts[0] = (struct e2b_part){.data = data, .len = len};
        w->nparts = 1;
        return 0;
}

void e2b_files_post(struct http_exchange *ex)
{
        struct query_param q[E2B_FILES_QUERY];
        if (e2b_files_request(ex, q) < 0)
                return;
        struct e2b_write *w = calloc(1, sizeof(*w));
        if (!w || !(w->done = json_array())) {
                e2b_error(ex, 500, "out of memory");
                if (w)
                        write_free(w);
                return;
        }
        const char *why, *ct = http_req_header(ex->req, "Content-Type");
        int bad = ct && strncasecmp(ct, "application/octet-stream", 24) == 0
                      ? octet_body(ex, w, &why)
                      : e2b_multipart_parse(ct, (const unsigned char *)ex->body.data, ex->body.len,
                                            w->parts, E2B_PARTS_MAX, &w->nparts, &why);
        if (!bad && w->nparts == 0)
                bad = -1, why = "no file in the body";
        if (!bad && !(w->paths = calloc(w->nparts, PATH_MAX)))
                bad = -1, why = "out of memory";
        if (bad) {
                e2b_error(ex, 400, "%s", why);
                write_free(w);
                return;
        }
        w->ex = ex;
        if (part_paths(ex, w, q[0].present && q[0].value[0] ? q[0].value : NULL,
                       q[1].present ? q[1].value : "") < 0) {
                write_free(w);
                return;
        }
        api_when_running(ex, go, w, write_free);
}

/* The answer to the exists check before a write that must not overwrite. */
static void on_checked(struct http_exchange *ex, const json_t *doc, enum ns_code code,
                       const char *msg, void *ud)
{
        struct e2b_write *w = ud;
        if (code)
                e2b_fail(ex, code, msg);
        else if (json_is_true(json_object_get(doc, "exists")))
                e2b_error(ex, 409, "%s exists: overwrite it with force", w->paths[0]);
        else {
                api_when_running(ex, go, w, write_free);
                return;
        }
        write_free(w);
}

void e2b_write_body(struct http_exchange *ex, const char *path, int mode, int overwrite,
                    void (*then)(struct http_exchange *ex, const char *path, void *ud), void *ud)
{
        struct e2b_write *w = calloc(1, sizeof(*w));
        if (!w || !(w->paths = calloc(1, PATH_MAX)) || !(w->done = json_array())) {
                if (w)
                        write_free(w);
                free(ud);
                e2b_error(ex, 500, "out of memory");
                return;
        }
        w->ex = ex;
        w->mode = mode;
        w->then = then;
        w->then_ud = ud;
        w->parts[0] =
            (struct e2b_part){.data = (const unsigned char *)ex->body.data, .len = ex->body.len};
        w->nparts = 1;
        snprintf(w->paths[0], PATH_MAX, "%s", path);
        if (overwrite)
                api_when_running(ex, go, w, write_free);
        else
                api_agent_call_owned(ex, json_pack("{s:s,s:s}", "op", "exists", "path", path),
                                     on_checked, w, write_free);
}
