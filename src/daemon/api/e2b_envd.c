/* E2B's sandbox-side API (envd) at /e2b/envd (E2B_SANDBOX_URL): every request names
 * its sandbox in the E2b-Sandbox-Id header and carries the sandbox's envd access token
 * (X-Access-Token, from e2b_envd_token) instead of an API key. Loop thread only. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

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
