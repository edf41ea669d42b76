/* Template builds (build.h): the walk over the steps, one machine per step that
 * changes files, the cache; the template's machine is build_final.c's. */
#include "build.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "build_internal.h"
#include "build_spec.h"
#include "machine_internal.h"
#include "machine_cmd.h"
#include "templates.h"

static void advance(struct build *b);

/* ---- records ----------------------------------------------------------------------- */

void build_log_path(const struct core *core, const char *id, char *out, size_t cap)
{
        snprintf(out, cap, "%s/builds/%s.log", core->state_dir, id);
}

void build_free(struct build *b)
{
        for (struct build **pp = &b->core->builds; *pp; pp = &(*pp)->next) {
                if (*pp == b) {
                        *pp = b->next;
                        break;
                }
        }
        loop_timer_cancel(&b->core->loop, &b->timer);
        if (b->import.pid) { /* the import stops with the build */
                children_forget(&b->core->children, &b->import);
                kill(b->import.pid, SIGKILL);
        }
        machine_cmd_cancel(b->run);
        build_host_stop(b);
        if (b->base_waiting)
                builtin_wait_cancel(&b->base_wait);
        if (b->capture)
                machine_capture_forget(b->capture);
        while (b->waiters) { /* told last-in first; each is gone once told */
                struct build_waiter *w = b->waiters;
                b->waiters = w->next;
                w->done(w, b->ok ? NULL : b->end_msg[0] ? b->end_msg : "the build stopped");
        }
        if (b->log_fd >= 0)
                close(b->log_fd);
        json_decref(b->req);
        json_decref(b->env);
        json_decref(b->layers);
        json_decref(b->ports);
        json_decref(b->start);
        json_decref(b->pending_layers);
        if (b->core->hooks.build_log) /* its record says how it ended */
                b->core->hooks.build_log(b->core, b->id, 1);
        free(b);
}

struct machine *build_machine(struct build *b)
{
        return b->mid[0] ? machine_find(b->core, b->mid) : NULL;
}

/* Lets the build's machine go (destroyed, nothing waits for it). */
void build_drop_machine(struct build *b)
{
        struct machine *m = build_machine(b);
        b->mid[0] = '\0';
        if (m && b->start_chan)
                agentconn_chan_close(&m->rt.agent, b->start_chan);
        b->start_chan = 0;
        if (m) {
                machine_forget_callbacks(m, b);
                machine_destroy(m, NULL, NULL);
        }
}

/* Ends the build in `state` (failed, cancelled) with msg: recorded, its work stopped, its
 * machine destroyed, b freed. */
static void build_end(struct build *b, const char *state, const char *msg)
{
        snprintf(b->end_msg, sizeof(b->end_msg), "build %s of %s %s: %s", b->id, b->ref, state,
                 msg);
        build_log(b, "system", "%s: %s", state, msg);
        log_warn("template_build_ended", "build=%s ref=%s state=%s step=%zu error=%s", b->id,
                 b->ref, state, b->step_no, msg);
        struct err e = {0};
        char kind[32];
        snprintf(kind, sizeof(kind), "build.%s", state);
        store_build_update(b->core->store, b->id, state, (int64_t)b->step_no, NULL, msg,
                           time_wall_ms(), &e);
        struct core_cause cause = b->cause;
        if (strcmp(state, "failed") == 0)
                snprintf(cause.reason, sizeof(cause.reason), "error");
        core_event(b->core, kind, "build", b->id, &cause,
                   json_pack("{s:s,s:s,s:I}", "ref", b->ref, "error", msg, "step",
                             (json_int_t)b->step_no));
        machine_cmd_cancel(b->run);
        b->run = NULL;
        build_drop_machine(b);
        build_free(b);
}

void build_fail(struct build *b, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        build_end(b, "failed", msg);
}

int build_cancel(struct core *core, const char *id)
{
        struct build *b = core->builds;
        while (b && strcmp(b->id, id) != 0)
                b = b->next;
        if (!b)
                return -ENOENT;
        if (b->capture) /* the snapshot is being taken: it ends by itself in a moment */
                return -EBUSY;
        build_end(b, "cancelled", "cancelled by a request");
        return 0;
}

static void save_step(struct build *b)
{
        struct err e = {0};
        store_build_update(b->core->store, b->id, "building", (int64_t)b->step_no, NULL, NULL,
                           time_wall_ms(), &e);
}

