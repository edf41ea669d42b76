/* Internal to src/daemon/api/files*.c: one file operation through an agent (a
 * machine's, or a volume's file agent) and the helpers both files share. Loop thread. */
#ifndef NS_API_FILES_INTERNAL_H
#define NS_API_FILES_INTERNAL_H

#include "../../common/buf.h"
#include "api.h"

struct file_op {
        struct http_exchange *ex; /* NULL once the client left */
        struct agent_conn *agent;
        uint32_t chan;
        struct buf pending; /* write: body not yet sent; read: data not yet pulled */
        int body_done, eof_sent, eof, streaming, lost;
        uint64_t bytes, entries;
        enum ns_code err;
        char msg[1100];              /* an error message, or the path written */
        json_t *req;                 /* the request, until it is sent */
        struct machine *machine;     /* NULL: a volume's files */
        char volume[MACHINE_ID_MAX]; /* that volume's id */
        int waiting;                 /* an upload waits for its machine to resume */
        int status;                  /* one-shot: the HTTP status of a successful answer */
        int tar;                     /* a tar archive of a directory, not one file's bytes */
        agent_frame_cb cb;
        void (*abort_cb)(struct http_exchange *ex);
        api_agent_done then; /* one-shot: answers instead of passing the RESP on */
        void *then_ud;
        void (*then_free)(void *ud); /* frees then_ud when `then` is never called */
        char upload[MACHINE_ID_MAX]; /* a resumable upload's piece: its id */
        uint64_t size;               /* that upload's length after the piece */
        struct file_op *next_piece;  /* in the list of pieces under way (files.c) */
};

/* Frees op and what it holds. */
void files_op_free(struct file_op *op);

/* Reads the agent's error document into op->err/msg. */
void files_take_error(struct file_op *op, const unsigned char *p, size_t n);

/* Parses the query into q (q[0] is "path", required); -1 after answering. */
int files_path_param(struct http_exchange *ex, struct query_param *q, size_t n);

/* files_op_free for a void *. */
void files_free_op_ctx(void *ctx);

/* api_running_cb: opens op's channel on the machine (or the route's volume). */
void files_start_go(struct http_exchange *ex, struct machine *m, void *ctx);

/* A new op sending `req` (stolen) whose frames go to cb, holding up to `pending` bytes.
 * NULL after answering (out of memory). */
struct file_op *files_new_op(struct http_exchange *ex, json_t *req, agent_frame_cb cb,
                             void (*abort_cb)(struct http_exchange *), size_t pending);

#endif
