/* nullspace: the command-line client of the Nullspace daemon. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"
#include "cli.h"

const struct cli_flag cli_global_flags[] = {
    {"--api-url", "URL", "daemon address (env NULLSPACE_API_URL; default http://127.0.0.1:7700)",
     0},
    {"--api-key", "KEY", "API key (env NULLSPACE_API_KEY)", 0},
    {"--config", "FILE", "config file (default ~/.config/nullspace/config)", 0},
    {"--timeout", "SECONDS",
     "give up on a request after this long (default 30; commands that wait for an "
     "operation wait as long as it takes unless given)",
     0},
    {"--json", NULL, "machine-readable output on stdout, errors included", 0},
    {"--help", NULL, "show help", 0},
    {"--version", NULL, "print the version", 0},
    {NULL, NULL, NULL, 0},
};

static const struct cli_flag no_flags[] = {{NULL, NULL, NULL, 0}};
static const struct cli_flag doctor_flags[] = {
    {"--state-dir", "DIR", "the daemon's state directory (default: the daemon's own)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag create_flags[] = {
    {"--name", "NAME", "a label for the key", 0},
    {"--format", "FORMAT",
     "nullspace (default) or e2b: e2b_ and 40 hex digits, as E2B's SDKs "
     "check keys (docs/e2b.md)",
     0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag secret_set_flags[] = {
    {"--value", "VALUE", "the value (visible to other users of this host in ps; prefer stdin)", 0},
    {"--from-file", "FILE",
     "read the value from FILE (default: standard input; one trailing "
     "newline is dropped)",
     0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag skills_flags[] = {
    {"--claude", NULL, "Claude Code's skills ($CLAUDE_CONFIG_DIR/skills or ~/.claude/skills)", 0},
    {"--codex", NULL, "Codex's skills ($CODEX_HOME/skills or ~/.codex/skills)", 0},
    {"--dir", "DIR", "DIR/nullspace (a project's .claude/skills, say)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag list_flags[] = {
    {"--limit", "N", "keys per page (1-1000, default 100)", 0},
    {"--cursor", "CURSOR", "continue after a previous page's next_cursor", 0},
    {NULL, NULL, NULL, 0}};

static const struct cli_flag d_shot_flags[] = {
    {"--out", "FILE", "write the image here (- or a pipe: stdout)", 0},
    {"--format", "FORMAT", "png (default) or jpeg", 0},
    {"--quality", "N", "JPEG quality 1-100 (default 80)", 0},
    {"--region", "X,Y,W,H", "only this rectangle of the screen", 0},
    {"--scale", "F", "shrink by this factor (0.05-1)", 0},
    {"--cursor", NULL, "draw the mouse pointer", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag d_click_flags[] = {
    {"--button", "B", "left (default), middle or right", 0},
    {"--double", NULL, "a double click", 0},
    {"--clicks", "N", "click N times (1-3)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag d_button_flags[] = {
    {"--button", "B", "left (default), middle or right", 0}, {NULL, NULL, NULL, 0}};
static const struct cli_flag d_scroll_flags[] = {
    {"--direction", "D", "up, down (default), left or right", 0},
    {"--amount", "N", "wheel steps (default 3)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag d_delay_flags[] = {
    {"--delay-ms", "MS", "between keys (default 12)", 0}, {NULL, NULL, NULL, 0}};
static const struct cli_flag d_clip_flags[] = {
    {"--set", "TEXT", "put TEXT on the clipboard (-: standard input) instead of printing it", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag d_viewer_flags[] = {
    {"--view-only", NULL, "the viewer only watches: its input is dropped by the daemon", 0},
    {"--expires-in", "SECONDS", "how long the URL lets a viewer connect (default 900, max 86400)",
     0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag d_record_flags[] = {
    {"--fps", "N", "frames a second, 1-30 (default 10)", 0}, {NULL, NULL, NULL, 0}};
static const struct cli_flag d_out_flags[] = {
    {"--out", "FILE", "write the MP4 here (-: standard output)", 0}, {NULL, NULL, NULL, 0}};
static const struct cli_flag d_launch_flags[] = {
    {"--app", "NAME", "a desktop entry: its file name (chromium) or its Name=", 0},
    {"--cwd", "DIR", "working directory (default the home directory)", 0},
    {"--env", "KEY=VALUE", "extra environment (repeatable)", 1},
    {"--wait-s", "N", "wait up to N s for its window and show it", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag m_create_flags[] = {
    {"--template", "NAME", "template (default base)", 0},
    {"--vcpus", "N", "virtual CPUs (default 1)", 0},
    {"--memory-mb", "MB", "memory limit (default 512)", 0},
    {"--timeout-s", "SECONDS", "destroy after this long (default 300; 0 = never)", 0},
    {"--env", "KEY=VALUE", "environment of every command (repeatable)", 1},
    {"--metadata", "KEY=VALUE", "labels to find the machine by (repeatable)", 1},
    {"--user", "USER", "default user of commands", 0},
    {"--cwd", "DIR", "default working directory of commands", 0},
    {"--timeout-action", "ACTION", "destroy (default) or hibernate at the deadline", 0},
    {"--no-auto-resume", NULL, "requests do not wake the machine when paused or hibernated", 0},
    {"--snapshot", "ID", "spawn from this snapshot instead of a template", 0},
    {"--no-internet", NULL, "no outbound traffic (see machines network --allow-out)", 0},
    {"--pool", "MODE", "a template's warm pool: prefer (default), require or skip", 0},
    {"--runtime", "NAME", "gvisor (default) or vm (a QEMU virtual machine)", 0},
    {"--volume", "NAME:/PATH[:ro][:subpath=DIR]", "mount a volume (repeatable)", 1},
    {"--idle-pause-s", "N", "pause it after N s without use (0: never)", 0},
    {"--idle-hibernate-s", "N", "hibernate it N s after that (0: never)", 0},
    {"--desktop", "WIDTHxHEIGHT", "the desktop template's screen size (default 1280x800)", 0},
    {"--secret", "NAME", "a secret set as the environment variable NAME (repeatable)", 1},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag v_create_flags[] = {
    {"--size-mb", "MB", "its size limit (default 1024)", 0},
    {"--metadata", "KEY=VALUE", "labels (repeatable)", 1},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag m_network_flags[] = {
    {"--internet", NULL, "allow outbound traffic (allow_internet_access)", 0},
    {"--no-internet", NULL, "only --allow-out destinations", 0},
    {"--allow-out", "CIDR|DOMAIN", "always reachable (repeatable; \"\" empties the list)", 1},
    {"--deny-out", "CIDR|DOMAIN", "never reachable (repeatable; \"\" empties the list)", 1},
    {"--public-all", NULL, "serve every port without a token (public_all)", 0},
    {"--no-public-all", NULL, "ports need a preview token again", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag m_preview_flags[] = {
    {"--expires-s", "SECONDS", "how long the URL works (default 3600, at most 604800)", 0},
    {"--public", NULL, "also serve the port without a token", 0},
    {"--private", NULL, "stop serving it without a token", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag m_fork_flags[] = {
    {"--count", "N", "how many children (1-16, default 1)", 0},
    {"--metadata", "KEY=VALUE", "the children's labels (repeatable; default the parent's)", 1},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag t_build_flags[] = {
    {"--name", "NAME[:TAG]", "the template's name (tag default latest)", 0},
    {"--dockerfile", "FILE", "build from this Dockerfile (the supported subset)", 0},
    {"--context", "DIR", "the files COPY and ADD take (packed with tar, uploaded)", 0},
    {"--ready-cmd", "CMD", "polled until it succeeds before the snapshot", 0},
    {"--start-cmd", "CMD", "the service machines start with (replaces CMD)", 0},
    {"--no-cache", NULL, "run every step again", 0},
    {"--build-arg", "KEY=VALUE", "an ARG value (repeatable)", 1},
    {"--from", "TEMPLATE", "the base without a Dockerfile (default base)", 0},
    {"--ready-timeout-s", "SECONDS", "how long the ready command may fail (default 120)", 0},
    {"--image", "TAR", "base: a container image (docker save output or an OCI layout tar)", 0},
    {"--runtime", "NAME", "what its machines run on: gvisor or vm (default: the host's)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag t_pool_flags[] = {
    {"--size", "N", "machines to keep ready (0-32; 0 empties the pool)", 0}, {NULL, NULL, NULL, 0}};
static const struct cli_flag t_prune_flags[] = {
    {"--older-than-s", "SECONDS", "only what is older than this (default 0: everything)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag t_logs_flags[] = {
    {"--follow", NULL, "keep printing until the build ends", 0}, {NULL, NULL, NULL, 0}};
static const struct cli_flag s_create_flags[] = {{"--name", "NAME", "a label for the snapshot", 0},
                                                 {NULL, NULL, NULL, 0}};
static const struct cli_flag m_list_flags[] = {
    {"--state", "STATE",
     "creating|running|destroying|destroyed|failed|hibernating|hibernated|resuming|forking|"
     "snapshotting|paused",
     0},
    {"--limit", "N", "machines per page (1-1000, default 100)", 0},
    {"--cursor", "CURSOR", "continue after a previous page's next_cursor", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag m_exec_flags[] = {
    {"--cwd", "DIR", "working directory in the machine", 0},
    {"--user", "USER", "run as this user of the machine", 0},
    {"--timeout-s", "SECONDS", "kill the command after this long", 0},
    {"--env", "KEY=VALUE", "extra environment (repeatable)", 1},
    {"--stdin", NULL, "send our standard input (up to 8 MiB) to the command", 0},
    {NULL, NULL, NULL, 0}};

static const struct cli_flag code_run_flags[] = {
    {"--language", "LANG",
     "python (default), r, javascript, typescript, java or bash: its default context", 0},
    {"--context", "ID", "run in this context (code contexts create)", 0},
    {"--env", "KEY=VALUE", "environment of this run only (repeatable)", 1},
    {"--timeout-s", "SECONDS", "interrupt the run after this long (default 300; 0: never)", 0},
    {"--out", "DIR", "save results' PNG, JPEG, SVG, PDF and HTML there (result-N.EXT)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag code_start_flags[] = {
    {"--language", "LANG",
     "python (default), r, javascript, typescript, java or bash: its default context", 0},
    {"--context", "ID", "run in this context (code contexts create)", 0},
    {"--env", "KEY=VALUE", "environment of this run only (repeatable)", 1},
    {"--timeout-s", "SECONDS", "interrupt the run after this long (default 300; 0: never)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag code_get_flags[] = {{"--wait", NULL, "wait for the run to end", 0},
                                                 {NULL, NULL, NULL, 0}};
static const struct cli_flag code_artifact_flags[] = {
    {"--out", "FILE", "write it there (default: standard output)", 0}, {NULL, NULL, NULL, 0}};
static const struct cli_flag code_ctx_flags[] = {
    {"--language", "LANG", "python (default), r, javascript, typescript, java or bash", 0},
    {"--cwd", "DIR", "its working directory (default the home directory)", 0},
    {"--env", "KEY=VALUE", "its environment, for every run (repeatable)", 1},
    {NULL, NULL, NULL, 0}};

static const struct cli_flag p_start_flags[] = {
    {"--tag", "TAG", "a name to find the process by later (not all digits)", 0},
    {"--pty", NULL, "run it on a terminal (no command: the login shell)", 0},
    {"--cwd", "DIR", "working directory in the machine", 0},
    {"--user", "USER", "run as this user of the machine", 0},
    {"--env", "KEY=VALUE", "extra environment (repeatable)", 1},
    {"--cols", "N", "terminal width (with --pty, default 80)", 0},
    {"--rows", "N", "terminal height (with --pty, default 24)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag m_events_flags[] = {
    {"--limit", "N", "events per page (1-1000, default 100)", 0},
    {"--cursor", "SEQ", "continue after this event's seq", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag m_metrics_flags[] = {
    {"--since", "MS", "the samples kept after this time (ms since the epoch; 0: all)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag events_flags[] = {
    {"--type", "TYPE", "an event type (machine.running) or a family (machine.*)", 0},
    {"--subject", "ID", "events about this machine, volume, key, build or webhook", 0},
    {"--since-seq", "SEQ", "events after this sequence number", 0},
    {"--limit", "N", "events per page (1-1000, default 100)", 0},
    {"--cursor", "SEQ", "continue after this event's seq", 0},
    {"--follow", NULL, "print new events as they happen (after --since-seq) until interrupted", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag wh_flags[] = {
    {"--url", "URL", "where deliveries go (http:// or https://)", 0},
    {"--event", "TYPE", "deliver this type or family (machine.*); repeat; default all", 1},
    {"--enable", NULL, "deliver (the default)", 0},
    {"--disable", NULL, "stop delivering (pending deliveries wait)", 0},
    {"--description", "TEXT", "a note on the endpoint", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag f_sign_flags[] = {
    {"--method", "GET|PUT", "what the URL allows (default GET)", 0},
    {"--expires-s", "SECONDS", "how long it is valid (default 3600)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag f_watch_flags[] = {
    {"--recursive", NULL, "watch the directories below too (new ones included)", 0},
    {"--count", "N", "stop after N events", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag shell_flags[] = {
    {"--cmd", "CMD", "run this instead of the login shell", 0},
    {"--attach", "PID|TAG", "attach to this running PTY session (its output replayed) instead", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag ssh_flags[] = {
    {"--user", "USER", "log in as USER (default: the machine's user, else root)", 0},
    {"--identity", "FILE",
     "use this private key (FILE.pub beside it; default: one made once "
     "in ~/.config/nullspace/ssh)",
     0},
    {"--ttl-s", "N", "the certificate lives N seconds (default 900, at most 3600)", 0},
    {"--print", NULL, "print the ssh command instead of running it", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag p_kill_flags[] = {
    {"--signal", "SIG", "any signal: TERM, INT, HUP, USR1, 9, ... (default KILL)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag p_stdin_flags[] = {
    {"--eof", NULL, "close the process's stdin after this input", 0}, {NULL, NULL, NULL, 0}};

static const struct cli_flag f_ls_flags[] = {
    {"--depth", "N", "descend N levels (1-32, default 1)", 0}, {NULL, NULL, NULL, 0}};
static const struct cli_flag f_write_flags[] = {
    {"--mode", "OCTAL", "permission bits (default 644)", 0},
    {"--from", "FILE", "read this local file instead of standard input", 0},
    {NULL, NULL, NULL, 0}};

static const struct cli_flag deploy_flags[] = {
    {"--name", "N", "the deployment's name (default: the manifest's, else the directory's)", 0},
    {"--job", NULL, "deploy it as a job (the default)", 0},
    {"--service", NULL, "deploy it as a service (nullspace.toml's [service] names its port)", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag d_run_flags[] = {
    {"--follow", NULL, "print the run's output until it ends; exit with its exit code", 0},
    {NULL, NULL, NULL, 0}};
static const struct cli_flag d_logs_flags[] = {
    {"--run", "ID", "this run's output (default: the newest run's)", 0},
    {"--follow", NULL, "keep printing until the run ends (a service's: until interrupted)", 0},
    {NULL, NULL, NULL, 0}};

const struct cli_cmd cli_cmds[] = {
    {"status", "", "Check that the daemon answers and the API key is accepted", no_flags,
     cmd_status},
    {"doctor", "[--state-dir DIR]",
     "Check this host and its daemon (runsc, cgroup v2, nftables, KVM, disk, the base "
     "template, leftover sandboxes): a verdict and a fix for each; exits 1 when one fails",
     doctor_flags, cmd_doctor},
    {"keys create", "[--name NAME] [--format e2b]", "Create an API key (its secret is shown once)",
     create_flags, cmd_keys_create},
    {"keys list", "[--limit N] [--cursor C]", "List API keys (secrets are never shown)", list_flags,
     cmd_keys_list},
    {"keys get", "ID", "Show one API key", no_flags, cmd_keys_get},
    {"secrets set", "NAME [--value V | --from-file F]",
     "Set a secret (sealed at rest; never shown again). Machines created with --secret NAME get "
     "it as the environment variable NAME",
     secret_set_flags, cmd_secrets_set},
    {"secrets list", "[--limit N] [--cursor C]", "List secrets (names and times; never values)",
     list_flags, cmd_secrets_list},
    {"secrets get", "NAME", "Show one secret's name and times", no_flags, cmd_secrets_get},
    {"secrets delete", "NAME",
     "Delete a secret (machines that have it keep it; new ones naming it are refused)", no_flags,
     cmd_secrets_delete},
    {"deploy", "DIR [--name N] [--job|--service]",
     "Deploy a project directory as a job or a service: its files (less what .gitignore and "
     ".nullspaceignore name) and nullspace.toml are built into a new revision, which goes live "
     "when its build is ready (a service's: when its health check passes)",
     deploy_flags, cmd_deploy},
    {"deployments list", "[--limit N] [--cursor C]", "List deployments", list_flags,
     cmd_deployments_list},
    {"deployments get", "NAME", "Show a deployment with its live and newest revisions", no_flags,
     cmd_deployments_get},
    {"deployments revisions", "NAME", "List a deployment's revisions, newest first", no_flags,
     cmd_deployments_revisions},
    {"deployments rollback", "NAME REVISION", "Make an earlier (ready) revision the live one",
     no_flags, cmd_deployments_rollback},
    {"deployments delete", "NAME",
     "Delete a deployment: its runs are cancelled, its machines destroyed, its logs and "
     "revisions removed",
     no_flags, cmd_deployments_delete},
    {"deployments run", "NAME [--follow]",
     "Start a run of a job; with --follow print its output as it comes and exit with its exit "
     "code",
     d_run_flags, cmd_deployments_run},
    {"deployments runs", "NAME", "List a job's runs, newest first", no_flags, cmd_deployments_runs},
    {"deployments logs", "NAME [--run ID] [--follow]",
     "Print a job run's output (the newest run's unless --run), kept after its machine is "
     "gone; for a service, its live machine's output",
     d_logs_flags, cmd_deployments_logs},
    {"deployments cancel", "NAME RUN",
     "Cancel a run under way, or destroy a failed run's retained machine now", no_flags,
     cmd_deployments_cancel},
    {"keys revoke", "ID", "Revoke an API key (the last active key cannot be revoked)", no_flags,
     cmd_keys_revoke},
    {"machines create", "[FLAGS]", "Create a machine and wait until it runs", m_create_flags,
     cmd_machines_create},
    {"machines list", "[--state S] [--limit N] [--cursor C]", "List machines", m_list_flags,
     cmd_machines_list},
    {"machines get", "ID", "Show one machine", no_flags, cmd_machines_get},
    {"code run", "ID [FLAGS] FILE|-",
     "Run code in a machine of the code-interpreter template, streaming its output; results' "
     "text on stdout, their images and HTML into --out; exits 1 when the code raised an error",
     code_run_flags, cmd_code_run},
    {"code interrupt", "ID CONTEXT", "Interrupt the run under way in a context", no_flags,
     cmd_code_interrupt},
    {"code contexts list", "ID", "List the code interpreter's contexts", no_flags,
     cmd_code_contexts_list},
    {"code contexts create", "ID [--language L] [--cwd DIR] [--env K=V]",
     "Start a context: an interpreter of its own whose state carries from run to run",
     code_ctx_flags, cmd_code_contexts_create},
    {"code contexts delete", "ID CONTEXT", "Stop a context and forget it", no_flags,
     cmd_code_contexts_delete},
    {"code contexts restart", "ID CONTEXT",
     "Give a context a fresh interpreter (its state is lost)", no_flags, cmd_code_contexts_restart},
    {"code runs start", "ID [FLAGS] FILE|-",
     "Start a run and print its ID at once (the code finds $NULLSPACE_ARTIFACTS_DIR)",
     code_start_flags, cmd_code_runs_start},
    {"code runs list", "ID", "List the machine's asynchronous runs, newest first", no_flags,
     cmd_code_runs_list},
    {"code runs get", "ID RUN [--wait]",
     "Show a run: its output, results' text, error and state; exits 1 when it failed or was "
     "cancelled",
     code_get_flags, cmd_code_runs_get},
    {"code runs cancel", "ID RUN", "Cancel a run (queued: never starts; running: interrupted)",
     no_flags, cmd_code_runs_cancel},
    {"code runs delete", "ID RUN", "Forget an ended run and delete its artifacts", no_flags,
     cmd_code_runs_delete},
    {"code artifacts list", "ID RUN", "List a run's artifacts", no_flags, cmd_code_artifacts_list},
    {"code artifacts get", "ID RUN ARTIFACT [--out FILE]", "Download an artifact",
     code_artifact_flags, cmd_code_artifacts_get},
    {"desktop screenshot", "ID [--out FILE] [--format F] [--region X,Y,W,H] [--scale F] [--cursor]",
     "Save a screenshot of a desktop machine (PNG or JPEG)", d_shot_flags, cmd_desktop_screenshot},
    {"desktop screen", "ID", "Show the screen's size (WIDTHxHEIGHTxDEPTH)", no_flags,
     cmd_desktop_screen},
    {"desktop cursor", "ID", "Show where the mouse pointer is (X Y)", no_flags, cmd_desktop_cursor},
    {"desktop move", "ID X Y", "Move the mouse pointer", no_flags, cmd_desktop_move},
    {"desktop click", "ID [X Y] [--button B] [--double]",
     "Click (at X Y, or where the pointer is); prints where the pointer is after", d_click_flags,
     cmd_desktop_click},
    {"desktop drag", "ID X Y TO_X TO_Y [--button B]", "Drag with a button held", d_button_flags,
     cmd_desktop_drag},
    {"desktop scroll", "ID [X Y] [--direction D] [--amount N]", "Turn the mouse wheel",
     d_scroll_flags, cmd_desktop_scroll},
    {"desktop type", "ID TEXT|- [--delay-ms MS]", "Type text (any Unicode) into the focused window",
     d_delay_flags, cmd_desktop_type},
    {"desktop key", "ID KEYS... [--delay-ms MS]",
     "Press keys or combinations one after another (ctrl+shift+t enter)", d_delay_flags,
     cmd_desktop_key},
    {"desktop windows", "ID", "List the application windows", no_flags, cmd_desktop_windows},
    {"desktop focus", "ID WINDOW", "Raise and focus a window", no_flags, cmd_desktop_focus},
    {"desktop close", "ID WINDOW", "Ask a window to close", no_flags, cmd_desktop_close},
    {"desktop clipboard", "ID [--set TEXT|-]", "Print the clipboard's text, or set it",
     d_clip_flags, cmd_desktop_clipboard},
    {"desktop launch", "ID (--app NAME | -- COMMAND...) [--wait-s N]",
     "Start an application in the desktop session", d_launch_flags, cmd_desktop_launch},
    {"desktop resize", "ID WIDTH HEIGHT",
     "Change the screen's size (320x240 to 3840x2160); windows stay open", no_flags,
     cmd_desktop_resize},
    {"desktop record start", "ID [--fps N]",
     "Start recording the screen to an MP4 kept on the host; prints the recording's ID",
     d_record_flags, cmd_desktop_record_start},
    {"desktop record stop", "ID REC", "Stop a recording (waits until its file is complete)",
     no_flags, cmd_desktop_record_stop},
    {"desktop record list", "ID", "List a machine's recordings, newest first", no_flags,
     cmd_desktop_record_list},
    {"desktop record get", "ID REC", "Show a recording", no_flags, cmd_desktop_record_get},
    {"desktop record download", "ID REC --out FILE", "Download a recording's MP4", d_out_flags,
     cmd_desktop_record_download},
    {"desktop record delete", "ID REC", "Delete a recording and its file", no_flags,
     cmd_desktop_record_delete},
    {"desktop viewer", "ID [--view-only] [--expires-in SECONDS]",
     "Print a URL that shows the desktop in a browser (noVNC), to watch or take over",
     d_viewer_flags, cmd_desktop_viewer},
    {"machines exec", "ID [FLAGS] -- CMD [ARGS...]",
     "Run a command in a machine; exits with the command's exit code", m_exec_flags,
     cmd_machines_exec},
    {"machines metrics", "ID [--since MS]",
     "Show a machine's CPU, memory and disk use now, or its samples since a time", m_metrics_flags,
     cmd_machines_metrics},
    {"machines events", "ID [--limit N] [--cursor SEQ]", "Show a machine's lifecycle events",
     m_events_flags, cmd_machines_events},
    {"machines timeout", "ID SECONDS", "Move a machine's deadline (0 = none)", no_flags,
     cmd_machines_timeout},
    {"machines destroy", "ID", "Destroy a machine (waits until nothing is left)", no_flags,
     cmd_machines_destroy},
    {"machines hibernate", "ID", "Checkpoint a machine and stop its sandbox", no_flags,
     cmd_machines_hibernate},
    {"machines resume", "ID", "Resume a paused or hibernated machine where it stopped", no_flags,
     cmd_machines_resume},
    {"machines pause", "ID",
     "Pause a running machine in memory (processes, sessions and connections wait; resume "
     "or any request continues it in milliseconds)",
     no_flags, cmd_machines_pause},
    {"machines network",
     "ID [--internet|--no-internet] [--allow-out X] [--deny-out X] [--[no-]public-all]",
     "Show or change a machine's address and egress policy", m_network_flags, cmd_machines_network},
    {"machines preview", "ID PORT [--expires-s N] [--public|--private]",
     "Print a signed URL that reaches PORT of the machine", m_preview_flags, cmd_machines_preview},
    {"machines connect", "ID",
     "Print how to reach a machine: shell, SSH, exec and preview URLs of its listening ports",
     no_flags, cmd_machines_connect},
    {"machines fork", "ID [--count N] [--metadata K=V]",
     "Branch a running machine into N independent children", m_fork_flags, cmd_machines_fork},
    {"shell", "ID [--cmd CMD | --attach PID|TAG]",
     "Open an interactive terminal in a machine (a PTY session; exits with its exit code)",
     shell_flags, cmd_shell},
    {"ssh", "ID [FLAGS] [-- SSH-ARGS...]",
     "SSH into a machine with OpenSSH (a short-lived certificate, through the daemon; scp, "
     "sftp and -L/-R work with the same ProxyCommand)",
     ssh_flags, cmd_ssh},
    {"ssh-proxy", "ID",
     "Relay stdin/stdout to the machine's sshd through the daemon (OpenSSH's ProxyCommand: "
     "ssh -o ProxyCommand='nullspace ssh-proxy %h' root@ID)",
     no_flags, cmd_ssh_proxy},
    {"mcp", "",
     "Serve the Model Context Protocol on stdio: tools to create, list, exec in, read and "
     "write files of, hibernate, resume, fork and destroy machines",
     no_flags, cmd_mcp},
    {"processes list", "ID", "List a machine's background and PTY processes", no_flags,
     cmd_processes_list},
    {"processes start", "ID [FLAGS] -- CMD [ARGS...]",
     "Start a background process (it outlives this command; prints its PID)", p_start_flags,
     cmd_processes_start},
    {"processes logs", "ID PID|TAG", "Print a process's buffered output (the last MiB)", no_flags,
     cmd_processes_logs},
    {"processes kill", "ID PID|TAG [--signal SIG]", "Send a signal to a process", p_kill_flags,
     cmd_processes_kill},
    {"processes resize", "ID PID|TAG COLS ROWS", "Resize a PTY session", no_flags,
     cmd_processes_resize},
    {"processes stdin", "ID PID|TAG [--eof]", "Send our standard input to a process", p_stdin_flags,
     cmd_processes_stdin},
    {"snapshots create", "MACHINE [--name NAME]",
     "Capture a machine's memory, processes and files (it runs on)", s_create_flags,
     cmd_snapshots_create},
    {"snapshots list", "[--limit N] [--cursor C]", "List snapshots", list_flags,
     cmd_snapshots_list},
    {"snapshots get", "ID", "Show one snapshot", no_flags, cmd_snapshots_get},
    {"snapshots delete", "ID", "Delete a snapshot no machine was spawned from", no_flags,
     cmd_snapshots_delete},
    {"events", "[--type T] [--subject ID] [--since-seq SEQ] [--follow]",
     "Show the lifecycle log: what happened to machines, snapshots, builds, volumes, keys and "
     "webhooks, why (reason) and at whose request (key_id)",
     events_flags, cmd_events},
    {"webhooks create", "URL [--event TYPE]... [--description TEXT] [--disable]",
     "Deliver events to URL, signed (Standard Webhooks); prints the secret once", wh_flags,
     cmd_webhooks_create},
    {"webhooks list", "[--limit N] [--cursor C]", "List webhooks", list_flags, cmd_webhooks_list},
    {"webhooks get", "ID", "Show one webhook", no_flags, cmd_webhooks_get},
    {"webhooks update", "ID [--url URL] [--event TYPE]... [--enable|--disable]",
     "Change a webhook's target, event filter or state", wh_flags, cmd_webhooks_update},
    {"webhooks delete", "ID", "Delete a webhook and its delivery log", no_flags,
     cmd_webhooks_delete},
    {"webhooks test", "ID", "Send a webhook.ping event to the webhook", no_flags,
     cmd_webhooks_test},
    {"webhooks rotate-secret", "ID", "Give a webhook a new secret (printed once)", no_flags,
     cmd_webhooks_rotate},
    {"webhooks deliveries", "ID [--limit N] [--cursor C]",
     "Show a webhook's deliveries, newest first, with their attempts", list_flags,
     cmd_webhooks_deliveries},
    {"webhooks redeliver", "ID DELIVERY", "Send a delivery again (the same webhook-id)", no_flags,
     cmd_webhooks_redeliver},
    {"volumes create", "NAME [--size-mb MB] [--metadata K=V]",
     "Create a volume: a filesystem machines mount (machines create --volume) and that "
     "outlives them; its files: the files commands with volume:NAME",
     v_create_flags, cmd_volumes_create},
    {"volumes list", "[--limit N] [--cursor C]", "List volumes", list_flags, cmd_volumes_list},
    {"volumes get", "ID|NAME", "Show a volume, its usage and the machines that mount it", no_flags,
     cmd_volumes_get},
    {"volumes delete", "ID|NAME", "Delete a volume no machine mounts, and its files", no_flags,
     cmd_volumes_delete},
    {"volumes upload", "ID|NAME LOCAL REMOTE",
     "Copy a local file (a resumable upload, SHA-256 checked) or directory (a tar stream) "
     "into a volume",
     no_flags, cmd_volumes_upload},
    {"volumes download", "ID|NAME REMOTE LOCAL",
     "Copy a volume's file, or directory (a tar stream), to the local LOCAL", no_flags,
     cmd_volumes_download},
    {"templates build",
     "--name NAME[:TAG] [--dockerfile FILE] [--context DIR] [--ready-cmd CMD] [--start-cmd CMD]",
     "Build a template in machines, printing its log; machines then start from its snapshot",
     t_build_flags, cmd_templates_build},
    {"templates list", "[--limit N] [--cursor C]", "List templates (one row per name:tag)",
     list_flags, cmd_templates_list},
    {"templates get", "NAME[:TAG]", "Show one template", no_flags, cmd_templates_get},
    {"templates delete", "NAME[:TAG]",
     "Delete a template name (its build too when nothing else uses it)", no_flags,
     cmd_templates_delete},
    {"templates alias", "NAME[:TAG] NEW[:TAG]", "Give a template another name or tag", no_flags,
     cmd_templates_alias},
    {"templates logs", "BUILD [--follow]", "Print a build's log", t_logs_flags, cmd_templates_logs},
    {"templates cancel", "BUILD", "Cancel a running build (its machine is destroyed)", no_flags,
     cmd_templates_cancel},
    {"templates pool", "NAME[:TAG] --size N",
     "Keep N machines of the template ready (a warm pool); creates take one", t_pool_flags,
     cmd_templates_pool},
    {"templates prune", "[--older-than-s N]",
     "Free the disk old builds hold: build cache, uploads, unused images and layers", t_prune_flags,
     cmd_templates_prune},
    {"files watch", "TARGET DIR [--recursive] [--count N]",
     "Print a directory's file events as they happen (create, modify, delete, rename)",
     f_watch_flags, cmd_files_watch},
    {"files sign", "TARGET PATH [--method GET|PUT] [--expires-s N]",
     "Print a signed URL that reads (or writes) one file without an API key", f_sign_flags,
     cmd_files_sign},
    {"files read", "TARGET PATH",
     "Write a file of a machine or volume (TARGET: m_..., v_... or volume:NAME) to standard "
     "output",
     no_flags, cmd_files_read},
    {"files write", "TARGET PATH [--mode OCTAL] [--from FILE]",
     "Write standard input (or --from FILE) to a file of the machine or volume", f_write_flags,
     cmd_files_write},
    {"files upload", "TARGET LOCAL REMOTE",
     "Copy a local file (a resumable upload: a dropped connection goes on where it stopped; "
     "SHA-256 checked) or directory (a tar stream) to a machine or volume",
     no_flags, cmd_files_upload},
    {"files download", "TARGET REMOTE LOCAL",
     "Copy a file, or a directory (a tar stream, unpacked with tar), of a machine or volume "
     "to LOCAL",
     no_flags, cmd_files_download},
    {"files ls", "TARGET PATH [--depth N]", "List a directory of a machine or volume", f_ls_flags,
     cmd_files_ls},
    {"files stat", "TARGET PATH", "Show a path's type, mode and size", no_flags, cmd_files_stat},
    {"files rm", "TARGET PATH", "Remove a file or directory tree", no_flags, cmd_files_rm},
    {"files chmod", "TARGET PATH MODE", "Set a path's permission bits (octal, like 755)", no_flags,
     cmd_files_chmod},
    {"files mkdir", "TARGET PATH", "Create a directory (with parents)", no_flags, cmd_files_mkdir},
    {"files mv", "TARGET FROM TO", "Rename or move a path", no_flags, cmd_files_mv},
    {"schema", "", "Print every command, flag and exit code as JSON", no_flags, cmd_schema},
    {"skills install", "[--claude] [--codex] [--dir DIR]",
     "Write the Nullspace skill (SKILL.md and a reference of every command and MCP tool) where "
     "coding agents read skills (no flag: Claude Code's and Codex's)",
     skills_flags, cmd_skills_install},
};
const size_t cli_ncmds = ARRAY_SIZE(cli_cmds);

/* Prints "  NAME  TEXT" with NAME padded to `col` and TEXT wrapped at 80 columns under
 * itself: a help table whose second column lines up however long a verb is. */
