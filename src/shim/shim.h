/* Internal to nsshim (main.c: the relay loop; direct.c: bulk output spliced straight
 * from the agent to the daemon). Single-threaded. */
#ifndef NS_SHIM_H
#define NS_SHIM_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "../../include/nsproto.h"
#include "../common/buf.h"

#define SHIM_BUFFER (8u << 20)

struct side {
        int rfd, wfd;
        struct nsp_reader reader; /* frames read from this side */
        struct buf out;           /* whole frames waiting to be written to this side */
};

/* read(2) without EINTR: bytes read (> 0), 0 when none can be read now, -1 at EOF or on
 * an error. */
ssize_t read_some(int fd, void *p, size_t n);

/* Reads what the side has into its frame reader, at most `cap` bytes; -1 at EOF or
 * error. */
int read_side(struct side *s, size_t cap);

/* Forgets the connected daemon: its socket closed, a partial frame from it and the
 * frames waiting for it dropped. */
void drop_daemon(struct side *d);

/* direct.c: large DATA frames from the agent go to a connected daemon by splice(2). */
enum direct_mode { D_HEADER, D_SPLICE, D_BUFFER, D_DISCARD };

struct direct {
        enum direct_mode mode;
        unsigned char hdr[NSP_HDR_SIZE];
        size_t hdr_len; /* D_HEADER: header bytes read so far */
        size_t left;    /* other modes: payload bytes still to move */
        int wait_out;   /* D_SPLICE: the socket is full (else: the pipe is empty) */
        int no_splice;  /* the kernel refused to splice: payloads go through out */
};

/* Reads from the agent: with no daemon into the frame reader (frames wait in out),
 * with one straight through. 0, or -1 when the agent's output ended or broke. */
int agent_read(struct direct *d, struct side *agent, struct side *daemon);

/* The poll events the agent's output needs now. */
short agent_events(const struct direct *d, const struct side *agent, const struct side *daemon);

/* After the daemon went away: a payload under way to it can go nowhere now. */
void direct_lost_daemon(struct direct *d);

#endif
