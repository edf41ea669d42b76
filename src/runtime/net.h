/* Host networking of machines: each machine gets its own network namespace
 * (/run/netns/nsm-ID) holding one end of a veth pair (eth0, GUEST/30, default route via
 * HOST) and gVisor's network stack on it; the other end (nshN, HOST/30) stays on the
 * host, where an nftables table of this daemon NATs the machine's traffic out, keeps
 * machines from each other and from the host's own services, and applies the machine's
 * egress policy. Slot N (the /30 inside the pool) is claimed host-wide in /run, so
 * several daemons on one host never share one.
 *
 * Functions marked "child" block (they run ip / nft) and are for helper processes;
 * the rest are for the daemon's loop thread. */
#ifndef NS_NET_H
#define NS_NET_H

#include <jansson.h>
#include <stdint.h>

#include "../common/err.h"

#define NET_CLAIM_DIR "/run/nullspace/net"
#define NET_NS_DIR    "/run/netns"
#define NET_TABLE_DIR "/run/nullspace/tables"

struct net_host {
        int enabled;    /* ip, nft and the kernel's nf_tables are there */
        char table[32]; /* this daemon's nftables table (inet family) */
        uint32_t base;  /* pool network address, host order (default 10.200.0.0/16) */
        unsigned slots; /* /30 slots in the pool (slot 0 is never used) */
        /* machines' link MTU: the smallest of the host's default-route interfaces', so
         * a machine never sends what the uplink would drop (0: the kernel's default) */
        unsigned mtu;
        char reason[160]; /* why networking is off ("" when enabled) */
};

/* What a machine's network is: its slot and egress policy. */
struct net_policy {
        int internet;      /* outbound beyond the allow list (allow_internet_access) */
        json_t *allow_out; /* array of CIDR strings, reachable even when internet is off */
        json_t *deny_out;  /* array of CIDR strings, never reachable (wins over allow) */
};

/* What a driver's child needs to give a machine its network (all strings owned by the
 * caller; the plan lives as long as the driver call). */
struct net_plan {
        char netns[64];   /* "nsm-ID" */
        char host_if[16]; /* "nshN" */
        char host_ip[16], guest_ip[16];
        unsigned mtu;        /* of its link (net_host's; 0: the default) */
        char *nft;           /* the machine's nftables script (chain, set elements, policy) */
        char pool_netns[64]; /* the pool namespace of its slot, taken over when there */
        /* the caller knows the rules of nft are in place (applied since this daemon made
         * its table, or a pool namespace's with a default policy): net_setup skips nft
         * when the namespace was there or taken over from the pool */
        int rules_ready;
};

/* Probes and prepares the host at daemon start: ip forwarding on, this daemon's
 * nftables table (named after state_dir) created when missing. `pool` is "A.B.C.D/P"
 * (NULL: 10.200.0.0/16). Networking stays off (h->enabled 0, h->reason set) when the
 * tools or the kernel lack something; that is not an error. -EINVAL on a bad pool.
 * Blocks for a few ms (runs nft); call once before machines start. */
int net_host_init(struct net_host *h, const char *state_dir, const char *pool, unsigned dns_port,
                  unsigned tls_port, struct err *e);

/* True when the policy's lists name domains: the machine's DNS then goes to the
 * daemon's resolver proxy (dns_port of net_host_init) and its TCP port 443 to the TLS
 * filter (tls_port). */
int net_policy_has_domains(const struct net_policy *p);

/* True when a policy list's CIDRs cover addr (host order). */
int net_list_has_addr(const json_t *list, uint32_t addr);

/* Lets the machine on `slot` reach addrs (network order) for their TTLs (clamped to 60..3600 s):
 * what its allowed domains resolved to. Blocks for a few ms (nft). 0 or -1. */
int net_learn(const struct net_host *h, unsigned slot, const uint32_t *addrs, const uint32_t *ttls,
              int n);
/* True when a policy is the default one (internet on, no lists): the rules a pool
 * namespace was made with. */
int net_policy_is_default(const struct net_policy *p);

/* At a daemon's exit with no machine left: removes its nftables table. Blocks (nft). */
void net_host_fini(const struct net_host *h);

/* Claims a free slot host-wide for machine `id` (NULL: for a pool namespace, see
 * below). Returns the slot (>0) or -errno (-ENOSPC: the pool is full) with e set. */
int net_claim(const struct net_host *h, const char *id, struct err *e);

/* The namespace pool: namespaces made ahead of machines, each on a slot claimed with
 * net_claim(h, NULL, e), so that a machine's start only renames one (net_setup takes
 * over the pool namespace of its slot when there is one).
 *
 * child: makes the pool namespaces of `slots` (n of them). 0, or -1 with none of them
 * left (the claims stay: net_pool_release). */
int net_pool_build(const struct net_host *h, const unsigned *slots, unsigned n);
/* Gives pool slot `slot` (built) to machine `id`: the claim names id from now on, and
 * the machine's start takes the namespace over. 0 or -errno (the slot stays the
 * pool's). Loop thread (file renames). */
int net_pool_give(const struct net_host *h, unsigned slot, const char *id);
/* Frees the claim of a pool slot whose namespace is gone. Loop thread. */
void net_pool_release(const struct net_host *h, unsigned slot);
/* blocking: deletes a pool slot's namespace and frees its claim. */
void net_pool_drop(const struct net_host *h, unsigned slot);
/* Frees machine id's slot (no-op for 0). Any process. */
void net_release(unsigned slot, const char *id);

/* The host's and the guest's address of a slot, dotted ("10.200.0.5"); out: 16 bytes. */
void net_addr(const struct net_host *h, unsigned slot, int guest, char *out);

/* Checks a policy's list (array of "A.B.C.D", "A.B.C.D/P" or a domain pattern as
 * dns_valid_pattern takes, at most 256).
 * 0 or -EINVAL with e naming the bad entry. */
int net_check_targets(const json_t *list, const char *field, struct err *e);

/* Fills plan for machine `id` on `slot` with `p` (rules_ready 0). 0 or -ENOMEM. Free
 * with net_plan_free. */
int net_plan_make(const struct net_host *h, const char *id, unsigned slot,
                  const struct net_policy *p, struct net_plan *plan);
void net_plan_free(struct net_plan *plan);

/* child: creates the machine's namespace, veth pair and addresses (in an existing one,
 * a resume's, gives eth0 its address back), applies its nftables rules, then joins it
 * (see net_enter). 0 or -1 with the reason on stderr. */
int net_setup(const struct net_plan *plan);

/* child: joins the network namespace of machine `id` (runsc reaches a sandbox's
 * control socket only from there), in a private mount namespace where runsc 20221219
 * can tell it is not the host's namespace. 0 (also when the machine has none) or -1. */
int net_enter(const char *id);

/* child: replaces the machine's egress policy (nft script from net_plan_make). 0 or -1. */
int net_apply(const struct net_plan *plan);

/* TCP connections the host's conntrack knows of to or from `guest_ip` that gVisor may
 * still hold: any state but CLOSE and TIME_WAIT, and TIME_WAIT younger than gVisor's
 * 60 s of connections the machine opened (it closes first as a client). Reads
 * /proc/net/nf_conntrack (ms); 0 when it cannot be read. */
int net_live_connections(const char *guest_ip);

/* child: removes the machine's rules and namespace (its veth pair goes with it) and
 * frees its slot. Safe to repeat. */
void net_teardown(const struct net_host *h, const char *id);

#endif