static void help_row(FILE *f, const char *name, int col, const char *text)
{
        int indent = col + 4, width = 80 - indent;
        fprintf(f, "  %-*s  ", col, name);
        if (width < 30)
                width = 30;
        while (*text) {
                int n = (int)strlen(text);
                if (n > width) {
                        n = width;
                        while (n > 0 && text[n] != ' ')
                                n--;
                        if (n == 0)
                                n = width;
                }
                fprintf(f, "%.*s\n", n, text);
                text += n;
                while (*text == ' ')
                        text++;
                if (*text)
                        fprintf(f, "%*s", indent, "");
        }
}

/* "--name ARG" of a flag (static storage: one call per use). */
static const char *flag_usage(const struct cli_flag *f)
{
        static char out[64];
        snprintf(out, sizeof(out), "%s%s%s", f->name, f->arg ? " " : "", f->arg ? f->arg : "");
        return out;
}

static int flags_width(const struct cli_flag *flags)
{
        int w = 0;
        for (const struct cli_flag *g = flags; g->name; g++) {
                int n = (int)strlen(flag_usage(g));
                w = n > w ? n : w;
        }
        return w;
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: nullspace [GLOBAL FLAGS] COMMAND [ARGS]\n\nCommands:\n");
        int col = 0;
        for (size_t i = 0; i < cli_ncmds; i++) {
                int n = (int)strlen(cli_cmds[i].name);
                col = n > col ? n : col;
        }
        for (size_t i = 0; i < cli_ncmds; i++)
                help_row(f, cli_cmds[i].name, col, cli_cmds[i].summary);
        fprintf(f, "\nGlobal flags:\n");
        col = flags_width(cli_global_flags);
        for (const struct cli_flag *g = cli_global_flags; g->name; g++)
                help_row(f, flag_usage(g), col, g->help);
        fprintf(f, "\nConfiguration precedence: flags > NULLSPACE_API_URL / NULLSPACE_API_KEY > "
                   "config file\n(api_url = ..., api_key = ...) > defaults (the local daemon; "
                   "its key file\n/var/lib/nullspace/api-key when readable).\n"
                   "Exit codes: docs/cli-exit-codes.md, or `nullspace schema`.\n");
}

