/* `nullspace mcp`: a Model Context Protocol server on stdio (newline-delimited JSON-RPC
 * 2.0) whose tools drive the daemon: create, list, exec in, read and write files of,
 * hibernate, resume, fork and destroy machines. Standard output carries protocol
 * messages only; anything else goes to standard error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "cli.h"

#define MCP_LINE_MAX  (16u << 20) /* one message from the client */
#define FILE_TEXT_MAX (8u << 20)  /* file content through a tool, each way */

static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

static void send_msg(json_t *msg)
{
        json_object_set_new(msg, "jsonrpc", json_string("2.0"));
        char *text = json_dumps(msg, JSON_COMPACT);
        json_decref(msg);
        if (text) {
                fputs(text, stdout);
                fputc('\n', stdout);
                fflush(stdout);
        }
        free(text);
}

static void send_result(json_t *id, json_t *result)
{
        send_msg(json_pack("{s:O,s:o}", "id", id, "result", result));
}

static void send_error(json_t *id, int code, const char *msg)
{
        send_msg(json_pack("{s:O,s:{s:i,s:s}}", "id", id ? id : json_null(), "error", "code", code,
                           "message", msg));
}

/* ---- tools -------------------------------------------------------------------------- */

/* A tool's answer: the API's JSON (or its error document) as text content. */
json_t *cli_mcp_text_result(json_t *doc, int is_error)
{
        char *text = json_dumps(doc, JSON_INDENT(2));
        json_t *r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
                              text ? text : "{}", "isError", is_error);
        free(text);
        json_decref(doc);
        return r;
}

json_t *cli_mcp_api(struct cli *c, const char *method, const char *path, json_t *body)
{
        struct cli_resp r;
        int rc = cli_request(c, method, path, body, 1, &r);
        json_decref(body);
        if (rc) {
                int timeout = rc == ns_code_def(NS_E_REQUEST_TIMEOUT)->exit_code;
                return cli_mcp_text_result(
                    json_pack("{s:{s:s,s:s}}", "error", "code",
                              timeout ? "request_timeout" : "connection_failed", "message",
                              timeout ? "the daemon did not answer in time"
                                      : "the daemon could not be reached"),
                    1);
        }
        int bad = r.status < 200 || r.status >= 300;
        json_t *doc = r.doc ? json_incref(r.doc) : json_pack("{s:I}", "status", r.status);
        cli_resp_free(&r);
        return cli_mcp_text_result(doc, bad);
}

static const char *str_arg(json_t *args, const char *key)
{
        return json_string_value(json_object_get(args, key));
}

int cli_mcp_machine_path(json_t *args, const char *suffix, char *out, size_t cap)
{
        const char *id = str_arg(args, "machine_id");
        if (!id || !is_safe_token(id, 64))
                return -1;
        snprintf(out, cap, "/v1/machines/%s%s", id, suffix);
        return 0;
}

/* machine_path, or "/v1/volumes/REF" + suffix when a `volume` (ID or name) is given. */
static int files_owner_path(json_t *args, const char *suffix, char *out, size_t cap)
{
        const char *vol = str_arg(args, "volume");
        if (!vol)
                return cli_mcp_machine_path(args, suffix, out, cap);
        if (!is_safe_token(vol, 64))
                return -1;
        snprintf(out, cap, "/v1/volumes/%s%s", vol, suffix);
        return 0;
}

json_t *cli_mcp_get(struct cli *c, const char *path, struct cli_resp *r, int *is_error)
{
        if (cli_request(c, "GET", path, NULL, 1, r))
                return cli_mcp_bad_args(is_error, "the daemon could not be reached");
        if (r->status == 200)
                return NULL;
        *is_error = 1;
        json_t *res = cli_mcp_text_result(r->doc ? json_incref(r->doc) : json_object(), 1);
        cli_resp_free(r);
        return res;
}

json_t *cli_mcp_bad_args(int *is_error, const char *msg)
{
        *is_error = 1;
        return cli_mcp_text_result(
            json_pack("{s:{s:s,s:s}}", "error", "code", "invalid_field", "message", msg), 1);
}

