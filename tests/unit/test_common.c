/* Common helpers: bounded buffers, encodings, the error catalogue. */
#include <errno.h>

#include "../../src/common/buf.h"
#include "../../src/common/errcodes.h"
#include "../../src/common/util.h"
#include "tap.h"

int main(void)
{
        struct buf b;
        buf_init(&b, 8);
        is_int(buf_append(&b, "abcd", 4), 0, "append within limit");
        is_int(buf_append(&b, "efghi", 5), -E2BIG, "append past the limit fails");
        is_int(b.len, 4, "... leaving the buffer unchanged");
        buf_consume(&b, 2);
        is_str(b.data, "cd", "consume drops the front");
        is_int(buf_printf(&b, "%d", 123456), 0, "printf within limit");
        is_int(buf_printf(&b, "%d", 123), -E2BIG, "printf past the limit fails");
        buf_fini(&b);

        char out[64];
        base64_encode((const unsigned char *)"hello", 5, out);
        is_str(out, "aGVsbG8=", "base64 with padding");
        base64url_encode((const unsigned char *)"\xfb\xff", 2, out);
        is_str(out, "-_8", "base64url without padding");
        ok(is_safe_token("req_1.a-B", 64), "safe token");
        ok(!is_safe_token("a b", 64), "space is not safe");
        ok(!is_safe_token("", 64), "empty is not safe");
        ok(!is_safe_token("aaaa", 3), "too long is not safe");
        char id1[32], id2[32];
        rand_id("m_", 8, id1, sizeof(id1));
        rand_id("m_", 8, id2, sizeof(id2));
        ok(strlen(id1) == 18 && strcmp(id1, id2) != 0, "random ids differ");
        is_int(rand_id("m_", 8, id1, 10), -ENOSPC, "rand_id checks its buffer");

        for (unsigned i = 0; i < NS_E_COUNT; i++) {
                const struct ns_code_def *d = ns_code_def((enum ns_code)i);
                ok(d->name && d->meaning && ns_code_by_name(d->name) == (enum ns_code)i,
                   "code %s is named, documented and unique", d->name);
        }
        is_int(ns_code_by_name("no_such_code"), NS_E_COUNT, "unknown names are reported");
        return tap_done();
}
