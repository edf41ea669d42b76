/* Query strings: whitelist, percent-decoding, duplicates, bounds. */
#include "../../src/daemon/http/query.h"
#include "tap.h"

int main(void)
{
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        char msg[128];
        is_int(query_parse("limit=5&cursor=a%20b", q, 2, msg, sizeof(msg)), 0, "two params");
        is_str(q[0].value, "5", "plain value");
        is_str(q[1].value, "a b", "percent-decoded value");
        is_int(query_parse("", q, 2, msg, sizeof(msg)), 0, "empty query");
        ok(!q[0].present && !q[1].present, "nothing present");
        is_int(query_parse("limit=1&limit=2", q, 2, msg, sizeof(msg)), -1, "duplicate fails");
        is_int(query_parse("nope=1", q, 2, msg, sizeof(msg)), -1, "unknown parameter fails");
        ok(strstr(msg, "nope") != NULL, "... naming it: %s", msg);
        is_int(query_parse("limit=%zz", q, 2, msg, sizeof(msg)), -1, "bad escape fails");
        is_int(query_parse("limit=%4", q, 2, msg, sizeof(msg)), -1, "truncated escape fails");
        is_int(query_parse("limit=%00", q, 2, msg, sizeof(msg)), -1, "NUL fails");
        is_int(query_parse("limit", q, 2, msg, sizeof(msg)), 0, "flag without value");
        ok(q[0].present && q[0].value[0] == '\0', "... is present and empty");
        return tap_done();
}
