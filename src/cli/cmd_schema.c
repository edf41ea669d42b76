/* nullspace schema: machine-readable description of every command, its flags and
 * the exit codes, for agents and completion scripts. */
#include <stdio.h>

#include "cli.h"

static json_t *flags_json(const struct cli_flag *f)
{
        json_t *arr = json_array();
        for (; f && f->name; f++)
                json_array_append_new(arr, json_pack("{s:s,s:s?,s:s}", "name", f->name, "value",
                                                     f->arg, "help", f->help));
        return arr;
}

extern const struct cli_flag cli_global_flags[];

int cmd_schema(struct cli *c, int argc, char **argv)
{
        (void)c;
        (void)argv;
        if (argc > 0)
                return cli_usage_error(cli_find("schema"), "schema takes no arguments");
        json_t *cmds = json_array();
        for (size_t i = 0; i < cli_ncmds; i++) {
                const struct cli_cmd *k = &cli_cmds[i];
                json_array_append_new(cmds, json_pack("{s:s,s:s,s:s,s:o}", "name", k->name, "args",
                                                      k->args ? k->args : "", "summary", k->summary,
                                                      "flags", flags_json(k->flags)));
        }
        json_t *codes = json_array();
        for (unsigned i = 0; i < NS_E_COUNT; i++) {
                const struct ns_code_def *d = ns_code_def((enum ns_code)i);
                json_array_append_new(codes,
                                      json_pack("{s:s,s:i,s:s}", "code", d->name, "exit_code",
                                                d->exit_code, "meaning", d->meaning));
        }
        json_t *doc = json_pack("{s:s,s:s,s:o,s:o,s:o}", "program", "nullspace", "version", "0.1.0",
                                "global_flags", flags_json(cli_global_flags), "commands", cmds,
                                "exit_codes", codes);
        cli_print_json(doc);
        json_decref(doc);
        return 0;
}
