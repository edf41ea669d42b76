/* nullspace secrets set|list|get|delete */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/cleanup.h"
#include "../common/util.h"
#include "cli.h"

#define VALUE_MAX (64u << 10) /* the daemon's limit of one value */

static void secret_row(const json_t *s)
{
        time_t t = (time_t)(json_integer_value(json_object_get(s, "updated_at")) / 1000);
        char when[32] = "";
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime(&t));
        printf("%-40s %s\n", json_string_value(json_object_get(s, "name")), when);
}

static void show_list(const json_t *d)
{
        printf("%-40s %s\n", "NAME", "UPDATED (UTC)");
        cli_print_rows(d, "secrets", secret_row);
}

static void show_set(const json_t *d)
{
        printf("set secret %s\n", json_string_value(json_object_get(d, "name")));
}

/* The value: --value, else the file (--from-file, "-" by default: standard input) less
 * one trailing newline; NULL after a usage error (status in *ret). */
static char *read_value(const struct cli_cmd *cmd, const char *value, const char *file, int *ret)
{
        if (value && file) {
                *ret = cli_usage_error(cmd, "give --value or --from-file, not both");
                return NULL;
        }
        if (value)
                return strdup(value);
        size_t len;
        char *s = cli_read_path(file ? file : "-", VALUE_MAX, &len);
        if (!s) {
                *ret = errno == E2BIG
                           ? cli_usage_error(cmd, "the value is over 64 KiB")
                           : cli_usage_error(cmd, "cannot read %s: %s",
                                             file ? file : "standard input", strerror(errno));
                return NULL;
        }
        if (strlen(s) != len) {
                free(s);
                *ret = cli_usage_error(cmd, "the value contains a NUL byte");
                return NULL;
        }
        if (len && s[len - 1] == '\n')
                s[--len] = 0;
        if (len && s[len - 1] == '\r')
                s[--len] = 0;
        return s;
}

int cmd_secrets_set(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("secrets set");
        const char *v[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos == 0)
                return cli_usage_error(cmd, "NAME is missing");
        if (npos > 1)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
        if ((r = cli_secret_name_arg(cmd, argv[0])))
                return r;
        char *value = read_value(cmd, v[0], v[1], &r);
        if (!value)
                return r;
        char path[192];
        snprintf(path, sizeof(path), "/v1/secrets/%s", argv[0]);
        json_t *body = json_pack("{s:s}", "value", value);
        explicit_bzero(value, strlen(value));
        free(value);
        return cli_call(c, "PUT", path, body, show_set);
}

int cmd_secrets_list(struct cli *c, int argc, char **argv)
{
        return cli_list_cmd(c, "secrets list", "/v1/secrets", argc, argv, show_list);
}

int cmd_secrets_get(struct cli *c, int argc, char **argv)
{
        return cli_secret_cmd(c, "secrets get", "GET", NULL, argc, argv, secret_row);
}

int cmd_secrets_delete(struct cli *c, int argc, char **argv)
{
        return cli_secret_cmd(c, "secrets delete", "DELETE", "deleted", argc, argv, NULL);
}
