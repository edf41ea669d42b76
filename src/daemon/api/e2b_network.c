/* E2B's network options over our machine network: egress (allowOut, denyOut, where
 * denyOut 0.0.0.0/0 means "nothing but allowOut"), allow_internet_access, and the
 * public traffic of the sandbox's ports (allowPublicTraffic, E2B's default true: every
 * port is served at PORT-SANDBOXID.DOMAIN without a token; false: the
 * e2b-traffic-access-token header must carry the sandbox's traffic token). Loop thread
 * only. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "../auth.h"
#include "api.h"
#include "e2b.h"

#define E2B_ALL_TRAFFIC "0.0.0.0/0"

void e2b_traffic_token(const struct app *app, const char *id, char out[65])
{
        auth_sign(app->signing_key, "E2B", id, "traffic", 0, out);
}

int e2b_traffic_ok(const struct app *app, const char *id, const char *header)
{
        char want[65];
        e2b_traffic_token(app, id, want);
        return header && strlen(header) == 64 && CRYPTO_memcmp(header, want, 64) == 0;
}

/* A list of targets (absent: NULL) without 0.0.0.0/0, and whether it held that. -1
 * (and *out NULL) when not an array of at most 256 strings. */
static int targets(const json_t *v, json_t **out, int *all)
{
        *out = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v) || json_array_size(v) > 256)
                return -1;
        *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
                if (!json_is_string(x)) {
                        json_decref(*out);
                        *out = NULL;
                        return -1;
                }
                if (strcmp(json_string_value(x), E2B_ALL_TRAFFIC) == 0)
                        *all = 1;
                else
                        json_array_append(*out, x);
        }
        return 0;
}

/* allowOut and denyOut of src into our allow_out, deny_out, allow_internet_access. */
static int egress(const json_t *src, json_t *net)
{
        json_t *allow, *deny;
        int allow_all = 0, deny_all = 0;
        if (targets(json_object_get(src, "allowOut"), &allow, &allow_all) < 0 ||
            targets(json_object_get(src, "denyOut"), &deny, &deny_all) < 0) {
                json_decref(allow);
                return -1;
        }
        if (allow)
                json_object_set_new(net, "allow_out", allow);
        if (deny)
                json_object_set_new(net, "deny_out", deny);
        if (deny_all && !allow_all) /* only allowOut gets out */
                json_object_set_new(net, "allow_internet_access", json_false());
        return 0;
}

/* allow_internet_access of src (absent: leave net as it is); -1 when not a boolean. */
static int internet(const json_t *src, json_t *net)
{
        json_t *v = json_object_get(src, "allow_internet_access");
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return -1;
        if (json_is_false(v))
                json_object_set_new(net, "allow_internet_access", json_false());
        return 0;
}

json_t *e2b_network_create(const json_t *in, struct err *e)
{
        const json_t *n = json_object_get(in, "network");
        json_t *pub = json_object_get(n, "allowPublicTraffic");
        json_t *net = json_pack("{s:b}", "public_all", !json_is_false(pub));
        if ((n && !json_is_null(n) && !json_is_object(n)) || (pub && !json_is_boolean(pub)) ||
            egress(n, net) < 0 || internet(in, net) < 0) {
                json_decref(net);
                err_set(e, 0,
                        "bad network: allow_internet_access and network.allowPublicTraffic are "
                        "booleans, network.allowOut and denyOut lists of CIDRs, IPs or domains");
                return NULL;
        }
        if (machine_net_check(net, e) < 0) {
                json_decref(net);
                return NULL;
        }
        return net;
}

void e2b_sandboxes_network(struct http_exchange *ex)
{
        e2b_path_machine(ex);
        struct machine *m = machine_find(api_core(ex), ex->match.params[0]);
        json_t *in = json_loadb((const char *)ex->body.data, ex->body.len, 0, NULL);
        json_t *net =
            json_pack("{s:b,s:[],s:[]}", "allow_internet_access", 1, "allow_out", "deny_out");
        struct err e = {0};
        if (!m)
                e2b_error(ex, 404, "sandbox %s not found", e2b_sandbox_id(ex->match.params[0]));
        else if (!json_is_object(in) || egress(in, net) < 0 || internet(in, net) < 0)
                e2b_error(ex, 400,
                          "the body is {allowOut, denyOut: [CIDRs, IPs or domains], "
                          "allow_internet_access: boolean}");
        else if (machine_net_update(m, net, &e) < 0)
                e2b_fail(ex, err_code_of(&e), e.msg);
        else
                http_respond(ex, 204, NULL, NULL, 0);
        json_decref(net);
        json_decref(in);
}