static json_t *t_create(struct cli *c, json_t *args, int *is_error)
{
        c->waiting = "creating"; /* as long as the operation takes */
        (void)is_error;
        json_t *body = json_object();
        const char *keys[] = {"template", "memory_mb", "vcpus",   "timeout_s", "env",
                              "metadata", "volumes",   "desktop", "secrets"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (json_object_get(args, keys[i]))
                        json_object_set(body, keys[i], json_object_get(args, keys[i]));
        return cli_mcp_api(c, "POST", "/v1/machines", body);
}

static json_t *t_list(struct cli *c, json_t *args, int *is_error)
{
        (void)is_error;
        const char *state = str_arg(args, "state");
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines?limit=1000%s%s", state ? "&state=" : "",
                 state && is_safe_token(state, 32) ? state : "");
        return cli_mcp_api(c, "GET", path, NULL);
}

static json_t *t_templates(struct cli *c, json_t *args, int *is_error)
{
        (void)args;
        (void)is_error;
        return cli_mcp_api(c, "GET", "/v1/templates?limit=1000", NULL);
}

static json_t *t_exec(struct cli *c, json_t *args, int *is_error)
{
        char path[160];
        const char *cmd = str_arg(args, "command");
        if (cli_mcp_machine_path(args, "/exec", path, sizeof(path)) < 0 || !cmd)
                return cli_mcp_bad_args(is_error, "machine_id and command are required");
        json_t *body = json_pack("{s:s}", "cmd", cmd);
        if (str_arg(args, "cwd"))
                json_object_set(body, "cwd", json_object_get(args, "cwd"));
        if (json_is_integer(json_object_get(args, "timeout_s")))
                json_object_set(body, "timeout_s", json_object_get(args, "timeout_s"));
        return cli_mcp_api(c, "POST", path, body);
}

/* "/v1/machines/ID/files?path=P" (P escaped), or -1. */
static int file_path(json_t *args, char *out, size_t cap)
{
        const char *p = str_arg(args, "path");
        char *esc = p ? url_escape(p) : NULL;
        int r = esc && files_owner_path(args, "/files?path=", out, cap) == 0 &&
                        strlen(out) + strlen(esc) < cap
                    ? 0
                    : -1;
        if (r == 0)
                strcat(out, esc);
        free(esc);
        return r;
}

static json_t *t_read(struct cli *c, json_t *args, int *is_error)
{
        char path[8192];
        if (file_path(args, path, sizeof(path)) < 0)
                return cli_mcp_bad_args(is_error, "machine_id (or volume) and path are required");
        struct cli_resp r;
        json_t *res = cli_mcp_get(c, path, &r, is_error);
        if (res)
                return res;
        if (r.body.len > FILE_TEXT_MAX) {
                res = cli_mcp_bad_args(is_error, "the file is larger than 8 MiB");
        } else {
                json_t *s = json_stringn(r.body.data ? r.body.data : "", r.body.len);
                if (!s) { /* not UTF-8: base64 */
                        s = json_base64(r.body.data, r.body.len) ?: json_null();
                        res = json_pack("{s:[{s:s,s:s}]}", "content", "type", "text", "text",
                                        "(base64)");
                        json_array_append_new(json_object_get(res, "content"),
                                              json_pack("{s:s,s:o}", "type", "text", "text", s));
                } else {
                        res = json_pack("{s:[{s:s,s:o}]}", "content", "type", "text", "text", s);
                }
        }
        cli_resp_free(&r);
        return res;
}

static json_t *t_write(struct cli *c, json_t *args, int *is_error)
{
        char path[8192];
        const char *content = str_arg(args, "content");
        if (file_path(args, path, sizeof(path)) < 0 || !content)
                return cli_mcp_bad_args(is_error,
                                        "machine_id (or volume), path and content are required");
        size_t n = json_string_length(json_object_get(args, "content"));
        struct cli_resp r;
        if (cli_request_raw(c, "PUT", path, content, n, &r))
                return cli_mcp_bad_args(is_error, "the daemon could not be reached");
        int bad = r.status != 200;
        json_t *doc = r.doc ? json_incref(r.doc) : json_object();
        cli_resp_free(&r);
        *is_error = bad;
        return cli_mcp_text_result(doc, bad);
}

