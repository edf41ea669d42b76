/* What net.c and net_pool.c share; not for other files. */
#ifndef NS_NET_INTERNAL_H
#define NS_NET_INTERNAL_H
#include <stddef.h>

#include "net.h"

/* The claim ID ("npHASH-SLOT") and namespace name ("nspHASH-SLOT") of pool slot `slot`
 * of h's table (either out may be NULL). */
void net__pool_names(const struct net_host *h, unsigned slot, char *id, size_t idcap, char *netns,
                     size_t nscap);
/* Writes claim file NET_CLAIM_DIR/name whole. 0 or -errno. */
int net__claim_write(const char *name, const char *text);
/* Whether /run/netns/NETNS exists. */
int net__ns_exists(const char *netns);
/* child: deletes namespace netns when it exists (its veth pair goes with it). */
void net__ns_delete(const char *netns);
/* child: a namespace with a veth pair: host_if (host_ip/30, up) on the host, eth0
 * (guest_ip/30, default route via host_ip) and lo up inside; both ends of MTU mtu (0:
 * the default). 0 or -1 (said on stderr). */
int net__make_ns(const char *netns, const char *host_if, const char *host_ip, const char *guest_ip,
                 unsigned mtu);
/* child: renames pool namespace `pool` to `netns` (a bind mount of its handle, the old
 * one unmounted). 0, or -1 when there is none to take ("" or gone; a pool namespace
 * that could not be renamed is deleted, so a fresh one can take its interface name). */
int net__pool_adopt(const char *pool, const char *netns);
/* child: runs an nft script. 0 or -1. */
int net__nft(const char *script);
/* child: removes the rules, chains, set and set elements of slot's machine. */
void net__teardown_rules(const struct net_host *h, unsigned slot);
/* blocking: deletes the pool namespaces and claims of table `table` ("nullspace_HASH"). */
void net__pool_sweep(const char *table);

#endif
