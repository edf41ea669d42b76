/* nullspace skills install: writes the Nullspace skill (SKILL.md, what Nullspace is and
 * how to use it, and reference.md, every command, flag, exit code and MCP tool, made
 * from the same tables as `nullspace schema` and `nullspace mcp`) where coding agents
 * read skills: Claude Code's and Codex's skill directories, or a directory given. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/secret.h"
#include "../common/util.h"
#include "cli.h"

#define SKILL_MAX (1u << 20)

static const char skill_head[] =
    "---\n"
    "name: nullspace\n"
    "description: Create and use isolated Linux machines (sandboxes) through the nullspace "
    "CLI or its MCP server - run commands, read and write files, run code, fork, hibernate, "
    "snapshot, share a port through a preview URL, drive a desktop. Use it when a task needs "
    "a throwaway or long-lived Linux environment, untrusted code run safely, or several "
    "experiments side by side.\n"
    "---\n\n"
    "# Nullspace\n\n"
    "Nullspace gives you machines: isolated Linux environments (gVisor sandboxes or QEMU "
    "VMs, Debian 12, root inside) that a self-hosted daemon runs. You create one, run "
    "commands and read or write files in it, and destroy it; in between it can be paused, "
    "hibernated to disk and resumed, forked into independent copies with all their state, "
    "or snapshotted to start new machines from.\n\n"
    "## Before you start\n\n"
    "- The CLI finds the daemon through `NULLSPACE_API_URL` (default "
    "`http://127.0.0.1:7700`) and authenticates with `NULLSPACE_API_KEY`. `nullspace "
    "status` checks both.\n"
    "- Add `--json` to any command for machine-readable output; errors are then "
    "`{\"error\":{\"code\",\"message\"}}` and the exit code names their class (see "
    "reference.md).\n"
    "- Machines are destroyed at their deadline (`--timeout-s`, default 300 s; 0 = never). "
    "Destroy what you create when you are done.\n"
    "- Never print a secret. Keys the user stored with `nullspace secrets set NAME` reach a "
    "machine as `$NAME` with `machines create --secret NAME`.\n\n"
    "## Quick start\n\n"
    "```sh\n"
    "ID=$(nullspace machines create --timeout-s 600 | awk '{print $1}')\n"
    "nullspace machines exec \"$ID\" -- python3 -c 'print(6 * 7)'\n"
    "echo 'hello' | nullspace files write \"$ID\" /root/hello.txt\n"
    "nullspace files read \"$ID\" /root/hello.txt\n"
    "nullspace machines destroy \"$ID\"\n"
    "```\n\n"
    "## Commands you will use most\n\n";

/* The commands the skill lists first, in this order (all are in reference.md). */
static const char *const common[] = {
    "machines create", "machines exec",      "files write",      "files read",
    "files upload",    "files download",     "machines fork",    "machines hibernate",
    "machines resume", "snapshots create",   "machines preview", "processes start",
    "code run",        "desktop screenshot", "secrets list",     "templates list",
    "volumes create",  "machines list",      "machines destroy",
};

static const char skill_tail[] =
    "\n## Templates\n\n"
    "`machines create --template NAME` starts from a template: `code-interpreter` (Python, "
    "R, JavaScript, TypeScript, Java and Bash contexts for `code run`), `desktop` (a screen, "
    "mouse and keyboard: `desktop screenshot`, `desktop click`, ...), agent workspaces "
    "(`codex`, `claude-code`, `opencode`, `amp`), `node` (Node.js 22 and npm), or one "
    "built with `templates build`. "
    "`templates list` shows what exists.\n\n"
    "## MCP\n\n"
    "`nullspace mcp` is an MCP server on stdio with the same abilities as tools (listed in "
    "reference.md). Claude Code: `claude mcp add nullspace -- nullspace mcp`. Codex: add "
    "`[mcp_servers.nullspace]` with `command = \"nullspace\"` and `args = [\"mcp\"]` to "
    "`~/.codex/config.toml`.\n\n"
    "Every command, flag, exit code and MCP tool: [reference.md](reference.md) (made from "
    "`nullspace schema`, which prints the same as JSON).\n";

static void flags_md(struct buf *b, const struct cli_flag *f)
{
        for (; f && f->name; f++)
                buf_printf(b, "  - `%s%s%s`: %s\n", f->name, f->arg ? " " : "",
                           f->arg ? f->arg : "", f->help);
}

