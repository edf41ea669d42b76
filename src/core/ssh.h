/* SSH into machines: the daemon's two certificate authorities (users and hosts, Ed25519
 * seeds kept in STATE/ssh, 0600), short-lived user certificates bound to one machine and
 * one user, and the sshd each machine runs on demand: OpenSSH's own when its template has
 * one, else Debian's openssh-server fetched once into the cache (CACHE/ssh) and unpacked
 * into the machine. sshd there trusts only the user CA (principal "MACHINE:USER"), takes
 * no password and no plain key, and shows a host certificate for the machine's ID. Loop
 * thread only. */
#ifndef NS_CORE_SSH_H
#define NS_CORE_SSH_H

#include <jansson.h>
#include <limits.h>

#include "../common/errcodes.h"
#include "../common/err.h"
#include "../common/sshkey.h"
#include "prep.h"

#define SSH_PORT      22   /* where sshd listens in a machine */
#define SSH_TTL_MAX_S 3600 /* the longest a user certificate lives */
#define SSH_USER_MAX  32

struct core;
struct machine;
struct ssh_setup;

struct core_ssh {
        unsigned char user_ca[32], host_ca[32]; /* seeds */
        char *user_ca_line, *host_ca_line;      /* "ssh-ed25519 ..." (owned) */
        struct prep server;                     /* fetching openssh-server into the cache */
        char server_tar[PATH_MAX + 64];         /* CACHE/ssh/openssh-server.tar */
        struct ssh_setup *setups;               /* sshd being set up in machines */
};

/* Loads (or makes, once) the CAs in STATE/ssh and finds the cached sshd package. Called
 * by core_init. 0 or -errno with e set. */
int core_ssh_init(struct core *core, struct err *e);

/* Frees what core_ssh_init made; setups under way are abandoned (their waiters are not
 * called: the daemon is stopping). */
void core_ssh_fini(struct core *core);

/* A user certificate for `user` on machine m for ttl_s seconds (1..SSH_TTL_MAX_S), with
 * PTY and port forwarding, agent forwarding only when asked. Returns a new object
 * {certificate, principal, key_id, serial, fingerprint, valid_after, valid_before,
 * known_hosts, host_ca_public_key, user_ca_public_key} or NULL with e set. */
json_t *core_ssh_certify(struct core *core, const struct machine *m, const struct ssh_pubkey *k,
                         const char *user, unsigned ttl_s, int agent_forwarding, struct err *e);

/* Checks a user name for a certificate: 1..SSH_USER_MAX of [a-z0-9_.-], not starting
 * with '-' or '.'. 1 when it is one. */
int ssh_user_ok(const char *user);

/* Told when sshd is (or cannot be) ready in a machine: code NS_OK, or an error with msg. */
typedef void (*ssh_ready_cb)(void *ud, enum ns_code code, const char *msg);

/* Makes sure sshd runs in the running machine m configured for it (its ID, CA and host
 * certificate), unpacking the cached package first when its template has no sshd.
 * Returns 1 when it is known to be ready (cb is not called), else 0 and cb runs later,
 * once, from the loop (also when the machine goes away). `force` redoes the setup even
 * when it was done (sshd stopped answering). */
int machine_ssh_prepare(struct machine *m, int force, ssh_ready_cb cb, void *ud);

/* Starts fetching the sshd package into the cache now, in the background (no wait). */
void core_ssh_warm(struct core *core);

#endif
