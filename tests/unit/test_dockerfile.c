/* The Dockerfile subset templates are built from. */
#include <string.h>

#include "../../src/core/dockerfile.h"
#include "tap.h"

static json_t *parse(const char *text, const json_t *args, struct err *e)
{
        return dockerfile_parse(text, strlen(text), args, e);
}

static char *dump(const json_t *j)
{
        static char out[4096];
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(out, sizeof(out), "%s", s ? s : "null");
        free(s);
        return out;
}

static void test_translation(void)
{
        struct err e;
        const char *df = "# a comment\n"
                         "ARG BASE=base\n"
                         "FROM $BASE\n"
                         "ARG VER=1\n"
                         "ENV APP=/srv/app \\\n"
                         "    MODE=\"dev mode\"\n"
                         "ENV LEGACY value with spaces\n"
                         "WORKDIR $APP\n"
                         "WORKDIR sub\n"
                         "run apt-get install -y \\\n"
                         "  jq # not a comment here\n"
                         "COPY --chown=app:app a.txt b/ ./\n"
                         "ADD [\"c d.txt\", \"/opt/\"]\n"
                         "USER app\n"
                         "EXPOSE 8000 9000/tcp\n"
                         "RUN [\"sh\", \"-c\", \"echo $VER\"]\n"
                         "CMD python3 -m http.server ${PORT:-8000}\n";
        json_t *s = parse(df, NULL, &e);
        ok(s != NULL, "a Dockerfile with every instruction parses: %s", s ? "" : e.msg);
        if (!s)
                return;
        is_int((int)json_array_size(s), 12, "... into 12 steps");
        is_str(dump(json_array_get(s, 0)), "{\"image\":\"base\",\"line\":3,\"op\":\"from\"}",
               "FROM with an ARG");
        is_str(dump(json_array_get(s, 1)),
               "{\"line\":5,\"op\":\"env\",\"vars\":{\"APP\":\"/srv/app\",\"MODE\":\"dev mode\"}}",
               "ENV over two lines, quotes");
        is_str(dump(json_object_get(json_array_get(s, 2), "vars")),
               "{\"LEGACY\":\"value with spaces\"}", "ENV KEY value");
        is_str(json_string_value(json_object_get(json_array_get(s, 4), "path")), "/srv/app/sub",
               "a relative WORKDIR is resolved");
        is_str(json_string_value(json_object_get(json_array_get(s, 5), "cmd")),
               "apt-get install -y  jq # not a comment here", "RUN over two lines");
        is_str(dump(json_array_get(s, 6)),
               "{\"chown\":\"app:app\",\"dest\":\"/srv/app/sub/\",\"line\":12,\"op\":\"copy\","
               "\"src\":[\"a.txt\",\"b/\"]}",
               "COPY with --chown, relative dest");
        is_str(dump(json_object_get(json_array_get(s, 7), "src")), "[\"c d.txt\"]",
               "ADD in JSON form");
        is_str(dump(json_object_get(json_array_get(s, 9), "ports")), "[8000,9000]", "EXPOSE");
        is_str(dump(json_object_get(json_array_get(s, 10), "argv")),
               "[\"sh\",\"-c\",\"echo $VER\"]", "RUN in exec form (no substitution)");
        is_str(json_string_value(json_object_get(json_array_get(s, 11), "cmd")),
               "python3 -m http.server ${PORT:-8000}", "CMD becomes the start command, as is");
        json_decref(s);
        json_t *args = json_pack("{s:s}", "BASE", "mytpl:v2");
        s = parse("ARG BASE=base\nFROM ${BASE}\n", args, &e);
        is_str(json_string_value(json_object_get(json_array_get(s, 0), "image")), "mytpl:v2",
               "a build arg overrides the default");
        json_decref(s);
        json_decref(args);
}

static void test_errors(void)
{
        static const struct {
                const char *df, *want;
        } bad[] = {
            {"", "no FROM"},
            {"RUN true\n", "line 1: RUN before FROM"},
            {"FROM base\nHEALTHCHECK CMD true\n", "line 2: HEALTHCHECK is not supported"},
            {"FROM base\nFROM other\n", "line 2: a second FROM"},
            {"FROM base AS x\n", "line 1: FROM takes one image"},
            {"FROM base\nCOPY --from=x a b\n", "line 2: COPY: only the --chown flag"},
            {"FROM base\nADD https://x/y /z\n", "line 2: ADD of a URL"},
            {"FROM base\nCOPY a\n", "line 2: COPY needs a source"},
            {"FROM base\nEXPOSE 80/udp\n", "line 2: EXPOSE 80/udp"},
            {"FROM base\n\n# c\nENV =x\n", "line 4: ENV needs KEY=VALUE"},
            {"FROM base\nWORKDIR ${X\n", "line 2: a ${...} is not closed"},
            {"FROM base\nRUN\n", "line 2: run needs a command"},
        };
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct err e = {0};
                json_t *s = parse(bad[i].df, NULL, &e);
                ok(!s && strstr(e.msg, bad[i].want), "refused: %s (got: %s)", bad[i].want, e.msg);
                json_decref(s);
        }
        struct err e;
        char nul[] = "FROM base\0RUN x";
        ok(!dockerfile_parse(nul, sizeof(nul) - 1, NULL, &e), "a NUL byte is refused");
}

int main(void)
{
        test_translation();
        test_errors();
        return tap_done();
}
