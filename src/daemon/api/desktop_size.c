/* A desktop machine's screen size at create ({"desktop": {"width", "height", "depth"}},
 * docs/desktop.md): checked with the request, applied once the machine runs by
 * templates/desktop's resize.py through the machine's agent, before the create is
 * answered. A machine whose template has no desktop is destroyed again and the create
 * answered desktop_not_available once it is gone (no machine outlives the answer that
 * says it was destroyed). Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../core/machine_cmd.h"
#include "api.h"

#define RESIZE "/opt/nullspace/desktop/resize.py"

static int field(const json_t *o, const char *name, int lo, int hi, int *out, struct err *e)
{
        const json_t *v = json_object_get(o, name);
        if (!v)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'desktop.%s': an integer from %d to %d", name, lo, hi);
        *out = (int)json_integer_value(v);
        return 0;
}

int api_desktop_size_check(const json_t *o, int *w, int *h, struct err *e)
{
        *w = *h = 0;
        if (!o)
                return 0;
        if (!json_is_object(o))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'desktop': an object {width, height, depth}");
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)o, k, v)
        {
                if (strcmp(k, "width") && strcmp(k, "height") && strcmp(k, "depth"))
                        return err_coded(e, NS_E_UNKNOWN_FIELD, EINVAL,
                                         "field 'desktop.%.64s' is not known (width, height, "
                                         "depth)",
                                         k);
        }
        int depth = 24;
        *w = 1280;
        *h = 800;
        if (field(o, "width", 320, 3840, w, e) < 0 || field(o, "height", 240, 2160, h, e) < 0 ||
            field(o, "depth", 24, 24, &depth, e) < 0)
                return -1;
        return 0;
}

struct sizing {
        struct http_exchange *ex; /* NULL once the client left */
        struct machine_cmd *cmd;
        char id[MACHINE_ID_MAX];
        api_desktop_size_cb done;
        char err[256];
        enum ns_code code; /* the answer once the machine is destroyed */
        char msg[400];
};

static void on_output(void *ud, int stream, const char *p, size_t n)
{
        struct sizing *s = ud;
        size_t have = strlen(s->err);
        if (stream == 2 && have + 1 < sizeof(s->err))
                snprintf(s->err + have, sizeof(s->err) - have, "%.*s", (int)n, p);
}

static void abort_sizing(struct http_exchange *ex)
{
        struct sizing *s = ex->owner;
        machine_cmd_cancel(s->cmd);
        free(s);
}

static void abort_destroy(struct http_exchange *ex)
{
        struct sizing *s = ex->owner;
        s->ex = NULL; /* the destroy goes on; on_destroyed frees s */
}

static void on_destroyed(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)m, (void)code, (void)error;
        struct sizing *s = ud;
        if (s->ex) {
                s->ex->on_abort = NULL;
                s->ex->owner = NULL;
                http_respond_error(s->ex, s->code, "%s", s->msg);
        }
        free(s);
}

/* Destroys m, then answers s->code and s->msg (s is freed). */
static void destroy_then_answer(struct sizing *s, struct machine *m)
{
        s->ex->owner = s;
        s->ex->on_abort = abort_destroy;
        machine_destroy(m, on_destroyed, s); /* may answer at once */
}

static void on_done(void *ud, int exit_code, const char *error)
{
        struct sizing *s = ud;
        struct http_exchange *ex = s->ex;
        struct app *app = ex->app;
        ex->on_abort = NULL;
        ex->owner = NULL;
        struct machine *m = machine_find(&app->core, s->id);
        if (exit_code == 0 && m) {
                s->done(ex, m, NS_OK, NULL);
                free(s);
                return;
        }
        if (!m) {
                http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING,
                                   "machine %s went away while its desktop was sized", s->id);
                free(s);
                return;
        }
        s->code = exit_code == 126 || exit_code == 127 ? NS_E_DESKTOP_NOT_AVAILABLE : NS_E_INTERNAL;
        snprintf(s->msg, sizeof(s->msg), "machine %s %s; it was destroyed again", s->id,
                 s->code == NS_E_DESKTOP_NOT_AVAILABLE
                     ? "has no desktop to size (create it from the desktop template)"
                 : error ? error
                         : (s->err[0] ? s->err : "its desktop could not be sized"));
        log_warn("desktop_size_failed", "machine=%s exit=%d %s", s->id, exit_code,
                 error ? error : s->err);
        destroy_then_answer(s, m);
}

static const struct machine_cmd_ops ops = {on_output, on_done};

void api_desktop_size_apply(struct http_exchange *ex, struct machine *m, int w, int h,
                            api_desktop_size_cb done)
{
        struct sizing *s = calloc(1, sizeof(*s));
        char ws[16], hs[16];
        snprintf(ws, sizeof(ws), "%d", w);
        snprintf(hs, sizeof(hs), "%d", h);
        json_t *req = json_pack("{s:s,s:[s,s,s],s:i}", "op", "exec", "argv", RESIZE, ws, hs,
                                "timeout_ms", 30000);
        if (s) {
                *s = (struct sizing){.ex = ex, .done = done};
                snprintf(s->id, sizeof(s->id), "%s", m->id);
                s->cmd = req ? machine_cmd_start(m, req, -1, &ops, s) : NULL;
        }
        json_decref(req);
        if (!s) {
                machine_destroy(m, NULL, NULL);
                http_respond_error(ex, NS_E_INTERNAL, "out of memory; machine %s was destroyed",
                                   m->id);
                return;
        }
        if (!s->cmd) {
                s->code = NS_E_INTERNAL;
                snprintf(s->msg, sizeof(s->msg),
                         "machine %s: its desktop could not be sized (the agent refused the "
                         "command); it was destroyed again",
                         m->id);
                destroy_then_answer(s, m);
                return;
        }
        ex->owner = s;
        ex->on_abort = abort_sizing;
        log_info("desktop_size", "machine=%s size=%dx%d", m->id, w, h);
}