static void usage_line(struct buf *b, const struct cli_cmd *k)
{
        buf_printf(b, "- `nullspace %s%s%s`: %s\n", k->name, k->args && *k->args ? " " : "",
                   k->args ? k->args : "", k->summary);
}

static char *skill_md(void)
{
        struct buf b;
        buf_init(&b, SKILL_MAX);
        buf_append_str(&b, skill_head);
        for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
                const struct cli_cmd *k = cli_find(common[i]);
                if (k)
                        usage_line(&b, k);
        }
        buf_append_str(&b, skill_tail);
        return b.data;
}

extern const struct cli_flag cli_global_flags[];

static char *reference_md(void)
{
        struct buf b;
        buf_init(&b, SKILL_MAX);
        buf_append_str(&b, "# nullspace reference\n\nGenerated from the CLI's own tables "
                           "(`nullspace schema` prints the same as JSON).\n\n"
                           "## Global flags\n\n");
        flags_md(&b, cli_global_flags);
        buf_append_str(&b, "\n## Commands\n\n");
        for (size_t i = 0; i < cli_ncmds; i++) {
                usage_line(&b, &cli_cmds[i]);
                flags_md(&b, cli_cmds[i].flags);
        }
        buf_append_str(&b, "\n## Exit codes and error codes\n\n");
        for (unsigned i = 0; i < NS_E_COUNT; i++) {
                const struct ns_code_def *d = ns_code_def((enum ns_code)i);
                buf_printf(&b, "- `%s` (exit %d): %s\n", d->name, d->exit_code, d->meaning);
        }
        buf_append_str(&b, "\n## MCP tools (`nullspace mcp`)\n\n");
        const struct cli_mcp_tool *t;
        for (size_t i = 0; (t = cli_mcp_tool_at(i)); i++)
                buf_printf(&b, "- `%s`: %s\n", t->name, t->description);
        return b.data;
}

/* Writes SKILL.md and reference.md into ROOT/nullspace and adds that directory to
 * done: 0, or 1 after printing why. */
static int write_skill(const char *root, const char *skill, const char *ref, json_t *done)
{
        char dir[4096], path[4200];
        struct err e = {0};
        snprintf(dir, sizeof(dir), "%s/nullspace", root);
        int r = mkdir_p(dir, 0755);
        if (r < 0) {
                fprintf(stderr, "nullspace: cannot make %s: %s\n", dir, strerror(-r));
                return 1;
        }
        snprintf(path, sizeof(path), "%s/SKILL.md", dir);
        r = write_file_atomic(path, skill, strlen(skill), 0644, &e);
        snprintf(path, sizeof(path), "%s/reference.md", dir);
        if (r == 0)
                r = write_file_atomic(path, ref, strlen(ref), 0644, &e);
        if (r < 0) {
                fprintf(stderr, "nullspace: %s\n", e.msg);
                return 1;
        }
        json_array_append_new(done, json_string(dir));
        return 0;
}

/* Where an agent reads skills: $VAR/skills when VAR is set, else ~/DOT/skills. */
static void agent_dir(const char *var, const char *dot, char *out, size_t cap)
{
        const char *v = getenv(var), *home = getenv("HOME");
        if (v && *v)
                snprintf(out, cap, "%s/skills", v);
        else
                snprintf(out, cap, "%s/%s/skills", home && *home ? home : ".", dot);
}

static void show_installed(const json_t *d)
{
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(d, "installed"), i, v)
        {
                printf("installed the nullspace skill in %s\n", json_string_value(v));
        }
}

int cmd_skills_install(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("skills install");
        const char *v[3] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        int all = !v[0] && !v[1] && !v[2];
        char *skill = skill_md(), *ref = reference_md();
        json_t *done = json_array();
        char dir[4096];
        if (!skill || !ref)
                r = 1;
        if (!r && (all || v[0])) {
                agent_dir("CLAUDE_CONFIG_DIR", ".claude", dir, sizeof(dir));
                r = write_skill(dir, skill, ref, done);
        }
        if (!r && (all || v[1])) {
                agent_dir("CODEX_HOME", ".codex", dir, sizeof(dir));
                r = write_skill(dir, skill, ref, done);
        }
        if (!r && v[2])
                r = write_skill(v[2], skill, ref, done);
        free(skill);
        free(ref);
        json_t *doc = json_pack("{s:o}", "installed", done);
        if (!r && c->json)
                cli_print_json(doc);
        else if (!r)
                show_installed(doc);
        json_decref(doc);
        return r;
}
