/* E2B's control plane (/e2b/...): the REST API the official e2b SDKs call, mapped onto
 * our machines, so an E2B application runs here with E2B_API_URL pointed at
 * http://HOST:PORT/e2b (docs/e2b.md). Sandboxes are machines; E2B's "paused" is our
 * hibernated (or paused); errors are E2B's {"code": HTTP status, "message"}. The
 * sandbox-side API (envd) is e2b_envd.c. Loop thread only. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../../core/builtin.h"
#include "../auth.h"
#include "api.h"
#include "e2b.h"
#include "preview.h"

#define E2B_LIST_MAX 1000

void e2b_error(struct http_exchange *ex, int status, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        http_respond_json(ex, status, json_pack("{s:i,s:s}", "code", status, "message", msg));
}

json_t *e2b_error_doc(struct http_exchange *ex, enum ns_code code, const char *msg)
{
        if (strncmp(ex->req->path, "/e2b/", 5) != 0 && strcmp(ex->req->path, "/files") != 0)
                return NULL;
        return json_pack("{s:i,s:s}", "code", ns_code_def(code)->http_status, "message", msg);
}

void e2b_fail(struct http_exchange *ex, enum ns_code code, const char *msg)
{
        const struct ns_code_def *d = ns_code_def(code ? code : NS_E_INTERNAL);
        e2b_error(ex, d->http_status ? d->http_status : 500, "%s",
                  msg && msg[0] ? msg : d->meaning);
}

const char *e2b_sandbox_id(const char *machine_id)
{
        return preview_id_hex(machine_id);
}

void e2b_machine_id(const char *sandbox_id, char *out, size_t cap)
{
        snprintf(out, cap, "%s%s", strncmp(sandbox_id, "m_", 2) == 0 ? "" : "m_", sandbox_id);
}

void e2b_path_machine(struct http_exchange *ex)
{
        char id[sizeof(ex->match.params[0])];
        e2b_machine_id(ex->match.params[0], id, sizeof(id));
        memcpy(ex->match.params[0], id, sizeof(id));
}

void e2b_envd_token(const struct app *app, const char *id, char out[65])
{
        auth_sign(app->signing_key, "E2B", id, "envd", 0, out);
}

/* "2026-12-04T14:35:33.123Z" of ms since the epoch. */
json_t *e2b_iso_time(int64_t ms)
{
        time_t s = (time_t)(ms / 1000);
        struct tm tm;
        char out[40];
        gmtime_r(&s, &tm);
        size_t n = strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out + n, sizeof(out) - n, ".%03dZ", (int)(ms % 1000));
        return json_string(out);
}

/* E2B's state of one of ours: running, paused, or NULL (gone: E2B says 404). */
static const char *e2b_state(const char *ours)
{
        static const char *const gone[] = {"destroying", "destroyed", "failed"};
        for (unsigned i = 0; i < 3; i++)
                if (strcmp(ours, gone[i]) == 0)
                        return NULL;
        return strcmp(ours, "paused") == 0 || strcmp(ours, "hibernated") == 0 ||
                       strcmp(ours, "hibernating") == 0
                   ? "paused"
                   : "running";
}

/* The Sandbox / SandboxDetail / ListedSandbox of a machine record (new reference). */
static json_t *sandbox_json(const struct app *app, const struct machine_rec *r, int detail)
{
        json_t *v = machine_rec_json(r);
        char tpl[TEMPLATE_REF_MAX + 1];
        e2b_template_id(json_string_value(json_object_get(v, "template")) ?: "base", tpl,
                        sizeof(tpl));
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "sandboxID", e2b_sandbox_id(r->id), "templateID",
                      tpl, "alias", tpl, "clientID", "nullspace", "envdVersion", E2B_ENVD_VERSION);
        if (detail) {
                char token[65];
                e2b_envd_token(app, r->id, token);
                json_object_set_new(o, "envdAccessToken", json_string(token));
                if (!json_is_true(json_object_get(json_object_get(v, "network"), "public_all"))) {
                        e2b_traffic_token(app, r->id, token);
                        json_object_set_new(o, "trafficAccessToken", json_string(token));
                }
                char domain[300];
                preview_domain(app, domain, sizeof(domain));
                json_object_set_new(o, "domain", json_string(domain));
        }
        if (detail != 1) {
                json_object_set_new(o, "startedAt", e2b_iso_time(r->created_at));
                json_object_set_new(o, "endAt",
                                    e2b_iso_time(r->deadline_at
                                                     ? r->deadline_at
                                                     : r->created_at + 86400000LL * 365));
                json_object_set_new(o, "state", json_string(e2b_state(r->state)));
                json_object_set(o, "cpuCount", json_object_get(v, "vcpus"));
                json_object_set(o, "memoryMB", json_object_get(v, "memory_mb"));
                json_object_set_new(o, "diskSizeMB", json_integer(0));
                json_object_set(o, "metadata", json_object_get(v, "metadata"));
        }
        json_decref(v);
        return o;
}