static void cmd_help(const struct cli_cmd *cmd)
{
        printf("Usage: nullspace %s %s\n\n%s\n", cmd->name, cmd->args ? cmd->args : "",
               cmd->summary);
        if (cmd->flags && cmd->flags[0].name) {
                printf("\nFlags:\n");
                int col = flags_width(cmd->flags);
                for (const struct cli_flag *f = cmd->flags; f->name; f++)
                        help_row(stdout, flag_usage(f), col, f->help);
        }
        printf("\nGlobal flags (--json, --api-url, ...): nullspace --help\n");
}

/* Consumes global flags wherever they appear; returns the remaining argc or -exit. */
static int take_globals(struct cli *c, int argc, char **argv)
{
        int out = 0;
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        while (i < argc)
                                argv[out++] = argv[i++];
                        break;
                }
                if (strcmp(a, "--json") == 0) {
                        c->json = 1;
                        continue;
                }
                const char *val = NULL;
                const char *names[] = {"--api-url", "--api-key", "--config", "--timeout"};
                int which = -1;
                for (int k = 0; k < 4; k++) {
                        size_t n = strlen(names[k]);
                        if (strncmp(a, names[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                                which = k;
                                val = a[n] == '=' ? a + n + 1 : NULL;
                        }
                }
                if (which < 0) {
                        argv[out++] = argv[i];
                        continue;
                }
                if (!val) {
                        if (i + 1 >= argc)
                                return -cli_usage_error(NULL, "%s needs a value", names[which]);
                        val = argv[++i];
                }
                if (which == 0) {
                        snprintf(c->api_url, sizeof(c->api_url), "%s", val);
                        c->url_from = "flag";
                } else if (which == 1) {
                        snprintf(c->api_key, sizeof(c->api_key), "%s", val);
                        c->key_from = "flag";
                } else if (which == 2) {
                        c->config_path = val;
                } else {
                        char *end;
                        c->timeout_s = strtod(val, &end);
                        c->timeout_set = 1;
                        if (*end || c->timeout_s <= 0 || c->timeout_s > 86400)
                                return -cli_usage_error(NULL, "--timeout needs seconds (0-86400]");
                }
        }
        return out;
}

