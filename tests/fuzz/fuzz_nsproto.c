/* libFuzzer target: the agent protocol frame reader, fed in pieces sized by the
 * first byte, taking frames as a consumer would, both through nsp_reader_feed and by
 * writing into nsp_reader_space. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../include/nsproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        size_t step = data[0] ? data[0] : 1;
        data++;
        size--;
        struct nsp_reader r;
        nsp_reader_init(&r);
        size_t off = 0;
        while (off < size) {
                size_t room = nsp_reader_room(&r);
                struct nsp_hdr h;
                const unsigned char *p;
                int got;
                while ((got = nsp_reader_next(&r, &h, &p)) == 1)
                        if (h.len > NSP_MAX_PAYLOAD || h.type < NSP_HELLO || h.type > NSP_NOTE ||
                            (h.len && !p))
                                __builtin_trap();
                if (got < 0)
                        break;
                room = nsp_reader_room(&r);
                if (room == 0)
                        break;
                size_t n = size - off < step ? size - off : step;
                if (n > room)
                        n = room;
                if (step & 1) { /* odd steps read "in place", even ones feed a copy */
                        unsigned char *dst = nsp_reader_space(&r, n);
                        if (!dst)
                                break;
                        memcpy(dst, data + off, n);
                        nsp_reader_commit(&r, n);
                } else {
                        nsp_reader_feed(&r, data + off, n);
                }
                off += n;
        }
        nsp_reader_fini(&r);
        return 0;
}
