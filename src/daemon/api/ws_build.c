/* Build log channels ("build.logs", docs/websocket-protocol.md): a template build's log
 * lines from a cursor, then each line as it is written, then the build's end. Lines are
 * read from the log file (the one source the HTTP log route reads too), at most up to
 * the client's low-water mark at a time; the rest follows when the client caught up.
 * Loop thread only. */
#include <errno.h>
#include <string.h>

#include "../../core/build.h"
#include "api.h"
#include "wsapi.h"

/* Sends the lines past the channel's cursor while the client keeps up; with `ended`,
 * once all was sent, the build's end ({"type":"exit","state","error"}) and the channel
 * closes. */
static void pump(struct ws_channel *ch, int ended)
{
        struct ws_client *c = ch->c;
        int more = 1;
        while (more && c->ws && ws_queued(c->ws) < WS_LOW_WATER) {
                uint64_t next;
                json_t *lines =
                    build_log_lines(&c->app->core, ch->machine, ch->cursor, &next, &more);
                size_t i;
                json_t *line;
                json_array_foreach(lines, i, line)
                {
                        ws_client_send(c, json_pack("{s:s,s:I,s:O}", "type", "log", "channel",
                                                    (json_int_t)ch->id, "line", line));
                }
                json_decref(lines);
                ch->cursor = next;
        }
        if (more || !ended || !c->ws)
                return;
        struct build_rec r;
        struct err e = {0};
        if (store_build_get(c->app->core.store, ch->machine, &r, &e) < 0)
                return;
        if (strcmp(r.state, "building") != 0) {
                ws_client_send(c, json_pack("{s:s,s:I,s:s,s:s?,s:I}", "type", "exit", "channel",
                                            (json_int_t)ch->id, "state", r.state, "error",
                                            r.error[0] ? r.error : NULL, "cursor",
                                            (json_int_t)ch->cursor));
                ws_channel_free(ch);
        }
        store_build_rec_free(&r);
}

struct ws_channel *ws_channel_build_open(struct ws_client *c, json_t *id, const char *build,
                                         uint64_t cursor)
{
        struct build_rec r;
        struct err e = {0};
        int rc = store_build_get(c->app->core.store, build, &r, &e);
        if (rc < 0) {
                if (rc == -ENOENT)
                        ws_client_error(c, id, 0, NS_E_BUILD_NOT_FOUND, "no build with ID '%s'",
                                        build);
                else
                        ws_client_error(c, id, 0, NS_E_INTERNAL, "%s", e.msg);
                return NULL;
        }
        store_build_rec_free(&r);
        struct ws_channel *ch = ws_channel_new(c, id, WCH_BUILD, build);
        if (ch) {
                ch->answered = 1;
                ch->cursor = cursor;
        }
        return ch;
}

void ws_channel_build_start(struct ws_channel *ch)
{
        pump(ch, 1);
}

void ws_channel_build_pump_all(struct ws_client *c)
{
        for (struct ws_channel *ch = c->chans, *next; ch; ch = next) {
                next = ch->next; /* pump may close ch */
                if (ch->kind == WCH_BUILD)
                        pump(ch, 1);
        }
}

void ws_client_build_notify(struct core *core, const char *build_id, int ended)
{
        struct app *app = app_of(core);
        for (struct ws_client *c = app->ws_clients; c; c = c->next)
                for (struct ws_channel *ch = c->chans, *next; c->ws && ch; ch = next) {
                        next = ch->next;
                        if (ch->kind == WCH_BUILD && !strcmp(ch->machine, build_id))
                                pump(ch, ended);
                }
}