/* The record of the path's sandbox, when it is not gone; -1 after answering 404. */
static int find_sandbox(struct http_exchange *ex, struct machine_rec *r)
{
        struct app *app = ex->app;
        struct err e = {0};
        e2b_path_machine(ex);
        int rc = store_machine_get(app->core.store, ex->match.params[0], r, &e);
        if (rc == 0 && !e2b_state(r->state)) {
                store_machine_rec_free(r);
                rc = -ENOENT;
        }
        if (rc < 0)
                e2b_error(ex, rc == -ENOENT ? 404 : 500, "sandbox %s not found",
                          e2b_sandbox_id(ex->match.params[0]));
        return rc;
}

json_t *e2b_sandbox_of(struct app *app, const char *id)
{
        struct machine_rec r;
        struct err e = {0};
        if (store_machine_get(app->core.store, id, &r, &e) < 0)
                return NULL;
        json_t *o = sandbox_json(app, &r, 1);
        store_machine_rec_free(&r);
        return o;
}

static void respond_sandbox(struct http_exchange *ex, int status, const char *id, int detail)
{
        struct app *app = ex->app;
        struct machine_rec r;
        struct err e = {0};
        if (store_machine_get(app->core.store, id, &r, &e) < 0) {
                e2b_error(ex, 500, "%s", e.msg);
                return;
        }
        http_respond_json(ex, status, sandbox_json(app, &r, detail));
        store_machine_rec_free(&r);
}

static void abort_wait(struct http_exchange *ex)
{
        if (ex->owner)
                machine_forget_callbacks(ex->owner, ex);
}

/* The end of m's operation ex waited for: the sandbox with `status` (201 or 200, a
 * Sandbox), or 204, or the operation's error. */
static void answer(struct http_exchange *ex, struct machine *m, int status, enum ns_code code,
                   const char *error)
{
        ex->on_abort = NULL;
        if (code)
                e2b_fail(ex, code, error);
        else if (status == 204)
                http_respond(ex, 204, NULL, NULL, 0);
        else
                respond_sandbox(ex, status, m->id, 1);
}

static void on_created(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        answer(ud, m, 201, code, error);
}

static void on_resumed_201(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        answer(ud, m, 201, code, error);
}

static void on_done_204(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        answer(ud, m, 204, code, error);
}

/* Starts op on m for ex, answered by cb (which may run at once). */
static void wait_op(struct http_exchange *ex, struct machine *m,
                    void (*op)(struct machine *, machine_done_cb, void *), machine_done_cb cb)
{
        ex->owner = m;
        ex->on_abort = abort_wait;
        op(m, cb, ex);
}

json_t *e2b_body_object(struct http_exchange *ex)
{
        if (ex->body.len == 0)
                return json_object();
        json_t *doc = json_loadb((const char *)ex->body.data, ex->body.len, 0, NULL);
        if (!json_is_object(doc)) {
                json_decref(doc);
                e2b_error(ex, 400, "the body must be a JSON object");
                return NULL;
        }
        return doc;
}

/* A string map field ({"k": "v"}) as an object of strings, or -1 when it is not one. */
static int string_map(const json_t *v, json_t **out)
{
        *out = json_object();
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v) || json_object_size(v) > 256)
                return -1;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
                if (!json_is_string(x) || strlen(k) > 128)
                        return -1;
                json_object_set(*out, k, x);
        }
        return 0;
}

int e2b_seconds(const json_t *v, int64_t dflt, int64_t *out)
{
        *out = dflt;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 7 * 86400)
                return -1;
        *out = json_integer_value(v);
        return 0;
}

/* Our template for an E2B template name: E2B's SDKs default to their own templates
 * (@e2b/code-interpreter to code-interpreter-v1), which are our built-in ones. */
