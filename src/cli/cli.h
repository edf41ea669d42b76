/* The `nullspace` command-line client: shared state, the verb table and helpers.
 * Single-threaded. Every command returns a process exit status from the error
 * catalogue (src/common/errcodes.c, docs/cli-exit-codes.md). */
#ifndef NS_CLI_H
#define NS_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/buf.h"
#include "../common/errcodes.h"
#include "../common/jsonv.h"

struct cli {
        char api_url[1024];
        char api_key[300];
        const char *url_from; /* where api_url came from: flag, env, config, default */
        const char *key_from;
        double timeout_s; /* a request's limit; waiting commands: only if timeout_set */
        int timeout_set;  /* --timeout was given */
        int json;
        const char *config_path; /* --config, else the default path */
        const char *waiting;     /* set by long commands: "hibernating" shown while waiting */
        int quiet;               /* requests print no error of their own (doctor) */
};

struct cli_flag {
        const char *name; /* "--name" */
        const char *arg;  /* "NAME", NULL for a switch */
        const char *help;
        int repeat; /* may be given several times (collected in a cli_multi) */
};

#define CLI_MULTI_MAX 256

/* The values of a repeatable flag, in order. */
struct cli_multi {
        const char *v[CLI_MULTI_MAX];
        int n;
};

struct cli_cmd {
        const char *name; /* "keys create" */
        const char *args; /* positional arguments, for usage: "ID" */
        const char *summary;
        const struct cli_flag *flags; /* terminated by {NULL} */
        int (*run)(struct cli *c, int argc, char **argv);
};

/* The verbs (one file per verb group: cmd_*.c); each returns the exit status. */
int cmd_doctor(struct cli *c, int argc, char **argv);
int cmd_code_run(struct cli *c, int argc, char **argv);
int cmd_code_interrupt(struct cli *c, int argc, char **argv);
int cmd_code_contexts_list(struct cli *c, int argc, char **argv);
int cmd_code_contexts_create(struct cli *c, int argc, char **argv);
int cmd_code_contexts_delete(struct cli *c, int argc, char **argv);
int cmd_code_contexts_restart(struct cli *c, int argc, char **argv);
int cmd_code_runs_start(struct cli *c, int argc, char **argv);
int cmd_code_runs_list(struct cli *c, int argc, char **argv);
int cmd_code_runs_get(struct cli *c, int argc, char **argv);
int cmd_code_runs_cancel(struct cli *c, int argc, char **argv);
int cmd_code_runs_delete(struct cli *c, int argc, char **argv);
int cmd_code_artifacts_list(struct cli *c, int argc, char **argv);
int cmd_code_artifacts_get(struct cli *c, int argc, char **argv);
int cmd_desktop_click(struct cli *c, int argc, char **argv);
int cmd_desktop_move(struct cli *c, int argc, char **argv);
int cmd_desktop_drag(struct cli *c, int argc, char **argv);
int cmd_desktop_scroll(struct cli *c, int argc, char **argv);
int cmd_desktop_type(struct cli *c, int argc, char **argv);
int cmd_desktop_key(struct cli *c, int argc, char **argv);
int cmd_desktop_screen(struct cli *c, int argc, char **argv);
int cmd_desktop_cursor(struct cli *c, int argc, char **argv);
int cmd_desktop_windows(struct cli *c, int argc, char **argv);
int cmd_desktop_focus(struct cli *c, int argc, char **argv);
int cmd_desktop_close(struct cli *c, int argc, char **argv);
int cmd_desktop_clipboard(struct cli *c, int argc, char **argv);
int cmd_desktop_launch(struct cli *c, int argc, char **argv);
int cmd_desktop_viewer(struct cli *c, int argc, char **argv);
int cmd_desktop_resize(struct cli *c, int argc, char **argv);
int cmd_desktop_record_start(struct cli *c, int argc, char **argv);
int cmd_desktop_record_stop(struct cli *c, int argc, char **argv);
int cmd_desktop_record_list(struct cli *c, int argc, char **argv);
int cmd_desktop_record_get(struct cli *c, int argc, char **argv);
int cmd_desktop_record_download(struct cli *c, int argc, char **argv);
int cmd_desktop_record_delete(struct cli *c, int argc, char **argv);
int cmd_desktop_screenshot(struct cli *c, int argc, char **argv);

