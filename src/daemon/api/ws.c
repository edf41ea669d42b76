/* /v1/ws: the WebSocket endpoint. JSON control messages in text frames; data
 * channels (exec, PTY, watch, events) are added by later features on this session.
 * Today it answers {"type":"ping","id":X} with {"type":"pong","id":X,"time_ms":T}. */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../http/ws.h"
#include "api.h"

static void send_doc(struct ws_session *ws, json_t *doc)
{
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!text)
                return;
        if (ws_send_text(ws, text, strlen(text)) < 0)
                ws_close(ws, 1008, "client too slow");
        free(text);
}

static void send_error(struct ws_session *ws, json_t *id, enum ns_code code, const char *msg)
{
        json_t *doc =
            json_pack("{s:s,s:{s:s,s:s,s:s}}", "type", "error", "error", "code",
                      ns_code_def(code)->name, "message", msg, "request_id", ws_request_id(ws));
        if (id)
                json_object_set(doc, "id", id);
        send_doc(ws, doc);
}

static void on_text(struct ws_session *ws, const char *data, size_t len, void *user)
{
        (void)user;
        json_error_t jerr;
        json_t *msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!msg || !json_is_object(msg)) {
                send_error(ws, NULL, NS_E_INVALID_JSON, "each message must be a JSON object");
                json_decref(msg);
                return;
        }
        json_t *id = json_object_get(msg, "id");
        const char *type = json_string_value(json_object_get(msg, "type"));
        if (!type)
                send_error(ws, id, NS_E_MISSING_FIELD, "field 'type' is required");
        else if (strcmp(type, "ping") == 0)
                send_doc(ws, json_pack("{s:s,s:O?,s:I}", "type", "pong", "id", id, "time_ms",
                                       (json_int_t)time_wall_ms()));
        else
                send_error(ws, id, NS_E_INVALID_FIELD, "unknown message type");
        json_decref(msg);
}

static const struct ws_handlers handlers = {.on_text = on_text};

void api_ws(struct http_exchange *ex)
{
        http_ws_accept(ex, &handlers, NULL);
}