static const char *template_of(const char *tpl)
{
        if (!tpl || !tpl[0])
                return "base";
        return strcmp(tpl, "code-interpreter-v1") == 0 ? "code-interpreter" : tpl;
}

static void create(struct http_exchange *ex, int may_build);

static void create_again(struct http_exchange *ex)
{
        create(ex, 0);
}

static void builtin_failed(struct http_exchange *ex, const char *msg)
{
        e2b_fail(ex, NS_E_TEMPLATE_NOT_READY, msg); /* our stable code's status, E2B's shape */
}

void e2b_sandboxes_create(struct http_exchange *ex)
{
        create(ex, 1);
}

static void create(struct http_exchange *ex, int may_build)
{
        struct app *app = ex->app;
        json_t *in = e2b_body_object(ex);
        if (!in)
                return;
        const char *tpl = json_string_value(json_object_get(in, "templateID"));
        json_t *env = NULL, *meta = NULL, *net = NULL, *vols = NULL;
        int64_t timeout;
        struct err e = {0};
        if (string_map(json_object_get(in, "envVars"), &env) < 0 ||
            string_map(json_object_get(in, "metadata"), &meta) < 0 ||
            e2b_seconds(json_object_get(in, "timeout"), 15, &timeout) < 0) {
                e2b_error(ex, 400,
                          "bad field: envVars and metadata are string maps, timeout is "
                          "seconds (0 to 604800)");
                goto out;
        }
        if (!(net = e2b_network_create(in, &e))) {
                e2b_error(ex, 400, "%s", e.msg);
                goto out;
        }
        if (e2b_volume_mounts(app, json_object_get(in, "volumeMounts"), &vols, &e) < 0) {
                e2b_fail(ex, err_code_of(&e), e.msg);
                goto out;
        }
        int auto_pause = json_is_true(json_object_get(in, "autoPause"));
        char snap[MACHINE_ID_MAX] = "";
        if (tpl && tpl[0] && e2b_snapshot_find(app, tpl, snap, sizeof(snap)) < 0)
                snap[0] = '\0'; /* not a snapshot: a template's name */
        struct machine_params p = {
            .template_name = snap[0] ? "base" : template_of(tpl),
            .snapshot = snap[0] ? snap : NULL,
            .vcpus = 1,
            .memory_mb = 512,
            .timeout_s = timeout,
            .env = env,
            .metadata = meta,
            .auto_resume = 1,
            .timeout_hibernate = auto_pause,
            .network = net,
            .volumes = vols,
        };
        ex->on_abort = abort_wait;
        ex->owner = NULL;
        struct machine *m = machine_create(&app->core, &p, on_created, ex, &e);
        if (!m) {
                ex->on_abort = NULL;
                if (e.code == NS_E_TEMPLATE_NOT_FOUND && may_build && !snap[0] &&
                    builtin_template_known(&app->core, p.template_name))
                        api_builtin_wait(ex, p.template_name, create_again, builtin_failed);
                else if (e.code == NS_E_TEMPLATE_NOT_FOUND)
                        e2b_error(ex, 404, "template '%s' not found", p.template_name);
                else
                        e2b_fail(ex, e.code, e.msg);
        } else if (ex->on_abort == abort_wait) {
                ex->owner = m;
        }
out:
        json_decref(env);
        json_decref(meta);
        json_decref(net);
        json_decref(vols);
        json_decref(in);
}

void e2b_sandboxes_get(struct http_exchange *ex)
{
        struct machine_rec r;
        if (find_sandbox(ex, &r) < 0)
                return;
        http_respond_json(ex, 200, sandbox_json(ex->app, &r, 2));
        store_machine_rec_free(&r);
}

void e2b_sandboxes_kill(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct machine_rec r;
        if (find_sandbox(ex, &r) < 0)
                return;
        store_machine_rec_free(&r);
        struct machine *m = machine_find(&app->core, ex->match.params[0]);
        if (!m) {
                struct err e = {0};
                if (machine_record_state(&app->core, ex->match.params[0], M_DESTROYED, NULL, &e) <
                    0) {
                        e2b_error(ex, 500, "%s", e.msg);
                        return;
                }
                http_respond(ex, 204, NULL, NULL, 0);
                return;
        }
        wait_op(ex, m, machine_destroy, on_done_204);
}

