/* The desktop viewer's page, its URLs and its WebSocket's door (viewer.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../common/cleanup.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "api.h"
#include "preview.h"
#include "viewer.h"

#define DEFAULT_EXPIRES_S 900
#define MAX_EXPIRES_S     86400
#define PROTO_PREFIX      "nullspace."

/* ---- the page ---- */

static void serve_file(struct http_exchange *ex);
const struct route api_viewer_file_route = {"GET", "/viewer/{file}", serve_file, ROUTE_PUBLIC, 0,
                                            NULL};

const struct route *api_viewer_intercept(struct http_exchange *ex)
{
        return strncmp(ex->req->path, "/viewer/", 8) == 0 ? &api_viewer_file_route : NULL;
}

static const char *content_type(const char *path)
{
        const char *dot = strrchr(path, '.');
        if (dot && strcmp(dot, ".html") == 0)
                return "text/html; charset=utf-8";
        if (dot && strcmp(dot, ".js") == 0)
                return "text/javascript; charset=utf-8";
        if (dot && strcmp(dot, ".css") == 0)
                return "text/css; charset=utf-8";
        return "text/plain; charset=utf-8";
}

/* GET /viewer/PATH: one of the embedded files, looked up by its exact name (nothing
 * else is ever read); /viewer/ is the page. */
static void serve_file(struct http_exchange *ex)
{
        if (strcmp(ex->req->method, "GET") != 0 && strcmp(ex->req->method, "HEAD") != 0) {
                http_add_header(ex, "Allow", "GET, HEAD");
                http_respond_error(ex, NS_E_METHOD_NOT_ALLOWED, "the viewer's files are read only");
                return;
        }
        const char *name = ex->req->path + strlen("/viewer/");
        if (!*name)
                name = "index.html";
        for (unsigned long i = 0; i < viewer_files_count; i++) {
                const struct embedded_file *f = &viewer_files[i];
                if (strcmp(f->path, name) != 0)
                        continue;
                /* the page names the machine and its token only in the URL's fragment */
                http_add_header(ex, "Referrer-Policy", "no-referrer");
                http_add_header(ex, "X-Content-Type-Options", "nosniff");
                http_add_header(ex, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data: blob:; "
                                "style-src 'self' 'unsafe-inline'");
                http_add_header(ex, "Cache-Control", "no-cache");
                http_respond(ex, 200, content_type(name), f->data, f->len);
                return;
        }
        http_respond_error(ex, NS_E_NOT_FOUND, "the viewer has no file %.100s", name);
}

/* ---- issuing ---- */

struct viewer_req {
        int view_only;
        int64_t expires_in_s;
};

static const struct jv_field viewer_fields[] = {
    {"view_only", JV_BOOL, 0, offsetof(struct viewer_req, view_only), 0, 0, 0},
    {"expires_in_s", JV_INT, 0, offsetof(struct viewer_req, expires_in_s), 0, 1, MAX_EXPIRES_S},
};

void api_desktop_viewer_create(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct viewer_req in = {0};
        uint64_t present;
        if (api_decode(ex, viewer_fields, ARRAY_SIZE(viewer_fields), &in, &present) < 0)
                return;
        struct machine *m = api_networked_machine(ex, "the viewer reaches its desktop over it");
        if (!m)
                return;
        int64_t expires_in = present & 2 ? in.expires_in_s : DEFAULT_EXPIRES_S;
        uint32_t exp = (uint32_t)(time_wall_ms() / 1000 + expires_in);
        const char *mode = in.view_only ? "view" : "control";
        char tok[PREVIEW_TOKEN_LEN + 1], url[400], ws[300], proto[80];
        viewer_token_make(app->signing_key, m->id, in.view_only, exp, tok);
        snprintf(url, sizeof(url), "http://%s/viewer/#machine=%s&mode=%s&token=%s", app->http.bound,
                 m->id, mode, tok);
        snprintf(ws, sizeof(ws), "ws://%s/v1/machines/%s/desktop/viewer/socket", app->http.bound,
                 m->id);
        snprintf(proto, sizeof(proto), PROTO_PREFIX "%s.%s", mode, tok);
        log_info("desktop_viewer", "machine=%s mode=%s expires_in_s=%lld", m->id, mode,
                 (long long)expires_in);
        http_respond_json(ex, 201,
                          json_pack("{s:s,s:s,s:s,s:s,s:b,s:I}", "url", url, "machine_id", m->id,
                                    "websocket_url", ws, "websocket_protocol", proto, "view_only",
                                    in.view_only, "expires_at", (json_int_t)exp * 1000));
}

/* ---- the socket ---- */

/* The viewer's subprotocol among the offered ones: nullspace.MODE.TOKEN. Copies it to
 * chosen; 0, or -1 when none is offered. */
static int offered(const char *hdr, char *chosen, size_t cap, int *view_only, const char **token)
{
        while (hdr && *hdr) {
                hdr += strspn(hdr, " ,\t");
                size_t n = strcspn(hdr, " ,\t");
                if (n && n < cap && strncmp(hdr, PROTO_PREFIX, strlen(PROTO_PREFIX)) == 0) {
                        memcpy(chosen, hdr, n);
                        chosen[n] = '\0';
                        const char *mode = chosen + strlen(PROTO_PREFIX);
                        *view_only = strncmp(mode, "view.", 5) == 0;
                        if (*view_only || strncmp(mode, "control.", 8) == 0) {
                                *token = strchr(mode, '.') + 1;
                                return 0;
                        }
                }
                hdr += n;
        }
        return -1;
}

void api_desktop_viewer_socket(struct http_exchange *ex)
{
        struct app *app = ex->app;
        char chosen[128];
        int view_only = 1;
        const char *token;
        if (offered(http_req_header(ex->req, "Sec-WebSocket-Protocol"), chosen, sizeof(chosen),
                    &view_only, &token) < 0) {
                http_respond_error(ex, NS_E_VIEWER_TOKEN_INVALID,
                                   "the viewer's WebSocket names its token as its subprotocol: "
                                   "nullspace.view.TOKEN or nullspace.control.TOKEN");
                return;
        }
        const char *id = ex->match.params[0];
        enum ns_code c =
            viewer_token_check(app->signing_key, id, view_only, token, time_wall_ms() / 1000);
        if (c != NS_OK) {
                http_respond_error(ex, c, "%s", ns_code_def(c)->meaning);
                return;
        }
        struct machine *m = machine_find(&app->core, id);
        if (!m) {
                http_respond_error(ex, NS_E_MACHINE_NOT_FOUND, "no machine %s", id);
                return;
        }
        if (preview_conn_admit(ex, m) < 0)
                return;
        http_add_header(ex, "Sec-WebSocket-Protocol", chosen);
        viewer_relay_start(ex, m, view_only);
}
