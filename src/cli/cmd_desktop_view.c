/* nullspace desktop screen|screenshot|windows|focus|close|clipboard|launch|viewer: what
 * the desktop shows and holds, applications started in it, and a browser's view of it
 * (docs/desktop.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define TEXT_MAX (1u << 20) /* clipboard text from stdin */

static long long num(const json_t *o, const char *k)
{
        return (long long)json_integer_value(json_object_get(o, k));
}

static void show_screen(const json_t *doc)
{
        printf("%lldx%lldx%lld\n", num(doc, "width"), num(doc, "height"), num(doc, "depth"));
}

int cmd_desktop_screen(struct cli *c, int argc, char **argv)
{
        return cli_machine_cmd(c, "desktop screen", "GET", "/desktop/screen", argc, argv,
                               show_screen);
}

int cmd_desktop_resize(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop resize");
        char path[160];
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        json_t *body = json_object();
        if (npos != 3 || (r = cli_set_int(cmd, body, "width", "WIDTH", argv[1])) ||
            (r = cli_set_int(cmd, body, "height", "HEIGHT", argv[2]))) {
                json_decref(body);
                return r ? r : cli_usage_error(cmd, "expected a machine ID, WIDTH and HEIGHT");
        }
        snprintf(path, sizeof(path), "/v1/machines/%s/desktop/screen", id);
        return cli_call(c, "PUT", path, body, show_screen);
}

static void window_row(const json_t *w)
{
        const char *title = json_string_value(json_object_get(w, "title"));
        const char *app = json_string_value(json_object_get(w, "app"));
        printf("%-10lld %-16s %4lld,%-4lld %4lldx%-4lld %-3s %s\n", num(w, "id"),
               app && *app ? app : "-", num(w, "x"), num(w, "y"), num(w, "width"), num(w, "height"),
               json_is_true(json_object_get(w, "focused")) ? "yes" : "", title ? title : "");
}

static void show_windows(const json_t *doc)
{
        printf("%-10s %-16s %-9s %-9s %-3s %s\n", "ID", "APP", "AT", "SIZE", "FOC", "TITLE");
        size_t i;
        json_t *w;
        json_array_foreach(doc, i, w) window_row(w);
}

int cmd_desktop_windows(struct cli *c, int argc, char **argv)
{
        return cli_machine_cmd(c, "desktop windows", "GET", "/desktop/windows", argc, argv,
                               show_windows);
}

static int on_window(struct cli *c, const char *name, const char *verb, int argc, char **argv,
                     void (*show)(const json_t *doc))
{
        const struct cli_cmd *cmd = cli_find(name);
        char path[192];
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 2 || !*argv[1] ||
            strspn(argv[1], "0123456789abcdefxABCDEFX") != strlen(argv[1]))
                return cli_usage_error(cmd, "expected a machine ID and a window ID");
        snprintf(path, sizeof(path), "/v1/machines/%s/desktop/windows/%.20s/%s", id, argv[1], verb);
        return cli_call(c, "POST", path, NULL, show);
}

int cmd_desktop_focus(struct cli *c, int argc, char **argv)
{
        return on_window(c, "desktop focus", "focus", argc, argv, window_row);
}

static void show_closing(const json_t *doc)
{
        printf("asked window %lld to close\n", num(doc, "id"));
}

int cmd_desktop_close(struct cli *c, int argc, char **argv)
{
        return on_window(c, "desktop close", "close", argc, argv, show_closing);
}

static void show_clipboard(const json_t *doc)
{
        fputs(json_string_value(json_object_get(doc, "text")) ?: "", stdout);
}

int cmd_desktop_clipboard(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop clipboard");
        const char *v[1] = {0};
        char path[160];
        int r = cli_machine_args(cmd, argc, argv, v, "/desktop/clipboard", path, sizeof(path));
        if (r)
                return r;
        if (!v[0])
                return cli_call(c, "GET", path, NULL, show_clipboard);
        size_t len = strlen(v[0]);
        char *in = strcmp(v[0], "-") == 0 ? cli_read_stdin(TEXT_MAX, &len) : NULL;
        if (strcmp(v[0], "-") == 0 && !in)
                return cli_usage_error(cmd, "standard input is over %u bytes", TEXT_MAX);
        json_t *text = json_stringn(in ? in : v[0], len);
        free(in);
        if (!text)
                return cli_usage_error(cmd, "the text is not UTF-8");
        json_t *body = json_object();
        json_object_set_new(body, "text", text);
        return cli_call(c, "PUT", path, body, NULL);
}

static void show_launched(const json_t *doc)
{
        const json_t *w = json_object_get(doc, "window");
        printf("pid %lld\n", num(doc, "pid"));
        if (json_is_object(w))
                window_row(w);
}

