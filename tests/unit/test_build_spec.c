/* Template names, builder steps, their commands and cache keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/build_spec.h"
#include "tap.h"

static void test_refs(void)
{
        char out[TEMPLATE_REF_MAX + 1];
        struct err e;
        is_int(template_ref_norm("web", out, &e), 0, "a bare name");
        is_str(out, "web:latest", "... means name:latest");
        is_int(template_ref_norm("builds-2", out, &e), 0, "a name that only starts like a route");
        is_int(template_ref_norm("my-app.v2_x:V1.0-rc_1", out, &e), 0, "name and tag");
        is_str(out, "my-app.v2_x:V1.0-rc_1", "... kept as given");
        static const char *const bad[] = {"",          "Web",  "-web",    "web:",     "web:-x",
                                          "web:a:b",   "a b",  "web:t/x", ":tag",     "we$b",
                                          "x:.hidden", "../x", "builds",  "prune:v1", "contexts"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                is_int(template_ref_norm(bad[i], out, &e), -EINVAL, "refused: '%s'", bad[i]);
        char longname[80];
        memset(longname, 'a', 65);
        longname[65] = '\0';
        is_int(template_ref_norm(longname, out, &e), -EINVAL, "a 65-character name");
}

static int check(const char *json, struct err *e)
{
        json_t *steps = json_loads(json, 0, NULL);
        int r = build_steps_check(steps, e);
        json_decref(steps);
        return r;
}

static void test_checks(void)
{
        struct err e;
        is_int(
            check("[{\"op\":\"run\",\"cmd\":\"echo hi\"},{\"op\":\"apt\",\"packages\":[\"jq\"]},"
                  "{\"op\":\"pip\",\"packages\":[\"requests==2.31\"]},"
                  "{\"op\":\"npm\",\"packages\":[\"@scope/pkg@1.2\"]},"
                  "{\"op\":\"copy\",\"src\":[\"a\",\"/b\"],\"dest\":\"/app/\",\"chown\":\"u:g\"},"
                  "{\"op\":\"env\",\"vars\":{\"A\":\"1\"}},{\"op\":\"workdir\",\"path\":\"/app\"},"
                  "{\"op\":\"user\",\"user\":\"app\"},{\"op\":\"expose\",\"ports\":[80]},"
                  "{\"op\":\"start\",\"argv\":[\"python3\",\"-m\",\"http.server\"]}]",
                  &e),
            0, "every builder step");
        static const struct {
                const char *json, *want;
        } bad[] = {
            {"{}", "an array"},
            {"[1]", "step 1: a step is an object"},
            {"[{\"op\":\"fly\"}]", "step 1: unknown op"},
            {"[{\"op\":\"run\"}]", "step 1: run needs"},
            {"[{\"op\":\"run\",\"cmd\":\"a\",\"argv\":[\"b\"]}]", "step 1: run needs"},
            {"[{\"op\":\"run\",\"cmd\":\"x\"},{\"op\":\"apt\",\"packages\":[\"-o=x\"]}]",
             "step 2: packages"},
            {"[{\"op\":\"apt\",\"packages\":[\"a b\"]}]", "step 1: packages"},
            {"[{\"op\":\"apt\",\"packages\":[]}]", "step 1: packages"},
            {"[{\"op\":\"copy\",\"src\":[\"../etc\"],\"dest\":\"/x\"}]", "step 1: copy src"},
            {"[{\"op\":\"copy\",\"src\":[\"a/../../b\"],\"dest\":\"/x\"}]", "step 1: copy src"},
            {"[{\"op\":\"copy\",\"src\":[\"a\"],\"dest\":\"rel\"}]", "step 1: copy dest"},
            {"[{\"op\":\"env\",\"vars\":{\"A=B\":\"1\"}}]", "step 1: env"},
            {"[{\"op\":\"env\",\"vars\":{}}]", "step 1: env"},
            {"[{\"op\":\"workdir\",\"path\":\"app\"}]", "step 1: workdir"},
            {"[{\"op\":\"expose\",\"ports\":[0]}]", "step 1: expose"},
            {"[{\"op\":\"user\",\"user\":\"\"}]", "step 1: user"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                e.msg[0] = '\0';
                int r = check(bad[i].json, &e);
                ok(r == -EINVAL && strstr(e.msg, bad[i].want), "refused %s: %s", bad[i].json,
                   e.msg);
        }
}

static void test_scripts(void)
{
        json_t *s = json_loads("{\"op\":\"apt\",\"packages\":[\"jq\",\"it's\"]}", 0, NULL);
        char *sc = build_step_script(s);
        ok(strstr(sc, "apt-get install -y -q --no-install-recommends 'jq' 'it'\\''s'") != NULL,
           "apt packages are quoted");
        ok(strstr(sc, "rm -rf /var/lib/apt/lists/*") != NULL, "apt lists are removed");
        free(sc);
        json_decref(s);
        s = json_loads("{\"op\":\"copy\",\"src\":[\"/a b\",\"c\"],\"dest\":\"/app/\"}", 0, NULL);
        sc = build_step_script(s);
        ok(strstr(sc, "ns_copy 'a b' '/app/'") && strstr(sc, "ns_copy 'c' '/app/'") &&
               strstr(sc, "MULTI=1"),
           "copy: each source, a leading / dropped");
        free(sc);
        json_decref(s);
        json_t *r = json_pack("{s:s}", "op", "run");
        ok(build_step_is_layer(r) == 1, "run makes a layer");
        json_decref(r);
        json_t *env = json_pack("{s:s}", "op", "env");
        ok(!build_step_is_layer(env), "env does not");
        json_decref(env);
        char title[40];
        s = json_loads("{\"op\":\"run\",\"cmd\":\"echo a\\nb\",\"line\":3}", 0, NULL);
        build_step_title(s, title, sizeof(title));
        is_str(title, "RUN echo a b", "a title is one line");
        json_decref(s);
}

static void test_keys(void)
{
        char base[65], k1[65], k2[65], k3[65], k4[65];
        build_key_base("base:1", base);
        json_t *env = json_pack("{s:s}", "A", "1");
        json_t *run = json_loads("{\"op\":\"run\",\"cmd\":\"x\",\"line\":3}", 0, NULL);
        json_t *run2 = json_loads("{\"op\":\"run\",\"cmd\":\"x\",\"line\":9}", 0, NULL);
        json_t *copy = json_loads("{\"op\":\"copy\",\"src\":[\"a\"],\"dest\":\"/a\"}", 0, NULL);
        build_key_next(base, run, env, "", "/app", "ctx1", k1);
        build_key_next(base, run2, env, "", "/app", "ctx2", k2);
        is_str(k1, k2, "a step's line and (for run) the context do not change its key");
        is_int((int)strlen(k1), 64, "keys are 64 hex digits");
        build_key_next(base, run, env, "app", "/app", "ctx1", k3);
        ok(strcmp(k1, k3) != 0, "the user changes the key");
        build_key_next(k1, run, env, "", "/app", "ctx1", k3);
        ok(strcmp(k1, k3) != 0, "so does the previous key");
        build_key_next(base, copy, env, "", "/app", "ctx1", k3);
        build_key_next(base, copy, env, "", "/app", "ctx2", k4);
        ok(strcmp(k3, k4) != 0, "a copy step's key depends on the context");
        json_object_set_new(env, "A", json_string("2"));
        build_key_next(base, run, env, "", "/app", "ctx1", k3);
        ok(strcmp(k1, k3) != 0, "the environment changes the key");
        json_decref(env);
        json_decref(run);
        json_decref(run2);
        json_decref(copy);
}

int main(void)
{
        test_refs();
        test_checks();
        test_scripts();
        test_keys();
        return tap_done();
}
