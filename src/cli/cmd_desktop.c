/* nullspace desktop ...: the desktop of machines from the desktop template
 * (docs/desktop.md): screenshots, mouse and keyboard input, windows, the clipboard and
 * launching applications. Each verb is one request to /v1/machines/ID/desktop/...; the
 * daemon and the machine check the values (the CLI only checks their form). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TEXT_MAX (1u << 20) /* typed text or clipboard text from stdin */

/* path = /v1/machines/ID/desktop/SUFFIX for the machine ID in argv[0]. */
static int desktop_path(const struct cli_cmd *cmd, int npos, char **argv, const char *suffix,
                        char *path, size_t cap)
{
        int r;
        const char *id = cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        snprintf(path, cap, "/v1/machines/%s/desktop/%s", id, suffix);
        return 0;
}

/* argv[i] as a whole number into body[field]. */
static int int_arg(const struct cli_cmd *cmd, json_t *body, const char *field, const char *v)
{
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 0 || n > 1000000)
                return cli_usage_error(cmd, "%s: '%s' is not a whole number", field, v);
        json_object_set_new(body, field, json_integer(n));
        return 0;
}

/* The optional "X Y" after the machine ID (npos 1 or 3) into body. */
static int point_args(const struct cli_cmd *cmd, int npos, char **argv, json_t *body)
{
        if (npos != 1 && npos != 3)
                return cli_usage_error(cmd, "expected a machine ID, then X Y or nothing");
        if (npos == 3)
                return int_arg(cmd, body, "x", argv[1]) ?: int_arg(cmd, body, "y", argv[2]);
        return 0;
}

static void show_point(const json_t *doc)
{
        printf("%lld %lld\n", (long long)json_integer_value(json_object_get(doc, "x")),
               (long long)json_integer_value(json_object_get(doc, "y")));
}

/* A POST of body to the desktop's `suffix`, shown with show; body freed. */
static int post(struct cli *c, const struct cli_cmd *cmd, int npos, char **argv, const char *suffix,
                json_t *body, void (*show)(const json_t *doc))
{
        char path[160];
        int r = desktop_path(cmd, npos, argv, suffix, path, sizeof(path));
        if (r) {
                json_decref(body);
                return r;
        }
        return cli_call(c, "POST", path, body, show);
}

int cmd_desktop_cursor(struct cli *c, int argc, char **argv)
{
        return cli_machine_cmd(c, "desktop cursor", "GET", "/desktop/mouse", argc, argv,
                               show_point);
}

static int button_flag(const struct cli_cmd *cmd, const char *v, json_t *body)
{
        if (!v)
                return 0;
        if (strcmp(v, "left") && strcmp(v, "middle") && strcmp(v, "right"))
                return cli_usage_error(cmd, "--button takes left, middle or right");
        json_object_set_new(body, "button", json_string(v));
        return 0;
}

int cmd_desktop_click(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop click");
        const char *v[3] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        json_t *body = json_object();
        if ((r = point_args(cmd, npos, argv, body)) || (r = button_flag(cmd, v[0], body)) ||
            (r = cli_set_int(cmd, body, "clicks", "--clicks", v[2]))) {
                json_decref(body);
                return r;
        }
        if (v[1])
                json_object_set_new(body, "double", json_true());
        return post(c, cmd, npos, argv, "mouse/click", body, show_point);
}

int cmd_desktop_move(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop move");
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r)
                return r;
        if (npos != 3)
                return cli_usage_error(cmd, "expected a machine ID, X and Y");
        json_t *body = json_object();
        if ((r = point_args(cmd, npos, argv, body))) {
                json_decref(body);
                return r;
        }
        return post(c, cmd, npos, argv, "mouse/move", body, show_point);
}

int cmd_desktop_drag(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop drag");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos != 5)
                return cli_usage_error(cmd, "expected a machine ID, X Y and TO_X TO_Y");
        json_t *body = json_object();
        if ((r = int_arg(cmd, body, "x", argv[1])) || (r = int_arg(cmd, body, "y", argv[2])) ||
            (r = int_arg(cmd, body, "to_x", argv[3])) ||
            (r = int_arg(cmd, body, "to_y", argv[4])) || (r = button_flag(cmd, v[0], body))) {
                json_decref(body);
                return r;
        }
        return post(c, cmd, 1, argv, "mouse/drag", body, show_point);
}

int cmd_desktop_scroll(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop scroll");
        const char *v[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        json_t *body = json_object();
        if ((r = point_args(cmd, npos, argv, body)) ||
            (r = cli_set_int(cmd, body, "amount", "--amount", v[1]))) {
                json_decref(body);
                return r;
        }
        if (v[0])
                json_object_set_new(body, "direction", json_string(v[0]));
        return post(c, cmd, npos, argv, "mouse/scroll", body, show_point);
}

int cmd_desktop_type(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop type");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos != 2)
                return cli_usage_error(cmd, "expected a machine ID and TEXT (or - for stdin)");
        size_t len = 0;
        char *in = strcmp(argv[1], "-") == 0 ? cli_read_stdin(TEXT_MAX, &len) : NULL;
        if (strcmp(argv[1], "-") == 0 && !in)
                return cli_usage_error(cmd, "standard input is over %u bytes", TEXT_MAX);
        json_t *body = json_object();
        json_object_set_new(body, "text", in ? json_stringn(in, len) : json_string(argv[1]));
        free(in);
        if (!json_is_string(json_object_get(body, "text"))) {
                json_decref(body);
                return cli_usage_error(cmd, "TEXT is not UTF-8");
        }
        if ((r = cli_set_int(cmd, body, "delay_ms", "--delay-ms", v[0]))) {
                json_decref(body);
                return r;
        }
        return post(c, cmd, 1, argv, "keyboard/type", body, NULL);
}

int cmd_desktop_key(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop key");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos < 2)
                return cli_usage_error(cmd, "expected a machine ID and keys (ctrl+shift+t ...)");
        json_t *body = json_object(), *keys = json_array();
        for (int i = 1; i < npos; i++)
                json_array_append_new(keys, json_string(argv[i]));
        json_object_set_new(body, "keys", keys);
        if ((r = cli_set_int(cmd, body, "delay_ms", "--delay-ms", v[0]))) {
                json_decref(body);
                return r;
        }
        return post(c, cmd, 1, argv, "keyboard/key", body, NULL);
}
