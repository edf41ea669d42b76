/* Preview URLs: a machine's port reached through the daemon's proxy, by host
 * (http://PORT-MACHINE-TOKEN.DOMAIN/...), by path (/preview/MACHINE/PORT/TOKEN/...) or,
 * behind the user's own proxy, by header (X-Nullspace-Preview-Token: PORT-MACHINE-TOKEN).
 * MACHINE is the machine ID's hex part. Loop thread only unless said. */
#ifndef NS_API_PREVIEW_H
#define NS_API_PREVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/buf.h"
#include "../../common/errcodes.h"

struct app;
struct machine;
struct relay;
struct http_exchange;

#define PREVIEW_TOKEN_LEN 31

struct preview_target {
        char id[40];
        unsigned port;
        char token[PREVIEW_TOKEN_LEN + 1]; /* "" when the URL has none */
};

/* The hex part of a machine ID (IDs are "m_" + 16 hex): MACHINE in preview names. */
const char *preview_id_hex(const char *id);
/* The domain preview names end in, with the port the URLs name unless 80 or 443
 * ("localhost:7700"). */
void preview_domain(const struct app *app, char *out, size_t cap);
/* The target a Host header (may be NULL) names when it is PORT-MACHINE[-TOKEN].DOMAIN;
 * 0, or -1 when it is not a preview name. */
int preview_host_target(const struct app *app, const char *host, struct preview_target *t);

/* A token for (id, port) valid until exp (seconds since the epoch). Thread-safe. */
void preview_token_make(const unsigned char key[32], const char *id, unsigned port, uint32_t exp,
                        char out[PREVIEW_TOKEN_LEN + 1]);

/* NS_OK, NS_E_PREVIEW_TOKEN_INVALID (malformed, forged, other machine or port) or
 * NS_E_PREVIEW_TOKEN_EXPIRED. Constant-time compare. Thread-safe. */
enum ns_code preview_token_check(const unsigned char key[32], const char *id, unsigned port,
                                 const char *token, int64_t now_s);

/* A desktop viewer's token for machine id, view-only or in control, valid until exp;
 * viewer_token_check answers NS_OK, NS_E_VIEWER_TOKEN_INVALID (malformed, forged, other
 * machine or mode) or NS_E_VIEWER_TOKEN_EXPIRED. Same encoding as preview tokens, another
 * MAC message: neither passes for the other. Thread-safe. */
void viewer_token_make(const unsigned char key[32], const char *id, int view_only, uint32_t exp,
                       char out[PREVIEW_TOKEN_LEN + 1]);
enum ns_code viewer_token_check(const unsigned char key[32], const char *id, int view_only,
                                const char *token, int64_t now_s);

/* Parses a host label "PORT-HEX16[-TOKEN]" of len bytes. 0 or -1. Thread-safe. */
int preview_parse_label(const char *label, size_t len, struct preview_target *t);

/* A client connection relayed to a port of a machine: a preview request, or an SSH
 * tunnel (api/ssh.c). Listed in app->previews (at most --max-connections), ended when
 * the machine is checkpointed (preview_drop_machine). */
struct preview_conn {
        struct app *app;
        char id[40];
        unsigned port;
        char request_id[48]; /* the request's, for errors answered after the takeover */
        int client;
        struct buf pre;    /* sent upstream first: the rewritten head, bytes after it */
        const char *reply; /* sent to the client once connected (static; NULL: none) */
        int abortive;      /* reset the upstream at the end, never half-close it (relay.h) */
        struct relay *relay;
        /* Told instead of answering upstream_unreachable when the connect fails (NULL:
         * answer): pc lives on, to connect again or fail. */
        void (*refused)(struct preview_conn *pc);
        int retried; /* the opener's: it tried once more already */
        /* what runs once the machine runs (preview_conn_start) */
        void (*go)(struct preview_conn *pc, struct machine *m);
        struct preview_conn *next;
};

/* Why a connection to machine m may not be relayed now: NS_OK when m has a network, the
 * daemon is under --max-connections and m runs or can wait for it (machine_wakeable);
 * else network_unavailable, too_many_connections or machine_not_running, with the
 * message in msg. Loop thread. */
enum ns_code preview_conn_refusal(const struct app *app, const struct machine *m, char *msg,
                                  size_t cap);
/* preview_conn_refusal, answered to ex: 0, or -1 after answering. */
int preview_conn_admit(struct http_exchange *ex, struct machine *m);

/* A new listed connection to `port` of machine m for a client socket of the daemon's own
 * (a socketpair end: api/ws_code.c), taken unless NULL is returned (out of memory).
 * Check app->npreviews against --max-connections first; start it like one taken
 * (preview_conn_start); what it relays comes from the client socket. Loop thread. */
struct preview_conn *preview_conn_open(struct app *app, struct machine *m, unsigned port,
                                       int client, const char *request_id);

/* Takes ex's client socket into a new listed connection to `port` of machine m; pre
 * (stolen) is what goes upstream first, the bytes read past the head added to it.
 * Returns it, or NULL after answering ex. Loop thread. */
struct preview_conn *preview_conn_take(struct http_exchange *ex, struct machine *m, unsigned port,
                                       struct buf *pre);

/* Runs go(pc, m) once machine m runs: at once, or after a resume (a failed resume is
 * answered to the client and pc freed). m must have passed preview_conn_admit. */
void preview_conn_start(struct preview_conn *pc, struct machine *m,
                        void (*go)(struct preview_conn *pc, struct machine *m));

/* Connects pc to its port at running machine m's address and relays. Loop thread. */
void preview_conn_connect(struct preview_conn *pc, struct machine *m);

/* The code interpreter's port in machines of the code-interpreter template: never a
 * preview, reached through /v1/machines/{id}/code/... (api/code.c). */
#define CODE_PORT 49999
/* The desktop's automation server in machines of the desktop template: never a preview,
 * reached through /v1/machines/{id}/desktop/... (api/services.c). */
#define DESKTOP_PORT 49990

/* Forwards request ex (taken at its head, api_preview_intercept) to `port` of machine m
 * as `target` (path and query), its API key stripped, the connection closed after the
 * answer; a hibernated m resumes first. refused (may be NULL) is told instead of
 * answering upstream_unreachable when nothing listens. 0 (ex, its request and everything
 * they point to are freed: copy what is still needed before calling), or -1 after
 * answering ex. Loop thread. */
int preview_forward(struct http_exchange *ex, struct machine *m, unsigned port, const char *target,
                    void (*refused)(struct preview_conn *pc));

/* Relays request ex (taken at its head) to `port` of machine m as `target`, as the
 * client sent it (its Authorization passes: it is the app's own, not our key); by_path
 * closes after the answer. A hibernated or paused m resumes first. 0 (ex is freed), or
 * -1 after answering ex. Loop thread. */
int preview_relay(struct http_exchange *ex, struct machine *m, unsigned port, const char *target,
                  int by_path);

/* Answers pc's client with an error (raw HTTP: the socket is ours), closes and frees
 * pc. Loop thread. */
void preview_conn_fail(struct preview_conn *pc, enum ns_code code, const char *msg);

#endif
