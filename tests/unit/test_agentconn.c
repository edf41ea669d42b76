/* Which agent answers are errors: the frame says so (protocol 2); an agent of protocol 1
 * (a machine created before the upgrade) is read by its answer's shape. */
#include <string.h>

#include "../../src/runtime/agentconn.h"
#include "tap.h"

static int is_error(uint16_t flags, const char *payload)
{
        struct nsp_hdr h = {(uint32_t)strlen(payload), NSP_RESP, flags, 7};
        return agentconn_resp_is_error(&h, (const unsigned char *)payload);
}

int main(void)
{
        const char *err = "{\"error\":{\"code\":\"file_not_found\",\"message\":\"x: gone\"}}";
        is_int(is_error(NSP_RESP_ERROR, err), 1, "a marked error is an error");
        is_int(is_error(NSP_RESP_ERROR, "{}"), 1, "the mark decides, whatever the payload");
        is_int(is_error(NSP_RESP_MARKED, err), 0,
               "protocol 2: an unmarked error-shaped answer is an answer");
        is_int(is_error(0, err), 1, "protocol 1: an unmarked answer of the error shape");
        is_int(is_error(0, "{\"entries\":[{\"name\":\"error\"}],\"truncated\":false}"), 0,
               "an answer naming a file 'error' is not one");
        is_int(is_error(0, "{\"error\":{\"code\":\"x\"},\"pid\":3}"), 0,
               "protocol 1: an answer with more than the error is not one");
        is_int(is_error(0, "{\"error\":\"text\"}"), 0, "protocol 1: error without a code");
        is_int(is_error(0, "not json"), 0, "an unmarked answer that is not JSON");
        return tap_done();
}
