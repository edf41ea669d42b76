/* Starting builds (the base they stand on, the record, the log), their view, and the
 * clean-up after a daemon stopped in the middle of one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "build_internal.h"
#include "build_spec.h"
#include "image.h"
#include "machine_internal.h"
#include "templates.h"
#include "trust.h"

void build_context_path(const struct core *core, const char *id, char *out, size_t cap)
{
        snprintf(out, cap, "%s/contexts/%s.tar", core->state_dir, id);
}

/* ---- an imported image as the base ---------------------------------------------- */

/* Takes what the image's config says machines run with: Env, WorkingDir, User, and
 * Entrypoint + Cmd as the start command. */
static void apply_image_config(struct build *b, const char *dir)
{
        json_t *cfg = image_config(dir), *v;
        size_t i;
        json_array_foreach(json_object_get(cfg, "Env"), i, v)
        {
                const char *kv = json_string_value(v), *eq = kv ? strchr(kv, '=') : NULL;
                if (eq && eq > kv && eq - kv < 256) {
                        char key[256];
                        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
                        json_object_set_new(b->env, key, json_string(eq + 1));
                }
        }
        const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
        const char *user = json_string_value(json_object_get(cfg, "User"));
        snprintf(b->cwd, sizeof(b->cwd), "%s", wd && wd[0] == '/' ? wd : "");
        snprintf(b->user, sizeof(b->user), "%s", user ? user : "");
        json_t *argv = json_array();
        json_array_extend(argv, json_object_get(cfg, "Entrypoint"));
        json_array_extend(argv, json_object_get(cfg, "Cmd"));
        json_decref(b->start);
        b->start = json_array_size(argv) ? json_pack("{s:O}", "argv", argv) : NULL;
        json_decref(argv);
        json_decref(cfg);
}

static void on_imported(struct child_watch *cw, int status)
{
        struct build *b = (struct build *)((char *)cw - offsetof(struct build, import));
        b->import.pid = 0;
        char dir[PATH_MAX + 128], tmp[PATH_MAX + 192], why[512] = "";
        layers_image_path(b->core, b->image, dir, sizeof(dir));
        snprintf(tmp, sizeof(tmp), "%s.%s", dir, b->id);
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok) {
                char path[PATH_MAX + 208];
                snprintf(path, sizeof(path), "%s.error", tmp);
                FILE *f = fopen(path, "r");
                if (!f || !fgets(why, sizeof(why), f))
                        snprintf(why, sizeof(why), "the import stopped (status %d)", status);
                if (f)
                        fclose(f);
                unlink(path);
        }
        if (ok && rename(tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
                snprintf(why, sizeof(why), "keeping the image: %s", strerror(errno));
                ok = 0;
        }
        layers_remove_later(tmp); /* a loser of a race with another import, or a failure */
        if (!ok) {
                build_fail(b, "importing the image failed: %s", why);
                return;
        }
        build_log(b, "system", "image imported");
        apply_image_config(b, dir);
        build_begin(b);
}

/* Imports the image tar b->image (an uploaded context) in a child process, then
 * build_begin; at once when an earlier build imported it. */