/* ---- machines ---------------------------------------------------------------------- */

static void on_machine(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct build *b = ud;
        snprintf(b->mid, sizeof(b->mid), "%s", code ? "" : m->id);
        if (b->creating) { /* still inside machine_create: start_machine goes on */
                snprintf(b->create_error, sizeof(b->create_error), "%s",
                         code ? (error ? error : ns_code_name(code)) : "");
                b->created = !code;
                return;
        }
        if (code)
                build_fail(b, "the build machine %s failed: %s", m->id,
                           error ? error : ns_code_name(code));
        else
                b->then(b);
}

/* Starts a machine over the layers so far; then(b) runs once it runs. `final`: with the
 * template's environment, user and working directory. */
void build_start_machine(struct build *b, int final, void (*then)(struct build *))
{
        json_t *meta = json_pack("{s:s}", "nullspace.build", b->id);
        struct machine_params p = {
            .template_name = b->ref,
            .vcpus = b->vcpus,
            .memory_mb = b->memory_mb,
            .env = final ? b->env : NULL,
            .metadata = meta,
            .timeout_s = 7200,
            .user = final && b->user[0] ? b->user : NULL,
            .cwd = final && b->cwd[0] ? b->cwd : NULL,
            .layers = b->layers,
            .image = b->image[0] ? b->image : NULL,
            /* steps seal directory layers, which gVisor makes; the template's machine
             * runs in the build's runtime (a VM boots on a disk made of those layers) */
            .runtime = final ? b->runtime : "gvisor",
        };
        struct err e = {0};
        b->then = then;
        b->creating = 1; /* a callback before machine_create returns is noted, not acted on */
        b->created = 0;
        b->create_error[0] = '\0';
        struct machine *m = machine_create(b->core, &p, on_machine, b, &e);
        b->creating = 0;
        json_decref(meta);
        if (!m)
                build_fail(b, "no build machine: %s", e.msg);
        else if (b->create_error[0])
                build_fail(b, "the build machine %s failed: %s", m->id, b->create_error);
        else if (b->created)
                then(b);
        else
                snprintf(b->mid, sizeof(b->mid), "%s", m->id);
}

/* ---- commands ---------------------------------------------------------------------- */

static void on_output(void *ud, int stream, const char *p, size_t n)
{
        build_output(ud, stream, p, n);
}

static void run_done(void *ud, int code, const char *error)
{
        struct build *b = ud;
        b->run = NULL;
        build_output_flush(b);
        void (*then)(struct build *, int, const char *) = b->run_then;
        then(b, code, error);
}

static const struct machine_cmd_ops run_ops = {on_output, run_done};

/* Runs req (stolen) in the build's machine; then(b, exit_code, error) follows. */
void build_run(struct build *b, json_t *req, int stdin_fd,
               void (*then)(struct build *, int, const char *))
{
        struct machine *m = build_machine(b);
        b->run_then = then;
        b->run = m ? machine_cmd_start(m, req, stdin_fd, &run_ops, b) : NULL;
        json_decref(req);
        if (!b->run) {
                if (stdin_fd >= 0 && !m)
                        close(stdin_fd);
                build_fail(b, "the build machine is gone");
        }
}

/* An exec request with the build's environment (plus `extra`), as `user` in `cwd`. */
json_t *build_exec_req(struct build *b, const json_t *extra, const char *user, const char *cwd)
{
        json_t *env = json_deep_copy(extra ? extra : b->env);
        if (extra)
                json_object_update(env, b->env);
        json_t *req = json_pack("{s:s,s:o}", "op", "exec", "env", env);
        if (user && *user)
                json_object_set_new(req, "user", json_string(user));
        if (cwd && *cwd)
                json_object_set_new(req, "cwd", json_string(cwd));
        return req;
}

/* mkdir -p the working directory (as root, like Docker's WORKDIR), then next(b). */
static void mkdir_done(struct build *b, int code, const char *error)
{
        if (code != 0) {
                build_fail(b, "could not create the working directory %s: %s", b->cwd,
                           error ? error : "mkdir failed");
                return;
        }
        b->after_mkdir(b);
}

