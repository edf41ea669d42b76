/* What every way of starting a command shares (exec over HTTP, background and PTY
 * processes, WebSocket exec): the fields clients send, their validation, and the
 * agent request built from them. Loop thread only. */
#ifndef NS_API_COMMAND_H
#define NS_API_COMMAND_H

#include <jansson.h>
#include <stddef.h>

#include "../../common/jsonv.h"
#include "../../core/machine.h"

struct api_cmd {
        char *cmd;
        struct jv_strlist argv;
        struct jv_strmap env;
        char *cwd, *user;
        int64_t timeout_s;
};

/* The jv_field entries of struct api_cmd embedded at `member` of `type`. */
#define API_CMD_FIELDS(type, member)                                                               \
        {"cmd", JV_STRING, 0, offsetof(type, member.cmd), 1u << 20, 0, 0},                         \
            {"argv", JV_STRLIST, 0, offsetof(type, member.argv), 4096, 0, 0},                      \
            {"env", JV_STRMAP, 0, offsetof(type, member.env), 256, 0, 0},                          \
            {"cwd", JV_STRING, 0, offsetof(type, member.cwd), 4096, 0, 0},                         \
            {"user", JV_STRING, 0, offsetof(type, member.user), 64, 0, 0},                         \
        {                                                                                          \
                "timeout_s", JV_INT, 0, offsetof(type, member.timeout_s), 0, 1, 86400              \
        }

/* Checks what the field table cannot (exactly one of cmd and argv). Returns 0, or -1
 * with *code and msg set. */
int api_cmd_check(const struct api_cmd *in, enum ns_code *code, char *msg, size_t cap);

/* The agent request {"op":op, cmd|argv, env, cwd, user, timeout_ms} with the machine's
 * defaults (cwd, user) where the request has none. m may be NULL. New reference. */
json_t *api_cmd_request(const char *op, const struct api_cmd *in, const struct machine *m);

/* A process named in a path or message: all digits is a PID, anything else a tag.
 * Adds "pid" or "tag" to req. */
void api_proc_ref(json_t *req, const char *ref);

/* Parses a signal given as a name ("TERM", "SIGTERM") or a number ("15"). Returns
 * 1..64, or 0 when it is neither. */
int api_signal_parse(const char *s);

/* Background and PTY processes (procs.c): the fields of each request and the agent
 * request built from them (NULL with *code and msg set when the input is wrong). The
 * process itself is named by api_proc_ref. Both the HTTP routes and the WebSocket use
 * these. */
struct api_spawn {
        struct api_cmd c;
        char *tag;
        int pty;
        int64_t cols, rows;
};
struct api_input {
        char *data, *encoding;
        int eof;
};
struct api_signal {
        char *signal;
};
struct api_resize {
        int64_t cols, rows;
};

extern const struct jv_field api_spawn_fields[], api_input_fields[], api_signal_fields[],
    api_resize_fields[];
extern const size_t api_spawn_nfields, api_input_nfields, api_signal_nfields, api_resize_nfields;

json_t *api_spawn_request(const struct api_spawn *in, const struct machine *m, enum ns_code *code,
                          char *msg, size_t cap);
json_t *api_input_request(const struct api_input *in, enum ns_code *code, char *msg, size_t cap);
json_t *api_signal_request(const struct api_signal *in, enum ns_code *code, char *msg, size_t cap);
json_t *api_resize_request(const struct api_resize *in);
#endif
