/* libFuzzer target: the view-only filter of RFB client streams (rfb_filter_feed). The
 * stream passes the same whether it comes in one read or byte by byte, never grows,
 * and an error is the same error either way. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/common/rfb.h"

static int run(const uint8_t *data, size_t size, size_t step, struct buf *out)
{
        struct rfb_filter f;
        const char *why = NULL;
        rfb_filter_init(&f);
        for (size_t i = 0; i < size; i += step) {
                int rc =
                    rfb_filter_feed(&f, data + i, size - i < step ? size - i : step, out, &why);
                if (rc < 0) {
                        if (rc == -1 && !why)
                                __builtin_trap(); /* a refusal says why */
                        return rc;
                }
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct buf whole, bytes;
        buf_init(&whole, 1 << 20);
        buf_init(&bytes, 1 << 20);
        int a = run(data, size, size ? size : 1, &whole);
        int b = run(data, size, 1, &bytes);
        if (a != b || whole.len != bytes.len || whole.len > size ||
            (whole.len && memcmp(whole.data, bytes.data, whole.len) != 0))
                __builtin_trap();
        buf_fini(&whole);
        buf_fini(&bytes);
        return 0;
}
