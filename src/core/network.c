/* A machine's network as the API sees it: its address slot, its egress policy
 * (allow_internet_access, allow_out, deny_out) and the ports it publishes without a
 * token. Kept as one JSON object in the machine's spec; the host side is
 * src/runtime/net.c. Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/dns.h"
#include "../common/log.h"
#include "core.h"
#include "machine_internal.h"

#define MAX_PUBLIC_PORTS 32

int machine_net_check(const json_t *req, struct err *e)
{
        const char *key;
        json_t *v;
        e->code = NS_E_INVALID_FIELD;
        if (!req)
                return 0;
        json_object_foreach((json_t *)req, key, v)
        {
                if (strcmp(key, "allow_internet_access") == 0) {
                        if (!json_is_boolean(v))
                                return err_set(e, 0,
                                               "field 'network.allow_internet_access': expected a "
                                               "boolean"),
                                       -EINVAL;
                } else if (strcmp(key, "public_all") == 0) {
                        if (!json_is_boolean(v))
                                return err_set(e, 0,
                                               "field 'network.public_all': expected a boolean"),
                                       -EINVAL;
                } else if (strcmp(key, "allow_out") == 0 || strcmp(key, "deny_out") == 0) {
                        char field[32];
                        snprintf(field, sizeof(field), "network.%s", key);
                        if (net_check_targets(v, field, e) < 0)
                                return -EINVAL;
                } else {
                        e->code = NS_E_UNKNOWN_FIELD;
                        char shown[64];
                        snprintf(shown, sizeof(shown), "%s", key);
                        return err_set(e, 0, "unknown field 'network.%s'", shown), -EINVAL;
                }
        }
        return 0;
}

/* Copies the policy fields of `from` (may be NULL) over `to`. */
static void merge_policy(json_t *to, const json_t *from)
{
        static const char *const keys[] = {"allow_internet_access", "allow_out", "deny_out",
                                           "public_all"};
        for (unsigned i = 0; from && i < 4; i++) {
                json_t *v = json_object_get(from, keys[i]);
                if (v && !json_is_null(v))
                        json_object_set_new(to, keys[i], json_deep_copy(v));
        }
}

static void policy_of(const json_t *n, struct net_policy *p)
{
        json_t *inet = json_object_get(n, "allow_internet_access");
        p->internet = !inet || json_is_true(inet);
        p->allow_out = json_object_get(n, "allow_out");
        p->deny_out = json_object_get(n, "deny_out");
}

int machine_net_new(struct machine *m, const json_t *policy, struct err *e)
{
        const struct net_host *h = &m->core->net;
        if (!h->enabled || !m->rt.drv->networking) /* loopback only */
                return 0;
        int slot = (int)netns_pool_take(m->core, m->id);
        int pooled = slot > 0;
        if (slot == 0)
                slot = net_claim(h, m->id, e);
        if (slot < 0)
                return slot;
        char host[16], guest[16];
        net_addr(h, (unsigned)slot, 0, host);
        net_addr(h, (unsigned)slot, 1, guest);
        m->conf.network =
            json_pack("{s:i,s:s,s:s,s:b,s:[],s:[],s:[]}", "slot", slot, "address", guest, "gateway",
                      host, "allow_internet_access", 1, "allow_out", "deny_out", "public_ports");
        merge_policy(m->conf.network, policy);
        struct net_policy p;
        policy_of(m->conf.network, &p);
        m->net_ruled = pooled && net_policy_is_default(&p); /* the pool's rules are its own */
        return 0;
}

void machine_net_release(struct machine *m)
{
        json_int_t slot = json_integer_value(json_object_get(m->conf.network, "slot"));
        if (slot > 0)
                net_release((unsigned)slot, m->id);
}

int machine_net_plan(const struct machine *m, struct net_plan *plan)
{
        json_int_t slot = json_integer_value(json_object_get(m->conf.network, "slot"));
        if (!m->core->net.enabled || slot <= 0)
                return 0;
        struct net_policy p;
        policy_of(m->conf.network, &p);
        if (net_plan_make(&m->core->net, m->id, (unsigned)slot, &p, plan) < 0)
                return -1;
        plan->rules_ready = m->net_ruled;
        return 1;
}

/* Applies the machine's policy now (nft, a few ms) when its namespace exists. */
static int apply_now(struct machine *m, struct err *e)
{
        struct net_plan plan;
        int r = machine_net_plan(m, &plan);
        if (r <= 0)
                return r < 0 ? err_set(e, ENOMEM, "network plan") : 0;
        r = net_apply(&plan);
        net_plan_free(&plan);
        m->net_ruled = r == 0;
        return r == 0 ? 0 : err_set(e, EIO, "nft refused the machine's new rules");
}

int machine_net_update(struct machine *m, const json_t *req, struct err *e)
{
        if (machine_net_check(req, e) < 0)
                return -EINVAL;
        e->code = NS_E_NETWORK_UNAVAILABLE;
        if (!m->conf.network)
                return err_set(e, 0, "machine %s has no network (networking is off on this host)",
                               m->id),
                       -ENOTSUP;
        json_t *before = json_deep_copy(m->conf.network);
        merge_policy(m->conf.network, req);
        e->code = NS_E_INTERNAL;
        m->net_ruled = 0; /* the start under way, or this, applies the new policy */
        int r = m->state == M_CREATING ? 0 : apply_now(m, e);
        if (r == 0)
                r = machine__save_spec(m, e);
        if (r < 0) {
                json_decref(m->conf.network);
                m->conf.network = before;
                return r;
        }
        json_decref(before);
        log_info("machine_network", "machine=%s", m->id);
        return 0;
}

