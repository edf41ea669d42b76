/* Built-in templates (builtin.h). */
#include "builtin.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/secret.h"
#include "../common/sha256.h"
#include "../common/util.h"
#include "build_spec.h"
#include "core.h"
#include "templates.h"

#define CONTEXT_MAX (16u << 20) /* a definition's files, as a tar */

/* NAME of a built-in ref ("NAME" or "NAME:latest"), into name (72 bytes); -1 if the
 * ref cannot be one. */
static int builtin_name(const char *ref, char name[72])
{
        char canon[TEMPLATE_REF_MAX + 1];
        struct err e = {0};
        if (template_ref_norm(ref, canon, &e) < 0)
                return -1;
        size_t n = strlen(canon) - strlen(":latest");
        if (strlen(canon) <= 7 || strcmp(canon + n, ":latest") != 0 || n >= 72)
                return -1;
        memcpy(name, canon, n);
        name[n] = '\0';
        return 0;
}

static void definition_dir(const struct core *core, const char *name, char *out, size_t cap)
{
        snprintf(out, cap, "%s/templates/%s", core->lib_dir, name);
}

int builtin_template_known(const struct core *core, const char *ref)
{
        char name[72], path[PATH_MAX + 160];
        struct stat st;
        if (builtin_name(ref, name) < 0)
                return 0;
        definition_dir(core, name, path, sizeof(path));
        strcat(path, "/template.json");
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

json_t *builtin_template_names(const struct core *core)
{
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/templates", core->lib_dir);
        json_t *out = json_array();
        struct dirent **list = NULL;
        int n = scandir(path, &list, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                if (list[i]->d_name[0] != '.' && builtin_template_known(core, list[i]->d_name))
                        json_array_append_new(out, json_string(list[i]->d_name));
                free(list[i]);
        }
        free(list);
        return out;
}

/* ---- the definition's files as a build context ------------------------------------- */

static la_ssize_t tar_write(struct archive *a, void *ud, const void *p, size_t n)
{
        (void)a;
        return buf_append(ud, p, n) < 0 ? -1 : (la_ssize_t)n;
}

/* Adds dir/rel (and below it, in name order) to the tar; owners root, times zero, so
 * the same files always make the same tar (and the same cache keys). */
static int tar_add(struct archive *a, const char *dir, const char *rel)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        struct stat st;
        if (lstat(path, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
                return 0; /* only files and directories make a definition */
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, rel);
        archive_entry_set_mode(en, st.st_mode & (S_IFMT | 0755));
        archive_entry_set_size(en, S_ISREG(st.st_mode) ? st.st_size : 0);
        int r = archive_write_header(a, en) == ARCHIVE_OK ? 0 : -1;
        archive_entry_free(en);
        if (r == 0 && S_ISREG(st.st_mode)) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                char chunk[16384];
                ssize_t n;
                r = fd < 0 ? -1 : 0;
                while (r == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
                        r = archive_write_data(a, chunk, (size_t)n) == n ? 0 : -1;
                if (fd >= 0)
                        close(fd);
        }
        if (r == 0 && S_ISDIR(st.st_mode)) {
                struct dirent **list = NULL;
                int n = scandir(path, &list, NULL, alphasort);
                for (int i = 0; i < n; i++) {
                        char sub[PATH_MAX];
                        if (r == 0 && strcmp(list[i]->d_name, ".") &&
                            strcmp(list[i]->d_name, "..") &&
                            (size_t)snprintf(sub, sizeof(sub), "%s/%s", rel, list[i]->d_name) <
                                sizeof(sub))
                                r = tar_add(a, dir, sub);
                        free(list[i]);
                }
                free(list);
                r = n < 0 ? -1 : r;
        }
        return r;
}

/* The definition directory's files/ as a build context: its id into id, and (store) the
 * context stored under that id. */
static int make_context(struct core *core, const char *dir, int store, char id[65], struct err *e)
{
        struct buf tar;
        buf_init(&tar, CONTEXT_MAX);
        struct archive *a = archive_write_new();
        int r = a && archive_write_set_format_pax_restricted(a) == ARCHIVE_OK &&
                        archive_write_open(a, &tar, NULL, tar_write, NULL) == ARCHIVE_OK
                    ? tar_add(a, dir, "files")
                    : -1;
        if (a) {
                if (archive_write_close(a) != ARCHIVE_OK)
                        r = -1;
                archive_write_free(a);
        }
        if (r < 0 || !tar.len) {
                buf_fini(&tar);
                return err_set(e, EIO, "packing %s/files", dir);
        }
        struct sha256 h;
        sha256_init(&h);
        sha256_update(&h, tar.data, tar.len);
        sha256_final_hex(&h, id);
        if (!store) {
                buf_fini(&tar);
                return 0;
        }
        char path[PATH_MAX + 128];
        snprintf(path, sizeof(path), "%s/contexts", core->state_dir);
        mkdir(path, 0700);
        build_context_path(core, id, path, sizeof(path));
        r = write_file_atomic(path, tar.data, tar.len, 0600, e);
        buf_fini(&tar);
        return r;
}

/* ---- building ------------------------------------------------------------------------ */

/* The build request of definition `name`: its steps (start as a step), ready command,
 * context and resources; with store, its context is stored for a build. NULL with e set
 * when the definition is broken. */
static json_t *definition_req(struct core *core, const char *name, int store, struct err *e)
{
        char dir[PATH_MAX + 160], path[PATH_MAX + 192], context[65];
        definition_dir(core, name, dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/template.json", dir);
        json_error_t je;
        json_t *def = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        json_t *steps = json_deep_copy(json_object_get(def, "steps"));
        if (!def || !json_is_array(steps) || build_steps_check(steps, e) < 0) {
                if (!def)
                        err_set(e, EINVAL, "%s: %s (line %d)", path, je.text, je.line);
                else if (!json_is_array(steps))
                        err_set(e, EINVAL, "%s: no steps", path);
                json_decref(def);
                json_decref(steps);
                return NULL;
        }
        if (make_context(core, dir, store, context, e) < 0) {
                json_decref(def);
                json_decref(steps);
                return NULL;
        }
        json_t *start = json_object_get(def, "start");
        if (json_is_object(start)) {
                json_t *s = json_deep_copy(start);
                json_object_set_new(s, "op", json_string("start"));
                json_array_append_new(steps, s);
        }
        json_int_t ready_s = json_integer_value(json_object_get(def, "ready_timeout_s"));
        json_int_t mem = json_integer_value(json_object_get(def, "memory_mb"));
        json_t *req =
            json_pack("{s:s+,s:s,s:o,s:s,s:I,s:b,s:i,s:I,s:s}", "ref", name, ":latest", "from",
                      "base", "steps", steps, "context_id", context, "ready_timeout_s",
                      ready_s ? ready_s : (json_int_t)BUILD_READY_DEFAULT, "no_cache", 0, "vcpus",
                      1, "memory_mb", mem ? mem : (json_int_t)1024, "runtime", core->driver->name);
        if (req && json_is_string(json_object_get(def, "ready_cmd")))
                json_object_set(req, "ready_cmd", json_object_get(def, "ready_cmd"));
        json_decref(def);
        if (!req)
                err_set(e, ENOMEM, "build request");
        return req;
}

static void on_built(struct build_waiter *bw, const char *error)
{
        struct builtin_wait *w =
            (struct builtin_wait *)((char *)bw - offsetof(struct builtin_wait, build));
        w->waiting = 0;
        w->done(w, error);
}

/* The base is there: join the build of the template or start it. */
static int build_now(struct builtin_wait *w, struct err *e)
{
        char ref[TEMPLATE_REF_MAX + 1], id[MACHINE_ID_MAX];
        snprintf(ref, sizeof(ref), "%s:latest", w->name);
        w->build.done = on_built;
        w->waiting = 2;
        if (build_wait_ref(w->core, ref, &w->build) == 0)
                return 0;
        json_t *req = definition_req(w->core, w->name, 1, e);
        int r = req ? build_start_trusted(w->core, req, &w->build, id, e) : -EINVAL;
        json_decref(req);
        if (r < 0) {
                w->waiting = 0;
                return r;
        }
        log_info("builtin_template_build", "template=%s build=%s", w->name, id);
        return 0;
}

static void on_base(struct prep_waiter *pw, const char *error)
{
        struct builtin_wait *w =
            (struct builtin_wait *)((char *)pw - offsetof(struct builtin_wait, base));
        w->waiting = 0;
        struct err e = {0};
        if (error) {
                w->done(w, error);
        } else if (build_now(w, &e) < 0) {
                w->done(w, e.msg);
        }
}

int builtin_template_need(struct core *core, const char *ref, struct builtin_wait *w, struct err *e)
{
        if (builtin_name(ref, w->name) < 0 || !builtin_template_known(core, ref))
                return err_coded(e, NS_E_TEMPLATE_NOT_FOUND, ENOENT, "no template %s", ref);
        w->core = core;
        if (core->templates.base.state != PREP_READY) {
                w->base.done = on_base;
                w->waiting = 1;
                prep_need(&core->templates.base, &w->base);
                return 0;
        }
        return build_now(w, e);
}

void builtin_wait_cancel(struct builtin_wait *w)
{
        if (w->waiting == 1)
                prep_cancel(&w->core->templates.base, &w->base);
        else if (w->waiting == 2)
                build_wait_cancel(w->core, &w->build);
        w->waiting = 0;
}

/* ---- rebuilding after an upgrade ------------------------------------------------------ */

/* 1 when NAME:latest was built from another definition than today's, 0 when from this
 * one, -1 when there is no such template (or the definition is broken: its first need
 * says so). */
static int builtin_stale(struct core *core, const char *name)
{
        static const char *const keys[] = {"steps", "context_id", "ready_cmd", "ready_timeout_s",
                                           "memory_mb"};
        char ref[TEMPLATE_REF_MAX + 1];
        struct template_rec tn;
        struct build_rec b;
        struct err e = {0};
        snprintf(ref, sizeof(ref), "%s:latest", name);
        if (templates_lookup(core, ref, &tn, &b, &e) < 0)
                return -1;
        json_t *was = json_loads(b.spec ? b.spec : "", 0, NULL);
        store_build_rec_free(&b);
        json_t *now = definition_req(core, name, 0, &e); /* compared only: nothing written */
        int stale = now ? 0 : -1;
        for (size_t i = 0; now && i < sizeof(keys) / sizeof(keys[0]); i++) {
                json_t *a = json_object_get(was, keys[i]), *c = json_object_get(now, keys[i]);
                if ((a || c) && !json_equal(a, c))
                        stale = 1;
        }
        json_decref(was);
        json_decref(now);
        return stale;
}

static void refreshed(struct builtin_wait *w, const char *error)
{
        if (error)
                log_warn("builtin_template_refresh_failed", "template=%s error=\"%s\"", w->name,
                         error);
        else
                log_info("builtin_template_refreshed", "template=%s", w->name);
        for (struct builtin_wait **pp = &w->core->refreshing; *pp; pp = &(*pp)->next)
                if (*pp == w) {
                        *pp = w->next;
                        break;
                }
        free(w);
}

void builtin_templates_refresh(struct core *core)
{
        json_t *names = builtin_template_names(core);
        size_t i;
        json_t *v;
        json_array_foreach(names, i, v)
        {
                const char *name = json_string_value(v);
                if (builtin_stale(core, name) != 1)
                        continue;
                struct builtin_wait *w = calloc(1, sizeof(*w));
                struct err e = {0};
                if (!w)
                        break;
                w->done = refreshed;
                w->core = core;
                w->next = core->refreshing;
                core->refreshing = w;
                log_info("builtin_template_stale",
                         "template=%s reason=\"its definition changed: rebuilding\"", name);
                if (builtin_template_need(core, name, w, &e) < 0) {
                        log_warn("builtin_template_refresh_failed", "template=%s error=\"%s\"",
                                 name, e.msg);
                        core->refreshing = w->next;
                        free(w);
                }
        }
        json_decref(names);
}

void builtin_refresh_stop(struct core *core)
{
        while (core->refreshing) {
                struct builtin_wait *w = core->refreshing;
                core->refreshing = w->next;
                builtin_wait_cancel(w);
                free(w);
        }
}