static json_t *by_id(struct cli *c, json_t *args, int *is_error, const char *method,
                     const char *suffix, json_t *body)
{
        char path[160];
        if (cli_mcp_machine_path(args, suffix, path, sizeof(path)) < 0) {
                json_decref(body);
                return cli_mcp_bad_args(is_error, "machine_id is required");
        }
        return cli_mcp_api(c, method, path, body);
}

static json_t *t_hibernate(struct cli *c, json_t *args, int *is_error)
{
        c->waiting = "hibernating"; /* as long as the operation takes */
        return by_id(c, args, is_error, "POST", "/hibernate", NULL);
}

static json_t *t_resume(struct cli *c, json_t *args, int *is_error)
{
        c->waiting = "resuming"; /* as long as the operation takes */
        return by_id(c, args, is_error, "POST", "/resume", NULL);
}

static json_t *t_pause(struct cli *c, json_t *args, int *is_error)
{
        return by_id(c, args, is_error, "POST", "/pause", NULL);
}

static json_t *t_fork(struct cli *c, json_t *args, int *is_error)
{
        c->waiting = "forking"; /* as long as the operation takes */
        json_int_t count = json_integer_value(json_object_get(args, "count"));
        return by_id(c, args, is_error, "POST", "/fork",
                     json_pack("{s:I}", "count", count > 0 ? count : 1));
}

static json_t *t_destroy(struct cli *c, json_t *args, int *is_error)
{
        return by_id(c, args, is_error, "DELETE", "", NULL);
}

static json_t *t_preview(struct cli *c, json_t *args, int *is_error)
{
        json_int_t port = json_integer_value(json_object_get(args, "port"));
        json_t *body = json_pack("{s:I}", "port", port);
        if (json_is_integer(json_object_get(args, "expires_in_s")))
                json_object_set(body, "expires_in_s", json_object_get(args, "expires_in_s"));
        return by_id(c, args, is_error, "POST", "/previews", body);
}

/* A short-lived OpenSSH certificate for a public key the agent (or its user) holds. */
static json_t *t_ssh(struct cli *c, json_t *args, int *is_error)
{
        const char *key = str_arg(args, "public_key"), *user = str_arg(args, "user");
        json_t *ttl = json_object_get(args, "ttl_s");
        if (!key || (ttl && !json_is_integer(ttl)))
                return cli_mcp_bad_args(is_error,
                                        "public_key (one OpenSSH public key line) is required");
        json_t *body = json_pack("{s:s}", "public_key", key);
        if (user)
                json_object_set_new(body, "user", json_string(user));
        if (ttl)
                json_object_set(body, "ttl_s", ttl);
        return by_id(c, args, is_error, "POST", "/ssh", body);
}

static json_t *t_volume_create(struct cli *c, json_t *args, int *is_error)
{
        const char *name = str_arg(args, "name");
        if (!name || !json_is_integer(json_object_get(args, "size_mb")))
                return cli_mcp_bad_args(is_error, "name and size_mb are required");
        return cli_mcp_api(
            c, "POST", "/v1/volumes",
            json_pack("{s:s,s:O}", "name", name, "size_mb", json_object_get(args, "size_mb")));
}

static json_t *t_volume_list(struct cli *c, json_t *args, int *is_error)
{
        (void)args;
        (void)is_error;
        return cli_mcp_api(c, "GET", "/v1/volumes?limit=1000", NULL);
}

static json_t *t_secret_list(struct cli *c, json_t *args, int *is_error)
{
        (void)args;
        (void)is_error;
        return cli_mcp_api(c, "GET", "/v1/secrets?limit=1000", NULL);
}

static json_t *t_volume_delete(struct cli *c, json_t *args, int *is_error)
{
        char path[160];
        if (!str_arg(args, "volume") || files_owner_path(args, "", path, sizeof(path)) < 0)
                return cli_mcp_bad_args(is_error, "volume is required");
        return cli_mcp_api(c, "DELETE", path, NULL);
}