int machine_net_publish(struct machine *m, int port, int public, struct err *e)
{
        json_t *ports = json_object_get(m->conf.network, "public_ports");
        if (!ports)
                return err_set(e, 0, "machine %s has no network", m->id), -ENOTSUP;
        size_t i;
        json_t *v;
        json_array_foreach(ports, i, v) if (json_integer_value(v) == port)
        {
                if (!public)
                        json_array_remove(ports, i);
                return public ? 0 : machine__save_spec(m, e);
        }
        if (!public)
                return 0;
        if (json_array_size(ports) >= MAX_PUBLIC_PORTS)
                return err_set(e, 0, "at most %d public ports per machine", MAX_PUBLIC_PORTS),
                       -ENOSPC;
        json_array_append_new(ports, json_integer(port));
        return machine__save_spec(m, e);
}

int machine_net_is_public(const struct machine *m, int port)
{
        size_t i;
        json_t *v;
        if (json_is_true(json_object_get(m->conf.network, "public_all")))
                return 1;
        json_array_foreach(json_object_get(m->conf.network, "public_ports"), i,
                           v) if (json_integer_value(v) == port) return 1;
        return 0;
}

json_t *machine_net_view(const json_t *network)
{
        if (!network)
                return json_null();
        json_t *o = json_deep_copy(network);
        json_object_del(o, "slot");
        return o;
}

/* True when a list entry that is a domain pattern covers name. */
static int list_matches(const json_t *list, const char *name)
{
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
                const char *s = json_string_value(v);
                if (dns_valid_pattern(s) && dns_name_match(name, s))
                        return 1;
        }
        return 0;
}

int machine_dns_verdict(const struct machine *m, const char *name)
{
        struct net_policy p;
        policy_of(m->conf.network, &p);
        if (list_matches(p.deny_out, name))
                return -1;
        if (p.internet)
                return 0;
        return list_matches(p.allow_out, name) ? 1 : -1;
}

int machine_tls_verdict(const struct machine *m, uint32_t dst, const char *sni)
{
        struct net_policy p;
        policy_of(m->conf.network, &p);
        if ((sni[0] && list_matches(p.deny_out, sni)) || net_list_has_addr(p.deny_out, dst))
                return 0;
        return p.internet || (sni[0] && list_matches(p.allow_out, sni)) ||
               net_list_has_addr(p.allow_out, dst);
}

struct machine *machine_by_address(struct core *core, const char *addr)
{
        for (struct machine *m = core->machines; m; m = m->next) {
                const char *a = json_string_value(json_object_get(m->conf.network, "address"));
                if (a && strcmp(a, addr) == 0)
                        return m;
        }
        return NULL;
}

/* True when addr is open for m for at least another `margin` ms already. */
static int still_learned(const struct machine *m, uint32_t addr, uint64_t now, uint64_t margin)
{
        for (size_t i = 0; i < sizeof(m->rt.learned) / sizeof(m->rt.learned[0]); i++)
                if (m->rt.learned[i].addr == addr && m->rt.learned[i].until_ms > now + margin)
                        return 1;
        return 0;
}

/* Remembers addr as open until `until` (over the entry that ends first). */
static void remember(struct machine *m, uint32_t addr, uint64_t until)
{
        size_t n = sizeof(m->rt.learned) / sizeof(m->rt.learned[0]), pick = 0;
        for (size_t i = 0; i < n; i++) {
                if (m->rt.learned[i].addr == addr) {
                        pick = i;
                        break;
                }
                if (m->rt.learned[i].until_ms < m->rt.learned[pick].until_ms)
                        pick = i;
        }
        m->rt.learned[pick].addr = addr;
        m->rt.learned[pick].until_ms = until;
}

void machine_dns_learn(struct machine *m, const uint32_t *addrs, const uint32_t *ttls, int n)
{
        /* repeated answers (every lookup of a busy name) cost no nft call: only addresses
         * not open for another 30 s at least */
        uint32_t fresh[32], fttl[32];
        int k = 0;
        uint64_t now = m->core->loop.now_ms;
        for (int i = 0; i < n && k < 32; i++) {
                if (still_learned(m, addrs[i], now, 30000))
                        continue;
                fresh[k] = addrs[i];
                fttl[k++] = ttls[i];
        }
        if (k == 0)
                return;
        unsigned slot = (unsigned)json_integer_value(json_object_get(m->conf.network, "slot"));
        if (net_learn(&m->core->net, slot, fresh, fttl, k) < 0) {
                log_warn("dns_learn_failed", "machine=%s", m->id);
                return;
        }
        for (int i = 0; i < k; i++) /* net_learn keeps them at least 60 s */
                remember(m, fresh[i],
                         now + 1000ull * (fttl[i] < 60     ? 60
                                          : fttl[i] > 3600 ? 3600
                                                           : fttl[i]));
}

int machine_net_reapply(struct machine *m)
{
        struct err e = {0};
        char path[128];
        snprintf(path, sizeof(path), NET_NS_DIR "/nsm-%s", m->id);
        if (!m->conf.network || access(path, F_OK) < 0)
                return 0;
        int r = apply_now(m, &e);
        if (r < 0)
                log_warn("network_rules_failed", "machine=%s reason=\"%s\"", m->id, e.msg);
        return r;
}