void build_make_cwd(struct build *b, void (*next)(struct build *))
{
        if (!b->cwd[0]) {
                next(b);
                return;
        }
        b->after_mkdir = next;
        json_t *req = build_exec_req(b, NULL, NULL, NULL);
        json_object_set_new(req, "argv", json_pack("[s,s,s,s]", "mkdir", "-p", "--", b->cwd));
        build_run(b, req, -1, mkdir_done);
}

/* ---- layer steps ------------------------------------------------------------------- */

static json_t *step_at(const struct build *b, size_t i)
{
        return json_array_get(json_object_get(b->req, "steps"), i);
}

static void on_committed(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)m;
        struct build *b = ud;
        b->mid[0] = '\0';
        struct err e = {0};
        if (code) {
                store_cache_delete(b->core->store, b->pending_key, &e);
                build_fail(b, "sealing the step's layer failed: %s",
                           error ? error : ns_code_name(code));
                return;
        }
        json_t *layers = b->pending_layers;
        b->pending_layers = NULL;
        build_step_sealed(b, layers);
}

void build_step_sealed(struct build *b, json_t *layers)
{
        json_decref(b->layers);
        b->layers = layers;
        memcpy(b->key, b->pending_key, sizeof(b->key));
        build_log(b, "system", "layer sealed (%.1f s)",
                  (double)(time_wall_ms() - b->step_started) / 1000.0);
        b->i++;
        advance(b);
}

/* The step succeeded: its layer is recorded under its key, then sealed. */
static void commit(struct build *b)
{
        char id[MACHINE_ID_MAX], path[PATH_MAX + 64];
        struct err e = {0};
        rand_id("l_", 8, id, sizeof(id));
        layers_path(b->core, id, path, sizeof(path));
        json_t *layers = json_deep_copy(b->layers);
        json_array_insert_new(layers, 0, json_string(id));
        char *text = json_dumps(layers, JSON_COMPACT);
        /* recorded first: layers_collect keeps what the cache names */
        int r = text ? store_cache_put(b->core->store, b->pending_key, text, time_wall_ms(), &e)
                     : err_set(&e, ENOMEM, "layers");
        free(text);
        struct machine *m = build_machine(b);
        if (r < 0 || !m) {
                json_decref(layers);
                build_fail(b, "%s", r < 0 ? e.msg : "the build machine is gone");
                return;
        }
        b->pending_layers = layers;
        machine_forget_callbacks(m, b);
        machine_destroy_keep(m, path, on_committed, b);
}

static void step_done(struct build *b, int code, const char *error)
{
        char title[160];
        build_step_title(step_at(b, b->i), title, sizeof(title));
        json_int_t line = json_integer_value(json_object_get(step_at(b, b->i), "line"));
        char where[32] = "";
        if (line)
                snprintf(where, sizeof(where), " (line %lld)", (long long)line);
        char why[64];
        snprintf(why, sizeof(why), code > 128 ? "killed by signal %d" : "exit %d",
                 code > 128 ? code - 128 : code);
        if (code != 0)
                build_fail(b, "step %zu%s failed (%s): %s", b->step_no, where, error ? error : why,
                           title);
        else
                commit(b);
}