/* The lifecycle log: what happened to machines (or one machine), why and when. */
static json_t *t_events(struct cli *c, json_t *args, int *is_error)
{
        const char *type = str_arg(args, "type"), *id = str_arg(args, "machine_id");
        json_t *since = json_object_get(args, "since_seq");
        char family[48] = ""; /* "machine.*": the part before the * is checked */
        if (type)
                snprintf(family, sizeof(family), "%.*s", (int)strcspn(type, "*"), type);
        if ((type && (!is_safe_token(family, 47) || strcmp(type + strlen(family), "*") > 0)) ||
            (id && !is_safe_token(id, 64)) || (since && !json_is_integer(since)))
                return cli_mcp_bad_args(is_error,
                                        "type, machine_id: plain tokens; since_seq: a number");
        char path[256];
        snprintf(path, sizeof(path), "/v1/events?limit=200%s%s%s%s&since_seq=%lld",
                 type ? "&type=" : "", type ? type : "", id ? "&subject=" : "", id ? id : "",
                 since ? (long long)json_integer_value(since) : 0LL);
        return cli_mcp_api(c, "GET", path, NULL);
}

#define ID_PROP "\"machine_id\":{\"type\":\"string\",\"description\":\"the machine (m_...)\"}"
#define VOL_PROP                                                                                   \
        "\"volume\":{\"type\":\"string\",\"description\":\"a volume's ID or name, instead of "     \
        "machine_id: its files without a machine\"}"

