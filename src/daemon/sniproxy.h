/* The machines' TLS filter: for machines whose egress policy names domains, nftables
 * redirects their outbound TCP port 443 here. The ClientHello's server name (SNI) and
 * the original destination decide (machine_tls_verdict): a denied name, or with
 * allow_internet_access off a name not allowed, is cut off; the others are connected
 * to the destination they asked for and relayed (http/relay.c). Loop thread only. */
#ifndef NS_SNIPROXY_H
#define NS_SNIPROXY_H

#include "../common/err.h"
#include "../common/loop.h"

struct app;
struct sni_conn;

struct sniproxy {
        struct app *app;
        struct loop_io lio; /* TCP 0.0.0.0:port */
        unsigned port;
        struct sni_conn *conns; /* reading a ClientHello or relaying */
        unsigned nconns;
};

/* Listens on a free port (p->port). 0 or -errno with e set. */
int sniproxy_start(struct sniproxy *p, struct app *app, struct err *e);

/* Closes the listening socket (connections under way are left to the OS at exit). */
void sniproxy_stop(struct sniproxy *p);

#endif