/* Shared by code run and code runs start (cmd_code.c): a run's request body (new
 * reference) from the positional arguments ID FILE|- (the code from the file or stdin)
 * and the flags --language, --context, --env, --timeout-s (v[0..3], multi[2]); NULL
 * after a usage error (status in *ret). */
json_t *cli_code_request(const struct cli_cmd *cmd, int npos, char **argv, const char **v,
                         struct cli_multi *multi, int *ret);
/* The code's error on stderr (its traceback, else name: value); returns 1. */
int cli_code_error(const json_t *err);

/* The MCP tool run_code (cmd_mcp.c's table): runs args.code in args.machine_id and
 * answers a tool result (new reference): the execution as JSON text, each PNG/JPEG
 * result as image content. *is_error when the request failed or the code raised. */
json_t *cli_mcp_run_code(struct cli *c, json_t *args, int *is_error);

struct cli_resp;
/* An MCP tool of `nullspace mcp` (cmd_mcp.c): run answers a tools/call result and sets
 * *is_error when the call failed. */
struct cli_mcp_tool {
        const char *name, *description, *schema; /* schema: JSON text of inputSchema */
        json_t *(*run)(struct cli *c, json_t *args, int *is_error);
};
/* MCP tool number i: ours (cmd_mcp.c), the desktop's, the deployments'; NULL past the end. */
const struct cli_mcp_tool *cli_mcp_tool_at(size_t i);
/* The desktop's computer-use tools (cmd_mcp_desktop.c). */
extern const struct cli_mcp_tool cli_mcp_desktop_tools[];
extern const size_t cli_mcp_ndesktop_tools;
/* The deployment tools (cmd_mcp_deploy.c). */
extern const struct cli_mcp_tool cli_mcp_deploy_tools[];
extern const size_t cli_mcp_ndeploy_tools;
/* A tool result holding doc (stolen) as JSON text content. */
json_t *cli_mcp_text_result(json_t *doc, int is_error);
/* Performs an API call (body stolen) and turns its answer into a tool result. */
json_t *cli_mcp_api(struct cli *c, const char *method, const char *path, json_t *body);
/* "/v1/machines/ID" + suffix into out: 0, or -1 when args' machine_id is missing or odd. */
int cli_mcp_machine_path(json_t *args, const char *suffix, char *out, size_t cap);
/* GET path into r: NULL when it answered 200 (the caller frees r), else the tool's error
 * result (r freed, *is_error set). */
