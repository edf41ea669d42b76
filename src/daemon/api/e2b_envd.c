/* E2B's sandbox-side API (envd) at /e2b/envd (E2B_SANDBOX_URL) or by host
 * (49983-SANDBOXID.DOMAIN): every request names its sandbox in the E2b-Sandbox-Id header
 * (or the host) and carries the sandbox's envd access token (X-Access-Token, from
 * e2b_envd_token) instead of an API key; a signed file URL carries a signature made
 * with that token instead. Loop thread only. */
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"

#include "api.h"
#include "e2b.h"
#include "preview.h"

int e2b_envd_route(struct http_exchange *ex)
{
        size_t n = strlen(ex->req->path) + sizeof("/e2b/envd");
        char *path = malloc(n);
        if (!path)
                return -1;
        snprintf(path, n, "/e2b/envd%s", ex->req->path);
        free(ex->req->path);
        ex->req->path = path;
        return 0;
}

/* Our ID of the sandbox the request names (E2b-Sandbox-Id, or the host
 * 49983-SANDBOXID.DOMAIN) into id; -1 when it names none. */
static int named_sandbox(struct http_exchange *ex, char id[40])
{
        const char *h = http_req_header(ex->req, "E2b-Sandbox-Id");
        struct preview_target t;
        if (h && h[0] && strlen(h) < 32) {
                e2b_machine_id(h, id, 40);
                return 0;
        }
        if (!h && preview_host_target(ex->app, http_req_header(ex->req, "Host"), &t) == 0) {
                memcpy(id, t.id, 40);
                return 0;
        }
        return -1;
}

static void answer_unnamed(struct http_exchange *ex)
{
        e2b_error(ex, 400,
                  "the E2b-Sandbox-Id header (or the host %d-SANDBOXID.DOMAIN) names the "
                  "sandbox",
                  E2B_ENVD_PORT);
}

/* The live machine id when ok, else NULL after answering 401. */
static struct machine *admitted(struct http_exchange *ex, const char *id, int ok)
{
        struct machine *m = machine_find(api_core(ex), id);
        if (!m || !ok) {
                /* one answer for both: a token never tells which sandboxes exist */
                e2b_error(ex, 401, "unknown sandbox or wrong X-Access-Token or signature");
                return NULL;
        }
        /* what the /v1 helpers read the machine from (api_when_running, ...) */
        snprintf(ex->match.params[0], sizeof(ex->match.params[0]), "%s", m->id);
        ex->match.nparams = 1;
        return m;
}

int e2b_envd_token_ok(const struct app *app, const char *id, const char *header)
{
        char want[65];
        e2b_envd_token(app, id, want);
        return header && strlen(header) == 64 && CRYPTO_memcmp(header, want, 64) == 0;
}

struct machine *e2b_envd_machine(struct http_exchange *ex)
{
        char id[40];
        if (named_sandbox(ex, id) < 0) {
                answer_unnamed(ex);
                return NULL;
        }
        return admitted(ex, id,
                        e2b_envd_token_ok(ex->app, id, http_req_header(ex->req, "X-Access-Token")));
}

int e2b_file_signature(const char *path, const char *op, const char *user, const char *token,
                       const char *expiration, char *out, size_t cap)
{
        char raw[PATH_MAX + 256];
        unsigned char md[SHA256_DIGEST_LENGTH];
        int n = snprintf(raw, sizeof(raw), "%s:%s:%s:%s%s%s", path, op, user, token,
                         expiration ? ":" : "", expiration ? expiration : "");
        if (n < 0 || (size_t)n >= sizeof(raw) || cap < 4 + 4 * ((sizeof(md) + 2) / 3))
                return -1;
        SHA256((const unsigned char *)raw, (size_t)n, md);
        memcpy(out, "v1_", 3);
        int b = EVP_EncodeBlock((unsigned char *)out + 3, md, sizeof(md));
        while (b > 0 && out[3 + b - 1] == '=')
                b--;
        out[3 + b] = '\0';
        return 0;
}

/* Whether q's signature is machine id's for op. */
static int signature_ok(const struct app *app, const char *id, const struct query_param q[4],
                        const char *op)
{
        char token[65], want[64];
        e2b_envd_token(app, id, token);
        return e2b_file_signature(q[0].present ? q[0].value : "", op,
                                  q[1].present ? q[1].value : "", token,
                                  q[3].present ? q[3].value : NULL, want, sizeof(want)) == 0 &&
               strlen(q[2].value) == strlen(want) &&
               CRYPTO_memcmp(q[2].value, want, strlen(want)) == 0;
}

/* The machine of a signed file URL: the signature made with the sandbox's envd token
 * over (path, op, user[, expiration]), not expired. A URL the SDK built from
 * E2B_SANDBOX_URL names no sandbox (it is /files on the daemon): the signature is
 * checked against each live machine's. NULL after answering. */
static struct machine *signed_machine(struct http_exchange *ex, const struct query_param q[4],
                                      const char *op)
{
        struct app *app = ex->app;
        char id[40] = "";
        const char *exp = q[3].present ? q[3].value : NULL;
        char *end = NULL;
        long long until = exp ? strtoll(exp, &end, 10) : 0;
        if (exp && (!exp[0] || *end || until < time_wall_ms() / 1000)) {
                e2b_error(ex, 401, "the signed URL has expired");
                return NULL;
        }
        if (named_sandbox(ex, id) == 0)
                return admitted(ex, id, signature_ok(app, id, q, op));
        for (struct machine *m = app->core.machines; m && !id[0]; m = m->next)
                if (signature_ok(app, m->id, q, op))
                        snprintf(id, sizeof(id), "%s", m->id);
        return admitted(ex, id, id[0] != 0);
}

void e2b_envd_health(struct http_exchange *ex)
{
        if (e2b_envd_machine(ex))
                http_respond(ex, 204, NULL, NULL, 0);
}

void e2b_envd_envs(struct http_exchange *ex)
{
        struct machine *m = e2b_envd_machine(ex);
        if (m)
                http_respond_json(ex, 200,
                                  m->conf.env ? json_deep_copy(m->conf.env) : json_object());
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
        for (unsigned i = 0; i < E2B_FILES_QUERY; i++)
                q[i] = (struct query_param){.name = names[i]};
        if (query_parse(ex->req->query, q, E2B_FILES_QUERY, msg, sizeof(msg)) < 0) {
                e2b_error(ex, 400, "%s", msg);
                return -1;
        }
        /* a signed URL (uploadUrl, downloadUrl) carries no token */
        int is_signed = q[2].present && !http_req_header(ex->req, "X-Access-Token");
        const char *op = strcmp(ex->req->method, "GET") == 0 ? "read" : "write";
        return (is_signed ? signed_machine(ex, q, op) : e2b_envd_machine(ex)) ? 0 : -1;
}

void e2b_read_file(struct http_exchange *ex, const char *path)
{
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
        e2b_read_file(ex, path);
}
