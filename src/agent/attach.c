/* Attach channels: a reader of a background or PTY process. It gets the replay ring
 * from where it asked (the oldest byte held, or now), then the output as it comes,
 * within the daemon's credit; EXIT ends it when the process finished and everything
 * was sent, or at once after the replay when it does not follow. Stdin sent on the
 * channel goes to the process; DETACH forgets the channel and the process runs on. */
#include <string.h>

#include "agent.h"

uint64_t attach_min_cursor(struct agent *a, const struct proc *p, int stream)
{
        uint64_t min = p->ring[stream].head;
        for (struct chan *c = a->chans; c; c = c->next)
                if (c->kind == CHAN_ATTACH && c->pid == p->pid && c->cursor[stream] < min)
                        min = c->cursor[stream];
        return min;
}

void attach_start(struct agent *a, uint32_t chan, struct proc *p, int replay, int follow,
                  json_t *resp)
{
        struct chan *c = agent_chan_new(a, chan, CHAN_ATTACH);
        if (!c) {
                json_decref(resp);
                agent_send_error(a, chan, "too_many_channels", "too many open channels");
                return;
        }
        c->pid = p->pid;
        c->follow = follow;
        json_t *from = json_object();
        for (int s = NSP_STDOUT; s <= NSP_STDERR; s++) {
                c->cursor[s] = replay ? ring_tail(&p->ring[s]) : p->ring[s].head;
                c->until[s] = p->ring[s].head;
                json_object_set_new(from, s == NSP_STDOUT ? "stdout" : "stderr",
                                    json_integer((json_int_t)c->cursor[s]));
        }
        json_object_set_new(resp, "pty", json_boolean(p->tty));
        json_object_set_new(resp, "running", json_boolean(!p->exited));
        json_object_set_new(resp, "replay_from", from);
        agent_send_json(a, NSP_RESP, chan, resp);
}

/* {"op":"attach","pid"|"tag","replay":true,"follow":true} → RESP {"pid","tag","pty",
 * "running","replay_from":{"stdout","stderr"}} (offsets: bytes before were dropped). */
void attach_request(struct agent *a, uint32_t chan, json_t *req)
{
        const char *tag = json_string_value(json_object_get(req, "tag"));
        struct proc *p = tag ? proc_find_tag(a, tag)
                             : proc_find(a, (pid_t)json_integer_value(json_object_get(req, "pid")));
        if (!p) {
                agent_send_error(a, chan, "process_not_found", "no such process");
                return;
        }
        json_t *replay = json_object_get(req, "replay");
        json_t *follow = json_object_get(req, "follow");
        attach_start(a, chan, p, !json_is_false(replay), !json_is_false(follow),
                     json_pack("{s:i,s:s}", "pid", (int)p->pid, "tag", p->tag));
}

static void send_stream(struct agent *a, struct chan *c, struct proc *p, int s)
{
        static unsigned char tmp[NSP_MAX_DATA];
        uint64_t end = c->follow ? p->ring[s].head : c->until[s];
        while (c->credit[s] > 0 && c->cursor[s] < end && a->out.len < AGENT_OUT_HIGH) {
                size_t want = c->credit[s] < sizeof(tmp) ? c->credit[s] : sizeof(tmp);
                if (want > end - c->cursor[s])
                        want = (size_t)(end - c->cursor[s]);
                uint64_t from;
                size_t n = ring_read(&p->ring[s], c->cursor[s], tmp, want, &from);
                if (n == 0)
                        break;
                agent_send(a, NSP_DATA, (uint16_t)s, c->id, tmp, n);
                c->cursor[s] = from + n;
                c->credit[s] -= (uint32_t)n;
        }
}

void attach_pump(struct agent *a, struct chan *c)
{
        struct proc *p = proc_find(a, c->pid);
        if (!p) { /* cannot happen: attached processes are never evicted */
                agent_send_error(a, c->id, "process_not_found", "the process is gone");
                agent_chan_free(a, c);
                return;
        }
        send_stream(a, c, p, NSP_STDOUT);
        send_stream(a, c, p, NSP_STDERR);
        int done = 1;
        for (int s = NSP_STDOUT; s <= NSP_STDERR; s++)
                done &= c->cursor[s] >= (c->follow ? p->ring[s].head : c->until[s]);
        if (!done || (c->follow && !proc_finished(p)))
                return;
        json_t *exit =
            p->exited ? exec_exit_json(p->status, 0, p->end_ms - p->start_ms) : json_object();
        json_object_set_new(exit, "pid", json_integer(p->pid));
        json_object_set_new(exit, "running", json_boolean(!p->exited));
        agent_send(a, NSP_EOF, NSP_STDOUT, c->id, NULL, 0);
        agent_send(a, NSP_EOF, NSP_STDERR, c->id, NULL, 0);
        agent_send_json(a, NSP_EXIT, c->id, exit);
        agent_chan_free(a, c);
}
