#include "agentconn.h"

#include "../common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct agent_chan *find(struct agent_conn *a, uint32_t id)
{
        for (struct agent_chan *c = a->chans; c; c = c->next)
                if (c->id == id)
                        return c;
        return NULL;
}

static void put32(unsigned char *p, uint32_t v)
{
        p[0] = (unsigned char)v;
        p[1] = (unsigned char)(v >> 8);
        p[2] = (unsigned char)(v >> 16);
        p[3] = (unsigned char)(v >> 24);
}

static void flush(struct agent_conn *a);

static int send_frame(struct agent_conn *a, uint16_t type, uint16_t flags, uint32_t chan,
                      const void *p, size_t n)
{
        if (a->lost)
                return -1;
        struct nsp_hdr h = {(uint32_t)n, type, flags, chan};
        unsigned char hdr[NSP_HDR_SIZE];
        nsp_hdr_encode(&h, hdr);
        if (a->out.len + sizeof(hdr) + n > a->out.limit)
                return -1;
        buf_append(&a->out, hdr, sizeof(hdr));
        if (n)
                buf_append(&a->out, p, n);
        flush(a);
        return 0;
}

/* Marks the connection lost and tells everyone; idempotent. */
static void lose(struct agent_conn *a)
{
        if (a->lost)
                return;
        a->lost = 1;
        loop_io_del(a->loop, &a->rio);
        if (!a->single)
                loop_io_del(a->loop, &a->wio);
        while (a->chans) {
                struct agent_chan *c = a->chans;
                a->chans = c->next;
                agent_frame_cb cb = c->cb;
                void *ud = c->ud;
                free(c);
                cb(ud, NULL, NULL);
        }
        if (a->on_state)
                a->on_state(a, NULL);
}

static void flush(struct agent_conn *a)
{
        while (a->out.len > 0 && !a->lost) {
                ssize_t w = write(a->wio.fd, a->out.data, a->out.len);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN)
                        break;
                if (w <= 0) {
                        lose(a);
                        return;
                }
                buf_consume(&a->out, (size_t)w);
        }
        if (a->lost)
                return;
        if (a->single)
                loop_io_mod(a->loop, &a->rio, EPOLLIN | (a->out.len ? EPOLLOUT : 0));
        else
                loop_io_mod(a->loop, &a->wio, a->out.len ? EPOLLOUT : 0);
}

static uint32_t get32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void on_frame(struct agent_conn *a, const struct nsp_hdr *h, const unsigned char *p)
{
        if (h->type == NSP_NOTE) {
                json_t *doc = a->on_note ? json_loadb((const char *)p, h->len, 0, NULL) : NULL;
                if (doc)
                        a->on_note(a, doc);
                json_decref(doc);
                return;
        }
        if (h->type == NSP_HELLO) {
                json_t *doc = json_loadb((const char *)p, h->len, 0, NULL);
                a->hello_seen = 1;
                if (a->on_state && doc)
                        a->on_state(a, doc);
                json_decref(doc);
                return;
        }
        struct agent_chan *c = find(a, h->chan);
        if (!c)
                return; /* a channel we gave up on */
        if (h->type == NSP_WINDOW && h->flags == NSP_STDIN) {
                uint64_t v = (uint64_t)c->credit + get32(p);
                c->credit = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        }
        c->cb(c->ud, h, p);
}

static void on_read(struct loop_io *io, uint32_t events)
{
        struct agent_conn *a = (struct agent_conn *)((char *)io - offsetof(struct agent_conn, rio));
        if (a->single && (events & EPOLLOUT))
                flush(a);
        for (int rounds = 0; rounds < 64 && !a->lost; rounds++) {
                struct nsp_hdr h;
                const unsigned char *p;
                int r;
                while (!a->lost && (r = nsp_reader_next(&a->reader, &h, &p)) == 1)
                        on_frame(a, &h, p);
                if (a->lost)
                        return;
                if (r < 0) {
                        lose(a);
                        return;
                }
                size_t room = nsp_reader_room(&a->reader);
                unsigned char *dst = room ? nsp_reader_space(&a->reader, room) : NULL;
                ssize_t n = dst ? read(io->fd, dst, room) : -1;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        lose(a);
                        return;
                }
                nsp_reader_commit(&a->reader, (size_t)n);
        }
}

static void on_write(struct loop_io *io, uint32_t events)
{
        (void)events;
        flush((struct agent_conn *)((char *)io - offsetof(struct agent_conn, wio)));
}

int agentconn_init(struct agent_conn *a, struct loop *loop, int rfd, int wfd,
                   void (*on_state)(struct agent_conn *, json_t *), void *owner, struct err *e)
{
        memset(a, 0, sizeof(*a));
        a->loop = loop;
        a->on_state = on_state;
        a->owner = owner;
        /* a fresh daemon may find channels of its predecessor still open in the agent:
         * start numbering somewhere else */
        uint32_t start = 0;
        rand_bytes(&start, sizeof(start));
        a->next_chan = (start >> 1) | 1;
        nsp_reader_init(&a->reader);
        buf_init(&a->out, AGENTCONN_OUT_LIMIT);
        fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
        fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
        a->rio.fd = rfd;
        a->rio.cb = on_read;
        a->wio.fd = wfd;
        a->wio.cb = on_write;
        a->single = rfd == wfd; /* one socket both ways, or a pair of pipes */
        int r = loop_io_add(loop, &a->rio, EPOLLIN, e);
        if (r == 0 && !a->single)
                r = loop_io_add(loop, &a->wio, 0, e);
        return r;
}

