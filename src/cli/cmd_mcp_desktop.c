/* The computer-use tools of `nullspace mcp`: a machine of the desktop template seen as a
 * screenshot (MCP image content) and driven by clicks, typing, keys and the wheel
 * (docs/desktop.md, docs/mcp.md). Each tool is one request to /v1/machines/ID/desktop/...;
 * the machine checks the values. */
#include <stdio.h>
#include <string.h>

#include "../common/jsonv.h"
#include "cli.h"

#define ID_PROP "\"machine_id\":{\"type\":\"string\",\"description\":\"the machine (m_...)\"}"
#define XY_PROPS                                                                                   \
        "\"x\":{\"type\":\"integer\",\"minimum\":0},\"y\":{\"type\":\"integer\",\"minimum\":0}"

/* Copies args' fields named in keys (NULL-terminated) into a new request body. */
static json_t *pick(json_t *args, const char *const *keys)
{
        json_t *body = json_object();
        for (size_t i = 0; keys[i]; i++)
                if (json_object_get(args, keys[i]))
                        json_object_set(body, keys[i], json_object_get(args, keys[i]));
        return body;
}

/* POST of args' `keys` to the desktop's suffix; the answer as the tool's text. */
static json_t *post(struct cli *c, json_t *args, int *is_error, const char *suffix,
                    const char *const *keys)
{
        char path[160];
        if (cli_mcp_machine_path(args, suffix, path, sizeof(path)) < 0)
                return cli_mcp_bad_args(is_error, "machine_id is required");
        json_t *res = cli_mcp_api(c, "POST", path, pick(args, keys));
        *is_error = json_is_true(json_object_get(res, "isError"));
        return res;
}

static json_t *t_screenshot(struct cli *c, json_t *args, int *is_error)
{
        char path[300];
        json_t *scale = json_object_get(args, "scale");
        if (cli_mcp_machine_path(args, "/desktop/screenshot?format=png", path, sizeof(path)) < 0 ||
            (scale && !json_is_number(scale)))
                return cli_mcp_bad_args(is_error, "machine_id is required; scale is a number");
        if (scale)
                snprintf(path + strlen(path), sizeof(path) - strlen(path), "&scale=%.4f",
                         json_number_value(scale));
        struct cli_resp r;
        json_t *res = cli_mcp_get(c, path, &r, is_error);
        if (res)
                return res;
        res =
            json_pack("{s:[{s:s,s:o,s:s}],s:b}", "content", "type", "image", "data",
                      json_base64(r.body.data, r.body.len), "mimeType", "image/png", "isError", 0);
        cli_resp_free(&r);
        return res;
}

static json_t *t_click(struct cli *c, json_t *args, int *is_error)
{
        static const char *const keys[] = {"x", "y", "button", "double", NULL};
        return post(c, args, is_error, "/desktop/mouse/click", keys);
}

static json_t *t_type(struct cli *c, json_t *args, int *is_error)
{
        static const char *const keys[] = {"text", NULL};
        return post(c, args, is_error, "/desktop/keyboard/type", keys);
}

static json_t *t_key(struct cli *c, json_t *args, int *is_error)
{
        static const char *const keys[] = {"keys", NULL};
        return post(c, args, is_error, "/desktop/keyboard/key", keys);
}

static json_t *t_scroll(struct cli *c, json_t *args, int *is_error)
{
        static const char *const keys[] = {"x", "y", "direction", "amount", NULL};
        return post(c, args, is_error, "/desktop/mouse/scroll", keys);
}

static json_t *t_drag(struct cli *c, json_t *args, int *is_error)
{
        static const char *const keys[] = {"x", "y", "to_x", "to_y", NULL};
        return post(c, args, is_error, "/desktop/mouse/drag", keys);
}

static json_t *t_launch(struct cli *c, json_t *args, int *is_error)
{
        static const char *const keys[] = {"app", "command", "wait_s", NULL};
        return post(c, args, is_error, "/desktop/launch", keys);
}

static json_t *t_windows(struct cli *c, json_t *args, int *is_error)
{
        char path[160];
        if (cli_mcp_machine_path(args, "/desktop/windows", path, sizeof(path)) < 0)
                return cli_mcp_bad_args(is_error, "machine_id is required");
        json_t *res = cli_mcp_api(c, "GET", path, NULL);
        *is_error = json_is_true(json_object_get(res, "isError"));
        return res;
}

