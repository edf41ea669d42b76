/* E2B's process.Process service over the Connect protocol with the JSON codec (what the
 * e2b SDK speaks to envd): a server stream is a run of enveloped messages (a flags byte,
 * a 4-byte big-endian length, the JSON) ending in an end-of-stream envelope (flags 2)
 * that carries the error, if any. Loop thread only. */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../common/buf.h"
#include "api.h"
#include "e2b.h"

#define ENVELOPE_FLAGS 0x01 /* compressed: we never ask for it */

void e2b_envelope(struct buf *out, unsigned flags, json_t *doc)
{
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!text)
                return;
        size_t n = strlen(text);
        unsigned char head[5] = {(unsigned char)flags};
        uint32_t be = htonl((uint32_t)n);
        memcpy(head + 1, &be, 4);
        if (buf_append(out, head, 5) == 0)
                buf_append(out, text, n);
        free(text);
}

void e2b_stream_end(struct buf *out, const char *code, const char *msg)
{
        e2b_envelope(out, E2B_ENVELOPE_END,
                     code ? json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg)
                          : json_object());
}

static void on_start(struct buf *out, const json_t *begun)
{
        int pid = (int)json_integer_value(json_object_get(begun, "pid"));
        e2b_envelope(out, 0, json_pack("{s:{s:{s:i}}}", "event", "start", "pid", pid));
}

static void on_output(struct buf *out, const json_t *begun, int stream, const unsigned char *p,
                      size_t n, int flags)
{
        (void)begun;
        json_t *data = json_base64(p, n); /* proto3 JSON: bytes are always base64 */
        const char *key = flags & EXEC_OUT_PTY ? "pty" : stream == NSP_STDOUT ? "stdout" : "stderr";
        if (data)
                e2b_envelope(out, 0, json_pack("{s:{s:{s:o}}}", "event", "data", key, data));
}

static void on_end(struct buf *out, const json_t *exit, enum ns_code code, const char *msg)
{
        if (code == NS_OK) {
                int status = (int)json_integer_value(json_object_get(exit, "exit_code"));
                json_t *sig = json_object_get(exit, "signal");
                char text[64];
                if (json_is_integer(sig))
                        snprintf(text, sizeof(text), "signal: %s",
                                 strsignal((int)json_integer_value(sig)));
                else
                        snprintf(text, sizeof(text), "exit status %d", status);
                e2b_envelope(out, 0,
                             json_pack("{s:{s:{s:i,s:b,s:s}}}", "event", "end", "exitCode",
                                       json_is_integer(sig) ? -1 : status, "exited",
                                       !json_is_integer(sig), "status", text));
                e2b_stream_end(out, NULL, NULL);
        } else {
                e2b_stream_end(out, e2b_connect_code(code), msg ? msg : ns_code_name(code));
        }
}

/* a client that drops the stream leaves the process running (E2B's background commands) */
static const struct exec_stream_fmt connect_events = {E2B_CONNECT_JSON, on_start, on_output,
                                                      on_end,           1,        1};

void e2b_stream_events(struct http_exchange *ex, json_t *req)
{
        api_exec_stream(ex, req, &connect_events);
}

void e2b_stream_error(struct http_exchange *ex, const char *code, const char *msg)
{
        struct buf b;
        buf_init(&b, 1u << 16);
        e2b_stream_end(&b, code, msg);
        http_respond(ex, 200, E2B_CONNECT_JSON, b.data, b.len);
        buf_fini(&b);
}

json_t *e2b_envelope_json(const void *body, size_t len)
{
        const unsigned char *p = body;
        uint32_t be;
        if (len < 5 || (p[0] & ENVELOPE_FLAGS))
                return NULL;
        memcpy(&be, p + 1, 4);
        json_t *doc =
            ntohl(be) == len - 5 ? json_loadb((const char *)p + 5, len - 5, 0, NULL) : NULL;
        if (!json_is_object(doc)) {
                json_decref(doc);
                return NULL;
        }
        return doc;
}

/* The user of `Basic base64(user:)` into out ("" when h is NULL or not Basic); -1 when
 * it does not decode to "USER:". */
static int basic_user(const char *h, char *out, size_t cap)
{
        out[0] = '\0';
        if (!h || strncasecmp(h, "Basic ", 6) != 0)
                return 0;
        unsigned char raw[192];
        size_t in = strnlen(h + 6, 252);
        if (in % 4)
                return -1;
        int n = EVP_DecodeBlock(raw, (const unsigned char *)h + 6, (int)in);
        if (n < 0)
                return -1;
        raw[n] = '\0';
        char *colon = strchr((char *)raw, ':');
        if (!colon || (size_t)(colon - (char *)raw) >= cap)
                return -1;
        memcpy(out, raw, (size_t)(colon - (char *)raw));
        out[colon - (char *)raw] = '\0';
        return 0;
}