void agentconn_fini(struct agent_conn *a)
{
        a->on_state = NULL;
        lose(a);
        close(a->rio.fd);
        if (!a->single)
                close(a->wio.fd);
        nsp_reader_fini(&a->reader);
        buf_fini(&a->out);
}

uint32_t agentconn_open(struct agent_conn *a, const json_t *req, agent_frame_cb cb, void *ud)
{
        if (a->lost)
                return 0;
        char *text = json_dumps(req, JSON_COMPACT);
        struct agent_chan *c = calloc(1, sizeof(*c));
        uint32_t id = a->next_chan++;
        if (a->next_chan == 0)
                a->next_chan = 1;
        if (!text || !c || send_frame(a, NSP_REQ, 0, id, text, strlen(text)) < 0) {
                free(text);
                free(c);
                return 0;
        }
        free(text);
        c->id = id;
        c->cb = cb;
        c->ud = ud;
        c->credit = NSP_WINDOW_INIT;
        c->next = a->chans;
        a->chans = c;
        return id;
}

size_t agentconn_send_stdin(struct agent_conn *a, uint32_t chan, const void *p, size_t n)
{
        struct agent_chan *c = find(a, chan);
        size_t sent = 0;
        while (c && sent < n && c->credit > 0) {
                size_t k = n - sent;
                if (k > c->credit)
                        k = c->credit;
                if (k > NSP_MAX_DATA)
                        k = NSP_MAX_DATA;
                if (send_frame(a, NSP_DATA, NSP_STDIN, chan, (const char *)p + sent, k) < 0)
                        break;
                c->credit -= (uint32_t)k;
                sent += k;
        }
        return sent;
}

int agentconn_send_eof(struct agent_conn *a, uint32_t chan)
{
        return send_frame(a, NSP_EOF, NSP_STDIN, chan, NULL, 0);
}

void agentconn_grant(struct agent_conn *a, uint32_t chan, int stream, uint32_t n)
{
        unsigned char v[4];
        put32(v, n);
        send_frame(a, NSP_WINDOW, (uint16_t)stream, chan, v, 4);
}

void agentconn_signal(struct agent_conn *a, uint32_t chan, int sig)
{
        unsigned char v[4];
        put32(v, (uint32_t)sig);
        send_frame(a, NSP_SIGNAL, 0, chan, v, 4);
}

void agentconn_chan_close(struct agent_conn *a, uint32_t chan)
{
        for (struct agent_chan **pp = &a->chans; *pp; pp = &(*pp)->next) {
                if ((*pp)->id == chan) {
                        struct agent_chan *c = *pp;
                        *pp = c->next;
                        free(c);
                        return;
                }
        }
}

uint32_t agentconn_credit(struct agent_conn *a, uint32_t chan)
{
        struct agent_chan *c = find(a, chan);
        return c ? c->credit : 0;
}

void agentconn_set_session(struct agent_conn *a, uint32_t chan)
{
        struct agent_chan *c = find(a, chan);
        if (c)
                c->session = 1;
}

void agentconn_detach(struct agent_conn *a, uint32_t chan)
{
        if (!find(a, chan))
                return;
        send_frame(a, NSP_DETACH, 0, chan, NULL, 0);
        agentconn_chan_close(a, chan);
}

unsigned agentconn_detach_sessions(struct agent_conn *a, const char *reason)
{
        unsigned n = 0;
        for (struct agent_chan **pp = &a->chans; *pp;) {
                struct agent_chan *c = *pp;
                if (!c->session) {
                        pp = &c->next;
                        continue;
                }
                *pp = c->next;
                send_frame(a, NSP_DETACH, 0, c->id, NULL, 0);
                agent_frame_cb cb = c->cb;
                void *ud = c->ud;
                free(c);
                cb(ud, NULL, (const unsigned char *)reason);
                n++;
                pp = &a->chans; /* the callback may have closed others */
        }
        return n;
}

int agentconn_resp_is_error(const struct nsp_hdr *h, const unsigned char *p)
{
        if (h->flags & (NSP_RESP_ERROR | NSP_RESP_MARKED))
                return (h->flags & NSP_RESP_ERROR) != 0;
        /* protocol 1: only the shape says it (a reply holding a field named "error", a
         * file or a process tag, is not one) */
        json_t *doc = json_loadb((const char *)p, h->len, 0, NULL);
        json_t *err = json_object_get(doc, "error");
        int is = json_object_size(doc) == 1 && json_is_string(json_object_get(err, "code"));
        json_decref(doc);
        return is;
}

struct call {
        struct agent_conn *a;
        agent_call_cb done;
        void *ud;
};

static void on_call_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct call *c = ud;
        if (h && h->type != NSP_RESP)
                return; /* a one-shot request gets nothing else */
        json_t *doc = h ? json_loadb((const char *)p, h->len, 0, NULL) : NULL;
        int failed = h && (!doc || agentconn_resp_is_error(h, p));
        if (h)
                agentconn_chan_close(c->a, h->chan);
        if (h && !doc)
                doc = json_pack("{s:{s:s,s:s}}", "error", "code", "internal", "message",
                                "the agent's answer is not JSON");
        json_t *error = failed ? json_object_get(doc, "error") : NULL;
        if (failed && !json_is_object(error))
                error = doc; /* an error frame of another shape: its message is missing */
        c->done(c->ud, doc, error);
        json_decref(doc);
        free(c);
}

uint32_t agentconn_call(struct agent_conn *a, const json_t *req, agent_call_cb done, void *ud)
{
        struct call *c = calloc(1, sizeof(*c));
        if (!c)
                return 0;
        *c = (struct call){a, done, ud};
        uint32_t id = agentconn_open(a, req, on_call_frame, c);
        if (!id)
                free(c);
        return id;
}
