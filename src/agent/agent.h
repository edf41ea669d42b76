/* nsagent: the first process inside every machine. It speaks the agent protocol
 * (include/nsproto.h) on stdin/stdout and runs processes and file operations for the
 * daemon. Single-threaded, one epoll loop; no allocation grows without a bound set
 * by the protocol's flow-control windows. */
#ifndef NS_AGENT_H
#define NS_AGENT_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../include/nsproto.h"
#include "../common/buf.h"

#define AGENT_MAX_CHANNELS 1024
#define AGENT_OUT_HIGH     (1u << 20) /* stop producing DATA while this much is queued */

struct agent;

/* One open channel (an exec or a file transfer). */
struct chan {
        uint32_t id;
        int kind; /* CHAN_EXEC, CHAN_READ, CHAN_WRITE */
        struct chan *next;
        /* exec */
        pid_t pid;
        int fd_in, fd_out, fd_err; /* -1 when closed */
        struct buf in_pending;     /* stdin bytes not yet written to the process */
        int in_eof;
        int exited, status, timed_out;
        uint64_t start_ms, deadline_ms;
        /* read / write */
        int fd;
        uint64_t bytes;
        char *path, *tmp_path;
        unsigned mode;
        int failed;
        /* credit for what we send on stdout (1) and stderr (2) */
        uint32_t credit[3];
};

enum { CHAN_EXEC = 1, CHAN_READ, CHAN_WRITE };

struct agent {
        int epfd, in_fd, out_fd, sig_fd;
        struct nsp_reader reader;
        struct buf out;
        struct chan *chans;
        unsigned nchans;
        int in_closed;
        /* a checkpoint may be coming ("quiesce"): rebuild the epoll set every few ms
         * until REARM_WINDOW_MS after the next frame from the daemon, since after a
         * restore readiness of the stdio descriptors no longer reaches registrations
         * made before (or too early after) it */
        int rearm_pending;
        uint64_t rearm_until; /* ms (agent_now_ms); 0 while no frame came yet */
};

/* Queues one frame; returns 0 or -1 when the output is over its hard limit. */
int agent_send(struct agent *a, uint16_t type, uint16_t flags, uint32_t chan, const void *p,
               size_t n);
/* Queues a JSON frame (steals doc). */
int agent_send_json(struct agent *a, uint16_t type, uint32_t chan, json_t *doc);
/* Queues RESP {"error":{"code","message"}} for chan. */
void agent_send_error(struct agent *a, uint32_t chan, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Queues RESP error for an errno value (file_not_found, permission_denied, ...). */
void agent_send_errno(struct agent *a, uint32_t chan, int err, const char *what);

/* Channels. */
struct chan *agent_chan_new(struct agent *a, uint32_t id, int kind);
struct chan *agent_chan_find(struct agent *a, uint32_t id);
void agent_chan_free(struct agent *a, struct chan *c);

/* epoll registration of a channel's fd (data.u64 carries chan id and which fd). */
int agent_watch(struct agent *a, int fd, uint32_t events, uint32_t chan, int which);
void agent_unwatch(struct agent *a, int fd);

uint64_t agent_now_ms(void);

/* identity.c: {"op":"identity","hostname","machine_id","seed"} after a fork or a spawn
 * from a snapshot. Answers RESP {"hostname"} or an error. */
void identity_apply(struct agent *a, uint32_t chan, json_t *req);

/* exec.c */
void exec_start(struct agent *a, uint32_t chan, json_t *req);
void exec_on_fd(struct agent *a, struct chan *c, int which, uint32_t events);
void exec_on_stdin(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof);
void exec_signal(struct agent *a, struct chan *c, int sig);
void exec_reap(struct agent *a);
void exec_check_deadlines(struct agent *a, uint64_t now);
int exec_next_deadline(struct agent *a, uint64_t now);
void exec_pump(struct agent *a, struct chan *c);

/* files.c */
void files_request(struct agent *a, uint32_t chan, const char *op, json_t *req);
void files_on_data(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof);
void files_pump(struct agent *a, struct chan *c);

#endif