json_t *cli_mcp_get(struct cli *c, const char *path, struct cli_resp *r, int *is_error);
/* An invalid_field tool error with msg; sets *is_error. */
json_t *cli_mcp_bad_args(int *is_error, const char *msg);
int cmd_ssh(struct cli *c, int argc, char **argv);
int cmd_machines_connect(struct cli *c, int argc, char **argv);
int cmd_ssh_proxy(struct cli *c, int argc, char **argv);
int cmd_files_ls(struct cli *c, int argc, char **argv);
int cmd_files_mkdir(struct cli *c, int argc, char **argv);
int cmd_files_mv(struct cli *c, int argc, char **argv);
int cmd_files_read(struct cli *c, int argc, char **argv);
int cmd_files_rm(struct cli *c, int argc, char **argv);
int cmd_files_sign(struct cli *c, int argc, char **argv);
int cmd_files_watch(struct cli *c, int argc, char **argv);
int cmd_files_stat(struct cli *c, int argc, char **argv);
int cmd_files_write(struct cli *c, int argc, char **argv);
int cmd_keys_create(struct cli *c, int argc, char **argv);
int cmd_keys_get(struct cli *c, int argc, char **argv);
int cmd_keys_list(struct cli *c, int argc, char **argv);
int cmd_keys_revoke(struct cli *c, int argc, char **argv);
int cmd_skills_install(struct cli *c, int argc, char **argv);
int cmd_secrets_set(struct cli *c, int argc, char **argv);
int cmd_secrets_list(struct cli *c, int argc, char **argv);
int cmd_secrets_get(struct cli *c, int argc, char **argv);
int cmd_secrets_delete(struct cli *c, int argc, char **argv);
int cmd_deploy(struct cli *c, int argc, char **argv);
int cmd_deployments_list(struct cli *c, int argc, char **argv);
int cmd_deployments_get(struct cli *c, int argc, char **argv);
int cmd_deployments_revisions(struct cli *c, int argc, char **argv);
int cmd_deployments_rollback(struct cli *c, int argc, char **argv);
int cmd_deployments_delete(struct cli *c, int argc, char **argv);
int cmd_deployments_run(struct cli *c, int argc, char **argv);
int cmd_deployments_runs(struct cli *c, int argc, char **argv);
int cmd_deployments_logs(struct cli *c, int argc, char **argv);
int cmd_deployments_cancel(struct cli *c, int argc, char **argv);
int cmd_machines_create(struct cli *c, int argc, char **argv);
int cmd_machines_network(struct cli *c, int argc, char **argv);
int cmd_machines_preview(struct cli *c, int argc, char **argv);
int cmd_machines_destroy(struct cli *c, int argc, char **argv);
int cmd_machines_exec(struct cli *c, int argc, char **argv);
int cmd_machines_events(struct cli *c, int argc, char **argv);
int cmd_machines_metrics(struct cli *c, int argc, char **argv);
int cmd_machines_fork(struct cli *c, int argc, char **argv);
int cmd_machines_get(struct cli *c, int argc, char **argv);
int cmd_machines_hibernate(struct cli *c, int argc, char **argv);
int cmd_machines_list(struct cli *c, int argc, char **argv);
int cmd_machines_resume(struct cli *c, int argc, char **argv);
int cmd_machines_pause(struct cli *c, int argc, char **argv);
int cmd_machines_timeout(struct cli *c, int argc, char **argv);
int cmd_mcp(struct cli *c, int argc, char **argv);
int cmd_processes_kill(struct cli *c, int argc, char **argv);
int cmd_processes_list(struct cli *c, int argc, char **argv);
int cmd_processes_logs(struct cli *c, int argc, char **argv);
int cmd_processes_start(struct cli *c, int argc, char **argv);
int cmd_processes_resize(struct cli *c, int argc, char **argv);
int cmd_processes_stdin(struct cli *c, int argc, char **argv);
int cmd_schema(struct cli *c, int argc, char **argv);
int cmd_shell(struct cli *c, int argc, char **argv);
int cmd_snapshots_create(struct cli *c, int argc, char **argv);
int cmd_events(struct cli *c, int argc, char **argv);
int cmd_webhooks_create(struct cli *c, int argc, char **argv);
int cmd_webhooks_list(struct cli *c, int argc, char **argv);
int cmd_webhooks_get(struct cli *c, int argc, char **argv);
int cmd_webhooks_update(struct cli *c, int argc, char **argv);
int cmd_webhooks_delete(struct cli *c, int argc, char **argv);
int cmd_webhooks_test(struct cli *c, int argc, char **argv);
int cmd_webhooks_rotate(struct cli *c, int argc, char **argv);
int cmd_webhooks_deliveries(struct cli *c, int argc, char **argv);
int cmd_webhooks_redeliver(struct cli *c, int argc, char **argv);
int cmd_volumes_create(struct cli *c, int argc, char **argv);
int cmd_volumes_list(struct cli *c, int argc, char **argv);
int cmd_volumes_get(struct cli *c, int argc, char **argv);
int cmd_volumes_delete(struct cli *c, int argc, char **argv);
int cmd_volumes_upload(struct cli *c, int argc, char **argv);
int cmd_volumes_download(struct cli *c, int argc, char **argv);
int cmd_files_upload(struct cli *c, int argc, char **argv);
int cmd_files_chmod(struct cli *c, int argc, char **argv);
int cmd_files_download(struct cli *c, int argc, char **argv);

/* Packs directory dir with tar (a project: without .git and what .gitignore and
 * .nullspaceignore files name) and uploads it as a build context: body.context_id gets
 * its ID. 0 or an exit status (cmd names the command in errors). */
int cli_upload_dir(struct cli *c, const struct cli_cmd *cmd, const char *dir, int project,
                   json_t *body);