int cmd_desktop_launch(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop launch");
        const char *v[4] = {0};
        struct cli_multi multi[4] = {0};
        char path[160];
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if ((npos > 1) == (v[0] != NULL))
                return cli_usage_error(cmd, "give --app NAME or -- COMMAND (one of them)");
        json_t *body = json_object(), *env = NULL;
        if (v[0])
                json_object_set_new(body, "app", json_string(v[0]));
        if (npos > 1) { /* the command's words, joined as sh -c reads them */
                size_t n = 0;
                for (int i = 1; i < npos; i++)
                        n += strlen(argv[i]) + 1;
                char *line = calloc(1, n + 1);
                for (int i = 1; line && i < npos; i++)
                        strcat(strcat(line, i > 1 ? " " : ""), argv[i]);
                json_object_set_new(body, "command", json_string(line ? line : ""));
                free(line);
        }
        if (v[1])
                json_object_set_new(body, "cwd", json_string(v[1]));
        if ((r = cli_pairs(cmd, &multi[2], "--env", &env)) ||
            (r = cli_set_int(cmd, body, "wait_s", "--wait-s", v[3]))) {
                json_decref(body);
                return r;
        }
        if (env)
                json_object_set_new(body, "env", env);
        snprintf(path, sizeof(path), "/v1/machines/%s/desktop/launch", id);
        return cli_call(c, "POST", path, body, show_launched);
}

/* The screenshot query of the flags --format --quality --region --scale --cursor. */
static int shot_query(const struct cli_cmd *cmd, const char **v, char *q, size_t cap)
{
        int x, y, w, h, end = 0;
        size_t n = (size_t)snprintf(q, cap, "?format=%s", v[1] ? v[1] : "png");
        if (v[1] && strcmp(v[1], "png") && strcmp(v[1], "jpeg"))
                return cli_usage_error(cmd, "--format takes png or jpeg");
        if (v[2] && strspn(v[2], "0123456789") == strlen(v[2]) && strlen(v[2]) <= 3)
                n += (size_t)snprintf(q + n, cap - n, "&quality=%s", v[2]);
        else if (v[2])
                return cli_usage_error(cmd, "--quality takes 1 to 100");
        if (v[3] && (sscanf(v[3], "%d,%d,%d,%d%n", &x, &y, &w, &h, &end) != 4 || v[3][end] ||
                     x < 0 || y < 0 || w < 1 || h < 1))
                return cli_usage_error(cmd, "--region takes X,Y,WIDTH,HEIGHT");
        if (v[3])
                n += (size_t)snprintf(q + n, cap - n, "&x=%d&y=%d&width=%d&height=%d", x, y, w, h);
        char *e = NULL;
        double s = v[4] ? strtod(v[4], &e) : 1;
        if (v[4] && (!*v[4] || *e || !(s > 0 && s <= 1)))
                return cli_usage_error(cmd, "--scale takes a number from 0.05 to 1");
        if (v[4])
                n += (size_t)snprintf(q + n, cap - n, "&scale=%.4f", s);
        if (v[5])
                snprintf(q + n, cap - n, "&cursor=true");
        return 0;
}

int cmd_desktop_screenshot(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop screenshot");
        const char *v[6] = {0};
        char path[400], query[200];
        int r = cli_machine_args(cmd, argc, argv, v, "/desktop/screenshot", path, sizeof(path));
        if (r || (r = shot_query(cmd, v, query, sizeof(query))))
                return r;
        int to_stdout = !v[0] || strcmp(v[0], "-") == 0;
        if (to_stdout && isatty(STDOUT_FILENO))
                return cli_usage_error(cmd, "give --out FILE (or pipe the image: --out -)");
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s", query);
        r = cli_download(c, cmd, path, v[0]);
        if (!to_stdout && r == 0 && !c->json)
                fprintf(stderr, "saved %s\n", v[0]);
        return r;
}

static void show_viewer(const json_t *doc)
{
        int view = json_is_true(json_object_get(doc, "view_only"));
        printf("%s\n", json_string_value(json_object_get(doc, "url")) ?: "");
        fprintf(stderr, "%s for %lld s: anyone with this URL can %s\n",
                view ? "view only" : "in control",
                (num(doc, "expires_at") - (long long)time(NULL) * 1000 + 999) / 1000,
                view ? "watch" : "take over");
}

int cmd_desktop_viewer(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop viewer");
        const char *v[2] = {0};
        char path[160];
        int r = cli_machine_args(cmd, argc, argv, v, "/desktop/viewer", path, sizeof(path));
        if (r)
                return r;
        json_t *body = json_object();
        if (v[0])
                json_object_set_new(body, "view_only", json_true());
        if ((r = cli_set_int(cmd, body, "expires_in_s", "--expires-in", v[1]))) {
                json_decref(body);
                return r;
        }
        return cli_call(c, "POST", path, body, show_viewer);
}
