/* E2B's template reads over ours: GET /templates (Template list: "base" and every named
 * template), GET /templates/{id} (TemplateWithBuilds: its current build), GET
 * /templates/aliases/{alias} (what Template.exists asks). A template NAME:latest is E2B's
 * NAME; other tags keep theirs. Building templates through E2B's API is not served (use
 * ours). Loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../core/templates.h"
#include "api.h"
#include "e2b.h"

void e2b_template_id(const char *ref, char *out, size_t cap)
{
        size_t n = strlen(ref);
        if (n > 7 && strcmp(ref + n - 7, ":latest") == 0)
                n -= 7;
        snprintf(out, cap, "%.*s", (int)n, ref);
}

/* E2B's Template of one of ours (base: build NULL). */
static json_t *template_json(const char *alias, const struct build_rec *b, int64_t created,
                             int64_t updated)
{
        return json_pack("{s:s,s:s,s:i,s:i,s:i,s:b,s:[s],s:[s],s:o,s:o,s:n,s:n,s:i,s:i,s:s,s:s}",
                         "templateID", alias, "buildID", b ? b->id : "base", "cpuCount", 1,
                         "memoryMB", 512, "diskSizeMB", 0, "public", 0, "aliases", alias, "names",
                         alias, "createdAt", e2b_iso_time(created), "updatedAt",
                         e2b_iso_time(updated), "createdBy", "lastSpawnedAt", "spawnCount", 0,
                         "buildCount", 1, "envdVersion", E2B_ENVD_VERSION, "buildStatus", "ready");
}

void e2b_templates_list(struct http_exchange *ex)
{
        json_t *arr = json_array();
        json_array_append_new(arr, template_json("base", NULL, time_wall_ms(), time_wall_ms()));
        int64_t after = 0;
        for (;;) {
                struct template_rec *v;
                size_t n;
                struct err e = {0};
                if (store_template_list(api_core(ex)->store, after, 200, &v, &n, &e) < 0) {
                        json_decref(arr);
                        e2b_error(ex, 500, "%s", e.msg);
                        return;
                }
                for (size_t i = 0; i < n; i++) {
                        struct build_rec b;
                        char alias[TEMPLATE_REF_MAX + 1];
                        e2b_template_id(v[i].name, alias, sizeof(alias));
                        if (store_build_get(api_core(ex)->store, v[i].build_id, &b, &e) == 0) {
                                json_array_append_new(arr, template_json(alias, &b, v[i].created_at,
                                                                         v[i].updated_at));
                                store_build_rec_free(&b);
                        }
                        after = v[i].seq;
                }
                free(v);
                if (n < 200)
                        break;
        }
        http_respond_json(ex, 200, arr);
}

/* The template ref names ("base" included): its Template, or NULL after answering 404. */
static json_t *find(struct http_exchange *ex, const char *ref)
{
        if (strcmp(ref, "base") == 0)
                return template_json("base", NULL, time_wall_ms(), time_wall_ms());
        struct template_rec name;
        struct build_rec b;
        struct err e = {0};
        if (templates_lookup(api_core(ex), ref, &name, &b, &e) < 0) {
                e2b_error(ex, 404, "template '%s' not found", ref);
                return NULL;
        }
        char alias[TEMPLATE_REF_MAX + 1];
        e2b_template_id(name.name, alias, sizeof(alias));
        json_t *o = template_json(alias, &b, name.created_at, name.updated_at);
        store_build_rec_free(&b);
        return o;
}

void e2b_templates_get(struct http_exchange *ex)
{
        json_t *t = find(ex, ex->match.params[0]);
        if (!t)
                return;
        /* TemplateWithBuilds: the template and its one current build */
        json_t *build = json_pack(
            "{s:O,s:s,s:O,s:O,s:O,s:O,s:O,s:O}", "buildID", json_object_get(t, "buildID"), "status",
            "ready", "createdAt", json_object_get(t, "createdAt"), "updatedAt",
            json_object_get(t, "updatedAt"), "cpuCount", json_object_get(t, "cpuCount"), "memoryMB",
            json_object_get(t, "memoryMB"), "diskSizeMB", json_object_get(t, "diskSizeMB"),
            "envdVersion", json_object_get(t, "envdVersion"));
        json_object_set_new(t, "builds", json_pack("[o]", build));
        http_respond_json(ex, 200, t);
}

void e2b_templates_alias(struct http_exchange *ex)
{
        json_t *t = find(ex, ex->match.params[0]);
        if (t)
                http_respond_json(ex, 200,
                                  json_pack("{s:O,s:b}", "templateID",
                                            json_object_get(t, "templateID"), "public", 0));
        json_decref(t);
}
