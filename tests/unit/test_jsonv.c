/* Strict JSON decoding: types, bounds, unknown fields, required fields, no leaks. */
#include <stddef.h>
#include <stdlib.h>

#include "../../src/common/jsonv.h"
#include "tap.h"

struct req {
        char *name;
        int64_t count;
        int flag;
        struct jv_strmap env;
        struct jv_strlist argv;
};

static const struct jv_field fields[] = {
    {"name", JV_STRING, JV_REQUIRED, offsetof(struct req, name), 8, 0, 0},
    {"count", JV_INT, 0, offsetof(struct req, count), 0, 1, 10},
    {"flag", JV_BOOL, 0, offsetof(struct req, flag), 0, 0, 0},
    {"env", JV_STRMAP, 0, offsetof(struct req, env), 2, 0, 0},
    {"argv", JV_STRLIST, 0, offsetof(struct req, argv), 3, 0, 0},
};

static int decode(const char *s, struct req *r, uint64_t *present, struct jv_error *e)
{
        memset(r, 0, sizeof(*r));
        return jv_decode(s, strlen(s), fields, 5, r, present, e);
}

int main(void)
{
        struct req r;
        struct jv_error e;
        uint64_t present;
        is_int(decode("{\"name\":\"a\",\"count\":3,\"flag\":true,\"env\":{\"K\":\"V\"},"
                      "\"argv\":[\"ls\",\"-l\"]}",
                      &r, &present, &e),
               0, "a valid body decodes");
        is_str(r.name, "a", "string field");
        is_int(r.count, 3, "integer field");
        is_int(r.flag, 1, "boolean field");
        ok(r.env.n == 1 && strcmp(r.env.keys[0], "K") == 0 && strcmp(r.env.values[0], "V") == 0,
           "map field");
        ok(r.argv.n == 2 && strcmp(r.argv.items[1], "-l") == 0, "list field");
        is_int(present, 0x1f, "presence bits");
        jv_free(fields, 5, &r);

        is_int(decode("{\"name\":\"a\",\"bogus\":1}", &r, NULL, &e), -1, "unknown field fails");
        is_int(e.code, NS_E_UNKNOWN_FIELD, "... with unknown_field");
        ok(strstr(e.msg, "bogus") != NULL, "... naming it: %s", e.msg);
        is_int(decode("{\"count\":2}", &r, NULL, &e), -1, "missing required field fails");
        is_int(e.code, NS_E_MISSING_FIELD, "... with missing_field");
        is_int(decode("{\"name\":5}", &r, NULL, &e), -1, "wrong type fails");
        is_int(e.code, NS_E_INVALID_FIELD, "... with invalid_field");
        ok(strstr(e.msg, "'name'") != NULL, "... naming the field: %s", e.msg);
        is_int(decode("{\"name\":\"123456789\"}", &r, NULL, &e), -1, "too long string fails");
        is_int(decode("{\"name\":\"a\",\"count\":11}", &r, NULL, &e), -1, "int above max fails");
        is_int(decode("{\"name\":\"a\",\"count\":1.5}", &r, NULL, &e), -1, "float for int fails");
        is_int(
            decode("{\"name\":\"a\",\"env\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}}", &r, NULL, &e),
            -1, "map over its entry limit fails");
        is_int(decode("{\"name\":\"a\",\"argv\":[\"x\",1]}", &r, NULL, &e), -1,
               "non-string list item fails");
        ok(strstr(e.msg, "argv[1]") != NULL, "... naming the item: %s", e.msg);
        is_int(decode("{\"name\":\"a\\u0000b\"}", &r, NULL, &e), -1, "embedded NUL fails");
        is_int(decode("{\"name\":\"a\",\"name\":\"b\"}", &r, NULL, &e), -1, "duplicate key fails");
        is_int(e.code, NS_E_INVALID_JSON, "... as invalid_json");
        is_int(decode("[1,2]", &r, NULL, &e), -1, "non-object fails");
        is_int(decode("{\"name\":\"a\"} x", &r, NULL, &e), -1, "trailing bytes fail");
        is_int(decode("{\"name\":", &r, NULL, &e), -1, "truncated JSON fails");
        is_int(e.code, NS_E_INVALID_JSON, "... as invalid_json");
        is_int(decode("  ", &r, &present, &e), -1, "empty body lacks the required field");
        is_int(decode("{\"name\":null}", &r, NULL, &e), -1, "null counts as absent");
        is_int(decode("{\"name\":\"a\",\"count\":null}", &r, &present, &e), 0,
               "null optional field is accepted");
        is_int(present, 1, "... and not marked present");
        jv_free(fields, 5, &r);
        return tap_done();
}
