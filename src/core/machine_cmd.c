/* Commands the daemon runs in a machine (machine_cmd.h). */
#include "machine_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../include/nsproto.h"
#include "machine.h"

struct machine_cmd {
        struct agent_conn *agent;
        uint32_t chan;
        int stdin_fd; /* -1 once sent (EOF) or when none */
        const struct machine_cmd_ops *ops;
        void *ud;
};

static void end(struct machine_cmd *r, int code, const char *error)
{
        if (r->stdin_fd >= 0)
                close(r->stdin_fd);
        const struct machine_cmd_ops *ops = r->ops;
        void *ud = r->ud;
        free(r);
        ops->done(ud, code, error);
}

/* Sends stdin while the agent gives credit; EOF at the file's end. */
static void pump(struct machine_cmd *r)
{
        static char chunk[NSP_MAX_DATA];
        while (r->stdin_fd >= 0) {
                uint32_t credit = agentconn_credit(r->agent, r->chan);
                if (credit == 0)
                        return;
                size_t want = credit < sizeof(chunk) ? credit : sizeof(chunk);
                ssize_t n = read(r->stdin_fd, chunk, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) { /* the end (a read error ends it too: tar then complains) */
                        close(r->stdin_fd);
                        r->stdin_fd = -1;
                        agentconn_send_eof(r->agent, r->chan);
                        return;
                }
                agentconn_send_stdin(r->agent, r->chan, chunk, (size_t)n);
        }
}

static void on_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct machine_cmd *r = ud;
        if (!h) {
                end(r, -1, "the machine stopped while the command ran");
                return;
        }
        switch (h->type) {
        case NSP_DATA:
                r->ops->output(r->ud, h->flags, (const char *)p, h->len);
                agentconn_grant(r->agent, r->chan, h->flags, h->len);
                return;
        case NSP_WINDOW:
                pump(r);
                return;
        case NSP_RESP: {
                json_t *doc = json_loadb((const char *)p, h->len, 0, NULL);
                json_t *err = json_object_get(doc, "error");
                if (!err) {
                        json_decref(doc);
                        return; /* {"pid"}: started */
                }
                char msg[512];
                snprintf(msg, sizeof(msg), "%s",
                         json_string_value(json_object_get(err, "message")) ?: "refused");
                json_decref(doc);
                agentconn_chan_close(r->agent, r->chan);
                end(r, -1, msg);
                return;
        }
        case NSP_EXIT: {
                json_t *doc = json_loadb((const char *)p, h->len, 0, NULL);
                int code = (int)json_integer_value(json_object_get(doc, "exit_code"));
                json_decref(doc);
                agentconn_chan_close(r->agent, r->chan);
                end(r, code, NULL);
                return;
        }
        default:
                return;
        }
}

struct machine_cmd *machine_cmd_start(struct machine *m, const json_t *req, int stdin_fd,
                                      const struct machine_cmd_ops *ops, void *ud)
{
        struct machine_cmd *r = m->rt.agent_open ? calloc(1, sizeof(*r)) : NULL;
        if (!r) {
                if (stdin_fd >= 0)
                        close(stdin_fd);
                return NULL;
        }
        *r = (struct machine_cmd){&m->rt.agent, 0, stdin_fd, ops, ud};
        json_t *full = json_copy((json_t *)req);
        json_object_set_new(full, "stdin", json_boolean(stdin_fd >= 0));
        r->chan = agentconn_open(r->agent, full, on_frame, r);
        json_decref(full);
        if (!r->chan) {
                if (stdin_fd >= 0)
                        close(stdin_fd);
                free(r);
                return NULL;
        }
        if (stdin_fd < 0)
                agentconn_send_eof(r->agent, r->chan);
        else
                pump(r);
        return r;
}

void machine_cmd_cancel(struct machine_cmd *r)
{
        if (!r)
                return;
        agentconn_detach(r->agent, r->chan); /* the agent kills an exec's process */
        if (r->stdin_fd >= 0)
                close(r->stdin_fd);
        free(r);
}
