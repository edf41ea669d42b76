/* The daemon's end of one machine's agent stream (include/nsproto.h): frames in and
 * out over a pair of fds on the event loop, channels multiplexed, output bounded.
 * Loop thread only. */
#ifndef NS_AGENTCONN_H
#define NS_AGENTCONN_H

#include <jansson.h>
#include <stdint.h>

#include "../../include/nsproto.h"
#include "../common/buf.h"
#include "../common/err.h"
#include "../common/loop.h"

#define AGENTCONN_OUT_LIMIT (8u << 20)

struct agent_conn;

/* Receives every frame of one channel; after a terminal frame (see nsproto.h) the
 * callback closes the channel with agentconn_chan_close. A NULL header means the
 * channel is already gone: p is NULL when the connection was lost, or the reason (a
 * NUL-terminated error code) when agentconn_detach_sessions let it go. The
 * NSP_HDR_SIZE bytes before a payload are the frame's header, already read: a callback
 * may overwrite them (to prefix the payload without copying it). */
typedef void (*agent_frame_cb)(void *ud, const struct nsp_hdr *h, const unsigned char *p);

struct agent_chan {
        uint32_t id;
        agent_frame_cb cb;
        void *ud;
        uint32_t credit; /* bytes we may still send on stream 0 */
        int session;     /* attached to a process or a watch: may be let go at any time */
        struct agent_chan *next;
};

struct agent_conn {
        struct loop *loop;
        struct loop_io rio, wio;
        struct nsp_reader reader;
        struct buf out;
        struct agent_chan *chans;
        uint32_t next_chan;
        int hello_seen;
        int single; /* one fd both ways (a socket) */
        int lost;
        /* called once with the agent's HELLO document, then on loss (doc NULL) */
        void (*on_state)(struct agent_conn *a, json_t *hello);
        /* optional: a NOTE frame's document (borrowed), e.g. a process started or exited */
        void (*on_note)(struct agent_conn *a, json_t *note);
        void *owner;
};

/* Takes ownership of rfd (frames from the agent) and wfd (frames to it) and watches
 * them. Returns 0 or -errno with e set. */
int agentconn_init(struct agent_conn *a, struct loop *loop, int rfd, int wfd,
                   void (*on_state)(struct agent_conn *, json_t *), void *owner, struct err *e);

/* Closes the fds; every open channel's callback gets a NULL header first. */
void agentconn_fini(struct agent_conn *a);

/* Opens a channel with request `req` (borrowed). Returns the channel id, or 0 when
 * the connection is lost or over its output limit. */
uint32_t agentconn_open(struct agent_conn *a, const json_t *req, agent_frame_cb cb, void *ud);

/* Sends DATA (or EOF when n == 0 and eof) on stream 0 of chan, within credit. Returns
 * the bytes taken (possibly fewer than n: wait for agentconn credit via WINDOW). */
size_t agentconn_send_stdin(struct agent_conn *a, uint32_t chan, const void *p, size_t n);
int agentconn_send_eof(struct agent_conn *a, uint32_t chan);

/* Grants the agent `n` more bytes on (chan, stream). */
void agentconn_grant(struct agent_conn *a, uint32_t chan, int stream, uint32_t n);

/* Sends a signal to the channel's process. */
void agentconn_signal(struct agent_conn *a, uint32_t chan, int sig);

/* Forgets a channel (after its terminal frame, or to abandon it). */
void agentconn_chan_close(struct agent_conn *a, uint32_t chan);

/* Marks chan as a session channel (an attach or a watch): one that a checkpoint lets
 * go with agentconn_detach_sessions instead of waiting for it. */
void agentconn_set_session(struct agent_conn *a, uint32_t chan);

/* Sends DETACH for chan and forgets it without calling its callback (the agent keeps
 * a background process running; an exec's process is killed). */
void agentconn_detach(struct agent_conn *a, uint32_t chan);

/* Detaches every session channel, calling each callback with a NULL header and
 * `reason`. Returns how many went. */
unsigned agentconn_detach_sessions(struct agent_conn *a, const char *reason);

/* Whether a RESP frame is an error: its NSP_RESP_ERROR flag from a protocol-2 agent
 * (NSP_RESP_MARKED; the payload is not read), or, from an agent of protocol 1, exactly
 * {"error":{"code",...}}. */
int agentconn_resp_is_error(const struct nsp_hdr *h, const unsigned char *p);

/* The answer to agentconn_call: resp is the RESP document (borrowed), error its
 * {"code","message"} object when the agent refused (else NULL); resp NULL when the
 * connection was lost. */
typedef void (*agent_call_cb)(void *ud, json_t *resp, const json_t *error);

/* One request, one answer: done gets it. Returns the channel, or 0 (done is not
 * called) when the request cannot be sent. */
uint32_t agentconn_call(struct agent_conn *a, const json_t *req, agent_call_cb done, void *ud);

/* Credit left for stream 0 of chan. */
uint32_t agentconn_credit(struct agent_conn *a, uint32_t chan);

#endif