static const struct cli_mcp_tool tools[] = {
    {"create_machine", "Create an isolated Linux machine (gVisor sandbox) and wait until it runs.",
     "{\"type\":\"object\",\"properties\":{\"template\":{\"type\":\"string\",\"description\":"
     "\"base (default) or a name[:tag] from list_templates\"},\"memory_mb\":{"
     "\"type\":\"integer\"},\"vcpus\":{\"type\":\"integer\"},\"timeout_s\":{\"type\":\"integer\","
     "\"description\":\"destroyed (or hibernated) after this long; 0: never\"},\"env\":{\"type\":"
     "\"object\",\"additionalProperties\":{\"type\":\"string\"}},\"metadata\":{\"type\":"
     "\"object\",\"additionalProperties\":{\"type\":\"string\"}},\"volumes\":{\"type\":"
     "\"array\",\"description\":\"volumes to mount\",\"items\":{\"type\":\"object\","
     "\"properties\":{\"volume\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},"
     "\"subpath\":{\"type\":\"string\"},\"read_only\":{\"type\":\"boolean\"}},"
     "\"required\":[\"volume\",\"path\"]}},\"desktop\":{\"type\":\"object\",\"description\":"
     "\"the screen size of a desktop template machine\",\"properties\":{\"width\":{\"type\":"
     "\"integer\",\"minimum\":320,\"maximum\":3840},\"height\":{\"type\":\"integer\","
     "\"minimum\":240,\"maximum\":2160}}},\"secrets\":{\"type\":\"array\",\"items\":{"
     "\"type\":\"string\"},\"description\":\"names from list_secrets: each is set as the "
     "environment variable of that name (the value is never shown)\"}}}",
     t_create},
    {"list_machines", "List machines, optionally only those in one state.",
     "{\"type\":\"object\",\"properties\":{\"state\":{\"type\":\"string\"}}}", t_list},
    {"list_templates",
     "List the templates machines can be created from (packages, files and a running service "
     "baked in); pass a ref as create_machine's template.",
     "{\"type\":\"object\",\"properties\":{}}", t_templates},
    {"exec", "Run a shell command in a machine; returns stdout, stderr and exit_code.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"command\":{\"type\":\"string\"},\"cwd\":{"
     "\"type\":\"string\"},\"timeout_s\":{\"type\":\"integer\"}},\"required\":[\"machine_id\","
     "\"command\"]}",
     t_exec},
    {"read_file", "Read a file of a machine or a volume (text; base64 when it is not UTF-8).",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "," VOL_PROP ",\"path\":{\"type\":"
     "\"string\"}},\"required\":[\"path\"]}",
     t_read},
    {"write_file",
     "Write a text file in a machine or a volume (parents created, replaced atomically).",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "," VOL_PROP ",\"path\":{\"type\":"
     "\"string\"},\"content\":{\"type\":\"string\"}},\"required\":[\"path\",\"content\"]}",
     t_write},
    {"create_volume",
     "Create a volume: a filesystem that outlives machines and that several machines can "
     "mount at once (create_machine's volumes).",
     "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"size_mb\":{"
     "\"type\":\"integer\",\"minimum\":16}},\"required\":[\"name\",\"size_mb\"]}",
     t_volume_create},
    {"list_volumes", "List volumes with their size and use.",
     "{\"type\":\"object\",\"properties\":{}}", t_volume_list},
    {"list_secrets",
     "Names of the secrets (API keys, tokens) set on this host; pass names as "
     "create_machine's secrets to give a machine them as environment variables. Values are "
     "never shown.",
     "{\"type\":\"object\",\"properties\":{}}", t_secret_list},
    {"delete_volume", "Delete a volume no machine mounts, and its files.",
     "{\"type\":\"object\",\"properties\":{" VOL_PROP "},\"required\":[\"volume\"]}",
     t_volume_delete},
    {"hibernate_machine", "Checkpoint a machine's memory, processes and files and stop it.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "},\"required\":[\"machine_id\"]}",
     t_hibernate},
    {"resume_machine", "Resume a paused or hibernated machine where it stopped.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "},\"required\":[\"machine_id\"]}", t_resume},
    {"pause_machine",
     "Pause a running machine in memory (cheap while idle; any call to it continues it in "
     "milliseconds, processes and sessions intact).",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "},\"required\":[\"machine_id\"]}", t_pause},
    {"fork_machine", "Branch a running machine into independent children with its state.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"count\":{\"type\":\"integer\","
     "\"minimum\":1,\"maximum\":16}},\"required\":[\"machine_id\"]}",
     t_fork},
    {"preview_url",
     "A signed, expiring URL that reaches a port of a machine (a server started in it) "
     "through the daemon; open it in a browser or fetch it.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"port\":{\"type\":\"integer\","
     "\"minimum\":1,\"maximum\":65535},\"expires_in_s\":{\"type\":\"integer\",\"minimum\":1}},"
     "\"required\":[\"machine_id\",\"port\"]}",
     t_preview},
    {"ssh_certificate",
     "A short-lived OpenSSH certificate for public_key on a machine (a person's or another "
     "tool's ssh): use it with ssh -o CertificateFile=... -o ProxyCommand='nullspace ssh-proxy "
     "%h' USER@MACHINE_ID; known_hosts is returned too. Nothing else opens sshd there.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"public_key\":{\"type\":\"string\"},"
     "\"user\":{\"type\":\"string\",\"description\":\"default: the machine's user, else root\"},"
     "\"ttl_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3600}},\"required\":[\"machine_"
     "id\","
     "\"public_key\"]}",
     t_ssh},
    {"list_events",
     "The lifecycle log (oldest first, 200 at most): machines created, hibernated, resumed, "
     "forked, failed or destroyed, with the reason (user, timeout, error, ...) and when; "
     "filter by type (machine.failed, machine.*) or machine_id, continue after since_seq.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"type\":{\"type\":\"string\"},"
     "\"since_seq\":{\"type\":\"integer\",\"minimum\":0}}}",
     t_events},
    {"run_code",
     "Run code in a machine of the code-interpreter template (create_machine with template "
     "code-interpreter) and return its results: text, errors with tracebacks, and charts and "
     "images as image content. Variables, imports and the working directory persist from run to "
     "run in a context, like notebook cells.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"code\":{\"type\":\"string\"},"
     "\"language\":{\"type\":\"string\",\"enum\":[\"python\",\"r\",\"javascript\",\"typescript\","
     "\"java\",\"bash\"],"
     "\"description\":\"default python\"},\"context\":{\"type\":\"string\",\"description\":"
     "\"a context ID (default: the language's default context)\"},\"env\":{\"type\":"
     "\"object\",\"additionalProperties\":{\"type\":\"string\"}},\"timeout_s\":{\"type\":"
     "\"integer\",\"minimum\":0}},\"required\":[\"machine_id\",\"code\"]}",
     cli_mcp_run_code},
    {"destroy_machine", "Destroy a machine and everything in it.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "},\"required\":[\"machine_id\"]}", t_destroy},
};

