/* The API's side of a WebSocket session (/v1/ws): the client, its channels (streams
 * from machines: exec output, processes and PTYs, file watches, lifecycle events) and
 * its pending requests. docs/websocket-protocol.md is the contract. Loop thread only. */
#ifndef NS_API_WSAPI_H
#define NS_API_WSAPI_H

#include <jansson.h>
#include <stdint.h>

#include "../../common/buf.h"
#include "../../common/errcodes.h"
#include "../app.h"
#include "../http/ws.h"

#define WSC_MAX_CHANNELS 16
#define WSC_LINE_MAX     (64u << 10) /* one watch event line */

enum ws_channel_kind {
        WCH_EXEC = 1,
        WCH_PROC,
        WCH_WATCH,
        WCH_EVENTS,
        WCH_BUILD,
        WCH_MONITOR,
        WCH_CODE
};

struct ws_client;

/* One stream of a session, numbered by the daemon (1, 2, ...). */
struct monitor_sub;

struct ws_channel {
        struct ws_client *c;
        uint32_t id;
        enum ws_channel_kind kind;
        char machine[MACHINE_ID_MAX]; /* (build.logs: the build's ID) */
        struct agent_conn *agent;     /* NULL for events and build logs */
        uint32_t achan;               /* the agent channel */
        int pid;
        json_t *req_id;   /* the id of the request that opened it */
        int answered;     /* that request got its reply */
        uint32_t owed[3]; /* output bytes taken from the agent, not yet granted back */
        uint32_t window;  /* the agent's output credit per stream (grants go in halves) */
        struct buf line;  /* watch: a partial event line */
        uint64_t cursor;  /* build logs: the next byte of the log to send */
        char ev_type[EVENT_TYPE_MAX]; /* events: the type filter ("" or "*": all) */
        struct monitor_sub *mon;      /* monitor: its subscription (api/monitor.c) */
        struct ws_code *code;         /* code.run: the run's stream (ws_code.c) */
        struct ws_channel *next;
};

/* A client. Pending agent calls and resumes hold references; `ws` is NULL once the
 * session closed (their answers are then dropped). */
struct ws_client {
        struct app *app;
        struct ws_session *ws;
        int refs;
        struct ws_channel *chans;
        unsigned nchans;
        char key_id[48]; /* the API key it authenticated with */
        uint32_t next_id;
        struct ws_client *next; /* app->ws_clients */
};

/* Sends {"type":..., ...} (steals doc; adds nothing). A client that cannot take it is
 * closed with 1008. */
void ws_client_send(struct ws_client *c, json_t *doc);

/* Sends {"type":"error","id"?,"channel"?,"error":{"code","message","request_id"}}. */
void ws_client_error(struct ws_client *c, json_t *id, uint32_t channel, enum ns_code code,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

void ws_client_ref(struct ws_client *c);
void ws_client_unref(struct ws_client *c);

/* ws_chan.c: channels. ws_channel_open registers a channel whose agent frames go through
 * ws_channel_on_frame (to be passed to agentconn_open with the channel as ud); NULL (after
 * answering id) past WSC_MAX_CHANNELS. */
struct ws_channel *ws_channel_new(struct ws_client *c, json_t *id, enum ws_channel_kind kind,
                                  const char *machine);
void ws_channel_on_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p);
struct ws_channel *ws_channel_find(struct ws_client *c, uint32_t id);
/* Ends a channel from our side: the agent channel is detached (an exec's process is
 * killed; a background process runs on). */
void ws_channel_close(struct ws_channel *ch);
/* Frees a channel whose agent side is already gone. */
void ws_channel_free(struct ws_channel *ch);
/* Grants the agent what every channel is owed (the client caught up). */
void ws_channel_grant_all(struct ws_client *c);
/* Client data for a channel (binary frame stream 0, or a text "stdin" message). */
void ws_channel_stdin(struct ws_channel *ch, json_t *id, const void *p, size_t n, int eof);
/* ws_build.c: build log channels. ws_channel_build_open registers one for build (after
 * answering id with build_not_found when there is none: NULL); the caller replies, then
 * ws_channel_build_start sends what the log holds (and the end when the build ended).
 * ws_channel_build_pump_all goes on once the client caught up; ws_client_build_notify is the build
 * log hook (core.h: a log grew or a build ended). */
struct ws_channel *ws_channel_build_open(struct ws_client *c, json_t *id, const char *build,
                                         uint64_t cursor);
void ws_channel_build_start(struct ws_channel *ch);
void ws_channel_build_pump_all(struct ws_client *c);
void ws_client_build_notify(struct core *core, const char *build_id, int ended);

/* ws_code.c: code.run channels. ws_code_open streams a run of m's code interpreter
 * (fields: the message's run fields, borrowed) on a new channel, answering id with the
 * channel once the interpreter took the run, or with its error; ws_code_pump_all goes on
 * once the client caught up; ws_code_free (from ws_channel_free) closes the stream,
 * which interrupts the run. */
struct ws_code;
void ws_code_open(struct ws_client *c, json_t *id, struct machine *m, json_t *fields);
void ws_code_pump(struct ws_channel *ch);
void ws_code_pump_all(struct ws_client *c);
void ws_code_free(struct ws_code *wc);

/* Lifecycle events to every client subscribed (a store hook). */
void ws_client_broadcast_event(struct app *app, const struct event_rec *ev);

#endif
