/* The end of a template build (build.h): a machine over all the layers runs the start
 * command, the ready command is polled, and the machine is snapshotted under the
 * template's name. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "build_internal.h"
#include "machine_internal.h"
#include "templates.h"

static void on_snapshot(void *ud, enum ns_code code, const char *error, json_t *children,
                        const char *snapshot_id, int64_t pause_ms)
{
        (void)children;
        (void)pause_ms;
        struct build *b = ud;
        b->capture = NULL;
        if (code) {
                build_fail(b, "the snapshot failed: %s", error ? error : ns_code_name(code));
                return;
        }
        json_t *res = json_pack(
            "{s:s,s:O,s:O,s:s,s:s,s:O,s:O,s:s,s:i,s:i,s:s}", "snapshot", snapshot_id, "layers",
            b->layers, "env", b->env, "user", b->user, "cwd", b->cwd, "ports", b->ports, "start",
            b->start ? b->start : json_null(), "from", b->from, "vcpus", (int)b->vcpus, "memory_mb",
            (int)b->memory_mb, "runtime", b->runtime);
        json_object_set(res, "ready", json_object_get(b->req, "ready_cmd") ?: json_null());
        if (b->image[0])
                json_object_set_new(res, "image", json_string(b->image));
        char *text = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(res);
        struct err e = {0};
        int r = store_build_update(b->core->store, b->id, "ready", (int64_t)b->step_no, text, NULL,
                                   time_wall_ms(), &e);
        free(text);
        if (r == 0)
                r = templates_set(b->core, b->ref, b->id, &e);
        if (r < 0) {
                build_fail(b, "recording the template: %s", e.msg);
                return;
        }
        build_log(b, "system", "template %s ready: snapshot %s, %zu layer(s), %d step(s) cached",
                  b->ref, snapshot_id, json_array_size(b->layers), b->cached_steps);
        log_info("template_build_ready", "build=%s ref=%s snapshot=%s", b->id, b->ref, snapshot_id);
        core_event(b->core, "build.ready", "build", b->id, &b->cause,
                   json_pack("{s:s,s:s}", "ref", b->ref, "snapshot_id", snapshot_id));
        b->ok = 1;
        build_drop_machine(b);
        build_free(b);
}

static void take_snapshot(struct build *b)
{
        struct machine *m = build_machine(b);
        if (!m) {
                build_fail(b, "the build machine is gone");
                return;
        }
        build_log(b, "system", "snapshotting");
        struct capture *c = machine_snapshot(m, b->ref, "template", on_snapshot, b);
        if (c) /* else on_snapshot ran already (refused at once) and b may be gone */
                b->capture = c;
}

static void ready_check(struct build *b);

static void on_ready_timer(struct loop_timer *t)
{
        struct build *b = (struct build *)((char *)t - offsetof(struct build, timer));
        ready_check(b);
}

static void ready_done(struct build *b, int code, const char *error)
{
        if (code == 0) {
                build_log(b, "system", "ready");
                take_snapshot(b);
                return;
        }
        if (code < 0 || time_wall_ms() >= b->ready_deadline) {
                build_fail(
                    b, "the ready command did not succeed within %lld s (last: %s)",
                    (long long)json_integer_value(json_object_get(b->req, "ready_timeout_s")),
                    error ? error : "non-zero exit");
                return;
        }
        loop_timer_arm(&b->core->loop, &b->timer, 500, on_ready_timer);
}

static void ready_check(struct build *b)
{
        json_t *req = build_exec_req(b, NULL, b->user, b->cwd);
        json_object_set(req, "cmd", json_object_get(b->req, "ready_cmd"));
        build_run(b, req, -1, ready_done);
}

static void on_ready_timer_snapshot(struct loop_timer *t)
{
        take_snapshot((struct build *)((char *)t - offsetof(struct build, timer)));
}

static void await_ready(struct build *b)
{
        int64_t t = json_integer_value(json_object_get(b->req, "ready_timeout_s"));
        b->ready_deadline = time_wall_ms() + (t > 0 ? t : BUILD_READY_DEFAULT) * 1000;
        if (json_object_get(b->req, "ready_cmd")) {
                build_log(b, "system", "waiting for the ready command: %s",
                          json_string_value(json_object_get(b->req, "ready_cmd")));
                ready_check(b);
        } else if (b->start) { /* no probe: give the service a second to come up */
                loop_timer_arm(&b->core->loop, &b->timer, 1000, on_ready_timer_snapshot);
        } else {
                take_snapshot(b);
        }
}

static void on_started(void *ud, json_t *resp, const json_t *error)
{
        struct build *b = ud;
        b->start_chan = 0;
        if (!resp || error) {
                build_fail(b, "the start command could not start: %s",
                           resp ? json_string_value(json_object_get(error, "message")) ?: "refused"
                                : "the machine stopped");
                return;
        }
        build_log(b, "system", "start command running (pid %lld)",
                  (long long)json_integer_value(json_object_get(resp, "pid")));
        await_ready(b);
}

static void start_service(struct build *b)
{
        struct machine *m = build_machine(b);
        if (!b->start) {
                await_ready(b);
                return;
        }
        json_t *req = build_exec_req(b, NULL, b->user, b->cwd);
        json_object_set_new(req, "op", json_string("spawn"));
        json_object_set_new(req, "tag", json_string("start"));
        json_object_update(req, b->start);
        build_log(b, "system", "starting: %s",
                  json_string_value(json_object_get(b->start, "cmd")) ?: "(argv)");
        b->start_chan = m ? machine_call(m, req, on_started, b) : 0;
        json_decref(req);
        if (!b->start_chan)
                build_fail(b, "the build machine is gone");
}

static void final_up(struct build *b)
{
        build_make_cwd(b, start_service);
}

void build_final(struct build *b)
{
        build_log(b, "system", "starting the template's machine");
        build_start_machine(b, 1, final_up);
}
