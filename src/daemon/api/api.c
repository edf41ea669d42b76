#include "../../core/volumes.h"
#include "api.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"

int api_decode(struct http_exchange *ex, const struct jv_field *fields, size_t n, void *out,
               uint64_t *present)
{
        struct jv_error e;
        if (jv_decode(ex->body.data, ex->body.len, fields, n, out, present, &e) == 0)
                return 0;
        http_respond_error(ex, e.code, "%s", e.msg);
        return -1;
}

int api_query(struct http_exchange *ex, struct query_param *params, size_t n)
{
        char msg[256];
        if (query_parse(ex->req->query, params, n, msg, sizeof(msg)) == 0)
                return 0;
        http_respond_error(ex, NS_E_INVALID_REQUEST, "%s", msg);
        return -1;
}

int api_query_int(struct http_exchange *ex, const struct query_param *p, long long min,
                  long long max, long long *out)
{
        char *end;
        errno = 0;
        long long v = strtoll(p->value, &end, 10);
        if (errno || end == p->value || *end || v < min || v > max) {
                http_respond_error(ex, NS_E_INVALID_REQUEST,
                                   "query parameter '%s' must be an integer from %lld to %lld",
                                   p->name, min, max);
                return -1;
        }
        *out = v;
        return 0;
}

int api_page_parse(struct http_exchange *ex, const struct query_param *limit,
                   const struct query_param *cursor, struct api_page *p)
{
        p->limit = 100;
        p->after = 0;
        if (limit->present && api_query_int(ex, limit, 1, 1000, &p->limit) < 0)
                return -1;
        if (cursor->present && api_query_int(ex, cursor, 0, INT64_MAX, &p->after) < 0)
                return -1;
        return 0;
}

void api_respond_page(struct http_exchange *ex, const struct api_page *p, const char *key,
                      const void *rows, size_t got, size_t size, size_t seq_off,
                      json_t *(*to_json)(const void *row))
{
        size_t shown = got > (size_t)p->limit ? (size_t)p->limit : got;
        json_t *arr = json_array();
        for (size_t i = 0; i < shown; i++)
                json_array_append_new(arr, to_json((const char *)rows + i * size));
        json_t *cursor = json_null();
        if (got > shown) {
                int64_t seq;
                memcpy(&seq, (const char *)rows + (shown - 1) * size + seq_off, sizeof(seq));
                char c[32];
                snprintf(c, sizeof(c), "%lld", (long long)seq);
                cursor = json_string(c);
        }
        http_respond_json(ex, 200, json_pack("{s:o,s:o}", key, arr, "next_cursor", cursor));
}

void api_fail_err(struct http_exchange *ex, const struct err *e)
{
        enum ns_code c = err_code_of(e);
        if (c == NS_E_INTERNAL)
                api_fail(ex, e);
        else
                http_respond_error(ex, c, "%s", e->msg);
}

enum ns_code api_code_or(const char *name, enum ns_code fallback)
{
        enum ns_code c = name ? ns_code_by_name(name) : NS_E_COUNT;
        return c == NS_E_COUNT ? fallback : c;
}

uint32_t api_open_channel(struct http_exchange *ex, struct machine *m, json_t **req,
                          agent_frame_cb cb, void *ud, struct agent_conn **conn)
{
        char vol[MACHINE_ID_MAX];
        struct err e = {0};
        uint32_t chan = 0;
        if (m)
                chan = machine_open_channel(m, *req, 0, cb, ud, conn);
        else if (api_volume_id(ex, vol, sizeof(vol)) == 0 &&
                 !(chan = volume_open_channel(api_core(ex), vol, *req, cb, ud, conn, &e)))
                api_fail_err(ex, &e);
        json_decref(*req);
        *req = NULL;
        if (!chan && m)
                http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING, "machine %s is not answering",
                                   m->id);
        return chan;
}

int api_start_channel(struct http_exchange *ex, struct machine *m, json_t **req,
                      struct agent_conn **conn, uint32_t *chan, agent_frame_cb cb, void *op,
                      void (*on_abort)(struct http_exchange *), void (*free_op)(void *))
{
        uint32_t c = api_open_channel(ex, m, req, cb, op, conn);
        if (!c) {
                free_op(op); /* chan was op's: untouched */
                return -1;
        }
        *chan = c;
        ex->owner = op;
        ex->on_abort = on_abort;
        return 0;
}

enum ns_code api_agent_error(const unsigned char *p, size_t n, enum ns_code fallback, char *msg,
                             size_t cap)
{
        json_t *doc = json_loadb((const char *)p, n, 0, NULL);
        json_t *err = json_object_get(doc, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        enum ns_code c = api_code_or(code, fallback);
        snprintf(msg, cap, "%s",
                 json_string_value(json_object_get(err, "message")) ?: "the machine refused it");
        json_decref(doc);
        return c;
}

void api_fail(struct http_exchange *ex, const struct err *e)
{
        char msg[600];
        log_error("request_failed", "request_id=%s error=%s", ex->request_id,
                  log_quote(msg, sizeof(msg), e->msg));
        http_respond_error(ex, NS_E_INTERNAL, "internal error; see the daemon log for request %s",
                           ex->request_id);
}