static void step_run(struct build *b)
{
        json_t *step = step_at(b, b->i);
        const char *op = json_string_value(json_object_get(step, "op"));
        int is_run = !strcmp(op, "run");
        json_t *req = build_exec_req(b, json_object_get(step, "args"), is_run ? b->user : NULL,
                                     is_run ? b->cwd : NULL);
        json_t *argv = json_object_get(step, "argv");
        if (is_run && argv) {
                json_object_set(req, "argv", argv);
        } else {
                char *script = build_step_script(step);
                json_object_set_new(req, "cmd", json_string(script ? script : "false"));
                free(script);
        }
        int fd = -1;
        if (!strcmp(op, "copy")) {
                char path[PATH_MAX + 64];
                build_context_path(b->core, b->context_id, path, sizeof(path));
                fd = b->context_id[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
                if (fd < 0) {
                        json_decref(req);
                        build_fail(b, "step %zu: COPY needs a build context (context_id)",
                                   b->step_no);
                        return;
                }
        }
        build_run(b, req, fd, step_done);
}

static void step_machine_up(struct build *b)
{
        build_make_cwd(b, step_run);
}

/* ---- the walk ---------------------------------------------------------------------- */

/* Applies a step that changes no files; 0, or -1 when it is not one. */
static int apply_meta(struct build *b, const json_t *step)
{
        const char *op = json_string_value(json_object_get(step, "op"));
        if (!strcmp(op, "env"))
                json_object_update(b->env, json_object_get(step, "vars"));
        else if (!strcmp(op, "workdir"))
                snprintf(b->cwd, sizeof(b->cwd), "%s",
                         json_string_value(json_object_get(step, "path")));
        else if (!strcmp(op, "user"))
                snprintf(b->user, sizeof(b->user), "%s",
                         json_string_value(json_object_get(step, "user")));
        else if (!strcmp(op, "expose"))
                json_array_extend(b->ports, json_object_get(step, "ports"));
        else if (!strcmp(op, "start")) {
                json_decref(b->start);
                b->start = json_deep_copy(step);
                json_object_del(b->start, "op");
                json_object_del(b->start, "line");
        } else
                return -1;
        return 0;
}

/* The layers cached under key whose directories all exist, or NULL. */
static json_t *cached(struct build *b, const char *key)
{
        char *text = NULL;
        struct err e = {0};
        if (store_cache_get(b->core->store, key, &text, &e) < 0)
                return NULL;
        json_t *layers = json_loads(text, 0, NULL);
        free(text);
        size_t i;
        json_t *id;
        json_array_foreach(layers, i, id)
        {
                char path[PATH_MAX + 64];
                struct stat st;
                layers_path(b->core, json_string_value(id) ?: "-", path, sizeof(path));
                if (stat(path, &st) < 0) {
                        json_decref(layers);
                        store_cache_delete(b->core->store, key, &e);
                        return NULL;
                }
        }
        return json_is_array(layers) ? layers : (json_decref(layers), NULL);
}

static void advance(struct build *b)
{
        json_t *steps = json_object_get(b->req, "steps");
        size_t n = json_array_size(steps);
        for (; b->i < n; b->i++) {
                json_t *step = json_array_get(steps, b->i);
                char title[200];
                build_step_title(step, title, sizeof(title));
                b->step_no = b->i + 1;
                if (apply_meta(b, step) == 0) {
                        build_log(b, "system", "step %zu/%zu: %s", b->step_no, n, title);
                        continue;
                }
                build_key_next(b->key, step, b->env, b->user, b->cwd, b->context_id,
                               b->pending_key);
                json_t *hit = b->no_cache ? NULL : cached(b, b->pending_key);
                if (hit) {
                        build_log(b, "system", "step %zu/%zu: %s (cached)", b->step_no, n, title);
                        json_decref(b->layers);
                        b->layers = hit;
                        memcpy(b->key, b->pending_key, sizeof(b->key));
                        b->cached_steps++;
                        continue;
                }
                build_log(b, "system", "step %zu/%zu: %s", b->step_no, n, title);
                save_step(b);
                b->step_started = time_wall_ms();
                if (b->trusted && build_step_on_host(step))
                        build_host_step(b);
                else
                        build_start_machine(b, 0, step_machine_up);
                return;
        }
        b->step_no = n + 1;
        save_step(b);
        build_final(b);
}

/* ---- start and stop ---------------------------------------------------------------- */

void builds_drop(struct core *core)
{
        while (core->builds) {
                struct build *b = core->builds;
                b->waiters = NULL; /* the daemon exits: nobody is answered */
                struct machine *m = build_machine(b);
                if (m && b->start_chan)
                        agentconn_chan_close(&m->rt.agent, b->start_chan);
                if (m)
                        machine_forget_callbacks(m, b);
                build_free(b);
        }
}

int build_begin(struct build *b)
{
        build_log(b, "system", "building %s from %s%s", b->ref, b->from,
                  b->no_cache ? " (no cache)" : "");
        advance(b);
        return 0;
}

int build_wait_ref(struct core *core, const char *ref, struct build_waiter *w)
{
        for (struct build *b = core->builds; b; b = b->next) {
                if (strcmp(b->ref, ref) == 0) {
                        w->next = b->waiters;
                        b->waiters = w;
                        return 0;
                }
        }
        return -ENOENT;
}

void build_wait_cancel(struct core *core, struct build_waiter *w)
{
        for (struct build *b = core->builds; b; b = b->next)
                for (struct build_waiter **pp = &b->waiters; *pp; pp = &(*pp)->next)
                        if (*pp == w) {
                                *pp = w->next;
                                return;
                        }
}