int main(int argc, char **argv)
{
        struct cli c = {.timeout_s = 30};
        int n = take_globals(&c, argc - 1, argv + 1);
        if (n < 0)
                return -n;
        char **args = argv + 1;
        if (n == 0 || strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0 ||
            strcmp(args[0], "help") == 0) {
                usage(n == 0 ? stderr : stdout);
                return n == 0 ? ns_code_def(NS_E_USAGE)->exit_code : 0;
        }
        if (strcmp(args[0], "--version") == 0) {
                printf("nullspace 0.1.0\n");
                return 0;
        }
        /* commands are one to three words: "status", "keys create", "code contexts list" */
        const struct cli_cmd *cmd = NULL;
        int used = 0;
        char words[192] = "";
        while (!cmd && used < 3 && used < n) {
                size_t len = strlen(words);
                snprintf(words + len, sizeof(words) - len, "%s%s", used ? " " : "", args[used]);
                used++;
                cmd = cli_find(words);
        }
        if (!cmd)
                return cli_usage_error(NULL, "unknown command '%s' (see nullspace --help)",
                                       args[0]);
        for (int i = used; i < n; i++) {
                if (strcmp(args[i], "--") == 0)
                        break;
                if (strcmp(args[i], "--help") == 0 || strcmp(args[i], "-h") == 0) {
                        cmd_help(cmd);
                        return 0;
                }
        }
        int r = cli_config_resolve(&c);
        if (r)
                return r;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        r = cmd->run(&c, n - used, args + used);
        curl_global_cleanup();
        return r;
}