/* Build id's log from the start, while it builds (follow) or what is there: as text to
 * out, or into collect (may be NULL). 0 or an exit status; state (cap bytes) gets the
 * build's state. */
int cli_follow_build(struct cli *c, const char *build, int follow, FILE *out, json_t *collect,
                     char *state, size_t cap);

/* Sets body["volumes"] from the --volume values in m (NAME:/PATH[:ro][:subpath=DIR]);
 * nothing when there are none. 0 or a usage error status. */
int cli_volume_mounts(const struct cli_cmd *cmd, const struct cli_multi *m, json_t *body);

/* The API path of what a files command's first argument names: /v1/machines/ID for a
 * machine ID, /v1/volumes/REF for a volume ID (v_...) or volume:NAME. Answers a usage
 * error (returns its exit code) for anything else. */
int cli_files_base(const struct cli_cmd *cmd, const char *target, char *out, size_t cap);
int cmd_snapshots_delete(struct cli *c, int argc, char **argv);
int cmd_snapshots_get(struct cli *c, int argc, char **argv);
int cmd_snapshots_list(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_templates_alias(struct cli *c, int argc, char **argv);
int cmd_templates_build(struct cli *c, int argc, char **argv);
int cmd_templates_cancel(struct cli *c, int argc, char **argv);
int cmd_templates_delete(struct cli *c, int argc, char **argv);
int cmd_templates_get(struct cli *c, int argc, char **argv);
int cmd_templates_list(struct cli *c, int argc, char **argv);
int cmd_templates_logs(struct cli *c, int argc, char **argv);
int cmd_templates_pool(struct cli *c, int argc, char **argv);
int cmd_templates_prune(struct cli *c, int argc, char **argv);

extern const struct cli_cmd cli_cmds[];
extern const size_t cli_ncmds;

/* Resolves api_url/api_key with the precedence flags > NULLSPACE_* env > config file
 * > defaults. Flags already set in c are kept. Returns 0 or an exit status (usage). */
int cli_config_resolve(struct cli *c);

/* The default config path (~/.config/nullspace/config or $XDG_CONFIG_HOME/...). */
void cli_config_default_path(char *out, size_t cap);

struct cli_resp {
        long status;
        struct buf body; /* bounded; caller frees with buf_fini */
        json_t *doc;     /* parsed body when JSON, else NULL; caller decrefs */
};

/* Performs METHOD path (e.g. "/v1/keys") with an optional JSON body (borrowed).
 * auth=1 sends the API key. Returns 0 when an HTTP response arrived (any status),
 * else an exit status after printing the connection error. Caller frees r. */
int cli_request(struct cli *c, const char *method, const char *path, const json_t *body, int auth,
                struct cli_resp *r);

/* Like cli_request (authenticated) with a raw body (application/octet-stream). */
int cli_request_raw(struct cli *c, const char *method, const char *path, const void *data, size_t n,
                    struct cli_resp *r);

/* Like cli_request (authenticated), for answers streamed as NDJSON: each line of a 200
 * application/x-ndjson answer is parsed and handed to on_line (borrowed) as it arrives
 * (with no timeout: the stream lasts as long as the command); any other answer fills r
 * as cli_request does. */
int cli_request_lines(struct cli *c, const char *method, const char *path, const json_t *body,
                      void (*on_line)(void *ud, json_t *line), void *ud, struct cli_resp *r);

/* POSTs body (stolen) to path: with --json for the one whole answer (in r), else with
 * "stream": true, each NDJSON line handed to on_line as it comes (people see output as
 * it happens). 0 when an answer came (any status, in r), else the exit status. */
int cli_post_streamed(struct cli *c, const char *path, json_t *body,
                      void (*on_line)(void *ud, json_t *line), void *ud, struct cli_resp *r);

/* Runs one authenticated request (body stolen, may be NULL). A 2xx JSON answer is
 * printed as JSON with --json, else handed to `show` (NULL: print nothing); an error
 * answer is printed and turned into its exit status. */
int cli_call(struct cli *c, const char *method, const char *path, json_t *body,
             void (*show)(const json_t *doc));

/* Streams a body: PUT reads `in` (sent chunked, or with its size when it is a regular
 * file); GET writes the answer to `out`. A progress line goes to stderr when it is a
 * terminal. Prints the JSON answer of a PUT (with --json) or the error; returns the
 * exit status. */
int cli_transfer(struct cli *c, const char *method, const char *path, FILE *in, FILE *out);

/* GET path into file (NULL or "-": standard output) with cli_transfer; a file left half
 * written by a failure is removed. Returns the exit status. */
int cli_download(struct cli *c, const struct cli_cmd *cmd, const char *path, const char *file);

/* Releases what cli_request filled. */
void cli_resp_free(struct cli_resp *r);

/* Turns a non-2xx response into the catalogue's exit status, printing the error
 * (as JSON with --json, else "error: code: message (request ID)"). */
int cli_fail_response(struct cli *c, const struct cli_resp *r);

/* METHOD path (body borrowed, may be NULL) with the API key, expecting HTTP `want` with a
 * JSON answer: 0 with *doc the answer (new reference), or the exit status after the
 * error was printed (cli_fail_response). */
int cli_fetch(struct cli *c, const char *method, const char *path, const json_t *body, long want,
              json_t **doc);

/* Prints a usage error for `cmd` and returns the usage exit status. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "K=V" values of a repeatable flag into a new object in *out (NULL when none); a usage
 * error status on a bad pair. */
int cli_pairs(const struct cli_cmd *cmd, const struct cli_multi *m, const char *flag, json_t **out);

/* Sets body[field] to the whole number v (when v is not NULL); a usage error status
 * when it is not one. */
int cli_set_int(const struct cli_cmd *cmd, json_t *body, const char *field, const char *flag,
                const char *v);

/* The machine ID in argv[0], checked; NULL after a usage error (status in *ret). */
const char *cli_machine_id(const struct cli_cmd *cmd, int npos, char **argv, int *ret);

/* All of our standard input (malloc'd, NUL-terminated, length in *len), or NULL when
 * it is larger than max. */
char *cli_read_stdin(size_t max, size_t *len);

/* cli_read_stdin of a file (path "-": standard input); NULL with errno set (E2BIG: over
 * max bytes). */
char *cli_read_path(const char *path, size_t max, size_t *len);

/* 0 when name can be a secret's name; else a usage error. */
int cli_secret_name_arg(const struct cli_cmd *cmd, const char *name);

/* A verb on one secret: METHOD /v1/secrets/NAME, as cli_id_cmd. */
int cli_secret_cmd(struct cli *c, const char *name, const char *method, const char *done, int argc,
                   char **argv, void (*show)(const json_t *doc));

/* Writes the bytes of base64 text s to f (nothing when s is not base64). */
void cli_write_base64(FILE *f, const char *s);

/* The WebSocket client (ws.c): a session on the API's /v1/ws, driven by the caller's
 * poll loop. Set on_text/on_binary/ud, then cli_ws_open (0, or an exit status after
 * printing why); poll w->fd for cli_ws_events() with cli_ws_timeout(), then cli_ws_io
 * with the revents (-1: the session ended). Not thread-safe. */
struct cli_ws {
        int fd;
        void *ctx;           /* wslay_event_context_ptr */
        char leftover[4096]; /* bytes read with the upgrade answer */
        size_t left_len, left_off;
        void (*on_text)(void *ud, const char *p, size_t n);
        void (*on_binary)(void *ud, const unsigned char *p, size_t n);
        void *ud;
        int closed;
};
int cli_ws_open(struct cli *c, struct cli_ws *w);

/* Connects to the API's host and port (http:// URLs; `what` names the command in the
 * error). Returns the fd (blocking) with "host:port" in hostport for a Host header, or
 * -1 after printing the error. */
int cli_dial(struct cli *c, const char *what, char *hostport, size_t cap);

/* Reads an HTTP answer head from fd into head (cap bytes, NUL-terminated; *got bytes
 * read, maybe past the head). Returns where the body starts, or NULL when no whole head
 * came. */
char *cli_read_head(int fd, char *head, size_t cap, size_t *got);
void cli_ws_close(struct cli_ws *w);
void cli_ws_send_json(struct cli_ws *w, json_t *doc); /* steals doc */
void cli_ws_send_input(struct cli_ws *w, uint32_t channel, const void *p, size_t n);
short cli_ws_events(struct cli_ws *w);
int cli_ws_timeout(struct cli_ws *w);
int cli_ws_io(struct cli_ws *w, short revents);

/* Prints a WebSocket error message ({"type":"error","error":{...}}) on stderr, lines
 * ended with eol ("\n", or "\r\n" on a raw terminal); returns its exit status. */
int cli_ws_error(const json_t *msg, const char *eol);

/* Parses "TARGET PATH" and the flags of cmd (values as cli_parse_flags), and the
 * target's API path into base (cli_files_base); 0 or the usage status. */
int cli_target_path_args(const struct cli_cmd *cmd, int argc, char **argv, const char **values,
                         char *base, size_t cap);

/* Prints each item of doc[key] with row, then "(more: --cursor C)" when the page has a
 * next_cursor: the body of every list verb's table (the caller prints its header). */
void cli_print_rows(const json_t *doc, const char *key, void (*row)(const json_t *item));

/* One lifecycle event as a table row (cmd_events.c). */
void cli_event_row(const json_t *e);

/* Prints doc as indented JSON on stdout (borrowed). */
void cli_print_json(const json_t *doc);

/* Parses the command's own --flags: for each flag in cmd->flags, values[i] gets the
 * argument (or "1" for switches); repeatable flags collect into multi[i] (multi may be
 * NULL when the command has none). Positional arguments are compacted to
 * argv[0..*npos); everything after "--" is positional. Returns 0 or the usage status. */
int cli_parse_flags(const struct cli_cmd *cmd, int argc, char **argv, const char **values,
                    struct cli_multi *multi, int *npos);

/* 0 when `id` looks like an ID ([a-z0-9_], up to 64); else a usage error naming `what`
 * ("a machine ID (m_...)"). */
int cli_id_arg(const struct cli_cmd *cmd, const char *id, const char *what);

/* BASE?limit=..&cursor=.. into out (values checked: numbers); usage error otherwise. */
int cli_page_path(const struct cli_cmd *cmd, const char *base, const char *limit,
                  const char *cursor, char *out, size_t cap);

/* Parses cmd's flags (into values, may be NULL) and one machine ID, the only positional
 * argument, into path: /v1/machines/ID<suffix>. 0, or the usage error's status. */
int cli_machine_args(const struct cli_cmd *cmd, int argc, char **argv, const char **values,
                     const char *suffix, char *path, size_t cap);

/* A verb on one machine with no flags: METHOD /v1/machines/ID<suffix>, shown with show. */
int cli_machine_cmd(struct cli *c, const char *name, const char *method, const char *suffix,
                    int argc, char **argv, void (*show)(const json_t *doc));

/* A list verb whose flags are exactly --limit and --cursor: GET base?limit&cursor. */
int cli_list_cmd(struct cli *c, const char *name, const char *base, int argc, char **argv,
                 void (*show)(const json_t *doc));

/* A verb on one ID: METHOD base/ID, shown with `show`. With `done` ("revoked",
 * "deleted") an empty answer is reported as "DONE ID" or {"id":..,DONE:true}. */
int cli_id_cmd(struct cli *c, const char *name, const char *method, const char *base,
               const char *what, const char *done, int argc, char **argv,
               void (*show)(const json_t *doc));

/* 0 when ref looks like a template reference ([A-Za-z0-9._:-], up to 96); else a usage
 * error naming `what`. */
int cli_ref_arg(const struct cli_cmd *cmd, const char *ref, const char *what);

/* cli_id_cmd for a verb on one volume ID or name ([A-Za-z0-9_-], up to 64). */
int cli_volume_cmd(struct cli *c, const char *name, const char *method, const char *done, int argc,
                   char **argv, void (*show)(const json_t *doc));

/* 0 when name is a volume name; else a usage error. */
int cli_volume_name_arg(const struct cli_cmd *cmd, const char *name);

/* cli_id_cmd for a verb on one template name[:tag]. */
int cli_ref_cmd(struct cli *c, const char *name, const char *method, const char *base,
                const char *done, int argc, char **argv, void (*show)(const json_t *doc));

/* Looks a command up by name. */
const struct cli_cmd *cli_find(const char *name);

#endif
