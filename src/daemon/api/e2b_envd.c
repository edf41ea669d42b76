/* E2B's sandbox-side API (envd) at /e2b/envd (E2B_SANDBOX_URL): every request names
 * its sandbox in the E2b-Sandbox-Id header and carries the sandbox's envd access token
 * (X-Access-Token, from e2b_envd_token) instead of an API key. Loop thread only. */
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"

#include "api.h"
#include "e2b.h"

struct machine *e2b_envd_machine(struct http_exchange *ex)
{
        struct app *app = ex->app;
        const char *id = http_req_header(ex->req, "E2b-Sandbox-Id");
        const char *token = http_req_header(ex->req, "X-Access-Token");
        if (!id || !id[0]) {
                e2b_error(ex, 400, "the E2b-Sandbox-Id header names the sandbox");
                return NULL;
        }
        struct machine *m = machine_find(&app->core, id);
        char want[65];
        e2b_envd_token(app, id, want);
        if (!m || !token || strlen(token) != 64 || CRYPTO_memcmp(token, want, 64) != 0) {
                /* one answer for both: a token never tells which sandboxes exist */
                e2b_error(ex, 401, "unknown sandbox or wrong X-Access-Token");
                return NULL;
        }
        /* what the /v1 helpers read the machine from (api_when_running, ...) */
        snprintf(ex->match.params[0], sizeof(ex->match.params[0]), "%s", m->id);
        ex->match.nparams = 1;
        return m;
}

void e2b_envd_health(struct http_exchange *ex)
{
        if (e2b_envd_machine(ex))
                http_respond(ex, 204, NULL, NULL, 0);
}

int e2b_resolve_path(const char *path, const char *user, char *out, size_t cap)
{
        int n = path[0] == '/'                      ? snprintf(out, cap, "%s", path)
                : !user[0] || !strcmp(user, "root") ? snprintf(out, cap, "/root/%s", path)
                                                    : snprintf(out, cap, "/home/%s/%s", user, path);
        return n > 0 && (size_t)n < cap ? 0 : -1;
}

int e2b_files_request(struct http_exchange *ex, struct query_param q[E2B_FILES_QUERY])
{
        static const char *const names[E2B_FILES_QUERY] = {"path", "username", "signature",
                                                           "signature_expiration"};
        char msg[160];
        if (!e2b_envd_machine(ex))
                return -1;
        for (unsigned i = 0; i < E2B_FILES_QUERY; i++)
                q[i] = (struct query_param){.name = names[i]};
        if (query_parse(ex->req->query, q, E2B_FILES_QUERY, msg, sizeof(msg)) < 0) {
                e2b_error(ex, 400, "%s", msg);
                return -1;
        }
        return 0;
}

void e2b_files_get(struct http_exchange *ex)
{
        struct query_param q[E2B_FILES_QUERY];
        char path[PATH_MAX];
        if (e2b_files_request(ex, q) < 0)
                return;
        if (!q[0].present || !q[0].value[0] ||
            e2b_resolve_path(q[0].value, q[1].present ? q[1].value : "", path, sizeof(path)) < 0) {
                e2b_error(ex, 400, "query parameter 'path' names the file");
                return;
        }
        /* the rest is ours: GET /v1/machines/{id}/files?path= */
        char *esc = url_escape(path);
        size_t n = esc ? strlen(esc) + 6 : 0;
        char *query = esc ? malloc(n) : NULL;
        if (!query) {
                free(esc);
                e2b_error(ex, 500, "out of memory");
                return;
        }
        snprintf(query, n, "path=%s", esc);
        free(esc);
        free(ex->req->query);
        ex->req->query = query;
        api_files_get(ex);
}