/* ---- the protocol ---------------------------------------------------------------------- */

const struct cli_mcp_tool *cli_mcp_tool_at(size_t i)
{
        size_t n = sizeof(tools) / sizeof(tools[0]);
        if (i < n)
                return &tools[i];
        if (i - n < cli_mcp_ndesktop_tools)
                return &cli_mcp_desktop_tools[i - n];
        i -= n + cli_mcp_ndesktop_tools;
        return i < cli_mcp_ndeploy_tools ? &cli_mcp_deploy_tools[i] : NULL;
}

static json_t *tools_list(void)
{
        json_t *arr = json_array();
        const struct cli_mcp_tool *t;
        for (size_t i = 0; (t = cli_mcp_tool_at(i)); i++)
                json_array_append_new(arr, json_pack("{s:s,s:s,s:o}", "name", t->name,
                                                     "description", t->description, "inputSchema",
                                                     json_loads(t->schema, 0, NULL)));
        return json_pack("{s:o}", "tools", arr);
}

static void tools_call(struct cli *c, json_t *id, json_t *params)
{
        const char *name = json_string_value(json_object_get(params, "name"));
        json_t *args = json_object_get(params, "arguments");
        const struct cli_mcp_tool *t;
        for (size_t i = 0; name && (t = cli_mcp_tool_at(i)); i++) {
                if (strcmp(t->name, name) == 0) {
                        int is_error = 0;
                        json_t *res = t->run(c, json_is_object(args) ? args : NULL, &is_error);
                        c->waiting = NULL;
                        send_result(id, res);
                        return;
                }
        }
        send_error(id, -32602, "unknown tool");
}

static json_t *initialize(json_t *params)
{
        const char *want = json_string_value(json_object_get(params, "protocolVersion"));
        const char *v = versions[1];
        for (size_t i = 0; want && i < sizeof(versions) / sizeof(versions[0]); i++)
                if (strcmp(want, versions[i]) == 0)
                        v = versions[i];
        return json_pack("{s:s,s:{s:{}},s:{s:s,s:s},s:s}", "protocolVersion", v, "capabilities",
                         "tools", "serverInfo", "name", "nullspace", "version", "0.1.0",
                         "instructions",
                         "Tools to create isolated Linux machines and run commands and files in "
                         "them; machine IDs look like m_...");
}

static void on_message(struct cli *c, json_t *msg)
{
        json_t *id = json_object_get(msg, "id");
        const char *method = json_string_value(json_object_get(msg, "method"));
        json_t *params = json_object_get(msg, "params");
        if (!method) {
                if (id) /* a response to nothing we asked, or garbage */
                        send_error(id, -32600, "invalid request");
                return;
        }
        if (!id)
                return; /* notifications (initialized, cancelled, ...) need no answer */
        if (strcmp(method, "initialize") == 0)
                send_result(id, initialize(params));
        else if (strcmp(method, "ping") == 0)
                send_result(id, json_object());
        else if (strcmp(method, "tools/list") == 0)
                send_result(id, tools_list());
        else if (strcmp(method, "tools/call") == 0)
                tools_call(c, id, params);
        else
                send_error(id, -32601, "method not found");
}

int cmd_mcp(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("mcp");
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r)
                return r;
        c->json = 0; /* connection errors go to stderr: stdout is the protocol's */
        struct buf line;
        buf_init(&line, MCP_LINE_MAX);
        int ch;
        while ((ch = getchar()) != EOF) {
                if (ch != '\n') {
                        if (buf_append(&line, &(char){(char)ch}, 1) < 0) {
                                send_error(NULL, -32600, "message too large");
                                buf_reset(&line);
                                while ((ch = getchar()) != EOF && ch != '\n')
                                        ;
                        }
                        continue;
                }
                json_error_t jerr;
                json_t *msg = line.len ? json_loadb(line.data, line.len, 0, &jerr) : NULL;
                if (line.len && !json_is_object(msg))
                        send_error(NULL, -32700, "parse error");
                else if (msg)
                        on_message(c, msg);
                json_decref(msg);
                buf_reset(&line);
        }
        buf_fini(&line);
        return 0;
}