static json_t *t_viewer(struct cli *c, json_t *args, int *is_error)
{
        static const char *const keys[] = {"view_only", "expires_in_s", NULL};
        return post(c, args, is_error, "/desktop/viewer", keys);
}

const struct cli_mcp_tool cli_mcp_desktop_tools[] = {
    {"desktop_screenshot",
     "A screenshot of a desktop machine (create_machine with template desktop) as an image; "
     "coordinates for the other desktop tools are pixels of the full-size screen (1280x800 "
     "unless the machine was made otherwise).",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"scale\":{\"type\":\"number\","
     "\"minimum\":0.05,\"maximum\":1,\"description\":\"shrink the image (coordinates stay "
     "those of the full screen)\"}},\"required\":[\"machine_id\"]}",
     t_screenshot},
    {"desktop_click", "Click a mouse button at x, y of a desktop machine's screen.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "," XY_PROPS ",\"button\":{\"type\":"
     "\"string\",\"enum\":[\"left\",\"middle\",\"right\"]},\"double\":{\"type\":\"boolean\"}},"
     "\"required\":[\"machine_id\",\"x\",\"y\"]}",
     t_click},
    {"desktop_type", "Type text (any Unicode) into the focused window of a desktop machine.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"text\":{\"type\":\"string\"}},"
     "\"required\":[\"machine_id\",\"text\"]}",
     t_type},
    {"desktop_key",
     "Press keys or combinations one after another on a desktop machine: \"ctrl+l\", "
     "[\"esc\", \"enter\"], X keysym names (Return, Page_Down, F5) or enter, esc, tab, "
     "backspace, up, down, ...; modifiers ctrl, shift, alt, super.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"keys\":{\"oneOf\":[{\"type\":"
     "\"string\"},{\"type\":\"array\",\"items\":{\"type\":\"string\"}}]}},\"required\":["
     "\"machine_id\",\"keys\"]}",
     t_key},
    {"desktop_scroll", "Turn the mouse wheel on a desktop machine (at x, y when given).",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "," XY_PROPS ",\"direction\":{\"type\":"
     "\"string\",\"enum\":[\"up\",\"down\",\"left\",\"right\"]},\"amount\":{\"type\":"
     "\"integer\",\"minimum\":1,\"maximum\":100}},\"required\":[\"machine_id\"]}",
     t_scroll},
    {"desktop_drag", "Drag with the left button held from x, y to to_x, to_y on a desktop machine.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "," XY_PROPS ",\"to_x\":{\"type\":"
     "\"integer\",\"minimum\":0},\"to_y\":{\"type\":\"integer\",\"minimum\":0}},\"required\":["
     "\"machine_id\",\"x\",\"y\",\"to_x\",\"to_y\"]}",
     t_drag},
    {"desktop_launch",
     "Start an application on a desktop machine: app (a desktop entry such as chromium) or "
     "command (a shell command); wait_s waits for its window and returns it.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"app\":{\"type\":\"string\"},"
     "\"command\":{\"type\":\"string\"},\"wait_s\":{\"type\":\"number\",\"minimum\":0,"
     "\"maximum\":60}},\"required\":[\"machine_id\"]}",
     t_launch},
    {"desktop_windows",
     "The application windows of a desktop machine: id, title, app, position, size, focused.",
     "{\"type\":\"object\",\"properties\":{" ID_PROP "},\"required\":[\"machine_id\"]}", t_windows},
    {"desktop_viewer",
     "A URL that shows a desktop machine in a browser, for a person to watch (view_only) or "
     "take over; it lets viewers connect for expires_in_s seconds (default 900).",
     "{\"type\":\"object\",\"properties\":{" ID_PROP ",\"view_only\":{\"type\":\"boolean\"},"
     "\"expires_in_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":86400}},"
     "\"required\":[\"machine_id\"]}",
     t_viewer},
};
const size_t cli_mcp_ndesktop_tools =
    sizeof(cli_mcp_desktop_tools) / sizeof(cli_mcp_desktop_tools[0]);
