/* SSH access: POST /v1/machines/{id}/ssh signs a short-lived user certificate for one
 * machine and user (core/ssh.h); GET /v1/machines/{id}/ssh/tunnel, an HTTP upgrade to
 * "nullspace-ssh" with the API key, relays the connection's bytes to the machine's sshd
 * (what `nullspace ssh-proxy` speaks as an OpenSSH ProxyCommand). A hibernated machine
 * resumes first (auto_resume); sshd is set up on the first tunnel (and again when it
 * stops answering). Loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../common/cleanup.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../http/relay.h"
#include "api.h"
#include "preview.h"

#define DEFAULT_TTL_S 900
#define UPGRADE_TOKEN "nullspace-ssh"

static const char switching[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: " UPGRADE_TOKEN "\r\nConnection: Upgrade\r\n\r\n";

struct ssh_req {
        char *public_key, *user;
        int64_t ttl_s;
        int agent_forwarding;
};

static const struct jv_field ssh_fields[] = {
    {"public_key", JV_STRING, JV_REQUIRED, offsetof(struct ssh_req, public_key), SSHKEY_LINE_MAX, 0,
     0},
    {"user", JV_STRING, 0, offsetof(struct ssh_req, user), SSH_USER_MAX, 0, 0},
    {"ttl_s", JV_INT, 0, offsetof(struct ssh_req, ttl_s), 0, 1, SSH_TTL_MAX_S},
    {"agent_forwarding", JV_BOOL, 0, offsetof(struct ssh_req, agent_forwarding), 0, 0, 0},
};

static void certify(struct http_exchange *ex, struct ssh_req *in, uint64_t present)
{
        struct machine *m = api_live_machine(ex);
        if (!m)
                return;
        const char *user = in->user ? in->user : m->conf.user[0] ? m->conf.user : "root";
        if (!ssh_user_ok(user)) {
                http_respond_error(ex, NS_E_INVALID_FIELD,
                                   "field 'user': a user name is 1 to %d of a-z 0-9 _ . - "
                                   "(not starting with - or .)",
                                   SSH_USER_MAX);
                return;
        }
        struct ssh_pubkey k = {0};
        char why[200];
        if (ssh_pubkey_parse(in->public_key, &k, why, sizeof(why)) < 0) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'public_key': %s", why);
                return;
        }
        struct core *core = api_core(ex);
        struct err e = {0};
        unsigned ttl = present & 4 ? (unsigned)in->ttl_s : DEFAULT_TTL_S;
        json_t *o = core_ssh_certify(core, m, &k, user, ttl, in->agent_forwarding, &e);
        ssh_pubkey_free(&k);
        if (!o) {
                api_fail(ex, &e);
                return;
        }
        json_object_set_new(o, "proxy_command", json_string("nullspace ssh-proxy %h"));
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "nullspace ssh %s", m->id);
        json_object_set_new(o, "command", json_string(cmd));
        core_event(core, "machine.ssh_certificate", "machine", m->id, NULL,
                   json_pack("{s:s,s:O,s:O,s:O}", "user", user, "fingerprint",
                             json_object_get(o, "fingerprint"), "serial",
                             json_object_get(o, "serial"), "expires_at",
                             json_object_get(o, "expires_at")));
        log_info("ssh_certificate", "machine=%s user=%s fingerprint=%s ttl_s=%u", m->id, user,
                 json_string_value(json_object_get(o, "fingerprint")), ttl);
        core_ssh_warm(core); /* a template without sshd needs the package: fetch it now */
        http_respond_json(ex, 201, o);
}

void api_ssh_certify(struct http_exchange *ex)
{
        struct ssh_req in = {0};
        uint64_t present;
        if (api_decode(ex, ssh_fields, ARRAY_SIZE(ssh_fields), &in, &present) < 0)
                return;
        certify(ex, &in, present);
        jv_free(ssh_fields, ARRAY_SIZE(ssh_fields), &in);
}

/* ---- the tunnel ---- */

static void tunnel_connect(struct preview_conn *pc);

static void on_ready(void *ud, enum ns_code code, const char *msg)
{
        struct preview_conn *pc = ud;
        if (code != NS_OK) {
                preview_conn_fail(pc, code, msg);
                return;
        }
        tunnel_connect(pc);
}

/* sshd did not answer: set it up again once (it was stopped, or this machine is a copy
 * whose setup is stale), then give up. */
static void on_refused(struct preview_conn *pc)
{
        struct machine *m = machine_find(&pc->app->core, pc->id);
        char msg[160];
        if (!m || m->state != M_RUNNING || pc->retried) {
                snprintf(msg, sizeof(msg), "sshd in machine %s does not answer", pc->id);
                preview_conn_fail(pc, NS_E_SSH_UNAVAILABLE, msg);
                return;
        }
        pc->retried = 1;
        if (machine_ssh_prepare(m, 1, on_ready, pc))
                tunnel_connect(pc);
}

static void tunnel_connect(struct preview_conn *pc)
{
        struct machine *m = machine_find(&pc->app->core, pc->id);
        if (!m || m->state != M_RUNNING) {
                char msg[160];
                snprintf(msg, sizeof(msg), "machine %s stopped running", pc->id);
                preview_conn_fail(pc, NS_E_MACHINE_NOT_RUNNING, msg);
                return;
        }
        preview_conn_connect(pc, m);
}

/* The machine runs: sshd set up in it (once), then the connection. */
static void tunnel_go(struct preview_conn *pc, struct machine *m)
{
        if (machine_ssh_prepare(m, 0, on_ready, pc))
                tunnel_connect(pc);
}

void api_ssh_tunnel(struct http_exchange *ex)
{
        const char *up = http_req_header(ex->req, "Upgrade");
        if (!up || strcasecmp(up, UPGRADE_TOKEN) != 0) {
                http_respond_error(ex, NS_E_INVALID_REQUEST,
                                   "this endpoint needs 'Upgrade: " UPGRADE_TOKEN "'");
                return;
        }
        struct machine *m = api_networked_machine(ex, "SSH reaches sshd over it");
        if (!m)
                return;
        if (preview_conn_admit(ex, m) < 0)
                return;
        struct buf pre;
        buf_init(&pre, RELAY_BUF);
        struct preview_conn *pc = preview_conn_take(ex, m, SSH_PORT, &pre);
        if (!pc)
                return;
        pc->reply = switching;
        pc->abortive = 1; /* sshd and the client close at once: no TIME_WAIT in the machine */
        pc->refused = on_refused;
        log_info("ssh_tunnel", "machine=%s request_id=%s", m->id, pc->request_id);
        preview_conn_start(pc, m, tunnel_go);
}
