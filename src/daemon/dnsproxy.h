/* The machines' resolver proxy: machines whose egress policy names domains have their
 * DNS (UDP and TCP port 53, to any server) redirected here by nftables. A query for a
 * denied name, or for a name not allowed while allow_internet_access is off, is refused
 * (REFUSED); the others go to the host's resolver, and the addresses an allowed domain
 * resolves to become reachable for the machine (runtime/net.c: net_learn) before the
 * answer is passed on. Loop thread only. */
#ifndef NS_DNSPROXY_H
#define NS_DNSPROXY_H

#include <netinet/in.h>
#include <stdint.h>

#include "../common/dns.h"
#include "../common/err.h"
#include "../common/loop.h"

#define DNSPROXY_PENDING 256

struct app;

struct dnsproxy {
        struct app *app;
        struct loop_io io; /* queries from machines: UDP 0.0.0.0:port */
        struct loop_io up; /* to and from the upstream resolver (connected UDP) */
        unsigned port;
        char upstream[64]; /* "IP:PORT" */
        uint16_t next_id;
        struct dns_pending {
                int used;
                uint16_t up_id, client_id;
                struct sockaddr_in client;
                char machine[40];
                int learn; /* add the answer's addresses to the machine's allowed set */
                uint64_t expires_ms;
        } pend[DNSPROXY_PENDING];
};

/* Binds the proxy (a free port: p->port) and connects to `upstream` ("IP[:PORT]"; NULL:
 * the first nameserver of /etc/resolv.conf). 0 or -errno with e set. */
int dnsproxy_start(struct dnsproxy *p, struct app *app, const char *upstream, struct err *e);

/* Closes the sockets. */
void dnsproxy_stop(struct dnsproxy *p);

#endif