/* "state" of a list: a comma list of running and paused (none: both). */
static int parse_states(const char *v, int *running, int *paused)
{
        *running = *paused = !v;
        char buf[64];
        if (v && strlen(v) >= sizeof(buf))
                return -1;
        snprintf(buf, sizeof(buf), "%.63s", v ? v : "");
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "running") == 0)
                        *running = 1;
                else if (strcmp(t, "paused") == 0)
                        *paused = 1;
                else
                        return -1;
        }
        return 0;
}

/* Decodes %XX and '+' (a URLSearchParams pair) in place. */
static void form_unescape(char *s)
{
        char *w = s;
        for (const char *r = s; *r; r++) {
                unsigned v;
                if (*r == '+')
                        *w++ = ' ';
                else if (*r == '%' && sscanf(r + 1, "%2x", &v) == 1 && r[1] && r[2]) {
                        *w++ = (char)v;
                        r += 2;
                } else
                        *w++ = *r;
        }
        *w = '\0';
}

void e2b_respond_page(struct http_exchange *ex, json_t *items, int64_t next)
{
        if (next) {
                char tok[32];
                snprintf(tok, sizeof(tok), "%lld", (long long)next);
                http_add_header(ex, "X-Next-Token", tok);
        }
        http_respond_json(ex, 200, items);
}

