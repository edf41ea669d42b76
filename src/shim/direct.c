/* nsshim's bulk output: large DATA frames from the agent go to a connected daemon
 * without passing through this process: the header is read and written, the payload
 * spliced from the agent's pipe to the daemon's socket (pages move, nothing is copied
 * here). Only while nothing
 * else waits for the daemon and the frame reader holds no bytes, so frames stay in
 * order and whole: a payload a daemon stops taking midway is read and dropped (that
 * daemon is gone; the next one starts on a frame boundary). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "shim.h"

#define DIRECT_MIN (32u << 10)

/* No frame under way (not even part of a header read). */
static int between_frames(const struct direct *d)
{
        return d->mode == D_HEADER && d->hdr_len == 0;
}

static int reader_empty(const struct nsp_reader *r)
{
        return r->len == r->off;
}

/* A frame under way goes on; a new one starts only to a daemon nothing waits for. */
static int direct_ok(const struct direct *d, const struct side *daemon)
{
        return !between_frames(d) || (daemon->wfd >= 0 && daemon->out.len == 0);
}

void direct_lost_daemon(struct direct *d)
{
        if (d->mode == D_SPLICE || d->mode == D_BUFFER)
                d->mode = D_DISCARD;
}

/* A whole header: a large DATA frame starts out (its payload spliced, or buffered when
 * the socket did not take the header whole); any other goes to the frame reader. */
static int direct_header(struct direct *d, struct side *agent, struct side *daemon)
{
        struct nsp_hdr h;
        d->hdr_len = 0;
        if (nsp_hdr_decode(d->hdr, &h) < 0)
                return -1;
        if (daemon->wfd < 0) /* gone meanwhile: the frame waits, read the usual way */
                return nsp_reader_feed(&agent->reader, d->hdr, NSP_HDR_SIZE);
        size_t sent = 0;
        if (h.type == NSP_DATA && h.len >= DIRECT_MIN && !d->no_splice) {
                ssize_t w = write(daemon->wfd, d->hdr, NSP_HDR_SIZE);
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                        drop_daemon(daemon);
                        return nsp_reader_feed(&agent->reader, d->hdr, NSP_HDR_SIZE);
                }
                sent = w > 0 ? (size_t)w : 0;
        }
        d->left = h.len;
        d->wait_out = 0;
        d->mode = d->left == 0 ? D_HEADER : sent == NSP_HDR_SIZE ? D_SPLICE : D_BUFFER;
        /* a small frame (or a header the socket took only in part) goes through out */
        return sent < NSP_HDR_SIZE ? buf_append(&daemon->out, d->hdr + sent, NSP_HDR_SIZE - sent)
                                   : 0;
}

/* Splices payload bytes; n > 0 moved, 0 would block, -1 at the agent's EOF. */
static ssize_t direct_splice(struct direct *d, struct side *agent, struct side *daemon)
{
        ssize_t n =
            splice(agent->rfd, NULL, daemon->wfd, NULL, d->left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                struct pollfd q = {daemon->wfd, POLLOUT, 0}; /* which end does it wait for? */
                d->wait_out = !(poll(&q, 1, 0) == 1 && (q.revents & POLLOUT));
                return 0;
        }
        if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
                d->no_splice = 1; /* not here: this payload and all later go through out */
                d->mode = D_BUFFER;
                return 1;
        }
        if (n < 0) {
                drop_daemon(daemon); /* the socket failed: the pipe does not */
                d->mode = D_DISCARD;
                return 1;
        }
        return n > 0 ? n : -1;
}

/* Moves payload bytes the current mode's way; n > 0 moved, 0 would block, -1 at the
 * agent's EOF or error. */
static ssize_t direct_move(struct direct *d, struct side *agent, struct side *daemon)
{
        static unsigned char tmp[NSP_MAX_DATA];
        size_t want = d->left < sizeof(tmp) ? d->left : sizeof(tmp);
        enum direct_mode mode = d->mode;
        ssize_t n =
            mode == D_SPLICE ? direct_splice(d, agent, daemon) : read_some(agent->rfd, tmp, want);
        if (n <= 0 || d->mode != mode)
                return n;
        if (mode == D_BUFFER && buf_append(&daemon->out, tmp, (size_t)n) < 0)
                return -1;
        d->left -= (size_t)n;
        if (d->left == 0)
                d->mode = D_HEADER;
        return n;
}

/* Reads and moves what the agent has while direct output may go on. 0 or -1 as
 * read_side. */
static int direct_pump(struct direct *d, struct side *agent, struct side *daemon)
{
        while (direct_ok(d, daemon) && reader_empty(&agent->reader)) {
                if (d->mode != D_HEADER) {
                        ssize_t n = direct_move(d, agent, daemon);
                        if (n <= 0)
                                return (int)n;
                        continue;
                }
                ssize_t n = read_some(agent->rfd, d->hdr + d->hdr_len, NSP_HDR_SIZE - d->hdr_len);
                if (n <= 0)
                        return (int)n;
                d->hdr_len += (size_t)n;
                if (d->hdr_len == NSP_HDR_SIZE && direct_header(d, agent, daemon) < 0)
                        return -1;
        }
        return 0;
}

/* Bytes that complete the partial frame the reader holds (0: none, or a whole one). */
static size_t partial_left(const struct nsp_reader *r)
{
        size_t have = r->len - r->off;
        struct nsp_hdr h;
        if (have < NSP_HDR_SIZE)
                return NSP_HDR_SIZE - have;
        if (nsp_hdr_decode(r->buf + r->off, &h) < 0 || have >= NSP_HDR_SIZE + h.len)
                return 0;
        return NSP_HDR_SIZE + h.len - have;
}

/* The reader's partial frame is completed first (never a byte past it), then frames go
 * direct. */
int agent_read(struct direct *d, struct side *agent, struct side *daemon)
{
        if (daemon->wfd < 0 && between_frames(d))
                return read_side(agent, (size_t)-1);
        if (!reader_empty(&agent->reader)) {
                size_t part = partial_left(&agent->reader);
                return part ? read_side(agent, part) : 0;
        }
        return direct_pump(d, agent, daemon);
}

short agent_events(const struct direct *d, const struct side *agent, const struct side *daemon)
{
        if (d->mode == D_SPLICE)
                return d->wait_out ? 0 : POLLIN;
        if (daemon->wfd >= 0 && between_frames(d) && reader_empty(&agent->reader))
                return daemon->out.len == 0 ? POLLIN : 0; /* what waits in out goes first */
        return daemon->out.len < SHIM_BUFFER ? POLLIN : 0;
}
