/* The agent protocol: one persistent, multiplexed, binary-safe byte stream between
 * nullspaced and the nsagent inside each machine, identical on every transport
 * (stdio pipes for gVisor, a serial port or vsock for VMs).
 *
 * Every frame is a 12-byte header, little-endian, then `len` payload bytes:
 *     u32 len | u16 type | u16 flags | u32 chan
 * A channel is one operation (an exec, a file read, ...) opened by the daemon with a
 * REQ on a channel number (non-zero) it has not used before; it ends with exactly one
 * terminal frame from the agent:
 *   - a RESP carrying "error" ends any channel;
 *   - exec:  RESP {"pid"} (not terminal), DATA/EOF on streams 1 and 2, then EXIT; the
 *            request may set "window" (NSP_WINDOW_INIT..NSP_WINDOW_MAX): the output
 *            credit the agent starts with, for fast streams;
 *   - read:  RESP {"size","mode"} (not terminal), DATA on stream 1, then EOF on stream 1;
 *   - write: the daemon sends DATA on stream 0 and EOF; the agent answers RESP {"bytes"};
 *   - stat, exists, list, mkdir, remove, rename: one RESP.
 * Control payloads are JSON objects; DATA payloads are raw bytes.
 *
 * Flow control: a sender may have at most `window` unacknowledged DATA bytes per
 * (channel, stream); the receiver returns credit with WINDOW frames as it consumes.
 * Each side starts with NSP_WINDOW_INIT of credit for every stream it sends on. */
#ifndef NS_PROTO_H
#define NS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define NSP_VERSION 3 /* 2: RESP frames mark errors with NSP_RESP_ERROR; 3: NOTE frames */
/* RESP flags: the payload is an error, {"error":{"code","message"}}. Agents of protocol
 * 1 (machines hibernated by an older daemon) send errors without it. */
#define NSP_RESP_ERROR 1u
/* RESP flags: sent by every protocol-2 agent, so the daemon knows NSP_RESP_ERROR decides
 * and never reads the payload to tell. */
#define NSP_RESP_MARKED 2u
#define NSP_HDR_SIZE    12
#define NSP_MAX_PAYLOAD (1u << 20)   /* a larger frame is a protocol error */
#define NSP_MAX_DATA    (256u << 10) /* DATA frames are at most this big */
#define NSP_WINDOW_INIT (1u << 20)
#define NSP_WINDOW_MAX  (16u << 20) /* an exec request may ask for a larger output window */

enum nsp_type {
        NSP_HELLO = 1,  /* agent → daemon, chan 0: {"version","pid","hostname"} */
        NSP_REQ = 2,    /* daemon → agent: {"op": ...} opens a channel */
        NSP_RESP = 3,   /* agent → daemon: result, or (flags NSP_RESP_ERROR)
                           {"error":{"code","message"}}; terminal */
        NSP_DATA = 4,   /* raw bytes on stream `flags` */
        NSP_EOF = 5,    /* end of stream `flags` */
        NSP_WINDOW = 6, /* payload u32: more credit for the peer's DATA on (chan, flags) */
        NSP_EXIT =
            7, /* agent → daemon: {"exit_code","signal","timed_out","duration_ms"}; terminal */
        NSP_SIGNAL = 8, /* daemon → agent: payload u32 signal number for the channel's process */
        NSP_DETACH = 9, /* daemon → agent: forget the channel, no answer (an exec's process is
                           killed; a background process attached to it runs on) */
        NSP_NOTE = 10,  /* agent → daemon, chan 0 (protocol 3): something happened that no
                           request asked about: {"event":"process.start","pid","tag","cmd",
                           "background"} or {"event":"process.exit","pid","tag","exit_code",
                           "signal","background"} */
};

/* A file write goes to PATH + NSP_WRITE_TMP + the channel number, then is renamed over
 * PATH: a watch sees that name come and go (e2b_watch.c hides it). */
#define NSP_WRITE_TMP ".nswrite-"

enum nsp_stream {
        NSP_STDIN = 0,  /* daemon → agent: process stdin, or file content being written */
        NSP_STDOUT = 1, /* agent → daemon: process stdout, or file content being read */
        NSP_STDERR = 2,
};

struct nsp_hdr {
        uint32_t len;
        uint16_t type;
        uint16_t flags;
        uint32_t chan;
};

/* Writes the 12-byte wire form of h into out. */
void nsp_hdr_encode(const struct nsp_hdr *h, unsigned char out[NSP_HDR_SIZE]);

/* Reads a header from 12 bytes. Returns 0, or -1 when the frame is invalid (unknown
 * type, payload over NSP_MAX_PAYLOAD, DATA over NSP_MAX_DATA, bad stream). */
int nsp_hdr_decode(const unsigned char in[NSP_HDR_SIZE], struct nsp_hdr *h);

/* Incremental frame reader over a byte stream. Bytes are appended with nsp_reader_feed
 * and whole frames taken with nsp_reader_next. Memory: at most one frame is held. */
struct nsp_reader {
        unsigned char *buf;
        size_t off, len, cap; /* unread bytes are buf[off..len) */
        size_t taken;         /* bytes of the frame last handed out, dropped on the next call */
        int bad;              /* a protocol error was seen; the stream cannot be trusted any more */
};

void nsp_reader_init(struct nsp_reader *r);
void nsp_reader_fini(struct nsp_reader *r);

#define NSP_READ_AHEAD (512u << 10)

/* Appends bytes. Returns 0, or -1 on allocation failure. The caller feeds at most
 * what nsp_reader_room() says, so the buffer holds at most max(NSP_READ_AHEAD, one
 * frame) bytes. */
int nsp_reader_feed(struct nsp_reader *r, const void *data, size_t n);

/* Reading straight into the reader (no copy): nsp_reader_space returns where n more
 * bytes may be written (NULL when memory cannot be had), nsp_reader_commit counts the
 * bytes actually written there (<= n). Same bound as nsp_reader_feed: n <= room. */
unsigned char *nsp_reader_space(struct nsp_reader *r, size_t n);
void nsp_reader_commit(struct nsp_reader *r, size_t n);

/* How many bytes may be fed now (0: take frames first, or the stream is bad). */
size_t nsp_reader_room(struct nsp_reader *r);

/* Takes the next whole frame: returns 1 with *h and *payload (valid until the next call),
 * 0 when more bytes are needed, -1 on a protocol error (r->bad set). */
int nsp_reader_next(struct nsp_reader *r, struct nsp_hdr *h, const unsigned char **payload);

#endif