int e2b_whole(const char *s, long long min, long long max, long long *out)
{
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* Whether r's metadata holds every k=v pair of `query` ("k1=v1&k2=v2", decoded). */
static int metadata_matches(const struct machine_rec *r, const char *query)
{
        if (!query || !query[0])
                return 1;
        json_t *meta = json_loads(r->metadata ? r->metadata : "{}", 0, NULL);
        char *copy = strdup(query);
        int ok = meta && copy;
        for (char *save = NULL, *t = copy ? strtok_r(copy, "&", &save) : NULL; ok && t;
             t = strtok_r(NULL, "&", &save)) {
                char *eq = strchr(t, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                form_unescape(t);
                form_unescape(eq + 1);
                const char *have = json_string_value(json_object_get(meta, t));
                ok = have && strcmp(have, eq + 1) == 0;
        }
        free(copy);
        json_decref(meta);
        return ok;
}

static void list(struct http_exchange *ex, int v2)
{
        struct app *app = ex->app;
        struct query_param q[] = {{.name = "metadata"},    {.name = "state"},    {.name = "limit"},
                                  {.name = "nextToken"},   {.name = "template"}, {.name = "order"},
                                  {.name = "startedAfter"}};
        int running, paused;
        long long limit = 100, after = 0;
        char msg[160] = "";
        if (query_parse(ex->req->query, q, ARRAY_SIZE(q), msg, sizeof(msg)) < 0 ||
            parse_states(q[1].present ? q[1].value : NULL, &running, &paused) < 0 ||
            (q[2].present && e2b_whole(q[2].value, 1, E2B_LIST_MAX, &limit) < 0) ||
            (q[3].present && e2b_whole(q[3].value, 0, INT64_MAX, &after) < 0)) {
                e2b_error(ex, 400,
                          "bad query%s%s: state is running,paused; limit 1..%d; "
                          "nextToken as given by x-next-token",
                          msg[0] ? " " : "", msg, E2B_LIST_MAX);
                return;
        }
        if (!v2) /* v1 lists the running ones */
                paused = 0;
        struct machine_filter f = {0};
        json_t *arr = json_array();
        int64_t last = after, next = 0;
        while (!next) {
                struct machine_rec *v;
                size_t n;
                struct err e = {0};
                if (store_machine_list(app->core.store, &f, last, 200, &v, &n, &e) < 0) {
                        json_decref(arr);
                        e2b_error(ex, 500, "%s", e.msg);
                        return;
                }
                for (size_t i = 0; i < n; i++) {
                        const char *st = e2b_state(v[i].state);
                        int want =
                            st &&
                            ((running && strcmp(st, "running") == 0) ||
                             (paused && strcmp(st, "paused") == 0)) &&
                            metadata_matches(&v[i], q[0].present ? q[0].value : NULL) &&
                            (!q[4].present || strstr(v[i].spec ? v[i].spec : "", q[4].value));
                        if (want && !next && json_array_size(arr) == (size_t)limit)
                                next = last; /* one more than the page holds */
                        else if (want && !next)
                                json_array_append_new(arr, sandbox_json(app, &v[i], 0));
                        if (!next)
                                last = v[i].seq;
                        store_machine_rec_free(&v[i]);
                }
                free(v);
                if (n < 200)
                        break;
        }
        e2b_respond_page(ex, arr, next);
}

void e2b_sandboxes_list(struct http_exchange *ex)
{
        list(ex, 0);
}

void e2b_sandboxes_list_v2(struct http_exchange *ex)
{
        list(ex, 1);
}

/* The live machine of the path's sandbox, or NULL after answering 404. */
static struct machine *live_sandbox(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct machine_rec r;
        if (find_sandbox(ex, &r) < 0)
                return NULL;
        store_machine_rec_free(&r);
        struct machine *m = machine_find(&app->core, ex->match.params[0]);
        if (!m)
                e2b_error(ex, 404, "sandbox %s not found", e2b_sandbox_id(ex->match.params[0]));
        return m;
}

void e2b_sandboxes_timeout(struct http_exchange *ex)
{
        json_t *in = e2b_body_object(ex);
        if (!in)
                return;
        int64_t t;
        struct machine *m = NULL;
        if (e2b_seconds(json_object_get(in, "timeout"), -1, &t) < 0 || t < 0)
                e2b_error(ex, 400, "field 'timeout': seconds, 0 to 604800");
        else if ((m = live_sandbox(ex)) != NULL) {
                struct err e = {0};
                if (machine_set_timeout(m, t, &e) < 0)
                        e2b_fail(ex, e.code, e.msg);
                else
                        http_respond(ex, 204, NULL, NULL, 0);
        }
        json_decref(in);
}

void e2b_sandboxes_refresh(struct http_exchange *ex)
{
        json_t *in = e2b_body_object(ex);
        if (!in)
                return;
        int64_t t;
        struct machine *m = NULL;
        if (e2b_seconds(json_object_get(in, "duration"), 60, &t) < 0)
                e2b_error(ex, 400, "field 'duration': seconds, 0 to 604800");
        else if ((m = live_sandbox(ex)) != NULL) {
                /* a refresh only ever extends the deadline */
                int64_t left = m->deadline_at ? (m->deadline_at - time_wall_ms()) / 1000 : t;
                struct err e = {0};
                if (m->deadline_at && left < t && machine_set_timeout(m, t, &e) < 0)
                        e2b_fail(ex, e.code, e.msg);
                else
                        http_respond(ex, 204, NULL, NULL, 0);
        }
        json_decref(in);
}

void e2b_sandboxes_pause(struct http_exchange *ex)
{
        struct machine *m = live_sandbox(ex);
        if (!m)
                return;
        if (m->state == M_HIBERNATED || m->state == M_PAUSED) {
                e2b_error(ex, 409, "sandbox %s is already paused", e2b_sandbox_id(m->id));
                return;
        }
        wait_op(ex, m, machine_hibernate, on_done_204);
}

/* resume (201 from paused, 409 when running) and connect (200 running, 201 resumed),
 * with an optional new timeout. */
static void wake(struct http_exchange *ex, int is_connect)
{
        json_t *in = e2b_body_object(ex);
        if (!in)
                return;
        int64_t t;
        struct machine *m = NULL;
        if (e2b_seconds(json_object_get(in, "timeout"), -1, &t) < 0) {
                e2b_error(ex, 400, "field 'timeout': seconds, 0 to 604800");
        } else if ((m = live_sandbox(ex)) != NULL) {
                struct err e = {0};
                int asleep = m->state == M_HIBERNATED || m->state == M_PAUSED ||
                             m->state == M_HIBERNATING || m->state == M_RESUMING;
                if (t >= 0 && machine_set_timeout(m, t, &e) < 0)
                        e2b_fail(ex, e.code, e.msg);
                else if (!asleep && !is_connect)
                        e2b_error(ex, 409, "sandbox %s is already running", e2b_sandbox_id(m->id));
                else if (!asleep) /* creating, forking: running as far as E2B can tell */
                        respond_sandbox(ex, 200, m->id, 1);
                else
                        wait_op(ex, m, machine_resume, on_resumed_201);
        }
        json_decref(in);
}

void e2b_sandboxes_resume(struct http_exchange *ex)
{
        wake(ex, 0);
}

void e2b_sandboxes_connect(struct http_exchange *ex)
{
        wake(ex, 1);
}