static int import_image(struct build *b, struct err *e)
{
        char dir[PATH_MAX + 128], tmp[PATH_MAX + 192], src[PATH_MAX + 128];
        struct stat st;
        layers_image_path(b->core, b->image, dir, sizeof(dir));
        if (stat(dir, &st) == 0) {
                build_log(b, "system", "image %.12s: imported before", b->image);
                apply_image_config(b, dir);
                return build_begin(b);
        }
        snprintf(tmp, sizeof(tmp), "%s.%s", dir, b->id);
        build_context_path(b->core, b->image, src, sizeof(src));
        char parent[PATH_MAX + 16];
        snprintf(parent, sizeof(parent), "%s/bases", b->core->state_dir);
        if (mkdir(parent, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", parent);
        build_log(b, "system", "importing the image %.12s", b->image);
        pid_t pid = fork_child();
        if (pid == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                struct err ie = {0};
                if (image_import(src, tmp, &ie) == 0)
                        _exit(0);
                char path[PATH_MAX + 208];
                snprintf(path, sizeof(path), "%s.error", tmp);
                FILE *f = fopen(path, "w");
                if (f) {
                        fputs(ie.msg, f);
                        fclose(f);
                }
                _exit(1);
        }
        if (pid < 0)
                return err_set(e, errno, "fork");
        b->import.pid = pid;
        b->import.on_exit = on_imported;
        children_watch(&b->core->children, &b->import);
        return 0;
}

/* The base: "base" (the default Debian template, keyed by when it was built) or a
 * template, whose layers, environment, user, workdir, ports and start command the
 * build inherits (not its running processes: each step starts cold). */
static int set_base(struct build *b, struct err *e)
{
        json_decref(b->env); /* again after a built-in base was built (on_base_built) */
        json_decref(b->ports);
        json_decref(b->layers);
        b->env = json_object();
        b->ports = json_array();
        /* on the base: with the trusted certificates (trust.h) */
        int on_base = !b->image[0] && strcmp(b->from, "base") == 0;
        b->layers = on_base ? trust_base_layers(b->core) : json_array();
        if (!b->layers)
                return err_set(e, ENOMEM, "build");
        if (b->image[0]) { /* an uploaded image (its config comes with the import) */
                char stamp[96];
                snprintf(stamp, sizeof(stamp), "image:%s", b->image);
                build_key_base(stamp, b->key);
                return 0;
        }
        if (on_base) {
                char marker[PATH_MAX + 64], stamp[96];
                struct stat st;
                snprintf(marker, sizeof(marker), "%s/base/ready", b->core->templates.dir);
                snprintf(stamp, sizeof(stamp), "base:%lld%s%s",
                         stat(marker, &st) == 0 ? (long long)st.st_mtime : 0LL,
                         b->core->trust_id[0] ? ":" : "", b->core->trust_id);
                build_key_base(stamp, b->key);
                return 0;
        }
        struct template_rec name;
        struct build_rec parent;
        if (templates_lookup(b->core, b->from, &name, &parent, e) < 0) {
                if (e->code == NS_E_TEMPLATE_NOT_FOUND)
                        err_say(e, ENOENT,
                                "the base '%s' is no template (a base is base or a template; "
                                "container images cannot be imported yet)",
                                b->from);
                return -ENOENT;
        }
        snprintf(b->from, sizeof(b->from), "%s", name.name);
        json_t *res = json_loads(parent.result, 0, NULL);
        json_object_update(b->env, json_object_get(res, "env"));
        json_array_extend(b->ports, json_object_get(res, "ports"));
        json_array_extend(b->layers, json_object_get(res, "layers"));
        snprintf(b->user, sizeof(b->user), "%s",
                 json_string_value(json_object_get(res, "user")) ?: "");
        snprintf(b->cwd, sizeof(b->cwd), "%s",
                 json_string_value(json_object_get(res, "cwd")) ?: "");
        json_t *start = json_object_get(res, "start");
        b->start = json_is_object(start) ? json_deep_copy(start) : NULL;
        snprintf(b->image, sizeof(b->image), "%s",
                 json_string_value(json_object_get(res, "image")) ?: "");
        char stamp[64];
        snprintf(stamp, sizeof(stamp), "template:%s", parent.id);
        build_key_base(stamp, b->key);
        json_object_set_new(b->req, "from_build", json_string(parent.id));
        if (!json_object_get(b->req, "ready_cmd") && json_is_string(json_object_get(res, "ready")))
                json_object_set(b->req, "ready_cmd", json_object_get(res, "ready"));
        json_decref(res);
        store_build_rec_free(&parent);
        return 0;
}

static int open_log(struct build *b, struct err *e)
{
        char dir[PATH_MAX + 16], path[PATH_MAX + 64];
        snprintf(dir, sizeof(dir), "%s/builds", b->core->state_dir);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", dir);
        build_log_path(b->core, b->id, path, sizeof(path));
        b->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        return b->log_fd < 0 ? err_set(e, errno, "open %s", path) : 0;
}

static int record(struct build *b, struct err *e)
{
        struct build_rec r = {0};
        snprintf(r.id, sizeof(r.id), "%s", b->id);
        snprintf(r.ref, sizeof(r.ref), "%s", b->ref);
        snprintf(r.state, sizeof(r.state), "building");
        r.spec = json_dumps(b->req, JSON_COMPACT | JSON_SORT_KEYS);
        r.created_at = r.updated_at = time_wall_ms();
        int rc = r.spec ? store_build_insert(b->core->store, &r, e) : err_set(e, ENOMEM, "spec");
        free(r.spec);
        return rc;
}

/* A built-in base this build waited for is built (error NULL), or failed. */
static void on_base_built(struct builtin_wait *w, const char *error)
{
        struct build *b = (struct build *)((char *)w - offsetof(struct build, base_wait));
        struct err e = {0};
        b->base_waiting = 0;
        if (error)
                build_fail(b, "the built-in template %s: %s", b->from, error);
        else if (set_base(b, &e) < 0)
                build_fail(b, "%s", e.msg);
        else
                build_begin(b);
}

/* Builds the built-in template the build is on first; then on_base_built. */
static void base_first(struct build *b)
{
        struct err e = {0};
        build_log(b, "system", "building the built-in template %s first", b->from);
        b->base_wait.done = on_base_built;
        b->base_waiting = 1;
        if (builtin_template_need(b->core, b->from, &b->base_wait, &e) < 0) {
                b->base_waiting = 0;
                build_fail(b, "the built-in template %s: %s", b->from, e.msg);
        }
}

static int start(struct core *core, const json_t *req, int trusted, struct build_waiter *w,
                 char *id, struct err *e)
{
        unsigned running = 0;
        for (struct build *o = core->builds; o; o = o->next)
                running++;
        if (running >= BUILD_MAX_RUNNING) {
                return err_coded(e, NS_E_CONFLICT, EBUSY,
                                 "%d builds are running; wait for one to end", BUILD_MAX_RUNNING);
        }
        struct build *b = calloc(1, sizeof(*b));
        if (!b) {
                e->code = NS_E_INTERNAL;
                return err_set(e, ENOMEM, "build");
        }
        b->core = core;
        b->log_fd = -1;
        b->trusted = trusted;
        if (w) {
                w->next = NULL;
                b->waiters = w;
        }
        b->req = json_deep_copy(req);
        rand_id("b_", 8, b->id, sizeof(b->id));
        snprintf(b->ref, sizeof(b->ref), "%s", json_string_value(json_object_get(req, "ref")));
        snprintf(b->from, sizeof(b->from), "%s",
                 json_string_value(json_object_get(req, "from")) ?: "base");
        snprintf(b->context_id, sizeof(b->context_id), "%s",
                 json_string_value(json_object_get(req, "context_id")) ?: "");
        snprintf(b->image, sizeof(b->image), "%s",
                 json_string_value(json_object_get(req, "from_image")) ?: "");
        if (b->image[0])
                snprintf(b->from, sizeof(b->from), "image");
        b->no_cache = json_is_true(json_object_get(req, "no_cache"));
        b->vcpus = (unsigned)json_integer_value(json_object_get(req, "vcpus"));
        b->memory_mb = (unsigned)json_integer_value(json_object_get(req, "memory_mb"));
        snprintf(b->runtime, sizeof(b->runtime), "%s", core_record_runtime(req));
        e->code = NS_E_INTERNAL;
        int r = set_base(b, e);
        int base_later = r == -ENOENT && builtin_template_known(core, b->from);
        if (base_later) /* a built-in template never built yet: it comes first */
                r = 0;
        if (r == 0) /* the log first: a recorded build always has one */
                r = open_log(b, e);
        if (r == 0)
                r = record(b, e);
        if (r < 0) {
                b->waiters = NULL; /* told by the return value */
                build_free(b);     /* not listed yet: it only releases */
                return r;
        }
        snprintf(id, MACHINE_ID_MAX, "%s", b->id);
        b->next = core->builds;
        core->builds = b;
        log_info("template_build_start", "build=%s ref=%s from=%s", b->id, b->ref, b->from);
        b->cause = core_cause_now(core);
        core_event(core, "build.started", "build", b->id, &b->cause,
                   json_pack("{s:s,s:s}", "ref", b->ref, "from", b->from));
        if (json_object_get(req, "from_image") && import_image(b, e) < 0) {
                build_fail(b, "%s", e->msg);
                return 0; /* the build exists, failed: its record says why */
        }
        if (base_later) {
                base_first(b);
                return 0;
        }
        return json_object_get(req, "from_image") ? 0 : build_begin(b);
}

int build_start(struct core *core, const json_t *req, char *id, struct err *e)
{
        return start(core, req, 0, NULL, id, e);
}

int build_start_trusted(struct core *core, const json_t *req, struct build_waiter *w, char *id,
                        struct err *e)
{
        return start(core, req, 1, w, id, e);
}

json_t *build_view(const struct build_rec *r)
{
        json_t *spec = json_loads(r->spec, 0, NULL);
        json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "id", r->id, "template", r->ref, "state",
                              r->state, "step", (json_int_t)r->step, "created_at",
                              (json_int_t)r->created_at, "updated_at", (json_int_t)r->updated_at);
        json_object_set_new(
            o, "steps", json_integer((json_int_t)json_array_size(json_object_get(spec, "steps"))));
        json_t *from = json_object_get(spec, "from");
        json_object_set_new(o, "from", from ? json_incref(from) : json_string("base"));
        json_object_set_new(o, "runtime", json_string(core_record_runtime(spec)));
        json_object_set_new(o, "error", r->error[0] ? json_string(r->error) : json_null());
        json_decref(spec);
        return o;
}

void builds_recover(struct core *core)
{
        char **ids = NULL;
        size_t n = 0;
        struct err e = {0};
        if (store_builds_building(core->store, &ids, &n, &e) == 0)
                for (size_t i = 0; i < n; i++)
                        store_build_update(core->store, ids[i], "failed", 0, NULL,
                                           "the daemon stopped during the build", time_wall_ms(),
                                           &e);
        strv_free(ids);
        for (struct machine *m = core->machines, *next; m; m = next) {
                next = m->next;
                if (json_object_get(m->metadata, "nullspace.build") && m->state != M_DESTROYING) {
                        log_info("build_machine_removed", "machine=%s", m->id);
                        machine_destroy(m, NULL, NULL);
                }
        }
        templates_collect(core);
}