/* ProcessConfig {cmd, args, envs, cwd} as our agent's exec request (new reference), or
 * NULL when malformed. */
static json_t *exec_request(const json_t *cfg, const char *user)
{
        const char *cmd = json_string_value(json_object_get(cfg, "cmd"));
        json_t *args = json_object_get(cfg, "args"), *envs = json_object_get(cfg, "envs");
        const char *cwd = json_string_value(json_object_get(cfg, "cwd"));
        if (!cmd || !cmd[0] || (args && !json_is_array(args)) || (envs && !json_is_object(envs)) ||
            json_array_size(args) > 4096 || json_object_size(envs) > 256)
                return NULL;
        json_t *argv = json_pack("[s]", cmd), *env = json_object();
        size_t i;
        json_t *v;
        json_array_foreach(args, i, v)
        {
                if (!json_is_string(v))
                        goto bad;
                json_array_append(argv, v);
        }
        const char *k;
        json_object_foreach(envs, k, v)
        {
                if (!json_is_string(v) || !k[0] || strchr(k, '='))
                        goto bad;
                json_object_set(env, k, v);
        }
        /* a registered process streamed on its attach channel: List, SendSignal,
         * SendInput and Connect find it by pid later */
        json_t *req =
            json_pack("{s:s,s:o,s:o,s:b}", "op", "spawn", "argv", argv, "env", env, "attach", 1);
        if (cwd && cwd[0])
                json_object_set_new(req, "cwd", json_string(cwd));
        if (user[0])
                json_object_set_new(req, "user", json_string(user));
        return req;
bad:
        json_decref(argv);
        json_decref(env);
        return NULL;
}

int e2b_basic_user(struct http_exchange *ex, char *out, size_t cap)
{
        if (basic_user(http_req_header(ex->req, "Authorization"), out, cap) == 0)
                return 0;
        e2b_connect_error(ex, "unauthenticated", "Authorization: Basic names the user");
        return -1;
}

int e2b_pty_size(const json_t *pty, json_t *req)
{
        const json_t *size = json_object_get(pty, "size");
        json_int_t cols = json_integer_value(json_object_get(size, "cols"));
        json_int_t rows = json_integer_value(json_object_get(size, "rows"));
        if (cols < 1 || cols > 1000 || rows < 1 || rows > 1000)
                return -1;
        json_object_set_new(req, "pty", json_pack("{s:I,s:I}", "cols", cols, "rows", rows));
        json_object_set_new(req, "cols", json_integer(cols)); /* for proc_resize */
        json_object_set_new(req, "rows", json_integer(rows));
        return 0;
}

json_t *e2b_start_parse(const void *body, size_t len, const char *authorization, const char **code,
                        const char **why)
{
        char user[64];
        json_t *in = e2b_envelope_json(body, len), *req = NULL;
        *code = "invalid_argument";
        if (!in)
                *why = "expected one uncompressed envelope holding a JSON object";
        else if (basic_user(authorization, user, sizeof(user)) < 0)
                *code = "unauthenticated", *why = "Authorization: Basic names the user";
        else if (!(req = exec_request(json_object_get(in, "process"), user)))
                *why = "process: {cmd, args: [strings], envs: {name: string}, cwd}";
        else if (json_object_get(in, "pty") && e2b_pty_size(json_object_get(in, "pty"), req) < 0)
                json_decref(req), req = NULL, *why = "pty: {size: {cols, rows}}, 1 to 1000 each";
        const char *tag = json_string_value(json_object_get(in, "tag"));
        if (req) {
                json_object_set_new(req, "stdin",
                                    json_boolean(json_is_true(json_object_get(in, "stdin"))));
                if (tag && tag[0] && strlen(tag) <= 64)
                        json_object_set_new(req, "tag", json_string(tag));
        }
        json_decref(in);
        return req;
}

void e2b_process_start(struct http_exchange *ex)
{
        if (!e2b_envd_machine(ex))
                return;
        const char *code, *why;
        json_t *req = e2b_start_parse(ex->body.data, ex->body.len,
                                      http_req_header(ex->req, "Authorization"), &code, &why);
        if (req)
                e2b_stream_events(ex, req);
        else
                e2b_stream_error(ex, code, why);
}
