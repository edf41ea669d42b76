/* E2B's process.Process calls besides Start (e2b_process.c): List, SendSignal,
 * SendInput, CloseStdin (unary, Connect JSON) and Connect (a server stream re-attached
 * to a running process), on the agent's registered processes. Loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "api.h"
#include "e2b.h"

/* ProcessSelector {pid} | {tag} into req; -1 when it names neither. */
static int selector(const json_t *in, json_t *req)
{
        const json_t *sel = json_object_get(in, "process");
        json_t *pid = json_object_get(sel, "pid");
        const char *tag = json_string_value(json_object_get(sel, "tag"));
        if (json_is_integer(pid) && json_integer_value(pid) > 0 &&
            json_integer_value(pid) < (1 << 22))
                json_object_set_new(req, "pid", json_integer(json_integer_value(pid)));
        else if (tag && tag[0])
                json_object_set_new(req, "tag", json_string(tag));
        else
                return -1;
        return 0;
}

/* Signal (proto3 JSON: a name or a number) as a signal number; 0 when unknown. */
static int signal_of(const json_t *v)
{
        if (json_is_integer(v))
                return json_integer_value(v) == 9 || json_integer_value(v) == 15
                           ? (int)json_integer_value(v)
                           : 0;
        const char *s = json_string_value(v);
        return !s                                 ? 0
               : strcmp(s, "SIGNAL_SIGKILL") == 0 ? 9
               : strcmp(s, "SIGNAL_SIGTERM") == 0 ? 15
                                                  : 0;
}

/* The agent's process list as E2B's ListResponse (the running ones). */
static json_t *list_json(const json_t *resp)
{
        json_t *out = json_array(), *p;
        size_t i;
        json_array_foreach(json_object_get(resp, "processes"), i, p)
        {
                if (!json_is_true(json_object_get(p, "running")))
                        continue;
                json_t *cfg =
                    json_pack("{s:O,s:[],s:{}}", "cmd", json_object_get(p, "cmd"), "args", "envs");
                json_t *e = json_pack("{s:o,s:O}", "config", cfg, "pid", json_object_get(p, "pid"));
                const char *tag = json_string_value(json_object_get(p, "tag"));
                if (tag && tag[0])
                        json_object_set_new(e, "tag", json_string(tag));
                json_array_append_new(out, e);
        }
        return json_pack("{s:o}", "processes", out);
}

static void on_unary(struct http_exchange *ex, const json_t *resp, enum ns_code code,
                     const char *msg, void *ud)
{
        (void)ud;
        if (code != NS_OK)
                e2b_connect_error(ex, e2b_connect_code(code), msg);
        else if (json_object_get(resp, "processes"))
                http_respond_json(ex, 200, list_json(resp));
        else
                http_respond_json(ex, 200, json_object());
}

/* The agent request of a unary call (new reference), or NULL with *why. */
static json_t *unary_request(const char *method, const json_t *in, const char **why)
{
        json_t *req = json_object();
        *why = "process: {pid} or {tag}";
        if (strcmp(method, "List") == 0) {
                json_object_set_new(req, "op", json_string("proc_list"));
                return req;
        }
        if (selector(in, req) < 0) {
                json_decref(req);
                return NULL;
        }
        if (strcmp(method, "SendSignal") == 0) {
                int sig = signal_of(json_object_get(in, "signal"));
                json_object_set_new(req, "op", json_string("proc_signal"));
                json_object_set_new(req, "signal", json_integer(sig));
                *why = "signal: SIGNAL_SIGKILL or SIGNAL_SIGTERM";
                if (sig)
                        return req;
        } else if (strcmp(method, "SendInput") == 0) {
                const json_t *input = json_object_get(in, "input");
                const char *data = json_string_value(json_object_get(input, "stdin"))
                                       ?: json_string_value(json_object_get(input, "pty"));
                json_object_set_new(req, "op", json_string("proc_input"));
                json_object_set_new(req, "data", json_string(data ? data : ""));
                *why = "input: {stdin: base64} or {pty: base64}";
                if (data)
                        return req;
        } else if (strcmp(method, "Update") == 0) {
                json_object_set_new(req, "op", json_string("proc_resize"));
                *why = "pty: {size: {cols, rows}}, 1 to 1000 each";
                if (e2b_pty_size(json_object_get(in, "pty"), req) == 0) {
                        json_object_del(req, "pty");
                        return req;
                }
        } else if (strcmp(method, "CloseStdin") == 0) {
                json_object_set_new(req, "op", json_string("proc_input"));
                json_object_set_new(req, "eof", json_true());
                return req;
        }
        json_decref(req);
        return NULL;
}

/* Connect {process}: the process's output from now on, then its end (a server stream). */
static void process_connect(struct http_exchange *ex)
{
        json_t *in = e2b_envelope_json(ex->body.data, ex->body.len);
        json_t *req = json_pack("{s:s,s:b,s:b}", "op", "attach", "replay", 0, "follow", 1);
        if (!in || selector(in, req) < 0) {
                json_decref(req);
                e2b_stream_error(ex, "invalid_argument", "process: {pid} or {tag}");
        } else {
                e2b_stream_events(ex, req);
        }
        json_decref(in);
}

void e2b_process_call(struct http_exchange *ex)
{
        char method[sizeof(ex->match.params[0])]; /* e2b_envd_machine overwrites the param */
        memcpy(method, ex->match.params[0], sizeof(method));
        if (strcmp(method, "Start") == 0) {
                e2b_process_start(ex);
                return;
        }
        static const char *const known[] = {"Connect",   "List",       "SendSignal",
                                            "SendInput", "CloseStdin", "Update"};
        int ok = 0;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                ok |= strcmp(method, known[i]) == 0;
        if (!ok) {
                e2b_connect_error(ex, "unimplemented", "this process call is not supported yet");
                return;
        }
        if (!e2b_envd_machine(ex))
                return;
        if (strcmp(method, "Connect") == 0) {
                process_connect(ex);
                return;
        }
        json_t *in =
            ex->body.len ? json_loadb(ex->body.data, ex->body.len, 0, NULL) : json_object();
        const char *why = "the request is not a JSON object";
        json_t *req = json_is_object(in) ? unary_request(method, in, &why) : NULL;
        json_decref(in);
        if (!req)
                e2b_connect_error(ex, "invalid_argument", why);
        else
                api_agent_call(ex, req, on_unary, NULL);
}
