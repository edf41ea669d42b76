/* Channels to a machine's agent: what the API opens for commands, files, processes and
 * sessions goes through here, so only the core knows whether a machine can take one. */
#include "core.h"
#include "machine_internal.h"

static struct agent_conn *conn_of(struct machine *m)
{
        return m->rt.agent_open ? &m->rt.agent : NULL; /* callers checked the state */
}

uint32_t machine_open_channel(struct machine *m, const json_t *req, unsigned flags,
                              agent_frame_cb cb, void *ud, struct agent_conn **conn)
{
        struct agent_conn *a = conn_of(m);
        uint32_t chan = a ? agentconn_open(a, req, cb, ud) : 0;
        if (chan && (flags & MACHINE_CHAN_SESSION))
                agentconn_set_session(a, chan);
        if (conn)
                *conn = chan ? a : NULL;
        return chan;
}

uint32_t machine_call(struct machine *m, const json_t *req, agent_call_cb done, void *ud)
{
        struct agent_conn *a = conn_of(m);
        return a ? agentconn_call(a, req, done, ud) : 0;
}
