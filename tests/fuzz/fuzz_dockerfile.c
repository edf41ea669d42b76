/* libFuzzer target: the Dockerfile subset parser and the builder-step checks (templates
 * are built from untrusted Dockerfiles and step lists). Every parse either fails with a
 * message or yields a FROM and then steps the builder accepts; steps the check accepts
 * always yield a command and a title. An input starting with '[' is taken as builder
 * steps (JSON). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/build_spec.h"
#include "../../src/core/dockerfile.h"

static void commands(const json_t *steps)
{
        size_t i;
        json_t *step;
        char title[200], key[65];
        json_array_foreach(steps, i, step)
        {
                build_step_title(step, title, sizeof(title));
                if (strlen(title) >= sizeof(title))
                        __builtin_trap();
                if (build_step_is_layer(step)) {
                        char *s = build_step_script(step);
                        if (!s)
                                __builtin_trap();
                        free(s);
                        build_key_next("k", step, NULL, "", "", "c", key);
                }
        }
}

static void builder_steps(const uint8_t *data, size_t size)
{
        json_t *steps = json_loadb((const char *)data, size, 0, NULL);
        struct err e = {0};
        if (steps && build_steps_check(steps, &e) == 0)
                commands(steps);
        else if (steps && !e.msg[0])
                __builtin_trap();
        json_decref(steps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size && data[0] == '[') {
                builder_steps(data, size);
                return 0;
        }
        struct err e = {0};
        json_t *args = json_pack("{s:s}", "A", "x");
        json_t *s = dockerfile_parse((const char *)data, size, args, &e);
        if (s) {
                const char *op = json_string_value(json_object_get(json_array_get(s, 0), "op"));
                if (!op || strcmp(op, "from") != 0 || json_array_size(s) > DOCKERFILE_MAX_STEPS)
                        __builtin_trap();
                json_array_remove(s, 0);
                if (build_steps_check(s, &e) < 0)
                        __builtin_trap(); /* the parser made steps the builder refuses */
                commands(s);
        } else if (!e.msg[0]) {
                __builtin_trap();
        }
        json_decref(s);
        json_decref(args);
        return 0;
}
